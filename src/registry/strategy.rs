//! A kind's rules, as kube's `RESTCreateStrategy`/`RESTUpdateStrategy`/`RESTDeleteStrategy`.
//!
//! The generic [`super::store::Store`] owns the order of the hooks (kube's `BeforeCreate` and
//! `BeforeUpdate`): decode → [`Strategy::default_object`] → [`Strategy::prepare_for_create`] (or
//! `prepare_for_update`) → generic metadata checks → [`Strategy::validate`] (or
//! `validate_update`) → [`Strategy::warnings_on_create`] (or `warnings_on_update`) →
//! [`Strategy::canonicalize`] → admission → storage. Every hook has a default
//! body, so a simple kind (configmaps) implements only `validate`.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource as _;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::RequestContext;
use crate::api::FieldErrors;
use crate::api::table::TableColumnDefinition;
use crate::api::validation::{NameValidator, name_is_dns_subdomain};

/// What the generic store can keep: a typed Kubernetes object with metadata.
pub trait StoredObject:
    kube::Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Send + Sync + 'static
{
}

impl<T> StoredObject for T where
    T: kube::Resource<DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The rules of one kind (or of one subresource's view of it, such as `pods/status`).
pub trait Strategy: Send + Sync + 'static {
    /// The stored type.
    type Object: StoredObject;

    /// Scheme defaulting, applied to every decoded body before anything else (kube's
    /// `SetDefaults_*`).
    fn default_object(&self, _obj: &mut Self::Object) {}

    /// Clears or sets fields the client may not choose on create (e.g. resets status).
    fn prepare_for_create(&self, _ctx: &RequestContext, _obj: &mut Self::Object) {}

    /// The rule for this kind's names (`metadata.name`, and `generateName` as a prefix), which
    /// the store applies in its metadata checks. Most kinds use DNS-1123 subdomains;
    /// namespaces use DNS-1123 labels.
    fn name_validator(&self) -> NameValidator {
        name_is_dns_subdomain
    }

    /// Kind-specific validation of a new object; metadata (kube's `ValidateObjectMeta`, with
    /// [`Strategy::name_validator`]) is checked by the store, so this looks at the rest.
    fn validate(&self, ctx: &RequestContext, obj: &Self::Object) -> FieldErrors;

    /// Warnings for the client about a new object that passed validation (kube's
    /// `WarningsOnCreate`): deprecated or ineffective fields. The store records them on the
    /// request's [`RequestContext::warnings`], dry runs included.
    fn warnings_on_create(&self, _ctx: &RequestContext, _obj: &Self::Object) -> Vec<String> {
        Vec::new()
    }

    /// Normalises an object just before it is stored.
    fn canonicalize(&self, _obj: &mut Self::Object) {}

    /// Copies over what an update may not change (e.g. status on the main resource, spec on
    /// `/status`) and bumps `metadata.generation` when the spec changes.
    fn prepare_for_update(
        &self,
        _ctx: &RequestContext,
        _new: &mut Self::Object,
        _old: &Self::Object,
    ) {
    }

    /// Kind-specific validation of an update (immutability rules). The store already checked the
    /// metadata (kube's `ValidateObjectMetaUpdate` and `ValidateObjectMeta`).
    fn validate_update(
        &self,
        ctx: &RequestContext,
        new: &Self::Object,
        old: &Self::Object,
    ) -> FieldErrors;

    /// Warnings for the client about an update that passed validation (kube's
    /// `WarningsOnUpdate`), recorded like [`Strategy::warnings_on_create`].
    fn warnings_on_update(
        &self,
        _ctx: &RequestContext,
        _new: &Self::Object,
        _old: &Self::Object,
    ) -> Vec<String> {
        Vec::new()
    }

    /// Field paths this strategy resets on every write (kube's `GetResetFields`): the handlers
    /// keep them out of every field manager's set, so writing a field the endpoint ignores never
    /// causes an apply conflict. Pods reset `status`; `pods/status` resets `spec`.
    fn reset_fields(&self) -> &'static [&'static [&'static str]] {
        &[]
    }

    /// Whether PUT may create a missing object.
    fn allow_create_on_update(&self) -> bool {
        false
    }

    /// Whether an update without `metadata.resourceVersion` is accepted (last write wins).
    fn allow_unconditional_update(&self) -> bool {
        true
    }

    /// The grace period for deleting `obj` given the one requested (`gracePeriodSeconds`), or
    /// `None` to delete at once. kube's `CheckGracefulDeleteStrategy`.
    fn check_graceful_delete(&self, _obj: &Self::Object, _requested: Option<i64>) -> Option<i64> {
        None
    }

    /// How long `obj` lives after this write (`update`: an update rather than a create), or
    /// `None` for ever: kube's `TTLFunc`, which events use for `--event-ttl`. Every create and
    /// update passes it to storage afresh; writes the store makes on its own (graceful deletion
    /// marks, subresource read-modify-writes) pass none, as kube's do.
    fn ttl(&self, _obj: &Self::Object, _update: bool) -> Option<Duration> {
        None
    }

    /// Whether a completed delete answers with the deleted object (pods) rather than a Status.
    fn return_deleted_object(&self) -> bool {
        false
    }

    /// Whether an update that stores `new` over `old` deletes the object instead: the last
    /// finalizer went away after a delete request (kube's `ShouldDeleteDuringUpdate`). Kinds with
    /// finalizers of their own (namespaces' `spec.finalizers`) add their condition here.
    fn should_delete_during_update(&self, new: &Self::Object, old: &Self::Object) -> bool {
        should_delete_during_update(new.meta(), old.meta())
    }

    /// Table columns; `None` means kube's default (Name, Created At).
    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        None
    }

    /// The cells of one row matching [`Strategy::table_columns`].
    fn table_row(&self, _obj: &Self::Object) -> Vec<Value> {
        Vec::new()
    }

    /// The field labels a field selector may use on this kind, beyond `metadata.name` and
    /// `metadata.namespace` (pods: `spec.nodeName`, `status.phase`, …).
    fn extra_field_labels(&self) -> &'static [&'static str] {
        &[]
    }

    /// Values of [`Strategy::extra_field_labels`] for one object.
    fn extra_selectable_fields(&self, _obj: &Self::Object) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
}

/// kube's generic `ShouldDeleteDuringUpdate`: no finalizers remain on the new object, a delete
/// was requested on the old one, and no grace period is running (none, or 0).
pub fn should_delete_during_update(new: &ObjectMeta, old: &ObjectMeta) -> bool {
    new.finalizers.as_ref().is_none_or(Vec::is_empty)
        && old.deletion_timestamp.is_some()
        && old.deletion_grace_period_seconds.unwrap_or(0) == 0
}
