//! PUT (`update`): replace an object (or a subresource such as `pods/status`) with the body.
//!
//! As kube's update handler: the body is checked under the `fieldValidation` directive and given
//! the scheme's defaults; its managedFields are recorded against the object stored at the time
//! of the write (inside the [`ObjectUpdate`], so a retry after a conflict records against the
//! fresh one).

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;

use super::managed::FieldManager;
use super::{
    Scope, accepts_protobuf, check_body_type, check_name, decode_object, ensure_namespace, fields,
    read_body,
};
use crate::api::ApiError;
use crate::endpoints::negotiation::{Restrictions, negotiate_input};
use crate::endpoints::query::{self, WriteKind};
use crate::registry::ObjectUpdate;

/// Answers 200 with the stored object, or 201 when the `Rest` created it.
pub async fn update(scope: &Scope, body: Body) -> Result<Response, ApiError> {
    let name = scope.require_name()?;
    let writer = scope.writer(Restrictions::RESOURCE)?;
    let bytes = read_body(body).await?;
    let opts = query::write_options(&scope.query, WriteKind::Update)?;
    let format = negotiate_input(scope.content_type(), accepts_protobuf(scope.descriptor()))?;
    let mut object = decode_object(&bytes, format, scope.rest.as_ref())?;
    check_body_type(&mut object, scope.rest.as_ref())?;
    fields::check_body(scope, &opts, format, &bytes, &object)?;
    ensure_namespace(&mut object, scope.expected_namespace())?;
    check_name(&object, name)?;
    let object = scope.rest.default_object(object)?;
    let manager = FieldManager::new(scope, &opts);
    // The body is the new object whatever is stored; retries after a conflict get it again.
    let update: ObjectUpdate = Box::new(move |current| Ok(manager.update(current, object.clone())));
    let (stored, created) = scope.rest.update(&scope.ctx, name, update, &opts).await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    writer.object(scope.rest.as_ref(), code, stored)
}
