//! Timeout for non-long-running requests: the deadline is min(`?timeout=` as a Go duration,
//! `--request-timeout`); an unparseable `?timeout=` is a 400, expiry a 504 `Timeout` Status
//! (kube's `WithRequestDeadline` and `WithTimeoutForNonLongRunningRequests` in one filter).
//! Watches and other long-running requests pass untouched.
//!
//! The deadline covers the request until the response head is ready; a body streamed after
//! that is not cut (kube resets the stream instead, which clients see as a broken response).

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::IntoResponse;
use futures::future::BoxFuture;
use tower::{Layer, Service};

use super::{Request, Response, request_info_of, take_ready};
use crate::api::ApiError;
use crate::server::duration::parse_go_duration;

/// Adds [`RequestTimeout`] with `--request-timeout` as the longest allowed deadline.
#[derive(Clone, Copy, Debug)]
pub struct RequestTimeoutLayer {
    max: Duration,
}

impl RequestTimeoutLayer {
    /// `max` is `--request-timeout`.
    pub fn new(max: Duration) -> Self {
        Self { max }
    }
}

impl<S> Layer<S> for RequestTimeoutLayer {
    type Service = RequestTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestTimeout {
            inner,
            max: self.max,
        }
    }
}

/// Answers 504 when the inner service takes longer than the request's deadline.
#[derive(Clone, Debug)]
pub struct RequestTimeout<S> {
    inner: S,
    max: Duration,
}

impl<S> Service<Request> for RequestTimeout<S>
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
        let long_running = match request_info_of(&req) {
            Ok(info) => info.is_long_running(),
            Err(err) => return Box::pin(async move { Ok(err.into_response()) }),
        };
        if long_running {
            return Box::pin(inner.call(req));
        }
        let deadline = match deadline(req.uri().query(), self.max) {
            Ok(deadline) => deadline,
            Err(err) => return Box::pin(async move { Ok(err.into_response()) }),
        };
        Box::pin(async move {
            match tokio::time::timeout(deadline, inner.call(req)).await {
                Ok(response) => response,
                Err(_elapsed) => Ok(ApiError::Timeout {
                    message: "Timeout: request did not complete within the allotted timeout".into(),
                    retry_after_seconds: 0,
                }
                .into_response()),
            }
        })
    }
}

/// min(`?timeout=`, `max`); a zero or negative `?timeout=` means "the server's default", as in
/// kube. The first `timeout` parameter counts, as Go's `Query().Get`.
pub fn deadline(query: Option<&str>, max: Duration) -> Result<Duration, ApiError> {
    let value = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "timeout")
            .map(|(_, v)| v)
    });
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(max);
    };
    let nanos = parse_go_duration(&value).map_err(|err| {
        ApiError::BadRequest(format!(
            "invalid timeout specified in the request URL - {err}"
        ))
    })?;
    let asked = u64::try_from(nanos)
        .ok()
        .filter(|n| *n > 0)
        .map(Duration::from_nanos);
    Ok(asked.filter(|asked| *asked < max).unwrap_or(max))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::server::filters::request_info::ResolveRequestInfoLayer;

    fn sleeper(
        delay: Duration,
    ) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static {
        let svc = service_fn(move |_req: Request| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, Infallible>(Response::new(Body::from("done")))
        });
        ResolveRequestInfoLayer.layer(RequestTimeoutLayer::new(Duration::from_secs(60)).layer(svc))
    }

    async fn status_of(uri: &str, delay: Duration) -> (u16, serde_json::Value) {
        let res = sleeper(delay)
            .oneshot(http::Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_is_a_504_timeout_status() {
        let (status, body) = status_of("/api/v1/pods", Duration::from_secs(61)).await;
        assert_eq!(status, 504);
        assert_eq!(body["reason"], "Timeout");
        assert_eq!(
            body["message"],
            "Timeout: request did not complete within the allotted timeout"
        );
        assert_eq!(
            status_of("/api/v1/pods", Duration::from_secs(59)).await.0,
            200
        );
    }

    #[tokio::test(start_paused = true)]
    async fn query_timeout_shortens_but_never_extends() {
        assert_eq!(
            status_of("/api/v1/pods?timeout=1s", Duration::from_secs(2))
                .await
                .0,
            504
        );
        assert_eq!(
            status_of("/api/v1/pods?timeout=2m", Duration::from_secs(61))
                .await
                .0,
            504
        );
        assert_eq!(
            status_of("/api/v1/pods?timeout=0s", Duration::from_secs(59))
                .await
                .0,
            200
        );
    }

    #[tokio::test(start_paused = true)]
    async fn watches_are_not_timed_out() {
        assert_eq!(
            status_of("/api/v1/pods?watch=1", Duration::from_secs(3600))
                .await
                .0,
            200
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unparseable_timeout_is_a_400() {
        let (status, body) = status_of("/api/v1/pods?timeout=abc", Duration::ZERO).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["message"],
            "invalid timeout specified in the request URL - time: invalid duration \"abc\""
        );
    }
}
