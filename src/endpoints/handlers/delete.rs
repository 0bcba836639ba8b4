//! DELETE on an item (`delete`) and on a collection (`deletecollection`).
//!
//! Options come from the query merged with a `DeleteOptions` body. A delete answers 200 with the
//! deleted (or now terminating) object, or with a Success Status naming it for kinds that do not
//! return objects; 202 only when `orphanDependents=false` left the object in place (kube's rule).
//! `deletecollection` lists with the query's selectors and deletes each item, as kube's generic
//! store does, answering with the list it read.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions;

use super::{Scope, read_body};
use crate::api::ApiError;
use crate::endpoints::negotiation::{Restrictions, negotiate_input};
use crate::endpoints::query;
use crate::endpoints::status::success_status;
use crate::registry::DeleteResult;
use crate::registry::store::validate_delete_options;

/// Query options merged with the body, if one was sent.
fn options(scope: &Scope, body: &Bytes) -> Result<DeleteOptions, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return query::delete_options(&scope.query, None);
    }
    // DeleteOptions is a meta kind with a protobuf message on every endpoint, custom ones too.
    let format = negotiate_input(scope.content_type(), true)?;
    query::delete_options(&scope.query, Some((body, format)))
}

/// Deletes the named object.
pub async fn delete(scope: &Scope, body: Body) -> Result<Response, ApiError> {
    let name = scope.require_name()?;
    let writer = scope.writer(Restrictions::RESOURCE)?;
    let bytes = read_body(body).await?;
    let opts = options(scope, &bytes)?;
    let rest = scope.rest.as_ref();
    match rest.delete(&scope.ctx, name, &opts).await? {
        DeleteResult::Deleted {
            object,
            return_object: true,
        } => writer.object(rest, StatusCode::OK, object),
        DeleteResult::Deleted {
            object,
            return_object: false,
        } => {
            let name = object["metadata"]["name"].as_str().unwrap_or(name);
            let uid = object["metadata"]["uid"].as_str();
            let status = success_status(&rest.descriptor().group_resource(), name, uid);
            writer.encode(StatusCode::OK, &status)
        }
        DeleteResult::Pending(object) => {
            let code = if opts.orphan_dependents == Some(false) {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            writer.object(rest, code, object)
        }
    }
}

/// Deletes every object the query selects in the namespace (or cluster), as kube's generic
/// store does: options are validated first (so bad ones fail even on an empty collection), then
/// the list is read and each item deleted with the same options (preconditions, grace period,
/// dry run); items someone else deleted meanwhile are fine. The answer is the list as it was read.
pub async fn delete_collection(scope: &Scope, body: Body) -> Result<Response, ApiError> {
    let writer = scope.writer(Restrictions::RESOURCE)?;
    let list_opts = query::list_options(&scope.query, false)?;
    let bytes = read_body(body).await?;
    let opts = options(scope, &bytes)?;
    validate_delete_options(&opts)?;
    let rest = scope.rest.as_ref();
    let listed = rest.list(&scope.ctx, &list_opts).await?;
    for item in &listed.items {
        let Some(name) = item["metadata"]["name"].as_str() else {
            continue;
        };
        match rest.delete(&scope.ctx, name, &opts).await {
            // Someone else deleted it first: that is what was asked for.
            Ok(_) | Err(ApiError::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    writer.list(rest, StatusCode::OK, listed)
}
