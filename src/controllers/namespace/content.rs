//! Deleting a terminating namespace's content (kube's `namespacedResourcesDeleter.deleteAllContent`
//! with ordered deletion), and what is left afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, Preconditions};
use serde_json::Value;

use crate::api::ApiError;
use crate::api::options::ListOptions;
use crate::registry::{RequestContext, Rest};

/// What one pass over a namespace's content found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContentReport {
    /// Deletions or listings that failed, or objects that stayed for no reason (kube's
    /// `ContentDeletionFailed` causes).
    pub errors: Vec<String>,
    /// Objects remaining per resource, named as kube prints them (`pods.`, `pods.capstan.dev`).
    pub remaining: BTreeMap<String, usize>,
    /// Remaining objects per finalizer they carry.
    pub finalizers: BTreeMap<String, usize>,
}

impl ContentReport {
    /// Whether the namespace is empty and nothing failed: time to finalize it.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.remaining.is_empty()
    }
}

/// Deletes the content of `namespace`, phase by phase: the next phase starts only when nothing
/// of the previous one remains (kube's OrderedNamespaceDeletion, which removes pods before the
/// objects they use). Errors do not stop the pass; they are reported.
pub async fn delete_content(
    phases: &[Vec<Arc<dyn Rest>>],
    ctx: &RequestContext,
    namespace: &str,
) -> ContentReport {
    let mut report = ContentReport::default();
    for phase in phases {
        for rest in phase {
            delete_resource(rest.as_ref(), ctx, namespace, &mut report).await;
        }
        if !report.remaining.is_empty() {
            break;
        }
    }
    report
}

/// Deletes every object of one resource in the namespace, then records what is left.
async fn delete_resource(
    rest: &dyn Rest,
    ctx: &RequestContext,
    namespace: &str,
    report: &mut ContentReport,
) {
    let descriptor = rest.descriptor();
    let gvr = format!(
        "{}/{}, Resource={}",
        descriptor.group, descriptor.version, descriptor.plural
    );
    let listed = match rest.list(ctx, &ListOptions::default()).await {
        Ok(listed) => listed.items,
        Err(err) => {
            report.errors.push(format!("error listing {gvr}: {err}"));
            return;
        }
    };
    for item in listed.iter().filter(|i| !is_deleting(i)) {
        let Some(name) = item["metadata"]["name"].as_str() else {
            continue;
        };
        match rest.delete(ctx, name, &background(item)).await {
            Ok(_) | Err(ApiError::NotFound { .. } | ApiError::Conflict { .. }) => {}
            Err(err) => report
                .errors
                .push(format!("error deleting {gvr} {name:?}: {err}")),
        }
    }
    let remaining = match rest.list(ctx, &ListOptions::default()).await {
        Ok(listed) => listed.items,
        Err(err) => {
            report.errors.push(format!("error listing {gvr}: {err}"));
            return;
        }
    };
    if remaining.is_empty() {
        return;
    }
    let mut waiting = true;
    for item in &remaining {
        let finalizers = finalizers(item);
        for f in &finalizers {
            *report.finalizers.entry(f.clone()).or_default() += 1;
        }
        waiting &= !finalizers.is_empty() || in_grace_period(item);
    }
    report.remaining.insert(
        format!("{}.{}", descriptor.plural, descriptor.group),
        remaining.len(),
    );
    if !waiting {
        report.errors.push(format!(
            "unexpected items still remain in namespace: {namespace} for gvr: {gvr}"
        ));
    }
}

/// The options of each delete: background propagation (kube's choice), guarded by the UID so a
/// newer object of the same name is left alone.
fn background(item: &Value) -> DeleteOptions {
    DeleteOptions {
        propagation_policy: Some("Background".into()),
        preconditions: Some(Preconditions {
            uid: item["metadata"]["uid"].as_str().map(str::to_string),
            resource_version: None,
        }),
        ..Default::default()
    }
}

fn is_deleting(item: &Value) -> bool {
    item["metadata"]["deletionTimestamp"].is_string()
}

/// Graceful deletion under way: whoever finishes it (a kubelet, the pod finisher) will.
fn in_grace_period(item: &Value) -> bool {
    is_deleting(item)
        && item["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .is_some_and(|g| g > 0)
}

fn finalizers(item: &Value) -> Vec<String> {
    item["metadata"]["finalizers"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
