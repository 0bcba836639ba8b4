//! Serving another version of a group through the [`Scheme`]: a [`Rest`] decorator that converts
//! objects between the version a request names and the storage version the wrapped `Rest` works
//! in (kube's handlers convert the same way around its internal version).
//!
//! Requests for `/apis/capstan.dev/v1beta1/...` reach a [`ConvertingRest`] wrapping the v1 store:
//! bodies are defaulted for v1beta1, converted to v1, and handed to the store, whose strategy
//! runs on v1 and which stores v1; whatever the store returns — objects, list items, watch events
//! (bookmarks and DELETED objects too) — is converted back to v1beta1 before the handlers encode
//! it, so Tables, metadata-only answers and lists come out in the requested version. Updates run
//! the client's change on the current object converted to the request's version (a patch applies
//! to the v1beta1 object) and convert the result back, as kube's patcher does. Field selectors
//! are rewritten into the storage version's labels. Status errors carry no version and pass
//! unchanged.
//!
//! [`serve_version`] builds a whole version's storage map from the storage version's, and
//! [`group_versions`] every version the Scheme serves for a group, so a new version needs only
//! Scheme registrations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;

use crate::api::options::{DeleteOpts, GetOptions, ListOptions, WriteOptions};
use crate::api::scheme::{ConversionError, GroupVersionKind, Scheme};
use crate::api::table::TableColumnDefinition;
use crate::api::{ApiError, ResourceDescriptor};
use crate::registry::{
    DeleteResult, ListResult, ObjectUpdate, RawResponse, RequestContext, Rest, Verb, WatchEvent,
    WatchEvents, default_table_row,
};

/// A version's storage map: `Rest`s by path (`pods`, `pods/status`), as `ApiVersionInfo` takes
/// it.
pub type StorageMap = BTreeMap<String, Arc<dyn Rest>>;

/// One resource served in `descriptor.version` by converting to and from `inner`, which serves
/// the same resource in its kind's storage version.
pub struct ConvertingRest {
    inner: Arc<dyn Rest>,
    scheme: Arc<Scheme>,
    descriptor: ResourceDescriptor,
}

impl ConvertingRest {
    /// Serves `inner`'s resource in `version` of its group. The Scheme must know the kind in both
    /// versions (see [`serve_version`], which checks).
    pub fn new(inner: Arc<dyn Rest>, scheme: Arc<Scheme>, version: &str) -> Self {
        let descriptor = ResourceDescriptor {
            version: version.to_string(),
            ..inner.descriptor().clone()
        };
        Self {
            inner,
            scheme,
            descriptor,
        }
    }

    /// The kind as requests name it.
    fn served_kind(&self) -> GroupVersionKind {
        let d = &self.descriptor;
        GroupVersionKind::new(d.group.clone(), d.version.clone(), d.kind.clone())
    }

    fn converter(&self) -> Converter {
        Converter {
            scheme: self.scheme.clone(),
            served: self.served_kind(),
            storage: self.inner.descriptor().version.clone(),
        }
    }

    /// The options with field selector labels in the storage version's terms; a label the
    /// served version does not know is kube's 400.
    fn storage_list_options(&self, opts: &ListOptions) -> Result<ListOptions, ApiError> {
        let kind = self.served_kind();
        let mut converted = opts.clone();
        for requirement in &mut converted.field_selector.requirements {
            let (field, value) = self
                .scheme
                .convert_field_label(&kind, &requirement.field, &requirement.value)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            requirement.field = field;
            requirement.value = value;
        }
        Ok(converted)
    }
}

/// Conversion in both directions for one served version; cheap to clone into closures and
/// streams.
#[derive(Clone)]
struct Converter {
    scheme: Arc<Scheme>,
    /// The kind as requests name it.
    served: GroupVersionKind,
    /// The storage version.
    storage: String,
}

impl Converter {
    /// A request body (in the served version): defaulted, then converted to the storage version.
    /// Failures are the client's (400), as kube's decoder reports them.
    fn to_storage(&self, mut object: Value) -> Result<Value, ApiError> {
        let bad_request = |e: ConversionError| ApiError::BadRequest(e.to_string());
        self.scheme
            .apply_defaults(&mut object)
            .map_err(bad_request)?;
        self.scheme
            .convert(object, &self.storage)
            .map_err(bad_request)
    }

    /// An object from the wrapped `Rest` (storage version) in the served version. Failures are
    /// the server's (500).
    fn to_served(&self, object: Value) -> Result<Value, ApiError> {
        let version = &self.served.version;
        self.scheme
            .convert(object, version)
            .map_err(|e| ApiError::internal(format!("converting to {version}: {e}")))
    }

    /// An error of the wrapped `Rest` as the client of the served version should read it: the
    /// causes of a 422 name the served version's fields.
    fn served_error(&self, err: ApiError) -> ApiError {
        match err {
            ApiError::Invalid {
                kind,
                name,
                mut causes,
            } => {
                for cause in &mut causes {
                    cause.field = self.scheme.field_path_for(&self.served, &cause.field);
                }
                ApiError::Invalid { kind, name, causes }
            }
            other => other,
        }
    }

    fn event(&self, event: WatchEvent) -> WatchEvent {
        let convert = |object, wrap: fn(Value) -> WatchEvent| match self.to_served(object) {
            Ok(object) => wrap(object),
            Err(err) => WatchEvent::Error(err),
        };
        match event {
            WatchEvent::Added(o) => convert(o, WatchEvent::Added),
            WatchEvent::Modified(o) => convert(o, WatchEvent::Modified),
            WatchEvent::Deleted(o) => convert(o, WatchEvent::Deleted),
            WatchEvent::Bookmark(o) => convert(o, WatchEvent::Bookmark),
            error @ WatchEvent::Error(_) => error,
        }
    }
}

#[async_trait]
impl Rest for ConvertingRest {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn storage_descriptor(&self) -> &ResourceDescriptor {
        self.inner.storage_descriptor()
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        self.inner.verbs()
    }

    fn table_columns(&self) -> Vec<TableColumnDefinition> {
        self.inner.table_columns()
    }

    /// The wrapped `Rest` computes the cells from the object in its own version.
    fn table_row(&self, object: &Value) -> Vec<Value> {
        match self.converter().to_storage(object.clone()) {
            Ok(stored) => self.inner.table_row(&stored),
            Err(_) => default_table_row(object),
        }
    }

    fn is_connect(&self) -> bool {
        self.inner.is_connect()
    }

    /// Raw bytes (a pod's log) are the same in every version.
    async fn connect(
        &self,
        ctx: &RequestContext,
        name: &str,
        params: &[(String, String)],
    ) -> Result<RawResponse, ApiError> {
        self.inner.connect(ctx, name, params).await
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &GetOptions,
    ) -> Result<Value, ApiError> {
        let object = self.inner.get(ctx, name, opts).await?;
        self.converter().to_served(object)
    }

    async fn list(&self, ctx: &RequestContext, opts: &ListOptions) -> Result<ListResult, ApiError> {
        let opts = self.storage_list_options(opts)?;
        let mut page = self.inner.list(ctx, &opts).await?;
        let converter = self.converter();
        page.items = page
            .items
            .into_iter()
            .map(|item| converter.to_served(item))
            .collect::<Result<_, _>>()?;
        Ok(page)
    }

    async fn watch(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchEvents, ApiError> {
        let opts = self.storage_list_options(opts)?;
        let events = self.inner.watch(ctx, &opts).await?;
        let converter = self.converter();
        Ok(events.map(move |event| converter.event(event)).boxed())
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        parent: Option<&str>,
        object: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let converter = self.converter();
        let object = converter.to_storage(object)?;
        let created = self
            .inner
            .create(ctx, parent, object, opts)
            .await
            .map_err(|e| converter.served_error(e))?;
        converter.to_served(created)
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        mut update: ObjectUpdate,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        let converter = self.converter();
        let inner_converter = converter.clone();
        let in_storage_version: ObjectUpdate = Box::new(move |current| {
            let current = current
                .map(|c| inner_converter.to_served(c.clone()))
                .transpose()?;
            let next = update(current.as_ref())?;
            inner_converter.to_storage(next)
        });
        let (stored, created) = self
            .inner
            .update(ctx, name, in_storage_version, opts)
            .await
            .map_err(|e| converter.served_error(e))?;
        Ok((converter.to_served(stored)?, created))
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<DeleteResult, ApiError> {
        let converter = self.converter();
        Ok(match self.inner.delete(ctx, name, opts).await? {
            DeleteResult::Deleted {
                object,
                return_object,
            } => DeleteResult::Deleted {
                object: converter.to_served(object)?,
                return_object,
            },
            DeleteResult::Pending(object) => DeleteResult::Pending(converter.to_served(object)?),
        })
    }
}

/// The storage map of `version` of `group`, from `resources`, the map of the version the group's
/// kinds are stored in:
///
/// * a resource whose kind the Scheme registers in `version` is served through a
///   [`ConvertingRest`];
/// * a subresource whose body is a kind of another group (`pods/eviction` takes policy/v1
///   Eviction) is shared as it is;
/// * anything else is not served in `version`, nor are the subresources of a resource that is
///   not.
pub fn serve_version(
    scheme: &Arc<Scheme>,
    group: &str,
    resources: &StorageMap,
    version: &str,
) -> StorageMap {
    let mut served = StorageMap::new();
    // Resources first, so that subresources can check their parent.
    let (subresources, resources): (Vec<_>, Vec<_>) =
        resources.iter().partition(|(path, _)| path.contains('/'));
    for (path, rest) in resources.into_iter().chain(subresources) {
        if let Some((parent, _)) = path.split_once('/')
            && !served.contains_key(parent)
        {
            continue;
        }
        let descriptor = rest.descriptor();
        if descriptor.group != group {
            served.insert(path.clone(), rest.clone());
            continue;
        }
        let kind = GroupVersionKind::new(group, version, descriptor.kind.clone());
        if scheme.is_registered(&kind) {
            let converting = ConvertingRest::new(rest.clone(), scheme.clone(), version);
            served.insert(path.clone(), Arc::new(converting));
        }
    }
    served
}

/// Every version the Scheme serves for `group`, most preferred first, each with its storage map:
/// `resources` itself for `storage_version`, [`serve_version`] of it for the others.
pub fn group_versions(
    scheme: &Arc<Scheme>,
    group: &str,
    storage_version: &str,
    resources: StorageMap,
) -> Vec<(String, StorageMap)> {
    scheme
        .prioritized_versions(group)
        .into_iter()
        .map(|version| {
            let map = if version == storage_version {
                resources.clone()
            } else {
                serve_version(scheme, group, &resources, &version)
            };
            (version, map)
        })
        .collect()
}

#[cfg(test)]
mod tests;
