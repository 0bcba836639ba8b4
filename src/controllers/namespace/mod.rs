//! The namespace finalizer: kube's namespace controller (pkg/controller/namespace), built in.
//!
//! Deleting a namespace only marks it `Terminating` (see `registry::core::namespace`); this
//! controller then, for each terminating namespace that still has the `kubernetes` spec
//! finalizer, from [`DELETION_GRACE_PERIOD`] after it sees it (as kube's controller waits):
//!
//! 1. deletes every object of every namespaced resource it was given, in phases (pods first, as
//!    kube's OrderedNamespaceDeletion does; the phases come from `controlplane`);
//! 2. records how that went in the namespace's deletion conditions (`namespaces/status`);
//! 3. once nothing remains, removes `kubernetes` through `namespaces/finalize`, after which the
//!    namespace is deleted by that very update (unless other finalizers hold it).
//!
//! Objects in graceful deletion (pods) or held by finalizers are waited for, re-checking with a
//! growing delay. The controller follows a watch of namespaces and starts from a full listing
//! (including at start-up), so namespaces left `Terminating` by a restart are finished.

mod conditions;
pub mod content;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::queue::{Backoff, WorkQueue};
use super::{controller_context, watch_objects};
use crate::api::ApiError;
use crate::api::options::{GetOptions, WriteOptions};
use crate::auth::Admit;
use crate::registry::core::namespace::{KUBERNETES_FINALIZER, PHASE_TERMINATING, spec_finalizers};
use crate::registry::{RequestContext, Rest};
use content::{ContentReport, delete_content};

/// The name the finalizer acts under (`system:capstan:namespace-finalizer`).
const NAME: &str = "namespace-finalizer";

/// How long after seeing a terminating namespace its content is first deleted (kube's
/// `namespaceDeletionGracePeriod`). Besides letting last-moment creations land, it gives clients
/// deleting a namespace together with its objects (`kubectl delete -f` of a manifest holding
/// both) the time to delete those objects themselves rather than find them already gone.
pub const DELETION_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// The endpoints the namespace finalizer works through.
pub struct NamespaceEndpoints {
    /// `namespaces`: watched and read.
    pub namespaces: Arc<dyn Rest>,
    /// `namespaces/status`: the phase and the deletion conditions.
    pub status: Arc<dyn Rest>,
    /// `namespaces/finalize`: removes the `kubernetes` finalizer.
    pub finalize: Arc<dyn Rest>,
}

/// Empties terminating namespaces and then lets them go.
pub struct NamespaceFinalizer {
    endpoints: NamespaceEndpoints,
    content: Vec<Vec<Arc<dyn Rest>>>,
    admission: Arc<dyn Admit>,
}

/// What one sync of a namespace ended with.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing (more) to do: finalized, gone, not terminating, or not ours.
    Done,
    /// Content remains (graceful deletions, finalizers, failures): look again later.
    Waiting,
}

impl NamespaceFinalizer {
    /// A finalizer deleting the namespaced resources of `content`, phase after phase (each
    /// phase's resources must be gone before the next phase starts), acting through `admission`.
    pub fn new(
        endpoints: NamespaceEndpoints,
        content: Vec<Vec<Arc<dyn Rest>>>,
        admission: Arc<dyn Admit>,
    ) -> Self {
        Self {
            endpoints,
            content,
            admission,
        }
    }

    fn ctx(&self, namespace: Option<&str>) -> RequestContext {
        controller_context(NAME, namespace, self.admission.clone())
    }

    /// Runs until the future is dropped.
    pub async fn run(self) {
        let queue = WorkQueue::new(Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
        });
        let watched = queue.clone();
        let watcher = watch_objects(
            self.endpoints.namespaces.clone(),
            self.ctx(None),
            move |ns| {
                if let Some(name) = terminating_name(ns) {
                    watched.add_after(name, DELETION_GRACE_PERIOD);
                }
            },
        );
        let worker = async {
            while let Some(name) = queue.next().await {
                match self.sync(&name).await {
                    Ok(Outcome::Done) => queue.forget(&name),
                    Ok(Outcome::Waiting) => queue.retry(name),
                    Err(err) => {
                        tracing::warn!(namespace = %name, error = %err, "namespace finalization failed");
                        queue.retry(name);
                    }
                }
            }
        };
        tokio::join!(watcher, worker);
    }

    /// One pass over namespace `name` (kube's `namespacedResourcesDeleter.Delete`).
    pub async fn sync(&self, name: &str) -> Result<Outcome, ApiError> {
        let ctx = self.ctx(None);
        let ns = match self
            .endpoints
            .namespaces
            .get(&ctx, name, &GetOptions::default())
            .await
        {
            Ok(ns) => decode(ns)?,
            Err(ApiError::NotFound { .. }) => return Ok(Outcome::Done),
            Err(err) => return Err(err),
        };
        if ns.metadata.deletion_timestamp.is_none()
            || !spec_finalizers(&ns)
                .iter()
                .any(|f| f == KUBERNETES_FINALIZER)
        {
            return Ok(Outcome::Done);
        }
        let uid = ns.metadata.uid.clone().unwrap_or_default();
        let report = delete_content(&self.content, &self.ctx(Some(name)), name).await;
        match self.record(name, &uid, &report).await {
            Ok(()) | Err(ApiError::NotFound { .. }) => {}
            Err(err) => {
                tracing::warn!(namespace = %name, error = %err, "updating namespace conditions failed")
            }
        }
        if !report.is_clean() {
            return Ok(Outcome::Waiting);
        }
        match self.finalize(name, &uid).await {
            Ok(()) | Err(ApiError::NotFound { .. }) => Ok(Outcome::Done),
            Err(err) => Err(err),
        }
    }

    /// Writes the phase and the deletion conditions through `namespaces/status` (nothing is
    /// written when they are already as reported).
    async fn record(&self, name: &str, uid: &str, report: &ContentReport) -> Result<(), ApiError> {
        let uid = uid.to_string();
        let report = report.clone();
        let now = now();
        let update = Box::new(move |current: Option<&Value>| {
            let mut ns = decode(current.cloned().unwrap_or_default())?;
            same_namespace(&ns, &uid)?;
            let status = ns.status.get_or_insert_with(NamespaceStatus::default);
            status.phase = Some(PHASE_TERMINATING.into());
            conditions::update_conditions(status, &report, now.clone());
            serde_json::to_value(ns).map_err(ApiError::internal)
        });
        self.endpoints
            .status
            .update(&self.ctx(None), name, update, &WriteOptions::default())
            .await
            .map(drop)
    }

    /// Removes `kubernetes` from the spec finalizers through `namespaces/finalize` (kube keeps
    /// the others, sorted).
    async fn finalize(&self, name: &str, uid: &str) -> Result<(), ApiError> {
        let uid = uid.to_string();
        let update = Box::new(move |current: Option<&Value>| {
            let mut ns = decode(current.cloned().unwrap_or_default())?;
            same_namespace(&ns, &uid)?;
            let mut rest: Vec<String> = spec_finalizers(&ns)
                .iter()
                .filter(|f| *f != KUBERNETES_FINALIZER)
                .cloned()
                .collect();
            rest.sort();
            rest.dedup();
            ns.spec.get_or_insert_with(Default::default).finalizers = Some(rest);
            serde_json::to_value(ns).map_err(ApiError::internal)
        });
        self.endpoints
            .finalize
            .update(&self.ctx(None), name, update, &WriteOptions::default())
            .await
            .map(drop)
    }
}

/// The name of `ns` if it is terminating (has a deletion timestamp).
fn terminating_name(ns: &Value) -> Option<String> {
    let meta = &ns["metadata"];
    meta["deletionTimestamp"].as_str()?;
    meta["name"].as_str().map(str::to_string)
}

fn decode(value: Value) -> Result<Namespace, ApiError> {
    serde_json::from_value(value).map_err(ApiError::internal)
}

/// Refuses to touch a namespace recreated under the same name since the pass began.
fn same_namespace(ns: &Namespace, uid: &str) -> Result<(), ApiError> {
    if ns.metadata.uid.as_deref() == Some(uid) {
        return Ok(());
    }
    Err(ApiError::NotFound {
        resource: crate::api::GroupResource::new("", "namespaces"),
        name: ns.metadata.name.clone().unwrap_or_default(),
    })
}

/// Now, to the second, as kube's `metav1.Now()` serialises it.
fn now() -> Time {
    let now = jiff::Timestamp::now();
    Time(jiff::Timestamp::from_second(now.as_second()).unwrap_or(now))
}

#[cfg(test)]
mod tests;
