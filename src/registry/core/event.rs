//! core/v1 Events: kube's v1 validation (`legacyValidateEvent`), the field labels `kubectl events`
//! and controllers select on, kubectl's `get events` columns, and a time to live.
//!
//! Like kube-apiserver, every write of an event (create or update) gives it `--event-ttl` more to
//! live: the store passes the TTL to storage, which attaches an etcd lease (or the embedded store's
//! expiry), so an event disappears a TTL after its last write, seen by watchers as a deletion.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde_json::Value;

use super::configmap::namespaced_verbs;
use super::name_column;
use crate::api::table::{TableColumnDefinition, human_duration};
use crate::api::validation::{
    is_dns1123_subdomain, is_path_segment_name, is_qualified_name, name_is_dns_subdomain,
};
use crate::api::{FieldError, FieldErrors, ResourceDescriptor};
use crate::registry::events::validation as events_api;
use crate::registry::store::Store;
use crate::registry::{RequestContext, Rest, Strategy};
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;

/// kube's `--event-ttl` default: events live an hour after their last write.
pub const DEFAULT_EVENT_TTL: Duration = Duration::from_secs(3600);

/// Longest `reportingInstance`, `action` and `reason` of an event with `eventTime` (kube's
/// `ReportingInstanceLengthLimit`, `ActionLengthLimit`, `ReasonLengthLimit`).
const SHORT_FIELD_LIMIT: usize = 128;
/// Longest `message` of an event with `eventTime` (kube's `NoteLengthLimit`).
const MESSAGE_LIMIT: usize = 1024;

/// The field labels kube's v1 Event conversion accepts, beyond `metadata.name`/`namespace`.
const EVENT_FIELD_LABELS: [&str; 11] = [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// What discovery and errors say about events.
pub fn event_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: String::new(),
        version: "v1".into(),
        kind: "Event".into(),
        plural: "events".into(),
        singular: "event".into(),
        namespaced: true,
        short_names: vec!["ev".into()],
        categories: Vec::new(),
    }
}

/// The `events` REST storage under `prefix` (`--etcd-prefix`); every write lives `ttl` (zero:
/// for ever, as `--event-ttl=0` in kube).
pub fn event_storage(storage: SharedStorage, prefix: &str, ttl: Duration) -> Arc<dyn Rest> {
    Arc::new(Store::new(
        event_descriptor(),
        KeyLayout::new(prefix, "core", "events"),
        storage,
        EventStrategy {
            ttl,
            events_api: false,
        },
        namespaced_verbs(),
    ))
}

/// The rules of core/v1 Event, and of the same stored Event written through events.k8s.io/v1.
#[derive(Clone, Copy, Debug)]
pub struct EventStrategy {
    /// How long an event lives after each write.
    pub ttl: Duration,
    /// Whether requests name events.k8s.io/v1: kube's `ValidateEventCreate`/`ValidateEventUpdate`
    /// then add the strict rules of the new API to the legacy ones, and names must be DNS
    /// subdomains.
    pub events_api: bool,
}

impl Default for EventStrategy {
    fn default() -> Self {
        Self {
            ttl: DEFAULT_EVENT_TTL,
            events_api: false,
        }
    }
}

/// kube's `ValidatePathSegmentName`, the only rule event names follow (kube's event strategy
/// leaves names to the generic path-segment check).
fn name_is_path_segment(name: &str, prefix: bool) -> Vec<String> {
    if prefix {
        ["/", "%"]
            .iter()
            .filter(|bad| name.contains(*bad))
            .map(|bad| format!("may not contain '{bad}'"))
            .collect()
    } else {
        is_path_segment_name(name)
    }
}

/// `<path>: Invalid value: "": can have at most N characters` when `value` is longer.
fn at_most(errs: &mut FieldErrors, path: &str, value: &str, limit: usize) {
    if value.len() > limit {
        errs.push(FieldError::invalid(
            path,
            "",
            format!("can have at most {limit} characters"),
        ));
    }
}

/// kube's `legacyValidateEvent`, all that core/v1 checks (the strict rules are for
/// events.k8s.io): the namespace matches the involved object's; an event with `eventTime` (the
/// new API's shape) also names its reporting controller and instance, action and reason.
pub fn validate_event(event: &Event) -> FieldErrors {
    validate_event_at(event, "reportingComponent")
}

/// [`validate_event`] naming the reporting controller's field `controller_path`: events.k8s.io
/// requests get kube's own path, `reportingController`.
pub(crate) fn validate_event_at(event: &Event, controller_path: &str) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let namespace = event.metadata.namespace.as_deref().unwrap_or("");
    let involved_ns = event.involved_object.namespace.as_deref().unwrap_or("");
    let mismatch = || {
        FieldError::invalid(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        )
    };
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    if event.event_time.is_none() {
        let fits = if involved_ns.is_empty() {
            namespace.is_empty() || namespace == "default"
        } else {
            namespace == involved_ns
        };
        if !fits {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
            errs.push(mismatch());
        }
        // kube names the field as the request's version spells it: core/v1's
        // `reportingComponent` (events.k8s.io's `reportingController`).
        let controller = s(&event.reporting_component);
        if controller.is_empty() {
            errs.push(FieldError::required(controller_path, ""));
        }
        for msg in is_qualified_name(&controller) {
            errs.push(FieldError::invalid(
                controller_path,
                controller.as_str(),
                msg,
            ));
        }
        for (path, value) in [
            ("reportingInstance", s(&event.reporting_instance)),
            ("action", s(&event.action)),
            ("reason", s(&event.reason)),
        ] {
            if value.is_empty() {
                errs.push(FieldError::required(path, ""));
            }
            at_most(&mut errs, path, &value, SHORT_FIELD_LIMIT);
        }
        at_most(&mut errs, "message", &s(&event.message), MESSAGE_LIMIT);
    }
    for msg in is_dns1123_subdomain(namespace) {
        errs.push(FieldError::invalid("namespace", namespace, msg));
    }
    errs
}

impl Strategy for EventStrategy {
    type Object = Event;

    fn name_validator(&self) -> crate::api::validation::NameValidator {
        if self.events_api {
            // kube's strict create runs ValidateObjectMeta with NameIsDNSSubdomain
            name_is_dns_subdomain
        } else {
            name_is_path_segment
        }
    }

    fn validate(&self, _ctx: &RequestContext, event: &Event) -> FieldErrors {
        if self.events_api {
            let mut errs = validate_event_at(event, "reportingController");
            errs.extend(events_api::validate_create(event));
            errs
        } else {
            validate_event(event)
        }
    }

    fn validate_update(&self, _ctx: &RequestContext, new: &Event, old: &Event) -> FieldErrors {
        if self.events_api {
            let mut errs = validate_event_at(new, "reportingController");
            errs.extend(events_api::validate_update(new, old));
            errs
        } else {
            validate_event(new)
        }
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn ttl(&self, _obj: &Event, _update: bool) -> Option<Duration> {
        (!self.ttl.is_zero()).then_some(self.ttl)
    }

    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        Some(EVENT_COLUMNS.clone())
    }

    fn table_row(&self, event: &Event) -> Vec<Value> {
        event_row(event)
    }

    fn extra_field_labels(&self) -> &'static [&'static str] {
        &EVENT_FIELD_LABELS
    }

    fn extra_selectable_fields(&self, event: &Event) -> BTreeMap<String, String> {
        selectable_fields(event)
    }
}

/// kube's `ToSelectableFields` for events (without the metadata fields the store adds); `source`
/// falls back to the reporting controller, as events of the new API carry no `source`.
pub fn selectable_fields(event: &Event) -> BTreeMap<String, String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let io = &event.involved_object;
    let component = event
        .source
        .as_ref()
        .and_then(|src| src.component.clone())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| s(&event.reporting_component));
    [
        ("involvedObject.kind", s(&io.kind)),
        ("involvedObject.namespace", s(&io.namespace)),
        ("involvedObject.name", s(&io.name)),
        ("involvedObject.uid", s(&io.uid)),
        ("involvedObject.apiVersion", s(&io.api_version)),
        ("involvedObject.resourceVersion", s(&io.resource_version)),
        ("involvedObject.fieldPath", s(&io.field_path)),
        ("reason", s(&event.reason)),
        ("reportingComponent", s(&event.reporting_component)),
        ("source", component),
        ("type", s(&event.type_)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The documentation of `T`'s property `field`, as the crate's schema carries it (kube's column
/// descriptions are these same API docs).
fn field_doc<T: JsonSchema>(field: &str) -> String {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    schema.as_value()["properties"][field]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// kubectl's event columns (kube's `printEvent`); the priority-1 ones show with `-o wide`.
static EVENT_COLUMNS: LazyLock<Vec<TableColumnDefinition>> = LazyLock::new(|| {
    let doc = field_doc::<Event>;
    let column = |name: &str, priority: i32, description: String| {
        TableColumnDefinition::new(name, "string", "", priority, &description)
    };
    let mut name = name_column();
    name.priority = 1;
    name.description = field_doc::<ObjectMeta>("name");
    vec![
        column("Last Seen", 0, doc("lastTimestamp")),
        column("Type", 0, doc("type")),
        column("Reason", 0, doc("reason")),
        column("Object", 0, doc("involvedObject")),
        column("Subobject", 1, field_doc::<ObjectReference>("fieldPath")),
        column("Source", 1, doc("source")),
        column("Message", 0, doc("message")),
        column("First Seen", 1, doc("firstTimestamp")),
        column("Count", 1, doc("count")),
        name,
    ]
});

/// How long ago `at` was, as kubectl's age columns say it; `<unknown>` without a time.
fn since(at: Option<jiff::Timestamp>) -> String {
    match at {
        None => "<unknown>".into(),
        Some(at) => human_duration(jiff::Timestamp::now().duration_since(at)),
    }
}

/// The cells of one event (kube's `printEvent`, wide): the last and first time it was seen (the
/// series' or `eventTime` for events of the new API), its object as `kind/name`, its source as
/// `component, host`, and its count (1 for a singleton of the new API).
pub fn event_row(event: &Event) -> Vec<Value> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let first_seen = match &event.first_timestamp {
        Some(t) => since(Some(t.0)),
        None => since(event.event_time.as_ref().map(|t| t.0)),
    };
    let mut last_seen = match &event.last_timestamp {
        Some(t) => since(Some(t.0)),
        None => first_seen.clone(),
    };
    let mut count = i64::from(event.count.unwrap_or(0));
    if let Some(series) = &event.series {
        last_seen = since(series.last_observed_time.as_ref().map(|t| t.0));
        count = i64::from(series.count.unwrap_or(0));
    } else if count == 0 {
        count = 1;
    }
    let io = &event.involved_object;
    let kind = s(&io.kind).to_lowercase();
    let target = match io.name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => format!("{kind}/{name}"),
        None => kind,
    };
    let source = event.source.clone().unwrap_or_default();
    let first_non_empty =
        |a: Option<String>, b: &Option<String>| a.filter(|v| !v.is_empty()).unwrap_or_else(|| s(b));
    let component = first_non_empty(source.component, &event.reporting_component);
    let instance = first_non_empty(source.host, &event.reporting_instance);
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        Value::from(last_seen),
        Value::from(s(&event.type_)),
        Value::from(s(&event.reason)),
        Value::from(target),
        Value::from(s(&io.field_path)),
        Value::from(source),
        Value::from(s(&event.message).trim().to_string()),
        Value::from(first_seen),
        Value::from(count),
        Value::from(s(&event.metadata.name)),
    ]
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
