//! `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<gv>`: serves the precomputed
//! [`OpenApiDocs`] with kube-openapi's caching headers.
//!
//! Every response carries a quoted ETag (the SHA-512 hex of the JSON) and `Vary: Accept`; a
//! matching `If-None-Match` is answered 304, which is how the aggregator and kubectl's disk cache
//! avoid re-downloading. A per-group-version document asked for with `?hash=` equal to its ETag is
//! immutable, so it is marked cacheable for a year. A stale hash gets the current document
//! without those headers: kube redirects instead, but the aggregator rejects redirects from an
//! aggregated server (aggregation-contract.md §3.15–3.16). Only JSON is served; a client that
//! accepts nothing but protobuf gets 406.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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
        .route("/openapi/v2", get(v2))
        .route("/openapi/v3", get(v3_index))
        .route("/openapi/v3/{*gv}", get(v3_group_version))
        .with_state(served)
}

async fn v2(State(served): State<Served>, headers: HeaderMap) -> Response {
    respond(&served, served.docs.v2(), &headers, false)
}

async fn v3_index(State(served): State<Served>, headers: HeaderMap) -> Response {
    respond(&served, served.docs.v3_index(), &headers, false)
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
    respond(&served, doc, &headers, immutable)
}

fn respond(
    served: &Served,
    doc: &OpenApiDocument,
    request: &HeaderMap,
    immutable: bool,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if !accepts_json(request.get(header::ACCEPT)) {
        return (StatusCode::NOT_ACCEPTABLE, headers).into_response();
    }
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
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
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

/// Whether the best acceptable media type that we could serve is JSON: clauses are taken by
/// quality (ties in order); the first one naming `application/json`, `application/*` or `*/*`
/// wins. A missing or empty header accepts anything.
fn accepts_json(accept: Option<&HeaderValue>) -> bool {
    let Some(text) = accept
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.trim().is_empty())
    else {
        return true;
    };
    let mut clauses: Vec<(f32, &str)> = text
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';');
            let media = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, media))
        })
        .filter(|(q, _)| *q > 0.0)
        .collect();
    clauses.sort_by(|a, b| b.0.total_cmp(&a.0));
    clauses.iter().any(|(_, media)| {
        let (ty, sub) = media.split_once('/').unwrap_or((media, ""));
        (ty == "application" || ty == "*") && (sub == "json" || sub == "*")
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
    async fn protobuf_only_is_not_acceptable() {
        let docs = docs();
        let proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
        let response = call(&docs, "/openapi/v2", &[("accept", proto)]).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
        let fallback = format!("{proto}, application/json;q=0.5");
        let response = call(&docs, "/openapi/v2", &[("accept", &fallback)]).await;
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
