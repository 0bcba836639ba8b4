//! Strategy-level tests on typed pods of both kinds (no storage).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::*;
use crate::api::field::FieldErrorType;
use crate::auth::{AdmissionRequest, Admit, UserInfo};

struct AllowAll;

#[async_trait::async_trait]
impl Admit for AllowAll {
    async fn admit(&self, _req: &AdmissionRequest<'_>) -> Result<(), crate::api::ApiError> {
        Ok(())
    }
}

pub(super) fn ctx() -> RequestContext {
    RequestContext {
        namespace: Some("default".into()),
        user: UserInfo::default(),
        admission: Arc::new(AllowAll),
        warnings: Default::default(),
    }
}

fn core(v: Value) -> Pod {
    serde_json::from_value(v).unwrap()
}

fn capstan(v: Value) -> CapstanPod {
    serde_json::from_value(v).unwrap()
}

/// Runs defaulting and prepare_for_create as the store does.
fn created<T: PodObject>(mut pod: T) -> T {
    let s = PodStrategy::<T>::default();
    s.default_object(&mut pod);
    s.prepare_for_create(&ctx(), &mut pod);
    pod
}

fn messages<T: PodObject>(pod: &T) -> Vec<String> {
    PodStrategy::<T>::default()
        .validate(&ctx(), pod)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn simple() -> Value {
    json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
}

#[test]
fn create_resets_status_to_pending_with_qos_and_generation_one() {
    let mut body = simple();
    body["status"] = json!({"phase": "Running", "podIP": "10.0.0.1"});
    body["metadata"]["generation"] = json!(7);
    let pod = created(core(body));
    assert_eq!(pod.metadata.generation, Some(1));
    let status = serde_json::to_value(pod.status.unwrap()).unwrap();
    assert_eq!(
        status,
        json!({"phase": "Pending", "qosClass": "BestEffort"})
    );
    assert_eq!(pod.spec.unwrap().restart_policy.as_deref(), Some("Always"));
}

#[test]
fn the_same_strategy_serves_capstan_pods() {
    let pod = created(capstan(simple()));
    assert_eq!(
        pod.status.as_ref().unwrap().phase.as_deref(),
        Some("Pending")
    );
    assert_eq!(pod.spec.pod.dns_policy.as_deref(), Some("ClusterFirst"));
    assert!(messages(&pod).is_empty(), "{:?}", messages(&pod));
    let v = serde_json::to_value(&pod).unwrap();
    assert_eq!(v["apiVersion"], "capstan.dev/v1");
    assert_eq!(v["spec"]["containers"][0]["imagePullPolicy"], "Always");
}

#[test]
fn gated_pods_get_the_scheduling_gated_condition() {
    let mut body = simple();
    body["spec"]["schedulingGates"] = json!([{"name": "example.com/wait"}]);
    let pod = created(core(body));
    let conditions = pod.status.unwrap().conditions.unwrap();
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0].type_, "PodScheduled");
    assert_eq!(conditions[0].status, "False");
    assert_eq!(conditions[0].reason.as_deref(), Some("SchedulingGated"));
}

#[test]
fn a_pod_without_spec_or_containers_is_invalid() {
    let pod = created(capstan(json!({"metadata": {"name": "p"}})));
    assert_eq!(messages(&pod), vec!["spec.containers: Required value"]);
    let pod = created(core(json!({"metadata": {"name": "p"}})));
    assert_eq!(messages(&pod), vec!["spec.containers: Required value"]);
}

#[test]
fn container_rules_have_kube_paths_and_messages() {
    let pod = created(core(json!({
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "Bad_Name", "image": "nginx"},
                {"name": "dup", "image": ""},
                {"name": "dup", "image": "nginx", "ports": [{"containerPort": 0}, {"containerPort": 70000, "protocol": "ICMP", "name": "http"}, {"containerPort": 80, "name": "http"}]}
            ],
            "restartPolicy": "Sometimes",
            "dnsPolicy": "Weird"
        }
    })));
    let errs = messages(&pod);
    let want = [
        "spec.containers[0].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        "spec.containers[1].image: Required value",
        "spec.containers[2].ports[0].containerPort: Required value",
        "spec.containers[2].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        "spec.containers[2].ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        "spec.containers[2].ports[2].name: Duplicate value: \"http\"",
        "spec.containers[2].name: Duplicate value: \"dup\"",
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        "spec.dnsPolicy: Unsupported value: \"Weird\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
    ];
    assert_eq!(errs, want);
}

#[test]
fn volumes_and_mounts() {
    let pod = created(core(json!({
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "c", "image": "nginx", "volumeMounts": [{"name": "missing", "mountPath": "/a"}, {"name": "data", "mountPath": "/a"}]}],
            "volumes": [{"name": "data"}, {"name": "data"}, {"name": "two", "emptyDir": {}, "secret": {"secretName": "s"}}]
        }
    })));
    let errs = messages(&pod);
    assert_eq!(
        errs,
        [
            "spec.volumes[1].name: Duplicate value: \"data\"",
            "spec.volumes[2].secret: Forbidden: may not specify more than 1 volume type",
            "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"",
            "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique",
        ]
    );
}

#[test]
fn env_and_resources() {
    let pod = created(core(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{
            "name": "c", "image": "nginx",
            "env": [{"name": ""}, {"name": "A=B"}, {"name": "OK", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "resources": {"limits": {"cpu": "500m", "example.com/gpu": "1"}, "requests": {"cpu": "1", "memory": "-1", "example.com/gpu": "2"}}
        }]}
    })));
    let errs = messages(&pod);
    assert_eq!(
        errs,
        [
            "spec.containers[0].env[0].name: Required value",
            "spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
            "spec.containers[0].env[2].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
            "spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m",
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be equal to example.com/gpu limit of 1",
            "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0",
        ]
    );
}

#[test]
fn create_forbids_ephemeral_containers_and_gated_node_names() {
    let mut body = simple();
    body["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
    body["spec"]["nodeName"] = json!("n1");
    body["spec"]["schedulingGates"] = json!([{"name": "gate"}]);
    let errs = messages(&created(core(body)));
    assert_eq!(
        errs,
        [
            "spec.ephemeralContainers: Forbidden: cannot be set on create",
            "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared",
        ]
    );
}

#[test]
fn tolerations_and_misc_spec_fields() {
    let mut body = simple();
    body["spec"]["tolerations"] = json!([{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "value": "v", "tolerationSeconds": 5}]);
    body["spec"]["activeDeadlineSeconds"] = json!(0);
    body["spec"]["hostname"] = json!("Not.A.Label");
    let errs = messages(&created(core(body)));
    assert_eq!(
        errs[0],
        "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"
    );
    assert!(
        errs[1].starts_with("spec.hostname: Invalid value: \"Not.A.Label\""),
        "{errs:?}"
    );
    assert_eq!(
        &errs[2..],
        [
            "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            "spec.tolerations[1].effect: Invalid value: \"\": effect must be 'NoExecute' when `tolerationSeconds` is set",
            "spec.tolerations[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
        ]
    );
}

#[test]
fn update_keeps_status_and_bumps_generation_on_spec_change() {
    let s = PodStrategy::<Pod>::default();
    let old = created(core(simple()));
    let mut new = core(simple());
    new.status = Some(PodStatus {
        phase: Some("Running".into()),
        ..Default::default()
    });
    s.default_object(&mut new);
    s.prepare_for_update(&ctx(), &mut new, &old);
    assert_eq!(new.status, old.status);
    assert_eq!(new.metadata.generation, Some(1));
    new.spec.as_mut().unwrap().containers[0].image = Some("nginx:2".into());
    let snapshot = new.clone();
    s.prepare_for_update(&ctx(), &mut new, &old);
    assert_eq!(new.metadata.generation, Some(2));
    assert!(s.validate_update(&ctx(), &new, &old).is_empty());
    let mut bad = snapshot;
    bad.spec.as_mut().unwrap().restart_policy = Some("Never".into());
    let errs = s.validate_update(&ctx(), &bad, &old);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].field.as_str(), &errs[0].error_type),
        ("spec", &FieldErrorType::Forbidden)
    );
}

#[test]
fn status_strategy_keeps_spec_and_accepts_status() {
    let s = status::PodStatusStrategy::<CapstanPod>::default();
    let old = created(capstan(simple()));
    let mut new = old.clone();
    new.spec.pod.containers[0].image = Some("other".into());
    new.spec.pod.node_name = Some("n1".into());
    new.metadata.owner_references = Some(vec![Default::default()]);
    new.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        jiff::Timestamp::now(),
    ));
    new.status = Some(PodStatus {
        phase: Some("Running".into()),
        ..Default::default()
    });
    s.prepare_for_update(&ctx(), &mut new, &old);
    assert_eq!(new.spec, old.spec);
    assert_eq!(new.metadata.owner_references, None);
    assert_eq!(new.metadata.deletion_timestamp, None);
    let status = new.status.as_ref().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
    assert!(s.validate_update(&ctx(), &new, &old).is_empty());
}

#[test]
fn graceful_delete_follows_kube() {
    let s = PodStrategy::<Pod>::default();
    let mut pod = created(core(simple()));
    // Not scheduled: delete at once, whatever was asked.
    assert_eq!(s.check_graceful_delete(&pod, None), Some(0));
    assert_eq!(s.check_graceful_delete(&pod, Some(-5)), Some(0));
    pod.spec.as_mut().unwrap().node_name = Some("n1".into());
    assert_eq!(s.check_graceful_delete(&pod, None), Some(30));
    assert_eq!(s.check_graceful_delete(&pod, Some(10)), Some(10));
    assert_eq!(s.check_graceful_delete(&pod, Some(-5)), Some(1));
    pod.status.as_mut().unwrap().phase = Some("Succeeded".into());
    assert_eq!(s.check_graceful_delete(&pod, Some(10)), Some(0));
    assert!(s.return_deleted_object());
}

#[test]
fn selectable_fields_match_kube() {
    let mut body = simple();
    body["spec"]["nodeName"] = json!("n1");
    body["spec"]["serviceAccountName"] = json!("sa");
    body["status"] = json!({"phase": "Running", "podIP": "10.0.0.9", "nominatedNodeName": "n2"});
    let pod = core(body);
    let s = PodStrategy::<Pod>::default();
    let mut fields = s.extra_selectable_fields(&pod);
    assert_eq!(fields.remove("spec.nodeName").as_deref(), Some("n1"));
    assert_eq!(
        fields.remove("spec.serviceAccountName").as_deref(),
        Some("sa")
    );
    assert_eq!(fields.remove("spec.hostNetwork").as_deref(), Some("false"));
    assert_eq!(fields.remove("status.phase").as_deref(), Some("Running"));
    assert_eq!(fields.remove("status.podIP").as_deref(), Some("10.0.0.9"));
    assert_eq!(
        fields.remove("status.nominatedNodeName").as_deref(),
        Some("n2")
    );
    assert_eq!(fields.remove("spec.restartPolicy").as_deref(), Some(""));
    assert_eq!(fields.remove("spec.schedulerName").as_deref(), Some(""));
    assert!(fields.is_empty());
    let labels: Vec<&str> = s.extra_field_labels().to_vec();
    assert_eq!(labels, POD_FIELD_LABELS);
}

#[test]
fn binding_validation() {
    let b: k8s_openapi::api::core::v1::Binding =
        serde_json::from_value(json!({"metadata": {"name": "p"}, "target": {"kind": "Pod"}}))
            .unwrap();
    let errs: Vec<String> = binding::validate_binding(&b)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            "target.kind: Unsupported value: \"Pod\": supported values: \"Node\", \"<empty>\"",
            "target.name: Required value",
        ]
    );
}
