//! `/healthz`, `/livez` and `/readyz`: named checks, `?verbose`, `?exclude=`, and one sub-path
//! per check, with kube's exact texts (aggregation-contract.md §7.2) so probes and humans read
//! them the same way.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::future::{BoxFuture, join_all};
use http::{HeaderValue, StatusCode, header};

/// A named health check: an async function that fails with a reason (logged, never shown to
/// callers of the root endpoint, which may be anonymous).
#[derive(Clone)]
pub struct HealthCheck {
    name: String,
    check: Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>,
}

impl HealthCheck {
    /// A check named `name` (`etcd`, `poststarthook/x`, …) running `check` on every probe.
    ///
    /// ```
    /// use capstan::server::health::HealthCheck;
    /// let check = HealthCheck::new("etcd", || async { anyhow::Ok(()) });
    /// assert_eq!(check.name(), "etcd");
    /// ```
    pub fn new<F, Fut>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name: name.into(),
            check: Arc::new(move || Box::pin(check())),
        }
    }

    /// kube's `ping`: succeeds while the server answers at all.
    pub fn ping() -> Self {
        Self::new("ping", || async { Ok(()) })
    }

    /// kube's `log`: logging is never blocked in Capstan (tracing writes without a flush loop),
    /// so this succeeds; it is listed because monitoring expects the name.
    pub fn log() -> Self {
        Self::new("log", || async { Ok(()) })
    }

    /// The check's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the check once.
    pub async fn run(&self) -> anyhow::Result<()> {
        (self.check)().await
    }
}

/// One health endpoint (`healthz`, `livez` or `readyz`) and its checks, in output order.
#[derive(Clone)]
pub struct HealthEndpoint {
    name: &'static str,
    checks: Arc<[HealthCheck]>,
}

impl HealthEndpoint {
    /// `name` without the slash.
    pub fn new(name: &'static str, checks: Vec<HealthCheck>) -> Self {
        Self {
            name,
            checks: checks.into(),
        }
    }

    /// `/<name>` and `/<name>/<check>` for each check, for the `/` index.
    pub fn paths(&self) -> Vec<String> {
        let root = format!("/{}", self.name);
        let mut paths = vec![root.clone()];
        paths.extend(self.checks.iter().map(|c| format!("{root}/{}", c.name)));
        paths
    }

    /// The routes serving this endpoint (any method, as kube's mux).
    pub fn router(self) -> Router {
        let root = format!("/{}", self.name);
        Router::new()
            .route(&root, any(root_handler))
            .route(&format!("{root}/{{*check}}"), any(check_handler))
            .with_state(self)
    }
}

async fn root_handler(
    State(endpoint): State<HealthEndpoint>,
    RawQuery(query): RawQuery,
) -> Response {
    let params: Vec<(String, String)> = query
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let verbose = params.iter().any(|(k, _)| k == "verbose");
    let mut excluded: BTreeSet<&str> = params
        .iter()
        .filter(|(k, _)| k == "exclude")
        .map(|(_, v)| v.as_str())
        .collect();

    let to_run: Vec<&HealthCheck> = endpoint
        .checks
        .iter()
        .filter(|c| !excluded.contains(c.name()))
        .collect();
    let results = join_all(to_run.iter().map(|c| c.run())).await;
    let mut results = to_run.iter().map(|c| c.name()).zip(results);

    let mut output = String::new();
    let mut failed = Vec::new();
    for check in endpoint.checks.iter() {
        if excluded.remove(check.name()) {
            output.push_str(&format!("[+]{} excluded: ok\n", check.name()));
            continue;
        }
        match results.next() {
            Some((_, Err(err))) => {
                output.push_str(&format!("[-]{} failed: reason withheld\n", check.name()));
                failed.push(format!("[-]{} failed: {err:#}", check.name()));
            }
            _ => output.push_str(&format!("[+]{} ok\n", check.name())),
        }
    }
    if !excluded.is_empty() {
        let names: Vec<String> = excluded.iter().map(|n| format!("{n:?}")).collect();
        output.push_str(&format!(
            "warn: some health checks cannot be excluded: no matches for {}\n",
            names.join(",")
        ));
    }
    if !failed.is_empty() {
        tracing::info!(endpoint = endpoint.name, checks = %failed.join("; "), "health check failed");
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{output}{} check failed\n", endpoint.name),
        );
    }
    if !verbose {
        return text(StatusCode::OK, "ok".to_string());
    }
    text(
        StatusCode::OK,
        format!("{output}{} check passed\n", endpoint.name),
    )
}

async fn check_handler(
    State(endpoint): State<HealthEndpoint>,
    Path(name): Path<String>,
) -> Response {
    let Some(check) = endpoint.checks.iter().find(|c| c.name() == name) else {
        return super::routes::not_found().await;
    };
    match check.run().await {
        Ok(()) => text(StatusCode::OK, "ok".to_string()),
        Err(err) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal server error: {err:#}\n"),
        ),
    }
}

/// A plain-text answer with the headers Go's `http.Error` sets.
pub(crate) fn text(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    fn readyz(etcd_up: Arc<AtomicBool>) -> Router {
        let etcd = HealthCheck::new("etcd", move || {
            let up = etcd_up.load(Ordering::SeqCst);
            async move {
                if up {
                    Ok(())
                } else {
                    Err(anyhow::anyhow!("etcd is down"))
                }
            }
        });
        HealthEndpoint::new(
            "readyz",
            vec![HealthCheck::ping(), HealthCheck::log(), etcd],
        )
        .router()
    }

    async fn get(router: Router, uri: &str) -> (u16, String, http::HeaderMap) {
        let res = router
            .oneshot(
                http::Request::get(uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let (parts, body) = res.into_parts();
        let body = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
        (parts.status.as_u16(), body, parts.headers)
    }

    #[tokio::test]
    async fn healthy_is_ok_or_verbose_lines() {
        let up = Arc::new(AtomicBool::new(true));
        let (status, body, headers) = get(readyz(up.clone()), "/readyz").await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let (_, body, _) = get(readyz(up), "/readyz?verbose").await;
        assert_eq!(
            body,
            "[+]ping ok\n[+]log ok\n[+]etcd ok\nreadyz check passed\n"
        );
    }

    #[tokio::test]
    async fn failures_withhold_the_reason_and_exclude_skips() {
        let down = Arc::new(AtomicBool::new(false));
        let (status, body, headers) = get(readyz(down.clone()), "/readyz").await;
        assert_eq!(status, 500);
        assert_eq!(
            body,
            "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");

        let (status, body, _) = get(
            readyz(down.clone()),
            "/readyz?exclude=etcd&exclude=nope&verbose",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            "[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\nwarn: some health checks cannot be excluded: no matches for \"nope\"\nreadyz check passed\n"
        );
    }

    #[tokio::test]
    async fn each_check_has_its_own_path() {
        let down = Arc::new(AtomicBool::new(false));
        assert_eq!(get(readyz(down.clone()), "/readyz/ping").await.1, "ok");
        let (status, body, _) = get(readyz(down.clone()), "/readyz/etcd").await;
        assert_eq!(
            (status, body.as_str()),
            (500, "internal server error: etcd is down\n")
        );
        let (status, body, _) = get(readyz(down), "/readyz/nope").await;
        assert_eq!((status, body.as_str()), (404, "404 page not found\n"));
    }

    #[tokio::test]
    async fn checks_with_slashes_are_served() {
        let hook = HealthCheck::new("poststarthook/start-x", || async { Ok(()) });
        let router = HealthEndpoint::new("livez", vec![hook]).router();
        assert_eq!(get(router, "/livez/poststarthook/start-x").await.0, 200);
        let endpoint = HealthEndpoint::new("livez", vec![HealthCheck::ping()]);
        assert_eq!(endpoint.paths(), ["/livez", "/livez/ping"]);
    }
}
