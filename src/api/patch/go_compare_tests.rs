//! The managedFields of non-apply writes are computed over Go-shaped objects, as kube compares
//! Go objects: a create against the kind's empty Go object, `null` as present. Expected sets are
//! kube-apiserver 1.37.2's (see tests/golden/managed-fields-kube-apiserver-1.37.2.json).

use std::sync::LazyLock;

use jiff::Timestamp;
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use serde_json::{Value, json};

use super::apply::{ManagedFieldsScope, record_update};
use crate::api::schema::{SchemaModel, SchemaModelBuilder};

static MODEL: LazyLock<SchemaModel> = LazyLock::new(|| {
    SchemaModelBuilder::with_core_kinds()
        .add_kind::<SelfSubjectAccessReview>(
            "authorization.k8s.io",
            "v1",
            "SelfSubjectAccessReview",
        )
        .build()
});

fn fields(group: &str, api_version: &'static str, kind: &'static str, new: &Value) -> Value {
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let scope = ManagedFieldsScope {
        ty: MODEL.for_kind(group, version, kind).expect("kind"),
        api_version,
        kind,
        subresource: "",
        reset_fields: &[&["status"]],
        now: "2024-05-01T10:00:00Z".parse::<Timestamp>().expect("time"),
    };
    let out = record_update(None, new, "m", &scope);
    out["metadata"]["managedFields"][0]["fieldsV1"].clone()
}

#[test]
fn pointer_structs_get_a_self_entry_value_structs_and_nil_lists_do_not() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {
            "securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "c", "image": "i",
                            "securityContext": {"capabilities": {"drop": ["ALL"]}}}]
        }
    });
    let want = json!({"f:spec": {
        // `containers` is `null` in the empty Pod: present, so not added itself
        "f:containers": {"k:{\"name\":\"c\"}": {
            ".": {}, "f:image": {}, "f:name": {},
            // inside a new item everything is new, value structs included
            "f:resources": {},
            "f:securityContext": {".": {}, "f:capabilities": {".": {}, "f:drop": {}}}
        }},
        // a pointer struct missing from the empty Pod
        "f:securityContext": {".": {}, "f:runAsNonRoot": {}}
    }});
    assert_eq!(fields("", "v1", "Pod", &pod), want);
}

#[test]
fn zero_values_of_value_fields_are_not_owned() {
    // What the protobuf decoder gives for kubectl's `auth can-i`: `allowed: false` is on the
    // wire because Go always writes it; the empty Go object holds the same, so kube owns nothing
    // there. (The reset of `status` is not what hides it: the scope here resets `status`, so
    // the pod test above shows reset fields stay unowned either way.)
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}},
        "status": {"allowed": false}
    });
    let scope_without_reset = |new: &Value| {
        let scope = ManagedFieldsScope {
            ty: MODEL
                .for_kind("authorization.k8s.io", "v1", "SelfSubjectAccessReview")
                .expect("kind"),
            api_version: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            subresource: "",
            reset_fields: &[],
            now: "2024-05-01T10:00:00Z".parse::<Timestamp>().expect("time"),
        };
        record_update(None, new, "m", &scope)["metadata"]["managedFields"][0]["fieldsV1"].clone()
    };
    assert_eq!(
        scope_without_reset(&review),
        json!({"f:spec": {"f:resourceAttributes": {
            ".": {}, "f:resource": {}, "f:verb": {}
        }}})
    );
}

#[test]
fn capstan_pods_are_compared_as_core_pods() {
    let pod = |api_version: &str| {
        json!({
            "apiVersion": api_version, "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i"}],
                     "volumes": [{"name": "v", "emptyDir": {}}]}
        })
    };
    let core = fields("", "v1", "Pod", &pod("v1"));
    assert_eq!(
        core["f:spec"]["f:volumes"],
        json!({".": {}, "k:{\"name\":\"v\"}": {".": {}, "f:emptyDir": {}, "f:name": {}}})
    );
    assert!(core["f:spec"]["f:containers"].get(".").is_none(), "{core}");
    // capstan.dev's Pod has the core Pod's schema here, so the core model stands in for it.
    assert_eq!(
        fields("", "capstan.dev/v1", "Pod", &pod("capstan.dev/v1")),
        core
    );
}
