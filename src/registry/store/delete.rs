//! Delete, as kube's `Store.Delete`, `rest.BeforeDelete` and the finalizer rules.
//!
//! Each attempt reads the object, checks preconditions, decides (graceful or not, finalizers or
//! not), runs admission, and writes with a compare-and-swap on the revision it read; a lost race
//! starts over on the fresh object.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, Time};
use kube::Resource as _;

use super::{Store, now, to_value};
use crate::api::options::DeleteOpts;
use crate::api::{ApiError, FieldError, FieldErrors, GroupKind, GroupResource};
use crate::auth::Operation;
use crate::registry::{DeleteResult, RequestContext, Strategy, codec};
use crate::storage::{KeyValue, StorageError};

/// What kube's `BeforeDelete` decided.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Not graceful: delete now (or only mark, if finalizers remain).
    Now,
    /// A longer-or-equal grace was asked while a graceful deletion runs: nothing to do.
    Pending,
    /// Graceful with this period; deletionTimestamp and grace were set on the object.
    Graceful(i64),
}

/// kube's `ValidateDeleteOptions` (422 `DeleteOptions.meta.k8s.io`): a known propagation policy
/// not combined with `orphanDependents`, and `dryRun` only `All`. Delete runs it first, and so
/// does deletecollection before it lists, so that bad options fail even on an empty collection.
pub fn validate_delete_options(opts: &DeleteOptions) -> Result<(), ApiError> {
    let mut errs = FieldErrors::new();
    if let Some(policy) = &opts.propagation_policy {
        if opts.orphan_dependents.is_some() {
            errs.push(FieldError::invalid(
                "propagationPolicy",
                policy.as_str(),
                "orphanDependents and deletionPropagation cannot be both set",
            ));
        }
        if !["Foreground", "Background", "Orphan"].contains(&policy.as_str()) {
            errs.push(FieldError::not_supported(
                "propagationPolicy",
                policy.as_str(),
                &["Foreground", "Background", "Orphan", "nil"],
            ));
        }
    }
    if let Some(dry_run) = &opts.dry_run
        && dry_run.iter().any(|d| d != "All")
    {
        errs.push(FieldError::not_supported(
            "dryRun",
            dry_run.clone(),
            &["All"],
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            GroupKind::new("meta.k8s.io", "DeleteOptions"),
            "",
            errs,
        ))
    }
}

/// `ts` moved by `seconds`, saturating on overflow.
fn shift(ts: Timestamp, seconds: i64) -> Timestamp {
    ts.checked_add(SignedDuration::from_secs(seconds))
        .unwrap_or(ts)
}

impl<S: Strategy> Store<S> {
    /// Deletes `name` per `opts`; see the module doc.
    pub(super) async fn delete_value(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<DeleteResult, ApiError> {
        validate_delete_options(opts)?;
        let key = self.object_key(ctx, name)?;
        let dry_run = opts
            .dry_run
            .as_ref()
            .is_some_and(|d| d.iter().any(|v| v == "All"));
        let requested = opts.grace_period_seconds.map(|g| if g < 0 { 1 } else { g });
        let returns = self.strategy.return_deleted_object();
        loop {
            let Some(kv) = self
                .storage
                .get(&key)
                .await
                .map_err(|e| self.storage_error(e, name))?
            else {
                return Err(self.not_found(name));
            };
            let mut obj: S::Object = codec::decode(&kv)?;
            self.check_delete_preconditions(opts, &obj, name)?;
            let plan = self.before_delete(&mut obj, requested);
            if plan == Plan::Pending {
                // kube answers as if deleted (the object or a Status), without admission.
                return Ok(DeleteResult::Deleted {
                    object: to_value(&obj)?,
                    return_object: returns,
                });
            }
            self.admit(ctx, Operation::Delete, name, None).await?;
            let finalizers = obj
                .meta()
                .finalizers
                .as_ref()
                .is_some_and(|f| !f.is_empty());
            let mark_only = match plan {
                Plan::Graceful(grace) => finalizers || grace > 0,
                _ if finalizers => {
                    mark_as_deleting(&mut obj);
                    true
                }
                _ => false,
            };
            let mut revision = kv.mod_revision;
            let mut wrote_update = false;
            if matches!(plan, Plan::Graceful(_)) || mark_only {
                match self.write_marked(&key, &kv, &mut obj, dry_run).await {
                    Ok(rev) => revision = rev,
                    Err(StorageError::Conflict { .. }) => continue,
                    Err(err) => return Err(self.storage_error(err, name)),
                }
                wrote_update = true;
            }
            if mark_only {
                return Ok(DeleteResult::Pending(to_value(&obj)?));
            }
            if dry_run {
                return Ok(DeleteResult::Deleted {
                    object: to_value(&obj)?,
                    return_object: returns,
                });
            }
            match self.storage.delete(&key, Some(revision)).await {
                Ok(deleted) => {
                    let last: S::Object = codec::decode(&deleted.prev)?;
                    return Ok(DeleteResult::Deleted {
                        object: to_value(&last)?,
                        return_object: returns,
                    });
                }
                // Someone else finished the deletion we started: fine, as in kube.
                Err(StorageError::NotFound(_)) if wrote_update => {
                    return Ok(DeleteResult::Deleted {
                        object: to_value(&obj)?,
                        return_object: returns,
                    });
                }
                Err(StorageError::Conflict { .. }) => continue,
                Err(err) => return Err(self.storage_error(err, name)),
            }
        }
    }

    /// Writes the object marked for deletion (compare-and-swap on the revision read); returns the
    /// new revision and sets it on `obj`. A write that changes nothing keeps the revision.
    async fn write_marked(
        &self,
        key: &str,
        kv: &KeyValue,
        obj: &mut S::Object,
        dry_run: bool,
    ) -> Result<i64, StorageError> {
        let bytes = codec::encode(obj).map_err(|e| StorageError::Internal(e.to_string()))?;
        if dry_run || bytes == kv.value {
            return Ok(kv.mod_revision);
        }
        let written = self.storage.update(key, bytes, kv.mod_revision).await?;
        obj.meta_mut().resource_version = Some(written.mod_revision.to_string());
        Ok(written.mod_revision)
    }

    /// `Preconditions{uid, resourceVersion}` that do not hold are 409s with kube's reasons. Like
    /// kube's `BeforeDelete`, the Conflict names the kind (`Pod`), not the resource.
    fn check_delete_preconditions(
        &self,
        opts: &DeleteOptions,
        obj: &S::Object,
        name: &str,
    ) -> Result<(), ApiError> {
        let Some(pre) = &opts.preconditions else {
            return Ok(());
        };
        let meta = obj.meta();
        let conflict = |reason: String| ApiError::Conflict {
            resource: GroupResource::new(
                self.descriptor.group.clone(),
                self.descriptor.kind.clone(),
            ),
            name: name.to_string(),
            reason,
        };
        let stored_uid = meta.uid.as_deref().unwrap_or("");
        if let Some(uid) = pre.uid.as_deref().filter(|u| *u != stored_uid) {
            return Err(conflict(format!(
                "the UID in the precondition ({uid}) does not match the UID in record ({stored_uid}). The object might have been deleted and then recreated"
            )));
        }
        let stored_rv = meta.resource_version.as_deref().unwrap_or("");
        if let Some(rv) = pre.resource_version.as_deref().filter(|r| *r != stored_rv) {
            return Err(conflict(format!(
                "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({stored_rv}). The object might have been modified"
            )));
        }
        Ok(())
    }

    /// kube's `BeforeDelete` graceful logic on the stored object: a running graceful deletion may
    /// only be shortened; otherwise the strategy decides the grace period.
    fn before_delete(&self, obj: &mut S::Object, requested: Option<i64>) -> Plan {
        let meta = obj.meta_mut();
        if meta.deletion_grace_period_seconds.is_some_and(|g| g < 0) {
            meta.deletion_grace_period_seconds = Some(1);
        }
        if let Some(Time(deleting_at)) = meta.deletion_timestamp.clone() {
            let current = match meta.deletion_grace_period_seconds {
                None | Some(0) => return Plan::Now,
                Some(g) => g,
            };
            let Some(mut period) = requested else {
                return Plan::Pending;
            };
            if period >= current {
                return Plan::Pending;
            }
            let mut at = shift(shift(deleting_at, -current), period);
            let now = now();
            if at < now {
                at = now;
                if period != 0 {
                    period = 1;
                }
            }
            meta.deletion_timestamp = Some(Time(at));
            meta.deletion_grace_period_seconds = Some(period);
            return Plan::Graceful(period);
        }
        let Some(grace) = self.strategy.check_graceful_delete(obj, requested) else {
            return Plan::Now;
        };
        let meta = obj.meta_mut();
        meta.deletion_timestamp = Some(Time(shift(now(), grace)));
        meta.deletion_grace_period_seconds = Some(grace);
        if let Some(generation) = meta.generation.filter(|g| *g > 0) {
            meta.generation = Some(generation + 1);
        }
        Plan::Graceful(grace)
    }
}

/// kube's `markAsDeleting`: an object that cannot go yet (finalizers) gets a deletionTimestamp
/// (kept if earlier), grace 0, and a generation bump on the first mark.
fn mark_as_deleting<T: kube::Resource>(obj: &mut T) {
    let meta = obj.meta_mut();
    let now = now();
    if meta.deletion_timestamp.is_none()
        && let Some(generation) = meta.generation.filter(|g| *g > 0)
    {
        meta.generation = Some(generation + 1);
    }
    if meta
        .deletion_timestamp
        .as_ref()
        .is_none_or(|Time(at)| *at > now)
    {
        meta.deletion_timestamp = Some(Time(now));
    }
    meta.deletion_grace_period_seconds = Some(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_options_are_validated_like_kube() {
        let bad = DeleteOptions {
            propagation_policy: Some("Sometimes".into()),
            orphan_dependents: Some(true),
            dry_run: Some(vec!["Yes".into()]),
            ..Default::default()
        };
        let err = validate_delete_options(&bad).unwrap_err();
        assert_eq!(err.code(), 422);
        let msg = err.to_string();
        assert!(
            msg.starts_with("DeleteOptions.meta.k8s.io \"\" is invalid: ["),
            "{msg}"
        );
        assert!(msg.contains("propagationPolicy: Invalid value: \"Sometimes\": orphanDependents and deletionPropagation cannot be both set"));
        assert!(msg.contains("propagationPolicy: Unsupported value: \"Sometimes\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""));
        assert!(msg.contains("dryRun: Unsupported value: [\"Yes\"]: supported values: \"All\""));
        assert!(validate_delete_options(&DeleteOptions::default()).is_ok());
    }
}
