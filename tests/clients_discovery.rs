//! Discovery through the whole server (TLS, filter chain) with real clients: kubectl reads the
//! aggregated documents in two requests, and ETags answer 304 end to end.

mod support;

use http::header;
use http_body_util::BodyExt;
use support::capstan::Capstan;

/// kubectl 1.30+ asks `/api` and `/apis` for aggregated discovery; served, it needs no
/// per-group-version walk.
#[test]
fn kubectl_reads_aggregated_discovery_in_two_requests() {
    let c = Capstan::start();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = format!("--cache-dir={}", cache.path().display());
    let out = c.kubectl(&["api-resources", "-v=6", &cache_dir]);
    assert!(out.status.success(), "{out:?}");
    let log = String::from_utf8_lossy(&out.stderr);
    let gets: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("GET https://").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('/').map(|(_, path)| path))
        .map(|path| path.split(['?', ' ']).next().unwrap_or(path))
        .collect();
    assert_eq!(gets, ["api", "apis"], "{log}");
    let table = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.contains(&vec!["pods", "po", "v1", "true", "Pod"]),
        "{table}"
    );
    assert!(
        rows.contains(&vec!["namespaces", "ns", "v1", "false", "Namespace"]),
        "{table}"
    );
    assert!(
        rows.contains(&vec!["pods", "po", "capstan.dev/v1", "true", "Pod"]),
        "{table}"
    );
    // No short names: the row has four cells.
    assert!(
        rows.contains(&vec!["leases", "coordination.k8s.io/v1", "true", "Lease"]),
        "{table}"
    );
}

#[tokio::test]
async fn etags_answer_304_through_the_server() {
    let c = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    let client = c.client().await;
    let get = |path: &str, accept: &str, etag: Option<&str>| {
        let mut req = http::Request::get(path).header(header::ACCEPT, accept);
        if let Some(etag) = etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        req.body(Vec::new()).unwrap()
    };
    let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    for (path, accept) in [
        ("/apis", v2),
        ("/api", v2),
        ("/apis", "application/json"),
        ("/api/v1", "application/json"),
    ] {
        let resp = client
            .send(get(path, accept, None).map(kube::client::Body::from))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let headers = resp.headers().clone();
        if accept == v2 {
            assert_eq!(headers[header::CONTENT_TYPE], v2);
        }
        assert_eq!(headers[header::VARY], "Accept");
        let etag = headers[header::ETAG].to_str().unwrap().to_string();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(!body.is_empty());

        let resp = client
            .send(get(path, accept, Some(&etag)).map(kube::client::Body::from))
            .await
            .unwrap();
        assert_eq!(resp.status(), 304, "{path} {accept}");
        assert_eq!(resp.headers()[header::ETAG], etag.as_str());
    }
}
