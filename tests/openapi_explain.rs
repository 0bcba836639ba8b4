//! Real kubectl reads Capstan's OpenAPI documents: `kubectl explain` resolves fields through
//! `/openapi/v3`, for a core kind and for a capstan.dev kind.
//!
//! The OpenAPI router is served over TLS on 127.0.0.1 next to minimal legacy discovery (kubectl
//! maps `pods` to a group-version-kind through discovery before it opens the v3 document), so
//! this test needs nothing but kubectl on PATH.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use capstan::api::openapi::{OpenApiDocs, ServedResource, ServedSubresource};
use capstan::api::schema::SchemaModelBuilder;
use capstan::api::types::CapstanPod;
use capstan::server::openapi::openapi_router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use serde_json::{Value, json};

fn served(group: &str, plural: &str, kind: &str) -> ServedResource {
    let verbs = [
        "create", "delete", "get", "list", "patch", "update", "watch",
    ];
    ServedResource {
        group: group.into(),
        version: "v1".into(),
        plural: plural.into(),
        kind: kind.into(),
        namespaced: true,
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        subresources: vec![ServedSubresource {
            name: "status".into(),
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            verbs: vec!["get".into(), "patch".into(), "update".into()],
        }],
    }
}

fn resource_list(group_version: &str) -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [{
            "name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]
        }]
    })
}

/// Legacy discovery for core/v1 pods and capstan.dev/v1 pods.
fn discovery() -> Router {
    Router::new()
        .route(
            "/api",
            get(|| async {
                Json(json!({
                    "kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
                }))
            }),
        )
        .route("/api/v1", get(|| async { Json(resource_list("v1")) }))
        .route(
            "/apis",
            get(|| async {
                let version = json!({"groupVersion": "capstan.dev/v1", "version": "v1"});
                Json(json!({
                    "kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [{"name": "capstan.dev", "versions": [version], "preferredVersion": version}]
                }))
            }),
        )
        .route(
            "/apis/capstan.dev/v1",
            get(|| async { Json(resource_list("capstan.dev/v1")) }),
        )
}

/// Serves `app` over TLS on 127.0.0.1 with a fresh self-signed certificate.
async fn serve_tls(app: Router) -> SocketAddr {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let certs = vec![CertificateDer::from_pem_slice(cert.cert.pem().as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(cert.signing_key.serialize_pem().as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = ConnBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    addr
}

fn kubectl(kubeconfig: &std::path::Path, cache: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()
        .expect("kubectl on PATH");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_reads_the_v3_documents() {
    let model = SchemaModelBuilder::with_core_kinds()
        .add_kind::<CapstanPod>("capstan.dev", "v1", "Pod")
        .build();
    let resources = [
        served("", "pods", "Pod"),
        served("capstan.dev", "pods", "Pod"),
    ];
    let docs = Arc::new(OpenApiDocs::build(&model, &resources).unwrap());
    let addr = serve_tls(discovery().merge(openapi_router(docs))).await;

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\n\
             clusters: [{{name: t, cluster: {{server: 'https://{addr}', insecure-skip-tls-verify: true}}}}]\n\
             users: [{{name: t, user: {{token: t}}}}]\n\
             contexts: [{{name: t, context: {{cluster: t, user: t}}}}]\n"
        ),
    )
    .unwrap();
    let cache = dir.path().join("cache");

    let (kubeconfig2, cache2) = (kubeconfig.clone(), cache.clone());
    let core = tokio::task::spawn_blocking(move || {
        kubectl(&kubeconfig2, &cache2, &["explain", "pods.spec.containers"])
    })
    .await
    .unwrap();
    assert!(core.contains("KIND:       Pod"), "{core}");
    assert!(core.contains("VERSION:    v1"), "{core}");
    assert!(core.contains("containers <[]Container>"), "{core}");
    assert!(
        core.contains("List of containers belonging to the pod."),
        "{core}"
    );
    assert!(core.contains("imagePullPolicy\t<string>"), "{core}");

    let own = tokio::task::spawn_blocking(move || {
        kubectl(
            &kubeconfig,
            &cache,
            &[
                "explain",
                "pods.spec.containers.ports",
                "--api-version=capstan.dev/v1",
            ],
        )
    })
    .await
    .unwrap();
    assert!(own.contains("GROUP:      capstan.dev"), "{own}");
    assert!(own.contains("ports <[]ContainerPort>"), "{own}");
    assert!(own.contains("containerPort\t<integer> -required-"), "{own}");
}
