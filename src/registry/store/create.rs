//! Create, as kube's `Store.Create` and `rest.BeforeCreate`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Resource as _;
use rand::Rng;
use serde_json::Value;

use super::{Store, now, to_value};
use crate::api::field::Path;
use crate::api::options::WriteOptions;
use crate::api::validation::{is_path_segment_name, validate_object_meta};
use crate::api::{ApiError, FieldError, FieldErrors};
use crate::auth::Operation;
use crate::registry::{RequestContext, Strategy, codec};

/// kube tries this many random names for `generateName` before giving up.
const MAX_NAME_GENERATION_ATTEMPTS: usize = 8;
/// Characters of generated suffixes: kube's `utilrand` alphabet (no vowels, no look-alikes).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const RANDOM_SUFFIX_LENGTH: usize = 5;
/// A generated name stays a valid DNS label: the base is cut to leave room for the suffix.
const MAX_GENERATED_BASE_LENGTH: usize = 63 - RANDOM_SUFFIX_LENGTH;

/// `base` (cut to 58 bytes) plus five random characters, as kube's `SimpleNameGenerator`.
pub(super) fn generate_name(base: &str) -> String {
    let mut cut = base.len().min(MAX_GENERATED_BASE_LENGTH);
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut rng = rand::rng();
    let suffix: String = (0..RANDOM_SUFFIX_LENGTH)
        .map(|_| char::from(NAME_ALPHABET[rng.random_range(0..NAME_ALPHABET.len())]))
        .collect();
    format!("{}{suffix}", &base[..cut])
}

impl<S: Strategy> Store<S> {
    /// Creates `body`: decode, default, then (per attempt) system fields and name generation,
    /// namespace check, `prepare_for_create`, metadata and strategy validation, `canonicalize`,
    /// admission and the storage create. A generated name that clashes is retried with a new one.
    pub(super) async fn create_value(
        &self,
        ctx: &RequestContext,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let mut obj = self.decode_body(body)?;
        self.strategy.default_object(&mut obj);
        let meta = obj.meta();
        let generates = meta.name.as_deref().unwrap_or("").is_empty()
            && !meta.generate_name.as_deref().unwrap_or("").is_empty();
        let attempts = if generates {
            MAX_NAME_GENERATION_ATTEMPTS
        } else {
            1
        };
        let mut result = Err(ApiError::internal("no create attempt was made"));
        for _ in 0..attempts {
            result = self.create_once(ctx, obj.clone(), generates, opts).await;
            if !matches!(result, Err(ApiError::AlreadyExists { .. })) {
                break;
            }
        }
        result
    }

    async fn create_once(
        &self,
        ctx: &RequestContext,
        mut obj: S::Object,
        generate: bool,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        {
            let meta = obj.meta_mut();
            meta.creation_timestamp = Some(Time(now()));
            meta.uid = Some(uuid::Uuid::new_v4().to_string());
            meta.self_link = None;
            if generate {
                meta.name = Some(generate_name(meta.generate_name.as_deref().unwrap_or("")));
            }
        }
        self.ensure_namespace(ctx, obj.meta_mut())?;
        self.strategy.prepare_for_create(ctx, &mut obj);
        let name = obj.meta().name.clone().unwrap_or_default();
        let errs = self.validate_new(ctx, &obj);
        if !errs.is_empty() {
            return Err(ApiError::invalid(self.group_kind(), name, errs));
        }
        ctx.warnings
            .extend(self.strategy.warnings_on_create(ctx, &obj));
        self.strategy.canonicalize(&mut obj);
        let value = to_value(&obj)?;
        self.admit(ctx, Operation::Create, &name, Some(&value))
            .await?;
        let key = self.object_key(ctx, &name)?;
        if opts.dry_run {
            return match self.storage.get(&key).await {
                Ok(Some(_)) => {
                    Err(self.storage_error(crate::storage::StorageError::KeyExists(key), &name))
                }
                Ok(None) => Ok(value),
                Err(err) => Err(self.storage_error(err, &name)),
            };
        }
        if sets_resource_version(obj.meta()) {
            // kube's etcd3 store refuses this (a dry run never reaches it) with a plain error,
            // which its handlers answer as a 500 without a reason or the "Internal error
            // occurred" prefix: kubectl prints "Error from server: resourceVersion should …".
            return Err(ApiError::Unknown(
                "resourceVersion should not be set on objects to be created".into(),
            ));
        }
        let ttl = self.strategy.ttl(&obj, false);
        let kv = self
            .storage
            .create_with_ttl(&key, codec::encode(&obj)?, ttl)
            .await
            .map_err(|e| self.storage_error(e, &name))?;
        obj.meta_mut().resource_version = Some(kv.mod_revision.to_string());
        to_value(&obj)
    }

    /// The validation of a new object (create, or create through update): kube's
    /// `ValidateObjectMeta` with the kind's name rule, then the strategy's; the path-segment name
    /// rule only when both pass, as kube's `ValidateCreate` does.
    pub(super) fn validate_new(&self, ctx: &RequestContext, obj: &S::Object) -> FieldErrors {
        let metadata = Path::new("metadata");
        let mut errs = validate_object_meta(
            obj.meta(),
            self.descriptor.namespaced,
            self.strategy.name_validator(),
            &metadata,
        );
        errs.extend(self.strategy.validate(ctx, obj));
        if errs.is_empty() {
            let name = obj.meta().name.as_deref().unwrap_or("");
            errs.extend(
                is_path_segment_name(name)
                    .into_iter()
                    .map(|m| FieldError::invalid(metadata.child("name"), name, m)),
            );
        }
        errs
    }
}

/// Whether a create names a resourceVersion kube's storage refuses: one that parses as a
/// revision other than 0 (`"0"`, and text that is no revision at all, are let through and
/// dropped, as kube's versioner does).
fn sets_resource_version(meta: &ObjectMeta) -> bool {
    meta.resource_version
        .as_deref()
        .and_then(|rv| rv.parse::<u64>().ok())
        .is_some_and(|rv| rv != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_keep_the_base_and_add_five_safe_characters() {
        let name = generate_name("web-");
        assert_eq!(name.len(), 9);
        assert!(name.starts_with("web-"));
        assert!(name[4..].bytes().all(|b| NAME_ALPHABET.contains(&b)));
        let long = generate_name(&"a".repeat(80));
        assert_eq!(long.len(), 63);
        assert_ne!(generate_name("x-"), generate_name("x-"));
    }
}
