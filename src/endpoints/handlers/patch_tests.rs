//! Unit tests of patch decoding and application; the handler is tested through the router in
//! `handlers::tests`.

use super::*;
use serde_json::json;

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}}})
}

#[test]
fn merge_patch_sets_and_removes() {
    let patch = Patch::decode(
        PatchType::Merge,
        br#"{"metadata":{"labels":{"a":null,"b":"2"}}}"#,
    )
    .unwrap();
    let out = patch.apply(&pod()).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
}

#[test]
fn json_patch_failures() {
    let patch = Patch::decode(
        PatchType::Json,
        br#"[{"op":"test","path":"/metadata/name","value":"q"}]"#,
    )
    .unwrap();
    let err = patch.apply(&pod()).unwrap_err();
    assert_eq!((err.code(), err.reason()), (422, "Invalid"));
    let patch = Patch::decode(
        PatchType::Json,
        br#"[{"op":"remove","path":"/spec/nothing"}]"#,
    )
    .unwrap();
    assert_eq!(patch.apply(&pod()).unwrap_err().code(), 422);
    assert_eq!(
        Patch::decode(PatchType::Json, br#"{"op":"add"}"#)
            .unwrap_err()
            .code(),
        400
    );
    let err = Patch::decode(PatchType::Merge, b"{nope").unwrap_err();
    assert_eq!(err.to_string(), "invalid JSON patch");
}

#[test]
fn too_many_operations_is_413() {
    let ops: Vec<Value> = (0..=MAX_JSON_PATCH_OPERATIONS)
        .map(|_| json!({"op": "test", "path": "/kind", "value": "Pod"}))
        .collect();
    let bytes = serde_json::to_vec(&ops).unwrap();
    let err = Patch::decode(PatchType::Json, &bytes).unwrap_err();
    assert_eq!(err.code(), 413);
    assert_eq!(
        err.to_string(),
        "The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
}

#[test]
fn patched_objects_keep_kind_namespace_and_name() {
    let descriptor = ResourceDescriptor {
        version: "v1".into(),
        kind: "Pod".into(),
        plural: "pods".into(),
        namespaced: true,
        ..Default::default()
    };
    let mut ok = pod();
    check_patched(&mut ok, &descriptor, Some("d"), "p").unwrap();
    assert_eq!(ok["metadata"]["namespace"], "d");
    let mut renamed = pod();
    renamed["metadata"]["name"] = json!("q");
    assert_eq!(
        check_patched(&mut renamed, &descriptor, Some("d"), "p")
            .unwrap_err()
            .code(),
        400
    );
    let mut moved = pod();
    moved["metadata"]["namespace"] = json!("elsewhere");
    assert_eq!(
        check_patched(&mut moved, &descriptor, Some("d"), "p")
            .unwrap_err()
            .code(),
        400
    );
    let mut other_kind = pod();
    other_kind["kind"] = json!("Service");
    assert_eq!(
        check_patched(&mut other_kind, &descriptor, Some("d"), "p")
            .unwrap_err()
            .code(),
        400
    );
    let mut scalar = json!(3);
    assert_eq!(
        check_patched(&mut scalar, &descriptor, Some("d"), "p")
            .unwrap_err()
            .code(),
        422
    );
}

#[test]
fn apply_bodies_are_yaml_or_json_objects() {
    let Patch::Apply(yaml) = Patch::decode(
        PatchType::Apply,
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n",
    )
    .unwrap() else {
        panic!("not an apply patch");
    };
    assert_eq!(yaml["data"]["k"], "v");
    let Patch::Apply(json) = Patch::decode(PatchType::Apply, br#"{"kind":"ConfigMap"}"#).unwrap()
    else {
        panic!("not an apply patch");
    };
    assert_eq!(json, json!({"kind": "ConfigMap"}));
    let Patch::Apply(empty) = Patch::decode(PatchType::Apply, b"  \n").unwrap() else {
        panic!("not an apply patch");
    };
    assert_eq!(empty, json!({}));
    let err = Patch::decode(PatchType::Apply, b"- a\n- b\n").unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(
        err.to_string(),
        "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    let err = Patch::decode(PatchType::Apply, b"a: [unclosed").unwrap_err();
    assert_eq!(err.code(), 400);
    assert!(
        err.to_string().starts_with("error encoding patch: "),
        "{err}"
    );
}

#[test]
fn strategic_bodies_must_be_json_and_need_the_schema() {
    assert_eq!(
        Patch::decode(PatchType::StrategicMerge, b"a: b")
            .unwrap_err()
            .to_string(),
        "invalid JSON patch"
    );
    let patch = Patch::decode(PatchType::StrategicMerge, b"{}").unwrap();
    assert_eq!(patch.apply(&pod()).unwrap_err().code(), 500);
}

#[test]
fn a_merge_patch_that_is_not_an_object_is_400_like_kubes_map_decode() {
    for (body, go_kind) in [("12", "number"), ("[1]", "array"), ("\"s\"", "string")] {
        let Err(err) = Patch::decode(PatchType::Merge, body.as_bytes()) else {
            panic!("{body} decoded");
        };
        assert_eq!(
            err.to_string(),
            format!(
                "error decoding patch: json: cannot unmarshal {go_kind} into Go value of type map[string]interface {{}}"
            )
        );
    }
    assert!(Patch::decode(PatchType::Merge, b"null").is_ok());
}

#[test]
fn invalid_utf8_in_a_patch_reads_as_replacement_characters() {
    let Ok(Patch::Merge(patch)) = Patch::decode(PatchType::Merge, b"{\"a\":\"x\xffy\"}") else {
        panic!("not decoded");
    };
    assert_eq!(patch["a"], "x\u{FFFD}y");
}
