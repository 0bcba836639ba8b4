//! Pods: one strategy for core/v1 pods and capstan.dev/v1 pods (kube's
//! pkg/registry/core/pod).
//!
//! [`PodObject`] is the small trait that gives the strategy access to a pod's metadata, spec and
//! status, so [`PodStrategy`], [`status::PodStatusStrategy`] and [`binding::BindingRest`] are
//! written once and serve both types. The files follow kube's seams:
//!
//! * `defaults.rs` — scheme defaulting (`SetDefaults_Pod`, `SetDefaults_PodSpec`, containers);
//! * `validation.rs`, `containers.rs`, `env.rs`, `probes.rs`, `resources.rs` — `ValidatePodCreate`
//!   and the spec and container checks;
//! * `update.rs` — `ValidatePodUpdate` (what may change in a spec);
//! * `status.rs` — the `pods/status` strategy;
//! * `qos.rs` — the QoS class set on create;
//! * `table.rs` — the `kubectl get pods` Table;
//! * `binding.rs` — `pods/binding`;
//! * `eviction.rs` — `pods/eviction` (no PodDisruptionBudgets: see there);
//! * `connect.rs` — `pods/log`, `pods/exec`, `pods/attach`, `pods/portforward` (no kubelets:
//!   kube-apiserver's answers for pods without a reachable node);
//! * `ephemeral.rs` — the `pods/ephemeralcontainers` strategy;
//! * `warnings.rs`, `container_warnings.rs`, `volume_paths.rs` — the `Warning` texts of a create (`GetWarningsForPod`);
//! * `apparmor.rs` — deprecated AppArmor annotations synced to fields on create, with a warning.

mod apparmor;
pub mod binding;
mod checks;
pub mod connect;
mod container_warnings;
mod containers;
pub mod defaults;
mod env;
pub mod ephemeral;
pub mod eviction;
mod image_ref;
mod probes;
pub mod qos;
mod resources;
pub mod status;
pub mod table;
pub mod update;
pub mod validation;
mod volume_paths;
pub mod warnings;

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodCondition, PodSpec, PodStatus};
use serde_json::Value;

use crate::api::table::TableColumnDefinition;
use crate::api::types::CapstanPod;
use crate::api::{FieldErrors, ResourceDescriptor};
use crate::registry::store::Store;
use crate::registry::strategy::StoredObject;
use crate::registry::{RequestContext, Rest, Strategy, Verb};
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;

/// Access to the parts of a pod the strategy reads and writes, for both pod types.
///
/// core/v1's `spec` and `status` are optional in k8s-openapi; capstan.dev's spec is not. The
/// strategy treats a missing spec as the empty one, as Go's zero value.
pub trait PodObject: StoredObject {
    /// The spec, if the object has one.
    fn pod_spec(&self) -> Option<&PodSpec>;
    /// The spec, created empty if missing.
    fn pod_spec_mut(&mut self) -> &mut PodSpec;
    /// The status, if set.
    fn pod_status(&self) -> Option<&PodStatus>;
    /// The status slot.
    fn pod_status_mut(&mut self) -> &mut Option<PodStatus>;
}

impl PodObject for Pod {
    fn pod_spec(&self) -> Option<&PodSpec> {
        self.spec.as_ref()
    }
    fn pod_spec_mut(&mut self) -> &mut PodSpec {
        self.spec.get_or_insert_with(PodSpec::default)
    }
    fn pod_status(&self) -> Option<&PodStatus> {
        self.status.as_ref()
    }
    fn pod_status_mut(&mut self) -> &mut Option<PodStatus> {
        &mut self.status
    }
}

impl PodObject for CapstanPod {
    fn pod_spec(&self) -> Option<&PodSpec> {
        Some(&self.spec.pod)
    }
    fn pod_spec_mut(&mut self) -> &mut PodSpec {
        &mut self.spec.pod
    }
    fn pod_status(&self) -> Option<&PodStatus> {
        self.status.as_ref()
    }
    fn pod_status_mut(&mut self) -> &mut Option<PodStatus> {
        &mut self.status
    }
}

/// Scheme defaulting shared by the pod strategies. kube's `SetDefaults_Pod` also turns a
/// negative `terminationGracePeriodSeconds` into 1 (pods only, not pod templates).
fn apply_defaults<T: PodObject>(obj: &mut T) {
    let spec = obj.pod_spec_mut();
    if spec.termination_grace_period_seconds.is_some_and(|s| s < 0) {
        spec.termination_grace_period_seconds = Some(1);
    }
    defaults::default_pod_spec(obj.pod_spec_mut());
    if let Some(status) = obj.pod_status_mut().as_mut() {
        defaults::sync_pod_ips(status);
    }
}

/// The spec of `obj`, or the empty spec.
fn spec_or_default<T: PodObject>(obj: &T) -> PodSpec {
    obj.pod_spec().cloned().unwrap_or_default()
}

/// kube's `podStrategy` for the main `pods` resource.
pub struct PodStrategy<T> {
    kind: PhantomData<fn() -> T>,
}

impl<T> Default for PodStrategy<T> {
    fn default() -> Self {
        Self { kind: PhantomData }
    }
}

/// The field labels a pod field selector may use beyond `metadata.name`/`metadata.namespace`.
pub const POD_FIELD_LABELS: [&str; 8] = [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

impl<T: PodObject> Strategy for PodStrategy<T> {
    type Object = T;

    fn default_object(&self, obj: &mut T) {
        apply_defaults(obj);
    }

    /// Generation 1; status reset to Pending with the QoS class (a client-supplied class is kept,
    /// as kube's `GetPodQOS` reads it first); the SchedulingGated condition for gated pods;
    /// AppArmor annotations synced to fields (with their deprecation warning).
    fn prepare_for_create(&self, ctx: &RequestContext, obj: &mut T) {
        obj.meta_mut().generation = Some(1);
        let spec = spec_or_default(obj);
        let qos = obj
            .pod_status()
            .and_then(|s| s.qos_class.clone())
            .filter(|q| !q.is_empty())
            .unwrap_or_else(|| qos::compute_pod_qos(&spec).to_string());
        let mut status = PodStatus {
            phase: Some("Pending".into()),
            qos_class: Some(qos),
            ..Default::default()
        };
        if spec
            .scheduling_gates
            .as_ref()
            .is_some_and(|g| !g.is_empty())
        {
            let gated = PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("SchedulingGated".into()),
                message: Some("Scheduling is blocked due to non-empty scheduling gates".into()),
                ..Default::default()
            };
            status::update_pod_condition(&mut status, gated, jiff::Timestamp::now());
        }
        *obj.pod_status_mut() = Some(status);
        let meta = obj.meta().clone();
        apparmor::apply_version_skew(&meta, obj.pod_spec_mut(), &ctx.warnings);
    }

    fn validate(&self, _ctx: &RequestContext, obj: &T) -> FieldErrors {
        validation::validate_pod_create(obj.meta(), &spec_or_default(obj))
    }

    /// kube's `WarningsOnCreate`. There is no `warnings_on_update`: kube skips pod updates, a
    /// frequent path on which humans rarely write pods.
    fn warnings_on_create(&self, _ctx: &RequestContext, obj: &T) -> Vec<String> {
        warnings::warnings_on_create(obj.meta(), &spec_or_default(obj))
    }

    /// kube's `podStrategy.GetResetFields`: status changes only through `pods/status`.
    fn reset_fields(&self) -> &'static [&'static [&'static str]] {
        &[&["status"]]
    }

    /// Keeps the old status; generation stays, and rises by one when the spec changed.
    fn prepare_for_update(&self, _ctx: &RequestContext, new: &mut T, old: &T) {
        new.pod_status_mut().clone_from(&old.pod_status().cloned());
        let spec_changed = spec_or_default(new) != spec_or_default(old);
        let generation = old.meta().generation;
        new.meta_mut().generation = match generation {
            Some(g) if spec_changed => Some(g + 1),
            None if spec_changed => Some(1),
            g => g,
        };
    }

    fn validate_update(&self, _ctx: &RequestContext, new: &T, old: &T) -> FieldErrors {
        update::validate_pod_update(
            new.meta(),
            &spec_or_default(new),
            old.meta(),
            &spec_or_default(old),
        )
    }

    /// kube's `CheckGracefulDelete`: the requested grace, else the pod's
    /// `terminationGracePeriodSeconds`; 0 for an unscheduled or finished pod; a negative grace
    /// becomes 1.
    fn check_graceful_delete(&self, obj: &T, requested: Option<i64>) -> Option<i64> {
        let spec = obj.pod_spec();
        let mut period = requested
            .or_else(|| spec.and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(0);
        if spec
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or("")
            .is_empty()
        {
            period = 0;
        }
        let phase = obj.pod_status().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Failed" | "Succeeded")) {
            period = 0;
        }
        if period < 0 {
            period = 1;
        }
        Some(period)
    }

    fn return_deleted_object(&self) -> bool {
        true
    }

    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        Some(table::pod_columns())
    }

    fn table_row(&self, obj: &T) -> Vec<Value> {
        table::pod_row(obj, jiff::Timestamp::now())
    }

    fn extra_field_labels(&self) -> &'static [&'static str] {
        &POD_FIELD_LABELS
    }

    fn extra_selectable_fields(&self, obj: &T) -> BTreeMap<String, String> {
        selectable_fields(obj)
    }
}

/// kube's `ToSelectableFields` for pods (without the metadata fields the store adds).
pub fn selectable_fields<T: PodObject>(obj: &T) -> BTreeMap<String, String> {
    let spec = spec_or_default(obj);
    let status = obj.pod_status().cloned().unwrap_or_default();
    let s = |v: Option<String>| v.unwrap_or_default();
    // The internal type keeps only `podIPs`; a v1 `podIP` alone converts into it.
    let pod_ip = status
        .pod_ips
        .as_ref()
        .and_then(|ips| ips.first())
        .map(|ip| ip.ip.clone())
        .or(status.pod_ip);
    BTreeMap::from([
        ("spec.nodeName".to_string(), s(spec.node_name)),
        ("spec.restartPolicy".to_string(), s(spec.restart_policy)),
        ("spec.schedulerName".to_string(), s(spec.scheduler_name)),
        (
            "spec.serviceAccountName".to_string(),
            s(spec.service_account_name),
        ),
        (
            "spec.hostNetwork".to_string(),
            spec.host_network.unwrap_or(false).to_string(),
        ),
        ("status.phase".to_string(), s(status.phase)),
        ("status.podIP".to_string(), s(pod_ip)),
        (
            "status.nominatedNodeName".to_string(),
            s(status.nominated_node_name),
        ),
    ])
}

/// The core/v1 storage map entries for pods: `pods`, `pods/status`, `pods/binding`,
/// `pods/eviction` and `pods/ephemeralcontainers`, kept under `prefix` (`--etcd-prefix`).
pub fn pod_storage(storage: SharedStorage, prefix: &str) -> BTreeMap<String, Arc<dyn Rest>> {
    pod_storage_for::<Pod>("", "v1", storage, prefix)
}

/// The storage map entries of a pods resource of type `T` in `group`/`version`: the same
/// strategies, verbs and descriptors whichever group serves them (kube's `NewStorage`).
pub fn pod_storage_for<T: PodObject>(
    group: &str,
    version: &str,
    storage: SharedStorage,
    prefix: &str,
) -> BTreeMap<String, Arc<dyn Rest>> {
    let pods = pods_descriptor(group, version);
    let keys = KeyLayout::new(prefix, pods.storage_group(), "pods");
    let subresource = |plural: &str| ResourceDescriptor {
        plural: plural.into(),
        singular: String::new(),
        short_names: Vec::new(),
        categories: Vec::new(),
        ..pods.clone()
    };
    let pod_verbs = BTreeSet::from([
        Verb::Create,
        Verb::Delete,
        Verb::DeleteCollection,
        Verb::Get,
        Verb::List,
        Verb::Patch,
        Verb::Update,
        Verb::Watch,
    ]);
    let subresource_verbs = BTreeSet::from([Verb::Get, Verb::Patch, Verb::Update]);
    let binding = binding::BindingRest::<T>::new(&pods, keys.clone(), storage.clone());
    let status_store = Store::new(
        subresource("pods/status"),
        keys.clone(),
        storage.clone(),
        status::PodStatusStrategy::<T>::default(),
        subresource_verbs.clone(),
    );
    let ephemeral_store = Store::new(
        subresource("pods/ephemeralcontainers"),
        keys.clone(),
        storage.clone(),
        ephemeral::PodEphemeralContainersStrategy::<T>::default(),
        subresource_verbs,
    );
    let pod_store = Arc::new(Store::new(
        pods,
        keys,
        storage,
        PodStrategy::<T>::default(),
        pod_verbs,
    ));
    let eviction = eviction::EvictionRest::new(pod_store.clone());
    let connect = connect::ConnectKind::ALL.map(|kind| {
        let rest = connect::PodConnectRest::new(kind, pod_store.clone());
        (
            format!("pods/{}", kind.subresource()),
            Arc::new(rest) as Arc<dyn Rest>,
        )
    });
    let mut map = BTreeMap::from([
        ("pods".to_string(), pod_store as Arc<dyn Rest>),
        (
            "pods/status".to_string(),
            Arc::new(status_store) as Arc<dyn Rest>,
        ),
        (
            "pods/binding".to_string(),
            Arc::new(binding) as Arc<dyn Rest>,
        ),
        (
            "pods/eviction".to_string(),
            Arc::new(eviction) as Arc<dyn Rest>,
        ),
        (
            "pods/ephemeralcontainers".to_string(),
            Arc::new(ephemeral_store) as Arc<dyn Rest>,
        ),
    ]);
    map.extend(connect);
    map
}

/// What discovery and errors say about pods in `group`/`version`.
pub fn pods_descriptor(group: &str, version: &str) -> ResourceDescriptor {
    ResourceDescriptor {
        group: group.into(),
        version: version.into(),
        kind: "Pod".into(),
        plural: "pods".into(),
        singular: "pod".into(),
        namespaced: true,
        short_names: vec!["po".into()],
        categories: vec!["all".into()],
    }
}

#[cfg(test)]
mod tests;

/// The typed body of a create-only pod subresource (`pods/binding`, `pods/eviction`). The endpoint
/// has already checked apiVersion and kind against the URL, and they are dropped here because the
/// typed decoder would refuse the spellings the subresource also accepts (capstan.dev's Binding,
/// policy/v1beta1's Eviction). A body of the wrong shape is kube's 400.
pub(crate) fn decode_subresource_body<T: serde::de::DeserializeOwned>(
    object: &mut Value,
) -> Result<T, crate::api::ApiError> {
    if let Some(map) = object.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    serde_json::from_value(object.clone()).map_err(|e| {
        crate::api::ApiError::BadRequest(format!(
            "the body of the request was in an unknown format: {e}"
        ))
    })
}
