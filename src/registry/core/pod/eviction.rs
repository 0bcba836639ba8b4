//! `pods/eviction`: a delete that asks first (kube's `EvictionREST` in
//! pkg/registry/core/pod/storage/eviction.go).
//!
//! `POST .../pods/<name>/eviction` with a `policy/v1` `Eviction` evicts the pod: it gets the
//! `DisruptionTarget=True` condition (reason `EvictionByEvictionAPI`) and is then deleted with the
//! eviction's `deleteOptions`, so a scheduled pod starts its graceful deletion. The answer is a
//! Status `Success` with code 201.
//!
//! **PodDisruptionBudgets are not honoured**: Capstan serves no `policy/v1`
//! PodDisruptionBudgets, so every pod is evicted as kube evicts one that no budget selects.
//! What remains of kube's rules: the name in the body must be the URL's; `dryRun` in the query and
//! in `deleteOptions` must agree (and the options be valid, 422 otherwise); a pending pod is deleted only at the resourceVersion that was
//! read (kube's guard against a pod turning ready meanwhile), retried on conflict unless the
//! client gave its own resourceVersion precondition.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use k8s_openapi::api::policy::v1::Eviction;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, Preconditions, Status};
use serde_json::Value;

use super::status::update_pod_condition;
use super::{PodObject, PodStrategy};
use crate::api::options::WriteOptions;
use crate::api::{ApiError, GroupResource, ResourceDescriptor};
use crate::auth::{AdmissionRequest, Operation};
use crate::registry::store::{Store, validate_delete_options};
use crate::registry::{RequestContext, Rest, Verb};

/// kube's `EvictionsRetry`: attempts on a conflict, and the pause between them.
const RETRY_STEPS: usize = 20;
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// The `pods/eviction` endpoint over a pods store.
pub struct EvictionRest<T: PodObject> {
    descriptor: ResourceDescriptor,
    /// The group and version of the pods, which admission sees as the resource.
    pods_group: String,
    pods_version: String,
    pods: Arc<Store<PodStrategy<T>>>,
}

impl<T: PodObject> EvictionRest<T> {
    /// Evicts the pods of `pods`.
    pub fn new(pods: Arc<Store<PodStrategy<T>>>) -> Self {
        let parent = pods.descriptor();
        let descriptor = ResourceDescriptor {
            group: "policy".into(),
            version: "v1".into(),
            kind: "Eviction".into(),
            plural: "pods/eviction".into(),
            singular: String::new(),
            namespaced: true,
            short_names: Vec::new(),
            categories: Vec::new(),
        };
        Self {
            descriptor,
            pods_group: parent.group.clone(),
            pods_version: parent.version.clone(),
            pods,
        }
    }

    /// One attempt: read the pod, choose the preconditions, mark and delete it.
    async fn evict_once(
        &self,
        ctx: &RequestContext,
        name: &str,
        original: &DeleteOptions,
    ) -> Result<(), ApiError> {
        let pod = self.pods.get_object(ctx, name).await?;
        let mut opts = original.clone();
        if can_skip_budgets(&pod) && must_pin_resource_version(&pod) && rv_unset(original) {
            opts.preconditions
                .get_or_insert_with(Preconditions::default)
                .resource_version = pod.meta().resource_version.clone();
        }
        // With no budgets to consult, a running pod goes the same way as one that may skip them.
        self.mark_and_delete(ctx, name, opts).await
    }

    /// kube's `addConditionAndDeletePod`: the DisruptionTarget condition (not on dry-run), then
    /// the delete, its resourceVersion precondition moved to the marked pod's.
    async fn mark_and_delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        mut opts: DeleteOptions,
    ) -> Result<(), ApiError> {
        if !is_dry_run(&opts) {
            let now = jiff::Timestamp::now();
            let marked = self
                .pods
                .update_object(ctx, name, |pod| {
                    check_preconditions(pod, &opts, name)?;
                    let condition = PodCondition {
                        type_: "DisruptionTarget".into(),
                        status: "True".into(),
                        reason: Some("EvictionByEvictionAPI".into()),
                        message: Some("Eviction API: evicting".into()),
                        ..Default::default()
                    };
                    let status = pod.pod_status_mut().get_or_insert_with(PodStatus::default);
                    update_pod_condition(status, condition, now);
                    Ok(())
                })
                .await?;
            if let Some(pre) = opts
                .preconditions
                .as_mut()
                .filter(|p| p.resource_version.is_some())
            {
                pre.resource_version = marked.meta().resource_version.clone();
            }
        }
        Rest::delete(self.pods.as_ref(), ctx, name, &opts)
            .await
            .map(drop)
    }
}

/// The preconditions of the delete options, checked on the pod about to be marked; kube names
/// the resource `Pod` in these conflicts.
fn check_preconditions<T: PodObject>(
    pod: &T,
    opts: &DeleteOptions,
    name: &str,
) -> Result<(), ApiError> {
    let Some(pre) = &opts.preconditions else {
        return Ok(());
    };
    let conflict = |reason: String| ApiError::Conflict {
        resource: GroupResource::new("", "Pod"),
        name: name.to_string(),
        reason,
    };
    let uid = pod.meta().uid.as_deref().unwrap_or("");
    if let Some(want) = pre.uid.as_deref().filter(|u| !u.is_empty() && *u != uid) {
        return Err(conflict(format!(
            "the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
        )));
    }
    let rv = pod.meta().resource_version.as_deref().unwrap_or("");
    if let Some(want) = pre
        .resource_version
        .as_deref()
        .filter(|r| !r.is_empty() && *r != rv)
    {
        return Err(conflict(format!(
            "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({rv}). The object might have been modified"
        )));
    }
    Ok(())
}

fn phase<T: PodObject>(pod: &T) -> &str {
    pod.pod_status()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// kube's `canIgnorePDB`: finished, pending or already deleting pods need no budget.
fn can_skip_budgets<T: PodObject>(pod: &T) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending")
        || pod.meta().deletion_timestamp.is_some()
}

/// kube's `shouldEnforceResourceVersion`: every pod but finished or deleting ones.
fn must_pin_resource_version<T: PodObject>(pod: &T) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && pod.meta().deletion_timestamp.is_none()
}

fn rv_unset(opts: &DeleteOptions) -> bool {
    opts.preconditions
        .as_ref()
        .is_none_or(|p| p.resource_version.is_none())
}

fn is_dry_run(opts: &DeleteOptions) -> bool {
    opts.dry_run.as_ref().is_some_and(|d| !d.is_empty())
}

/// kube's `propagateDryRun`: the query's `dryRun` fills the body's when the body has none; both
/// given must be the same.
fn propagate_dry_run(
    body: Option<DeleteOptions>,
    query_dry_run: bool,
) -> Result<DeleteOptions, ApiError> {
    let query: Vec<String> = if query_dry_run {
        vec!["All".into()]
    } else {
        Vec::new()
    };
    let query_opt = (!query.is_empty()).then(|| query.clone());
    let Some(mut opts) = body else {
        return Ok(DeleteOptions {
            dry_run: query_opt,
            ..Default::default()
        });
    };
    let in_body = opts.dry_run.clone().unwrap_or_default();
    if in_body.is_empty() {
        opts.dry_run = query_opt;
        return Ok(opts);
    }
    if query.is_empty() || query == in_body {
        return Ok(opts);
    }
    // kube reports a plain error here, which its handler turns into a 500.
    Err(ApiError::Internal(format!(
        "Non-matching dry-run options in request and content: [{}] and [{}]",
        query.join(" "),
        in_body.join(" ")
    )))
}

#[async_trait]
impl<T: PodObject> Rest for EvictionRest<T> {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        BTreeSet::from([Verb::Create])
    }

    /// kube's eviction subresource takes policy/v1beta1 Evictions too (client-go's deprecated
    /// `Pods().Evict` and `EvictV1beta1` still send them); they differ from v1 in name only.
    fn accepts_api_version(&self, api_version: &str) -> bool {
        matches!(api_version, "policy/v1" | "policy/v1beta1")
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        parent: Option<&str>,
        mut object: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let eviction: Eviction = super::decode_subresource_body(&mut object)?;
        let name = eviction.metadata.name.clone().unwrap_or_default();
        if parent != Some(name.as_str()) {
            return Err(ApiError::BadRequest(
                "name in URL does not match name in Eviction object".into(),
            ));
        }
        let original = propagate_dry_run(eviction.delete_options, opts.dry_run)?;
        // Checked before the pod is marked, so that an eviction the delete would refuse leaves
        // no DisruptionTarget condition behind.
        validate_delete_options(&original)?;
        ctx.admission
            .admit(&AdmissionRequest {
                operation: Operation::Create,
                group: &self.pods_group,
                version: &self.pods_version,
                resource: "pods",
                subresource: "eviction",
                namespace: ctx.namespace.as_deref(),
                name: &name,
                user: &ctx.user,
                object: Some(&object),
            })
            .await?;
        let retry_conflicts = rv_unset(&original);
        let mut attempt = 1;
        loop {
            match self.evict_once(ctx, &name, &original).await {
                Err(ApiError::Conflict { .. }) if retry_conflicts && attempt < RETRY_STEPS => {
                    attempt += 1;
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(err) => return Err(err),
                Ok(()) => break,
            }
        }
        let status = Status {
            status: Some("Success".into()),
            code: Some(201),
            ..Default::default()
        };
        serde_json::to_value(status).map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_flows_from_the_query_into_the_delete_options() {
        let all = Some(vec!["All".to_string()]);
        assert_eq!(propagate_dry_run(None, true).unwrap().dry_run, all);
        assert_eq!(propagate_dry_run(None, false).unwrap().dry_run, None);
        let body = DeleteOptions {
            grace_period_seconds: Some(5),
            ..Default::default()
        };
        let merged = propagate_dry_run(Some(body), true).unwrap();
        assert_eq!(
            (merged.dry_run, merged.grace_period_seconds),
            (all.clone(), Some(5))
        );
        let body = DeleteOptions {
            dry_run: all.clone(),
            ..Default::default()
        };
        assert_eq!(
            propagate_dry_run(Some(body.clone()), false)
                .unwrap()
                .dry_run,
            all
        );
        assert_eq!(propagate_dry_run(Some(body), true).unwrap().dry_run, all);
    }

    #[test]
    fn dry_run_in_body_and_query_must_agree() {
        let body = DeleteOptions {
            dry_run: Some(vec!["Other".into()]),
            ..Default::default()
        };
        let err = propagate_dry_run(Some(body), true).unwrap_err();
        assert_eq!(err.code(), 500);
        assert!(
            err.to_string().ends_with(
                "Non-matching dry-run options in request and content: [All] and [Other]"
            ),
            "{err}"
        );
    }
}
