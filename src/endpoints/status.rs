//! Status responses: the one place an [`ApiError`] becomes an HTTP response.
//!
//! The reason, code, message and details come from [`ApiError::to_status`]; this module only picks
//! the transport: the HTTP status line equals the Status `code` (kube-rs reads the body, kubectl
//! the line), the body is JSON whatever the client asked for (kube writes errors it cannot
//! negotiate as raw JSON too), and `Retry-After` mirrors `details.retryAfterSeconds`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::api::ApiError;

/// The media type of every Status body.
const JSON: &str = "application/json";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Internal(_)) {
            tracing::error!(error = %self, "internal error answered with 500");
        }
        let code = StatusCode::from_u16(self.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match serde_json::to_vec(&self.to_status()) {
            Ok(body) => body,
            // A Status is plain strings and integers; this cannot fail, but never panic here.
            Err(_) => br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"InternalError","code":500}"#.to_vec(),
        };
        let mut response = (code, [(header::CONTENT_TYPE, JSON)], body).into_response();
        if let Some(seconds) = self.retry_after_seconds().filter(|s| *s > 0) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
