//! Tests of the chain as a whole: the order of the filters, and the behaviour that order buys.

use std::convert::Infallible;

use axum::body::Body;
use http_body_util::BodyExt;
use tower::{ServiceExt, service_fn};

use super::*;
use crate::server::config::Config;

fn completed(dir: &std::path::Path) -> CompletedConfig {
    let config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.complete().unwrap()
}

fn handler()
-> impl Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ 'static {
    service_fn(|req: Request| async move {
        if req.uri().path() == "/version" && req.uri().query() == Some("panic") {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Response::new(Body::from("ok")))
    })
}

#[test]
fn filters_are_in_kube_order_outermost_first() {
    let dir = tempfile::tempdir().unwrap();
    let chain = build_handler_chain(&completed(dir.path()), handler());
    let name = std::any::type_name_of_val(&chain);
    let expected = [
        "SetRequestId",
        "PropagateRequestId",
        "CatchPanic",
        "ResolveRequestInfo",
        "SetResponseHeader",
        "WatchTermination",
        "RequestTimeout",
        "Authenticate",
        "Impersonate",
        "MaxInFlight",
        "Authorize",
        "BodyLimit",
    ];
    let positions: Vec<usize> = expected
        .iter()
        .map(|filter| {
            name.find(&format!("::{filter}<"))
                .unwrap_or_else(|| panic!("{filter} missing from {name}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "wrong order: {name}"
    );
}

async fn call(
    chain: impl Service<Request, Response = http::Response<ChainBody>, Error = Infallible>,
    req: Request,
) -> (u16, http::HeaderMap, String) {
    let res = chain.oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn a_panic_answers_500_and_still_carries_the_audit_id() {
    let dir = tempfile::tempdir().unwrap();
    let chain = build_handler_chain(&completed(dir.path()), handler());
    let req = http::Request::get("/version?panic")
        .header("audit-id", "a-1")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = call(chain, req).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(headers["audit-id"], "a-1");
}

#[tokio::test]
async fn anonymous_oversized_bodies_are_401_not_413() {
    let dir = tempfile::tempdir().unwrap();
    let chain = build_handler_chain(&completed(dir.path()), handler());
    let req = http::Request::post("/api/v1/namespaces/d/pods")
        .header("content-length", (4 << 20).to_string())
        .body(Body::from(vec![b' '; 4 << 20]))
        .unwrap();
    let (status, headers, _) = call(chain, req).await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("audit-id"));
    assert_eq!(headers["cache-control"], "no-cache, private");
}

#[tokio::test]
async fn a_bad_timeout_is_400_before_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let chain = build_handler_chain(&completed(dir.path()), handler());
    let req = http::Request::get("/api/v1/pods?timeout=soon")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(chain, req).await.0, 400);
}

#[test]
fn health_paths_are_the_roots_and_their_checks() {
    for path in ["/healthz", "/livez/ping", "/readyz/poststarthook/x"] {
        assert!(is_health_path(path), "{path}");
    }
    for path in ["/healthzz", "/", "/api/healthz", "/version"] {
        assert!(!is_health_path(path), "{path}");
    }
}
