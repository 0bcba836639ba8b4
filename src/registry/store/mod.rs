//! The generic registry store (kube's `genericregistry.Store`): every verb for a stored kind,
//! parameterised by a [`Strategy`].
//!
//! One file per verb family: [`decode`](self) turns request bodies into typed objects, `create`,
//! `update` (on the revision compare-and-swap), `delete` (graceful deletion and finalizers), `list`
//! (selectors, paging pinned to a revision) and `watch` (initial state, selector transitions).
//! This file holds the shared plumbing: keys, storage error mapping, admission, selection, and
//! typed helpers for subresource `Rest` impls.

mod bookmarks;
mod create;
mod decode;
mod delete;
mod list;
mod stored;
mod update;
mod watch;

pub use delete::{
    FOREGROUND_FINALIZER, ORPHAN_FINALIZER, garbage_collection_finalizers, validate_delete_options,
};

use kube::Resource as _;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::api::options::{DeleteOpts, GetOptions, ListOptions, ReadAt, WriteOptions};
use crate::api::selectors::fields::FieldSelector;
use crate::api::selectors::labels::LabelSelector;
use crate::api::table::TableColumnDefinition;
use crate::api::{ApiError, GroupKind, GroupResource, ResourceDescriptor};
use crate::auth::{AdmissionRequest, Operation};
use crate::registry::{
    DeleteResult, JsonItem, ListResult, ObjectUpdate, RequestContext, Rest, Strategy, Verb,
    WatchEvents, codec, default_table_columns, default_table_row,
};
use crate::storage::keys::KeyLayout;
use crate::storage::{SharedStorage, StorageError, Update, guaranteed_update};
pub use bookmarks::DEFAULT_BOOKMARK_INTERVAL;

/// A stored resource: storage, key layout and strategy, plus the verbs it serves.
pub struct Store<S: Strategy> {
    descriptor: ResourceDescriptor,
    keys: KeyLayout,
    storage: SharedStorage,
    /// Shared with watch streams, which outlive the call that starts them.
    strategy: Arc<S>,
    verbs: BTreeSet<Verb>,
    /// Whether deletes manage the garbage collector's `orphan`/`foregroundDeletion` finalizers
    /// (kube's `EnableGarbageCollection`); see [`Store::with_garbage_collection`].
    garbage_collection: bool,
    /// How often watches that allow bookmarks get one.
    bookmark_interval: Duration,
}

impl<S: Strategy> Store<S> {
    /// A store serving `verbs` on `descriptor`, keeping objects under `keys`. Subresource stores
    /// (`pods/status`) share their parent's `keys` with another strategy.
    pub fn new(
        descriptor: ResourceDescriptor,
        keys: KeyLayout,
        storage: SharedStorage,
        strategy: S,
        verbs: BTreeSet<Verb>,
    ) -> Self {
        Self {
            descriptor,
            keys,
            storage,
            strategy: Arc::new(strategy),
            verbs,
            garbage_collection: false,
            bookmark_interval: DEFAULT_BOOKMARK_INTERVAL,
        }
    }

    /// Sends watches that allow bookmarks one every `interval` instead of kube's minute; tests
    /// use a short interval so that they need not wait.
    #[must_use]
    pub fn with_bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Makes deletes add or remove the `orphan` and `foregroundDeletion` finalizers that
    /// `propagationPolicy` (or `orphanDependents`) asks for, as kube's store does with its
    /// garbage collector enabled. Off by default: standalone Capstan runs no garbage collector,
    /// so those finalizers would never be removed and the objects would never go. With it off,
    /// deletes behave as kube-apiserver's with `--enable-garbage-collector=false`: the policy is
    /// validated and otherwise ignored. Turn it on only when a garbage collector (a host
    /// cluster's, for an aggregated group) processes these objects.
    #[must_use]
    pub fn with_garbage_collection(mut self, enabled: bool) -> Self {
        self.garbage_collection = enabled;
        self
    }

    /// Whether deletes manage the garbage collector's finalizers.
    pub fn garbage_collection(&self) -> bool {
        self.garbage_collection
    }

    /// What this store serves.
    pub fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    /// Where its objects live.
    pub fn keys(&self) -> &KeyLayout {
        &self.keys
    }

    /// The backend it writes through.
    pub fn storage(&self) -> &SharedStorage {
        &self.storage
    }

    /// The kind's rules.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// The verbs it serves.
    pub fn verbs(&self) -> &BTreeSet<Verb> {
        &self.verbs
    }

    /// The resource errors name: the plural without any subresource (`pods` for `pods/status`),
    /// as kube's NotFound/Conflict messages do.
    pub fn group_resource(&self) -> GroupResource {
        let (resource, _) = split_subresource(&self.descriptor.plural);
        GroupResource::new(self.descriptor.group.clone(), resource)
    }

    /// The kind `Invalid` errors name.
    pub fn group_kind(&self) -> GroupKind {
        self.descriptor.group_kind()
    }

    /// `404 <resource> "<name>" not found`.
    pub fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound {
            resource: self.group_resource(),
            name: name.to_string(),
        }
    }

    /// The namespace a single-object request works in: the URL's for namespaced kinds (kube's
    /// 400 `Namespace parameter required.` without one), none for cluster-scoped kinds.
    fn request_namespace<'a>(&self, ctx: &'a RequestContext) -> Result<Option<&'a str>, ApiError> {
        if !self.descriptor.namespaced {
            return Ok(None);
        }
        match ctx.namespace.as_deref().filter(|ns| !ns.is_empty()) {
            Some(ns) => Ok(Some(ns)),
            None => Err(ApiError::BadRequest("Namespace parameter required.".into())),
        }
    }

    /// The storage key of `name` in the request's namespace.
    pub fn object_key(&self, ctx: &RequestContext, name: &str) -> Result<String, ApiError> {
        if name.is_empty() {
            return Err(ApiError::BadRequest("Name parameter required.".into()));
        }
        Ok(self.keys.object(self.request_namespace(ctx)?, name))
    }

    /// The prefix a list or watch reads: one namespace, or every namespace.
    fn collection_key(&self, ctx: &RequestContext) -> String {
        let ns = ctx.namespace.as_deref().filter(|ns| !ns.is_empty());
        self.keys
            .collection(if self.descriptor.namespaced { ns } else { None })
    }

    /// Storage errors on one object, with this resource and `name` filled in.
    fn storage_error(&self, err: StorageError, name: &str) -> ApiError {
        match err {
            StorageError::NotFound(_) => self.not_found(name),
            StorageError::KeyExists(_) => ApiError::AlreadyExists {
                resource: self.group_resource(),
                name: name.to_string(),
            },
            StorageError::Conflict { .. } => {
                ApiError::conflict_modified(self.group_resource(), name)
            }
            StorageError::FutureRevision { requested, current } => {
                ApiError::TooLargeResourceVersion { requested, current }
            }
            StorageError::Compacted { .. } => ApiError::Expired {
                message: "The resourceVersion for the provided list is too old.".into(),
            },
            StorageError::Unavailable(msg) => ApiError::ServiceUnavailable(msg),
            StorageError::InvalidArgument(msg) | StorageError::Internal(msg) => {
                ApiError::Internal(msg)
            }
        }
    }

    /// Runs the request's admission chain on a write to this resource; subresource `Rest`
    /// impls that act on the parent object (namespace deletion) call it for their verb.
    pub async fn admit(
        &self,
        ctx: &RequestContext,
        operation: Operation,
        name: &str,
        object: Option<&Value>,
    ) -> Result<(), ApiError> {
        let (resource, subresource) = split_subresource(&self.descriptor.plural);
        let namespace = if self.descriptor.namespaced {
            ctx.namespace.as_deref()
        } else {
            None
        };
        let request = AdmissionRequest {
            operation,
            group: &self.descriptor.group,
            version: &self.descriptor.version,
            resource,
            subresource,
            namespace,
            name,
            user: &ctx.user,
            object,
        };
        ctx.admission.admit(&request).await
    }

    /// The current object `name`, typed, with its resourceVersion; 404 if absent.
    pub async fn get_object(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<S::Object, ApiError> {
        let key = self.object_key(ctx, name)?;
        match self.storage.get(&key).await {
            Ok(Some(kv)) => codec::decode(&kv),
            Ok(None) => Err(self.not_found(name)),
            Err(err) => Err(self.storage_error(err, name)),
        }
    }

    /// Read-modify-write of `name` for subresource `Rest` impls (binding, eviction): `change`
    /// edits the current object (and may refuse with its own error); it may run again if a
    /// concurrent write wins. No strategy hooks or admission run here. A change that leaves the
    /// object as it was writes nothing. 404 if the object is absent.
    pub async fn update_object<F>(
        &self,
        ctx: &RequestContext,
        name: &str,
        mut change: F,
    ) -> Result<S::Object, ApiError>
    where
        F: FnMut(&mut S::Object) -> Result<(), ApiError>,
    {
        let key = self.object_key(ctx, name)?;
        let stored = guaranteed_update(self.storage.as_ref(), &key, |current| {
            let Some(kv) = current else {
                return Err(Wrapped::Api(self.not_found(name)));
            };
            let mut obj: S::Object = codec::decode(kv).map_err(Wrapped::Api)?;
            change(&mut obj).map_err(Wrapped::Api)?;
            Ok(Update::Put(codec::encode(&obj).map_err(Wrapped::Api)?))
        })
        .await;
        match stored {
            Ok(Some(kv)) => codec::decode(&kv),
            Ok(None) => Err(self.not_found(name)),
            Err(Wrapped::Api(err)) => Err(err),
            Err(Wrapped::Storage(err)) => Err(self.storage_error(err, name)),
        }
    }

    /// The fields a field selector may test on `obj`: `metadata.name`, `metadata.namespace` (on
    /// namespaced kinds) and the strategy's own.
    fn selectable_fields(
        strategy: &S,
        namespaced: bool,
        obj: &S::Object,
    ) -> BTreeMap<String, String> {
        let meta = obj.meta();
        let mut fields = strategy.extra_selectable_fields(obj);
        fields.insert(
            "metadata.name".into(),
            meta.name.clone().unwrap_or_default(),
        );
        if namespaced {
            fields.insert(
                "metadata.namespace".into(),
                meta.namespace.clone().unwrap_or_default(),
            );
        }
        fields
    }

    /// Refuses field labels this kind does not know, with kube's texts: the default conversion's
    /// message for kinds without their own labels, `field label not supported` otherwise.
    fn check_field_labels(&self, selector: &FieldSelector) -> Result<(), ApiError> {
        let extra = self.strategy.extra_field_labels();
        for r in &selector.requirements {
            let known = r.field == "metadata.name"
                || r.field == "metadata.namespace"
                || extra.contains(&r.field.as_str());
            if known {
                continue;
            }
            return Err(ApiError::BadRequest(if extra.is_empty() {
                format!(
                    "{:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                    r.field
                )
            } else {
                format!("field label not supported: {}", r.field)
            }));
        }
        Ok(())
    }

    /// A matcher for `opts`' selectors, usable after this call returns (watch streams).
    fn selection(&self, opts: &ListOptions) -> Selection<S> {
        Selection {
            strategy: self.strategy.clone(),
            namespaced: self.descriptor.namespaced,
            labels: opts.label_selector.clone(),
            fields: opts.field_selector.clone(),
        }
    }
}

/// Errors of a typed read-modify-write: the caller's own, or storage's.
enum Wrapped {
    Api(ApiError),
    Storage(StorageError),
}

impl From<StorageError> for Wrapped {
    fn from(err: StorageError) -> Self {
        Self::Storage(err)
    }
}

/// Label and field selectors bound to a kind's selectable fields.
struct Selection<S: Strategy> {
    strategy: Arc<S>,
    namespaced: bool,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl<S: Strategy> Selection<S> {
    fn selects_all(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    fn matches(&self, obj: &S::Object) -> bool {
        if !self.labels.is_empty() {
            let empty = BTreeMap::new();
            if !self
                .labels
                .matches(obj.meta().labels.as_ref().unwrap_or(&empty))
            {
                return false;
            }
        }
        self.fields.is_empty()
            || self.fields.matches(&Store::<S>::selectable_fields(
                &self.strategy,
                self.namespaced,
                obj,
            ))
    }
}

/// `pods/status` → (`pods`, `status`); `pods` → (`pods`, ``).
fn split_subresource(plural: &str) -> (&str, &str) {
    plural.split_once('/').unwrap_or((plural, ""))
}

/// An object as JSON (with its apiVersion and kind), in the shape kube-apiserver answers with
/// (see `go_json_shape`).
fn to_value<T: crate::registry::strategy::StoredObject>(obj: &T) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(obj).map_err(ApiError::internal)?;
    crate::api::protobuf::go_json_shape(&mut value, &T::api_version(&()), &T::kind(&()));
    Ok(value)
}

/// Now, to the second, as kube's `metav1.Now()` serialises it.
fn now() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second()).unwrap_or(now)
}

#[async_trait]
impl<S: Strategy> Rest for Store<S> {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        self.verbs.clone()
    }

    fn table_columns(&self) -> Vec<TableColumnDefinition> {
        self.strategy
            .table_columns()
            .unwrap_or_else(default_table_columns)
    }

    fn table_row(&self, object: &Value) -> Vec<Value> {
        if self.strategy.table_columns().is_none() {
            return default_table_row(object);
        }
        match serde_json::from_value::<S::Object>(object.clone()) {
            Ok(obj) => self.strategy.table_row(&obj),
            Err(_) => default_table_row(object),
        }
    }

    fn default_object(&self, object: Value) -> Result<Value, ApiError> {
        let mut obj = self.decode_body(object)?;
        self.strategy.default_object(&mut obj);
        to_value(&obj)
    }

    fn reset_fields(&self) -> &'static [&'static [&'static str]] {
        self.strategy.reset_fields()
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &GetOptions,
    ) -> Result<Value, ApiError> {
        let read_at = ReadAt::for_get(opts)?;
        let obj = self.get_object(ctx, name).await?;
        if let ReadAt::NotOlderThan(min) = read_at {
            let current = self
                .storage
                .current_revision()
                .await
                .map_err(|e| self.storage_error(e, name))?;
            if min > current {
                return Err(ApiError::TooLargeResourceVersion {
                    requested: min,
                    current,
                });
            }
        }
        to_value(&obj)
    }

    async fn list(&self, ctx: &RequestContext, opts: &ListOptions) -> Result<ListResult, ApiError> {
        self.list_values(ctx, opts).await
    }

    async fn list_json(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<ListResult<JsonItem>, ApiError> {
        self.list_json_items(ctx, opts).await
    }

    async fn watch(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchEvents, ApiError> {
        self.watch_values(ctx, opts).await
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        _parent: Option<&str>,
        object: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        self.create_value(ctx, object, opts).await
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        update: ObjectUpdate,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        self.update_value(ctx, name, update, opts).await
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<DeleteResult, ApiError> {
        self.delete_value(ctx, name, opts).await
    }
}
