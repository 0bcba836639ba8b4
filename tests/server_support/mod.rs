//! Starting a real `GenericApiServer` on 127.0.0.1:0 with a stub API router, and real TLS
//! clients (kube::Client) for the admin, another user, and anonymous callers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::RawQuery;
use axum::routing;
use capstan::server::certs::{CertificateAuthority, KeyedCert};
use capstan::server::config::Config;
use capstan::server::kubeconfig::kubeconfig_yaml;
use capstan::server::{GenericApiServer, PreparedServer};
use http_body_util::BodyExt;
use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};
use tokio::sync::{Notify, oneshot};

/// Knobs the stub routes share with the test.
#[derive(Clone, Default)]
pub struct Stub {
    /// `/api/v1/blocked` waits for this.
    pub release: Arc<Notify>,
}

/// A stand-in for the endpoints' router: `/api`, a pod collection that echoes body sizes and
/// streams on `?watch=1`, a slow path and a blocking path.
pub fn stub_api(stub: &Stub) -> Router {
    let release = stub.release.clone();
    Router::new()
        .route(
            "/api",
            routing::get(|| async { r#"{"kind":"APIVersions","versions":["v1"]}"# }),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods",
            routing::get(list_or_watch).post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/api/v1/slow",
            routing::get(|RawQuery(q): RawQuery| async move {
                let millis = q
                    .and_then(|q| q.strip_prefix("ms=").map(str::to_string))
                    .and_then(|m| m.parse().ok());
                tokio::time::sleep(Duration::from_millis(millis.unwrap_or(5_000))).await;
                "slept"
            }),
        )
        .route(
            "/api/v1/blocked",
            routing::get(move || {
                let release = release.clone();
                async move {
                    release.notified().await;
                    "released"
                }
            }),
        )
}

async fn list_or_watch(RawQuery(query): RawQuery) -> Body {
    if query.as_deref().is_some_and(|q| q.contains("watch=1")) {
        let events = futures::stream::unfold(0u64, |n| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((
                Ok::<_, std::convert::Infallible>(Bytes::from(format!("{{\"n\":{n}}}\n"))),
                n + 1,
            ))
        });
        Body::from_stream(events)
    } else {
        Body::from(r#"{"kind":"PodList","items":[]}"#)
    }
}

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    pub data_dir: tempfile::TempDir,
    pub stub: Stub,
    stop: Option<oneshot::Sender<()>>,
    pub done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The default test configuration: a temporary data dir and port 0.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    config.serving.secure_port = 0;
    config
}

impl TestServer {
    /// Starts a server; `adjust` may change the config and add checks or hooks.
    pub async fn start(
        adjust: impl FnOnce(&mut Config),
        customize: impl FnOnce(&mut GenericApiServer),
    ) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if std::env::var_os("RUST_LOG").is_some() {
            capstan::observability::init_logging();
        }
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = test_config(data_dir.path());
        adjust(&mut config);
        let completed = tokio::task::spawn_blocking(move || config.complete())
            .await
            .unwrap()
            .unwrap();
        let stub = Stub::default();
        let mut server = GenericApiServer::new(completed, stub_api(&stub));
        server.add_index_paths(["/api".to_string()]);
        customize(&mut server);
        let prepared: PreparedServer = server.bind().await.unwrap();
        let addr = prepared.local_addr();
        let kubeconfig = prepared.kubeconfig_path().to_path_buf();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(prepared.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            kubeconfig,
            data_dir,
            stub,
            stop: Some(stop),
            done: Some(done),
        }
    }

    /// Sends the shutdown signal (as SIGTERM would).
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// The generated CA.
    pub fn ca(&self) -> CertificateAuthority {
        CertificateAuthority::load(&self.data_dir.path().join("pki")).unwrap()
    }

    /// A client with the admin kubeconfig Capstan wrote.
    pub async fn admin(&self) -> kube::Client {
        client(Kubeconfig::read_from(&self.kubeconfig).unwrap()).await
    }

    /// A client authenticating with a fresh certificate for `name` in group `group`.
    pub async fn user(&self, name: &str, group: &str) -> kube::Client {
        let ca = self.ca();
        let cert = ca.issue_client_cert(name, Some(group)).unwrap();
        self.with_cert(&cert).await
    }

    /// A client presenting `cert`.
    pub async fn with_cert(&self, cert: &KeyedCert) -> kube::Client {
        let yaml = kubeconfig_yaml(
            &format!("https://{}", self.addr),
            Some(self.ca().cert_pem()),
            cert,
        )
        .unwrap();
        client(Kubeconfig::from_yaml(&yaml).unwrap()).await
    }

    /// A client trusting the CA but presenting no certificate.
    pub async fn anonymous(&self) -> kube::Client {
        let mut kubeconfig = Kubeconfig::read_from(&self.kubeconfig).unwrap();
        kubeconfig.auth_infos[0].auth_info = Some(AuthInfo::default());
        client(kubeconfig).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.signal_shutdown();
    }
}

async fn client(kubeconfig: Kubeconfig) -> kube::Client {
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap();
    // The tests look at 429 and 504 answers themselves; kube would retry them.
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

/// A response's status, headers and body text.
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON (a Status, usually).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends a request and reads the whole answer.
pub async fn send(client: &kube::Client, request: http::Request<Vec<u8>>) -> Reply {
    let response = client
        .send(request.map(kube::client::Body::from))
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// `GET path`.
pub async fn get(client: &kube::Client, path: &str) -> Reply {
    send(client, http::Request::get(path).body(Vec::new()).unwrap()).await
}
