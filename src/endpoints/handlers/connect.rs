//! GET and POST on a connect-style subresource (`pods/log`, `pods/exec`, `pods/attach`,
//! `pods/portforward`): the `Rest` answers with raw bytes of its own content type, written as they
//! are (kube's `ConnectResource` handler, and the `ResourceStreamer` branch of its get handler).
//! Errors are Status responses like every other verb's, which is what clients read: kubectl's
//! SPDY and WebSocket dialers decode a non-101 answer as a Status.

use axum::body::Body;
use axum::response::Response;
use http::{StatusCode, header};

use super::Scope;
use crate::api::ApiError;

/// Answers 200 with the endpoint's bytes.
pub async fn connect(scope: &Scope) -> Result<Response, ApiError> {
    let name = scope.require_name()?;
    let raw = scope
        .rest
        .connect(&scope.ctx, name, scope.query.pairs())
        .await?;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, raw.content_type)
        .body(Body::from(raw.body))
        .map_err(ApiError::internal)
}
