//! Strategic merge patch and server-side apply against the real core/v1 Pod schema (the model
//! built from k8s-openapi plus kube's v1.37 extension table), with the requests kubectl sends.

use std::sync::LazyLock;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::apply::{ApplyError, ManagedFieldsScope, apply, record_update};
use super::strategic::strategic_merge;
use crate::api::schema::{SchemaModel, SchemaModelBuilder};

static MODEL: LazyLock<SchemaModel> =
    LazyLock::new(|| SchemaModelBuilder::with_core_kinds().build());

fn scope(
    subresource: &'static str,
    reset: &'static [&'static [&'static str]],
) -> ManagedFieldsScope<'static> {
    ManagedFieldsScope {
        ty: MODEL.for_kind("", "v1", "Pod").expect("pod"),
        api_version: "v1",
        kind: "Pod",
        subresource,
        reset_fields: reset,
        now: "2024-05-01T10:00:00Z".parse::<Timestamp>().expect("time"),
    }
}

fn main_scope() -> ManagedFieldsScope<'static> {
    scope("", &[&["status"]])
}

fn smp(original: &Value, patch: Value) -> Value {
    let ty = MODEL.for_kind("", "v1", "Pod").expect("pod");
    strategic_merge(original, &patch, ty).expect("patch applies")
}

/// A pod as the server stores it after defaulting.
fn live_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "7",
                     "labels": {"app": "web"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "r1"}]},
        "spec": {
            "containers": [{
                "name": "web", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "env": [{"name": "MODE", "value": "prod"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]
            }],
            "volumes": [{"name": "data", "hostPath": {"path": "/srv", "type": ""}}],
            "tolerations": [{"key": "a", "operator": "Exists"}],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"
        },
        "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}
        ]}
    })
}

#[test]
fn client_side_apply_patch_on_real_schema() {
    // `kubectl apply` after the manifest changed image, env and the volume source.
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}\n"}},
        "spec": {
            "$setElementOrder/containers": [{"name": "web"}],
            "$setElementOrder/volumes": [{"name": "data"}],
            "containers": [{
                "$setElementOrder/env": [{"name": "MODE"}, {"name": "LEVEL"}],
                "env": [{"name": "LEVEL", "value": "3"}],
                "image": "nginx:1.26", "name": "web"
            }],
            "volumes": [{"$retainKeys": ["emptyDir", "name"], "emptyDir": {}, "name": "data"}]
        }
    });
    let out = smp(&live_pod(), patch);
    let c = &out["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.26");
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        c["env"],
        json!([{"name": "MODE", "value": "prod"}, {"name": "LEVEL", "value": "3"}])
    );
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "data", "emptyDir": {}}])
    );
    assert_eq!(
        out["spec"]["tolerations"],
        live_pod()["spec"]["tolerations"]
    );
    assert!(!out.to_string().contains('$'));
}

#[test]
fn status_and_owner_reference_patches_merge_by_their_keys() {
    let out = smp(
        &live_pod(),
        json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Probe"}]}}),
    );
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "Ready", "status": "False", "reason": "Probe"}, {"type": "PodScheduled", "status": "True"}])
    );
    let out = smp(
        &live_pod(),
        json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "r1"}]}}),
    );
    assert_eq!(out["metadata"]["ownerReferences"], json!([]));
    // Tolerations are atomic: replaced.
    let out = smp(
        &live_pod(),
        json!({"spec": {"tolerations": [{"key": "b"}]}}),
    );
    assert_eq!(out["spec"]["tolerations"], json!([{"key": "b"}]));
}

#[test]
fn server_side_apply_fields_match_kube() {
    let config = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {
            "containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}],
            "tolerations": [{"key": "a", "operator": "Exists"}],
            "nodeSelector": {"disk": "ssd"},
            "imagePullSecrets": [{"name": "regcred"}]
        }
    });
    let out = apply(None, &config, "kubectl", false, &main_scope()).expect("applies");
    assert_eq!(
        out.object["metadata"]["managedFields"][0]["fieldsV1"],
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:containers": {"k:{\"name\":\"nginx\"}": {
                    ".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                }},
                "f:imagePullSecrets": {"k:{\"name\":\"regcred\"}": {}},
                "f:nodeSelector": {},
                "f:tolerations": {}
            }
        })
    );
}

#[test]
fn server_side_apply_rejects_unknown_fields_like_kube() {
    let config = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx", "namespace": "default"},
        "spec": {"containers": [{"name": "nginx", "imagee": "nginx"}]}
    });
    let err = apply(None, &config, "kubectl", false, &main_scope()).unwrap_err();
    assert_eq!(
        err,
        ApplyError::Internal(
            "failed to create typed patch object (default/nginx; /v1, Kind=Pod): .spec.containers[name=\"nginx\"].imagee: field not declared in schema".into()
        )
    );
}

#[test]
fn status_writers_and_appliers_share_a_pod() {
    // Created by kubectl, then the kubelet writes status through pods/status.
    let created = record_update(None, &live_pod(), "kubectl-create", &main_scope());
    let mut with_status = created.clone();
    with_status["status"]["podIP"] = json!("10.0.0.5");
    let status_scope = scope("status", &[&["spec"], &["metadata", "deletionTimestamp"]]);
    let after = record_update(Some(&created), &with_status, "kubelet", &status_scope);
    let kubelet = after["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "kubelet")
        .expect("kubelet entry");
    assert_eq!(kubelet["subresource"], "status");
    assert_eq!(kubelet["fieldsV1"], json!({"f:status": {"f:podIP": {}}}));
    // The creator never owned status: the main resource resets it.
    let creator = &after["metadata"]["managedFields"][0];
    assert_eq!(creator["manager"], "kubectl-create");
    assert!(creator["fieldsV1"].get("f:status").is_none());

    // A server-side apply of the image conflicts with the creator, not the kubelet.
    let config = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
                        "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}});
    let err = apply(Some(&after), &config, "ci", false, &main_scope()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .spec.containers[name=\"web\"].image"
    );
}
