//! Which methods a non-resource path answers. kube-apiserver serves its paths from two muxes:
//! go-restful routes (`/version`, `/api`, `/api/v1`, `/apis/<group>/<version>` and every resource
//! path) answer only the methods they register — `HEAD` included, which they do not — with a 405
//! Status; the plain mux (`/`, `/apis`, `/apis/<group>`, `/openapi/…`, health) answers any method
//! as a GET. Capstan routes each path the way kube does (checked against kube-apiserver 1.37.2).

use axum::extract::Request;
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use futures::future::BoxFuture;
use http::Method;

use crate::api::ApiError;

/// A go-restful-style GET route: `HEAD` and every other method answer kube's generic 405 (with
/// no `Allow` header, as kube sends none).
pub fn get_only<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    any(GetOnly(handler))
}

/// Runs the inner handler for GET only.
#[derive(Clone)]
struct GetOnly<H>(H);

impl<H, T, S> Handler<T, S> for GetOnly<H>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    type Future = BoxFuture<'static, Response>;

    fn call(self, req: Request, state: S) -> Self::Future {
        if req.method() == Method::GET {
            Box::pin(self.0.call(req, state))
        } else {
            Box::pin(async { ApiError::MethodNotAllowed.into_response() })
        }
    }
}

/// A plain-mux route: whatever the method, the GET answer.
pub fn any_method<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    any(handler)
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// Status, `Allow` header and body of `method /x` on `router`.
    async fn call(router: Router, method: Method) -> (u16, Option<String>, String) {
        let req = Request::builder()
            .method(method)
            .uri("/x")
            .body(Body::empty())
            .unwrap();
        let res = router.oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let allow = res
            .headers()
            .get(http::header::ALLOW)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, allow, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn get_only_routes_refuse_head_and_other_methods_with_a_status() {
        let router = || Router::new().route("/x", get_only(|| async { "doc" }));
        assert_eq!(call(router(), Method::GET).await, (200, None, "doc".into()));
        for method in [Method::HEAD, Method::POST, Method::DELETE, Method::OPTIONS] {
            let (status, allow, body) = call(router(), method.clone()).await;
            assert_eq!(status, 405, "{method}");
            assert_eq!(allow, None, "kube sends no Allow header");
            if method != Method::HEAD {
                let status: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(status["reason"], "MethodNotAllowed");
                assert_eq!(
                    status["message"],
                    "the server does not allow this method on the requested resource"
                );
            }
        }
    }

    #[tokio::test]
    async fn any_method_routes_answer_every_method_alike() {
        let router = || Router::new().route("/x", any_method(|| async { "doc" }));
        for method in [Method::GET, Method::POST, Method::PUT] {
            assert_eq!(call(router(), method).await, (200, None, "doc".into()));
        }
    }
}
