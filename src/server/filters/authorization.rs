//! Authorization: ask the [`Authorizer`] whether the authenticated user may do what the
//! [`RequestInfo`] says; anything but Allow is a 403 with kube's message
//! (`User "u" cannot list resource "pods" in API group "" in the namespace "d"`).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::IntoResponse;
use futures::future::BoxFuture;
use tower::{Layer, Service};

use super::{Request, Response, request_info_of, take_ready};
use crate::api::{ApiError, GroupResource};
use crate::auth::{Attributes, Authorizer, Decision, UserInfo};
use crate::endpoints::request_info::RequestInfo;

/// Adds [`Authorize`] with the given authorizer.
#[derive(Clone)]
pub struct AuthorizeLayer {
    authorizer: Arc<dyn Authorizer>,
}

impl AuthorizeLayer {
    /// Authorizes every request with `authorizer`.
    pub fn new(authorizer: Arc<dyn Authorizer>) -> Self {
        Self { authorizer }
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            authorizer: self.authorizer.clone(),
        }
    }
}

/// Lets allowed requests through and answers 403 otherwise.
#[derive(Clone)]
pub struct Authorize<S> {
    inner: S,
    authorizer: Arc<dyn Authorizer>,
}

impl<S> Service<Request> for Authorize<S>
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
        let authorizer = self.authorizer.clone();
        let attrs = match (request_info_of(&req), req.extensions().get::<UserInfo>()) {
            (Ok(info), Some(user)) => attributes(info, user),
            (Err(err), _) => return Box::pin(async move { Ok(err.into_response()) }),
            (Ok(_), None) => {
                let err =
                    ApiError::internal("no user found for request; the handler chain is miswired");
                return Box::pin(async move { Ok(err.into_response()) });
            }
        };
        Box::pin(async move {
            match authorizer.authorize(&attrs).await {
                Decision::Allow => inner.call(req).await,
                Decision::Deny(reason) => Ok(forbidden(&attrs, &reason).into_response()),
                Decision::NoOpinion => Ok(forbidden(&attrs, "").into_response()),
            }
        })
    }
}

/// The authorizer's view of a request.
pub fn attributes(info: &RequestInfo, user: &UserInfo) -> Attributes {
    Attributes {
        user: user.clone(),
        verb: info.verb.clone(),
        resource_request: info.is_resource_request,
        path: info.path.clone(),
        api_group: info.api_group.clone(),
        api_version: info.api_version.clone(),
        namespace: info.namespace.clone(),
        resource: info.resource.clone(),
        subresource: info.subresource.clone(),
        name: info.name.clone(),
    }
}

/// kube's `responsewriters.Forbidden`: the denial message, `: <reason>` when the authorizer gave
/// one, wrapped as `NewForbidden(group/resource, name, …)`.
pub fn forbidden(attrs: &Attributes, reason: &str) -> ApiError {
    let user = &attrs.user.name;
    let verb = &attrs.verb;
    let message = if !attrs.resource_request {
        format!("User {user:?} cannot {verb} path {:?}", attrs.path)
    } else {
        let mut resource = attrs.resource.clone();
        if !attrs.subresource.is_empty() {
            resource = format!("{resource}/{}", attrs.subresource);
        }
        let group = &attrs.api_group;
        match attrs.namespace.as_str() {
            "" => format!(
                "User {user:?} cannot {verb} resource {resource:?} in API group {group:?} at the cluster scope"
            ),
            ns => format!(
                "User {user:?} cannot {verb} resource {resource:?} in API group {group:?} in the namespace {ns:?}"
            ),
        }
    };
    let reason = if reason.is_empty() {
        message
    } else {
        format!("{message}: {reason}")
    };
    ApiError::Forbidden {
        resource: GroupResource::new(attrs.api_group.clone(), attrs.resource.clone()),
        name: attrs.name.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::server::filters::request_info::ResolveRequestInfoLayer;

    struct Fixed(Decision);

    #[async_trait]
    impl Authorizer for Fixed {
        async fn authorize(&self, _attrs: &Attributes) -> Decision {
            self.0.clone()
        }
    }

    async fn call(decision: Decision, method: &str, path: &str) -> (u16, serde_json::Value) {
        let ok = service_fn(|_req: Request| async {
            Ok::<_, Infallible>(Response::new(Body::from("{}")))
        });
        let svc =
            ResolveRequestInfoLayer.layer(AuthorizeLayer::new(Arc::new(Fixed(decision))).layer(ok));
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(UserInfo {
            name: "jane".into(),
            ..Default::default()
        });
        let res = svc.oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        (
            status,
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap(),
        )
    }

    #[tokio::test]
    async fn allow_passes() {
        assert_eq!(call(Decision::Allow, "GET", "/api/v1/pods").await.0, 200);
    }

    #[tokio::test]
    async fn deny_is_403_with_kubes_messages_and_details() {
        let (status, body) = call(
            Decision::Deny("nope".into()),
            "GET",
            "/api/v1/namespaces/d/pods",
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(body["reason"], "Forbidden");
        assert_eq!(
            body["message"],
            r#"pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "d": nope"#
        );
        assert_eq!(body["details"], serde_json::json!({"kind": "pods"}));

        let (_, body) = call(
            Decision::NoOpinion,
            "POST",
            "/apis/capstan.dev/v1/namespaces/d/pods/p/binding",
        )
        .await;
        assert_eq!(
            body["message"],
            r#"pods.capstan.dev "p" is forbidden: User "jane" cannot create resource "pods/binding" in API group "capstan.dev" in the namespace "d""#
        );
        let (_, body) = call(Decision::NoOpinion, "DELETE", "/api/v1/nodes/n1").await;
        assert_eq!(
            body["message"],
            r#"nodes "n1" is forbidden: User "jane" cannot delete resource "nodes" in API group "" at the cluster scope"#
        );
        let (_, body) = call(Decision::NoOpinion, "GET", "/metrics").await;
        assert_eq!(
            body["message"],
            r#"forbidden: User "jane" cannot get path "/metrics""#
        );
    }
}
