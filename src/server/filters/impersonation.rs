//! Impersonation: a caller may act as another user (`kubectl --as`, `--as-group`, `--as-uid`,
//! client-go's `ImpersonationConfig`) if the authorizer lets it `impersonate` each part of that
//! identity, as kube's `WithImpersonation` does. Runs after authentication and before max
//! in-flight and authorization, so both see the impersonated user; the `Impersonate-*` headers are
//! removed before the handler.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::IntoResponse;
use futures::future::BoxFuture;
use http::HeaderMap;
use tower::{Layer, Service};

use super::authorization::forbidden;
use super::{Request, Response, take_ready};
use crate::api::ApiError;
use crate::api::validation::{is_dns1123_label, is_dns1123_subdomain};
use crate::auth::{
    ANONYMOUS_USER, Attributes, Authorizer, Decision, SYSTEM_AUTHENTICATED, SYSTEM_UNAUTHENTICATED,
    UserInfo,
};

const USER_HEADER: &str = "impersonate-user";
const GROUP_HEADER: &str = "impersonate-group";
const UID_HEADER: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";

/// Adds [`Impersonate`], asking `authorizer` about each impersonated part.
#[derive(Clone)]
pub struct ImpersonateLayer {
    authorizer: Arc<dyn Authorizer>,
}

impl ImpersonateLayer {
    /// Uses the same authorizer as the chain's authorization filter, as kube does.
    pub fn new(authorizer: Arc<dyn Authorizer>) -> Self {
        Self { authorizer }
    }
}

impl<S> Layer<S> for ImpersonateLayer {
    type Service = Impersonate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Impersonate {
            inner,
            authorizer: self.authorizer.clone(),
        }
    }
}

/// Replaces the authenticated user with the impersonated one, or answers 400/403.
#[derive(Clone)]
pub struct Impersonate<S> {
    inner: S,
    authorizer: Arc<dyn Authorizer>,
}

impl<S> Service<Request> for Impersonate<S>
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
        let parts = match requested(req.headers()) {
            Ok(parts) if parts.is_empty() => return Box::pin(inner.call(req)),
            Ok(parts) => parts,
            Err(err) => return Box::pin(async move { Ok(err.into_response()) }),
        };
        let Some(requestor) = req.extensions().get::<UserInfo>().cloned() else {
            let err = ApiError::internal("no user found for request");
            return Box::pin(async move { Ok(err.into_response()) });
        };
        let groups_given = req.headers().contains_key(GROUP_HEADER);
        let authorizer = self.authorizer.clone();
        Box::pin(async move {
            let user = match impersonated(&*authorizer, &requestor, &parts, groups_given).await {
                Ok(user) => user,
                Err(err) => return Ok(err.into_response()),
            };
            req.extensions_mut().insert(user);
            strip_headers(req.headers_mut());
            inner.call(req).await
        })
    }
}

/// One thing asked to be impersonated: kube builds these as `ObjectReference`s, and its 400
/// message prints them in that form.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    User(String),
    ServiceAccount { namespace: String, name: String },
    Group(String),
    Extra { key: String, value: String },
    Uid(String),
}

impl Part {
    /// Go's `%v` of the `ObjectReference` kube builds: its seven fields, space-separated.
    fn as_go_reference(&self) -> String {
        let auth_v1 = format!("{AUTHENTICATION_GROUP}/v1");
        let (kind, namespace, name, api_version, field_path) = match self {
            Self::User(name) => ("User", "", name.as_str(), "", ""),
            Self::ServiceAccount { namespace, name } => {
                ("ServiceAccount", namespace.as_str(), name.as_str(), "", "")
            }
            Self::Group(name) => ("Group", "", name.as_str(), "", ""),
            Self::Extra { key, value } => (
                "UserExtra",
                "",
                value.as_str(),
                auth_v1.as_str(),
                key.as_str(),
            ),
            Self::Uid(uid) => ("UID", "", uid.as_str(), auth_v1.as_str(), ""),
        };
        format!("{{{kind} {namespace} {name}  {api_version}  {field_path}}}")
    }

    /// The `impersonate` request the authorizer must allow for this part.
    fn attributes(&self, requestor: &UserInfo) -> Attributes {
        let (group, resource, subresource, namespace, name) = match self {
            Self::User(name) => ("", "users", "", "", name.as_str()),
            Self::ServiceAccount { namespace, name } => {
                ("", "serviceaccounts", "", namespace.as_str(), name.as_str())
            }
            Self::Group(name) => ("", "groups", "", "", name.as_str()),
            Self::Extra { key, value } => (
                AUTHENTICATION_GROUP,
                "userextras",
                key.as_str(),
                "",
                value.as_str(),
            ),
            Self::Uid(uid) => (AUTHENTICATION_GROUP, "uids", "", "", uid.as_str()),
        };
        Attributes {
            user: requestor.clone(),
            verb: "impersonate".into(),
            resource_request: true,
            path: String::new(),
            api_group: group.into(),
            api_version: if group.is_empty() { "" } else { "v1" }.into(),
            namespace: namespace.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            name: name.into(),
        }
    }
}

/// The parts the headers ask for, in kube's order (user, groups, extras, uid); 400 when groups,
/// extras or a uid come without a user.
fn requested(headers: &HeaderMap) -> Result<Vec<Part>, ApiError> {
    let mut parts = Vec::new();
    let user = header_text(headers, USER_HEADER);
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        parts.push(match service_account(user) {
            Some((namespace, name)) => Part::ServiceAccount {
                namespace: namespace.into(),
                name: name.into(),
            },
            None => Part::User(user.into()),
        });
    }
    let has_user = !parts.is_empty();
    for group in headers.get_all(GROUP_HEADER) {
        parts.push(Part::Group(text(group)));
    }
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(EXTRA_PREFIX) {
            parts.push(Part::Extra {
                key: path_unescape(key),
                value: text(value),
            });
        }
    }
    if let Some(uid) = header_text(headers, UID_HEADER).filter(|u| !u.is_empty()) {
        parts.push(Part::Uid(uid.into()));
    }
    if !has_user && !parts.is_empty() {
        let listed: Vec<String> = parts.iter().map(Part::as_go_reference).collect();
        return Err(ApiError::BadRequest(format!(
            "requested [{}] without impersonating a user",
            listed.join(" ")
        )));
    }
    Ok(parts)
}

/// Authorizes every part, then builds the user kube would: the named user (or service account
/// with its groups when none are given), the groups, extras and uid, plus
/// `system:authenticated` (or `system:unauthenticated` for the anonymous user).
async fn impersonated(
    authorizer: &dyn Authorizer,
    requestor: &UserInfo,
    parts: &[Part],
    groups_given: bool,
) -> Result<UserInfo, ApiError> {
    let mut user = UserInfo::default();
    for part in parts {
        match part {
            Part::User(name) => user.name = name.clone(),
            Part::ServiceAccount { namespace, name } => {
                user.name = format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}");
                if !groups_given {
                    user.groups = vec![
                        "system:serviceaccounts".into(),
                        format!("system:serviceaccounts:{namespace}"),
                    ];
                }
            }
            Part::Group(group) => user.groups.push(group.clone()),
            Part::Extra { key, value } => {
                user.extra
                    .entry(key.clone())
                    .or_default()
                    .push(value.clone());
            }
            Part::Uid(uid) => user.uid = uid.clone(),
        }
        let attrs = part.attributes(requestor);
        match authorizer.authorize(&attrs).await {
            Decision::Allow => {}
            Decision::Deny(reason) => return Err(forbidden(&attrs, &reason)),
            Decision::NoOpinion => return Err(forbidden(&attrs, "")),
        }
    }
    let has = |g: &str| user.groups.iter().any(|x| x == g);
    if user.name != ANONYMOUS_USER {
        if !has(SYSTEM_AUTHENTICATED) && !has(SYSTEM_UNAUTHENTICATED) {
            user.groups.push(SYSTEM_AUTHENTICATED.into());
        }
    } else if !has(SYSTEM_UNAUTHENTICATED) {
        user.groups.push(SYSTEM_UNAUTHENTICATED.into());
    }
    Ok(user)
}

/// `system:serviceaccount:<namespace>:<name>` with a valid namespace and name (kube's
/// `serviceaccount.SplitUsername`); anything else is an ordinary user name.
fn service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (namespace, name) = rest.split_once(':')?;
    let valid = !namespace.is_empty()
        && !name.is_empty()
        && !name.contains(':')
        && is_dns1123_label(namespace).is_empty()
        && is_dns1123_subdomain(name).is_empty();
    valid.then_some((namespace, name))
}

/// Drops every `Impersonate-*` header kube drops, so nothing downstream mistakes them for input.
fn strip_headers(headers: &mut HeaderMap) {
    headers.remove(USER_HEADER);
    headers.remove(GROUP_HEADER);
    headers.remove(UID_HEADER);
    let extras: Vec<_> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(EXTRA_PREFIX))
        .cloned()
        .collect();
    for name in extras {
        headers.remove(name);
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn text(value: &http::HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

/// Go's `url.PathUnescape` as kube uses it for extra keys: `%XX` decoded, the key kept as sent
/// when any escape is malformed or the result is not UTF-8. (The header name is already lower
/// case: HTTP/2 and the `http` crate normalise it, as Go's `strings.ToLower` does.)
fn path_unescape(key: &str) -> String {
    let bytes = key.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return key.to_owned();
    }
    percent_encoding::percent_decode_str(key)
        .decode_utf8()
        .map_or_else(|_| key.to_owned(), |s| s.into_owned())
}

#[cfg(test)]
#[path = "impersonation_tests.rs"]
mod tests;
