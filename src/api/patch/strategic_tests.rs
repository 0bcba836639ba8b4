//! Strategic merge patch: the patches kubectl sends, kube's directive and ordering rules, and the
//! errors kube answers with.

use serde_json::{Value, json};

use super::strategic::{PatchError, strategic_merge};
use super::test_schema::pod_model;

fn smp(original: Value, patch: Value) -> Result<Value, PatchError> {
    let model = pod_model();
    let ty = model.for_kind("", "v1", "Pod").expect("pod kind");
    strategic_merge(&original, &patch, ty)
}

fn ok(original: Value, patch: Value) -> Value {
    smp(original, patch).expect("patch applies")
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|c| match c {
            Value::Object(m) => m
                .get("name")
                .or_else(|| m.get("containerPort"))
                .map(|v| v.to_string().trim_matches('"').to_string())
                .unwrap_or_default(),
            other => other.as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"app": "web", "tier": "fe"}, "finalizers": ["a", "b"]},
        "spec": {
            "containers": [
                {"name": "main", "image": "nginx:1.25",
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                {"name": "side", "image": "busybox", "args": ["sleep", "10"]}
            ],
            "tolerations": [{"key": "k1"}, {"key": "k2"}],
            "nodeSelector": {"disk": "ssd", "zone": "a"},
            "restartPolicy": "Always"
        }
    })
}

#[test]
fn kubectl_label_adds_and_null_removes() {
    let out = ok(pod(), json!({"metadata": {"labels": {"env": "prod"}}}));
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "tier": "fe", "env": "prod"})
    );
    let out = ok(out, json!({"metadata": {"labels": {"tier": null}}}));
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "env": "prod"})
    );
    // Nulls for keys that are not there are dropped, not stored.
    let out = ok(
        out,
        json!({"metadata": {"annotations": {"x": null, "y": "1"}}}),
    );
    assert_eq!(out["metadata"]["annotations"], json!({"y": "1"}));
}

#[test]
fn kubectl_patch_merges_containers_by_name() {
    let out = ok(
        pod(),
        json!({"spec": {"containers": [{"name": "main", "image": "nginx:1.26"}]}}),
    );
    let containers = &out["spec"]["containers"];
    assert_eq!(names(containers), ["main", "side"]);
    assert_eq!(containers[0]["image"], "nginx:1.26");
    // Untouched fields of the merged item stay.
    assert_eq!(containers[0]["env"][1]["value"], "2");
    assert_eq!(containers[1]["args"], json!(["sleep", "10"]));
}

#[test]
fn new_items_without_order_directive_go_first_like_kube() {
    // kube's interleave puts patch items the server does not know before server-only items.
    let out = ok(
        pod(),
        json!({"spec": {"containers": [{"name": "extra", "image": "x", "env": null}]}}),
    );
    assert_eq!(names(&out["spec"]["containers"]), ["extra", "main", "side"]);
    assert_eq!(
        out["spec"]["containers"][0],
        json!({"name": "extra", "image": "x"})
    );
}

#[test]
fn kubectl_apply_three_way_patch_with_set_element_order() {
    // What `kubectl apply` sends after the image changed and container "side" was removed from
    // the file: last-applied annotation, a deletion directive and the new order.
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {
            "$setElementOrder/containers": [{"name": "main"}],
            "containers": [
                {"image": "nginx:1.26", "name": "main"},
                {"$patch": "delete", "name": "side"}
            ]
        }
    });
    let out = ok(pod(), patch);
    assert_eq!(names(&out["spec"]["containers"]), ["main"]);
    assert_eq!(out["spec"]["containers"][0]["image"], "nginx:1.26");
    assert_eq!(
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{}"
    );
    assert!(
        out.to_string().find('$').is_none(),
        "no directive left: {out}"
    );
}

#[test]
fn nested_env_merge_delete_and_order() {
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "main"}, {"name": "side"}],
        "containers": [{
            "name": "main",
            "$setElementOrder/env": [{"name": "C"}, {"name": "A"}],
            "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}]
        }]
    }});
    let out = ok(pod(), patch);
    let env = &out["spec"]["containers"][0]["env"];
    assert_eq!(
        env,
        &json!([{"name": "C", "value": "3"}, {"name": "A", "value": "1"}])
    );
}

#[test]
fn set_element_order_keeps_server_only_items_in_place() {
    // Server has 1,3,4,2 and a server-only 9; the patch orders 4,2,3,1.
    let live = json!({"spec": {"containers": [
        {"name": "c1", "image": "a"}, {"name": "c3"}, {"name": "c4"}, {"name": "c2"}, {"name": "c9"}
    ]}});
    let patch = json!({"spec": {"$setElementOrder/containers": [
        {"name": "c4"}, {"name": "c2"}, {"name": "c3"}, {"name": "c1"}
    ]}});
    let out = ok(live, patch);
    assert_eq!(
        names(&out["spec"]["containers"]),
        ["c4", "c2", "c3", "c1", "c9"]
    );

    // Server-only items between known ones stay after the item they followed.
    let live = json!({"spec": {"containers": [
        {"name": "c1"}, {"name": "c2"}, {"name": "c7"}, {"name": "c9"}, {"name": "c8"},
        {"name": "c3"}, {"name": "c4"}
    ]}});
    let patch = json!({"spec": {"$setElementOrder/containers": [
        {"name": "c2"}, {"name": "c1"}, {"name": "c4"}, {"name": "c3"}
    ]}});
    let out = ok(live, patch);
    assert_eq!(
        names(&out["spec"]["containers"]),
        ["c2", "c1", "c7", "c9", "c8", "c4", "c3"]
    );
}

#[test]
fn ports_merge_by_container_port() {
    let patch = json!({"spec": {"containers": [{"name": "main", "ports": [
        {"containerPort": 80, "name": "http"}, {"containerPort": 443}
    ]}]}});
    let out = ok(pod(), patch);
    let ports = &out["spec"]["containers"][0]["ports"];
    assert_eq!(
        ports,
        &json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}])
    );
}

#[test]
fn replace_directive_in_list_and_map() {
    let out = ok(
        pod(),
        json!({"spec": {"containers": [{"name": "only", "image": "i"}, {"$patch": "replace"}]}}),
    );
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "only", "image": "i"}])
    );

    let out = ok(
        pod(),
        json!({"metadata": {"labels": {"$patch": "replace", "new": "1"}}}),
    );
    assert_eq!(out["metadata"]["labels"], json!({"new": "1"}));

    let out = ok(
        pod(),
        json!({"spec": {"nodeSelector": {"$patch": "delete"}}}),
    );
    assert_eq!(out["spec"]["nodeSelector"], json!({}));
    // A directive map for a key the object lacks adds nothing.
    let out = ok(
        pod(),
        json!({"spec": {"newMap": {"$patch": "replace", "a": "b"}}}),
    );
    assert!(out["spec"].get("newMap").is_none());
}

#[test]
fn retain_keys_clears_other_volume_sources() {
    let live = json!({"spec": {"volumes": [
        {"name": "v", "hostPath": {"path": "/data"}},
        {"name": "w", "configMap": {"name": "cm"}}
    ]}});
    let patch = json!({"spec": {"volumes": [
        {"$retainKeys": ["emptyDir", "name"], "emptyDir": {}, "name": "v"}
    ]}});
    let out = ok(live, patch);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "v", "emptyDir": {}}, {"name": "w", "configMap": {"name": "cm"}}])
    );

    let bad = json!({"spec": {"volumes": [
        {"$retainKeys": ["name"], "emptyDir": {}, "name": "v"}
    ]}});
    let err = smp(json!({"spec": {"volumes": [{"name": "v"}]}}), bad).unwrap_err();
    assert_eq!(
        err,
        PatchError::BadRequest("invalid patch format of retainKeys".into())
    );
    assert_eq!(err.code(), 400);
}

#[test]
fn primitive_set_lists_merge_and_delete() {
    let out = ok(pod(), json!({"metadata": {"finalizers": ["c", "a"]}}));
    assert_eq!(names(&out["metadata"]["finalizers"]), ["c", "a", "b"]);

    let patch = json!({"metadata": {
        "$deleteFromPrimitiveList/finalizers": ["a", "zz"],
        "$setElementOrder/finalizers": ["b", "c"],
        "finalizers": ["c"]
    }});
    let out = ok(pod(), patch);
    assert_eq!(names(&out["metadata"]["finalizers"]), ["b", "c"]);

    // Deleting from a list the object lacks creates nothing.
    let out = ok(
        json!({"metadata": {}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
    );
    assert_eq!(out, json!({"metadata": {}}));
}

#[test]
fn lists_without_merge_strategy_are_replaced() {
    let out = ok(pod(), json!({"spec": {"tolerations": [{"key": "k3"}]}}));
    assert_eq!(out["spec"]["tolerations"], json!([{"key": "k3"}]));
    let out = ok(
        pod(),
        json!({"spec": {"containers": [{"name": "side", "args": ["x"]}]}}),
    );
    assert_eq!(out["spec"]["containers"][1]["args"], json!(["x"]));
}

#[test]
fn untyped_positions_use_json_merge_patch_semantics() {
    let live = json!({"spec": {"extra": {"m": {"a": 1, "b": 2}, "l": [1, 2]}}});
    let patch = json!({"spec": {"extra": {"m": {"a": null, "c": 3}, "l": [3]}}});
    let out = ok(live, patch);
    assert_eq!(
        out["spec"]["extra"],
        json!({"m": {"b": 2, "c": 3}, "l": [3]})
    );
}

#[test]
fn merge_key_and_directive_errors_are_kube_500s() {
    let err = smp(pod(), json!({"spec": {"containers": [{"image": "nginx"}]}})).unwrap_err();
    assert_eq!(
        err,
        PatchError::Internal(
            "map: map[image:nginx] does not contain declared merge key: name".into()
        )
    );
    assert_eq!(err.code(), 500);

    let err = smp(
        pod(),
        json!({"spec": {"containers": [{"name": "main", "$patch": "bogus"}]}}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown patch type: bogus in map: map[$patch:bogus name:main]"
    );

    let err = smp(
        pod(),
        json!({"spec": {"containers": [{"name": "main", "$patch": "merge"}]}}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "merging lists cannot yet be specified in the patch"
    );

    let err = smp(pod(), json!({"metadata": {"$patch": "merge"}})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown patch type: merge in map: map[$patch:merge]"
    );
}

#[test]
fn malformed_directive_keys_are_400() {
    let err = smp(pod(), json!({"spec": {"$setElementOrder": []}})).unwrap_err();
    assert_eq!(
        err,
        PatchError::BadRequest("invalid patch format of setElementOrder list".into())
    );
    let err = smp(
        pod(),
        json!({"metadata": {"$deleteFromPrimitiveList": ["a"]}}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        PatchError::BadRequest("invalid patch format of primitive list".into())
    );
    let err = smp(pod(), json!([1])).unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(
        err.to_string(),
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
}

#[test]
fn set_element_order_must_match_patch_order() {
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "main"}, {"name": "side"}],
        "containers": [{"name": "side", "image": "a"}, {"name": "main", "image": "b"}]
    }});
    let err = smp(pod(), patch).unwrap_err();
    assert_eq!(err.code(), 500);
    assert!(
        err.to_string().starts_with(
            "The order in patch list:\n[map[image:a name:side] map[image:b name:main]]\n doesn't match $setElementOrder list:"
        ),
        "{err}"
    );
}

#[test]
fn lists_of_lists_are_422_and_mixed_lists_500() {
    let empty = json!({"metadata": {"finalizers": []}});
    let err = smp(empty, json!({"metadata": {"finalizers": [["x"]]}})).unwrap_err();
    assert_eq!(
        err,
        PatchError::Unprocessable("lists of lists are not supported".into())
    );
    let live = json!({"metadata": {"finalizers": ["a"]}});
    let err = smp(live, json!({"metadata": {"finalizers": [1]}})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "list element types are not identical: [[a] [1]]"
    );
}

#[test]
fn type_changes_replace_and_null_patch_is_a_no_op() {
    let out = ok(pod(), json!({"spec": {"nodeSelector": "weird"}}));
    assert_eq!(out["spec"]["nodeSelector"], "weird");
    assert_eq!(ok(pod(), Value::Null), pod());
}

#[test]
fn replace_strategy_fields_take_the_patch_whole() {
    let live = json!({"spec": {"replaced": {"a": "1", "b": "2"}, "nodeSelector": {"a": "1"}}});
    let out = ok(
        live,
        json!({"spec": {"replaced": {"c": "3"}, "nodeSelector": {"c": "3"}}}),
    );
    assert_eq!(out["spec"]["replaced"], json!({"c": "3"}));
    // Strategic merge patch ignores map types: an atomic map still merges, as in kube.
    assert_eq!(out["spec"]["nodeSelector"], json!({"a": "1", "c": "3"}));
}

#[test]
fn retain_keys_must_be_a_list_and_errors_map_to_api_errors() {
    let err = smp(
        json!({"spec": {"volumes": [{"name": "v"}]}}),
        json!({"spec": {"volumes": [{"name": "v", "$retainKeys": "name"}]}}),
    )
    .unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(err.clone().into_api_error().code(), 400);
    assert_eq!(
        PatchError::Unprocessable("x".into())
            .into_api_error()
            .code(),
        422
    );
    assert_eq!(
        PatchError::Internal("x".into()).into_api_error().code(),
        500
    );
}
