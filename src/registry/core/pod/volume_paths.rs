//! kube's `warningsForOverlappingVirtualPaths` (pkg/api/pod/warnings.go): files that a
//! configMap, secret, downwardAPI or projected volume would write to the same path, or one inside
//! another (`conf` and `conf/sub`), where the kubelet either overwrites one or fails to mount.
//!
//! kube's overlap test looks up earlier paths in a Go set, whose order is random; when several
//! earlier paths collide this reports the first one written, kube any one of them.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Volume, VolumeProjection};

use super::warnings::go_quote;

/// The overlap warnings of every volume, in volume order.
pub fn overlapping_virtual_paths(volumes: &[Volume]) -> Vec<String> {
    let mut warnings = Vec::new();
    for v in volumes {
        let name = go_quote(&v.name);
        if let Some(items) = v.config_map.as_ref().and_then(|c| c.items.as_ref()) {
            let cm = v.config_map.as_ref().map(|c| c.name.as_str()).unwrap_or("");
            let message = format!(
                "volume {name} (ConfigMap {}): overlapping paths",
                go_quote(cm)
            );
            warnings.extend(check_overlap(&key_paths(items), &message));
        }
        if let Some(items) = v.secret.as_ref().and_then(|s| s.items.as_ref()) {
            let secret = v
                .secret
                .as_ref()
                .and_then(|s| s.secret_name.as_deref())
                .unwrap_or("");
            let message = format!(
                "volume {name} (Secret {}): overlapping paths",
                go_quote(secret)
            );
            warnings.extend(check_overlap(&key_paths(items), &message));
        }
        if let Some(items) = v.downward_api.as_ref().and_then(|d| d.items.as_ref()) {
            let message = format!("volume {name} (DownwardAPI): overlapping paths");
            warnings.extend(check_overlap(&file_paths(items), &message));
        }
        if let Some(projected) = &v.projected {
            projected_overlaps(
                &mut warnings,
                &name,
                projected.sources.as_deref().unwrap_or_default(),
            );
        }
    }
    warnings
}

/// A projected volume: each source's paths among themselves, then together with the paths of
/// the sources before it. Like kube, a source of a kind without paths (a configMap without
/// items) reuses the previous source's paths and message.
fn projected_overlaps(warnings: &mut Vec<String>, name: &str, sources: &[VolumeProjection]) {
    let mut source_paths: Vec<String> = Vec::new();
    let mut message = String::new();
    let mut all_paths: BTreeSet<String> = BTreeSet::new();
    for source in sources {
        if *source == VolumeProjection::default() {
            warnings.push(format!("volume {name} (Projected) has no sources provided"));
            continue;
        }
        if let Some((paths, text)) = source_paths_of(name, source) {
            source_paths = paths;
            message = text;
        }
        if source_paths.is_empty() {
            continue;
        }
        warnings.extend(check_overlap(&source_paths, &message));
        let unique: BTreeSet<String> = source_paths.iter().cloned().collect();
        let mut ordered: Vec<String> = unique
            .iter()
            .cloned()
            .chain(all_paths.iter().cloned())
            .collect();
        ordered.sort();
        warnings.extend(check_overlap(&ordered, &message));
        all_paths.extend(unique);
    }
}

/// The paths and message of one projection source, for the kinds kube checks, in kube's order.
fn source_paths_of(name: &str, source: &VolumeProjection) -> Option<(Vec<String>, String)> {
    if let Some(cm) = &source.config_map
        && let Some(items) = &cm.items
    {
        let text = format!(
            "volume {name} (Projected ConfigMap {}): overlapping paths",
            go_quote(&cm.name)
        );
        return Some((key_paths(items), text));
    }
    if let Some(secret) = &source.secret
        && let Some(items) = &secret.items
    {
        let text = format!(
            "volume {name} (Projected Secret {}): overlapping paths",
            go_quote(&secret.name)
        );
        return Some((key_paths(items), text));
    }
    if let Some(items) = source.downward_api.as_ref().and_then(|d| d.items.as_ref()) {
        let text = format!("volume {name} (Projected DownwardAPI): overlapping paths");
        return Some((file_paths(items), text));
    }
    if let Some(token) = &source.service_account_token {
        let text = format!("volume {name} (Projected ServiceAccountToken): overlapping paths");
        return Some((vec![token.path.clone()], text));
    }
    if let Some(bundle) = &source.cluster_trust_bundle {
        let which = bundle
            .name
            .as_deref()
            .or(bundle.signer_name.as_deref())
            .unwrap_or("");
        let text = format!(
            "volume {name} (Projected ClusterTrustBundle {}): overlapping paths",
            go_quote(which)
        );
        return Some((vec![bundle.path.clone()], text));
    }
    None
}

fn key_paths(items: &[KeyToPath]) -> Vec<String> {
    items.iter().map(|i| i.path.clone()).collect()
}

fn file_paths(items: &[DownwardAPIVolumeFile]) -> Vec<String> {
    items.iter().map(|i| i.path.clone()).collect()
}

/// kube's `checkVolumeMappingForOverlap`: each path (trailing `/` removed) against the ones
/// before it.
fn check_overlap(paths: &[String], message: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut earlier: Vec<String> = Vec::new();
    for path in paths {
        let normalized = path.trim_end_matches('/').to_string();
        if let Some(collision) = overlap(&earlier, &normalized) {
            warnings.push(format!(
                "{message}: {} with {}",
                go_quote(&normalized),
                go_quote(collision)
            ));
        }
        if !earlier.contains(&normalized) {
            earlier.push(normalized);
        }
    }
    warnings
}

/// kube's `checkForOverlap`, prefix tests and all: an empty path on either side ends the search
/// with no collision.
fn overlap<'a>(earlier: &'a [String], path: &str) -> Option<&'a str> {
    for item in earlier {
        if item.is_empty() || path.is_empty() {
            return None;
        }
        if item == path
            || format!("{item}/").starts_with(path)
            || format!("{path}/").starts_with(item.as_str())
        {
            return Some(item);
        }
    }
    None
}
