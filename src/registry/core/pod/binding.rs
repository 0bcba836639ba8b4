//! `pods/binding`: a scheduler's way to place a pod on a node (kube's `BindingREST` in
//! pkg/registry/core/pod/storage/storage.go).
//!
//! `POST .../pods/<name>/binding` with a `Binding{metadata.name: <name>, target.name: <node>}`
//! sets `spec.nodeName` once, merges the binding's annotations into the pod and marks it
//! `PodScheduled=True`, with a read-modify-write on the stored pod (no pod strategy runs, as in
//! kube). The answer is a Status `Success` with code 201.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Binding, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use serde_json::Value;

use super::PodObject;
use super::status::update_pod_condition;
use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::options::WriteOptions;
use crate::api::{ApiError, GroupKind, GroupResource, ResourceDescriptor};
use crate::auth::{AdmissionRequest, Operation};
use crate::registry::{RequestContext, Rest, Verb, codec};
use crate::storage::keys::KeyLayout;
use crate::storage::{SharedStorage, StorageError, Update, guaranteed_update};

/// The `pods/binding` endpoint over the pods stored under `keys`.
pub struct BindingRest<T> {
    descriptor: ResourceDescriptor,
    keys: KeyLayout,
    storage: SharedStorage,
    kind: PhantomData<fn() -> T>,
}

impl<T: PodObject> BindingRest<T> {
    /// `pods` is the descriptor of the pods resource the bindings act on; `keys` its key layout.
    pub fn new(pods: &ResourceDescriptor, keys: KeyLayout, storage: SharedStorage) -> Self {
        let descriptor = ResourceDescriptor {
            group: pods.group.clone(),
            version: pods.version.clone(),
            kind: "Binding".into(),
            plural: "pods/binding".into(),
            singular: String::new(),
            namespaced: true,
            short_names: Vec::new(),
            categories: Vec::new(),
        };
        Self {
            descriptor,
            keys,
            storage,
            kind: PhantomData,
        }
    }

    fn pods(&self) -> GroupResource {
        GroupResource::new(self.descriptor.group.clone(), "pods")
    }

    /// What `assignPod` reports for a refusal that is not already an API error.
    fn binding_conflict(&self, name: &str, reason: String) -> ApiError {
        ApiError::Conflict {
            resource: GroupResource::new(self.descriptor.group.clone(), "pods/binding"),
            name: name.to_string(),
            reason,
        }
    }
}

/// `ValidatePodBinding`.
pub fn validate_binding(binding: &Binding) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let target = Path::new("target");
    let kind = binding.target.kind.as_deref().unwrap_or("");
    if !kind.is_empty() && kind != "Node" {
        errs.push(FieldError::not_supported(
            target.child("kind"),
            kind,
            &["Node", "<empty>"],
        ));
    }
    if binding.target.name.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required(target.child("name"), ""));
    }
    errs
}

/// Why a pod cannot take the binding, or `None` when it can.
fn refusal<T: PodObject>(pod: &T) -> Option<String> {
    let name = pod.meta().name.as_deref().unwrap_or("");
    let spec = pod.pod_spec();
    let node = spec.and_then(|s| s.node_name.as_deref()).unwrap_or("");
    if pod.meta().deletion_timestamp.is_some() {
        return Some(format!(
            "pod {name} is being deleted, cannot be assigned to a host"
        ));
    }
    if !node.is_empty() {
        return Some(format!("pod {name} is already assigned to node {node:?}"));
    }
    if spec
        .and_then(|s| s.scheduling_gates.as_ref())
        .is_some_and(|g| !g.is_empty())
    {
        return Some(format!("pod {name} has non-empty .spec.schedulingGates"));
    }
    None
}

/// The failure of a binding's read-modify-write, before it becomes an `ApiError`.
enum BindError {
    Api(ApiError),
    Refused(String),
}

impl From<StorageError> for BindError {
    fn from(e: StorageError) -> Self {
        Self::Api(ApiError::internal(e))
    }
}

#[async_trait]
impl<T: PodObject> Rest for BindingRest<T> {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        BTreeSet::from([Verb::Create])
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        parent: Option<&str>,
        mut object: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let binding: Binding = super::decode_subresource_body(&mut object)?;
        let Some(namespace) = ctx.namespace.as_deref().filter(|ns| !ns.is_empty()) else {
            return Err(ApiError::BadRequest("Namespace parameter required.".into()));
        };
        let body_namespace = binding.metadata.namespace.as_deref().unwrap_or("");
        if !body_namespace.is_empty() && body_namespace != namespace {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        let name = binding.metadata.name.clone().unwrap_or_default();
        if parent != Some(name.as_str()) {
            return Err(ApiError::BadRequest(
                "name in URL does not match name in Binding object".into(),
            ));
        }
        let errs = validate_binding(&binding);
        if !errs.is_empty() {
            return Err(ApiError::invalid(
                GroupKind::new(self.descriptor.group.clone(), "Binding"),
                name,
                errs,
            ));
        }
        ctx.admission
            .admit(&AdmissionRequest {
                operation: Operation::Create,
                group: &self.descriptor.group,
                version: &self.descriptor.version,
                resource: "pods",
                subresource: "binding",
                namespace: ctx.namespace.as_deref(),
                name: &name,
                user: &ctx.user,
                object: Some(&object),
            })
            .await?;
        self.assign(ctx, &binding, &name, opts.dry_run).await?;
        let status = Status {
            status: Some("Success".into()),
            code: Some(201),
            ..Default::default()
        };
        serde_json::to_value(status).map_err(ApiError::internal)
    }
}

impl<T: PodObject> BindingRest<T> {
    /// kube's `assignPod`/`setPodHostAndAnnotations`: a guaranteed update of the stored pod,
    /// guarded by the binding's uid and resourceVersion when it gives them.
    async fn assign(
        &self,
        ctx: &RequestContext,
        binding: &Binding,
        name: &str,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        let key = self.keys.object(ctx.namespace.as_deref(), name);
        let node = binding.target.name.clone().unwrap_or_default();
        let annotations = binding.metadata.annotations.clone().unwrap_or_default();
        let want_uid = binding.metadata.uid.clone().filter(|u| !u.is_empty());
        let want_rv = binding
            .metadata
            .resource_version
            .clone()
            .filter(|rv| !rv.is_empty());
        let now = jiff::Timestamp::now();
        let decide = |current: Option<&crate::storage::KeyValue>| -> Result<Update, BindError> {
            let Some(kv) = current else {
                return Err(BindError::Api(ApiError::NotFound {
                    resource: self.pods(),
                    name: name.to_string(),
                }));
            };
            let mut pod: T = codec::decode(kv).map_err(BindError::Api)?;
            check_preconditions(&pod, want_uid.as_deref(), want_rv.as_deref()).map_err(
                |reason| {
                    BindError::Api(ApiError::Conflict {
                        resource: self.pods(),
                        name: name.to_string(),
                        reason,
                    })
                },
            )?;
            if let Some(reason) = refusal(&pod) {
                return Err(BindError::Refused(reason));
            }
            pod.pod_spec_mut().node_name = Some(node.clone());
            let pod_annotations = pod
                .meta_mut()
                .annotations
                .get_or_insert_with(Default::default);
            pod_annotations.extend(annotations.clone());
            let status = pod.pod_status_mut().get_or_insert_with(PodStatus::default);
            let scheduled = PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                ..Default::default()
            };
            update_pod_condition(status, scheduled, now);
            if dry_run {
                return Ok(Update::Unchanged);
            }
            Ok(Update::Put(codec::encode(&pod).map_err(BindError::Api)?))
        };
        match guaranteed_update(self.storage.as_ref(), &key, decide).await {
            Ok(_) => Ok(()),
            Err(BindError::Api(e)) => Err(e),
            Err(BindError::Refused(reason)) => Err(self.binding_conflict(name, reason)),
        }
    }
}

/// kube's storage preconditions, with its wording.
fn check_preconditions<T: PodObject>(
    pod: &T,
    uid: Option<&str>,
    rv: Option<&str>,
) -> Result<(), String> {
    let meta = pod.meta();
    if let Some(uid) = uid {
        let actual = meta.uid.as_deref().unwrap_or("");
        if uid != actual {
            return Err(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
            ));
        }
    }
    if let Some(rv) = rv {
        let actual = meta.resource_version.as_deref().unwrap_or("");
        if rv != actual {
            return Err(format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
            ));
        }
    }
    Ok(())
}
