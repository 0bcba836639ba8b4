//! Panic recovery: a handler that panics answers 500 InternalError instead of dropping the
//! connection (kube's `WithPanicRecovery`); tower-http's catch-panic does the catching.

use std::any::Any;

use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;

use super::Response;
use crate::api::ApiError;

/// The function that turns a panic payload into the response.
pub type PanicResponder = fn(Box<dyn Any + Send + 'static>) -> Response;

/// The panic-recovery filter.
pub fn panic_recovery_layer() -> CatchPanicLayer<PanicResponder> {
    CatchPanicLayer::custom(panic_response as PanicResponder)
}

fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    tracing::error!(panic = %detail, "a request handler panicked");
    ApiError::Internal("the request caused the server to panic; see the server log".into())
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::BodyExt;
    use tower::{Layer, ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_a_500_status() {
        let svc = panic_recovery_layer().layer(service_fn(|_req: http::Request<()>| async {
            if true {
                panic!("boom");
            }
            Ok::<_, Infallible>(http::Response::new(axum::body::Body::empty()))
        }));
        let res = svc.oneshot(http::Request::new(())).await.unwrap();
        assert_eq!(res.status(), 500);
        let body: serde_json::Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(body["reason"], "InternalError");
        assert_eq!(body["kind"], "Status");
    }
}
