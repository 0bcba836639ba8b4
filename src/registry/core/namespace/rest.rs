//! The `namespaces` resource: the generic store, with kube's namespace delete (`REST.Delete` in
//! pkg/registry/core/namespace/storage/storage.go).
//!
//! * The first delete marks the namespace: `deletionTimestamp` now, `status.phase: Terminating`,
//!   and answers 200 with it. Its content is then removed by the namespace finalizer controller.
//! * A delete while spec finalizers remain answers 200 with the namespace, unchanged.
//! * A delete once they are gone is the generic store's (metadata finalizers still hold it).
//!
//! The garbage collector's `orphan`/`foregroundDeletion` metadata finalizers that kube sets from
//! the delete options are set only when the store manages them
//! ([`Store::with_garbage_collection`]); without a garbage collector nothing would remove them
//! and the namespace would stay `Terminating` forever.

use std::collections::BTreeSet;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Namespace, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, Time};
use serde_json::Value;

use super::{NamespaceStrategy, PHASE_TERMINATING, spec_finalizers};
use crate::api::options::{DeleteOpts, GetOptions, ListOptions, WriteOptions};
use crate::api::table::TableColumnDefinition;
use crate::api::{ApiError, GroupResource, ResourceDescriptor};
use crate::auth::Operation;
use crate::registry::store::{
    FOREGROUND_FINALIZER, ORPHAN_FINALIZER, Store, validate_delete_options,
};
use crate::registry::{
    DeleteResult, JsonItem, ListResult, ObjectUpdate, RequestContext, Rest, Verb, WatchEvents,
};

/// `namespaces`: every verb is the store's except delete.
pub struct NamespaceRest {
    store: Store<NamespaceStrategy>,
}

impl NamespaceRest {
    /// Serves `store` with namespace deletion semantics.
    pub fn new(store: Store<NamespaceStrategy>) -> Self {
        Self { store }
    }

    fn conflict(&self, name: &str, reason: String) -> ApiError {
        ApiError::Conflict {
            resource: GroupResource::new("", "namespaces"),
            name: name.to_string(),
            reason,
        }
    }

    /// kube's UID and resourceVersion preconditions, checked against `ns`.
    fn check_preconditions(
        &self,
        ns: &Namespace,
        opts: &DeleteOptions,
        name: &str,
    ) -> Result<(), ApiError> {
        let Some(pre) = &opts.preconditions else {
            return Ok(());
        };
        let uid = ns.metadata.uid.as_deref().unwrap_or("");
        if let Some(want) = pre.uid.as_deref().filter(|u| *u != uid) {
            return Err(self.conflict(
                name,
                format!(
                    "Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"
                ),
            ));
        }
        let rv = ns.metadata.resource_version.as_deref().unwrap_or("");
        if let Some(want) = pre.resource_version.as_deref().filter(|r| *r != rv) {
            return Err(self.conflict(
                name,
                format!(
                    "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {rv}"
                ),
            ));
        }
        Ok(())
    }

    /// The first delete: admission, then the namespace marked `Terminating` (written unless
    /// dry-run), re-checking the preconditions on every attempt.
    async fn begin_termination(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteResult, ApiError> {
        self.store.admit(ctx, Operation::Delete, name, None).await?;
        let gc = self.store.garbage_collection();
        let mark = |ns: &mut Namespace| -> Result<(), ApiError> {
            self.check_preconditions(ns, opts, name)?;
            mark_terminating(ns, opts, gc);
            Ok(())
        };
        let dry_run = opts
            .dry_run
            .as_ref()
            .is_some_and(|d| d.iter().any(|v| v == "All"));
        let marked = if dry_run {
            let mut ns = self.store.get_object(ctx, name).await?;
            mark(&mut ns)?;
            ns
        } else {
            self.store.update_object(ctx, name, mark).await?
        };
        Ok(DeleteResult::Pending(
            serde_json::to_value(marked).map_err(ApiError::internal)?,
        ))
    }
}

/// What the first delete changes on the namespace.
fn mark_terminating(ns: &mut Namespace, opts: &DeleteOptions, garbage_collection: bool) {
    if ns.metadata.deletion_timestamp.is_none() {
        let now = jiff::Timestamp::now();
        let now = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
        ns.metadata.deletion_timestamp = Some(Time(now));
    }
    ns.status.get_or_insert_with(NamespaceStatus::default).phase = Some(PHASE_TERMINATING.into());
    if garbage_collection {
        let current = ns.metadata.finalizers.clone().unwrap_or_default();
        if let Some(changed) = namespace_gc_finalizers(&current, opts) {
            ns.metadata.finalizers = (!changed.is_empty()).then_some(changed);
        }
    }
}

/// kube's `shouldHaveOrphanFinalizer` and `shouldHaveDeleteDependentsFinalizer` for the first
/// delete of a namespace: the metadata finalizers wanted, or `None` when they stay as they are.
/// `orphanDependents` wins, then `propagationPolicy`; otherwise what is there stays.
fn namespace_gc_finalizers(current: &[String], opts: &DeleteOptions) -> Option<Vec<String>> {
    let has = |f: &str| current.iter().any(|c| c == f);
    let orphan = match (opts.orphan_dependents, opts.propagation_policy.as_deref()) {
        (Some(orphan), _) => orphan,
        (None, Some(policy)) => policy == "Orphan",
        (None, None) => has(ORPHAN_FINALIZER),
    };
    let foreground = match (opts.orphan_dependents, opts.propagation_policy.as_deref()) {
        (Some(orphan), _) => !orphan,
        (None, Some(policy)) => policy == "Foreground",
        (None, None) => has(FOREGROUND_FINALIZER),
    };
    if orphan == has(ORPHAN_FINALIZER) && foreground == has(FOREGROUND_FINALIZER) {
        return None;
    }
    let mut wanted: Vec<String> = current
        .iter()
        .filter(|f| *f != ORPHAN_FINALIZER && *f != FOREGROUND_FINALIZER)
        .cloned()
        .collect();
    if orphan {
        wanted.push(ORPHAN_FINALIZER.into());
    }
    if foreground {
        wanted.push(FOREGROUND_FINALIZER.into());
    }
    Some(wanted)
}

#[async_trait]
impl Rest for NamespaceRest {
    fn descriptor(&self) -> &ResourceDescriptor {
        self.store.descriptor()
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        self.store.verbs().clone()
    }

    fn table_columns(&self) -> Vec<TableColumnDefinition> {
        Rest::table_columns(&self.store)
    }

    // The store's typed decode and defaulting: without it a patch leaving an undecodable
    // namespace was the store's 400 rather than kube's 422 on `patch` (found by the hostile
    // sweep), and bodies were not defaulted before managedFields were recorded.
    fn default_object(&self, object: Value) -> Result<Value, ApiError> {
        Rest::default_object(&self.store, object)
    }

    fn table_row(&self, object: &Value) -> Vec<Value> {
        Rest::table_row(&self.store, object)
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &GetOptions,
    ) -> Result<Value, ApiError> {
        self.store.get(ctx, name, opts).await
    }

    async fn list(&self, ctx: &RequestContext, opts: &ListOptions) -> Result<ListResult, ApiError> {
        self.store.list(ctx, opts).await
    }

    async fn list_json(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<ListResult<JsonItem>, ApiError> {
        self.store.list_json(ctx, opts).await
    }

    async fn watch(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchEvents, ApiError> {
        self.store.watch(ctx, opts).await
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        parent: Option<&str>,
        object: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        self.store.create(ctx, parent, object, opts).await
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        update: ObjectUpdate,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        self.store.update(ctx, name, update, opts).await
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<DeleteResult, ApiError> {
        validate_delete_options(opts)?;
        let ns = self.store.get_object(ctx, name).await?;
        self.check_preconditions(&ns, opts, name)?;
        if ns.metadata.deletion_timestamp.is_none() {
            return self.begin_termination(ctx, name, opts).await;
        }
        if !spec_finalizers(&ns).is_empty() {
            return Ok(DeleteResult::Pending(
                serde_json::to_value(ns).map_err(ApiError::internal)?,
            ));
        }
        self.store.delete(ctx, name, opts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(orphan: Option<bool>, policy: Option<&str>) -> DeleteOptions {
        DeleteOptions {
            orphan_dependents: orphan,
            propagation_policy: policy.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn delete_options_choose_the_gc_finalizers_of_a_namespace() {
        let none: Vec<String> = Vec::new();
        assert_eq!(namespace_gc_finalizers(&none, &opts(None, None)), None);
        assert_eq!(
            namespace_gc_finalizers(&none, &opts(None, Some("Orphan"))),
            Some(vec!["orphan".to_string()])
        );
        assert_eq!(
            namespace_gc_finalizers(&none, &opts(None, Some("Foreground"))),
            Some(vec!["foregroundDeletion".to_string()])
        );
        // orphanDependents=false asks for foreground deletion of a namespace's dependents.
        assert_eq!(
            namespace_gc_finalizers(&["orphan".to_string()], &opts(Some(false), None)),
            Some(vec!["foregroundDeletion".to_string()])
        );
        let kept = vec!["example.com/x".to_string(), "orphan".to_string()];
        assert_eq!(namespace_gc_finalizers(&kept, &opts(None, None)), None);
        assert_eq!(
            namespace_gc_finalizers(&kept, &opts(None, Some("Background"))),
            Some(vec!["example.com/x".to_string()])
        );
    }

    #[test]
    fn marking_sets_terminating_and_keeps_an_earlier_timestamp() {
        let mut ns = Namespace::default();
        mark_terminating(&mut ns, &opts(None, Some("Orphan")), false);
        let first = ns.metadata.deletion_timestamp.clone();
        assert!(first.is_some());
        assert_eq!(
            ns.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Terminating")
        );
        // Without a garbage collector the policy adds no finalizer.
        assert_eq!(ns.metadata.finalizers, None);
        mark_terminating(&mut ns, &opts(None, Some("Orphan")), true);
        assert_eq!(ns.metadata.deletion_timestamp, first);
        assert_eq!(ns.metadata.finalizers, Some(vec!["orphan".to_string()]));
    }
}
