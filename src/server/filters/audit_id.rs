//! Audit-ID: take the client's `Audit-ID` header or make a UUID, and echo it on the response, so
//! one id ties a client's request to the server's logs (kube's `WithAuditInit`). tower-http's
//! request-id layers do exactly this with a custom header name.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use capstan::server::filters::audit_id::audit_id_layer;
//! use tower::{Layer, ServiceExt, service_fn};
//! let svc = audit_id_layer().layer(service_fn(|_req: http::Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(()))
//! }));
//! let req = http::Request::builder().header("Audit-ID", "abc").body(()).unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.headers()["audit-id"], "abc");
//! # });
//! ```

use http::HeaderName;
use tower::layer::util::Stack;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// The header kube-apiserver and the aggregator use for the audit id.
pub const AUDIT_ID: HeaderName = HeaderName::from_static("audit-id");

/// Setting the id (outer) then echoing it (inner).
pub type AuditIdLayer = Stack<PropagateRequestIdLayer, SetRequestIdLayer<MakeRequestUuid>>;

/// The Audit-ID filter: both layers, outer one first.
pub fn audit_id_layer() -> AuditIdLayer {
    Stack::new(
        PropagateRequestIdLayer::new(AUDIT_ID),
        SetRequestIdLayer::new(AUDIT_ID, MakeRequestUuid),
    )
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{Layer, ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn generates_a_uuid_the_handler_and_the_client_both_see() {
        let svc = audit_id_layer().layer(service_fn(|req: http::Request<()>| async move {
            let seen = req.headers()[AUDIT_ID].clone();
            Ok::<_, Infallible>(
                http::Response::builder()
                    .header("x-seen", seen)
                    .body(())
                    .unwrap(),
            )
        }));
        let res = svc.oneshot(http::Request::new(())).await.unwrap();
        let id = res.headers()[AUDIT_ID].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert_eq!(res.headers()["x-seen"], id);
    }
}
