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
const MERGE: &str = "application/merge-patch+json";
/// A JSON patch replacing the whole object with the hostile body.
const JSON_PATCH_REPLACE: &str = "json-patch-replace";

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

/// Differences left, each with why.
const KNOWN: &[&str] = &[
    // TODO(kube parity): Go decodes JSON null into a non-pointer field as its zero value (a map's
    // string value becomes "", a list's struct element an empty struct that validation then
    // refuses with 422); Capstan's typed decoder refuses null there with 400.
    "ConfigMap create /data/k=null",
    "Pod create /spec/containers/0=null",
    "ConfigMap PUT /data/k=null",
    "Pod PUT /spec/containers/0=null",
    // kube's etcd refuses a request over 1.5 MiB with a 500 ("etcdserver: request is too
    // large"); this Capstan runs on embedded storage, which has no such limit below the 3 MiB body.
    "Lease create /spec/holderIdentity=1.5 MiB string",
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
    for (coll, api_version, kind, namespaced) in KINDS {
        let ns = namespaced.then_some("default");
        let valid = bodies::valid(api_version, kind, "hostile-u", ns);
        let bytes = serde_json::to_vec(&valid).unwrap();
        let path = format!("{coll}/hostile-u");
        let kr = k.send("POST", coll, Some(JSON), bytes.clone()).await;
        let cr = c.send("POST", coll, Some(JSON), bytes).await;
        assert_eq!((kr.code, cr.code), (201, 201), "{} / {}", kr.body, cr.body);
        let mut rng = Lcg(11);
        let all = mutations::json_bodies(&valid, &mut rng, 6);
        let verbs = ["PUT", MERGE, JSON_PATCH_REPLACE];
        for (i, m) in all.into_iter().enumerate() {
            let verb = verbs[i % verbs.len()];
            let mut outcomes = Vec::new();
            for h in [&mut k, &mut c] {
                let (method, ct, body) = match verb {
                    "PUT" => ("PUT", JSON, m.bytes.clone()),
                    JSON_PATCH_REPLACE => {
                        let mut b = br#"[{"op":"replace","path":"","value":"#.to_vec();
                        b.extend_from_slice(&m.bytes);
                        b.extend_from_slice(b"}]");
                        ("PATCH", "application/json-patch+json", b)
                    }
                    ct => ("PATCH", ct, m.bytes.clone()),
                };
                let p = if m.query.is_empty() {
                    path.clone()
                } else {
                    format!("{path}?{}", m.query)
                };
                let r = h.send(method, &p, Some(ct), body).await;
                outcomes.push((outcome(r.code, &r.body), hostile::short(&r.body)));
                // put the object back for the next mutation
                if (200..300).contains(&r.code) {
                    let fresh = serde_json::to_vec(&valid).unwrap();
                    let _ = h.send("PUT", &path, Some(JSON), fresh).await;
                }
            }
            if outcomes[0].0 != outcomes[1].0 {
                diffs.push(format!(
                    "{kind} {verb} {}: kube {} / capstan {}\n    kube: {}\n    capstan: {}",
                    m.label, outcomes[0].0, outcomes[1].0, outcomes[0].1, outcomes[1].1
                ));
            }
        }
    }
    diffs.retain(|d| !KNOWN.iter().any(|k| d.starts_with(&format!("{k}:"))));
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
