//! The `namespaces/status` and `namespaces/finalize` strategies (kube's
//! `namespaceStatusStrategy` and `namespaceFinalizeStrategy`).
//!
//! `/status` changes the status only (the phase must agree with the deletion timestamp);
//! `/finalize` changes `spec.finalizers` (and metadata) but never the status. Both keep the
//! namespace's rule for deleting during an update, so removing the last spec finalizer through
//! `/finalize` deletes a terminating namespace.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use serde_json::Value;

use super::{NamespaceStrategy, PHASE_ACTIVE, PHASE_TERMINATING, phase, spec_finalizers};
use crate::api::field::Path;
use crate::api::table::TableColumnDefinition;
use crate::api::validation::{is_qualified_name, validate_kube_finalizer_name};
use crate::api::{FieldError, FieldErrors};
use crate::registry::{RequestContext, Strategy};

/// The strategy of `namespaces/status`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NamespaceStatusStrategy;

/// The strategy of `namespaces/finalize`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NamespaceFinalizeStrategy;

/// The hooks both subresources share with the main namespace strategy: defaulting, names, the
/// table, selectable fields, returning the deleted object and deleting during an update.
macro_rules! shared_namespace_hooks {
    () => {
        fn default_object(&self, ns: &mut Namespace) {
            NamespaceStrategy.default_object(ns)
        }

        fn name_validator(&self) -> crate::api::validation::NameValidator {
            NamespaceStrategy.name_validator()
        }

        /// Subresources never create.
        fn validate(&self, _ctx: &RequestContext, _ns: &Namespace) -> FieldErrors {
            FieldErrors::new()
        }

        fn canonicalize(&self, ns: &mut Namespace) {
            NamespaceStrategy.canonicalize(ns)
        }

        fn return_deleted_object(&self) -> bool {
            NamespaceStrategy.return_deleted_object()
        }

        fn should_delete_during_update(&self, new: &Namespace, old: &Namespace) -> bool {
            NamespaceStrategy.should_delete_during_update(new, old)
        }

        fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
            NamespaceStrategy.table_columns()
        }

        fn table_row(&self, ns: &Namespace) -> Vec<Value> {
            NamespaceStrategy.table_row(ns)
        }

        fn extra_field_labels(&self) -> &'static [&'static str] {
            NamespaceStrategy.extra_field_labels()
        }

        fn extra_selectable_fields(&self, ns: &Namespace) -> BTreeMap<String, String> {
            NamespaceStrategy.extra_selectable_fields(ns)
        }
    };
}

impl Strategy for NamespaceStatusStrategy {
    type Object = Namespace;

    shared_namespace_hooks!();

    /// The spec stays as stored.
    fn prepare_for_update(&self, _ctx: &RequestContext, new: &mut Namespace, old: &Namespace) {
        new.spec.clone_from(&old.spec);
    }

    fn validate_update(
        &self,
        _ctx: &RequestContext,
        new: &Namespace,
        _old: &Namespace,
    ) -> FieldErrors {
        validate_namespace_status_update(new)
    }
}

impl Strategy for NamespaceFinalizeStrategy {
    type Object = Namespace;

    shared_namespace_hooks!();

    /// The status stays as stored.
    fn prepare_for_update(&self, _ctx: &RequestContext, new: &mut Namespace, old: &Namespace) {
        new.status.clone_from(&old.status);
    }

    /// kube's `ValidateNamespaceFinalizeUpdate`: each spec finalizer is a valid name.
    fn validate_update(
        &self,
        _ctx: &RequestContext,
        new: &Namespace,
        _old: &Namespace,
    ) -> FieldErrors {
        let path = Path::new("spec").child("finalizers");
        let mut errs = FieldErrors::new();
        for (i, f) in spec_finalizers(new).iter().enumerate() {
            errs.extend(validate_finalizer_name(f, &path.index(i)));
        }
        errs
    }
}

/// kube's `validateFinalizerName`: a qualified name, and a standard one when it has no `/`.
pub(super) fn validate_finalizer_name(name: &str, path: &Path) -> FieldErrors {
    let mut errs: FieldErrors = is_qualified_name(name)
        .into_iter()
        .map(|m| FieldError::invalid(path, name, m))
        .collect();
    errs.extend(validate_kube_finalizer_name(name, path));
    errs
}

/// kube's `ValidateNamespaceStatusUpdate` beyond metadata: the phase follows the deletion
/// timestamp (kube names the field `status.Phase`).
fn validate_namespace_status_update(ns: &Namespace) -> FieldErrors {
    let path = Path::new("status").child("Phase");
    let current = phase(ns);
    let (wanted, message) = if ns.metadata.deletion_timestamp.is_none() {
        (
            PHASE_ACTIVE,
            "may only be 'Active' if `deletionTimestamp` is empty",
        )
    } else {
        (
            PHASE_TERMINATING,
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
        )
    };
    if current == wanted {
        Vec::new()
    } else {
        vec![FieldError::invalid(path, current, message)]
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{NamespaceSpec, NamespaceStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn ctx() -> RequestContext {
        RequestContext {
            namespace: None,
            user: Default::default(),
            admission: std::sync::Arc::new(crate::auth::admission::AdmissionChain::default()),
            warnings: Default::default(),
        }
    }

    fn ns(phase: &str, deleting: bool) -> Namespace {
        let mut ns = Namespace {
            status: Some(NamespaceStatus {
                phase: Some(phase.into()),
                ..Default::default()
            }),
            spec: Some(NamespaceSpec {
                finalizers: Some(vec!["kubernetes".into()]),
            }),
            ..Default::default()
        };
        if deleting {
            ns.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::now()));
        }
        ns
    }

    #[test]
    fn the_phase_follows_the_deletion_timestamp() {
        assert!(validate_namespace_status_update(&ns("Active", false)).is_empty());
        assert!(validate_namespace_status_update(&ns("Terminating", true)).is_empty());
        let errs = validate_namespace_status_update(&ns("Terminating", false));
        assert_eq!(
            errs[0].to_string(),
            "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"
        );
        let errs = validate_namespace_status_update(&ns("Active", true));
        assert_eq!(
            errs[0].to_string(),
            "status.Phase: Invalid value: \"Active\": may only be 'Terminating' if `deletionTimestamp` is not empty"
        );
    }

    #[test]
    fn finalize_checks_each_finalizer_by_index() {
        let ctx = ctx();
        let mut new = ns("Terminating", true);
        new.spec = Some(NamespaceSpec {
            finalizers: Some(vec!["example.com/mine".into(), "custom".into()]),
        });
        let errs = NamespaceFinalizeStrategy.validate_update(&ctx, &new, &ns("Active", true));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0]
                .to_string()
                .starts_with("spec.finalizers[1]: Invalid value: \"custom\""),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn each_subresource_keeps_the_other_half() {
        let ctx = ctx();
        let old = ns("Terminating", true);
        let mut new = ns("Active", true);
        new.spec = None;
        NamespaceStatusStrategy.prepare_for_update(&ctx, &mut new, &old);
        assert_eq!(new.spec, old.spec);
        assert_eq!(phase(&new), "Active");

        let mut new = ns("Active", true);
        new.spec = None;
        NamespaceFinalizeStrategy.prepare_for_update(&ctx, &mut new, &old);
        assert_eq!(new.spec, None);
        assert_eq!(new.status, old.status);
    }
}
