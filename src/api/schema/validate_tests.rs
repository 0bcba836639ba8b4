//! Field validation against kube's strict-decoding texts.

use serde_json::json;

use super::*;
use crate::api::schema::test_model as model;

fn core(kind: &str) -> TypeRef<'static> {
    model().for_kind("", "v1", kind).unwrap()
}

fn texts(issues: &[FieldIssue]) -> Vec<String> {
    issues.iter().map(ToString::to_string).collect()
}

fn check(kind: &str, body: &str) -> Vec<String> {
    texts(&check_fields(core(kind), body.as_bytes()).unwrap())
}

#[test]
fn unknown_fields_are_named_by_their_full_path() {
    let body = r#"{
        "apiVersion": "v1", "kind": "Pod", "foo": 1,
        "metadata": {"name": "p", "labelz": {}},
        "spec": {"containers": [
            {"name": "a", "image": "x"},
            {"name": "b", "imagePullPolicyy": "Always", "ports": [{"containerPort": 80, "hostIP2": "x"}]}
        ]}
    }"#;
    assert_eq!(
        check("Pod", body),
        [
            r#"unknown field "foo""#,
            r#"unknown field "metadata.labelz""#,
            r#"unknown field "spec.containers[1].imagePullPolicyy""#,
            r#"unknown field "spec.containers[1].ports[0].hostIP2""#,
        ]
    );
}

#[test]
fn duplicate_fields_in_objects_and_maps() {
    let body = r#"{
        "apiVersion": "v1", "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "labels": {"app": "x", "app": "y"}, "name": "b"},
        "data": {"k": "1", "k": "2"}
    }"#;
    assert_eq!(
        check("ConfigMap", body),
        [
            r#"duplicate field "apiVersion""#,
            r#"duplicate field "metadata.labels.app""#,
            r#"duplicate field "metadata.name""#,
            r#"duplicate field "data.k""#,
        ]
    );
}

#[test]
fn nothing_is_checked_inside_unknown_or_untyped_values() {
    let body = r#"{
        "metadata": {
            "name": "p",
            "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}, "f:spec": {"x": 1}}}],
            "creationTimestamp": {"not": "a time", "not": "at all"}
        },
        "bogus": {"a": 1, "a": 2, "deeper": {"b": 1}}
    }"#;
    assert_eq!(check("Pod", body), [r#"unknown field "bogus""#]);
    let event = r#"{"type": "ADDED", "object": {"kind": "Anything", "x": 1, "x": 2}}"#;
    assert!(check("WatchEvent", event).is_empty());
}

#[test]
fn each_issue_is_reported_once() {
    // Both values of a duplicated field are decoded; the same unknown path counts once.
    let body = r#"{"spec": {"hostname": "a", "bad": 1}, "spec": {"bad": 2}}"#;
    assert_eq!(
        check("Pod", body),
        [r#"unknown field "spec.bad""#, r#"duplicate field "spec""#]
    );
    let many: Vec<String> = (0..150).map(|i| format!("\"f{i}\": 1")).collect();
    let body = format!("{{{}}}", many.join(","));
    let issues = check("Pod", &body);
    assert_eq!(issues.len(), 100);
    assert_eq!(issues[99], r#"unknown field "f99""#);
}

#[test]
fn a_clean_body_has_no_issues_and_bad_json_is_an_error() {
    let body = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "b"}, "annotations": {}},
        "spec": {
            "containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}},
                            "livenessProbe": {"httpGet": {"port": 8080}}}],
            "nodeSelector": {"disk": "ssd"}
        },
        "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "True"}]}
    });
    assert!(check("Pod", &body.to_string()).is_empty());
    assert!(check_fields(core("Pod"), b"{\"a\": ").is_err());
    assert!(check_fields(core("Pod"), b"{} {}").is_err());
}

#[test]
fn capstan_pods_are_checked_through_the_shared_pod_spec() {
    let pod = model().for_kind("capstan.dev", "v1", "Pod").unwrap();
    let body = br#"{"apiVersion": "capstan.dev/v1", "kind": "Pod", "metadata": {"name": "p"},
                    "spec": {"containers": [{"name": "c", "imagee": "x"}]}, "extra": true}"#;
    assert_eq!(
        texts(&check_fields(pod, body).unwrap()),
        [
            r#"unknown field "spec.containers[0].imagee""#,
            r#"unknown field "extra""#
        ]
    );
}

#[test]
fn decoded_values_report_the_same_unknown_paths() {
    let value = json!({
        "metadata": {"name": "p", "labels": {"a": "b"}},
        "spec": {"containers": [{"name": "c"}, {"name": "d", "imagee": "x"}], "tolerationz": []},
        "status": {"weird": 1}
    });
    let from_value = texts(&check_value(core("Pod"), &value));
    let from_bytes = check("Pod", &value.to_string());
    assert_eq!(
        from_value,
        [
            r#"unknown field "spec.containers[1].imagee""#,
            r#"unknown field "spec.tolerationz""#,
            r#"unknown field "status.weird""#,
        ]
    );
    assert_eq!(from_bytes, from_value);
}

#[test]
fn directives_decide_what_happens() {
    let issues = vec![
        FieldIssue::Unknown("spec.foo".into()),
        FieldIssue::Duplicate("x".into()),
    ];
    assert!(
        enforce(FieldValidation::Ignore, "Pod", "v1", &issues)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        enforce(FieldValidation::Warn, "Pod", "v1", &issues).unwrap(),
        [r#"unknown field "spec.foo""#, r#"duplicate field "x""#]
    );
    let err = enforce(FieldValidation::Strict, "Pod", "v1", &issues).unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(err.reason(), "BadRequest");
    assert_eq!(
        err.to_string(),
        r#"Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo", duplicate field "x""#
    );
    assert!(
        enforce(FieldValidation::Strict, "Pod", "v1", &[])
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        strict_decoding_error(&issues[..1]),
        r#"strict decoding error: unknown field "spec.foo""#
    );
}

#[test]
fn paths_are_quoted_like_go() {
    assert_eq!(
        FieldIssue::Unknown("a\"b\\c\nd\u{1}é".into()).to_string(),
        r#"unknown field "a\"b\\c\nd\x01é""#
    );
    let body = "{\"we\\\"ird\": 1}";
    assert_eq!(check("Pod", body), [r#"unknown field "we\"ird""#]);
}
