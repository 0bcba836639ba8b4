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

    fn user(groups: &[&str]) -> UserInfo {
        UserInfo {
            name: "u".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    fn request(method: &str, path: &str, who: &UserInfo) -> Request {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(who.clone());
        req
    }

    /// A service whose requests block until `release` is notified, behind a 1/1 limit.
    fn limited(
        release: Arc<Notify>,
    ) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone {
        let blocking = service_fn(move |_req: Request| {
            let release = release.clone();
            async move {
                release.notified().await;
                Ok::<_, Infallible>(Response::new(Body::from("ok")))
            }
        });
        ResolveRequestInfoLayer.layer(MaxInFlightLayer::new(1, 1).layer(blocking))
    }

    #[tokio::test(start_paused = true)]
    async fn over_the_limit_is_429_with_retry_after_and_kinds_are_separate() {
        let release = Arc::new(Notify::new());
        let svc = limited(release.clone());
        let dev = user(&["dev"]);
        let first = tokio::spawn(svc.clone().oneshot(request("GET", "/api/v1/pods", &dev)));
        tokio::task::yield_now().await;
        let rejected = svc
            .clone()
            .oneshot(request("GET", "/api/v1/pods", &dev))
            .await
            .unwrap();
        assert_eq!(rejected.status(), 429);
        assert_eq!(rejected.headers()["retry-after"], "1");
        let body = rejected.into_body().collect().await.unwrap().to_bytes();
        let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status["reason"], "TooManyRequests");
        assert_eq!(status["details"]["retryAfterSeconds"], 1);

        let mutating = tokio::spawn(svc.clone().oneshot(request(
            "POST",
            "/api/v1/namespaces/d/pods",
            &dev,
        )));
        tokio::task::yield_now().await;
        assert!(
            !mutating.is_finished(),
            "the mutating slot is separate, so this one waits in the handler"
        );
        release.notify_waiters();
        assert_eq!(first.await.unwrap().unwrap().status(), 200);
        assert_eq!(mutating.await.unwrap().unwrap().status(), 200);
    }

    #[tokio::test(start_paused = true)]
    async fn masters_watches_and_probes_are_exempt() {
        let release = Arc::new(Notify::new());
        let svc = limited(release.clone());
        let dev = user(&["dev"]);
        let _busy = tokio::spawn(svc.clone().oneshot(request("GET", "/api/v1/pods", &dev)));
        tokio::task::yield_now().await;
        let exempt = [
            request("GET", "/api/v1/pods", &user(&["system:masters"])),
            request("GET", "/api/v1/pods?watch=true", &dev),
            request("GET", "/readyz", &dev),
        ];
        let waiting: Vec<_> = exempt
            .into_iter()
            .map(|r| tokio::spawn(svc.clone().oneshot(r)))
            .collect();
        tokio::task::yield_now().await;
        release.notify_waiters();
        for handle in waiting {
            assert_eq!(handle.await.unwrap().unwrap().status(), 200);
        }
    }

    #[tokio::test]
    async fn the_slot_is_held_until_the_body_is_dropped() {
        let svc = ResolveRequestInfoLayer.layer(MaxInFlightLayer::new(1, 1).layer(service_fn(
            |_req: Request| async { Ok::<_, Infallible>(Response::new(Body::from("ok"))) },
        )));
        let dev = user(&["dev"]);
        let unread = svc
            .clone()
            .oneshot(request("GET", "/api/v1/pods", &dev))
            .await
            .unwrap();
        let second = svc
            .clone()
            .oneshot(request("GET", "/api/v1/pods", &dev))
            .await
            .unwrap();
        assert_eq!(second.status(), 429);
        drop(unread);
        let third = svc
            .clone()
            .oneshot(request("GET", "/api/v1/pods", &dev))
            .await
            .unwrap();
        assert_eq!(third.status(), 200);
    }
}
