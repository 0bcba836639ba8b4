//! A pod's QoS class, as kube's `qos.ComputePodQOS` (pkg/apis/core/helper/qos/qos.go) computes
//! it at creation.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::api::quantity::ParsedQuantity;

/// Only CPU and memory decide the class.
const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// `BestEffort`, `Burstable` or `Guaranteed`.
///
/// A pod is BestEffort when no container requests or limits CPU or memory, Guaranteed when every
/// container (init containers included) limits both and requests equal limits, Burstable
/// otherwise. Pod-level `spec.resources`, when they name CPU or memory, replace the per-container
/// computation (the PodLevelResources feature, on by default).
///
/// ```
/// use capstan::registry::core::pod::qos::compute_pod_qos;
/// let spec = serde_json::from_value(serde_json::json!({"containers": [{"name": "c"}]})).unwrap();
/// assert_eq!(compute_pod_qos(&spec), "BestEffort");
/// ```
pub fn compute_pod_qos(spec: &PodSpec) -> &'static str {
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    let mut guaranteed = true;
    if let Some(pod_level) = spec.resources.as_ref().filter(|r| names_qos_resource(r)) {
        add_positive(&mut requests, pod_level.requests.as_ref());
        if let Some(l) = pod_level.limits.as_ref().filter(|l| !l.is_empty()) {
            add_positive(&mut limits, Some(l));
            guaranteed &= positive_names(l).is_superset(&BTreeSet::from(QOS_RESOURCES));
        }
    } else {
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            let res = c.resources.as_ref();
            add_positive(&mut requests, res.and_then(|r| r.requests.as_ref()));
            let container_limits = res.and_then(|r| r.limits.as_ref());
            add_positive(&mut limits, container_limits);
            let found = container_limits.map(positive_names).unwrap_or_default();
            guaranteed &= found.is_superset(&BTreeSet::from(QOS_RESOURCES));
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        guaranteed = requests
            .iter()
            .all(|(name, req)| limits.get(name) == Some(req));
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// kube's `isPodLevelResourcesSet`: pod-level resources count only when they name a resource
/// supported at pod level (CPU, memory, hugepages).
fn names_qos_resource(r: &ResourceRequirements) -> bool {
    let supported = |n: &String| QOS_RESOURCES.contains(&n.as_str()) || n.starts_with("hugepages-");
    let names = r
        .requests
        .iter()
        .chain(r.limits.iter())
        .flat_map(|m| m.keys());
    names.into_iter().any(supported)
}

fn parse(q: &Quantity) -> ParsedQuantity {
    // An unparseable quantity fails validation later; here it simply counts as zero.
    q.0.parse().unwrap_or_default()
}

fn add_positive(
    sum: &mut BTreeMap<&'static str, ParsedQuantity>,
    list: Option<&BTreeMap<String, Quantity>>,
) {
    for (name, q) in list.into_iter().flatten() {
        let Some(&key) = QOS_RESOURCES.iter().find(|r| **r == name.as_str()) else {
            continue;
        };
        let value = parse(q);
        if value.is_positive() {
            let entry = sum.entry(key).or_insert(ParsedQuantity::ZERO);
            *entry = *entry + value;
        }
    }
}

fn positive_names(list: &BTreeMap<String, Quantity>) -> BTreeSet<&'static str> {
    QOS_RESOURCES
        .into_iter()
        .filter(|r| list.get(*r).is_some_and(|q| parse(q).is_positive()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn qos(v: serde_json::Value) -> &'static str {
        compute_pod_qos(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn best_effort_without_resources() {
        assert_eq!(
            qos(json!({"containers": [{"name": "a"}, {"name": "b"}]})),
            "BestEffort"
        );
        // Only CPU and memory count; zero quantities count as unset.
        assert_eq!(
            qos(
                json!({"containers": [{"name": "a", "resources": {"requests": {"ephemeral-storage": "1Gi", "cpu": "0"}}}]})
            ),
            "BestEffort"
        );
    }

    #[test]
    fn guaranteed_when_requests_equal_limits_everywhere() {
        let full = json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}});
        assert_eq!(
            qos(json!({"containers": [{"name": "a", "resources": full}]})),
            "Guaranteed"
        );
        assert_eq!(
            qos(
                json!({"containers": [{"name": "a", "resources": full}, {"name": "b", "resources": full}]})
            ),
            "Guaranteed"
        );
    }

    #[test]
    fn burstable_otherwise() {
        let full = json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}});
        // One container without limits.
        assert_eq!(
            qos(json!({"containers": [{"name": "a", "resources": full}, {"name": "b"}]})),
            "Burstable"
        );
        // Requests below limits.
        assert_eq!(
            qos(
                json!({"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}}}]})
            ),
            "Burstable"
        );
        // Only a CPU limit.
        assert_eq!(
            qos(
                json!({"containers": [{"name": "a", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}]})
            ),
            "Burstable"
        );
        // An init container counts too.
        assert_eq!(
            qos(
                json!({"containers": [{"name": "a", "resources": full}], "initContainers": [{"name": "i", "resources": {"requests": {"memory": "1Mi"}}}]})
            ),
            "Burstable"
        );
    }

    #[test]
    fn pod_level_resources_decide_when_set() {
        assert_eq!(
            qos(
                json!({"containers": [{"name": "a"}], "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}})
            ),
            "Guaranteed"
        );
    }
}
