//! POST (`create`): a new object on a collection, or a subresource action on an item
//! (`pods/<name>/binding`, `pods/<name>/eviction`).
//!
//! As kube's create handler: the body is checked under the `fieldValidation` directive, given the
//! scheme's defaults and its managedFields (an `Update` by the request's manager) before the
//! registry runs the strategy and admission. `dryRun=All` goes all the way through without
//! storing.

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use serde_json::Value;

use super::managed::FieldManager;
use super::{
    Scope, accepts_protobuf, check_body_type, decode_object, ensure_namespace, fields, read_body,
    wipe_system_fields,
};
use crate::api::ApiError;
use crate::endpoints::negotiation::{Restrictions, negotiate_input};
use crate::endpoints::query::{self, WriteKind};
use crate::endpoints::status::is_status;

/// Answers 201 with what the `Rest` returns: the stored object, or a Status (whose missing `code`
/// becomes 201, as kube fills it).
pub async fn create(scope: &Scope, body: Body) -> Result<Response, ApiError> {
    let writer = scope.writer(Restrictions::RESOURCE)?;
    let format = negotiate_input(scope.content_type(), accepts_protobuf(scope.descriptor()))?;
    let bytes = read_body(body).await?;
    let opts = query::write_options(&scope.query, WriteKind::Create)?;
    let mut object = decode_object(&bytes, format, scope.rest.as_ref())?;
    check_body_type(&mut object, scope.rest.as_ref())?;
    fields::check_body(scope, &opts, format, &bytes, &object)?;
    wipe_system_fields(&mut object);
    ensure_namespace(&mut object, scope.expected_namespace())?;
    let object = scope.rest.default_object(object)?;
    let object = FieldManager::new(scope, &opts).update(None, object);
    let mut created = scope
        .rest
        .create(&scope.ctx, scope.name.as_deref(), object, &opts)
        .await?;
    if is_status(&created) && created.get("code").is_none_or(Value::is_null) {
        created["code"] = Value::from(StatusCode::CREATED.as_u16());
    }
    writer.object(scope.rest.as_ref(), StatusCode::CREATED, created)
}
