//! Answering discovery requests: which form to write (aggregated or legacy, as kube's discovery
//! wrapper decides from `Accept`), and HTTP caching.
//!
//! Every document carries `ETag`, `Vary: Accept` and `Cache-Control: public`, and a matching
//! `If-None-Match` gets 304 without a body (kube's `ServeHTTPWithETag`): kube-aggregator polls
//! `/apis` every minute with the ETag it holds, and kubectl caches discovery on disk.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};

use super::aggregated::AggregatedDocument;
use super::negotiation::negotiate_aggregated_discovery;
use super::{Discovery, Document, api_versions};
use crate::endpoints::negotiation::{Restrictions, negotiate_output};

/// `GET /api`: the core group as an aggregated list when asked, else APIVersions with the
/// address the client used (its `Host`, or the `:authority` of an HTTP/2 request).
pub fn api(docs: &Discovery, uri: &Uri, headers: &HeaderMap) -> Response {
    root(headers, &docs.legacy_aggregated, || {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .unwrap_or("");
        Document::new(&api_versions(&docs.legacy_versions, host))
    })
}

/// `GET /apis`: every named group as an aggregated list when asked, else the APIGroupList.
pub fn apis(docs: &Discovery, headers: &HeaderMap) -> Response {
    root(headers, &docs.aggregated, || docs.group_list.clone())
}

/// The aggregated document in the negotiated version, with that version's exact Content-Type;
/// otherwise the legacy document `legacy` builds (or 406 when Accept allows neither).
fn root(
    headers: &HeaderMap,
    aggregated: &AggregatedDocument,
    legacy: impl FnOnce() -> Document,
) -> Response {
    match negotiate_aggregated_discovery(accept(headers)) {
        Some(version) => cached(
            headers,
            &aggregated.etag,
            version.content_type(),
            aggregated.body(version),
        ),
        None => document(headers, &legacy()),
    }
}

/// A legacy document as JSON, if the client accepts JSON without a conversion.
pub fn document(headers: &HeaderMap, doc: &Document) -> Response {
    match negotiate_output(accept(headers), Restrictions::DISCOVERY) {
        Ok(_) => cached(headers, &doc.etag, "application/json", doc.body.clone()),
        Err(err) => err.into_response(),
    }
}

/// 200 with `body`, or 304 when the client holds `etag` already; both with the caching headers.
fn cached(headers: &HeaderMap, etag: &str, content_type: &'static str, body: Bytes) -> Response {
    let mut response = if holds(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let out = response.headers_mut();
    // An ETag is quoted hex, always a valid header value; without one the answer is still right.
    if let Ok(value) = HeaderValue::from_str(etag) {
        out.insert(header::ETAG, value);
    }
    out.insert(header::VARY, HeaderValue::from_static("Accept"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
    response
}

/// Whether `If-None-Match` names `etag` (or is `*`). kube compares the whole header with the
/// quoted ETag; a list of tags or a weak `W/` tag, which RFC 9110 allows, matches here too.
fn holds(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn if_none_match_forms() {
        let etag = "\"ABC\"";
        assert!(holds(&headers(&[("if-none-match", "\"ABC\"")]), etag));
        assert!(holds(&headers(&[("if-none-match", "W/\"ABC\"")]), etag));
        assert!(holds(
            &headers(&[("if-none-match", "\"X\", \"ABC\"")]),
            etag
        ));
        assert!(holds(&headers(&[("if-none-match", "*")]), etag));
        assert!(!holds(&headers(&[("if-none-match", "ABC")]), etag));
        assert!(!holds(&headers(&[("if-none-match", "\"ABCD\"")]), etag));
        assert!(!holds(&headers(&[]), etag));
    }

    #[test]
    fn cached_answers_carry_the_caching_headers() {
        let response = cached(
            &headers(&[]),
            "\"E\"",
            "application/json",
            Bytes::from_static(b"{}"),
        );
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h[header::ETAG], "\"E\"");
        assert_eq!(h[header::VARY], "Accept");
        assert_eq!(h[header::CACHE_CONTROL], "public");
        assert_eq!(h[header::CONTENT_TYPE], "application/json");

        let response = cached(
            &headers(&[("if-none-match", "\"E\"")]),
            "\"E\"",
            "application/json",
            Bytes::from_static(b"{}"),
        );
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::ETAG], "\"E\"");
        assert!(response.headers().get(header::CONTENT_TYPE).is_none());
    }
}
