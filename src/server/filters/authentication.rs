//! Authentication: turn the TLS client certificate (or, later, other credentials) into a
//! [`UserInfo`] in the request extensions. Callers without credentials are anonymous on the
//! health paths and `/version` only; everywhere else they get 401 (DECISIONS.md). Bad
//! credentials are 401 everywhere, as kube fails on an authenticator error before anonymous.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::IntoResponse;
use futures::future::BoxFuture;
use tower::{Layer, Service};

use super::{Request, Response, is_health_path, take_ready};
use crate::api::ApiError;
use crate::auth::{AuthRequest, Authenticator, PeerCertificates, UserInfo};

/// Adds [`Authenticate`] with the given authenticator.
#[derive(Clone)]
pub struct AuthenticateLayer {
    authenticator: Arc<dyn Authenticator>,
}

impl AuthenticateLayer {
    /// Authenticates with `authenticator`; anonymous is this filter's fallback.
    pub fn new(authenticator: Arc<dyn Authenticator>) -> Self {
        Self { authenticator }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

/// Puts the caller's [`UserInfo`] into the request, or answers 401.
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    authenticator: Arc<dyn Authenticator>,
}

/// Paths an unauthenticated caller may reach: probes and `/version`.
pub fn allows_anonymous(path: &str) -> bool {
    is_health_path(path) || path == "/version"
}

impl<S> Service<Request> for Authenticate<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            let outcome = {
                let auth_req = AuthRequest {
                    headers: req.headers(),
                    peer_certificates: req.extensions().get::<PeerCertificates>(),
                };
                authenticator.authenticate(&auth_req).await
            };
            let user = match outcome {
                Ok(Some(user)) => {
                    // Credentials stop here; handlers and proxies never see them.
                    req.headers_mut().remove(http::header::AUTHORIZATION);
                    user
                }
                Ok(None) if allows_anonymous(req.uri().path()) => UserInfo::anonymous(),
                Ok(None) => return Ok(ApiError::Unauthorized.into_response()),
                Err(err) => {
                    tracing::debug!(%err, path = req.uri().path(), "authentication failed");
                    return Ok(ApiError::Unauthorized.into_response());
                }
            };
            req.extensions_mut().insert(user);
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;

    /// Authenticates `Authorization: Bearer <name>` as `<name>`; "bad" is an error.
    struct BearerName;

    #[async_trait]
    impl Authenticator for BearerName {
        async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Option<UserInfo>, ApiError> {
            let Some(value) = req.headers.get("authorization") else {
                return Ok(None);
            };
            match value.to_str().unwrap_or_default().strip_prefix("Bearer ") {
                Some("bad") => Err(ApiError::Unauthorized),
                Some(name) => Ok(Some(UserInfo {
                    name: name.into(),
                    ..Default::default()
                })),
                None => Ok(None),
            }
        }
    }

    async fn call(path: &str, bearer: Option<&str>) -> (u16, String) {
        let echo = service_fn(|req: Request| async move {
            let user = req.extensions().get::<UserInfo>().unwrap().name.clone();
            let leaked = req.headers().contains_key("authorization");
            Ok::<_, Infallible>(Response::new(Body::from(format!("{user} leaked={leaked}"))))
        });
        let svc = AuthenticateLayer::new(Arc::new(BearerName)).layer(echo);
        let mut req = http::Request::get(path);
        if let Some(token) = bearer {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let res = svc.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn anonymous_reaches_only_probes_and_version() {
        for path in [
            "/healthz",
            "/livez",
            "/readyz",
            "/readyz/shutdown",
            "/version",
        ] {
            assert_eq!(
                call(path, None).await,
                (200, "system:anonymous leaked=false".into()),
                "{path}"
            );
        }
        for path in [
            "/",
            "/api",
            "/apis/capstan.dev/v1",
            "/healthzfoo",
            "/version/x",
        ] {
            let (status, body) = call(path, None).await;
            assert_eq!(status, 401, "{path}");
            assert!(body.contains(r#""reason":"Unauthorized""#), "{body}");
            assert!(body.contains(r#""message":"Unauthorized""#), "{body}");
        }
    }

    #[tokio::test]
    async fn users_are_stored_and_credentials_removed() {
        assert_eq!(
            call("/api", Some("jane")).await,
            (200, "jane leaked=false".into())
        );
    }

    #[tokio::test]
    async fn bad_credentials_fail_even_on_probes() {
        assert_eq!(call("/healthz", Some("bad")).await.0, 401);
    }
}
