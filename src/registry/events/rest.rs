//! The converting [`Rest`] of events.k8s.io/v1 events: requests in the new shape, storage in
//! core/v1's (kube's `Convert_v1_Event_To_core_Event` and back, and the group's field label
//! conversion).
//!
//! It works as `registry::converting::ConvertingRest` does for another version of one group
//! (bodies converted before the wrapped store, everything it returns converted back, updates run
//! on the object in the request's shape, field selectors rewritten), but across groups and with a
//! fixed mapping: the Scheme converts only between versions of one group. Status errors pass
//! unchanged: kube names the internal Event's fields in them for every version.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;

use super::events_descriptor;
use crate::api::options::{DeleteOpts, GetOptions, ListOptions, WriteOptions};
use crate::api::table::TableColumnDefinition;
use crate::api::{ApiError, ResourceDescriptor};
use crate::registry::{
    DeleteResult, ListResult, ObjectUpdate, RequestContext, Rest, Verb, WatchEvent, WatchEvents,
    default_table_row,
};

/// The fields the two shapes name differently: (core/v1, events.k8s.io/v1).
const RENAMED: [(&str, &str); 7] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

/// events.k8s.io/v1's field labels and the core/v1 labels they select on (kube's
/// `AddFieldLabelConversionsForEvent` of the group); no `involvedObject.*` here.
const FIELD_LABELS: [(&str, &str); 13] = [
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("reason", "reason"),
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    (
        "regarding.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
];

/// Moves the fields of `object` from one shape to the other: `from`-named fields are renamed
/// to their `to` names, after dropping any field already named `to` (a field the source shape
/// does not have, which kube's decoder would drop too).
fn rename(object: Value, api_version: &str, to_events: bool) -> Result<Value, String> {
    let Value::Object(mut map) = object else {
        return Err("an Event must be a JSON object".into());
    };
    map.insert("apiVersion".into(), Value::from(api_version));
    for (core, events) in RENAMED {
        let (from, to) = if to_events {
            (core, events)
        } else {
            (events, core)
        };
        map.remove(to);
        if let Some(value) = map.remove(from) {
            map.insert(to.into(), value);
        }
    }
    Ok(Value::Object(map))
}

/// An events.k8s.io/v1 Event (a request body) as the core/v1 Event it is stored as; a body that
/// is no object is the client's 400.
pub fn to_core(object: Value) -> Result<Value, ApiError> {
    rename(object, "v1", false).map_err(ApiError::BadRequest)
}

/// A stored core/v1 Event as events.k8s.io/v1 shows it.
pub fn to_events(object: Value) -> Result<Value, ApiError> {
    let api_version = format!("{}/{}", super::GROUP, super::VERSION);
    rename(object, &api_version, true).map_err(ApiError::internal)
}

/// The core/v1 label an events.k8s.io/v1 field label selects on; an unknown one is kube's 400.
pub fn core_field_label(label: &str) -> Result<&'static str, ApiError> {
    FIELD_LABELS
        .iter()
        .find(|(events, _)| *events == label)
        .map(|(_, core)| *core)
        .ok_or_else(|| ApiError::BadRequest(format!("field label not supported: {label}")))
}

fn converted_event(event: WatchEvent) -> WatchEvent {
    let convert = |object, wrap: fn(Value) -> WatchEvent| match to_events(object) {
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

/// events.k8s.io/v1 `events` over a core/v1 event store (see the module doc).
pub struct EventsRest {
    inner: Arc<dyn Rest>,
    descriptor: ResourceDescriptor,
}

impl EventsRest {
    /// Serves `inner`, a core/v1 event store, as events.k8s.io/v1 events.
    pub fn new(inner: Arc<dyn Rest>) -> Self {
        Self {
            inner,
            descriptor: events_descriptor(),
        }
    }

    /// The options with field selector labels in core/v1's terms.
    fn core_list_options(opts: &ListOptions) -> Result<ListOptions, ApiError> {
        let mut converted = opts.clone();
        for requirement in &mut converted.field_selector.requirements {
            requirement.field = core_field_label(&requirement.field)?.to_string();
        }
        Ok(converted)
    }
}

#[async_trait]
impl Rest for EventsRest {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    /// core/v1 events: both APIs share one storage, so discovery hashes the same storage
    /// version for both, as kube's does.
    fn storage_descriptor(&self) -> &ResourceDescriptor {
        self.inner.storage_descriptor()
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        self.inner.verbs()
    }

    fn table_columns(&self) -> Vec<TableColumnDefinition> {
        self.inner.table_columns()
    }

    /// kube prints both APIs' events with one printer, from the internal Event.
    fn table_row(&self, object: &Value) -> Vec<Value> {
        match to_core(object.clone()) {
            Ok(core) => self.inner.table_row(&core),
            Err(_) => default_table_row(object),
        }
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &GetOptions,
    ) -> Result<Value, ApiError> {
        to_events(self.inner.get(ctx, name, opts).await?)
    }

    async fn list(&self, ctx: &RequestContext, opts: &ListOptions) -> Result<ListResult, ApiError> {
        let opts = Self::core_list_options(opts)?;
        let mut page = self.inner.list(ctx, &opts).await?;
        page.items = page
            .items
            .into_iter()
            .map(to_events)
            .collect::<Result<_, _>>()?;
        Ok(page)
    }

    async fn watch(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchEvents, ApiError> {
        let opts = Self::core_list_options(opts)?;
        let events = self.inner.watch(ctx, &opts).await?;
        Ok(events.map(converted_event).boxed())
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        parent: Option<&str>,
        object: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let created = self
            .inner
            .create(ctx, parent, to_core(object)?, opts)
            .await?;
        to_events(created)
    }

    /// The client's change (a PUT body, a patch) applies to the current event in the new shape,
    /// as kube's patcher works in the request's version.
    async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        mut update: ObjectUpdate,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        let in_core_shape: ObjectUpdate = Box::new(move |current| {
            let current = current.map(|c| to_events(c.clone())).transpose()?;
            to_core(update(current.as_ref())?)
        });
        let (stored, created) = self.inner.update(ctx, name, in_core_shape, opts).await?;
        Ok((to_events(stored)?, created))
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<DeleteResult, ApiError> {
        Ok(match self.inner.delete(ctx, name, opts).await? {
            DeleteResult::Deleted {
                object,
                return_object,
            } => DeleteResult::Deleted {
                object: to_events(object)?,
                return_object,
            },
            DeleteResult::Pending(object) => DeleteResult::Pending(to_events(object)?),
        })
    }
}
