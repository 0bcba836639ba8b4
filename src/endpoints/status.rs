//! Status responses: the one place an [`ApiError`] becomes an HTTP response, and the Success
//! Status kube answers deletes with when the kind does not return the deleted object.
//!
//! The reason, code, message and details come from [`ApiError::to_status`]; this module only picks
//! the transport: the HTTP status line equals the Status `code` (kube-rs reads the body, kubectl
//! the line), the body is JSON whatever the client asked for (kube writes errors it cannot
//! negotiate as raw JSON too), and `Retry-After` mirrors `details.retryAfterSeconds`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusDetails};

use crate::api::{ApiError, GroupResource};

/// The media type of every Status body.
const JSON: &str = "application/json";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Internal(_) | ApiError::Unknown(_)) {
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

/// The Status kube's generic store returns from a delete when the kind does not hand back the
/// deleted object: `status: Success` and details naming the object, with `kind` set to the
/// resource plural (kube's own comment: "Yes we set Kind field to resource"), and its `uid` so a
/// client can tell which incarnation went away.
///
/// ```
/// use capstan::api::GroupResource;
/// use capstan::endpoints::status::success_status;
/// let status = success_status(&GroupResource::new("", "configmaps"), "c", Some("u-1"));
/// let json = serde_json::to_value(&status).unwrap();
/// assert_eq!(json["status"], "Success");
/// assert_eq!(json["details"]["kind"], "configmaps");
/// assert!(json["details"].get("group").is_none());
/// ```
pub fn success_status(resource: &GroupResource, name: &str, uid: Option<&str>) -> Status {
    Status {
        status: Some("Success".into()),
        details: Some(StatusDetails {
            name: non_empty(name),
            group: non_empty(&resource.group),
            kind: non_empty(&resource.resource),
            uid: uid.and_then(non_empty),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Whether a JSON value returned by a `Rest` is a `v1 Status` rather than an object of the kind;
/// Status values pass through Table and metadata conversions untouched, as in kube.
pub fn is_status(value: &serde_json::Value) -> bool {
    value.get("kind").and_then(|k| k.as_str()) == Some("Status")
        && value.get("apiVersion").and_then(|v| v.as_str()) == Some("v1")
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{FieldError, GroupKind};
    use http_body_util::BodyExt;
    use serde_json::{Value, json};

    async fn parts(err: ApiError) -> (StatusCode, http::HeaderMap, Value) {
        let response = err.into_response();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn not_found_is_a_404_status_with_resource_details() {
        let (code, headers, body) = parts(ApiError::NotFound {
            resource: GroupResource::new("capstan.dev", "pods"),
            name: "web".into(),
        })
        .await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert!(headers.get(header::RETRY_AFTER).is_none());
        assert_eq!(
            body,
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "pods.capstan.dev \"web\" not found", "reason": "NotFound",
                "details": {"name": "web", "group": "capstan.dev", "kind": "pods"}, "code": 404
            })
        );
    }

    #[tokio::test]
    async fn every_error_puts_its_code_on_the_status_line_and_in_the_body() {
        let cases = vec![
            ApiError::BadRequest("bad".into()),
            ApiError::Unauthorized,
            ApiError::ForbiddenMessage("no".into()),
            ApiError::NotFoundPath,
            ApiError::MethodNotSupported {
                resource: GroupResource::new("", "pods"),
                verb: "create".into(),
            },
            ApiError::NotAcceptable("json only".into()),
            ApiError::AlreadyExists {
                resource: GroupResource::new("", "pods"),
                name: "p".into(),
            },
            ApiError::conflict_modified(GroupResource::new("", "pods"), "p"),
            ApiError::Expired {
                message: "too old resource version: 1 (5)".into(),
            },
            ApiError::RequestEntityTooLarge("too big".into()),
            ApiError::UnsupportedMediaType("what".into()),
            ApiError::invalid(
                GroupKind::new("", "Pod"),
                "p",
                vec![FieldError::required("spec", "")],
            ),
            ApiError::internal("boom"),
            ApiError::ServiceUnavailable("down".into()),
        ];
        for err in cases {
            let expected = err.code();
            let reason = err.reason();
            let (code, _, body) = parts(err).await;
            assert_eq!(code.as_u16(), expected);
            assert_eq!(body["code"], expected);
            assert_eq!(body["reason"], reason);
            assert_eq!(body["kind"], "Status");
            assert_eq!(body["status"], "Failure");
        }
    }

    #[tokio::test]
    async fn retry_after_header_mirrors_the_details() {
        let (code, headers, body) = parts(ApiError::TooManyRequests {
            message: "too many requests, please try again later".into(),
            retry_after_seconds: 3,
        })
        .await;
        assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "3");
        assert_eq!(body["details"], json!({"retryAfterSeconds": 3}));

        let (code, headers, _) = parts(ApiError::Timeout {
            message: "request did not complete within the allotted timeout".into(),
            retry_after_seconds: 0,
        })
        .await;
        assert_eq!(code, StatusCode::GATEWAY_TIMEOUT);
        assert!(headers.get(header::RETRY_AFTER).is_none());

        // A revision not reached yet: client-go retries a 5xx that carries Retry-After.
        let (code, headers, body) = parts(ApiError::TooLargeResourceVersion {
            requested: 9,
            current: 5,
        })
        .await;
        assert_eq!(code, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert_eq!(body["details"]["retryAfterSeconds"], 1);
    }

    #[test]
    fn success_status_names_the_plural_group_and_uid() {
        let status = success_status(
            &GroupResource::new("capstan.dev", "widgets"),
            "w",
            Some("u"),
        );
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": "w", "group": "capstan.dev", "kind": "widgets", "uid": "u"}
            })
        );
    }

    #[test]
    fn recognises_status_values() {
        assert!(is_status(&json!({"kind": "Status", "apiVersion": "v1"})));
        assert!(!is_status(
            &json!({"kind": "Status", "apiVersion": "capstan.dev/v1"})
        ));
        assert!(!is_status(&json!({"kind": "Pod", "apiVersion": "v1"})));
    }
}
