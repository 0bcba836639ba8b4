//! Building the API router from [`ApiGroupInfo`] data, and resolving each resource request to a
//! [`Rest`] and a verb handler.
//!
//! Routes are installed per served group-version (`/api/v1/...`, `/apis/<g>/<v>/...`); paths
//! under an unknown group fall through to the server's not-found handler, as in kube. Within a
//! group-version one catch-all route resolves the rest of the path with [`RequestInfo`] (from the
//! request-info filter, or computed here) and dispatches on its verb: the verb, not the presence
//! of a name, tells a list from a get. The path shapes are kube's installer's: namespaced
//! resources under `namespaces/{ns}/<res>[/{name}[/<sub>]]` plus the all-namespaces `<res>`
//! list and watch; cluster-scoped resources at `<res>[/{name}[/<sub>]]`; the `watch/` prefix on
//! both.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use super::methods::{any_method, get_only};
use http::{HeaderMap, Uri};

use crate::api::ApiError;
use crate::auth::{Admit, UserInfo};
use crate::endpoints::Installer;
use crate::endpoints::discovery::{self, Discovery};
use crate::endpoints::handlers::{self, HandlerConfig, Scope};
use crate::endpoints::query::QueryParams;
use crate::endpoints::request_info::RequestInfo;
use crate::endpoints::warnings::{Warnings, write_headers};
use crate::registry::{RequestContext, Rest, Verb};

/// One served group-version: its storage map and what every handler needs.
struct GroupVersion {
    resources: BTreeMap<String, Arc<dyn Rest>>,
    admission: Arc<dyn Admit>,
    config: Arc<HandlerConfig>,
}

/// Builds the router for everything `installer` holds.
pub(crate) fn build_router(installer: Installer) -> Router {
    let Installer {
        admission,
        legacy,
        groups,
        config,
    } = installer;
    let config = Arc::new(config);
    let discovery = Arc::new(Discovery::new(&legacy, &groups));
    let mut router = Router::new();

    if !legacy.is_empty() {
        let docs = discovery.clone();
        router = router.route(
            "/api",
            get_only(move |uri: Uri, headers: HeaderMap| async move {
                discovery::serve::api(&docs, &uri, &headers)
            }),
        );
    }
    let docs = discovery.clone();
    router = router.route(
        "/apis",
        any_method(
            move |headers: HeaderMap| async move { discovery::serve::apis(&docs, &headers) },
        ),
    );
    for group in &groups {
        if let Some(doc) = discovery.groups.get(&group.group).cloned() {
            router = router.route(
                &format!("/apis/{}", group.group),
                any_method(move |headers: HeaderMap| async move {
                    discovery::serve::document(&headers, &doc)
                }),
            );
        }
    }

    let served = legacy
        .into_iter()
        .map(|g| ("/api", g))
        .chain(groups.into_iter().map(|g| ("/apis", g)));
    for (prefix, group) in served {
        for version in group.versions {
            let gv = discovery::group_version(&group.group, &version.version);
            let base = format!("{prefix}/{gv}");
            let doc = discovery
                .resource_lists
                .get(&gv)
                .cloned()
                .unwrap_or_default();
            let state = Arc::new(GroupVersion {
                resources: version.resources,
                admission: admission.clone(),
                config: config.clone(),
            });
            router = router
                .route(
                    &base,
                    get_only(move |headers: HeaderMap| async move {
                        discovery::serve::document(&headers, &doc)
                    }),
                )
                .route(
                    &format!("{base}/{{*path}}"),
                    any(move |req: Request| serve(state.clone(), req)),
                );
        }
    }
    router
}

async fn serve(state: Arc<GroupVersion>, req: Request) -> Response {
    let warnings = Warnings::default();
    let mut response = match dispatch(&state, req, &warnings).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    write_headers(&warnings, response.headers_mut());
    response
}

/// Resolves the request to a resource and scope, checks the verb, and runs its handler.
async fn dispatch(
    state: &GroupVersion,
    req: Request,
    warnings: &Warnings,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let info = parts
        .extensions
        .get::<RequestInfo>()
        .cloned()
        .unwrap_or_else(|| RequestInfo::parse(&parts.method, parts.uri.path(), parts.uri.query()));
    if !info.is_resource_request {
        return Err(ApiError::NotFoundPath);
    }
    let key = if info.subresource.is_empty() {
        info.resource.clone()
    } else {
        format!("{}/{}", info.resource, info.subresource)
    };
    // Nothing routes below a subresource (connect subresources with sub-paths are not served).
    if info.parts.len() > 3 {
        return Err(ApiError::NotFoundPath);
    }
    let rest = state
        .resources
        .get(&key)
        .cloned()
        .ok_or(ApiError::NotFoundPath)?;
    // `parts` is `[resource, name, subresource…]` after the namespace: a second segment is a name
    // in the path, whatever the verb.
    let name = info.parts.get(1).filter(|n| !n.is_empty()).cloned();
    // RequestInfo has no verb for methods kube does not route (OPTIONS); name the method instead.
    let verb = if info.verb.is_empty() {
        parts.method.as_str().to_ascii_lowercase()
    } else {
        info.verb.clone()
    };
    let namespace = resolve_namespace(rest.as_ref(), &info, &verb, name.is_some())?;
    // kube installs no item path for a resource without item verbs (the create-only reviews),
    // so a request for one is 404 whatever its method, not 405.
    // Likewise the `watch/` paths exist only for resources that watch.
    let item_verbs = [
        Verb::Get,
        Verb::Update,
        Verb::Patch,
        Verb::Delete,
        Verb::Watch,
    ];
    let no_item_path = name.is_some()
        && info.subresource.is_empty()
        && !item_verbs.iter().any(|v| rest.verbs().contains(v));
    if no_item_path || (is_watch_path(&info) && !rest.verbs().contains(&Verb::Watch)) {
        return Err(ApiError::NotFoundPath);
    }
    // kube's resource routes register no HEAD (RequestInfo still calls it a get).
    if parts.method == http::Method::HEAD {
        return Err(ApiError::MethodNotAllowed);
    }
    let required = required_verb(&verb, name.is_some(), !info.subresource.is_empty())?;
    if !rest.verbs().contains(&required) {
        // kube routes `?watch` through the list route, whose handler refuses a resource that
        // cannot watch by name; every other missing verb has no route at all.
        return Err(
            if required == Verb::Watch && rest.verbs().contains(&Verb::List) {
                rest.unsupported(&verb)
            } else {
                ApiError::MethodNotAllowed
            },
        );
    }
    let user = parts
        .extensions
        .get::<UserInfo>()
        .cloned()
        .unwrap_or_else(UserInfo::anonymous);
    let scope = Scope {
        ctx: RequestContext {
            namespace,
            user,
            admission: state.admission.clone(),
            warnings: warnings.clone(),
        },
        rest,
        info,
        name,
        query: QueryParams::parse(parts.uri.query()),
        headers: parts.headers,
        config: state.config.clone(),
    };
    run(&scope, required, body).await
}

/// Whether the path is one of the deprecated `.../<version>/watch/...` forms.
fn is_watch_path(info: &RequestInfo) -> bool {
    let base = if info.api_group.is_empty() {
        format!("/{}/{}/", info.api_prefix, info.api_version)
    } else {
        format!(
            "/{}/{}/{}/",
            info.api_prefix, info.api_group, info.api_version
        )
    };
    info.path
        .strip_prefix(&base)
        .is_some_and(|rest| rest.starts_with("watch/"))
}

/// The namespace of the request, per the resource's scope. A namespaced object needs one in the
/// path (only list and watch span namespaces); a cluster-scoped resource under `namespaces/{ns}/`
/// is not a path kube serves.
fn resolve_namespace(
    rest: &dyn Rest,
    info: &RequestInfo,
    verb: &str,
    has_name: bool,
) -> Result<Option<String>, ApiError> {
    if rest.descriptor().namespaced {
        if !info.namespace.is_empty() {
            return Ok(Some(info.namespace.clone()));
        }
        if has_name {
            return Err(ApiError::NotFoundPath);
        }
        return match verb {
            "list" | "watch" => Ok(None),
            // The all-namespaces path only lists and watches.
            _ => Err(ApiError::MethodNotAllowed),
        };
    }
    // RequestInfo reports `namespaces/{name}` itself with namespace = name; anything else with a
    // namespace came through the `namespaces/{ns}/` prefix.
    let is_namespace_object =
        info.resource == "namespaces" && info.parts.first().is_some_and(|p| p == "namespaces");
    if !info.namespace.is_empty() && !is_namespace_object {
        return Err(ApiError::NotFoundPath);
    }
    Ok(None)
}

/// The verb to check against [`Rest::verbs`], refusing verbs on the wrong path shape with 405 as
/// kube's router does (a PUT on a collection, a POST on an item without a subresource).
fn required_verb(verb: &str, has_name: bool, is_subresource: bool) -> Result<Verb, ApiError> {
    let required = match (verb, has_name) {
        ("get", true) => Verb::Get,
        ("list", false) => Verb::List,
        ("watch", _) => Verb::Watch,
        ("create", false) => Verb::Create,
        ("create", true) if is_subresource => Verb::Create,
        ("update", true) => Verb::Update,
        ("patch", true) => Verb::Patch,
        ("delete", true) => Verb::Delete,
        ("deletecollection", false) => Verb::DeleteCollection,
        _ => return Err(ApiError::MethodNotAllowed),
    };
    Ok(required)
}

async fn run(scope: &Scope, verb: Verb, body: Body) -> Result<Response, ApiError> {
    if scope.rest.is_connect() {
        return handlers::connect::connect(scope).await;
    }
    match verb {
        Verb::Get => handlers::get::get(scope).await,
        Verb::List => handlers::list::list(scope).await,
        Verb::Watch => handlers::watch::watch(scope).await,
        Verb::Create => handlers::create::create(scope, body).await,
        Verb::Update => handlers::update::update(scope, body).await,
        Verb::Patch => handlers::patch::patch(scope, body).await,
        Verb::Delete => handlers::delete::delete(scope, body).await,
        Verb::DeleteCollection => handlers::delete::delete_collection(scope, body).await,
    }
}
