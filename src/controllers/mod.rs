//! Built-in controllers: the parts of kube-controller-manager and the kubelet a standalone
//! Capstan needs so that deletions finish without them.
//!
//! * [`namespace::NamespaceFinalizer`] — kube's namespace controller: empties a terminating
//!   namespace, then removes its `kubernetes` finalizer so it goes away;
//! * [`pod_finisher::PodFinisher`] — what a kubelet does once a pod's containers have stopped:
//!   completes the graceful deletion of pods (there are no containers here to stop).
//!
//! They act through the same [`Rest`] endpoints clients use (strategies, admission and all), are
//! driven by watches of those endpoints, and start over from a full listing whenever a watch
//! ends, so a restart finishes whatever was left half done. `controlplane` starts them as
//! post-start hooks and chooses which resources they act on; nothing here names a kind.

pub mod namespace;
pub mod pod_finisher;
pub mod queue;
#[cfg(test)]
mod testing;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::api::options::ListOptions;
use crate::auth::{Admit, SYSTEM_MASTERS, UserInfo};
use crate::registry::{RequestContext, Rest, Verb, WatchEvent};

/// How long a controller waits before watching again after its watch ended.
const REWATCH_DELAY: Duration = Duration::from_millis(500);

/// The request context of a controller's calls: the API server's own identity (as the
/// bootstrap hooks use) in `namespace`, with the server's admission chain.
pub fn controller_context(
    name: &str,
    namespace: Option<&str>,
    admission: Arc<dyn Admit>,
) -> RequestContext {
    RequestContext {
        namespace: namespace.map(str::to_string),
        user: UserInfo {
            name: format!("system:capstan:{name}"),
            groups: vec![SYSTEM_MASTERS.into()],
            ..Default::default()
        },
        admission,
        warnings: Default::default(),
    }
}

/// Hands every object of `rest` (across namespaces) to `on_object`: all current objects first,
/// then each one that is added or modified, for as long as the returned future runs. When the
/// watch ends or fails (compaction, storage trouble) it starts over, so every object is seen
/// again; handlers must therefore be idempotent.
pub async fn watch_objects<F>(rest: Arc<dyn Rest>, ctx: RequestContext, mut on_object: F)
where
    F: FnMut(&Value) + Send,
{
    let resource = rest.descriptor().group_resource();
    loop {
        match rest.watch(&ctx, &ListOptions::default()).await {
            Ok(mut events) => {
                while let Some(event) = events.next().await {
                    match event {
                        WatchEvent::Added(obj) | WatchEvent::Modified(obj) => on_object(&obj),
                        WatchEvent::Error(err) => {
                            tracing::debug!(%resource, error = %err, "controller watch ended");
                            break;
                        }
                        WatchEvent::Deleted(_) | WatchEvent::Bookmark(_) => {}
                    }
                }
            }
            Err(err) => tracing::warn!(%resource, error = %err, "controller watch failed"),
        }
        tokio::time::sleep(REWATCH_DELAY).await;
    }
}

/// The resources of a storage map a namespace's deletion must empty: namespaced, not
/// subresources, and supporting list and delete (kube's namespace controller takes the
/// discovered resources that support `delete`, and lists them to see what remains).
pub fn deletable_namespaced<'a>(
    resources: impl IntoIterator<Item = (&'a String, &'a Arc<dyn Rest>)>,
) -> Vec<Arc<dyn Rest>> {
    resources
        .into_iter()
        .filter(|(path, rest)| {
            let verbs = rest.verbs();
            !path.contains('/')
                && rest.descriptor().namespaced
                && verbs.contains(&Verb::Delete)
                && verbs.contains(&Verb::List)
        })
        .map(|(_, rest)| rest.clone())
        .collect()
}

/// `metadata.namespace` and `metadata.name` of an object.
fn namespace_and_name(obj: &Value) -> Option<(String, String)> {
    let meta = &obj["metadata"];
    let name = meta["name"].as_str().filter(|n| !n.is_empty())?;
    Some((
        meta["namespace"].as_str().unwrap_or("").to_string(),
        name.to_string(),
    ))
}
