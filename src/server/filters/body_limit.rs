//! Body limit: request bodies over `MaxRequestBodyBytes` (3 MiB) get 413
//! RequestEntityTooLarge. A too-large `Content-Length` is refused before the handler runs; a
//! body streamed without one is cut at the limit and the handler's answer replaced by the 413,
//! whatever it made of the read error.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::IntoResponse;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower::{Layer, Service};

use super::{Request, Response, take_ready};
use crate::api::ApiError;

/// Adds [`BodyLimit`] with a limit in bytes.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimitLayer {
    limit: u64,
}

impl BodyLimitLayer {
    /// Refuses bodies longer than `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimit {
            inner,
            limit: self.limit,
        }
    }
}

/// Enforces the body limit.
#[derive(Clone, Debug)]
pub struct BodyLimit<S> {
    inner: S,
    limit: u64,
}

fn too_large(limit: u64) -> Response {
    ApiError::RequestEntityTooLarge(format!("Request entity too large: limit is {limit}"))
        .into_response()
}

impl<S> Service<Request> for BodyLimit<S>
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
        let limit = self.limit;
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Box::pin(async move { Ok(too_large(limit)) });
        }
        let exceeded = Arc::new(AtomicBool::new(false));
        let flag = exceeded.clone();
        let req = req.map(|body| {
            let max = usize::try_from(limit).unwrap_or(usize::MAX);
            Body::new(Limited::new(body, max).map_err(move |err| {
                if err.is::<LengthLimitError>() {
                    flag.store(true, Ordering::Relaxed);
                }
                err
            }))
        });
        Box::pin(async move {
            let response = inner.call(req).await?;
            if exceeded.load(Ordering::Relaxed) {
                return Ok(too_large(limit));
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tower::{ServiceExt, service_fn};

    use super::*;

    /// Reads the whole body and answers 200 with its length, or 400 on a read error.
    fn reader() -> BodyLimit<
        impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone,
    > {
        BodyLimitLayer::new(10).layer(service_fn(|req: Request| async move {
            Ok::<_, Infallible>(match req.into_body().collect().await {
                Ok(body) => Response::new(Body::from(body.to_bytes().len().to_string())),
                Err(_) => http::Response::builder()
                    .status(400)
                    .body(Body::empty())
                    .unwrap(),
            })
        }))
    }

    async fn status(req: Request) -> u16 {
        reader().oneshot(req).await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn declared_lengths_over_the_limit_are_refused_up_front() {
        let req = http::Request::post("/api/v1/namespaces/d/pods")
            .header("content-length", "11")
            .body(Body::from("01234567890"))
            .unwrap();
        let res = reader().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 413);
        let body: serde_json::Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(body["reason"], "RequestEntityTooLarge");
        assert_eq!(body["message"], "Request entity too large: limit is 10");
    }

    #[tokio::test]
    async fn streamed_bodies_are_cut_at_the_limit() {
        let chunks = futures::stream::iter(
            ["01234", "56789", "0"].map(|c| Ok::<_, Infallible>(Bytes::from(c))),
        );
        let req = http::Request::post("/x")
            .body(Body::from_stream(chunks))
            .unwrap();
        assert_eq!(status(req).await, 413);
        let chunks =
            futures::stream::iter(["01234", "56789"].map(|c| Ok::<_, Infallible>(Bytes::from(c))));
        assert_eq!(
            status(
                http::Request::post("/x")
                    .body(Body::from_stream(chunks))
                    .unwrap()
            )
            .await,
            200
        );
    }
}
