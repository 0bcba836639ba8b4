//! Request info: parse the path and method once into a [`RequestInfo`] in the request
//! extensions; the timeout, in-flight, authorization filters and the handlers read it there
//! (kube's `WithRequestInfo`).

use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};

use crate::endpoints::request_info::RequestInfo;

/// Adds [`ResolveRequestInfo`] around a service.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use capstan::endpoints::request_info::RequestInfo;
/// use capstan::server::filters::request_info::ResolveRequestInfoLayer;
/// use tower::{Layer, ServiceExt, service_fn};
/// let svc = ResolveRequestInfoLayer.layer(service_fn(|req: http::Request<()>| async move {
///     Ok::<_, std::convert::Infallible>(req.extensions().get::<RequestInfo>().unwrap().verb.clone())
/// }));
/// let req = http::Request::get("/api/v1/namespaces/d/pods?watch=1").body(()).unwrap();
/// assert_eq!(svc.oneshot(req).await.unwrap(), "watch");
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ResolveRequestInfoLayer;

impl<S> Layer<S> for ResolveRequestInfoLayer {
    type Service = ResolveRequestInfo<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResolveRequestInfo { inner }
    }
}

/// Stores the request's [`RequestInfo`] in its extensions.
#[derive(Clone, Debug)]
pub struct ResolveRequestInfo<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for ResolveRequestInfo<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let info = RequestInfo::parse(req.method(), req.uri().path(), req.uri().query());
        req.extensions_mut().insert(info);
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn resource_requests_are_parsed_for_later_filters() {
        let svc = ResolveRequestInfoLayer.layer(service_fn(|req: Request<()>| async move {
            Ok::<_, Infallible>(req.extensions().get::<RequestInfo>().cloned())
        }));
        let req = Request::delete("/apis/capstan.dev/v1/namespaces/d/pods")
            .body(())
            .unwrap();
        let info = svc.oneshot(req).await.unwrap().unwrap();
        assert_eq!(info.verb, "deletecollection");
        assert_eq!(
            (info.api_group.as_str(), info.namespace.as_str()),
            ("capstan.dev", "d")
        );
    }
}
