//! Update (PUT and PATCH), as kube's `Store.Update` and `rest.BeforeUpdate`.
//!
//! kube runs the whole computation, admission included, inside `GuaranteedUpdate`'s retry loop.
//! Admission is async here, and `storage::guaranteed_update` takes a synchronous decision, so the
//! loop is spelled out: read, compute the new object, admit it, compare-and-swap on the revision
//! read; a lost race reads again and recomputes (re-applying the client's update).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource as _;
use serde_json::Value;

use super::{Store, now, to_value};
use crate::api::field::Path;
use crate::api::options::{WriteOptions, parse_resource_version};
use crate::api::validation::validate_object_meta_update;
use crate::api::{ApiError, FieldError, GroupKind};
use crate::auth::Operation;
use crate::registry::{ObjectUpdate, RequestContext, Strategy, codec};
use crate::storage::{KeyValue, StorageError};

/// What one pass over the current state decided.
enum Next<T> {
    /// The object is absent and the strategy allows PUT to create it.
    Create(T),
    /// Replace the object read at `revision`; `delete` when its last finalizer went away after a
    /// delete request (kube's `ShouldDeleteDuringUpdate`).
    Update { obj: T, revision: i64, delete: bool },
}

impl<S: Strategy> Store<S> {
    /// Applies `update` to `name` and stores the result; returns it and whether it was created.
    pub(super) async fn update_value(
        &self,
        ctx: &RequestContext,
        name: &str,
        mut update: ObjectUpdate,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        let key = self.object_key(ctx, name)?;
        let mut current = self
            .storage
            .get(&key)
            .await
            .map_err(|e| self.storage_error(e, name))?;
        loop {
            let allow_create = opts.force_allow_create || self.strategy.allow_create_on_update();
            match self.next_object(ctx, name, current.as_ref(), &mut update, allow_create)? {
                Next::Create(mut obj) => {
                    let value = to_value(&obj)?;
                    self.admit(ctx, Operation::Create, name, Some(&value))
                        .await?;
                    if opts.dry_run {
                        return Ok((value, true));
                    }
                    let ttl = self.strategy.ttl(&obj, false);
                    let bytes = codec::encode(&obj)?;
                    match self.storage.create_with_ttl(&key, bytes, ttl).await {
                        Ok(kv) => {
                            obj.meta_mut().resource_version = Some(kv.mod_revision.to_string());
                            return Ok((to_value(&obj)?, true));
                        }
                        Err(StorageError::KeyExists(_)) => {}
                        Err(err) => return Err(self.storage_error(err, name)),
                    }
                }
                Next::Update {
                    mut obj,
                    revision,
                    delete,
                } => {
                    let value = to_value(&obj)?;
                    self.admit(ctx, Operation::Update, name, Some(&value))
                        .await?;
                    if opts.dry_run {
                        return Ok((value, false));
                    }
                    let written = if delete {
                        // The object goes; the client gets the object it sent, as in kube.
                        match self.storage.delete(&key, Some(revision)).await {
                            Ok(_) | Err(StorageError::NotFound(_)) => return Ok((value, false)),
                            Err(err) => Err(err),
                        }
                    } else {
                        let bytes = codec::encode(&obj)?;
                        if current.as_ref().is_some_and(|kv| kv.value == bytes) {
                            // A no-op write keeps the resourceVersion.
                            return Ok((value, false));
                        }
                        let ttl = self.strategy.ttl(&obj, true);
                        self.storage
                            .update_with_ttl(&key, bytes, revision, ttl)
                            .await
                    };
                    match written {
                        Ok(kv) => {
                            obj.meta_mut().resource_version = Some(kv.mod_revision.to_string());
                            return Ok((to_value(&obj)?, false));
                        }
                        Err(StorageError::Conflict { current: fresh, .. }) => {
                            current = fresh;
                            continue;
                        }
                        Err(err) => return Err(self.storage_error(err, name)),
                    }
                }
            }
            // Lost a race with a create: read again.
            current = self
                .storage
                .get(&key)
                .await
                .map_err(|e| self.storage_error(e, name))?;
        }
    }

    /// One pass of kube's update closure over the current state (`None`: absent, created only
    /// when `allow_create`: the strategy allows it, or an apply patch forces it).
    fn next_object(
        &self,
        ctx: &RequestContext,
        name: &str,
        current: Option<&KeyValue>,
        update: &mut ObjectUpdate,
        allow_create: bool,
    ) -> Result<Next<S::Object>, ApiError> {
        let Some(kv) = current else {
            if !allow_create {
                return Err(self.not_found(name));
            }
            return self
                .create_through_update(ctx, name, update)
                .map(Next::Create);
        };
        let old: S::Object = codec::decode(kv)?;
        let mut obj = self.decode_body(update(Some(&to_value(&old)?))?)?;
        self.strategy.default_object(&mut obj);
        self.check_name(obj.meta(), name)?;
        self.check_uid_precondition(obj.meta().uid.as_deref(), old.meta().uid.as_deref(), name)?;
        self.check_resource_version(&mut obj, kv.mod_revision, name)?;
        self.before_update(ctx, &mut obj, &old)?;
        let delete = self.strategy.should_delete_during_update(&obj, &old);
        Ok(Next::Update {
            obj,
            revision: kv.mod_revision,
            delete,
        })
    }

    /// PUT of a missing object where the strategy allows it: kube wipes and refills the system
    /// fields, then runs `BeforeCreate`.
    fn create_through_update(
        &self,
        ctx: &RequestContext,
        name: &str,
        update: &mut ObjectUpdate,
    ) -> Result<S::Object, ApiError> {
        let mut obj = self.decode_body(update(None)?)?;
        self.strategy.default_object(&mut obj);
        self.check_name(obj.meta(), name)?;
        {
            let meta = obj.meta_mut();
            meta.deletion_timestamp = None;
            meta.deletion_grace_period_seconds = None;
            meta.self_link = None;
            meta.resource_version = None;
            meta.creation_timestamp = Some(Time(now()));
            meta.uid = Some(uuid::Uuid::new_v4().to_string());
        }
        self.ensure_namespace(ctx, obj.meta_mut())?;
        self.strategy.prepare_for_create(ctx, &mut obj);
        let errs = self.validate_new(ctx, &obj);
        if !errs.is_empty() {
            return Err(ApiError::invalid(self.group_kind(), name, errs));
        }
        ctx.warnings
            .extend(self.strategy.warnings_on_create(ctx, &obj));
        self.strategy.canonicalize(&mut obj);
        Ok(obj)
    }

    /// A uid in the body is a precondition on the stored object's uid.
    fn check_uid_precondition(
        &self,
        sent: Option<&str>,
        stored: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        match sent.filter(|u| !u.is_empty()) {
            Some(uid) if Some(uid) != stored => Err(ApiError::Conflict {
                resource: self.group_resource(),
                name: name.to_string(),
                reason: format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    stored.unwrap_or("")
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Optimistic concurrency: the body's resourceVersion must be the stored one (409 otherwise);
    /// an empty one takes the stored revision when the strategy allows unconditional updates, and
    /// is kube's 422 otherwise.
    fn check_resource_version(
        &self,
        obj: &mut S::Object,
        stored: i64,
        name: &str,
    ) -> Result<(), ApiError> {
        let sent = parse_resource_version(obj.meta().resource_version.as_deref().unwrap_or(""))?;
        if sent == 0 {
            if !self.strategy.allow_unconditional_update() {
                let resource = self.group_resource();
                let err = FieldError::invalid(
                    "metadata.resourceVersion",
                    0,
                    "must be specified for an update",
                );
                return Err(ApiError::invalid(
                    GroupKind::new(resource.group, resource.resource),
                    name,
                    vec![err],
                ));
            }
            obj.meta_mut().resource_version = Some(stored.to_string());
        } else if sent != stored {
            return Err(ApiError::conflict_modified(self.group_resource(), name));
        }
        Ok(())
    }

    /// kube's `BeforeUpdate`: namespace check, fields clients may not change carried over,
    /// `prepare_for_update`, metadata and strategy validation (422), the strategy's warnings,
    /// `canonicalize`.
    fn before_update(
        &self,
        ctx: &RequestContext,
        obj: &mut S::Object,
        old: &S::Object,
    ) -> Result<(), ApiError> {
        self.ensure_namespace(ctx, obj.meta_mut())?;
        let old_meta = old.meta();
        obj.meta_mut().generation = old_meta.generation;
        obj.meta_mut().self_link = None;
        self.strategy.prepare_for_update(ctx, obj, old);
        let meta = obj.meta_mut();
        if meta.uid.as_deref().unwrap_or("").is_empty() {
            meta.uid = old_meta.uid.clone();
        }
        if old_meta.creation_timestamp.is_some() {
            meta.creation_timestamp = old_meta.creation_timestamp.clone();
        }
        if old_meta.deletion_timestamp.is_some() {
            meta.deletion_timestamp = old_meta.deletion_timestamp.clone();
        }
        if old_meta.deletion_grace_period_seconds.is_some()
            && meta.deletion_grace_period_seconds.is_none()
        {
            meta.deletion_grace_period_seconds = old_meta.deletion_grace_period_seconds;
        }
        let mut errs = self.validate_new_metadata_only(obj);
        errs.extend(validate_object_meta_update(
            obj.meta(),
            old_meta,
            &Path::new("metadata"),
        ));
        errs.extend(self.strategy.validate_update(ctx, obj, old));
        if !errs.is_empty() {
            // The metadata is checked both as a new object's and as an update's (kube's
            // `validateCommonFields` and the kinds' `ValidateObjectMetaUpdate`); a real
            // kube-apiserver answers each resulting error once, and so do we.
            let mut seen = Vec::new();
            errs.retain(|e| {
                let key = e.to_string();
                let fresh = !seen.contains(&key);
                seen.push(key);
                fresh
            });
            let name = obj.meta().name.clone().unwrap_or_default();
            return Err(ApiError::invalid(self.group_kind(), name, errs));
        }
        ctx.warnings
            .extend(self.strategy.warnings_on_update(ctx, obj, old));
        self.strategy.canonicalize(obj);
        Ok(())
    }

    /// kube's `validateCommonFields` part for the new object alone: its metadata must be valid.
    fn validate_new_metadata_only(&self, obj: &S::Object) -> Vec<FieldError> {
        crate::api::validation::validate_object_meta(
            obj.meta(),
            self.descriptor.namespaced,
            self.strategy.name_validator(),
            &Path::new("metadata"),
        )
    }
}
