//! kube's `warningsForOverlappingVirtualPaths` (k8s.io/kubernetes v1.37.2, pkg/api/pod/warnings.go):
//! files that a configMap, secret, downwardAPI or projected volume would write to the same path,
//! or one inside another (`conf` and `conf/sub`), where the kubelet either overwrites one or
//! fails to mount. Every earlier path a path collides with is reported; a projected volume's
//! paths are checked across all its sources, each named by the source it came from.

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Volume, VolumeProjection};

use super::warnings::go_quote;

/// A path and the source that writes it (empty outside projected volumes), kube's
/// `pathAndSource`.
#[derive(Clone, PartialEq, Eq)]
struct Sourced {
    path: String,
    source: String,
}

impl Sourced {
    /// `"path" (source)`, or `"path"` without a source.
    fn shown(&self) -> String {
        if self.source.is_empty() {
            go_quote(&self.path)
        } else {
            format!("{} ({})", go_quote(&self.path), self.source)
        }
    }
}

/// The overlap warnings of every volume, in volume order.
pub fn overlapping_virtual_paths(volumes: &[Volume]) -> Vec<String> {
    let mut warnings = Vec::new();
    for v in volumes {
        let name = go_quote(&v.name);
        let mut warn = |description: &str, body: String| {
            warnings.push(format!(
                "volume {name} ({description}): overlapping paths: {body}"
            ));
        };
        if let Some(cm) = &v.config_map
            && let Some(items) = &cm.items
        {
            let description = format!("ConfigMap {}", go_quote(&cm.name));
            for body in check_mapping(key_paths(items, "")) {
                warn(&description, body);
            }
        }
        if let Some(secret) = &v.secret
            && let Some(items) = &secret.items
        {
            let secret_name = secret.secret_name.as_deref().unwrap_or("");
            let description = format!("Secret {}", go_quote(secret_name));
            for body in check_mapping(key_paths(items, "")) {
                warn(&description, body);
            }
        }
        if let Some(items) = v.downward_api.as_ref().and_then(|d| d.items.as_ref()) {
            for body in check_mapping(file_paths(items, "")) {
                warn("DownwardAPI", body);
            }
        }
        let Some(projected) = &v.projected else {
            continue;
        };
        let mut all: Vec<Sourced> = Vec::new();
        for source in projected.sources.iter().flatten() {
            if *source == VolumeProjection::default() {
                warnings.push(format!("volume {name} (Projected) has no sources provided"));
                continue;
            }
            for mut ps in source_paths(source) {
                ps.path = ps.path.trim_end_matches('/').to_string();
                for collision in overlaps(&all, &ps) {
                    warnings.push(format!(
                        "volume {name} (Projected): overlapping paths: {} with {}",
                        ps.shown(),
                        collision.shown()
                    ));
                }
                all.push(ps);
            }
        }
    }
    warnings
}

/// The paths one projection source writes, for the kinds kube checks, in kube's order (a
/// configMap or secret without items writes none that could clash).
fn source_paths(source: &VolumeProjection) -> Vec<Sourced> {
    let one = |path: &str, source: String| {
        vec![Sourced {
            path: path.to_string(),
            source,
        }]
    };
    if let Some(cm) = &source.config_map
        && let Some(items) = &cm.items
    {
        return key_paths(items, &format!("ConfigMap {}", go_quote(&cm.name)));
    }
    if let Some(secret) = &source.secret
        && let Some(items) = &secret.items
    {
        return key_paths(items, &format!("Secret {}", go_quote(&secret.name)));
    }
    if let Some(items) = source.downward_api.as_ref().and_then(|d| d.items.as_ref()) {
        return file_paths(items, "DownwardAPI");
    }
    if let Some(token) = &source.service_account_token {
        return one(&token.path, "ServiceAccountToken".into());
    }
    if let Some(bundle) = &source.cluster_trust_bundle {
        let which = bundle
            .name
            .as_deref()
            .or(bundle.signer_name.as_deref())
            .unwrap_or("");
        return one(
            &bundle.path,
            format!("ClusterTrustBundle {}", go_quote(which)),
        );
    }
    if let Some(cert) = &source.pod_certificate {
        let files = [
            (&cert.certificate_chain_path, "PodCertificate chain"),
            (&cert.key_path, "PodCertificate key"),
            (
                &cert.credential_bundle_path,
                "PodCertificate credential bundle",
            ),
        ];
        return files
            .into_iter()
            .filter_map(|(path, source)| {
                let path = path.as_deref().filter(|p| !p.is_empty())?;
                Some(Sourced {
                    path: path.to_string(),
                    source: source.to_string(),
                })
            })
            .collect();
    }
    Vec::new()
}

fn key_paths(items: &[KeyToPath], source: &str) -> Vec<Sourced> {
    items
        .iter()
        .map(|i| Sourced {
            path: i.path.clone(),
            source: source.to_string(),
        })
        .collect()
}

fn file_paths(items: &[DownwardAPIVolumeFile], source: &str) -> Vec<Sourced> {
    items
        .iter()
        .map(|i| Sourced {
            path: i.path.clone(),
            source: source.to_string(),
        })
        .collect()
}

/// kube's `checkVolumeMappingForOverlap`: each path (trailing `/` removed) against the ones
/// before it, one text per collision.
fn check_mapping(paths: Vec<Sourced>) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut all: Vec<Sourced> = Vec::new();
    for mut ps in paths {
        ps.path = ps.path.trim_end_matches('/').to_string();
        for collision in overlaps(&all, &ps) {
            bodies.push(format!("{} with {}", ps.shown(), collision.shown()));
        }
        all.push(ps);
    }
    bodies
}

/// kube's `checkForOverlap`: the earlier paths equal to `needle`, or a directory of it, or inside
/// it. Empty paths clash with nothing.
fn overlaps<'a>(earlier: &'a [Sourced], needle: &Sourced) -> Vec<&'a Sourced> {
    if needle.path.is_empty() {
        return Vec::new();
    }
    let needle_dir = format!("{}/", needle.path);
    earlier
        .iter()
        .filter(|item| {
            if item.path.is_empty() {
                return false;
            }
            let item_dir = format!("{}/", item.path);
            *item == needle
                || item_dir.starts_with(&needle_dir)
                || needle_dir.starts_with(&item_dir)
        })
        .collect()
}
