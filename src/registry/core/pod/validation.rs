//! Pod validation on create, after kube's `ValidatePodCreate`, `validatePodMetadataAndSpec` and
//! `ValidatePodSpec` (pkg/apis/core/validation/validation.go).
//!
//! A deliberate subset: every check implemented uses kube's field path and message, in kube's
//! order. Generic object metadata (name, namespace, labels, annotations) is checked by the store;
//! affinity, topology spread, resource claims, sysctls and OS-specific security fields are not
//! checked yet. Container checks live in `containers.rs`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PodSecurityContext, PodSpec, Toleration, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::checks::{inclusive_range_error, invalid_each, validate_ip};
use super::containers::{
    PodContext, validate_containers, validate_ephemeral_containers, validate_image_whitespace,
    validate_init_containers,
};
use super::defaults::volume_source_names;
use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::validation::{
    is_dns1123_label, is_dns1123_subdomain, is_label_value, is_qualified_name,
    name_is_dns_subdomain, validate_labels,
};

/// Annotation marking a static pod's mirror.
pub(super) const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";
/// Annotation ranking pods for scale-down.
const POD_DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";

/// `ValidatePodCreate`: the pod's spec and pod-specific annotations, plus what only a create may
/// not do (ephemeral containers, a node name while scheduling gates remain).
pub fn validate_pod_create(meta: &ObjectMeta, spec: &PodSpec) -> FieldErrors {
    let mut errs = validate_pod_metadata_and_spec(meta, spec);
    let spec_path = Path::new("spec");
    if spec
        .ephemeral_containers
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        errs.push(FieldError::forbidden(
            spec_path.child("ephemeralContainers"),
            "cannot be set on create",
        ));
    }
    let gated = spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|g| !g.is_empty());
    if gated && !spec.node_name.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::forbidden(
            spec_path.child("nodeName"),
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    errs
}

/// `validatePodMetadataAndSpec`, without the generic `ValidateObjectMeta` the store runs.
pub(super) fn validate_pod_metadata_and_spec(meta: &ObjectMeta, spec: &PodSpec) -> FieldErrors {
    let spec_path = Path::new("spec");
    let mut errs = validate_pod_specific_annotations(meta, spec);
    errs.extend(validate_pod_spec(spec, &spec_path));
    if spec
        .service_account_name
        .as_deref()
        .unwrap_or("")
        .is_empty()
    {
        for (vi, v) in spec.volumes.iter().flatten().enumerate() {
            let Some(projected) = &v.projected else {
                continue;
            };
            for (si, source) in projected.sources.iter().flatten().enumerate() {
                if source.service_account_token.is_some() {
                    let p = spec_path.child("volumes").index(vi).child("projected");
                    errs.push(FieldError::forbidden(
                        p.child("sources").index(si).child("serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    for (field, list) in [
        ("containers", Some(&spec.containers)),
        ("initContainers", spec.init_containers.as_ref()),
    ] {
        for (i, c) in list.into_iter().flatten().enumerate() {
            errs.extend(validate_image_whitespace(
                c,
                &spec_path.child(field).index(i),
            ));
        }
    }
    errs
}

/// `ValidatePodSpecificAnnotations`: the mirror-pod annotation needs a node, the deletion cost
/// must be an int32.
pub(super) fn validate_pod_specific_annotations(meta: &ObjectMeta, spec: &PodSpec) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let path = Path::new("metadata").child("annotations");
    let Some(annotations) = &meta.annotations else {
        return errs;
    };
    if let Some(value) = annotations.get(MIRROR_POD_ANNOTATION)
        && spec.node_name.as_deref().unwrap_or("").is_empty()
    {
        errs.push(FieldError::invalid(
            path.key(MIRROR_POD_ANNOTATION),
            value.as_str(),
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    if let Some(cost) = annotations.get(POD_DELETION_COST_ANNOTATION)
        && cost.parse::<i32>().is_err()
    {
        errs.push(FieldError::invalid(
            path.key(POD_DELETION_COST_ANNOTATION),
            cost.as_str(),
            "must be a 32bit integer",
        ));
    }
    errs
}

/// `ValidatePodSpec`, in kube's order.
pub(super) fn validate_pod_spec(spec: &PodSpec, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if spec.termination_grace_period_seconds.is_none() {
        errs.push(FieldError::required(
            path.child("terminationGracePeriodSeconds"),
            "",
        ));
    }
    let (volumes, volume_errs) = validate_volumes(
        spec.volumes.as_deref().unwrap_or(&[]),
        &path.child("volumes"),
    );
    errs.extend(volume_errs);
    let pod = PodContext {
        volumes: &volumes,
        grace_period: spec.termination_grace_period_seconds,
    };
    let init = spec.init_containers.as_deref().unwrap_or(&[]);
    errs.extend(validate_containers(
        &spec.containers,
        &pod,
        &path.child("containers"),
    ));
    errs.extend(validate_init_containers(
        init,
        &spec.containers,
        &pod,
        &path.child("initContainers"),
    ));
    errs.extend(validate_ephemeral_containers(
        spec.ephemeral_containers.as_deref().unwrap_or(&[]),
        &spec.containers,
        init,
        &pod,
        &path.child("ephemeralContainers"),
    ));
    errs.extend(validate_host_network_ports(spec, path));
    errs.extend(one_of(
        spec.restart_policy.as_deref(),
        &["Always", "OnFailure", "Never"],
        &path.child("restartPolicy"),
    ));
    errs.extend(one_of(
        spec.dns_policy.as_deref(),
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        &path.child("dnsPolicy"),
    ));
    errs.extend(validate_labels(
        spec.node_selector.as_ref(),
        &path.child("nodeSelector"),
    ));
    if let Some(sc) = &spec.security_context {
        errs.extend(validate_pod_security_context(
            sc,
            spec,
            &path.child("securityContext"),
        ));
    }
    errs.extend(validate_dns_config(spec, &path.child("dnsConfig")));
    for (i, gate) in spec.readiness_gates.iter().flatten().enumerate() {
        let p = path.child("readinessGates").index(i).child("conditionType");
        errs.extend(invalid_each(
            &p,
            &gate.condition_type,
            is_qualified_name(&gate.condition_type),
        ));
    }
    let mut seen_gates = BTreeSet::new();
    for (i, gate) in spec.scheduling_gates.iter().flatten().enumerate() {
        let p = path.child("schedulingGates").index(i);
        errs.extend(invalid_each(&p, &gate.name, is_qualified_name(&gate.name)));
        if !seen_gates.insert(gate.name.as_str()) {
            errs.push(FieldError::duplicate(&p, gate.name.as_str()));
        }
    }
    for (field, value) in [
        ("serviceAccountName", spec.service_account_name.as_deref()),
        ("nodeName", spec.node_name.as_deref()),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            errs.extend(invalid_each(
                &path.child(field),
                v,
                name_is_dns_subdomain(v, false),
            ));
        }
    }
    if let Some(v) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&v)
    {
        errs.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            v,
            inclusive_range_error(1, i64::from(i32::MAX)),
        ));
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            errs.extend(invalid_each(&path.child(field), v, is_dns1123_label(v)));
        }
    }
    errs.extend(validate_tolerations(
        spec.tolerations.as_deref().unwrap_or(&[]),
        &path.child("tolerations"),
    ));
    for (i, alias) in spec.host_aliases.iter().flatten().enumerate() {
        let p = path.child("hostAliases").index(i);
        errs.extend(validate_ip(&alias.ip, &p.child("ip")));
        for (j, host) in alias.hostnames.iter().flatten().enumerate() {
            errs.extend(invalid_each(
                &p.child("hostnames").index(j),
                host,
                is_dns1123_subdomain(host),
            ));
        }
    }
    for (field, value) in [
        ("priorityClassName", spec.priority_class_name.as_deref()),
        ("runtimeClassName", spec.runtime_class_name.as_deref()),
    ] {
        let value = value.filter(|v| field == "runtimeClassName" || !v.is_empty());
        if let Some(v) = value {
            errs.extend(invalid_each(
                &path.child(field),
                v,
                name_is_dns_subdomain(v, false),
            ));
        }
    }
    if let Some(policy) = &spec.preemption_policy {
        errs.extend(one_of(
            Some(policy),
            &["PreemptLowerPriority", "Never"],
            &path.child("preemptionPolicy"),
        ));
    }
    if let Some(os) = &spec.os
        && os.name != "linux"
        && os.name != "windows"
    {
        errs.push(FieldError::not_supported(
            path.child("os").child("name"),
            os.name.as_str(),
            &["linux", "windows"],
        ));
    }
    errs
}

/// Required when empty, NotSupported when not one of `supported`.
fn one_of(value: Option<&str>, supported: &[&str], path: &Path) -> FieldErrors {
    match value.unwrap_or("") {
        "" => vec![FieldError::required(path, "")],
        v if supported.contains(&v) => Vec::new(),
        v => vec![FieldError::not_supported(path, v, supported)],
    }
}

/// `ValidateVolumes`: one source per volume, DNS-label names, no duplicates. Returns the valid
/// volumes by name, for the volume-mount checks.
fn validate_volumes<'a>(
    volumes: &'a [Volume],
    path: &Path,
) -> (BTreeMap<String, &'a Volume>, FieldErrors) {
    let mut errs = FieldErrors::new();
    let mut by_name = BTreeMap::new();
    for (i, v) in volumes.iter().enumerate() {
        let p = path.index(i);
        let name_path = p.child("name");
        let mut el = validate_volume_source(v, &p);
        if v.name.is_empty() {
            el.push(FieldError::required(&name_path, ""));
        } else {
            el.extend(invalid_each(&name_path, &v.name, is_dns1123_label(&v.name)));
        }
        if by_name.contains_key(&v.name) {
            el.push(FieldError::duplicate(&name_path, v.name.as_str()));
        }
        if el.is_empty() {
            by_name.insert(v.name.clone(), v);
        } else {
            errs.extend(el);
        }
    }
    (by_name, errs)
}

const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";

fn validate_volume_source(v: &Volume, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let sources: Vec<&str> = volume_source_names(v).collect();
    if sources.is_empty() {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    for extra in sources.iter().skip(1) {
        errs.push(FieldError::forbidden(
            path.child(extra),
            "may not specify more than 1 volume type",
        ));
    }
    match sources.first().copied() {
        Some("hostPath") if v.host_path.as_ref().is_some_and(|h| h.path.is_empty()) => {
            errs.push(FieldError::required(
                path.child("hostPath").child("path"),
                "",
            ));
        }
        Some("secret") => {
            let s = v.secret.as_ref();
            if s.and_then(|s| s.secret_name.as_deref())
                .unwrap_or("")
                .is_empty()
            {
                errs.push(FieldError::required(
                    path.child("secret").child("secretName"),
                    "",
                ));
            }
            errs.extend(file_mode(
                s.and_then(|s| s.default_mode),
                &path.child("secret").child("defaultMode"),
            ));
        }
        Some("configMap") => {
            let c = v.config_map.as_ref();
            if c.map(|c| c.name.as_str()).unwrap_or("").is_empty() {
                errs.push(FieldError::required(
                    path.child("configMap").child("name"),
                    "",
                ));
            }
            errs.extend(file_mode(
                c.and_then(|c| c.default_mode),
                &path.child("configMap").child("defaultMode"),
            ));
        }
        Some("persistentVolumeClaim")
            if v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| c.claim_name.is_empty()) =>
        {
            let p = path.child("persistentVolumeClaim").child("claimName");
            errs.push(FieldError::required(p, ""));
        }
        _ => {}
    }
    errs
}

fn file_mode(mode: Option<i32>, path: &Path) -> FieldErrors {
    match mode {
        Some(m) if !(0..=0o777).contains(&m) => vec![FieldError::invalid(path, m, FILE_MODE_ERROR)],
        _ => Vec::new(),
    }
}

/// `validatePodHostNetworkDeps`: with host networking a pod's host ports equal its container
/// ports.
fn validate_host_network_ports(spec: &PodSpec, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if spec.host_network != Some(true) {
        return errs;
    }
    for (i, c) in spec.containers.iter().enumerate() {
        for (j, port) in c.ports.iter().flatten().enumerate() {
            let host = port.host_port.unwrap_or(0);
            if host != port.container_port {
                let p = path
                    .child("containers")
                    .index(i)
                    .child("ports")
                    .index(j)
                    .child("hostPort");
                errs.push(FieldError::invalid(
                    p,
                    host,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
    errs
}

/// The parts of `validatePodSpecSecurityContext` that need no feature gates.
fn validate_pod_security_context(
    sc: &PodSecurityContext,
    spec: &PodSpec,
    path: &Path,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let id_range = inclusive_range_error(0, i64::from(i32::MAX));
    let ids = [
        ("fsGroup", sc.fs_group),
        ("runAsUser", sc.run_as_user),
        ("runAsGroup", sc.run_as_group),
    ];
    for (field, id) in ids {
        if let Some(id) = id.filter(|id| !(0..=i64::from(i32::MAX)).contains(id)) {
            errs.push(FieldError::invalid(
                path.child(field),
                id,
                id_range.as_str(),
            ));
        }
    }
    for (i, gid) in sc.supplemental_groups.iter().flatten().enumerate() {
        if !(0..=i64::from(i32::MAX)).contains(gid) {
            let p = path.child("supplementalGroups").index(i);
            errs.push(FieldError::invalid(p, *gid, id_range.as_str()));
        }
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid(
            path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    errs
}

/// `validatePodDNSConfig`: `None` needs nameservers; at most 3 nameservers, 32 search paths.
fn validate_dns_config(spec: &PodSpec, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let config = spec.dns_config.as_ref();
    let nameservers = config.and_then(|c| c.nameservers.as_deref()).unwrap_or(&[]);
    if spec.dns_policy.as_deref() == Some("None") {
        if config.is_none() {
            return vec![FieldError::required(
                path,
                "must provide `dnsConfig` when `dnsPolicy` is None",
            )];
        }
        if nameservers.is_empty() {
            return vec![FieldError::required(
                path.child("nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )];
        }
    }
    let Some(config) = config else { return errs };
    if nameservers.len() > 3 {
        errs.push(FieldError::invalid(
            path.child("nameservers"),
            serde_json::json!(nameservers),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, ns) in nameservers.iter().enumerate() {
        errs.extend(validate_ip(ns, &path.child("nameservers").index(i)));
    }
    let searches = config.searches.as_deref().unwrap_or(&[]);
    if searches.len() > 32 {
        errs.push(FieldError::invalid(
            path.child("searches"),
            serde_json::json!(searches),
            "must not have more than 32 search paths",
        ));
    }
    for (i, option) in config.options.iter().flatten().enumerate() {
        if option.name.as_deref().unwrap_or("").is_empty() {
            errs.push(FieldError::required(
                path.child("options").index(i),
                "must not be empty",
            ));
        }
    }
    errs
}

/// `ValidateTolerations`.
pub(super) fn validate_tolerations(tolerations: &[Toleration], path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (i, t) in tolerations.iter().enumerate() {
        let p = path.index(i);
        let key = t.key.as_deref().unwrap_or("");
        let operator = t.operator.as_deref().unwrap_or("");
        let value = t.value.as_deref().unwrap_or("");
        let effect = t.effect.as_deref().unwrap_or("");
        if !key.is_empty() {
            errs.extend(invalid_each(&p.child("key"), key, is_qualified_name(key)));
        }
        if key.is_empty() && operator != "Exists" {
            errs.push(FieldError::invalid(
                p.child("operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                p.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "Equal" | "" => {
                let msgs = is_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        p.child("operator"),
                        value,
                        msgs.join(";"),
                    ));
                }
            }
            "Exists" if !value.is_empty() => errs.push(FieldError::invalid(
                p.child("operator"),
                value,
                "value must be empty when `operator` is 'Exists'",
            )),
            "Exists" => {}
            other => errs.push(FieldError::not_supported(
                p.child("operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() && !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
        {
            errs.push(FieldError::not_supported(
                p.child("effect"),
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    errs
}
