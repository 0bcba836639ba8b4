//! The registry: REST semantics over storage.
//!
//! [`Rest`] is what the installers route to; it is type-erased (objects travel as
//! `serde_json::Value`, as `runtime.Object` does in Go) so one map can hold every resource.
//! [`store::Store`] is the generic implementation for stored kinds, parameterised by a
//! [`Strategy`] that gives each kind its rules; subresources such as `pods/status` are further
//! `Rest` values (a `Store` with another strategy, or a small custom type such as `pods/binding`).
//!
//! The registry never sees HTTP types: handlers in `endpoints` parse options, call a `Rest`, and
//! encode what it returns.

pub mod authentication;
pub mod authorization;
pub mod capstan;
pub mod codec;
pub mod converting;
pub mod coordination;
pub mod core;
pub mod events;
pub mod review;
pub mod store;
pub mod strategy;

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde_json::Value;

use crate::api::options::{DeleteOpts, GetOptions, ListOptions, WriteOptions};
use crate::api::table::TableColumnDefinition;
use crate::api::warnings::Warnings;
use crate::api::{ApiError, ResourceDescriptor};
use crate::auth::{Admit, UserInfo};

pub use codec::JsonItem;
pub use strategy::Strategy;

/// Per-request facts a `Rest` needs: who asks, in which namespace, with which admission chain,
/// and where to record warnings for the client.
#[derive(Clone)]
pub struct RequestContext {
    /// The namespace from the URL; `None` for cluster-scoped resources and all-namespace lists.
    pub namespace: Option<String>,
    pub user: UserInfo,
    /// Validating admission run before every write reaches storage.
    pub admission: Arc<dyn Admit>,
    /// kube's warning recorder on the request context: what the store adds here (a strategy's
    /// `warnings_on_create`/`warnings_on_update`) the router sends as `Warning` headers. Callers
    /// outside a request (controllers) pass a fresh one and ignore it.
    pub warnings: Warnings,
}

/// A verb a resource supports, as discovery lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Create,
    Delete,
    DeleteCollection,
    Get,
    List,
    Patch,
    Update,
    Watch,
}

impl Verb {
    /// The lower-case discovery name (`deletecollection`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
            Self::Get => "get",
            Self::List => "list",
            Self::Patch => "patch",
            Self::Update => "update",
            Self::Watch => "watch",
        }
    }
}

/// A page of a list, before it is wrapped in a `<Kind>List` or a Table. Items are JSON values,
/// or, from [`Rest::list_json`], each item's compact JSON text ([`JsonItem`]).
#[derive(Clone, Debug)]
pub struct ListResult<T = Value> {
    pub items: Vec<T>,
    pub resource_version: String,
    pub continue_token: Option<String>,
    pub remaining_item_count: Option<i64>,
}

impl<T> Default for ListResult<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            resource_version: String::new(),
            continue_token: None,
            remaining_item_count: None,
        }
    }
}

/// One event of a watch, with the object as JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent {
    Added(Value),
    Modified(Value),
    Deleted(Value),
    /// An object of the resource's kind carrying only `metadata.resourceVersion` (and annotations
    /// such as `k8s.io/initial-events-end`).
    Bookmark(Value),
    /// A terminal error (410 Expired after compaction); the stream ends after it.
    Error(ApiError),
}

/// The events of a watch; the stream ends when the watch ends.
pub type WatchEvents = BoxStream<'static, WatchEvent>;

/// Computes the object to store from the one currently stored (`None` if absent). It may run more
/// than once when a concurrent write wins the race, so it must be a pure function of its input.
/// PUT returns its body; PATCH applies the patch to the current object.
pub type ObjectUpdate = Box<dyn FnMut(Option<&Value>) -> Result<Value, ApiError> + Send>;

/// What a delete did.
#[derive(Clone, Debug, PartialEq)]
pub enum DeleteResult {
    /// The object is gone; `object` is its last state. Kinds that return the deleted object (pods)
    /// answer with it; others answer with a Status Success naming it.
    Deleted { object: Value, return_object: bool },
    /// The object remains, now marked for deletion (grace period or finalizers): answer with it.
    Pending(Value),
}

/// The answer of a connect-style subresource ([`Rest::connect`]): bytes of a content type, not an
/// object (kube's `ResourceStreamer`; a proxied kubelet stream once there is one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawResponse {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The verbs of one resource or subresource; unsupported ones answer 405 through the defaults.
///
/// Objects are JSON values in the resource's own apiVersion and kind. Every method is called after
/// authentication and authorization; writes call admission through `ctx.admission`.
#[async_trait]
pub trait Rest: Send + Sync {
    /// What this endpoint serves (for a subresource, the kind it takes and returns).
    fn descriptor(&self) -> &ResourceDescriptor;

    /// The verbs implemented below, as discovery lists them.
    fn verbs(&self) -> BTreeSet<Verb>;

    /// The resource in the version its objects are stored in, which discovery hashes into
    /// `storageVersionHash` (the same for every served version, as in kube). A version served by
    /// conversion answers with the storage version's descriptor.
    fn storage_descriptor(&self) -> &ResourceDescriptor {
        self.descriptor()
    }

    /// Whether objects of this resource are kept in storage. Discovery publishes a
    /// `storageVersionHash` only for those, as kube does for storage that provides a storage
    /// version; resources that answer a create without storing anything (the self reviews of
    /// `authentication.k8s.io` and `authorization.k8s.io`) say no.
    fn is_stored(&self) -> bool {
        true
    }

    /// The columns of this resource's Table, with [`Rest::table_row`] giving the cells.
    fn table_columns(&self) -> Vec<TableColumnDefinition> {
        default_table_columns()
    }

    /// The cells of one object's Table row, matching [`Rest::table_columns`].
    fn table_row(&self, object: &Value) -> Vec<Value> {
        default_table_row(object)
    }

    /// Scheme defaulting of a decoded body: kube's decoder defaults every object it decodes, so
    /// handlers call this before recording managedFields and the writer owns the defaulted fields
    /// as in kube. The default returns `object` as it is (bodies that are never stored, such as a
    /// `pods/binding` Binding).
    fn default_object(&self, object: Value) -> Result<Value, ApiError> {
        Ok(object)
    }

    /// Whether a body may name `api_version` (kube's `AcceptsGroupVersion` delegate): the
    /// endpoint's own apiVersion by default; an endpoint whose kind has other versions that
    /// differ only in `apiVersion` (policy/v1beta1 Evictions on `pods/eviction`) takes those too,
    /// and the handler rewrites the body to the endpoint's apiVersion.
    fn accepts_api_version(&self, api_version: &str) -> bool {
        api_version == self.descriptor().api_version()
    }

    /// Field paths this endpoint's strategy resets on every write, so no field manager may own
    /// them (kube's `ResetFieldsStrategy`): `status` on pods, `spec` on `pods/status`.
    fn reset_fields(&self) -> &'static [&'static [&'static str]] {
        &[]
    }

    async fn get(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _opts: &GetOptions,
    ) -> Result<Value, ApiError> {
        Err(self.unsupported("get"))
    }

    async fn list(
        &self,
        _ctx: &RequestContext,
        _opts: &ListOptions,
    ) -> Result<ListResult, ApiError> {
        Err(self.unsupported("list"))
    }

    /// [`Rest::list`] with every item already in compact JSON, for responses written as plain
    /// JSON: a store copies its stored bytes instead of building values only to serialise them.
    /// The default serialises what `list` returns.
    async fn list_json(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<ListResult<JsonItem>, ApiError> {
        let page = self.list(ctx, opts).await?;
        let items = page
            .items
            .iter()
            .map(JsonItem::from_value)
            .collect::<Result<_, _>>()?;
        Ok(ListResult {
            items,
            resource_version: page.resource_version,
            continue_token: page.continue_token,
            remaining_item_count: page.remaining_item_count,
        })
    }

    async fn watch(
        &self,
        _ctx: &RequestContext,
        _opts: &ListOptions,
    ) -> Result<WatchEvents, ApiError> {
        Err(self.unsupported("watch"))
    }

    /// Creates `object`. For a subresource (`pods/binding`), `parent` is the name in the URL.
    async fn create(
        &self,
        _ctx: &RequestContext,
        _parent: Option<&str>,
        _object: Value,
        _opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        Err(self.unsupported("create"))
    }

    /// Updates `name` with `update`; returns the stored object and whether it was created.
    async fn update(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _update: ObjectUpdate,
        _opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        Err(self.unsupported("update"))
    }

    async fn delete(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _opts: &DeleteOpts,
    ) -> Result<DeleteResult, ApiError> {
        Err(self.unsupported("delete"))
    }

    /// Whether this is one of kube's connect-style subresources (`pods/exec`, `pods/attach`,
    /// `pods/portforward`, which kube serves through a `Connecter`, and `pods/log`, a getter that
    /// streams): every verb in [`Rest::verbs`] (`get` for GET, `create` for POST) is answered by
    /// [`Rest::connect`] with raw bytes instead of by the object handlers.
    fn is_connect(&self) -> bool {
        false
    }

    /// Answers a connect-style request on `name`. `params` are the query parameters in order
    /// (repeatable ones such as exec's `command` appear once per value); each endpoint reads its
    /// own options from them, as kube's parameter codec does per options kind.
    async fn connect(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _params: &[(String, String)],
    ) -> Result<RawResponse, ApiError> {
        Err(self.unsupported("get"))
    }

    /// The 405 for `verb` on this resource.
    fn unsupported(&self, verb: &str) -> ApiError {
        ApiError::MethodNotSupported {
            resource: self.descriptor().group_resource(),
            verb: verb.to_string(),
        }
    }
}

/// kube's default table: `Name` and `Created At`.
pub fn default_table_columns() -> Vec<TableColumnDefinition> {
    vec![
        TableColumnDefinition::new(
            "Name",
            "string",
            "name",
            0,
            "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
        ),
        TableColumnDefinition::new(
            "Created At",
            "date",
            "",
            0,
            "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        ),
    ]
}

/// The cells of kube's default table.
pub fn default_table_row(object: &Value) -> Vec<Value> {
    vec![
        object["metadata"]["name"].clone(),
        object["metadata"]["creationTimestamp"].clone(),
    ]
}
