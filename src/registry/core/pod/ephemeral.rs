//! `pods/ephemeralcontainers` (kube's `podEphemeralContainersStrategy` and
//! `ValidatePodEphemeralContainersUpdate`).
//!
//! The only way to add ephemeral containers (`kubectl debug`): GET, PUT or PATCH the pod through
//! this subresource. Everything but `spec.ephemeralContainers` is kept as stored (spec, status,
//! and the metadata a status write may not touch); existing ephemeral containers may be neither
//! removed nor changed; the new pod must be valid. Adding one changes the spec, so
//! `metadata.generation` rises by one.

use std::marker::PhantomData;

use k8s_openapi::api::core::v1::{EphemeralContainer, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::update::{json_diff, validate_pod_specific_annotation_updates};
use super::validation::{MIRROR_POD_ANNOTATION, validate_pod_metadata_and_spec};
use super::{PodObject, spec_or_default};
use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::table::TableColumnDefinition;
use crate::registry::{RequestContext, Strategy};

/// The strategy of `pods/ephemeralcontainers` for either pod type.
pub struct PodEphemeralContainersStrategy<T> {
    kind: PhantomData<fn() -> T>,
}

impl<T> Default for PodEphemeralContainersStrategy<T> {
    fn default() -> Self {
        Self { kind: PhantomData }
    }
}

impl<T: PodObject> Strategy for PodEphemeralContainersStrategy<T> {
    type Object = T;

    fn default_object(&self, obj: &mut T) {
        super::apply_defaults(obj);
    }

    /// The subresource never creates.
    fn validate(&self, _ctx: &RequestContext, _obj: &T) -> FieldErrors {
        FieldErrors::new()
    }

    /// kube's `dropNonEphemeralContainerUpdates` then `updatePodGeneration`.
    fn prepare_for_update(&self, _ctx: &RequestContext, new: &mut T, old: &T) {
        let ephemeral = new.pod_spec().and_then(|s| s.ephemeral_containers.clone());
        let mut spec = spec_or_default(old);
        spec.ephemeral_containers = ephemeral;
        *new.pod_spec_mut() = spec;
        *new.pod_status_mut() = old.pod_status().cloned();
        reset_object_meta_for_status(new.meta_mut(), old.meta());
        if spec_or_default(new) != spec_or_default(old) {
            let generation = old.meta().generation.unwrap_or(0);
            new.meta_mut().generation = Some(generation + 1);
        }
    }

    fn validate_update(&self, _ctx: &RequestContext, new: &T, old: &T) -> FieldErrors {
        validate_ephemeral_containers_update(
            new.meta(),
            &spec_or_default(new),
            old.meta(),
            &spec_or_default(old),
        )
    }

    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        Some(super::table::pod_columns())
    }

    fn table_row(&self, obj: &T) -> Vec<serde_json::Value> {
        super::table::pod_row(obj, jiff::Timestamp::now())
    }
}

/// kube's `ResetObjectMetaForStatus`: what a subresource write keeps from the stored metadata.
fn reset_object_meta_for_status(meta: &mut ObjectMeta, old: &ObjectMeta) {
    meta.deletion_timestamp.clone_from(&old.deletion_timestamp);
    meta.generation = old.generation;
    meta.self_link.clone_from(&old.self_link);
    meta.labels.clone_from(&old.labels);
    meta.annotations.clone_from(&old.annotations);
    meta.finalizers.clone_from(&old.finalizers);
    meta.owner_references.clone_from(&old.owner_references);
}

/// `ValidatePodEphemeralContainersUpdate` without the generic metadata checks the store runs:
/// the new pod is valid; static (mirror) pods take none; existing ephemeral containers stay as
/// they were (compared by name, as a patch may reorder them).
pub fn validate_ephemeral_containers_update(
    new_meta: &ObjectMeta,
    new_spec: &PodSpec,
    old_meta: &ObjectMeta,
    old_spec: &PodSpec,
) -> FieldErrors {
    let mut errs = validate_pod_metadata_and_spec(new_meta, new_spec);
    errs.extend(validate_pod_specific_annotation_updates(
        new_meta, old_meta, new_spec,
    ));
    if old_meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION))
    {
        // kube's `field.NewPath("")`, which prints as `[]`.
        return vec![FieldError::forbidden(
            "[]",
            "static pods do not support ephemeral containers",
        )];
    }
    let path = Path::new("spec").child("ephemeralContainers");
    let new: &[EphemeralContainer] = new_spec.ephemeral_containers.as_deref().unwrap_or(&[]);
    for old in old_spec.ephemeral_containers.iter().flatten() {
        match new.iter().find(|c| c.name == old.name) {
            None => errs.push(FieldError::forbidden(
                &path,
                format!(
                    "existing ephemeral containers {:?} may not be removed\n",
                    old.name
                ),
            )),
            Some(changed) if changed != old => errs.push(FieldError::forbidden(
                &path,
                format!(
                    "existing ephemeral containers {:?} may not be changed\n{}",
                    old.name,
                    json_diff("ephemeralContainer", old, changed)
                ),
            )),
            Some(_) => {}
        }
    }
    errs
}
