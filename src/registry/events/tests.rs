use k8s_openapi::api::core::v1::Event;
use serde_json::{Value, json};

use super::rest::{core_field_label, to_core, to_events};
use super::validation::{validate_create, validate_update};
use crate::api::FieldErrors;

fn texts(errs: &FieldErrors) -> Vec<String> {
    errs.iter()
        .map(|e| format!("{}: {}", e.field, e.body()))
        .collect()
}

fn core(value: Value) -> Event {
    serde_json::from_value(value).unwrap()
}

fn new_api_event() -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "team"},
        "regarding": {"kind": "Pod", "namespace": "team", "name": "web"},
        "related": {"kind": "Node", "name": "n1"},
        "note": "pulled", "reason": "Pulled", "action": "Pull", "type": "Normal",
        "eventTime": "2026-01-02T03:04:05.000006Z",
        "series": {"count": 2, "lastObservedTime": "2026-01-02T03:05:05.000000Z"},
        "reportingController": "capstan.dev/kubelet", "reportingInstance": "node-1",
        "deprecatedSource": {"component": "kubelet", "host": "n1"},
        "deprecatedFirstTimestamp": "2026-01-02T03:04:05Z",
        "deprecatedLastTimestamp": "2026-01-02T03:04:06Z",
        "deprecatedCount": 3,
    })
}

#[test]
fn fields_map_as_kubes_conversion_and_back() {
    let stored = to_core(new_api_event()).unwrap();
    assert_eq!(stored["apiVersion"], "v1");
    assert_eq!(stored["involvedObject"]["name"], "web");
    assert_eq!(stored["related"]["name"], "n1");
    assert_eq!(stored["message"], "pulled");
    assert_eq!(stored["source"]["host"], "n1");
    assert_eq!(stored["firstTimestamp"], "2026-01-02T03:04:05Z");
    assert_eq!(stored["lastTimestamp"], "2026-01-02T03:04:06Z");
    assert_eq!(stored["count"], 3);
    assert_eq!(stored["reportingComponent"], "capstan.dev/kubelet");
    assert_eq!(stored["reportingInstance"], "node-1");
    for gone in [
        "regarding",
        "note",
        "deprecatedCount",
        "reportingController",
    ] {
        assert!(stored.get(gone).is_none(), "{gone} left in {stored}");
    }
    // the stored shape is a valid core/v1 Event
    core(stored.clone());
    assert_eq!(to_events(stored).unwrap(), new_api_event());
}

#[test]
fn fields_the_source_shape_lacks_are_dropped() {
    let mut body = new_api_event();
    body["message"] = json!("not an events.k8s.io field");
    assert_eq!(to_core(body).unwrap()["message"], "pulled");
    let mut stored = to_core(new_api_event()).unwrap();
    stored["note"] = json!("not a core field");
    assert_eq!(to_events(stored).unwrap()["note"], "pulled");
}

#[test]
fn field_labels_are_the_groups() {
    assert_eq!(
        core_field_label("regarding.name").unwrap(),
        "involvedObject.name"
    );
    assert_eq!(
        core_field_label("reportingController").unwrap(),
        "reportingComponent"
    );
    assert_eq!(core_field_label("type").unwrap(), "type");
    let err = core_field_label("involvedObject.name").unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(
        err.to_string(),
        "field label not supported: involvedObject.name"
    );
}

#[test]
fn strict_create_rules() {
    let mut ok = to_core(new_api_event()).unwrap();
    for deprecated in ["source", "firstTimestamp", "lastTimestamp", "count"] {
        ok.as_object_mut().unwrap().remove(deprecated);
    }
    assert!(validate_create(&core(ok.clone())).is_empty());

    let mut bad = ok.clone();
    bad["series"] = json!({"count": 1});
    bad["type"] = json!("Odd");
    bad.as_object_mut().unwrap().remove("eventTime");
    bad["count"] = json!(1);
    bad["firstTimestamp"] = json!("2026-01-02T03:04:05Z");
    bad["lastTimestamp"] = json!("2026-01-02T03:04:05Z");
    bad["source"] = json!({"component": "kubelet"});
    assert_eq!(
        texts(&validate_create(&core(bad))),
        [
            "series.count: Invalid value: \"\": should be at least 2",
            "series.lastObservedTime: Required value",
            "eventTime: Required value",
            "type: Invalid value: \"\": has invalid value: Odd",
            "firstTimestamp: Invalid value: \"\": needs to be unset",
            "lastTimestamp: Invalid value: \"\": needs to be unset",
            "count: Invalid value: \"\": needs to be unset",
            "source: Invalid value: \"\": needs to be unset",
        ]
    );
    // an empty source and a zero count are unset, as Go's value fields
    let mut empty = ok;
    empty["source"] = json!({"component": ""});
    empty["count"] = json!(0);
    assert!(validate_create(&core(empty)).is_empty());
}

#[test]
fn strict_updates_change_only_the_series() {
    let old = to_core(new_api_event()).unwrap();
    let mut next = old.clone();
    next["series"] = json!({"count": 3, "lastObservedTime": "2026-01-02T03:06:05.000000Z"});
    assert!(validate_update(&core(next.clone()), &core(old.clone())).is_empty());

    next["series"] = json!({"count": 1, "lastObservedTime": "2026-01-02T03:06:05.000000Z"});
    next["message"] = json!("changed");
    next["reportingComponent"] = json!("other");
    next["involvedObject"]["name"] = json!("db");
    assert_eq!(
        texts(&validate_update(&core(next), &core(old))),
        [
            "series.count: Invalid value: \"\": should be at least 2",
            "involvedObject: Invalid value: {\"kind\":\"Pod\",\"name\":\"db\",\"namespace\":\"team\"}: field is immutable",
            "message: Invalid value: \"changed\": field is immutable",
            "reportingController: Invalid value: \"other\": field is immutable",
        ]
    );
}
