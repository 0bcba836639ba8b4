//! Max in-flight: at most `--max-requests-inflight` read-only and
//! `--max-mutating-requests-inflight` mutating requests at once; over the limit, 429
//! TooManyRequests with `Retry-After: 1` (kube's `WithMaxInFlightLimit`). `system:masters`,
//! long-running requests and the health paths are exempt (DECISIONS.md). A slot is held until
//! the response body is finished or dropped.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::IntoResponse;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use tower::{Layer, Service};

use super::{Request, Response, is_health_path, request_info_of, take_ready};
use crate::api::ApiError;
use crate::auth::UserInfo;

/// Adds [`MaxInFlight`]; a limit of 0 disables that kind's limit, as in kube.
#[derive(Clone, Debug)]
pub struct MaxInFlightLayer {
    read_only: Option<Arc<Semaphore>>,
    mutating: Option<Arc<Semaphore>>,
}

impl MaxInFlightLayer {
    /// Limits shared by every service this layer wraps.
    pub fn new(read_only: usize, mutating: usize) -> Self {
        let semaphore = |n: usize| (n > 0).then(|| Arc::new(Semaphore::new(n)));
        Self {
            read_only: semaphore(read_only),
            mutating: semaphore(mutating),
        }
    }
}

impl<S> Layer<S> for MaxInFlightLayer {
    type Service = MaxInFlight<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MaxInFlight {
            inner,
            limits: self.clone(),
        }
    }
}

/// Rejects requests over the in-flight limit with 429.
#[derive(Clone, Debug)]
pub struct MaxInFlight<S> {
    inner: S,
    limits: MaxInFlightLayer,
}

impl<S> Service<Request> for MaxInFlight<S>
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

    fn call(&mut self, req: Request) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let info = match request_info_of(&req) {
            Ok(info) => info,
            Err(err) => return Box::pin(async move { Ok(err.into_response()) }),
        };
        let exempt = info.is_long_running()
            || is_health_path(req.uri().path())
            || req
                .extensions()
                .get::<UserInfo>()
                .is_some_and(UserInfo::is_master);
        let semaphore = if info.is_read_only() {
            &self.limits.read_only
        } else {
            &self.limits.mutating
        };
        let semaphore = match semaphore {
            Some(semaphore) if !exempt => semaphore.clone(),
            _ => return Box::pin(inner.call(req)),
        };
        let Ok(permit) = semaphore.try_acquire_owned() else {
            return Box::pin(async {
                Ok(ApiError::TooManyRequests {
                    message: "Too many requests, please try again later.".into(),
                    retry_after_seconds: 1,
                }
                .into_response())
            });
        };
        Box::pin(async move {
            let response = inner.call(req).await?;
            let mut permit = Some(permit);
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    // Owning the permit here ties the slot to the body's lifetime.
                    let _held = &mut permit;
                    frame
                }))
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Notify;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::server::filters::request_info::ResolveRequestInfoLayer;

    type Svc = Box<dyn Fn(&str, &str, &str) -> tokio::task::JoinHandle<Response>>;

    /// A 1/1-limited service whose handler waits for `release` (if any); the returned closure
    /// sends `method path` as a user in `group` and spawns the call.
    fn limited(release: Option<Arc<Notify>>) -> Svc {
        let handler = service_fn(move |_req: Request| {
            let release = release.clone();
            async move {
                if let Some(release) = release {
                    release.notified().await;
                }
                Ok::<_, Infallible>(Response::new(Body::from("ok")))
            }
        });
        let svc = ResolveRequestInfoLayer.layer(MaxInFlightLayer::new(1, 1).layer(handler));
        Box::new(move |method, path, group| {
            let mut req = http::Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap();
            let user = UserInfo {
                name: "u".into(),
                groups: vec![group.into()],
                ..Default::default()
            };
            req.extensions_mut().insert(user);
            let svc = svc.clone();
            tokio::spawn(async move { svc.oneshot(req).await.unwrap() })
        })
    }

    #[tokio::test(start_paused = true)]
    async fn over_the_limit_is_429_with_retry_after_and_kinds_are_separate() {
        let release = Arc::new(Notify::new());
        let call = limited(Some(release.clone()));
        let first = call("GET", "/api/v1/pods", "dev");
        tokio::task::yield_now().await;
        let rejected = call("GET", "/api/v1/pods", "dev").await.unwrap();
        assert_eq!(rejected.status(), 429);
        assert_eq!(rejected.headers()["retry-after"], "1");
        let body = rejected.into_body().collect().await.unwrap().to_bytes();
        let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status["reason"], "TooManyRequests");
        assert_eq!(status["details"]["retryAfterSeconds"], 1);

        let mutating = call("POST", "/api/v1/namespaces/d/pods", "dev");
        tokio::task::yield_now().await;
        assert!(
            !mutating.is_finished(),
            "the mutating limit is separate: this one is in the handler"
        );
        release.notify_waiters();
        assert_eq!(first.await.unwrap().status(), 200);
        assert_eq!(mutating.await.unwrap().status(), 200);
    }

    #[tokio::test(start_paused = true)]
    async fn masters_watches_and_probes_are_exempt() {
        let release = Arc::new(Notify::new());
        let call = limited(Some(release.clone()));
        let _busy = call("GET", "/api/v1/pods", "dev");
        tokio::task::yield_now().await;
        let exempt = [
            call("GET", "/api/v1/pods", "system:masters"),
            call("GET", "/api/v1/pods?watch=true", "dev"),
            call("GET", "/readyz", "dev"),
        ];
        tokio::task::yield_now().await;
        release.notify_waiters();
        for handle in exempt {
            assert_eq!(handle.await.unwrap().status(), 200);
        }
    }

    #[tokio::test]
    async fn the_slot_is_held_until_the_body_is_dropped() {
        let call = limited(None);
        let unread = call("GET", "/api/v1/pods", "dev").await.unwrap();
        assert_eq!(
            call("GET", "/api/v1/pods", "dev").await.unwrap().status(),
            429
        );
        drop(unread);
        assert_eq!(
            call("GET", "/api/v1/pods", "dev").await.unwrap().status(),
            200
        );
    }
}
