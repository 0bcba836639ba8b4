//! The filter chain every request passes before it reaches a route: kube-apiserver's
//! `DefaultBuildHandlerChain`, as tower layers. Each filter lives in its own module with its own
//! tests; [`build_handler_chain`] is the one place their order is decided.

pub mod audit_id;
pub mod authentication;
pub mod authorization;
pub mod body_limit;
pub mod cache_control;
pub mod impersonation;
pub mod max_in_flight;
pub mod panic_recovery;
pub mod request_info;
pub mod timeout;
pub mod watch_termination;

use std::convert::Infallible;

use axum::body::Body;
use tower::{Service, ServiceBuilder};

use crate::api::ApiError;
use crate::endpoints::request_info::RequestInfo;

use super::config::CompletedConfig;
use audit_id::audit_id_layer;
use authentication::AuthenticateLayer;
use authorization::AuthorizeLayer;
use body_limit::BodyLimitLayer;
use cache_control::cache_control_layer;
use impersonation::ImpersonateLayer;
use max_in_flight::MaxInFlightLayer;
use panic_recovery::panic_recovery_layer;
use request_info::ResolveRequestInfoLayer;
use timeout::RequestTimeoutLayer;
use watch_termination::WatchTerminationLayer;

/// The request type inside the chain.
pub type Request = http::Request<Body>;
/// The response type the filters (inside panic recovery) produce.
pub type Response = http::Response<Body>;
/// The body of the chain's responses (panic recovery boxes it).
pub type ChainBody = tower_http::body::UnsyncBoxBody<bytes::Bytes, tower::BoxError>;

/// Wraps `inner` (the routes) in the filters, outermost first, in aggregation-contract.md §1.1's
/// order. The result is `Clone`, so the serving loop hands a copy to every connection.
pub fn build_handler_chain<S>(
    config: &CompletedConfig,
    inner: S,
) -> impl Service<
    Request,
    Response = http::Response<ChainBody>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let limits = config.limits();
    ServiceBuilder::new()
        // Outermost, so every answer (a panic's, a 401, a 429) carries the Audit-ID.
        .layer(audit_id_layer())
        // Outside everything that runs handler code, so no panic escapes to the connection.
        .layer(panic_recovery_layer())
        // Parsed once; everything below reads RequestInfo from the extensions.
        .layer(ResolveRequestInfoLayer)
        // Outside everything that may answer early (401, 429, 504), so those are not cached either.
        .layer(cache_control_layer())
        // Needs RequestInfo (is it a watch?); wraps the body whatever the filters below answer.
        .layer(WatchTerminationLayer::new(
            config.lifecycle().draining.clone(),
        ))
        // Before authentication, as kube: a stuck authenticator still ends in a 504.
        .layer(RequestTimeoutLayer::new(limits.request_timeout))
        // Establishes the user that in-flight exemptions and authorization look at.
        .layer(AuthenticateLayer::new(config.authenticator()))
        // Acting as another user (`kubectl --as`): what follows sees the impersonated user.
        .layer(ImpersonateLayer::new(config.authorizer()))
        // After authentication (system:masters is exempt), before the costly authorizer.
        .layer(MaxInFlightLayer::new(
            limits.max_requests_inflight,
            limits.max_mutating_requests_inflight,
        ))
        // Last decision before the handler: may this user do this?
        .layer(AuthorizeLayer::new(config.authorizer()))
        // Innermost: only authorized callers get to send a body at all.
        .layer(BodyLimitLayer::new(limits.max_request_body_bytes))
        .service(inner)
}

/// The probe paths: `/healthz`, `/livez`, `/readyz` and their per-check sub-paths.
pub fn is_health_path(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"].iter().any(|root| {
        path.strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The request's [`RequestInfo`], or a 500 saying the chain is miswired (kube's wording).
fn request_info_of(req: &Request) -> Result<&RequestInfo, ApiError> {
    req.extensions().get::<RequestInfo>().ok_or_else(|| {
        ApiError::internal("no RequestInfo found in the context, handler chain must be wrong")
    })
}

/// Takes the service that `poll_ready` readied, leaving a fresh clone behind: tower's rule for
/// services that move their inner service into a `'static` future.
fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

#[cfg(test)]
mod tests;
