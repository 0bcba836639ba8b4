//! A minimal valid object per served kind. Kinds not listed fall back to a bare object with only
//! metadata; if that is refused the sweep fails and names the kind, so a newly served kind gets a
//! body here rather than silently escaping the sweep.

use serde_json::{Value, json};

/// The valid body of `kind` in `api_version`, named `name` (in `namespace` when namespaced).
pub fn valid(api_version: &str, kind: &str, name: &str, namespace: Option<&str>) -> Value {
    let mut metadata = json!({"name": name});
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    let mut obj = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata});
    let ns = namespace.unwrap_or("default");
    let extra = match kind {
        "Pod" => json!({"spec": {"containers": [{"name": "main", "image": "busybox"}]}}),
        "ConfigMap" => json!({"data": {"k": "v"}}),
        "Secret" => json!({"type": "Opaque", "data": {"k": "dg=="}}),
        "Lease" => json!({"spec": {"holderIdentity": "h", "leaseDurationSeconds": 10}}),
        "Event" if api_version == "v1" => json!({
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns, "apiVersion": "v1"},
            "reason": "Hostile", "message": "m", "type": "Normal",
            "source": {"component": "hostile"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
            "count": 1
        }),
        "Event" => json!({
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "example.com/hostile", "reportingInstance": "i",
            "action": "Act", "reason": "Hostile", "type": "Normal", "note": "n",
            "regarding": {"kind": "Pod", "name": "p", "namespace": ns, "apiVersion": "v1"}
        }),
        "TokenReview" => json!({"spec": {"token": "not-a-token"}}),
        "SelfSubjectReview" => json!({}),
        "SelfSubjectAccessReview" => json!({
            "spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": ns}}
        }),
        "LocalSubjectAccessReview" => json!({
            "spec": {"user": "u", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": ns}}
        }),
        "SubjectAccessReview" => json!({
            "spec": {"user": "u", "resourceAttributes": {"verb": "get", "resource": "pods"}}
        }),
        "SelfSubjectRulesReview" => json!({"spec": {"namespace": ns}}),
        _ => json!({}),
    };
    if kind == "SelfSubjectAccessReview" {
        // its validation requires empty metadata
        obj["metadata"] = json!({});
    }
    if let (Some(o), Some(e)) = (obj.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    obj
}
