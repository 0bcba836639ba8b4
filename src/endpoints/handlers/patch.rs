//! PATCH (`patch`): JSON patch (RFC 6902) and JSON merge patch (RFC 7386), applied to the stored
//! object inside the [`ObjectUpdate`] closure, so a retry after a conflicting write re-applies the
//! patch to the fresh object instead of overwriting it (kube's `patcher.applyPatch`).
//!
//! Failure codes follow k8s.io/apiserver `handlers/patch.go`: a body that is not JSON is 400
//! "invalid JSON patch"; a JSON patch that does not decode is 400; more than 10000 operations is
//! 413; a JSON patch that cannot be applied (a failed `test`, a missing path) is 422 Invalid; a
//! patch of a missing object is 404 (json and merge patches never create).

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use serde_json::Value;

use super::{Scope, check_name, check_type, ensure_namespace, read_body};
use crate::api::field::{FieldError, FieldErrorType};
use crate::api::{ApiError, GroupKind, ResourceDescriptor};
use crate::endpoints::negotiation::{PatchType, Restrictions, negotiate_patch};
use crate::endpoints::query::{self, WriteKind};
use crate::registry::ObjectUpdate;

/// kube's `maxJSONPatchOperations`.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// A decoded patch body.
#[derive(Clone, Debug)]
pub enum Patch {
    /// RFC 6902 operations.
    Json(json_patch::Patch),
    /// An RFC 7386 merge document.
    Merge(Value),
}

impl Patch {
    /// Decodes `bytes` as `patch_type`.
    pub fn decode(patch_type: PatchType, bytes: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|_| ApiError::BadRequest("invalid JSON patch".into()))?;
        match patch_type {
            PatchType::Json => {
                let patch: json_patch::Patch = serde_json::from_value(value)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
                if patch.0.len() > MAX_JSON_PATCH_OPERATIONS {
                    return Err(ApiError::RequestEntityTooLarge(format!(
                        "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                        patch.0.len()
                    )));
                }
                Ok(Self::Json(patch))
            }
            PatchType::Merge => Ok(Self::Merge(value)),
            // The router refuses these content types with 415 before decoding.
            PatchType::StrategicMerge | PatchType::Apply => Err(ApiError::UnsupportedMediaType(
                format!("{} is not supported", patch_type.media_type()),
            )),
        }
    }

    /// Applies the patch to a copy of `current`.
    pub fn apply(&self, current: &Value) -> Result<Value, ApiError> {
        let mut doc = current.clone();
        match self {
            Self::Json(patch) => {
                json_patch::patch(&mut doc, &patch.0).map_err(|e| unprocessable(&e))?
            }
            Self::Merge(patch) => json_patch::merge(&mut doc, patch),
        }
        Ok(doc)
    }
}

/// 422 for a patch that cannot be applied. kube answers with reason Invalid and the library's
/// message; `ApiError::Invalid` carries it as a cause on the `patch` field.
fn unprocessable(err: &json_patch::PatchError) -> ApiError {
    ApiError::invalid(
        GroupKind::default(),
        "",
        vec![FieldError::new(
            FieldErrorType::Invalid,
            "patch",
            None,
            err.to_string(),
        )],
    )
}

/// Answers 200 with the patched object (201 if the `Rest` created it).
pub async fn patch(scope: &Scope, body: Body) -> Result<Response, ApiError> {
    let patch_type = negotiate_patch(scope.content_type())?;
    let name = scope.require_name()?.to_string();
    let writer = scope.writer(Restrictions::RESOURCE)?;
    let bytes = read_body(body).await?;
    let opts = query::write_options(&scope.query, WriteKind::Patch(patch_type))?;
    let patch = Patch::decode(patch_type, &bytes)?;
    let descriptor = scope.descriptor().clone();
    let namespace = scope.expected_namespace().map(str::to_string);
    let url_name = name.clone();
    let update: ObjectUpdate = Box::new(move |current| {
        let current = current.ok_or_else(|| ApiError::NotFound {
            resource: descriptor.group_resource(),
            name: url_name.clone(),
        })?;
        let mut patched = patch.apply(current)?;
        check_patched(&mut patched, &descriptor, namespace.as_deref(), &url_name)?;
        Ok(patched)
    });
    let (stored, created) = scope.rest.update(&scope.ctx, &name, update, &opts).await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    writer.object(scope.rest.as_ref(), code, stored)
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
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}}})
    }

    #[test]
    fn merge_patch_sets_and_removes() {
        let patch = Patch::decode(
            PatchType::Merge,
            br#"{"metadata":{"labels":{"a":null,"b":"2"}}}"#,
        )
        .unwrap();
        let out = patch.apply(&pod()).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
    }

    #[test]
    fn json_patch_failures() {
        let patch = Patch::decode(
            PatchType::Json,
            br#"[{"op":"test","path":"/metadata/name","value":"q"}]"#,
        )
        .unwrap();
        let err = patch.apply(&pod()).unwrap_err();
        assert_eq!((err.code(), err.reason()), (422, "Invalid"));
        let patch = Patch::decode(
            PatchType::Json,
            br#"[{"op":"remove","path":"/spec/nothing"}]"#,
        )
        .unwrap();
        assert_eq!(patch.apply(&pod()).unwrap_err().code(), 422);
        assert_eq!(
            Patch::decode(PatchType::Json, br#"{"op":"add"}"#)
                .unwrap_err()
                .code(),
            400
        );
        let err = Patch::decode(PatchType::Merge, b"{nope").unwrap_err();
        assert_eq!(err.to_string(), "invalid JSON patch");
    }

    #[test]
    fn too_many_operations_is_413() {
        let ops: Vec<Value> = (0..=MAX_JSON_PATCH_OPERATIONS)
            .map(|_| json!({"op": "test", "path": "/kind", "value": "Pod"}))
            .collect();
        let bytes = serde_json::to_vec(&ops).unwrap();
        let err = Patch::decode(PatchType::Json, &bytes).unwrap_err();
        assert_eq!(err.code(), 413);
        assert_eq!(
            err.to_string(),
            "The allowed maximum operations in a JSON patch is 10000, got 10001"
        );
    }

    #[test]
    fn patched_objects_keep_kind_namespace_and_name() {
        let descriptor = ResourceDescriptor {
            version: "v1".into(),
            kind: "Pod".into(),
            plural: "pods".into(),
            namespaced: true,
            ..Default::default()
        };
        let mut ok = pod();
        check_patched(&mut ok, &descriptor, Some("d"), "p").unwrap();
        assert_eq!(ok["metadata"]["namespace"], "d");
        let mut renamed = pod();
        renamed["metadata"]["name"] = json!("q");
        assert_eq!(
            check_patched(&mut renamed, &descriptor, Some("d"), "p")
                .unwrap_err()
                .code(),
            400
        );
        let mut moved = pod();
        moved["metadata"]["namespace"] = json!("elsewhere");
        assert_eq!(
            check_patched(&mut moved, &descriptor, Some("d"), "p")
                .unwrap_err()
                .code(),
            400
        );
        let mut other_kind = pod();
        other_kind["kind"] = json!("Service");
        assert_eq!(
            check_patched(&mut other_kind, &descriptor, Some("d"), "p")
                .unwrap_err()
                .code(),
            400
        );
        let mut scalar = json!(3);
        assert_eq!(
            check_patched(&mut scalar, &descriptor, Some("d"), "p")
                .unwrap_err()
                .code(),
            422
        );
    }
}
