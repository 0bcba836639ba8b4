//! The strict rules kube adds for events written through events.k8s.io/v1
//! (`ValidateEventCreate`/`ValidateEventUpdate` when the request's version is not core/v1), on
//! top of the legacy ones every event passes. They run on the stored (core/v1) shape and name
//! kube's internal fields (`involvedObject`, `message`, `source`, `count`), as kube's errors do
//! whatever version the client spoke.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use serde::Serialize;

use crate::api::field::Path;
use crate::api::validation::validate_immutable_field;
use crate::api::{FieldError, FieldErrors};

/// The event types the new API accepts (kube's `EventTypeNormal`, `EventTypeWarning`).
const EVENT_TYPES: [&str; 2] = ["Normal", "Warning"];

/// kube's `validateV1EventSeries`: a series has counted at least two and says when it last saw
/// the event.
fn validate_series(event: &Event) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if let Some(series) = &event.series {
        if series.count.unwrap_or(0) < 2 {
            errs.push(FieldError::invalid(
                "series.count",
                "",
                "should be at least 2",
            ));
        }
        if series.last_observed_time.is_none() {
            errs.push(FieldError::required("series.lastObservedTime", ""));
        }
    }
    errs
}

/// The strict part of kube's `ValidateEventCreate` (the metadata part, names as DNS subdomains,
/// is the store's `ValidateObjectMeta` with the strategy's name rule): a series that counts, an
/// `eventTime`, a known type, and none of the deprecated fields the old API fills.
pub fn validate_create(event: &Event) -> FieldErrors {
    let mut errs = validate_series(event);
    if event.event_time.is_none() {
        errs.push(FieldError::required("eventTime", ""));
    }
    let type_ = event.type_.as_deref().unwrap_or("");
    if !EVENT_TYPES.contains(&type_) {
        errs.push(FieldError::invalid(
            "type",
            "",
            format!("has invalid value: {type_}"),
        ));
    }
    let unset = |errs: &mut FieldErrors, path: &str, set: bool| {
        if set {
            errs.push(FieldError::invalid(path, "", "needs to be unset"));
        }
    };
    unset(&mut errs, "firstTimestamp", event.first_timestamp.is_some());
    unset(&mut errs, "lastTimestamp", event.last_timestamp.is_some());
    unset(&mut errs, "count", event.count.unwrap_or(0) != 0);
    let source = normal_source(&event.source);
    unset(
        &mut errs,
        "source",
        !source.component.unwrap_or_default().is_empty()
            || !source.host.unwrap_or_default().is_empty(),
    );
    errs
}

/// The strict part of kube's `ValidateEventUpdate` (the store checks the metadata): a changed
/// series is valid, and everything but the series and metadata stays as it was.
pub fn validate_update(new: &Event, old: &Event) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if new.series != old.series {
        errs.extend(validate_series(new));
    }
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let reference = |r: &Option<ObjectReference>| r.as_ref().map(normal_reference);
    errs.extend(same(
        &normal_reference(&new.involved_object),
        &normal_reference(&old.involved_object),
        "involvedObject",
    ));
    errs.extend(same(&s(&new.reason), &s(&old.reason), "reason"));
    errs.extend(same(&s(&new.message), &s(&old.message), "message"));
    errs.extend(same(
        &normal_source(&new.source),
        &normal_source(&old.source),
        "source",
    ));
    errs.extend(same(
        &new.first_timestamp,
        &old.first_timestamp,
        "firstTimestamp",
    ));
    errs.extend(same(
        &new.last_timestamp,
        &old.last_timestamp,
        "lastTimestamp",
    ));
    errs.extend(same(
        &new.count.unwrap_or(0),
        &old.count.unwrap_or(0),
        "count",
    ));
    errs.extend(same(&s(&new.type_), &s(&old.type_), "type"));
    errs.extend(same(&new.event_time, &old.event_time, "eventTime"));
    errs.extend(same(&s(&new.action), &s(&old.action), "action"));
    errs.extend(same(
        &reference(&new.related),
        &reference(&old.related),
        "related",
    ));
    errs.extend(same(
        &s(&new.reporting_component),
        &s(&old.reporting_component),
        "reportingController",
    ));
    errs.extend(same(
        &s(&new.reporting_instance),
        &s(&old.reporting_instance),
        "reportingInstance",
    ));
    errs
}

/// kube's `ValidateImmutableField` at `path`.
fn same<T: Serialize + PartialEq>(new: &T, old: &T, path: &str) -> FieldErrors {
    validate_immutable_field(new, old, &Path::new(path))
}

/// A reference with empty strings as absent, as Go's value types compare them.
fn normal_reference(r: &ObjectReference) -> ObjectReference {
    let f = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    ObjectReference {
        api_version: f(&r.api_version),
        field_path: f(&r.field_path),
        kind: f(&r.kind),
        name: f(&r.name),
        namespace: f(&r.namespace),
        resource_version: f(&r.resource_version),
        uid: f(&r.uid),
    }
}

/// A source with empty strings as absent (Go's `EventSource` is a value, never nil).
fn normal_source(source: &Option<EventSource>) -> EventSource {
    let f = |v: Option<String>| v.filter(|s| !s.is_empty());
    let source = source.clone().unwrap_or_default();
    EventSource {
        component: f(source.component),
        host: f(source.host),
    }
}
