use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::*;

fn event(value: Value) -> Event {
    serde_json::from_value(value).unwrap()
}

/// The texts of `errs` as kube prints them (`path: body`).
fn texts(errs: &FieldErrors) -> Vec<String> {
    errs.iter()
        .map(|e| format!("{}: {}", e.field, e.body()))
        .collect()
}

fn ago(seconds: i64) -> String {
    (Timestamp::now() - SignedDuration::from_secs(seconds)).to_string()
}

#[test]
fn legacy_events_only_need_a_matching_namespace() {
    let ok = event(json!({
        "metadata": {"name": "web.1", "namespace": "team"},
        "involvedObject": {"kind": "Pod", "namespace": "team", "name": "web"},
    }));
    assert!(validate_event(&ok).is_empty(), "{:?}", validate_event(&ok));
    // core/v1 leaves type and reason alone, as kube does for old clients.
    let odd = event(json!({
        "metadata": {"name": "web.1", "namespace": "team"},
        "involvedObject": {"namespace": "team"}, "type": "Odd",
    }));
    assert!(validate_event(&odd).is_empty());

    let other = event(json!({
        "metadata": {"name": "web.1", "namespace": "team"},
        "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "web"},
    }));
    assert_eq!(
        texts(&validate_event(&other)),
        ["involvedObject.namespace: Invalid value: \"prod\": does not match event.namespace"]
    );
    // A cluster-scoped object's events live in `default` (or nowhere), nowhere else.
    let node = |ns: &str| {
        event(
            json!({"metadata": {"name": "n.1", "namespace": ns}, "involvedObject": {"kind": "Node", "name": "n"}}),
        )
    };
    assert!(validate_event(&node("default")).is_empty());
    assert_eq!(
        texts(&validate_event(&node("team"))),
        ["involvedObject.namespace: Invalid value: \"\": does not match event.namespace"]
    );
}

#[test]
fn events_with_event_time_name_their_reporter() {
    let bare = event(json!({
        "metadata": {"name": "web.1", "namespace": "team"},
        "involvedObject": {"kind": "Pod", "namespace": "team", "name": "web"},
        "eventTime": "2025-01-01T00:00:00.000000Z",
    }));
    assert_eq!(
        texts(&validate_event(&bare)),
        [
            "reportingComponent: Required value",
            "reportingComponent: Invalid value: \"\": name part must be non-empty",
            "reportingComponent: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "reportingInstance: Required value",
            "action: Required value",
            "reason: Required value",
        ]
    );
    let long = "x".repeat(129);
    let full = event(json!({
        "metadata": {"name": "web.1", "namespace": "team"},
        "involvedObject": {"kind": "Pod", "namespace": "team", "name": "web"},
        "eventTime": "2025-01-01T00:00:00.000000Z",
        "reportingComponent": "capstan.dev/scheduler",
        "reportingInstance": long,
        "action": "Binding",
        "reason": "Scheduled",
        "message": "m".repeat(1025),
    }));
    assert_eq!(
        texts(&validate_event(&full)),
        [
            "reportingInstance: Invalid value: \"\": can have at most 128 characters",
            "message: Invalid value: \"\": can have at most 1024 characters",
        ]
    );
    // New-style events about cluster-scoped objects go to default or kube-system.
    let mut node = full.clone();
    node.reporting_instance = Some("capstan-0".into());
    node.message = Some("bound".into());
    node.involved_object = ObjectReference {
        kind: Some("Node".into()),
        name: Some("n".into()),
        ..Default::default()
    };
    assert_eq!(validate_event(&node).len(), 1);
    node.metadata.namespace = Some("kube-system".into());
    assert!(
        validate_event(&node).is_empty(),
        "{:?}",
        validate_event(&node)
    );
}

#[test]
fn names_are_path_segments() {
    let strategy = EventStrategy::default();
    let check = strategy.name_validator();
    assert!(check("Web_Pod.17a3", false).is_empty());
    assert_eq!(check("a/b", false), ["may not contain '/'"]);
    assert_eq!(check("..", false), ["may not be '..'"]);
    assert!(check("web-", true).is_empty());
    assert_eq!(check("a%", true), ["may not contain '%'"]);
}

#[test]
fn every_write_lives_the_ttl_unless_it_is_zero() {
    let e = event(json!({"metadata": {"name": "a"}, "involvedObject": {}}));
    let strategy = EventStrategy {
        ttl: Duration::from_secs(90),
        ..Default::default()
    };
    assert_eq!(strategy.ttl(&e, false), Some(Duration::from_secs(90)));
    assert_eq!(strategy.ttl(&e, true), Some(Duration::from_secs(90)));
    let forever = EventStrategy {
        ttl: Duration::ZERO,
        ..Default::default()
    };
    assert_eq!(forever.ttl(&e, false), None);
    assert_eq!(EventStrategy::default().ttl, Duration::from_secs(3600));
}

#[test]
fn selectable_fields_fall_back_to_the_reporting_controller() {
    let legacy = event(json!({
        "metadata": {"name": "web.1", "namespace": "team"},
        "involvedObject": {"kind": "Pod", "namespace": "team", "name": "web", "uid": "u1",
                           "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{main}"},
        "reason": "Pulled", "type": "Normal", "source": {"component": "kubelet", "host": "node-1"},
        "reportingComponent": "",
    }));
    let fields = selectable_fields(&legacy);
    assert_eq!(fields.keys().map(String::as_str).collect::<Vec<_>>(), {
        let mut labels = EVENT_FIELD_LABELS.to_vec();
        labels.sort_unstable();
        labels
    });
    assert_eq!(fields["involvedObject.kind"], "Pod");
    assert_eq!(fields["involvedObject.uid"], "u1");
    assert_eq!(fields["involvedObject.fieldPath"], "spec.containers{main}");
    assert_eq!(fields["source"], "kubelet");
    assert_eq!(fields["type"], "Normal");

    let new_style = event(json!({
        "metadata": {"name": "web.2"}, "involvedObject": {},
        "reportingComponent": "capstan-scheduler",
    }));
    let fields = selectable_fields(&new_style);
    assert_eq!(fields["source"], "capstan-scheduler");
    assert_eq!(fields["reportingComponent"], "capstan-scheduler");
}

#[test]
fn columns_are_kubectls() {
    let columns = EventStrategy::default().table_columns().unwrap();
    let shown: Vec<(&str, i32)> = columns
        .iter()
        .map(|c| (c.name.as_str(), c.priority))
        .collect();
    assert_eq!(
        shown,
        [
            ("Last Seen", 0),
            ("Type", 0),
            ("Reason", 0),
            ("Object", 0),
            ("Subobject", 1),
            ("Source", 1),
            ("Message", 0),
            ("First Seen", 1),
            ("Count", 1),
            ("Name", 1),
        ]
    );
    assert!(columns.iter().all(|c| c.type_ == "string"));
    assert_eq!(columns[9].format, "name");
    // Descriptions are the API's own field docs.
    assert!(
        columns[0].description.contains("most recent occurrence"),
        "{}",
        columns[0].description
    );
    assert!(
        columns[3]
            .description
            .contains("object that this event is about")
    );
    assert!(columns[4].description.contains("piece of an object"));
    assert!(columns.iter().all(|c| !c.description.is_empty()));
}

#[test]
fn rows_read_like_kubectl_get_events() {
    let legacy = event(json!({
        "metadata": {"name": "web.1", "namespace": "team"},
        "involvedObject": {"kind": "Pod", "namespace": "team", "name": "web", "fieldPath": "spec.containers{main}"},
        "reason": "Pulled", "type": "Normal", "message": "  pulled nginx\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(300), "lastTimestamp": ago(30), "count": 4,
    }));
    assert_eq!(
        event_row(&legacy),
        [
            json!("30s"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/web"),
            json!("spec.containers{main}"),
            json!("kubelet, node-1"),
            json!("pulled nginx"),
            json!("5m"),
            json!(4),
            json!("web.1"),
        ]
    );

    // The new API's shape: eventTime, a series, the reporting controller as source.
    let series = event(json!({
        "metadata": {"name": "n.2", "namespace": "default"},
        "involvedObject": {"kind": "Node"},
        "eventTime": format!("{}", (Timestamp::now() - SignedDuration::from_secs(7200)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")),
        "series": {"count": 9, "lastObservedTime": format!("{}", (Timestamp::now() - SignedDuration::from_secs(60)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"))},
        "reportingComponent": "capstan-node", "reportingInstance": "host-a",
        "reason": "Ready", "type": "Normal", "action": "Check",
    }));
    let row = event_row(&series);
    assert_eq!(row[0], "60s");
    assert_eq!(row[3], "node");
    assert_eq!(row[5], "capstan-node, host-a");
    assert_eq!(row[7], "120m");
    assert_eq!(row[8], 9);

    // A singleton of the new API without timestamps counts once, seen at an unknown time.
    let bare =
        event(json!({"metadata": {"name": "x"}, "involvedObject": {"kind": "Pod", "name": "p"}}));
    let row = event_row(&bare);
    assert_eq!(
        (row[0].clone(), row[7].clone()),
        (json!("<unknown>"), json!("<unknown>"))
    );
    assert_eq!(row[8], 1);
    assert_eq!(row[5], "");
}
