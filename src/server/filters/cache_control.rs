//! Cache-Control: every answer that does not say otherwise is `no-cache, private` (kube's
//! `WithCacheControl`), so that no proxy or browser cache between a client and the server keeps
//! an object, a list or a Status that may change with the next write. Answers that choose their
//! own caching (discovery's `public`, OpenAPI's `public, immutable`) keep it.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use capstan::server::filters::cache_control::cache_control_layer;
//! use tower::{Layer, ServiceExt, service_fn};
//! let svc = cache_control_layer().layer(service_fn(|_req: http::Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(()))
//! }));
//! let res = svc.oneshot(http::Request::new(())).await.unwrap();
//! assert_eq!(res.headers()["cache-control"], "no-cache, private");
//! # });
//! ```

use http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// kube's value for responses that set no caching of their own.
pub const NO_CACHE_PRIVATE: HeaderValue = HeaderValue::from_static("no-cache, private");

/// The Cache-Control filter: adds [`NO_CACHE_PRIVATE`] when the response has no Cache-Control.
pub fn cache_control_layer() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, NO_CACHE_PRIVATE)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{Layer, ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn keeps_the_caching_a_handler_chose() {
        let svc = cache_control_layer().layer(service_fn(|_req: http::Request<()>| async {
            Ok::<_, Infallible>(
                http::Response::builder()
                    .header(header::CACHE_CONTROL, "public")
                    .body(())
                    .unwrap(),
            )
        }));
        let res = svc.oneshot(http::Request::new(())).await.unwrap();
        let values: Vec<_> = res
            .headers()
            .get_all(header::CACHE_CONTROL)
            .iter()
            .collect();
        assert_eq!(values, ["public"]);
    }
}
