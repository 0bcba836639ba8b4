//! Container validation, after kube's `validateContainers`, `validateInitContainers`,
//! `validateEphemeralContainers` and `validateContainerCommon`
//! (pkg/apis/core/validation/validation.go): the same field paths, messages and order for the
//! checks implemented here.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvFromSource, EnvVar, EphemeralContainer, Lifecycle,
    LifecycleHandler, Probe, ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::validation::{inclusive_range_error, invalid_each, is_valid_port_name};
use crate::api::field::{FieldError, FieldErrors, Path};
use crate::api::quantity::ParsedQuantity;
use crate::api::validation::{
    is_config_map_key, is_dns1123_label, is_qualified_name, name_is_dns_subdomain,
};

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
        {
            if !others.contains(target) {
                errs.push(FieldError::not_found(
                    p.child("targetContainerName"),
                    target,
                ));
            }
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

/// kube's relaxed environment variable names (GA): printable ASCII other than `=`.
fn env_name_errors(name: &str) -> Vec<String> {
    let ok = name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'=');
    if ok {
        Vec::new()
    } else {
        vec!["a valid environment variable name must consist only of printable ASCII characters other than '='".into()]
    }
}

fn validate_env(vars: &[EnvVar], path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (i, ev) in vars.iter().enumerate() {
        let p = path.index(i);
        if ev.name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else {
            errs.extend(invalid_each(
                &p.child("name"),
                &ev.name,
                env_name_errors(&ev.name),
            ));
        }
        errs.extend(validate_env_value_from(ev, &p.child("valueFrom")));
    }
    errs
}

const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

fn validate_env_value_from(ev: &EnvVar, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let Some(from) = &ev.value_from else {
        return errs;
    };
    let mut sources = 0;
    if let Some(field_ref) = &from.field_ref {
        sources += 1;
        let fp = path.child("fieldRef");
        if field_ref.api_version.as_deref().unwrap_or("").is_empty() {
            errs.push(FieldError::required(fp.child("apiVersion"), ""));
        } else if field_ref.field_path.is_empty() {
            errs.push(FieldError::required(fp.child("fieldPath"), ""));
        } else if let Some((base, subscript)) = split_subscript(&field_ref.field_path) {
            match base {
                "metadata.annotations" => errs.extend(invalid_each(
                    &fp,
                    &subscript.to_lowercase(),
                    is_qualified_name(&subscript.to_lowercase()),
                )),
                "metadata.labels" => {
                    errs.extend(invalid_each(&fp, subscript, is_qualified_name(subscript)))
                }
                other => errs.push(FieldError::invalid(
                    &fp,
                    other,
                    "does not support subscript",
                )),
            }
        } else if !ENV_FIELD_PATHS.contains(&field_ref.field_path.as_str()) {
            errs.push(FieldError::not_supported(
                fp.child("fieldPath"),
                field_ref.field_path.as_str(),
                &ENV_FIELD_PATHS,
            ));
        }
    }
    if from.resource_field_ref.is_some() {
        sources += 1;
    }
    if let Some(r) = &from.config_map_key_ref {
        sources += 1;
        errs.extend(validate_key_selector(
            &r.name,
            &r.key,
            &path.child("configMapKeyRef"),
        ));
    }
    if let Some(r) = &from.secret_key_ref {
        sources += 1;
        errs.extend(validate_key_selector(
            &r.name,
            &r.key,
            &path.child("secretKeyRef"),
        ));
    }
    if from.file_key_ref.is_some() {
        sources += 1;
    }
    if sources == 0 {
        errs.push(FieldError::invalid(
            path,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ));
    } else if !ev.value.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::invalid(
            path,
            "",
            "may not be specified when `value` is not empty",
        ));
    } else if sources > 1 {
        errs.push(FieldError::invalid(
            path,
            "",
            "may not have more than one field specified at a time",
        ));
    }
    errs
}

/// `metadata.labels['app']` → (`metadata.labels`, `app`).
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let (base, rest) = path.split_once("['")?;
    let key = rest.strip_suffix("']")?;
    Some((base, key))
}

fn validate_key_selector(name: &str, key: &str, path: &Path) -> FieldErrors {
    let mut errs = invalid_each(
        &path.child("name"),
        name,
        name_is_dns_subdomain(name, false),
    );
    if key.is_empty() {
        errs.push(FieldError::required(path.child("key"), ""));
    } else {
        errs.extend(invalid_each(
            &path.child("key"),
            key,
            is_config_map_key(key),
        ));
    }
    errs
}

fn validate_env_from(sources: &[EnvFromSource], path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (i, ev) in sources.iter().enumerate() {
        let p = path.index(i);
        if let Some(prefix) = ev.prefix.as_deref().filter(|s| !s.is_empty()) {
            errs.extend(invalid_each(
                &p.child("prefix"),
                prefix,
                env_name_errors(prefix),
            ));
        }
        let mut count = 0;
        for (field, name) in [
            (
                "configMapRef",
                ev.config_map_ref.as_ref().map(|r| r.name.as_str()),
            ),
            ("secretRef", ev.secret_ref.as_ref().map(|r| r.name.as_str())),
        ] {
            let Some(name) = name else { continue };
            count += 1;
            let np = p.child(field).child("name");
            if name.is_empty() {
                errs.push(FieldError::required(&np, ""));
            } else {
                errs.extend(invalid_each(&np, name, name_is_dns_subdomain(name, true)));
            }
        }
        if count == 0 {
            errs.push(FieldError::invalid(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if count > 1 {
            errs.push(FieldError::invalid(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
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

/// Names that need no domain prefix and are container resources.
fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

/// kube's `IsOvercommitAllowed`: native resources other than hugepages.
fn is_overcommit_allowed(name: &str) -> bool {
    let native = !name.contains('/') || name.contains("kubernetes.io/");
    native && !name.starts_with("hugepages-")
}

/// `ValidateContainerResourceRequirements`: known names, non-negative values, requests within
/// limits (equal for resources that cannot be overcommitted).
fn validate_resources(res: &ResourceRequirements, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let empty = BTreeMap::new();
    let limits = res.limits.as_ref().unwrap_or(&empty);
    let mut parsed_limits = BTreeMap::new();
    for (name, q) in limits {
        let p = lim_path.key(name);
        errs.extend(validate_resource_name(name, &p));
        if let Some(v) = validate_quantity(name, &q.0, &p, &mut errs) {
            parsed_limits.insert(name.as_str(), v);
        }
    }
    for (name, q) in res.requests.iter().flatten() {
        let p = req_path.key(name);
        errs.extend(validate_resource_name(name, &p));
        let Some(value) = validate_quantity(name, &q.0, &p, &mut errs) else {
            continue;
        };
        match parsed_limits.get(name.as_str()) {
            Some(limit) if value != *limit && !is_overcommit_allowed(name) => {
                errs.push(FieldError::invalid(
                    &req_path,
                    q.0.as_str(),
                    format!("must be equal to {name} limit of {}", limits[name].0),
                ));
            }
            Some(limit) if value > *limit => errs.push(FieldError::invalid(
                &req_path,
                q.0.as_str(),
                format!(
                    "must be less than or equal to {name} limit of {}",
                    limits[name].0
                ),
            )),
            Some(_) => {}
            None if !is_overcommit_allowed(name) && !limits.contains_key(name) => {
                errs.push(FieldError::required(
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                ));
            }
            None => {}
        }
    }
    errs
}

fn validate_resource_name(name: &str, path: &Path) -> FieldErrors {
    let mut errs = invalid_each(path, name, is_qualified_name(name));
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') && !is_standard_container_resource(name) {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource for containers",
        ));
    }
    errs
}

/// Parses a quantity, recording kube's errors for malformed, negative and fractional-extended
/// values.
fn validate_quantity(
    name: &str,
    raw: &str,
    path: &Path,
    errs: &mut FieldErrors,
) -> Option<ParsedQuantity> {
    let Ok(value) = raw.parse::<ParsedQuantity>() else {
        errs.push(FieldError::invalid(
            path,
            raw,
            crate::api::quantity::QuantityError.to_string(),
        ));
        return None;
    };
    if value.is_negative() {
        errs.push(FieldError::invalid(
            path,
            raw,
            "must be greater than or equal to 0",
        ));
    }
    // Extended resources (`example.com/gpu`) come in whole units.
    let extended = name.contains('/') && !name.contains("kubernetes.io/");
    if extended && !value.is_integer() {
        errs.push(FieldError::invalid(path, raw, "must be an integer"));
    }
    Some(value)
}

fn validate_probes(c: &Container, grace: Option<i64>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (field, probe) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        let Some(probe) = probe else { continue };
        let p = path.child(field);
        errs.extend(validate_probe(probe, grace, &p));
        if field != "readinessProbe" && probe.success_threshold.unwrap_or(0) != 1 {
            errs.push(FieldError::invalid(
                p.child("successThreshold"),
                probe.success_threshold.unwrap_or(0),
                "must be 1",
            ));
        }
        if field == "readinessProbe" {
            if let Some(t) = probe.termination_grace_period_seconds {
                errs.push(FieldError::invalid(
                    p.child("terminationGracePeriodSeconds"),
                    t,
                    "must not be set for readinessProbes",
                ));
            }
        }
    }
    errs
}

fn validate_probe(probe: &Probe, grace: Option<i64>, path: &Path) -> FieldErrors {
    let handler = Handler {
        exec: probe.exec.is_some(),
        exec_command_empty: probe
            .exec
            .as_ref()
            .is_some_and(|e| e.command.as_deref().unwrap_or(&[]).is_empty()),
        http_get: probe
            .http_get
            .as_ref()
            .map(|h| (h.path.as_deref(), &h.port, h.scheme.as_deref())),
        tcp_port: probe.tcp_socket.as_ref().map(|t| t.port.clone()),
        grpc_port: probe.grpc.as_ref().map(|g| g.port),
        sleep_seconds: None,
    };
    let mut errs = validate_handler(&handler, grace, path);
    for (field, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        let v = value.unwrap_or(0);
        if v < 0 {
            errs.push(FieldError::invalid(
                path.child(field),
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(t) = probe.termination_grace_period_seconds.filter(|t| *t <= 0) {
        errs.push(FieldError::invalid(
            path.child("terminationGracePeriodSeconds"),
            t,
            "must be greater than 0",
        ));
    }
    errs
}

fn validate_lifecycle(l: &Lifecycle, grace: Option<i64>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (field, handler) in [("postStart", &l.post_start), ("preStop", &l.pre_stop)] {
        if let Some(h) = handler {
            errs.extend(validate_handler(
                &lifecycle_handler(h),
                grace,
                &path.child(field),
            ));
        }
    }
    errs
}

fn lifecycle_handler(h: &LifecycleHandler) -> Handler<'_> {
    Handler {
        exec: h.exec.is_some(),
        exec_command_empty: h
            .exec
            .as_ref()
            .is_some_and(|e| e.command.as_deref().unwrap_or(&[]).is_empty()),
        http_get: h
            .http_get
            .as_ref()
            .map(|g| (g.path.as_deref(), &g.port, g.scheme.as_deref())),
        tcp_port: h.tcp_socket.as_ref().map(|t| t.port.clone()),
        grpc_port: None,
        sleep_seconds: h.sleep.as_ref().map(|s| s.seconds),
    }
}

/// kube's `commonHandler`: the one action of a probe or lifecycle hook.
struct Handler<'a> {
    exec: bool,
    exec_command_empty: bool,
    http_get: Option<(Option<&'a str>, &'a IntOrString, Option<&'a str>)>,
    tcp_port: Option<IntOrString>,
    grpc_port: Option<i32>,
    sleep_seconds: Option<i64>,
}

fn validate_handler(h: &Handler<'_>, grace: Option<i64>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let mut count = 0;
    let mut one = |field: &str, errs: &mut FieldErrors| {
        count += 1;
        if count > 1 {
            errs.push(FieldError::forbidden(
                path.child(field),
                "may not specify more than 1 handler type",
            ));
            false
        } else {
            true
        }
    };
    if h.exec && one("exec", &mut errs) && h.exec_command_empty {
        errs.push(FieldError::required(
            path.child("exec").child("command"),
            "",
        ));
    }
    if let Some((http_path, port, scheme)) = h.http_get {
        if one("httpGet", &mut errs) {
            let p = path.child("httpGet");
            if http_path.unwrap_or("").is_empty() {
                errs.push(FieldError::required(p.child("path"), ""));
            }
            errs.extend(validate_port_num_or_name(port, &p.child("port")));
            let scheme = scheme.unwrap_or("");
            if scheme != "HTTP" && scheme != "HTTPS" {
                errs.push(FieldError::not_supported(
                    p.child("scheme"),
                    scheme,
                    &["HTTP", "HTTPS"],
                ));
            }
        }
    }
    if let Some(port) = &h.tcp_port {
        if one("tcpSocket", &mut errs) {
            errs.extend(validate_port_num_or_name(
                port,
                &path.child("tcpSocket").child("port"),
            ));
        }
    }
    if let Some(port) = h.grpc_port {
        if one("grpc", &mut errs) {
            errs.extend(validate_port_num_or_name(
                &IntOrString::Int(port),
                &path.child("grpc").child("port"),
            ));
        }
    }
    if let Some(seconds) = h.sleep_seconds {
        if one("sleep", &mut errs) {
            if let Some(g) = grace.filter(|g| seconds < 0 || seconds > *g) {
                errs.push(FieldError::invalid(
                    path.child("sleep"),
                    seconds,
                    format!(
                        "must be non-negative and less than terminationGracePeriodSeconds ({g})"
                    ),
                ));
            }
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

fn validate_port_num_or_name(port: &IntOrString, path: &Path) -> FieldErrors {
    match port {
        IntOrString::Int(n) if !(1..=65535).contains(n) => {
            vec![FieldError::invalid(
                path,
                *n,
                inclusive_range_error(1, 65535),
            )]
        }
        IntOrString::Int(_) => Vec::new(),
        IntOrString::String(s) => invalid_each(path, s, is_valid_port_name(s)),
    }
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
