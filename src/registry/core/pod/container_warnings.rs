//! The container part of kube's pod warnings (k8s.io/kubernetes v1.37.2,
//! pkg/api/pod/warnings.go): environment variables that hide earlier ones, and port definitions
//! that clash across all of a pod's containers, visited as kube's `VisitContainersWithPath` does.

use std::collections::HashSet;

use k8s_openapi::api::core::v1::{
    ContainerPort, EnvVar, PodSpec, ResourceRequirements, SecurityContext,
};

use super::warnings::go_quote;
use crate::api::field::Path;

/// kube's duplicate-env check: a later variable of the same name replaces the earlier one, and
/// server-side apply keeps only one of them; fine only when the later one builds on the earlier
/// (`X=$(X)suffix`).
pub(super) fn hidden_env(w: &mut Vec<String>, env: Option<&Vec<EnvVar>>, path: &Path) {
    let env = env.map(Vec::as_slice).unwrap_or_default();
    if env.len() < 2 {
        return;
    }
    let mut seen = HashSet::new();
    for (i, var) in env.iter().enumerate() {
        if seen.insert(var.name.as_str()) {
            continue;
        }
        let reference = format!("$({})", var.name);
        let value = var.value.as_deref().unwrap_or("");
        if var.value_from.is_some() || value == reference || !value.contains(&reference) {
            w.push(format!(
                "{}: hides previous definition of {}, which may be dropped when using apply",
                path.index(i),
                go_quote(&var.name)
            ));
        }
    }
}

/// One container (init, regular or ephemeral) with its field path, as kube's
/// `VisitContainersWithPath` hands them out.
pub(super) struct ContainerView<'a> {
    pub path: Path,
    pub name: &'a str,
    pub env: Option<&'a Vec<EnvVar>>,
    pub ports: Option<&'a Vec<ContainerPort>>,
    pub resources: Option<&'a ResourceRequirements>,
    pub security: Option<&'a SecurityContext>,
}

/// Init containers, then containers, then ephemeral containers.
pub(super) fn containers_with_paths(spec: &PodSpec) -> Vec<ContainerView<'_>> {
    let spec_path = Path::new("spec");
    let mut out = Vec::new();
    let regular = [
        (
            "initContainers",
            spec.init_containers.as_deref().unwrap_or_default(),
        ),
        ("containers", spec.containers.as_slice()),
    ];
    for (field, list) in regular {
        for (i, c) in list.iter().enumerate() {
            out.push(ContainerView {
                path: spec_path.child(field).index(i),
                name: &c.name,
                env: c.env.as_ref(),
                ports: c.ports.as_ref(),
                resources: c.resources.as_ref(),
                security: c.security_context.as_ref(),
            });
        }
    }
    for (i, c) in spec.ephemeral_containers.iter().flatten().enumerate() {
        out.push(ContainerView {
            path: spec_path.child("ephemeralContainers").index(i),
            name: &c.name,
            env: c.env.as_ref(),
            ports: c.ports.as_ref(),
            resources: c.resources.as_ref(),
            security: c.security_context.as_ref(),
        });
    }
    out
}

/// kube's port checks across all containers: a host IP without a host port, and ports of the
/// same number and protocol defined twice (duplicate), once with a host port and once without
/// (overlapping), or with the same host port where only one names a host IP (ambiguous).
pub(super) fn ports(w: &mut Vec<String>, containers: &[ContainerView<'_>]) {
    let mut seen: Vec<(String, Path, &ContainerPort)> = Vec::new();
    for c in containers {
        for (i, port) in c.ports.into_iter().flatten().enumerate() {
            let path = c.path.child("ports").index(i);
            let host_ip = port.host_ip.as_deref().unwrap_or("");
            let host_port = port.host_port.unwrap_or(0);
            if !host_ip.is_empty() && host_port == 0 {
                w.push(format!(
                    "{path}: hostIP set without hostPort: {}",
                    go_port(port)
                ));
            }
            let key = format!(
                "{}/{}",
                port.container_port,
                port.protocol.as_deref().unwrap_or("")
            );
            for (_, other_path, other) in seen.iter().filter(|(k, _, _)| *k == key) {
                let other_ip = other.host_ip.as_deref().unwrap_or("");
                let other_port = other.host_port.unwrap_or(0);
                let kind = if host_ip == other_ip && host_port == other_port {
                    "duplicate"
                } else if host_port == 0 || other_port == 0 {
                    "overlapping"
                } else if host_port == other_port && (host_ip.is_empty() != other_ip.is_empty()) {
                    "dangerously ambiguous"
                } else {
                    continue;
                };
                w.push(format!("{path}: {kind} port definition with {other_path}"));
            }
            seen.push((key, path, port));
        }
    }
}

/// kube's duplicate port name check: services and probes that name a port take the first.
pub(super) fn port_names(w: &mut Vec<String>, containers: &[ContainerView<'_>]) {
    let mut first: Vec<(&str, Path)> = Vec::new();
    for c in containers {
        for (i, port) in c.ports.into_iter().flatten().enumerate() {
            let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) else {
                continue;
            };
            let path = c.path.child("ports").index(i);
            match first.iter().find(|(n, _)| *n == name) {
                Some((_, other)) => w.push(format!(
                    "{path}: duplicate port name {} with {other}, services and probes that \
                     select ports by name will use {other}",
                    go_quote(name)
                )),
                None => first.push((name, path)),
            }
        }
    }
}

/// A port as Go's `%+v` prints kube's internal `ContainerPort`.
fn go_port(port: &ContainerPort) -> String {
    format!(
        "{{Name:{} HostPort:{} ContainerPort:{} Protocol:{} HostIP:{}}}",
        port.name.as_deref().unwrap_or(""),
        port.host_port.unwrap_or(0),
        port.container_port,
        port.protocol.as_deref().unwrap_or(""),
        port.host_ip.as_deref().unwrap_or("")
    )
}
