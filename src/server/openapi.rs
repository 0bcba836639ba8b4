//! `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<gv>`: serves the precomputed
//! [`OpenApiDocs`] with kube-openapi's caching headers.
//!
//! Every response carries a quoted ETag (the SHA-512 hex of the JSON) and `Vary: Accept`; a
//! matching `If-None-Match` is answered 304, which is how the aggregator and kubectl's disk cache
//! avoid re-downloading. A per-group-version document asked for with `?hash=` equal to its ETag is
//! immutable, so it is marked cacheable for a year. A stale hash gets the current document
//! without those headers: kube redirects instead, but the aggregator rejects redirects from an
//! aggregated server (aggregation-contract.md §3.15–3.16). `/openapi/v2` is also served in
//! protobuf (gnostic's message, which client-go's `OpenAPISchema()` asks for); the v3 documents
//! are JSON only, and a client accepting nothing we serve gets 406.

use std::sync::Arc;

use crate::endpoints::methods::any_method;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use jiff::fmt::rfc2822::DateTimePrinter;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::api::openapi::{OpenApiDocs, OpenApiDocument};

/// What the handlers share: the documents and when they were built (their Last-Modified).
#[derive(Clone)]
struct Served {
    docs: Arc<OpenApiDocs>,
    last_modified: Timestamp,
}

/// The OpenAPI routes, to merge into the server's non-API router.
///
/// ```
/// # use std::sync::Arc;
/// use capstan::api::openapi::OpenApiDocs;
/// use capstan::api::schema::SchemaModelBuilder;
/// let model = SchemaModelBuilder::with_core_kinds().build();
/// let docs = OpenApiDocs::build(&model, &[]).unwrap();
/// let router: axum::Router = capstan::server::openapi::openapi_router(Arc::new(docs));
/// ```
pub fn openapi_router(docs: Arc<OpenApiDocs>) -> Router {
    let served = Served {
        docs,
        last_modified: Timestamp::now(),
    };
    Router::new()
        .route("/openapi/v2", any_method(v2))
        .route("/openapi/v3", any_method(v3_index))
        .route("/openapi/v3/{*gv}", any_method(v3_group_version))
        .with_state(served)
}

/// The protobuf media type kube-openapi answers with, and the older spelling it also accepts.
const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
const V2_PROTOBUF_DEPRECATED: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// JSON, or gnostic's protobuf form, whichever `Accept` prefers (JSON for `*/*`), as
/// kube-openapi's handler chooses.
async fn v2(State(served): State<Served>, headers: HeaderMap) -> Response {
    let offered = ["application/json", V2_PROTOBUF_DEPRECATED, V2_PROTOBUF];
    match negotiate(headers.get(header::ACCEPT), &offered) {
        Some(0) => respond(
            &served,
            served.docs.v2(),
            &headers,
            false,
            "application/json",
        ),
        Some(_) => respond(
            &served,
            served.docs.v2_protobuf(),
            &headers,
            false,
            V2_PROTOBUF,
        ),
        None => not_acceptable(),
    }
}

async fn v3_index(State(served): State<Served>, headers: HeaderMap) -> Response {
    respond_json(&served, served.docs.v3_index(), &headers, false)
}

#[derive(Deserialize)]
struct HashQuery {
    hash: Option<String>,
}

async fn v3_group_version(
    State(served): State<Served>,
    Path(gv): Path<String>,
    Query(query): Query<HashQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(doc) = served.docs.v3(gv.trim_end_matches('/')) else {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    };
    let immutable = query.hash.as_deref() == Some(doc.etag());
    respond_json(&served, doc, &headers, immutable)
}

/// A v3 document, which is served as JSON only.
fn respond_json(
    served: &Served,
    doc: &OpenApiDocument,
    request: &HeaderMap,
    immutable: bool,
) -> Response {
    match negotiate(request.get(header::ACCEPT), &["application/json"]) {
        Some(_) => respond(served, doc, request, immutable, "application/json"),
        None => not_acceptable(),
    }
}

fn not_acceptable() -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    (StatusCode::NOT_ACCEPTABLE, headers).into_response()
}

fn respond(
    served: &Served,
    doc: &OpenApiDocument,
    request: &HeaderMap,
    immutable: bool,
    content_type: &'static str,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    let etag = format!("\"{}\"", doc.etag());
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if let Some(date) = http_date(served.last_modified) {
        headers.insert(header::LAST_MODIFIED, date);
    }
    if immutable {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, immutable"),
        );
        let year_ahead = Timestamp::now().checked_add(SignedDuration::from_hours(365 * 24));
        if let Some(date) = year_ahead.ok().and_then(http_date) {
            headers.insert(header::EXPIRES, date);
        }
    }
    if none_match(request, &etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, headers, doc.json().clone()).into_response()
}

/// An HTTP date (`Thu, 01 Jan 1970 00:00:01 GMT`).
fn http_date(at: Timestamp) -> Option<HeaderValue> {
    let text = DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&at)
        .ok()?;
    HeaderValue::from_str(&text).ok()
}

/// Whether `If-None-Match` lists `etag` (weak or strong) or `*`.
fn none_match(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// Which of `offered` (`type/subtype`, in the server's order of preference) to answer with, as
/// kube-openapi's handler picks: `Accept` clauses by quality, more specific first among equals
/// (goautoneg's order); for the first clause that matches any offer, the first offer it matches.
/// A missing or empty header is `*/*`; `None` when nothing matches (406).
fn negotiate(accept: Option<&HeaderValue>, offered: &[&str]) -> Option<usize> {
    let text = accept
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or("*/*");
    let mut clauses: Vec<(f32, &str, &str)> = text
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';');
            let media = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let (ty, sub) = media.split_once('/').unwrap_or((media, ""));
            Some((q, ty, sub))
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    clauses.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then((a.1 == "*").cmp(&(b.1 == "*")))
            .then((a.2 == "*").cmp(&(b.2 == "*")))
    });
    clauses.iter().find_map(|(_, ty, sub)| {
        offered.iter().position(|offer| {
            let (oty, osub) = offer.split_once('/').unwrap_or((offer, ""));
            (*ty == "*" || *ty == oty) && (*sub == "*" || *sub == osub)
        })
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::api::openapi::ServedResource;
    use crate::api::schema::SchemaModelBuilder;

    fn docs() -> Arc<OpenApiDocs> {
        let model = SchemaModelBuilder::with_core_kinds().build();
        let configmaps = ServedResource {
            group: String::new(),
            version: "v1".into(),
            plural: "configmaps".into(),
            kind: "ConfigMap".into(),
            namespaced: true,
            verbs: vec!["get".into(), "list".into(), "patch".into()],
            subresources: vec![],
        };
        Arc::new(OpenApiDocs::build(&model, &[configmaps]).unwrap())
    }

    async fn call(docs: &Arc<OpenApiDocs>, uri: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        openapi_router(docs.clone())
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn body(response: Response) -> bytes::Bytes {
        response.into_body().collect().await.unwrap().to_bytes()
    }

    fn header(response: &Response, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn v2_is_json_with_a_quoted_etag_and_304_on_match() {
        let docs = docs();
        let response = call(&docs, "/openapi/v2", &[("accept", "application/json")]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, header::CONTENT_TYPE),
            Some("application/json")
        );
        assert_eq!(header(&response, header::VARY), Some("Accept"));
        let etag = format!("\"{}\"", docs.v2().etag());
        assert_eq!(header(&response, header::ETAG), Some(etag.as_str()));
        assert!(
            header(&response, header::LAST_MODIFIED)
                .unwrap()
                .ends_with(" GMT")
        );
        assert!(header(&response, header::CACHE_CONTROL).is_none());
        assert_eq!(&body(response).await, docs.v2().json());

        let cached = call(&docs, "/openapi/v2", &[("if-none-match", &etag)]).await;
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        assert!(body(cached).await.is_empty());
        let weak = format!("W/{etag}");
        let cached = call(&docs, "/openapi/v2", &[("if-none-match", &weak)]).await;
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        let stale = call(&docs, "/openapi/v2", &[("if-none-match", "\"0123\"")]).await;
        assert_eq!(stale.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn v2_speaks_protobuf_as_kube_openapi_does() {
        let docs = docs();
        for asked in [
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            "application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        ] {
            let response = call(&docs, "/openapi/v2", &[("accept", asked)]).await;
            assert_eq!(response.status(), StatusCode::OK, "{asked}");
            assert_eq!(
                header(&response, header::CONTENT_TYPE),
                Some("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            );
            let etag = format!("\"{}\"", docs.v2_protobuf().etag());
            assert_eq!(header(&response, header::ETAG), Some(etag.as_str()));
            assert_eq!(&body(response).await, docs.v2_protobuf().json());
        }
        // `*/*` and a JSON preference get JSON.
        for asked in ["*/*", "application/*", "application/json, */*;q=0.9"] {
            let response = call(&docs, "/openapi/v2", &[("accept", asked)]).await;
            assert_eq!(
                header(&response, header::CONTENT_TYPE),
                Some("application/json"),
                "{asked}"
            );
        }
        let response = call(&docs, "/openapi/v2", &[("accept", "text/html")]).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    }

    #[tokio::test]
    async fn v3_is_json_only() {
        let docs = docs();
        let proto = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf";
        let response = call(&docs, "/openapi/v3", &[("accept", proto)]).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
        let fallback = format!("{proto}, application/json;q=0.5");
        let response = call(&docs, "/openapi/v3", &[("accept", &fallback)]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let response = call(&docs, "/openapi/v3", &[("accept", "application/json;q=0")]).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
        let response = call(&docs, "/openapi/v3", &[("accept", "*/*")]).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn v3_hash_urls_are_immutable_and_stale_hashes_get_the_current_document() {
        let docs = docs();
        let index: serde_json::Value =
            serde_json::from_slice(&body(call(&docs, "/openapi/v3", &[]).await).await).unwrap();
        let url = index["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        let response = call(&docs, url, &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, header::CACHE_CONTROL),
            Some("public, immutable")
        );
        let expires = header(&response, header::EXPIRES).unwrap().to_string();
        let year = Timestamp::now()
            .checked_add(SignedDuration::from_hours(364 * 24))
            .unwrap();
        let expires = jiff::fmt::rfc2822::parse(&expires).unwrap().timestamp();
        assert!(expires > year, "{expires}");
        assert_eq!(&body(response).await, docs.v3("api/v1").unwrap().json());

        let stale = call(&docs, "/openapi/v3/api/v1?hash=ABC", &[]).await;
        assert_eq!(stale.status(), StatusCode::OK);
        assert!(header(&stale, header::CACHE_CONTROL).is_none());
        assert!(header(&stale, header::LOCATION).is_none());
        assert_eq!(&body(stale).await, docs.v3("api/v1").unwrap().json());

        let plain = call(&docs, "/openapi/v3/api/v1", &[]).await;
        assert!(header(&plain, header::CACHE_CONTROL).is_none());
        let etag = header(&plain, header::ETAG).unwrap().to_string();
        let cached = call(&docs, "/openapi/v3/api/v1", &[("if-none-match", &etag)]).await;
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn unknown_group_versions_are_not_found() {
        let docs = docs();
        let response = call(&docs, "/openapi/v3/apis/capstan.dev/v1", &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
