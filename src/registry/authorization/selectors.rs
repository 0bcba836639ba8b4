//! The label and field selectors a `SelfSubjectAccessReview`'s `resourceAttributes` may carry:
//! their validation (kube's `validateResourceAttributes`) and the evaluation error a selector the
//! server cannot read earns (kube's `ResourceAttributesFrom` and `BuildEvaluationError`).
//!
//! Capstan's authorizers do not look at selectors, so a selector only ever shows up as that
//! error; the parsers are the ones list requests use.

use k8s_openapi::api::authorization::v1::{
    FieldSelectorAttributes, LabelSelectorAttributes, ResourceAttributes,
};

use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::selectors::fields::FieldSelector;
use crate::api::selectors::labels::LabelSelector;
use crate::api::validation::{is_label_value, is_qualified_name};

/// kube's `validateResourceAttributes` for the selectors: each one needs exactly one of
/// `rawSelector` and `requirements` (field selector first, as kube checks them).
pub fn validate(attrs: &ResourceAttributes, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if let Some(selector) = &attrs.field_selector {
        let requirements = selector.requirements.as_ref().map_or(0, Vec::len);
        errs.extend(one_form(
            selector.raw_selector.as_deref().unwrap_or(""),
            requirements,
            &path.child("fieldSelector"),
        ));
    }
    if let Some(selector) = &attrs.label_selector {
        let requirements = selector.requirements.as_ref().map_or(0, Vec::len);
        errs.extend(one_form(
            selector.raw_selector.as_deref().unwrap_or(""),
            requirements,
            &path.child("labelSelector"),
        ));
    }
    errs
}

fn one_form(raw: &str, requirements: usize, path: &Path) -> Option<FieldError> {
    if !raw.is_empty() && requirements > 0 {
        return Some(FieldError::invalid(
            path.child("rawSelector").to_string(),
            raw,
            "may not specified at the same time as requirements",
        ));
    }
    if raw.is_empty() && requirements == 0 {
        return Some(FieldError::required(
            path.child("requirements").to_string(),
            format!("when {path} is specified, requirements or rawSelector is required"),
        ));
    }
    None
}

/// The parts of `status.evaluationError` the selectors earn, field selector first.
pub fn evaluation_errors(attrs: &ResourceAttributes) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(outcome) = attrs.field_selector.as_ref().and_then(field_outcome) {
        out.push(outcome.message("spec.resourceAttributes.fieldSelector"));
    }
    if let Some(outcome) = attrs.label_selector.as_ref().and_then(label_outcome) {
        out.push(outcome.message("spec.resourceAttributes.labelSelector"));
    }
    out
}

/// A selector that could not be read in full: whether some requirements survived.
struct Ignored {
    partially: bool,
}

impl Ignored {
    fn message(&self, field: &str) -> String {
        let how = if self.partially {
            "partially ignored"
        } else {
            "ignored"
        };
        format!("{field} {how} due to parse error")
    }
}

/// `None` when the label selector reads cleanly. The requirements form wins over the raw one, as
/// in kube (validation refuses both at once anyway).
fn label_outcome(selector: &LabelSelectorAttributes) -> Option<Ignored> {
    if let Some(requirements) = selector.requirements.as_ref().filter(|r| !r.is_empty()) {
        let valid = requirements
            .iter()
            .filter(|r| label_requirement_ok(&r.key, &r.operator, r.values.as_deref()))
            .count();
        return (valid < requirements.len()).then_some(Ignored {
            partially: valid > 0,
        });
    }
    let raw = selector.raw_selector.as_deref().unwrap_or("");
    (!raw.is_empty() && LabelSelector::parse(raw).is_err()).then_some(Ignored { partially: false })
}

/// kube's `labels.NewRequirement` checks for one `LabelSelectorRequirement`.
fn label_requirement_ok(key: &str, operator: &str, values: Option<&[String]>) -> bool {
    let values = values.unwrap_or_default();
    let count_ok = match operator {
        "In" | "NotIn" => !values.is_empty(),
        "Exists" | "DoesNotExist" => values.is_empty(),
        _ => false,
    };
    count_ok
        && is_qualified_name(key).is_empty()
        && values.iter().all(|v| is_label_value(v).is_empty())
}

/// As [`label_outcome`] for the field selector: a requirement takes exactly one value with `In`
/// or `NotIn`.
fn field_outcome(selector: &FieldSelectorAttributes) -> Option<Ignored> {
    if let Some(requirements) = selector.requirements.as_ref().filter(|r| !r.is_empty()) {
        let valid = requirements
            .iter()
            .filter(|r| {
                matches!(r.operator.as_str(), "In" | "NotIn")
                    && r.values.as_ref().map_or(0, Vec::len) == 1
            })
            .count();
        return (valid < requirements.len()).then_some(Ignored {
            partially: valid > 0,
        });
    }
    let raw = selector.raw_selector.as_deref().unwrap_or("");
    (!raw.is_empty() && FieldSelector::parse(raw).is_err()).then_some(Ignored { partially: false })
}
