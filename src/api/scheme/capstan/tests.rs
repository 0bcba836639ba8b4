//! The v1beta1 Pod conversions, field labels and the group's version order.

use serde_json::json;

use super::*;

fn v1_pod() -> Value {
    json!({
        "apiVersion": "capstan.dev/v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7",
                     "annotations": {"team": "a"}},
        "spec": {
            "nodeName": "node-1",
            "schedulingGates": [{"name": "example.com/wait"}],
            "containers": [{"name": "c", "image": "nginx"}]
        },
        "status": {"phase": "Pending"}
    })
}

fn v1beta1_pod() -> Value {
    json!({
        "apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7",
                     "annotations": {"team": "a",
                                     SCHEDULING_GATES_ANNOTATION: r#"[{"name":"example.com/wait"}]"#}},
        "spec": {"host": "node-1", "containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": "Pending"}
    })
}

#[test]
fn v1_reads_as_v1beta1_and_back() {
    let scheme = scheme();
    let beta = scheme.convert(v1_pod(), V1BETA1).unwrap();
    assert_eq!(beta, v1beta1_pod());
    assert_eq!(scheme.convert(beta, STORAGE_VERSION).unwrap(), v1_pod());
}

#[test]
fn v1beta1_writes_as_v1_and_back() {
    let scheme = scheme();
    let stored = scheme.convert(v1beta1_pod(), STORAGE_VERSION).unwrap();
    assert_eq!(stored, v1_pod());
    assert_eq!(scheme.convert(stored, V1BETA1).unwrap(), v1beta1_pod());
}

#[test]
fn an_ungated_pod_gets_no_annotations() {
    let scheme = scheme();
    let v1 = json!({"apiVersion": "capstan.dev/v1", "kind": "Pod",
                    "metadata": {"name": "p"}, "spec": {"containers": []}});
    let beta = scheme.convert(v1.clone(), V1BETA1).unwrap();
    assert_eq!(beta["metadata"], json!({"name": "p"}));
    assert_eq!(beta["spec"], json!({"containers": []}));
    assert_eq!(scheme.convert(beta, STORAGE_VERSION).unwrap(), v1);
    // empty gates are kept as they are
    let mut empty = v1.clone();
    empty["spec"]["schedulingGates"] = json!([]);
    let beta = scheme.convert(empty.clone(), V1BETA1).unwrap();
    assert_eq!(
        beta["metadata"]["annotations"][SCHEDULING_GATES_ANNOTATION],
        "[]"
    );
    assert_eq!(scheme.convert(beta, STORAGE_VERSION).unwrap(), empty);
}

#[test]
fn v1_names_in_a_v1beta1_body_are_unknown_fields() {
    let body = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                      "metadata": {"name": "p"},
                      "spec": {"nodeName": "sneaky", "schedulingGates": [{"name": "g"}]}});
    let stored = scheme().convert(body, STORAGE_VERSION).unwrap();
    assert_eq!(stored["spec"], json!({}));
}

#[test]
fn gates_from_the_annotation_without_a_spec() {
    let body = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                      "metadata": {"name": "p", "annotations": {SCHEDULING_GATES_ANNOTATION: "[{\"name\":\"g\"}]"}}});
    let stored = scheme().convert(body, STORAGE_VERSION).unwrap();
    assert_eq!(stored["spec"], json!({"schedulingGates": [{"name": "g"}]}));
    assert!(stored["metadata"].get("annotations").is_none());
}

#[test]
fn a_malformed_gates_annotation_is_refused() {
    for bad in ["nope", "{\"name\":\"g\"}"] {
        let body = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                          "metadata": {"name": "p", "annotations": {SCHEDULING_GATES_ANNOTATION: bad}}});
        let err = scheme().convert(body, STORAGE_VERSION).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("metadata.annotations[capstan.dev/scheduling-gates]"),
            "{err}"
        );
    }
}

#[test]
fn the_reserved_annotation_of_a_v1_object_is_not_kept() {
    let mut v1 = v1_pod();
    v1["spec"]
        .as_object_mut()
        .unwrap()
        .remove("schedulingGates");
    v1["metadata"]["annotations"][SCHEDULING_GATES_ANNOTATION] = json!("junk");
    let beta = scheme().convert(v1, V1BETA1).unwrap();
    assert_eq!(beta["metadata"]["annotations"], json!({"team": "a"}));
}

#[test]
fn field_labels() {
    let scheme = scheme();
    let beta = GroupVersionKind::new(GROUP, V1BETA1, "Pod");
    assert_eq!(
        scheme
            .convert_field_label(&beta, "spec.host", "n1")
            .unwrap(),
        ("spec.nodeName".to_string(), "n1".to_string())
    );
    assert_eq!(
        scheme
            .convert_field_label(&beta, "spec.nodeName", "n1")
            .unwrap_err()
            .to_string(),
        "field label not supported: spec.nodeName"
    );
    assert_eq!(
        scheme
            .convert_field_label(&beta, "status.phase", "Running")
            .unwrap(),
        ("status.phase".to_string(), "Running".to_string())
    );
    let v1 = beta.with_version(STORAGE_VERSION);
    assert_eq!(
        scheme
            .convert_field_label(&v1, "spec.nodeName", "n1")
            .unwrap()
            .0,
        "spec.nodeName"
    );
}

#[test]
fn bindings_only_change_api_version() {
    let binding = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Binding",
                         "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n"}});
    let stored = scheme().convert(binding.clone(), STORAGE_VERSION).unwrap();
    let mut expected = binding;
    expected["apiVersion"] = json!("capstan.dev/v1");
    assert_eq!(stored, expected);
}

#[test]
fn versions_in_preference_order() {
    assert_eq!(scheme().prioritized_versions(GROUP), ["v1", "v1beta1"]);
}

#[test]
fn field_paths_in_v1beta1_terms() {
    let scheme = scheme();
    let beta = GroupVersionKind::new(GROUP, V1BETA1, "Pod");
    let path = |p: &str| scheme.field_path_for(&beta, p);
    assert_eq!(path("spec.nodeName"), "spec.host");
    assert_eq!(
        path("spec.schedulingGates[0].name"),
        "metadata.annotations[capstan.dev/scheduling-gates]"
    );
    assert_eq!(path("spec.nodeNames"), "spec.nodeNames");
    assert_eq!(path("spec.containers[0].image"), "spec.containers[0].image");
    let v1 = beta.with_version(STORAGE_VERSION);
    assert_eq!(scheme.field_path_for(&v1, "spec.nodeName"), "spec.nodeName");
}
