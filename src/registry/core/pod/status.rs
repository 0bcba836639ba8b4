//! The `pods/status` strategy (kube's `podStatusStrategy`) and the pod-condition helper shared
//! with binding.
//!
//! An update through `/status` keeps the old spec, owner references and deletion timestamp,
//! backfills the QoS class and observed generations a client left out, and validates the status
//! after kube's `ValidatePodStatusUpdate` (a subset: conditions, nominated node, QoS
//! immutability, container state transitions, pod IPs).

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::PodObject;
use super::checks::invalid_each;
use super::warnings::ip_warnings;
use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::table::TableColumnDefinition;
use crate::api::validation::{is_qualified_name, name_is_dns_subdomain, validate_immutable_field};
use crate::registry::{RequestContext, Strategy};

/// The strategy of `pods/status` for either pod type.
pub struct PodStatusStrategy<T> {
    kind: PhantomData<fn() -> T>,
}

impl<T> Default for PodStatusStrategy<T> {
    fn default() -> Self {
        Self { kind: PhantomData }
    }
}

impl<T: PodObject> Strategy for PodStatusStrategy<T> {
    type Object = T;

    fn default_object(&self, obj: &mut T) {
        super::apply_defaults(obj);
    }

    /// kube's `podStatusStrategy.GetResetFields`: what `prepare_for_update` carries over.
    fn reset_fields(&self) -> &'static [&'static [&'static str]] {
        &[
            &["spec"],
            &["metadata", "deletionTimestamp"],
            &["metadata", "ownerReferences"],
        ]
    }

    fn validate(&self, _ctx: &RequestContext, _obj: &T) -> FieldErrors {
        // `/status` never creates.
        FieldErrors::new()
    }

    fn prepare_for_update(&self, _ctx: &RequestContext, new: &mut T, old: &T) {
        *new.pod_spec_mut() = old.pod_spec().cloned().unwrap_or_default();
        let old_meta = old.meta();
        let meta = new.meta_mut();
        meta.deletion_timestamp
            .clone_from(&old_meta.deletion_timestamp);
        meta.owner_references.clone_from(&old_meta.owner_references);
        meta.generation = old_meta.generation;
        let old_status = old.pod_status().cloned().unwrap_or_default();
        let status = new.pod_status_mut().get_or_insert_with(PodStatus::default);
        if status.qos_class.as_deref().unwrap_or("").is_empty() {
            status.qos_class.clone_from(&old_status.qos_class);
        }
        preserve_observed_generation(status, &old_status);
    }

    fn validate_update(&self, _ctx: &RequestContext, new: &T, old: &T) -> FieldErrors {
        let empty = PodSpec::default();
        validate_pod_status_update(
            new.meta(),
            new.pod_spec().unwrap_or(&empty),
            new.pod_status(),
            old.meta(),
            old.pod_spec().unwrap_or(&empty),
            old.pod_status(),
        )
    }

    /// kube's `podStatusStrategy.WarningsOnUpdate`: pod and host IPs in non-standard forms.
    fn warnings_on_update(&self, _ctx: &RequestContext, new: &T, _old: &T) -> Vec<String> {
        let Some(status) = new.pod_status() else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        let status_path = Path::new("status");
        for (i, ip) in status.pod_ips.iter().flatten().enumerate() {
            let path = status_path.child("podIPs").index(i).child("ip");
            warnings.extend(ip_warnings(&path, &ip.ip));
        }
        for (i, ip) in status.host_ips.iter().flatten().enumerate() {
            let path = status_path.child("hostIPs").index(i).child("ip");
            warnings.extend(ip_warnings(&path, &ip.ip));
        }
        warnings
    }

    fn table_columns(&self) -> Option<Vec<TableColumnDefinition>> {
        Some(super::table::pod_columns())
    }

    fn table_row(&self, obj: &T) -> Vec<serde_json::Value> {
        super::table::pod_row(obj, jiff::Timestamp::now())
    }
}

/// `preserveOldObservedGeneration`: a client that leaves `observedGeneration` out (on the status
/// or a condition) keeps the old value.
fn preserve_observed_generation(new: &mut PodStatus, old: &PodStatus) {
    if new.observed_generation.unwrap_or(0) == 0 {
        new.observed_generation = old.observed_generation;
    }
    let mut old_by_type: BTreeMap<&str, Vec<Option<i64>>> = BTreeMap::new();
    for c in old.conditions.iter().flatten() {
        old_by_type
            .entry(c.type_.as_str())
            .or_default()
            .push(c.observed_generation);
    }
    for c in new.conditions.iter_mut().flatten() {
        let old_gen = old_by_type
            .get_mut(c.type_.as_str())
            .and_then(|gens| (!gens.is_empty()).then(|| gens.remove(0)))
            .flatten();
        if c.observed_generation.unwrap_or(0) == 0 {
            c.observed_generation = old_gen;
        }
    }
}

/// `ValidatePodStatusUpdate`, the parts that need no feature gates.
pub fn validate_pod_status_update(
    new_meta: &ObjectMeta,
    new_spec: &PodSpec,
    new_status: Option<&PodStatus>,
    old_meta: &ObjectMeta,
    old_spec: &PodSpec,
    old_status: Option<&PodStatus>,
) -> FieldErrors {
    let default = PodStatus::default();
    let new = new_status.unwrap_or(&default);
    let old = old_status.unwrap_or(&default);
    let mut errs =
        super::update::validate_pod_specific_annotation_updates(new_meta, old_meta, new_spec);
    // kube reports condition types under `metadata.conditions` (sic).
    let system = ["PodScheduled", "Ready", "Initialized"];
    for (i, c) in new.conditions.iter().flatten().enumerate() {
        if !system.contains(&c.type_.as_str()) {
            let p = Path::new("metadata")
                .child("conditions")
                .index(i)
                .child("Type");
            errs.extend(invalid_each(&p, &c.type_, is_qualified_name(&c.type_)));
        }
    }
    let status_path = Path::new("status");
    if new_spec.node_name != old_spec.node_name {
        errs.push(FieldError::forbidden(
            status_path.child("nodeName"),
            "may not be changed directly",
        ));
    }
    let nominated = new.nominated_node_name.as_deref().unwrap_or("");
    if new.nominated_node_name != old.nominated_node_name && !nominated.is_empty() {
        errs.extend(invalid_each(
            &status_path.child("nominatedNodeName"),
            nominated,
            name_is_dns_subdomain(nominated, false),
        ));
    }
    errs.extend(validate_immutable_field(
        &new.qos_class.clone().unwrap_or_default(),
        &old.qos_class.clone().unwrap_or_default(),
        &status_path.child("qosClass"),
    ));
    let restart = old_spec.restart_policy.as_deref().unwrap_or("");
    errs.extend(validate_state_transitions(
        new.container_statuses.as_deref().unwrap_or(&[]),
        old.container_statuses.as_deref().unwrap_or(&[]),
        &status_path.child("containerStatuses"),
        restart,
    ));
    errs.extend(validate_pod_ips(new, &status_path.child("podIPs")));
    errs
}

/// `ValidateContainerStateTransition`: unless the pod restarts always, a terminated container
/// (that may not restart on failure) stays terminated.
fn validate_state_transitions(
    new: &[ContainerStatus],
    old: &[ContainerStatus],
    path: &Path,
    restart_policy: &str,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if restart_policy == "Always" {
        return errs;
    }
    for (i, o) in old.iter().enumerate() {
        let Some(terminated) = o.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
            continue;
        };
        if terminated.exit_code != 0 && restart_policy == "OnFailure" {
            continue;
        }
        for n in new.iter().filter(|n| n.name == o.name) {
            if n.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .is_none()
            {
                errs.push(FieldError::forbidden(
                    path.index(i).child("state"),
                    "may not be transitioned to non-terminated state",
                ));
            }
        }
    }
    errs
}

/// `validatePodIPs`: valid, at most one per family, no duplicates.
fn validate_pod_ips(status: &PodStatus, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let ips = status.pod_ips.as_deref().unwrap_or(&[]);
    let mut parsed = Vec::new();
    for (i, ip) in ips.iter().enumerate() {
        match ip.ip.parse::<IpAddr>() {
            Ok(addr) => parsed.push(addr),
            Err(_) => errs.push(FieldError::invalid(
                path.index(i),
                ip.ip.as_str(),
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            )),
        }
    }
    if ips.len() > 1 {
        let dual = parsed.len() == 2 && parsed[0].is_ipv4() != parsed[1].is_ipv4();
        if !dual {
            errs.push(FieldError::invalid(
                path,
                serde_json::to_value(ips).unwrap_or_default(),
                "may specify no more than one IP for each IP family",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, ip) in ips.iter().enumerate() {
            if !seen.insert(ip.ip.as_str()) {
                errs.push(FieldError::duplicate(
                    path.index(i),
                    serde_json::to_value(ip).unwrap_or_default(),
                ));
            }
        }
    }
    errs
}

/// kube's `podutil.UpdatePodCondition`: adds the condition, or replaces the one of its type,
/// keeping the old transition time when the status did not change.
pub fn update_pod_condition(
    status: &mut PodStatus,
    mut condition: PodCondition,
    now: jiff::Timestamp,
) {
    condition.last_transition_time = Some(Time(truncate_to_seconds(now)));
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        None => conditions.push(condition),
        Some(old) => {
            if old.status == condition.status {
                condition
                    .last_transition_time
                    .clone_from(&old.last_transition_time);
            }
            *old = condition;
        }
    }
}

/// kube's timestamps have second precision on the wire.
pub(super) fn truncate_to_seconds(t: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(t.as_second()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, PodIP,
    };

    use super::*;

    fn cond(t: &str, s: &str) -> PodCondition {
        PodCondition {
            type_: t.into(),
            status: s.into(),
            ..Default::default()
        }
    }

    #[test]
    fn update_pod_condition_adds_and_keeps_transition_time() {
        let t0 = jiff::Timestamp::from_second(1_000).unwrap();
        let t1 = jiff::Timestamp::from_second(2_000).unwrap();
        let mut status = PodStatus::default();
        update_pod_condition(&mut status, cond("PodScheduled", "False"), t0);
        update_pod_condition(&mut status, cond("PodScheduled", "False"), t1);
        let c = &status.conditions.as_ref().unwrap()[0];
        assert_eq!(c.last_transition_time, Some(Time(t0)));
        update_pod_condition(&mut status, cond("PodScheduled", "True"), t1);
        let conditions = status.conditions.as_ref().unwrap();
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].status, "True");
        assert_eq!(conditions[0].last_transition_time, Some(Time(t1)));
    }

    #[test]
    fn observed_generations_are_preserved() {
        let old = PodStatus {
            observed_generation: Some(3),
            conditions: Some(vec![PodCondition {
                observed_generation: Some(2),
                ..cond("Ready", "True")
            }]),
            ..Default::default()
        };
        let mut new = PodStatus {
            conditions: Some(vec![cond("Ready", "False")]),
            ..Default::default()
        };
        preserve_observed_generation(&mut new, &old);
        assert_eq!(new.observed_generation, Some(3));
        assert_eq!(new.conditions.unwrap()[0].observed_generation, Some(2));
    }

    fn validate(new: &PodStatus, old: &PodStatus, restart: &str) -> Vec<String> {
        let spec = PodSpec {
            restart_policy: Some(restart.into()),
            ..Default::default()
        };
        let meta = ObjectMeta::default();
        validate_pod_status_update(&meta, &spec, Some(new), &meta, &spec, Some(old))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn qos_class_is_immutable() {
        let old = PodStatus {
            qos_class: Some("BestEffort".into()),
            ..Default::default()
        };
        let new = PodStatus {
            qos_class: Some("Guaranteed".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&new, &old, "Always"),
            vec!["status.qosClass: Invalid value: \"Guaranteed\": field is immutable"]
        );
    }

    #[test]
    fn terminated_containers_stay_terminated_unless_restarting() {
        let terminated = ContainerStatus {
            name: "c".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated::default()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let running = ContainerStatus {
            name: "c".into(),
            state: Some(ContainerState {
                running: Some(ContainerStateRunning::default()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let old = PodStatus {
            container_statuses: Some(vec![terminated]),
            ..Default::default()
        };
        let new = PodStatus {
            container_statuses: Some(vec![running]),
            ..Default::default()
        };
        assert_eq!(
            validate(&new, &old, "Never"),
            vec![
                "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"
            ]
        );
        assert!(validate(&new, &old, "Always").is_empty());
    }

    #[test]
    fn pod_ips_must_be_valid_and_one_per_family() {
        let ip = |s: &str| PodIP { ip: s.into() };
        let new = PodStatus {
            pod_ips: Some(vec![ip("10.0.0.1"), ip("10.0.0.2")]),
            ..Default::default()
        };
        let errs = validate(&new, &PodStatus::default(), "Always");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("status.podIPs: Invalid value"),
            "{errs:?}"
        );
        let bad = PodStatus {
            pod_ips: Some(vec![ip("nope")]),
            ..Default::default()
        };
        assert_eq!(
            validate(&bad, &PodStatus::default(), "Always"),
            vec![
                "status.podIPs[0]: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            ]
        );
    }

    #[test]
    fn custom_condition_types_must_be_qualified_names() {
        let new = PodStatus {
            conditions: Some(vec![cond("bad type!", "True"), cond("Ready", "True")]),
            ..Default::default()
        };
        let errs = validate(&new, &PodStatus::default(), "Always");
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("metadata.conditions[0].Type: Invalid value: \"bad type!\""),
            "{errs:?}"
        );
    }
}
