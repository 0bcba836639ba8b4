//! Container validation, after kube's `validateContainers`, `validateInitContainers`,
//! `validateEphemeralContainers` and `validateContainerCommon`
//! (pkg/apis/core/validation/validation.go): the same field paths, messages and order for the
//! checks implemented here.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EphemeralContainer, Volume, VolumeMount,
};

use super::checks::{inclusive_range_error, invalid_each, is_valid_port_name};
use super::env::{validate_env, validate_env_from};
use super::probes::{validate_lifecycle, validate_probes};
use super::resources::validate_resources;
use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::validation::is_dns1123_label;

/// What container checks need to know about the pod around them.
pub(super) struct PodContext<'a> {
    pub volumes: &'a BTreeMap<String, &'a Volume>,
    pub grace_period: Option<i64>,
}

/// Regular containers: at least one, common checks, unique names, probes and lifecycle, host
/// port conflicts.
pub(super) fn validate_containers(
    containers: &[Container],
    pod: &PodContext<'_>,
    path: &Path,
) -> FieldErrors {
    if containers.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let mut errs = FieldErrors::new();
    let mut names = BTreeSet::new();
    for (i, c) in containers.iter().enumerate() {
        let p = path.index(i);
        errs.extend(validate_container_common(c, pod, &p));
        if !names.insert(c.name.as_str()) {
            errs.push(FieldError::duplicate(p.child("name"), c.name.as_str()));
        }
        if let Some(lifecycle) = &c.lifecycle {
            errs.extend(validate_lifecycle(
                lifecycle,
                pod.grace_period,
                &p.child("lifecycle"),
            ));
        }
        errs.extend(validate_probes(c, pod.grace_period, &p));
        if c.restart_policy.is_some() {
            errs.push(FieldError::forbidden(
                p.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    errs.extend(check_host_port_conflicts(containers, path));
    errs
}

/// Init containers: common checks, names unique across regular and init containers, sidecar
/// (`restartPolicy: Always`) rules.
pub(super) fn validate_init_containers(
    init: &[Container],
    regular: &[Container],
    pod: &PodContext<'_>,
    path: &Path,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let mut names: BTreeSet<&str> = regular.iter().map(|c| c.name.as_str()).collect();
    for (i, c) in init.iter().enumerate() {
        let p = path.index(i);
        errs.extend(validate_container_common(c, pod, &p));
        let mut sidecar = false;
        if let Some(policy) = c.restart_policy.as_deref() {
            if policy == "Always" {
                sidecar = true;
            } else {
                errs.push(FieldError::not_supported(
                    p.child("restartPolicy"),
                    policy,
                    &["Always"],
                ));
            }
        }
        if names.contains(c.name.as_str()) {
            errs.push(FieldError::duplicate(p.child("name"), c.name.as_str()));
        } else if !c.name.is_empty() {
            names.insert(c.name.as_str());
        }
        errs.extend(check_host_port_conflicts(std::slice::from_ref(c), path));
        if sidecar {
            if let Some(lifecycle) = &c.lifecycle {
                errs.extend(validate_lifecycle(
                    lifecycle,
                    pod.grace_period,
                    &p.child("lifecycle"),
                ));
            }
            errs.extend(validate_probes(c, pod.grace_period, &p));
        } else {
            let forbidden = "may not be set for init containers without restartPolicy=Always";
            for (field, set) in [
                ("lifecycle", c.lifecycle.is_some()),
                ("livenessProbe", c.liveness_probe.is_some()),
                ("readinessProbe", c.readiness_probe.is_some()),
                ("startupProbe", c.startup_probe.is_some()),
            ] {
                if set {
                    errs.push(FieldError::forbidden(p.child(field), forbidden));
                }
            }
        }
    }
    errs
}

/// Ephemeral containers: common checks, names unique across all containers, an existing target,
/// and none of the fields an ephemeral container may not set.
pub(super) fn validate_ephemeral_containers(
    ephemeral: &[EphemeralContainer],
    regular: &[Container],
    init: &[Container],
    pod: &PodContext<'_>,
    path: &Path,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let others: BTreeSet<&str> = regular
        .iter()
        .chain(init)
        .map(|c| c.name.as_str())
        .collect();
    let mut all = others.clone();
    for (i, ec) in ephemeral.iter().enumerate() {
        let p = path.index(i);
        let c = as_container(ec);
        errs.extend(validate_container_common(&c, pod, &p));
        errs.extend(validate_image_whitespace(&c, &p));
        if !all.insert(ec.name.as_str()) {
            errs.push(FieldError::duplicate(p.child("name"), ec.name.as_str()));
        }
        if let Some(target) = ec
            .target_container_name
            .as_deref()
            .filter(|t| !t.is_empty())
            && !others.contains(target)
        {
            errs.push(FieldError::not_found(
                p.child("targetContainerName"),
                target,
            ));
        }
        let not_allowed = "cannot be set for an Ephemeral Container";
        for (field, set) in [
            ("ports", ec.ports.as_ref().is_some_and(|v| !v.is_empty())),
            (
                "resources",
                ec.resources
                    .as_ref()
                    .is_some_and(|r| *r != Default::default()),
            ),
            ("livenessProbe", ec.liveness_probe.is_some()),
            ("readinessProbe", ec.readiness_probe.is_some()),
            ("startupProbe", ec.startup_probe.is_some()),
            ("lifecycle", ec.lifecycle.is_some()),
        ] {
            if set {
                errs.push(FieldError::forbidden(p.child(field), not_allowed));
            }
        }
        for (j, m) in ec.volume_mounts.iter().flatten().enumerate() {
            let mp = p.child("volumeMounts").index(j);
            if m.sub_path.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::forbidden(mp.child("subPath"), not_allowed));
            }
            if m.sub_path_expr.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::forbidden(mp.child("subPathExpr"), not_allowed));
            }
        }
    }
    errs
}

/// The same fields under the regular container type (kube converts the same way).
fn as_container(ec: &EphemeralContainer) -> Container {
    let value = serde_json::to_value(ec).unwrap_or_default();
    serde_json::from_value(value).unwrap_or_default()
}

/// `validateContainerOnlyForPod`: no leading or trailing whitespace in a pod's images.
pub(super) fn validate_image_whitespace(c: &Container, path: &Path) -> FieldErrors {
    let image = c.image.as_deref().unwrap_or("");
    if image.trim() != image {
        return vec![FieldError::invalid(
            path.child("image"),
            image,
            "must not have leading or trailing whitespace",
        )];
    }
    Vec::new()
}

/// `validateContainerCommon`: name, image, termination message policy, ports, env, mounts, pull
/// policy, resources.
fn validate_container_common(c: &Container, pod: &PodContext<'_>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let name_path = path.child("name");
    if c.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.extend(invalid_each(&name_path, &c.name, is_dns1123_label(&c.name)));
    }
    if c.image.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required(path.child("image"), ""));
    }
    match c.termination_message_policy.as_deref().unwrap_or("") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            path.child("terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            path.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_ports(
        c.ports.as_deref().unwrap_or(&[]),
        &path.child("ports"),
    ));
    errs.extend(validate_env(
        c.env.as_deref().unwrap_or(&[]),
        &path.child("env"),
    ));
    errs.extend(validate_env_from(
        c.env_from.as_deref().unwrap_or(&[]),
        &path.child("envFrom"),
    ));
    errs.extend(validate_volume_mounts(
        c.volume_mounts.as_deref().unwrap_or(&[]),
        pod.volumes,
        &path.child("volumeMounts"),
    ));
    let pull_path = path.child("imagePullPolicy");
    match c.image_pull_policy.as_deref().unwrap_or("") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(&pull_path, "")),
        other => errs.push(FieldError::not_supported(
            &pull_path,
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    if let Some(res) = &c.resources {
        errs.extend(validate_resources(res, &path.child("resources")));
    }
    errs
}

fn validate_ports(ports: &[ContainerPort], path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.extend(invalid_each(&p.child("name"), name, msgs));
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(p.child("name"), name));
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(p.child("containerPort"), ""));
        } else if !(1..=65535).contains(&port.container_port) {
            errs.push(FieldError::invalid(
                p.child("containerPort"),
                port.container_port,
                inclusive_range_error(1, 65535),
            ));
        }
        let host_port = port.host_port.unwrap_or(0);
        if host_port != 0 && !(1..=65535).contains(&host_port) {
            errs.push(FieldError::invalid(
                p.child("hostPort"),
                host_port,
                inclusive_range_error(1, 65535),
            ));
        }
        match port.protocol.as_deref().unwrap_or("") {
            "TCP" | "UDP" | "SCTP" => {}
            "" => errs.push(FieldError::required(p.child("protocol"), "")),
            other => errs.push(FieldError::not_supported(
                p.child("protocol"),
                other,
                &["SCTP", "TCP", "UDP"],
            )),
        }
    }
    errs
}

fn validate_volume_mounts(
    mounts: &[VolumeMount],
    volumes: &BTreeMap<String, &Volume>,
    path: &Path,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let mut mount_points = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let p = path.index(i);
        if m.name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        }
        if !volumes.contains_key(&m.name) {
            errs.push(FieldError::not_found(p.child("name"), m.name.as_str()));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(p.child("mountPath"), ""));
        }
        if !mount_points.insert(m.mount_path.as_str()) {
            errs.push(FieldError::invalid(
                p.child("mountPath"),
                m.mount_path.as_str(),
                "must be unique",
            ));
        }
        let sub_path = m.sub_path.as_deref().unwrap_or("");
        if !sub_path.is_empty() && m.sub_path_expr.as_deref().is_some_and(|s| !s.is_empty()) {
            errs.push(FieldError::invalid(
                p.child("subPathExpr"),
                m.sub_path_expr.as_deref().unwrap_or(""),
                "subPathExpr and subPath are mutually exclusive",
            ));
        }
    }
    errs
}

/// `AccumulateUniqueHostPorts`: one `protocol/hostIP/hostPort` per pod.
fn check_host_port_conflicts(containers: &[Container], path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let mut seen = BTreeSet::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in c.ports.iter().flatten().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{}",
                port.protocol.as_deref().unwrap_or(""),
                port.host_ip.as_deref().unwrap_or(""),
                host_port
            );
            if seen.contains(&key) {
                let p = path.index(ci).child("ports").index(pi).child("hostPort");
                errs.push(FieldError::duplicate(p, key));
            } else {
                seen.insert(key);
            }
        }
    }
    errs
}
