//! The warnings kube-apiserver sends when a pod is created (kube's `podStrategy.WarningsOnCreate`,
//! `GetWarningsForPod` in k8s.io/kubernetes v1.37.2 pkg/api/pod/warnings.go and the helpers it
//! calls): deprecated node
//! labels, annotations and volume plugins, duplicates that apply would silently merge, fractional
//! byte quantities, port definitions that clash, selectors that match nothing, and IP addresses
//! in non-standard forms.
//!
//! Each text is kube's, field path and wording, in kube's order. Where kube walks a Go map (node
//! selector keys) the order is the map's sorted order here; kube's is random.
//!
//! Overlapping volume paths are in `volume_paths.rs`; kube warns about pods on create only
//! (`WarningsOnUpdate` is empty for the main resource), which the strategy follows.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    Affinity, NodeSelectorTerm, PodAffinityTerm, PodSpec, Volume, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::container_warnings::{containers_with_paths, hidden_env, port_names, ports};
use super::volume_paths::overlapping_virtual_paths;
use crate::api::field::Path;
use crate::api::quantity::{ParsedQuantity, is_decimal_exponent};
use crate::api::validation::{is_dns1123_label, is_label_value};

/// kube's `deprecatedNodeLabels` (pkg/api/node/util.go): node labels and what to use instead.
const DEPRECATED_NODE_LABELS: [(&str, &str); 8] = [
    (
        "beta.kubernetes.io/arch",
        r#"deprecated since v1.14; use "kubernetes.io/arch" instead"#,
    ),
    (
        "beta.kubernetes.io/os",
        r#"deprecated since v1.14; use "kubernetes.io/os" instead"#,
    ),
    (
        "failure-domain.beta.kubernetes.io/region",
        r#"deprecated since v1.17; use "topology.kubernetes.io/region" instead"#,
    ),
    (
        "failure-domain.beta.kubernetes.io/zone",
        r#"deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
    ),
    (
        "beta.kubernetes.io/instance-type",
        r#"deprecated since v1.17; use "node.kubernetes.io/instance-type" instead"#,
    ),
    ("app.kubernetes.io/created-by", "deprecated since v1.9"),
    (
        "scheduler.alpha.kubernetes.io/preferAvoidPods",
        "deprecated since v1.22; use Taints and Tolerations instead",
    ),
    (
        "node-role.kubernetes.io/master",
        r#"use "node-role.kubernetes.io/control-plane" instead"#,
    ),
];

/// kube's `deprecatedAnnotations` for pods: annotations that no longer do anything.
const DEPRECATED_ANNOTATIONS: [(&str, &str); 3] = [
    (
        "scheduler.alpha.kubernetes.io/critical-pod",
        r#"non-functional in v1.16+; use the "priorityClassName" field instead"#,
    ),
    (
        "security.alpha.kubernetes.io/sysctls",
        r#"non-functional in v1.11+; use the "sysctls" field instead"#,
    ),
    (
        "security.alpha.kubernetes.io/unsafe-sysctls",
        r#"non-functional in v1.11+; use the "sysctls" field instead"#,
    ),
];

/// kube's `SeccompPodAnnotationKey` and `SeccompContainerAnnotationKeyPrefix`.
const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
const SECCOMP_NON_FUNCTIONAL: &str =
    r#"non-functional in v1.27+; use the "seccompProfile" field instead"#;

/// kube's `DeprecatedAppArmorAnnotationKeyPrefix`.
pub const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// kube's `GetNodeLabelDeprecatedMessage`.
fn node_label_deprecation(key: &str) -> Option<&'static str> {
    DEPRECATED_NODE_LABELS
        .iter()
        .find(|(label, _)| *label == key)
        .map(|(_, msg)| *msg)
}

/// kube's `podStrategy.WarningsOnCreate`: the name's fitness as a hostname, then
/// [`warnings_for_pod`].
pub fn warnings_on_create(meta: &ObjectMeta, spec: &PodSpec) -> Vec<String> {
    let mut warnings = Vec::new();
    let msgs = is_dns1123_label(meta.name.as_deref().unwrap_or(""));
    if !msgs.is_empty() {
        warnings.push(format!(
            "metadata.name: this is used in the Pod's hostname, which can result in surprising \
             behavior; a DNS label is recommended: [{}]",
            msgs.join(" ")
        ));
    }
    warnings.extend(warnings_for_pod(meta, spec));
    warnings
}

/// kube's `GetWarningsForPod` (`warningsForPodSpecAndMeta` for a pod, whose field paths start at
/// the object), in kube's order.
pub fn warnings_for_pod(meta: &ObjectMeta, spec: &PodSpec) -> Vec<String> {
    let mut w = Vec::new();
    let spec_path = Path::new("spec");
    let annotations = meta.annotations.clone().unwrap_or_default();
    let annotation_path = Path::new("metadata").child("annotations");

    for key in spec.node_selector.iter().flat_map(BTreeMap::keys) {
        if let Some(msg) = node_label_deprecation(key) {
            w.push(format!(
                "{}: {msg}",
                spec_path.child("nodeSelector").key(key)
            ));
        }
    }
    if let Some(node) = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
    {
        let affinity = spec_path.child("affinity").child("nodeAffinity");
        if let Some(required) = &node.required_during_scheduling_ignored_during_execution {
            let terms = affinity
                .child("requiredDuringSchedulingIgnoredDuringExecution")
                .child("nodeSelectorTerms");
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                node_selector_term(&mut w, term, false, &terms.index(i));
            }
        }
        let preferred = affinity.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in node
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .flatten()
            .enumerate()
        {
            node_selector_term(
                &mut w,
                &term.preference,
                true,
                &preferred.index(i).child("preference"),
            );
        }
    }
    for (i, t) in spec
        .topology_spread_constraints
        .iter()
        .flatten()
        .enumerate()
    {
        let path = spec_path.child("topologySpreadConstraints").index(i);
        if let Some(msg) = node_label_deprecation(&t.topology_key) {
            w.push(format!(
                "{}: {} is {msg}",
                path.child("topologyKey"),
                t.topology_key
            ));
        }
        if t.label_selector.is_none() {
            w.push(no_match(&path.child("labelSelector")));
        }
    }

    for (key, msg) in DEPRECATED_ANNOTATIONS {
        if annotations.contains_key(key) {
            w.push(format!("{}: {msg}", annotation_path.key(key)));
        }
    }

    let volumes = spec.volumes.as_deref().unwrap_or_default();
    for (i, v) in volumes.iter().enumerate() {
        deprecated_volume(&mut w, v, &spec_path.child("volumes").index(i));
    }
    w.extend(overlapping_virtual_paths(volumes));

    let mut ips = HashSet::new();
    for (i, alias) in spec.host_aliases.iter().flatten().enumerate() {
        if !ips.insert(alias.ip.as_str()) {
            let path = spec_path.child("hostAliases").index(i).child("ip");
            w.push(format!("{path}: duplicate ip {}", go_quote(&alias.ip)));
        }
    }
    let secrets = spec.image_pull_secrets.as_deref().unwrap_or_default();
    let mut names = HashSet::new();
    for (i, secret) in secrets.iter().enumerate() {
        if !names.insert(secret.name.as_str()) {
            let path = spec_path.child("imagePullSecrets").index(i).child("name");
            w.push(format!("{path}: duplicate name {}", go_quote(&secret.name)));
        }
    }
    for (i, secret) in secrets.iter().enumerate() {
        if secret.name.is_empty() {
            let path = spec_path.child("imagePullSecrets").index(i).child("name");
            w.push(format!("{path}: invalid empty name \"\""));
        }
    }

    for resource in ["memory", "ephemeral-storage"] {
        let overhead = spec_path.child("overhead");
        fractional_bytes(&mut w, spec.overhead.as_ref(), resource, &overhead);
    }

    let pod_security = spec.security_context.as_ref();
    if pod_security
        .and_then(|s| s.seccomp_profile.as_ref())
        .is_none()
        && annotations.contains_key(SECCOMP_POD_ANNOTATION)
    {
        let path = annotation_path.key(SECCOMP_POD_ANNOTATION);
        w.push(format!("{path}: {SECCOMP_NON_FUNCTIONAL}"));
    }

    let containers = containers_with_paths(spec);
    for c in &containers {
        if c.security
            .and_then(|s| s.seccomp_profile.as_ref())
            .is_none()
        {
            let key = format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name);
            if annotations.contains_key(&key) {
                w.push(format!(
                    "{}: {SECCOMP_NON_FUNCTIONAL}",
                    annotation_path.key(&key)
                ));
            }
        }
        // AppArmor annotations of pods are warned about when they are synced to fields
        // (kube's `applyAppArmorVersionSkew`); only pod templates warn here.
        let resources = c.resources.cloned().unwrap_or_default();
        let path = c.path.child("resources");
        for resource in ["memory", "ephemeral-storage"] {
            fractional_bytes(
                &mut w,
                resources.limits.as_ref(),
                resource,
                &path.child("limits"),
            );
            fractional_bytes(
                &mut w,
                resources.requests.as_ref(),
                resource,
                &path.child("requests"),
            );
        }
        hidden_env(&mut w, c.env, &c.path.child("env"));
    }

    ports(&mut w, &containers);
    port_names(&mut w, &containers);

    if spec.termination_grace_period_seconds.is_some_and(|s| s < 0) {
        w.push(format!(
            "{}: must be >= 0; negative values are invalid and will be treated as 1",
            spec_path.child("terminationGracePeriodSeconds")
        ));
    }

    if let Some(affinity) = &spec.affinity {
        pod_affinity(&mut w, affinity, &spec_path.child("affinity"));
    }

    let nameservers = spec
        .dns_config
        .as_ref()
        .and_then(|d| d.nameservers.as_ref());
    for (i, ns) in nameservers.into_iter().flatten().enumerate() {
        let path = spec_path.child("dnsConfig").child("nameservers").index(i);
        w.extend(ip_warnings(&path, ns));
    }
    for (i, alias) in spec.host_aliases.iter().flatten().enumerate() {
        let path = spec_path.child("hostAliases").index(i).child("ip");
        w.extend(ip_warnings(&path, &alias.ip));
    }
    w
}

/// kube's `GetWarningsForNodeSelectorTerm`: deprecated node labels as expression keys, and
/// (`check_values`: preferred terms, which validation lets through) values that are not label
/// values.
fn node_selector_term(
    w: &mut Vec<String>,
    term: &NodeSelectorTerm,
    check_values: bool,
    path: &Path,
) {
    for (i, expr) in term.match_expressions.iter().flatten().enumerate() {
        let expr_path = path.child("matchExpressions").index(i);
        if let Some(msg) = node_label_deprecation(&expr.key) {
            w.push(format!("{}: {} is {msg}", expr_path.child("key"), expr.key));
        }
        if !check_values {
            continue;
        }
        for (j, value) in expr.values.iter().flatten().enumerate() {
            for msg in is_label_value(value) {
                let path = expr_path.child("values").index(j);
                w.push(format!("{path}: {value} is invalid, {msg}"));
            }
        }
    }
}

/// A term without a label selector selects no pods, which is rarely meant.
fn no_match(path: &Path) -> String {
    format!("{path}: a null labelSelector results in matching no pod")
}

/// kube's warnings for removed and deprecated volume plugins, and the fractional storage sizes
/// of an ephemeral volume's claim template (`GetWarningsForPersistentVolumeClaimSpec`).
fn deprecated_volume(w: &mut Vec<String>, v: &Volume, path: &Path) {
    let plugins = [
        (
            v.photon_persistent_disk.is_some(),
            "photonPersistentDisk",
            "deprecated in v1.11, non-functional in v1.16+",
        ),
        // The GitRepoVolumeDriver gate is off by default in 1.37 and not settable here.
        (
            v.git_repo.is_some(),
            "gitRepo",
            "deprecated in v1.11, and disabled by default in v1.33+",
        ),
        (
            v.scale_io.is_some(),
            "scaleIO",
            "deprecated in v1.16, non-functional in v1.22+",
        ),
        (
            v.flocker.is_some(),
            "flocker",
            "deprecated in v1.22, non-functional in v1.25+",
        ),
        (
            v.storageos.is_some(),
            "storageOS",
            "deprecated in v1.22, non-functional in v1.25+",
        ),
        (
            v.quobyte.is_some(),
            "quobyte",
            "deprecated in v1.22, non-functional in v1.25+",
        ),
        (
            v.glusterfs.is_some(),
            "glusterfs",
            "deprecated in v1.25, non-functional in v1.26+",
        ),
    ];
    for (used, name, msg) in plugins {
        if used {
            w.push(format!("{}: {msg}", path.child(name)));
        }
    }
    if let Some(template) = v
        .ephemeral
        .as_ref()
        .and_then(|e| e.volume_claim_template.as_ref())
    {
        let spec = path
            .child("ephemeral")
            .child("volumeClaimTemplate")
            .child("spec");
        let resources = template.spec.resources.clone().unwrap_or_default();
        let path = spec.child("resources");
        claim_storage(w, resources.requests.as_ref(), &path.child("requests"));
        claim_storage(w, resources.limits.as_ref(), &path.child("limits"));
    }
    let removed = [(v.cephfs.is_some(), "cephfs"), (v.rbd.is_some(), "rbd")];
    for (used, name) in removed {
        if used {
            w.push(format!(
                "{}: deprecated in v1.28, non-functional in v1.31+",
                path.child(name)
            ));
        }
    }
}

/// A claim's storage size: kube reads it from the map even when absent (the zero quantity,
/// which is whole), so only a present fractional size warns.
fn claim_storage(w: &mut Vec<String>, list: Option<&BTreeMap<String, Quantity>>, path: &Path) {
    fractional_bytes(w, list, "storage", path);
}

/// kube's check that a byte quantity is whole (it compares `MilliValue() % 1000`).
fn fractional_bytes(
    w: &mut Vec<String>,
    list: Option<&BTreeMap<String, Quantity>>,
    resource: &str,
    path: &Path,
) {
    let Some(Quantity(text)) = list.and_then(|l| l.get(resource)) else {
        return;
    };
    // Validation has refused unparsable quantities before warnings are computed.
    let Ok(value) = text.parse::<ParsedQuantity>() else {
        return;
    };
    if value.milli_value() % 1000 != 0 {
        let shown = value.fractional_string(is_decimal_exponent(text));
        w.push(format!(
            "{}: fractional byte value {} is invalid, must be an integer",
            path.key(resource),
            go_quote(&shown)
        ));
    }
}

/// Pod affinity and anti-affinity terms without a label selector.
fn pod_affinity(w: &mut Vec<String>, affinity: &Affinity, path: &Path) {
    let kinds = [
        (
            "podAffinity",
            affinity.pod_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            affinity.pod_anti_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ];
    for (name, terms) in kinds {
        let Some((required, preferred)) = terms else {
            continue;
        };
        let path = path.child(name);
        affinity_terms(
            w,
            required.as_deref(),
            &path.child("requiredDuringSchedulingIgnoredDuringExecution"),
        );
        weighted_terms(
            w,
            preferred.as_deref(),
            &path.child("preferredDuringSchedulingIgnoredDuringExecution"),
        );
    }
}

fn affinity_terms(w: &mut Vec<String>, terms: Option<&[PodAffinityTerm]>, path: &Path) {
    for (i, t) in terms.unwrap_or_default().iter().enumerate() {
        if t.label_selector.is_none() {
            w.push(no_match(&path.index(i).child("labelSelector")));
        }
    }
}

fn weighted_terms(w: &mut Vec<String>, terms: Option<&[WeightedPodAffinityTerm]>, path: &Path) {
    for (i, t) in terms.unwrap_or_default().iter().enumerate() {
        if t.pod_affinity_term.label_selector.is_none() {
            let selector = path
                .index(i)
                .child("podAffinityTerm")
                .child("labelSelector");
            w.push(no_match(&selector));
        }
    }
}

/// k8s.io/apimachinery's `GetWarningsForIP` for an address validation accepted: an
/// IPv4-mapped IPv6 address should be written as IPv4, and IPv6 in RFC 5952 form. (kube's
/// legacy parser also takes IPv4 with leading zeros, which Capstan's validation refuses.)
pub fn ip_warnings(path: &Path, value: &str) -> Vec<String> {
    let Ok(IpAddr::V6(v6)) = value.parse::<IpAddr>() else {
        return Vec::new();
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return vec![format!(
            "{path}: non-standard IP address {} is invalid: use {}",
            go_quote(value),
            go_quote(&v4.to_string())
        )];
    }
    let canonical = v6.to_string();
    if canonical != value {
        return vec![format!(
            "{path}: IPv6 address {} should be in RFC 5952 canonical format ({})",
            go_quote(value),
            go_quote(&canonical)
        )];
    }
    Vec::new()
}

/// Go's `%q` of a string: double-quoted, with `"` and `\` escaped and control characters as
/// escapes (what kube's texts use for names and values).
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
#[path = "warnings_tests.rs"]
mod tests;
