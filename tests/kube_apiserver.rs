//! The kube-apiserver test helper (tests/support/kube_apiserver.rs) starts a server that the
//! benchmark and aggregation tests can rely on: ready, on its own etcd prefix beside Capstan's,
//! RBAC on with the admin in `system:masters`, and pods creatable without a service account.
//!
//! Ignored by default because the first run builds kube-apiserver (minutes on two cores):
//!
//!   cargo test --features etcd --test kube_apiserver -- --ignored

mod support;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;
use support::capstan::{Capstan, Start};
use support::etcd::Etcd;
use support::kube_apiserver::KubeApiserver;

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "containers": [{ "name": "app", "image": "registry.k8s.io/pause:3.10" }] },
    }))
    .unwrap()
}

#[tokio::test]
#[ignore = "builds kube-apiserver on first use (minutes); run with --ignored"]
async fn kube_apiserver_shares_etcd_with_capstan() {
    let etcd = Etcd::start();
    let kube = KubeApiserver::start(&etcd.endpoint);
    let capstan = Capstan::start_with(Start {
        etcd: Some(etcd.endpoint.clone()),
        args: Vec::new(),
    });

    // the admin creates a pod in `default` (no ServiceAccount admission, no token needed)
    let admin = kube.client().await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let created = pods
        .create(&PostParams::default(), &pod("p"))
        .await
        .unwrap();
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));

    // RBAC is on: a user outside system:masters with no bindings is refused
    let nobody = kube.client_as("nobody", None).await;
    let err = Api::<Pod>::namespaced(nobody, "default")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 403),
        "expected 403, got {err:?}"
    );
    // ... while a certificate in system:masters from the same CA may do anything
    let master = kube.client_as("someone", Some("system:masters")).await;
    Api::<Namespace>::all(master)
        .list(&ListParams::default())
        .await
        .unwrap();

    // the two servers keep apart on one etcd: neither sees the other's pod
    let capstan_pods: Api<Pod> = Api::namespaced(capstan.client().await, "default");
    assert!(capstan_pods.get_opt("p").await.unwrap().is_none());
    capstan_pods
        .create(&PostParams::default(), &pod("q"))
        .await
        .unwrap();
    assert!(pods.get_opt("q").await.unwrap().is_none());
    assert!(pods.get_opt("p").await.unwrap().is_some());
}

/// The paths and methods whose answers depend on which of kube-apiserver's two muxes serves them
/// (go-restful routes refuse HEAD and unregistered methods with a 405 Status; the plain mux answers
/// any method as GET). Capstan must give the same status and, for errors, the same reason.
const METHOD_PROBES: [(&str, &str); 14] = [
    ("HEAD", "/version"),
    ("POST", "/version"),
    ("HEAD", "/api"),
    ("DELETE", "/api"),
    ("POST", "/api/v1"),
    ("POST", "/"),
    ("HEAD", "/"),
    ("POST", "/apis"),
    ("POST", "/apis/coordination.k8s.io"),
    ("HEAD", "/apis/coordination.k8s.io/v1"),
    ("POST", "/openapi/v2"),
    ("HEAD", "/api/v1/namespaces/default"),
    ("OPTIONS", "/api/v1/namespaces"),
    ("HEAD", "/api/v1/nope"),
];

async fn method_answers(client: &kube::Client) -> Vec<(String, u16, Option<String>)> {
    let mut answers = Vec::new();
    for (method, path) in METHOD_PROBES {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(Vec::new())
            .unwrap();
        let res = client.send(req.map(Into::into)).await.unwrap();
        let status = res.status().as_u16();
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let reason = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["reason"].as_str().map(String::from));
        answers.push((format!("{method} {path}"), status, reason));
    }
    answers
}

#[tokio::test]
#[ignore = "builds kube-apiserver on first use (minutes); run with --ignored"]
async fn methods_are_answered_as_kube_apiserver_answers_them() {
    let etcd = tokio::task::spawn_blocking(Etcd::start).await.unwrap();
    let endpoint = etcd.endpoint.clone();
    let kube = tokio::task::spawn_blocking(move || KubeApiserver::start(&endpoint))
        .await
        .unwrap();
    let capstan = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    assert_eq!(
        method_answers(&capstan.client().await).await,
        method_answers(&kube.client().await).await
    );
}
