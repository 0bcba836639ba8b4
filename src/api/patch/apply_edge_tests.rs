//! Server-side apply and update bookkeeping: the less common paths (client-sent managedFields,
//! type changes in untyped fields, sets and atomic maps, duplicates in live lists, escaping).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::apply::{ManagedFieldsScope, apply, record_update};
use super::test_schema::pod_model;
use crate::api::schema::SchemaModel;

fn scope(model: &SchemaModel) -> ManagedFieldsScope<'_> {
    ManagedFieldsScope {
        ty: model.for_kind("", "v1", "Pod").expect("pod"),
        api_version: "v1",
        kind: "Pod",
        subresource: "",
        reset_fields: &[&["status"]],
        now: "2024-05-01T10:00:00Z".parse::<Timestamp>().expect("time"),
    }
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn fields_of<'v>(obj: &'v Value, manager: &str) -> &'v Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["manager"] == manager))
        .map(|e| &e["fieldsV1"])
        .unwrap_or(&Value::Null)
}

#[test]
fn apply_prunes_set_items_and_atomic_maps() {
    let model = pod_model();
    let s = scope(&model);
    let mut first = pod(json!({"nodeSelector": {"a": "1"}}));
    first["metadata"]["finalizers"] = json!(["x", "y"]);
    let a = apply(None, &first, "m", false, &s).unwrap();
    assert_eq!(
        fields_of(&a.object, "m"),
        &json!({"f:metadata": {"f:finalizers": {"v:\"x\"": {}, "v:\"y\"": {}}},
                "f:spec": {"f:nodeSelector": {}}})
    );
    let mut second = pod(json!({}));
    second["metadata"]["finalizers"] = json!(["x"]);
    let b = apply(Some(&a.object), &second, "m", false, &s).unwrap();
    assert_eq!(b.object["metadata"]["finalizers"], json!(["x"]));
    assert!(
        b.object["spec"].get("nodeSelector").is_none(),
        "{}",
        b.object
    );
}

#[test]
fn type_change_in_an_untyped_field_moves_ownership() {
    let model = pod_model();
    let s = scope(&model);
    let created = record_update(None, &pod(json!({"extra": {"a": 1}})), "creator", &s);
    let mut changed = created.clone();
    changed["spec"]["extra"] = json!("flat");
    let out = record_update(Some(&created), &changed, "editor", &s);
    assert_eq!(
        fields_of(&out, "editor"),
        &json!({"f:spec": {"f:extra": {}}})
    );
    assert_eq!(fields_of(&out, "creator"), &Value::Null, "{out}");
}

#[test]
fn managed_fields_sent_by_the_client_replace_the_stored_ones() {
    let model = pod_model();
    let s = scope(&model);
    let created = record_update(
        None,
        &pod(json!({"restartPolicy": "Always"})),
        "creator",
        &s,
    );
    let mut sent = created.clone();
    sent["metadata"]["managedFields"][0]["manager"] = json!("renamed");
    sent["spec"]["dnsPolicy"] = json!("None");
    let out = record_update(Some(&created), &sent, "editor", &s);
    assert_eq!(
        fields_of(&out, "renamed"),
        &json!({"f:spec": {"f:restartPolicy": {}}})
    );
    assert_eq!(fields_of(&out, "creator"), &Value::Null);
    assert_eq!(
        fields_of(&out, "editor"),
        &json!({"f:spec": {"f:dnsPolicy": {}}})
    );

    // A subresource write ignores what the client sent.
    let status = ManagedFieldsScope {
        subresource: "status",
        reset_fields: &[&["spec"]],
        ..s
    };
    let mut sent = created.clone();
    sent["metadata"]["managedFields"] = json!([]);
    sent["status"] = json!({"phase": "Running"});
    let out = record_update(Some(&created), &sent, "kubelet", &status);
    assert_eq!(
        fields_of(&out, "creator"),
        &json!({"f:spec": {"f:restartPolicy": {}}})
    );
}

#[test]
fn duplicates_in_live_lists_are_merged_without_failing() {
    let model = pod_model();
    let s = scope(&model);
    let live = record_update(
        None,
        &pod(json!({"containers": [{"name": "c", "env": [
            {"name": "A", "value": "1"}, {"name": "A", "value": "2"}, {"name": "B", "value": "3"}
        ]}]})),
        "creator",
        &s,
    );
    let config = pod(json!({"containers": [{"name": "c", "env": [{"name": "B", "value": "4"}]}]}));
    let out = apply(Some(&live), &config, "m", true, &s).unwrap();
    assert_eq!(
        out.object["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "A", "value": "2"}, {"name": "B", "value": "4"}])
    );
}

#[test]
fn last_applied_annotation_is_escaped_like_go() {
    let model = pod_model();
    let s = scope(&model);
    let mut live = pod(json!({"containers": [{"name": "c", "image": "i"}]}));
    live["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"});
    let mut config = pod(json!({"containers": [{"name": "c", "image": "i"}]}));
    config["metadata"]["annotations"] = json!({"note": "a<b & c>d"});
    let out = apply(Some(&live), &config, "kubectl", true, &s).unwrap();
    let text =
        out.object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap();
    assert!(text.contains(r"a\u003cb \u0026 c\u003ed"), "{text}");
    let conflicts_of_other = apply(Some(&live), &config, "other", true, &s).unwrap();
    assert_eq!(
        conflicts_of_other.object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{}",
        "only kubectl keeps the annotation current"
    );
}
