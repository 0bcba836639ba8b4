//! The pod finisher: completes the graceful deletion of pods that no kubelet will finish.
//!
//! Deleting a scheduled pod only marks it (`deletionTimestamp`, `deletionGracePeriodSeconds`,
//! kube's graceful deletion); in a cluster the pod's kubelet then stops its containers and deletes
//! it with grace period 0, and only then does the pod disappear. Standalone Capstan has no
//! kubelets, so without this controller such pods — and the namespaces that contain them —
//! would stay `Terminating` forever.
//!
//! **When**: at once. A kubelet deletes the pod as soon as its containers have stopped, which
//! takes no time when nothing runs, and nothing runs here; waiting out the grace period would only
//! make every deletion of a scheduled pod take 30 seconds. Watchers still see the pod go through
//! `Terminating` (a MODIFIED event with the deletion timestamp) before it is DELETED.
//!
//! **How**: like the kubelet, a delete with grace period 0 and the pod's UID as precondition,
//! through the pods endpoint (strategy and admission included). A pod that also has finalizers
//! stays, marked with grace 0, until they are removed: finalizers are not ours to remove.
//!
//! `--enable-pod-finisher=false` turns it off, for a host whose own kubelets (or tests) finish
//! pods.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, Preconditions};
use serde_json::Value;

use super::queue::{Backoff, WorkQueue};
use super::{controller_context, namespace_and_name, watch_objects};
use crate::api::ApiError;
use crate::api::options::GetOptions;
use crate::auth::Admit;
use crate::registry::{RequestContext, Rest};

/// The name the finisher acts under (`system:capstan:pod-finisher`).
const NAME: &str = "pod-finisher";

/// Finishes the graceful deletion of the pods of each endpoint given.
pub struct PodFinisher {
    pods: Vec<Arc<dyn Rest>>,
    admission: Arc<dyn Admit>,
}

/// One pod: which of the endpoints serves it, and where.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PodKey {
    endpoint: usize,
    namespace: String,
    name: String,
}

impl PodFinisher {
    /// A finisher for the pods served by `pods` (one endpoint per pods resource, in any group),
    /// deleting through `admission`.
    pub fn new(pods: Vec<Arc<dyn Rest>>, admission: Arc<dyn Admit>) -> Self {
        Self { pods, admission }
    }

    fn ctx(&self, namespace: Option<&str>) -> RequestContext {
        controller_context(NAME, namespace, self.admission.clone())
    }

    /// Runs until the future is dropped: watches every endpoint and finishes each pod whose
    /// graceful deletion has begun, retrying failures with a growing delay.
    pub async fn run(self) {
        let queue = WorkQueue::new(Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(10),
        });
        let watchers = self.pods.iter().enumerate().map(|(endpoint, rest)| {
            let queue = queue.clone();
            watch_objects(rest.clone(), self.ctx(None), move |pod| {
                if let (true, Some((namespace, name))) =
                    (needs_finishing(pod), namespace_and_name(pod))
                {
                    queue.add(PodKey {
                        endpoint,
                        namespace,
                        name,
                    });
                }
            })
        });
        let worker = async {
            while let Some(key) = queue.next().await {
                match self.finish(&key).await {
                    Ok(()) => queue.forget(&key),
                    Err(err) => {
                        tracing::warn!(namespace = %key.namespace, pod = %key.name, error = %err, "finishing a pod's deletion failed");
                        queue.retry(key);
                    }
                }
            }
        };
        tokio::join!(join_all(watchers), worker);
    }

    /// Deletes the pod with grace 0 if its graceful deletion is still running.
    async fn finish(&self, key: &PodKey) -> Result<(), ApiError> {
        let Some(rest) = self.pods.get(key.endpoint) else {
            return Ok(());
        };
        let ctx = self.ctx(Some(&key.namespace));
        let pod = match rest.get(&ctx, &key.name, &GetOptions::default()).await {
            Ok(pod) => pod,
            Err(ApiError::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        };
        if !needs_finishing(&pod) {
            return Ok(());
        }
        tracing::debug!(namespace = %key.namespace, pod = %key.name, "finishing graceful deletion");
        let opts = DeleteOptions {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod["metadata"]["uid"].as_str().map(str::to_string),
                resource_version: None,
            }),
            ..Default::default()
        };
        match rest.delete(&ctx, &key.name, &opts).await {
            // Gone already, or replaced by a new pod of the same name (the UID differs): done.
            Ok(_) | Err(ApiError::NotFound { .. } | ApiError::Conflict { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

/// Whether `pod`'s graceful deletion is running: it has a deletion timestamp and a grace period
/// other than 0. Grace 0 means the deletion is complete but for finalizers.
pub fn needs_finishing(pod: &Value) -> bool {
    let meta = &pod["metadata"];
    meta["deletionTimestamp"].is_string() && meta["deletionGracePeriodSeconds"].as_i64() != Some(0)
}

#[cfg(test)]
mod tests;
