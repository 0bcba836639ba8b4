//! The hostile create and update bodies of the sweep sent to Capstan and to a real
//! kube-apiserver 1.37.2 side by side: the status code and reason must agree.

mod hostile;
mod support;

use hostile::mutations;
use hostile::{Http, Lcg, bodies};
use support::capstan::{Capstan, Start};
use support::etcd::Etcd;
use support::kube_apiserver::KubeApiserver;

const JSON: &str = "application/json";

/// (collection, apiVersion, kind, namespaced)
const KINDS: &[(&str, &str, &str, bool)] = &[
    (
        "/api/v1/namespaces/default/configmaps",
        "v1",
        "ConfigMap",
        true,
    ),
    ("/api/v1/namespaces/default/pods", "v1", "Pod", true),
    ("/api/v1/namespaces", "v1", "Namespace", false),
    (
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        "coordination.k8s.io/v1",
        "Lease",
        true,
    ),
];

fn outcome(code: u16, body: &serde_json::Value) -> String {
    format!("{code} {}", body["reason"].as_str().unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts kube-apiserver (built on first use); run with --ignored"]
async fn hostile_bodies_answer_like_kube() {
    let etcd = Etcd::start();
    let kube = KubeApiserver::start(&etcd.endpoint);
    let capstan = Capstan::start_with(Start::default());
    let mut k = Http::new(kube.client().await);
    let mut c = Http::new(capstan.client().await);
    let mut diffs = Vec::new();
    for (coll, api_version, kind, namespaced) in KINDS {
        let ns = namespaced.then_some("default");
        let valid = bodies::valid(api_version, kind, "hostile-c", ns);
        let mut rng = Lcg(7);
        let mut all = mutations::json_bodies(&valid, &mut rng, 6);
        all.extend(mutations::resource_versions(&valid));
        for m in all {
            let path = if m.query.is_empty() {
                coll.to_string()
            } else {
                format!("{coll}?{}", m.query)
            };
            let kr = k.send("POST", &path, Some(JSON), m.bytes.clone()).await;
            let cr = c.send("POST", &path, Some(JSON), m.bytes.clone()).await;
            for (h, r) in [(&mut k, &kr), (&mut c, &cr)] {
                if (200..300).contains(&r.code)
                    && let Some(n) = r.body["metadata"]["name"].as_str()
                {
                    let _ = h
                        .send("DELETE", &format!("{coll}/{n}"), None, Vec::new())
                        .await;
                }
            }
            let (ko, co) = (outcome(kr.code, &kr.body), outcome(cr.code, &cr.body));
            if ko != co {
                diffs.push(format!(
                    "{kind} create {}: kube {ko} / capstan {co}\n    kube: {}\n    capstan: {}",
                    m.label,
                    hostile::short(&kr.body),
                    hostile::short(&cr.body)
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
