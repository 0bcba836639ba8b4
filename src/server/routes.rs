//! Non-API routes: the `/` index, `/version`, and kube's plain-text 404 for anything unserved
//! (the health endpoints are in [`super::health`]).

use crate::endpoints::methods::{any_method, get_only};
use axum::Router;
use axum::response::Response;
use bytes::Bytes;
use http::{StatusCode, header};
use k8s_openapi::apimachinery::pkg::version::Info;

use super::health::text;

/// The Kubernetes minor version Capstan speaks (k8s-openapi's `v1_37` types).
pub const KUBE_MINOR: &str = "37";

/// `/version`: the Kubernetes version Capstan implements, with Capstan's own version as the
/// build metadata (`v1.37.0-capstan+0.1.0`), so `kubectl version` reads sensibly.
///
/// ```
/// let info = capstan::server::routes::version_info();
/// assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "37"));
/// assert!(info.git_version.starts_with("v1.37.0-capstan+"));
/// ```
pub fn version_info() -> Info {
    Info {
        major: "1".into(),
        minor: KUBE_MINOR.into(),
        git_version: format!("v1.{KUBE_MINOR}.0-capstan+{}", env!("CARGO_PKG_VERSION")),
        git_commit: option_env!("CAPSTAN_GIT_COMMIT")
            .unwrap_or("unknown")
            .into(),
        git_tree_state: option_env!("CAPSTAN_GIT_TREE_STATE")
            .unwrap_or("unknown")
            .into(),
        build_date: option_env!("CAPSTAN_BUILD_DATE")
            .unwrap_or("1970-01-01T00:00:00Z")
            .into(),
        go_version: "none (Rust)".into(),
        compiler: "rustc".into(),
        platform: format!("{}/{}", std::env::consts::OS, go_arch()),
        ..Default::default()
    }
}

/// Go's names for the CPU architectures, as kubectl prints them.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// `/` (and `/index.html`): every served path, sorted, as kube's index (`{"paths": [...]}`).
/// `/version` is always listed.
pub fn index_and_version(mut paths: Vec<String>) -> Router {
    paths.extend(["/".to_string(), "/version".to_string()]);
    paths.sort();
    paths.dedup();
    let index = pretty_json(&serde_json::json!({ "paths": paths }));
    let version = pretty_json(&version_info());
    let serve = |body: Bytes| {
        move || std::future::ready(([(header::CONTENT_TYPE, "application/json")], body.clone()))
    };
    Router::new()
        .route("/", any_method(serve(index.clone())))
        .route("/index.html", any_method(serve(index)))
        .route("/version", get_only(serve(version)))
}

/// kube writes these with two-space indentation (`WriteRawJSON`). Plain maps and strings always
/// serialize; the fallback only avoids a panic path.
fn pretty_json<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec()))
}

/// Go's `http.NotFound`, which kube answers for any path nothing serves.
pub async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "404 page not found\n".to_string())
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn get_json(router: Router, uri: &str) -> serde_json::Value {
        let res = router
            .oneshot(
                http::Request::get(uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
    }

    #[tokio::test]
    async fn index_lists_sorted_unique_paths() {
        let router = index_and_version(vec![
            "/readyz".into(),
            "/api".into(),
            "/healthz/ping".into(),
            "/api".into(),
        ]);
        let body = get_json(router, "/").await;
        assert_eq!(
            body,
            serde_json::json!({"paths": ["/", "/api", "/healthz/ping", "/readyz", "/version"]})
        );
    }

    #[tokio::test]
    async fn version_is_kube_shaped() {
        let body = get_json(index_and_version(vec![]), "/version").await;
        assert_eq!(body["major"], "1");
        assert_eq!(body["minor"], "37");
        assert_eq!(
            body["gitVersion"],
            format!("v1.37.0-capstan+{}", env!("CARGO_PKG_VERSION"))
        );
        assert!(body["platform"].as_str().unwrap().contains('/'));
        let info: Info = serde_json::from_value(body).unwrap();
        assert_eq!(info, version_info());
    }

    #[tokio::test]
    async fn not_found_is_kubes_plain_text() {
        let res = not_found().await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"404 page not found\n");
    }
}
