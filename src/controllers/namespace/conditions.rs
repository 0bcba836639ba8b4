//! The conditions a terminating namespace reports about its content (kube's
//! `namespaceConditionUpdater`): each of the five types is `True` with what went wrong, or
//! `False` with kube's "all is well" reason and message.

use k8s_openapi::api::core::v1::{NamespaceCondition, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::content::ContentReport;

/// The condition types the namespace finalizer owns, in kube's order, with the reason and
/// message of their healthy (`False`) state.
const HEALTHY: [(&str, &str, &str); 5] = [
    (
        "NamespaceDeletionDiscoveryFailure",
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    (
        "NamespaceDeletionGroupVersionParsingFailure",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    (
        "NamespaceContentRemaining",
        "ContentRemoved",
        "All content successfully removed",
    ),
    (
        "NamespaceFinalizersRemaining",
        "ContentHasNoFinalizers",
        "All content-preserving finalizers finished",
    ),
];

/// The failing (`True`) conditions `report` calls for, as (type, reason, message). Discovery
/// and group-version parsing cannot fail here: the resources are the installed ones.
fn failures(report: &ContentReport) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    if !report.errors.is_empty() {
        let mut errors = report.errors.clone();
        errors.sort();
        out.push((
            "NamespaceDeletionContentFailure",
            "ContentDeletionFailed",
            format!(
                "Failed to delete all resource types, {} remaining: {}",
                errors.len(),
                errors.join(", ")
            ),
        ));
    }
    if !report.remaining.is_empty() {
        let parts: Vec<String> = report
            .remaining
            .iter()
            .map(|(resource, n)| format!("{resource} has {n} resource instances"))
            .collect();
        out.push((
            "NamespaceContentRemaining",
            "SomeResourcesRemain",
            format!("Some resources are remaining: {}", parts.join(", ")),
        ));
    }
    if !report.finalizers.is_empty() {
        let parts: Vec<String> = report
            .finalizers
            .iter()
            .map(|(finalizer, n)| format!("{finalizer} in {n} resource instances"))
            .collect();
        out.push((
            "NamespaceFinalizersRemaining",
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                parts.join(", ")
            ),
        ));
    }
    out
}

/// kube's `updateConditions`: sets each owned condition from `report` on `status`, keeping the
/// transition time unless the condition's status flips. Returns whether anything changed.
pub fn update_conditions(status: &mut NamespaceStatus, report: &ContentReport, now: Time) -> bool {
    let failing = failures(report);
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let mut changed = false;
    for (type_, ok_reason, ok_message) in HEALTHY {
        let (state, reason, message) = match failing.iter().find(|(t, _, _)| *t == type_) {
            Some((_, reason, message)) => ("True", *reason, message.clone()),
            None => ("False", ok_reason, ok_message.to_string()),
        };
        match conditions.iter_mut().find(|c| c.type_ == type_) {
            None => {
                conditions.push(NamespaceCondition {
                    type_: type_.into(),
                    status: state.into(),
                    reason: Some(reason.into()),
                    message: Some(message),
                    last_transition_time: Some(now.clone()),
                });
                changed = true;
            }
            Some(old) => {
                let same = old.status == state
                    && old.reason.as_deref() == Some(reason)
                    && old.message.as_deref() == Some(message.as_str());
                if same {
                    continue;
                }
                if old.status != state {
                    old.last_transition_time = Some(now.clone());
                }
                old.status = state.into();
                old.reason = Some(reason.into());
                old.message = Some(message);
                changed = true;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Time {
        Time(jiff::Timestamp::from_second(second).unwrap())
    }

    fn condition<'a>(status: &'a NamespaceStatus, type_: &str) -> &'a NamespaceCondition {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_)
            .unwrap()
    }

    #[test]
    fn a_clean_pass_sets_the_five_healthy_conditions_once() {
        let mut status = NamespaceStatus::default();
        assert!(update_conditions(
            &mut status,
            &ContentReport::default(),
            at(1)
        ));
        let types: Vec<&str> = status
            .conditions
            .iter()
            .flatten()
            .map(|c| c.type_.as_str())
            .collect();
        assert_eq!(types, HEALTHY.map(|h| h.0));
        let remaining = condition(&status, "NamespaceContentRemaining");
        assert_eq!(remaining.status, "False");
        assert_eq!(remaining.reason.as_deref(), Some("ContentRemoved"));
        assert!(!update_conditions(
            &mut status,
            &ContentReport::default(),
            at(2)
        ));
    }

    #[test]
    fn remaining_content_and_failures_read_as_kube_writes_them() {
        let mut status = NamespaceStatus::default();
        update_conditions(&mut status, &ContentReport::default(), at(1));
        let report = ContentReport {
            errors: vec!["b failed".into(), "a failed".into()],
            remaining: [
                ("pods.".to_string(), 2),
                ("widgets.example.com".to_string(), 1),
            ]
            .into_iter()
            .collect(),
            finalizers: [("example.com/hold".to_string(), 1)].into_iter().collect(),
        };
        assert!(update_conditions(&mut status, &report, at(5)));
        let content = condition(&status, "NamespaceDeletionContentFailure");
        assert_eq!(content.status, "True");
        assert_eq!(
            content.message.as_deref(),
            Some("Failed to delete all resource types, 2 remaining: a failed, b failed")
        );
        assert_eq!(content.last_transition_time, Some(at(5)));
        let remaining = condition(&status, "NamespaceContentRemaining");
        assert_eq!(remaining.reason.as_deref(), Some("SomeResourcesRemain"));
        assert_eq!(
            remaining.message.as_deref(),
            Some(
                "Some resources are remaining: pods. has 2 resource instances, widgets.example.com has 1 resource instances"
            )
        );
        let finalizers = condition(&status, "NamespaceFinalizersRemaining");
        assert_eq!(
            finalizers.message.as_deref(),
            Some(
                "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
            )
        );
        // Unchanged discovery keeps its first transition time.
        assert_eq!(
            condition(&status, "NamespaceDeletionDiscoveryFailure").last_transition_time,
            Some(at(1))
        );
    }
}
