//! Watch termination: when the server starts draining, long-running responses (watches) end
//! cleanly, so graceful shutdown is not held open by streams that would never finish (kube's
//! `WithWatchTerminationDuringShutdown`). Clients see the watch close and re-establish it
//! elsewhere.

use std::task::{Context, Poll};

use axum::body::Body;
use futures::StreamExt;
use futures::future::{BoxFuture, FutureExt};
use tower::{Layer, Service};

use super::{Request, Response};
use crate::endpoints::request_info::RequestInfo;
use crate::server::lifecycle::Signal;

/// Adds [`WatchTermination`], ending long-running bodies when `draining` fires.
#[derive(Clone, Debug)]
pub struct WatchTerminationLayer {
    draining: Signal,
}

impl WatchTerminationLayer {
    /// Ends long-running responses once `draining` fires.
    pub fn new(draining: Signal) -> Self {
        Self { draining }
    }
}

impl<S> Layer<S> for WatchTerminationLayer {
    type Service = WatchTermination<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WatchTermination {
            inner,
            draining: self.draining.clone(),
        }
    }
}

/// Cuts long-running response bodies at shutdown.
#[derive(Clone, Debug)]
pub struct WatchTermination<S> {
    inner: S,
    draining: Signal,
}

impl<S> Service<Request> for WatchTermination<S>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let long_running = req
            .extensions()
            .get::<RequestInfo>()
            .is_some_and(RequestInfo::is_long_running);
        let future = self.inner.call(req);
        if !long_running {
            return future.boxed();
        }
        let draining = self.draining.clone();
        future
            .map(move |result| {
                result.map(|response| {
                    response.map(|body| {
                        Body::from_stream(body.into_data_stream().take_until(draining.fired()))
                    })
                })
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::server::filters::request_info::ResolveRequestInfoLayer;

    async fn endless_body_ends_on_drain(uri: &str) -> bool {
        let draining = Signal::default();
        let endless = service_fn(|_req: Request| async {
            let forever =
                futures::stream::repeat_with(|| Ok::<_, Infallible>(Bytes::from_static(b"{}\n")))
                    .then(|chunk| async move {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        chunk
                    });
            Ok::<_, Infallible>(Response::new(Body::from_stream(forever)))
        });
        let svc = ResolveRequestInfoLayer
            .layer(WatchTerminationLayer::new(draining.clone()).layer(endless));
        let res = svc
            .oneshot(http::Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let mut body = res.into_body();
        assert!(body.frame().await.is_some());
        draining.fire();
        tokio::time::timeout(std::time::Duration::from_secs(10), body.collect())
            .await
            .is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn watches_end_when_draining_starts() {
        assert!(endless_body_ends_on_drain("/api/v1/pods?watch=1").await);
    }

    #[tokio::test(start_paused = true)]
    async fn other_responses_are_left_alone() {
        assert!(!endless_body_ends_on_drain("/api/v1/pods").await);
    }
}
