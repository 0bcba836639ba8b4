//! core/v1 Namespaces: cluster-scoped, named by DNS-1123 labels, `Active` from creation with the
//! `kubernetes` spec finalizer (kube's `pkg/registry/core/namespace` strategy).
//!
//! Deleting a namespace removes it at once for now; the Terminating phase and the finalization of
//! its content come with the namespace lifecycle work.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec, NamespaceStatus};
use serde_json::Value;

use super::{age_column, name_column};
use crate::api::field::Path;
use crate::api::table::{TableColumnDefinition, age};
use crate::api::validation::{
    NameValidator, is_qualified_name, name_is_dns_label, validate_kube_finalizer_name,
};
use crate::api::{FieldError, FieldErrors, ResourceDescriptor};
use crate::registry::store::Store;
use crate::registry::{RequestContext, Rest, Strategy, Verb};
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;

/// The label every namespace carries with its own name (kube's `kubernetes.io/metadata.name`).
pub const METADATA_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The spec finalizer the namespace controller removes once the content is gone.
pub const KUBERNETES_FINALIZER: &str = "kubernetes";
/// Phase of a usable namespace.
pub const PHASE_ACTIVE: &str = "Active";
/// Phase of a namespace being deleted; creates in it are refused.
pub const PHASE_TERMINATING: &str = "Terminating";

/// What discovery and errors say about namespaces.
pub fn namespace_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: String::new(),
        version: "v1".into(),
        kind: "Namespace".into(),
        plural: "namespaces".into(),
        singular: "namespace".into(),
        namespaced: false,
        short_names: vec!["ns".into()],
        categories: Vec::new(),
    }
}

/// The `namespaces` REST storage under `prefix` (`--etcd-prefix`).
pub fn namespace_storage(storage: SharedStorage, prefix: &str) -> Arc<dyn Rest> {
    let verbs = BTreeSet::from([
        Verb::Create,
        Verb::Delete,
        Verb::Get,
        Verb::List,
        Verb::Patch,
        Verb::Update,
        Verb::Watch,
    ]);
    Arc::new(Store::new(
        namespace_descriptor(),
        KeyLayout::new(prefix, "core", "namespaces"),
        storage,
        NamespaceStrategy,
        verbs,
    ))
}

/// The rules of core/v1 Namespace.
#[derive(Clone, Copy, Debug, Default)]
pub struct NamespaceStrategy;

/// Sets the `kubernetes.io/metadata.name` label to the name (when there is one yet).
fn label_with_name(ns: &mut Namespace) {
    if let Some(name) = ns.metadata.name.clone().filter(|n| !n.is_empty()) {
        ns.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(METADATA_NAME_LABEL.into(), name);
    }
}

/// The phase, as printed and selected (`status.phase`).
fn phase(ns: &Namespace) -> String {
    ns.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default()
}

impl Strategy for NamespaceStrategy {
    type Object = Namespace;

    /// kube's `namespaceStrategy.GetResetFields`: status changes only through its subresource.
    fn reset_fields(&self) -> &'static [&'static [&'static str]] {
        &[&["status"]]
    }

    /// kube's `SetDefaults_Namespace` and `SetDefaults_NamespaceStatus`.
    fn default_object(&self, ns: &mut Namespace) {
        label_with_name(ns);
        if let Some(status) = ns.status.as_mut()
            && status.phase.as_deref().unwrap_or("").is_empty()
        {
            status.phase = Some(PHASE_ACTIVE.into());
        }
    }

    /// A new namespace is `Active` and carries the `kubernetes` finalizer.
    fn prepare_for_create(&self, _ctx: &RequestContext, ns: &mut Namespace) {
        ns.status = Some(NamespaceStatus {
            phase: Some(PHASE_ACTIVE.into()),
            ..Default::default()
        });
        let spec = ns.spec.get_or_insert_with(NamespaceSpec::default);
        let finalizers = spec.finalizers.get_or_insert_with(Vec::new);
        if !finalizers.iter().any(|f| f == KUBERNETES_FINALIZER) {
            finalizers.push(KUBERNETES_FINALIZER.into());
        }
    }

    fn name_validator(&self) -> NameValidator {
        name_is_dns_label
    }

    /// kube's `ValidateNamespace` beyond metadata: spec finalizer names.
    fn validate(&self, _ctx: &RequestContext, ns: &Namespace) -> FieldErrors {
        let path = Path::new("spec").child("finalizers");
        let mut errs = FieldErrors::new();
        for f in ns.spec.iter().flat_map(|s| s.finalizers.iter().flatten()) {
            errs.extend(
                is_qualified_name(f)
                    .into_iter()
                    .map(|m| FieldError::invalid(&path, f.as_str(), m)),
            );
            errs.extend(validate_kube_finalizer_name(f, &path));
        }
        errs
    }

    /// The label follows names generated after defaulting (kube's `Canonicalize`).
    fn canonicalize(&self, ns: &mut Namespace) {
        label_with_name(ns);
    }

    /// Spec finalizers and status change only through their own subresources.
    fn prepare_for_update(&self, _ctx: &RequestContext, new: &mut Namespace, old: &Namespace) {
        let finalizers = old.spec.as_ref().and_then(|s| s.finalizers.clone());
        new.spec
            .get_or_insert_with(NamespaceSpec::default)
            .finalizers = finalizers;
        new.status = old.status.clone();
    }

    fn validate_update(
        &self,
        ctx: &RequestContext,
        new: &Namespace,
        _old: &Namespace,
    ) -> FieldErrors {
        self.validate(ctx, new)
    }

    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        Some(vec![
            name_column(),
            TableColumnDefinition::new("Status", "string", "", 0, "The status of the namespace"),
            age_column(),
        ])
    }

    fn table_row(&self, ns: &Namespace) -> Vec<Value> {
        vec![
            Value::from(ns.metadata.name.clone().unwrap_or_default()),
            Value::from(phase(ns)),
            Value::from(age(ns.metadata.creation_timestamp.as_ref())),
        ]
    }

    fn extra_field_labels(&self) -> &'static [&'static str] {
        &["status.phase"]
    }

    fn extra_selectable_fields(&self, ns: &Namespace) -> BTreeMap<String, String> {
        BTreeMap::from([("status.phase".to_string(), phase(ns))])
    }
}
