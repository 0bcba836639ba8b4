//! PATCH (`patch`): JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch and
//! server-side apply, applied to the stored object inside the [`ObjectUpdate`] closure, so a retry
//! after a conflicting write re-applies the patch to the fresh object instead of overwriting it
//! (kube's `patcher.applyPatch`).
//!
//! Per kube's handlers/patch.go: a body that is not JSON is 400 "invalid JSON patch" (an apply
//! body that is not YAML, 400 "error encoding patch"); a JSON patch that does not decode is 400;
//! more than 10000 operations is 413; a JSON patch that cannot be applied is 422; strategic merge
//! errors are 400, 422 or a reasonless 500 as `api::patch` classifies them; apply conflicts are
//! 409 with `FieldManagerConflict` causes. JSON, merge and strategic patches of a missing object
//! are 404; apply creates it (201).
//!
//! After the patch: unknown fields of the result (and duplicate keys of the body) under the
//! `fieldValidation` directive; kind, namespace and name checks; the scheme's defaults; and the
//! managedFields of an `Update` by the request's manager (apply records its own).

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value};

use super::managed::FieldManager;
use super::{Scope, check_name, check_type, ensure_namespace, fields, read_body};
use crate::api::field::{FieldError, FieldErrorType};
use crate::api::options::FieldValidation;
use crate::api::patch::go_fmt::go_value;
use crate::api::patch::strategic_merge;
use crate::api::schema::SchemaModel;
use crate::api::schema::validate::FieldIssue;
use crate::api::{ApiError, GroupKind, ResourceDescriptor};
use crate::endpoints::negotiation::{
    PATCH_TYPES, PatchType, Restrictions, SCHEMALESS_PATCH_TYPES, negotiate_patch,
};
use crate::endpoints::query::{self, WriteKind};
use crate::endpoints::warnings::Warnings;
use crate::registry::{ObjectUpdate, Rest};

/// kube's `maxJSONPatchOperations`.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// A decoded patch body.
#[derive(Clone, Debug)]
pub enum Patch {
    /// RFC 6902 operations.
    Json(json_patch::Patch),
    /// An RFC 7386 merge document.
    Merge(Value),
    /// A strategic merge patch (a JSON object, or `null` for no change).
    Strategic(Value),
    /// A server-side apply configuration (a JSON object).
    Apply(Value),
}

impl Patch {
    /// Decodes `bytes` as `patch_type`.
    pub fn decode(patch_type: PatchType, bytes: &[u8]) -> Result<Self, ApiError> {
        // invalid UTF-8 reads as U+FFFD, as in Go's decoder (and `decode_object`)
        let json = || {
            serde_json::from_str::<Value>(&String::from_utf8_lossy(bytes))
                .map_err(|_| ApiError::BadRequest("invalid JSON patch".into()))
        };
        match patch_type {
            PatchType::Json => {
                let patch: json_patch::Patch = serde_json::from_value(json()?)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
                if patch.0.len() > MAX_JSON_PATCH_OPERATIONS {
                    return Err(ApiError::RequestEntityTooLarge(format!(
                        "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                        patch.0.len()
                    )));
                }
                Ok(Self::Json(patch))
            }
            PatchType::Merge => {
                let patch = json()?;
                // kube first reads a merge patch into a Go map (patch.go `applyJSPatch`)
                if !patch.is_object() && !patch.is_null() {
                    return Err(ApiError::BadRequest(format!(
                        "error decoding patch: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_kind(&patch)
                    )));
                }
                Ok(Self::Merge(patch))
            }
            PatchType::StrategicMerge => json().map(Self::Strategic),
            PatchType::Apply => decode_apply(bytes).map(Self::Apply),
        }
    }

    /// Applies a JSON or merge patch to a copy of `current`. Strategic merge and apply need the
    /// schema and go through [`Patcher`].
    pub fn apply(&self, current: &Value) -> Result<Value, ApiError> {
        let mut doc = current.clone();
        match self {
            Self::Json(patch) => {
                json_patch::patch(&mut doc, &patch.0).map_err(|e| unprocessable(&e))?
            }
            Self::Merge(patch) => json_patch::merge(&mut doc, patch),
            Self::Strategic(_) | Self::Apply(_) => {
                return Err(ApiError::internal(
                    "this patch type needs the kind's schema",
                ));
            }
        }
        Ok(doc)
    }
}

/// An apply body: YAML (JSON is YAML too) holding one object; an empty body is the empty object.
fn decode_apply(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_saphyr::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("error encoding patch: {e}")))?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        other => Err(ApiError::BadRequest(format!(
            "error decoding patch: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        ))),
    }
}

/// Go's name for a JSON value's kind in unmarshal errors.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null | Value::Object(_) => "object",
    }
}

/// 422 for a JSON patch that cannot be applied (a missing path, a failed `test`). kube answers
/// with its generic text and drops the library's reason, so the reason only reaches the log.
fn unprocessable(err: &json_patch::PatchError) -> ApiError {
    tracing::debug!(error = %err, "JSON patch not applicable");
    ApiError::PatchNotApplicable
}

/// Answers 200 with the patched object (201 if an apply created it).
pub async fn patch(scope: &Scope, body: Body) -> Result<Response, ApiError> {
    let supports = if scope.schema_type().is_some() {
        PATCH_TYPES
    } else {
        SCHEMALESS_PATCH_TYPES
    };
    let patch_type = negotiate_patch(scope.content_type(), supports)?;
    let name = scope.require_name()?.to_string();
    let writer = scope.writer(Restrictions::RESOURCE)?;
    let bytes = read_body(body).await?;
    let mut opts = query::write_options(&scope.query, WriteKind::Patch(patch_type))?;
    // kube's `forceAllowCreate`: apply creates a missing object whatever the strategy says.
    opts.force_allow_create = patch_type == PatchType::Apply;
    let patch = Patch::decode(patch_type, &bytes)?;
    let directive = fields::directive(&opts);
    let patch_issues = match (&patch, scope.schema_type()) {
        (Patch::Merge(_) | Patch::Strategic(_), Some(ty))
            if directive != FieldValidation::Ignore =>
        {
            fields::patch_duplicates(ty, &bytes)
        }
        _ => Vec::new(),
    };
    let patcher = Patcher {
        patch,
        patch_issues,
        descriptor: scope.descriptor().clone(),
        namespace: scope.expected_namespace().map(str::to_string),
        name: name.clone(),
        rest: scope.rest.clone(),
        schema: scope.config.schema.clone(),
        manager: FieldManager::new(scope, &opts),
        directive,
        warnings: scope.ctx.warnings.clone(),
        force: opts.force,
    };
    let update: ObjectUpdate = Box::new(move |current| patcher.patched(current));
    let (stored, created) = scope.rest.update(&scope.ctx, &name, update, &opts).await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    writer.object(scope.rest.as_ref(), code, stored)
}

/// Everything one patch request needs to turn the stored object into the one to store; owned, as
/// it moves into the update closure.
struct Patcher {
    patch: Patch,
    /// Duplicate keys of the body, found once.
    patch_issues: Vec<FieldIssue>,
    descriptor: ResourceDescriptor,
    namespace: Option<String>,
    name: String,
    rest: Arc<dyn Rest>,
    schema: Arc<SchemaModel>,
    manager: FieldManager,
    directive: FieldValidation,
    warnings: Warnings,
    force: bool,
}

impl Patcher {
    /// The object to store given the stored one (`None`: absent).
    fn patched(&self, current: Option<&Value>) -> Result<Value, ApiError> {
        if let Patch::Apply(config) = &self.patch {
            return self.applied(current, config);
        }
        let current = current.ok_or_else(|| ApiError::NotFound {
            resource: self.descriptor.group_resource(),
            name: self.name.clone(),
        })?;
        let d = &self.descriptor;
        let ty = self.schema.for_kind(&d.group, &d.version, &d.kind);
        let mut patched = match (&self.patch, ty) {
            (Patch::Strategic(patch), Some(ty)) => {
                strategic_merge(current, patch, ty).map_err(|e| e.into_api_error())?
            }
            (patch, _) => patch.apply(current)?,
        };
        if let Some(ty) = ty {
            fields::check_patched(
                self.directive,
                &self.warnings,
                ty,
                &self.patch_issues,
                &patched,
                || match &self.patch {
                    Patch::Strategic(patch) => go_value(patch),
                    _ => patched.to_string(),
                },
            )?;
        }
        // kube decodes the patched JSON into the Go type and answers a failure with 422 on
        // field `patch` (patch.go: `jsonPatcher.applyPatchToCurrentObject`, and
        // `applyPatchToObject` for strategic merge), not with the body decoder's 400.
        let undecodable = |patched: &Value, detail: String| {
            let shown = match &self.patch {
                Patch::Strategic(patch) => go_value(patch),
                _ => patched.to_string(),
            };
            ApiError::invalid(
                GroupKind::default(),
                "",
                vec![FieldError::new(
                    FieldErrorType::Invalid,
                    "patch",
                    Some(Value::String(shown)),
                    detail,
                )],
            )
        };
        for field in ["apiVersion", "kind"] {
            if patched
                .get(field)
                .is_some_and(|v| !v.is_string() && !v.is_null())
            {
                let detail = format!(
                    "couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go struct field .{field} of type string",
                    json_kind(&patched[field])
                );
                return Err(undecodable(&patched, detail));
            }
        }
        // decoded before the namespace and name checks, as kube does: any failure to decode,
        // another kind or version included, is the 422
        if patched.is_object() {
            let shown = patched.clone();
            patched = self.rest.default_object(patched).map_err(|e| match e {
                ApiError::BadRequest(detail) => undecodable(&shown, detail),
                other => other,
            })?;
        }
        check_patched(
            &mut patched,
            &self.descriptor,
            self.namespace.as_deref(),
            &self.name,
        )?;
        Ok(self.manager.update(Some(current), patched))
    }

    /// Server-side apply of `config` onto `current`, creating the object when it is absent.
    fn applied(&self, current: Option<&Value>, config: &Value) -> Result<Value, ApiError> {
        if current.is_none()
            && let Some(uid) = config
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
        {
            return Err(ApiError::Conflict {
                resource: self.descriptor.group_resource(),
                name: self.name.clone(),
                reason: format!(
                    "uid mismatch: the provided object specified uid {uid}, and no existing object was found"
                ),
            });
        }
        let mut applied = self.manager.apply(current, config, self.force)?;
        check_patched(
            &mut applied,
            &self.descriptor,
            self.namespace.as_deref(),
            &self.name,
        )?;
        Ok(applied)
    }
}

/// The checks kube makes on a patched object: still an object of this kind, in this namespace,
/// under the URL's name.
fn check_patched(
    patched: &mut Value,
    descriptor: &ResourceDescriptor,
    namespace: Option<&str>,
    name: &str,
) -> Result<(), ApiError> {
    if !patched.is_object() {
        return Err(ApiError::invalid(
            GroupKind::default(),
            "",
            vec![FieldError::new(
                FieldErrorType::Invalid,
                "patch",
                Some(patched.clone()),
                "the patched object is not a JSON object",
            )],
        ));
    }
    check_type(patched, descriptor)?;
    ensure_namespace(patched, namespace)?;
    check_name(patched, name)
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
