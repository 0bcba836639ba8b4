//! Capstan's own wire types.
//!
//! `capstan.dev/v1` `Pod` has exactly the shape of a core/v1 Pod (`metadata`, `spec: PodSpec`,
//! `status: PodStatus`) but its own group, so it is declared with kube-derive (DECISIONS.md):
//! the derive gives the `kube::Resource` impl, the serialiser that writes
//! `apiVersion: capstan.dev/v1` and `kind: Pod`, an OpenAPI schema, and an `Api<CapstanPod>`
//! client for tests.
//!
//! kube-derive makes the root's `spec` field required, so a body without `spec` would fail to
//! decode (400) where kube-apiserver decodes it into an empty spec and answers 422
//! `spec.containers: Required value`. [`CapstanPodSpec`] therefore decodes through `Option`:
//! serde asks a missing field for `deserialize_option`, which yields `None`, which becomes the
//! empty spec. On the wire the wrapper is transparent, so JSON round-trips exactly.

use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// The spec of a `capstan.dev/v1` Pod: a core/v1 `PodSpec`, serialised as one.
///
/// ```
/// use capstan::api::types::CapstanPod;
/// let pod: CapstanPod = serde_json::from_value(serde_json::json!({
///     "apiVersion": "capstan.dev/v1", "kind": "Pod", "metadata": {"name": "p"}
/// })).unwrap();
/// assert!(pod.spec.pod.containers.is_empty());
/// assert_eq!(serde_json::to_value(&pod).unwrap()["apiVersion"], "capstan.dev/v1");
/// ```
#[derive(CustomResource, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "capstan.dev",
    version = "v1",
    kind = "Pod",
    root = "CapstanPod",
    plural = "pods",
    singular = "pod",
    namespaced,
    status = "PodStatus",
    shortname = "po",
    category = "all",
    derive = "Default",
    derive = "PartialEq",
    doc = "Pod is a collection of containers that can run on a host, kept by Capstan in its own \
           API group. It has exactly the shape of a core/v1 Pod: standard object metadata, the \
           desired behaviour in spec (a core/v1 PodSpec) and the most recently observed state in \
           status (a core/v1 PodStatus)."
)]
#[serde(transparent)]
pub struct CapstanPodSpec {
    /// The core/v1 spec itself.
    pub pod: PodSpec,
}

impl<'de> Deserialize<'de> for CapstanPodSpec {
    /// Absent or `null` decodes to the empty spec, as Go's zero value does (see the module docs).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pod = Option::<PodSpec>::deserialize(deserializer)?.unwrap_or_default();
        Ok(Self { pod })
    }
}

impl From<PodSpec> for CapstanPodSpec {
    fn from(pod: PodSpec) -> Self {
        Self { pod }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    use super::*;

    fn full_pod() -> serde_json::Value {
        json!({
            "apiVersion": "capstan.dev/v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30
            },
            "status": {"phase": "Pending", "qosClass": "BestEffort"}
        })
    }

    #[test]
    fn kind_and_api_version_are_capstan_dev() {
        use kube::Resource;
        assert_eq!(CapstanPod::api_version(&()), "capstan.dev/v1");
        assert_eq!(CapstanPod::kind(&()), "Pod");
        assert_eq!(CapstanPod::plural(&()), "pods");
        let pod = CapstanPod::new("p", CapstanPodSpec::default());
        let v = serde_json::to_value(&pod).unwrap();
        assert_eq!(v["apiVersion"], "capstan.dev/v1");
        assert_eq!(v["kind"], "Pod");
    }

    #[test]
    fn json_round_trips_exactly() {
        let body = full_pod();
        let pod: CapstanPod = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(serde_json::to_value(&pod).unwrap(), body);
    }

    #[test]
    fn same_shape_as_a_core_pod() {
        let mut body = full_pod();
        let pod: CapstanPod = serde_json::from_value(body.clone()).unwrap();
        body["apiVersion"] = json!("v1");
        let core: Pod = serde_json::from_value(body).unwrap();
        assert_eq!(Some(&pod.spec.pod), core.spec.as_ref());
        assert_eq!(pod.status, core.status);
        assert_eq!(pod.metadata, core.metadata);
    }

    #[test]
    fn a_body_without_spec_decodes_to_an_empty_spec() {
        let pod: CapstanPod = serde_json::from_value(json!({
            "apiVersion": "capstan.dev/v1", "kind": "Pod", "metadata": {"name": "p"}
        }))
        .unwrap();
        assert_eq!(pod.spec, CapstanPodSpec::default());
        let null_spec: CapstanPod =
            serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": null})).unwrap();
        assert_eq!(null_spec.spec, CapstanPodSpec::default());
    }

    #[test]
    fn a_malformed_spec_still_fails() {
        let err = serde_json::from_value::<CapstanPod>(json!({
            "metadata": {"name": "p"}, "spec": {"containers": "nope"}
        }));
        assert!(err.is_err());
    }
}

#[cfg(test)]
mod schema_tests {
    use kube::CustomResourceExt;

    use super::CapstanPod;

    /// The derive's CRD (and its schema, which OpenAPI documents can reuse) builds.
    #[test]
    fn crd_builds_with_the_pod_schema() {
        let crd = CapstanPod::crd();
        assert_eq!(crd.metadata.name.as_deref(), Some("pods.capstan.dev"));
        let names = &crd.spec.names;
        assert_eq!(names.short_names.as_deref(), Some(&["po".to_string()][..]));
        assert_eq!(names.categories.as_deref(), Some(&["all".to_string()][..]));
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
        let spec = &schema["openAPIV3Schema"]["properties"]["spec"];
        assert!(spec["properties"]["containers"].is_object(), "{spec}");
    }
}
