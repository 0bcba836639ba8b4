//! `capstan.dev` served in two versions through the Scheme, against a real Capstan process with
//! real kubectl: objects written as `capstan.dev/v1beta1` read back as `v1` and the reverse;
//! discovery names both versions (v1 preferred) and hashes the storage version; field selectors,
//! patches, Tables, watches and Status errors in v1beta1.
//!
//! v1beta1 differs from v1 in two places (api::scheme::capstan): `spec.host` is v1's
//! `spec.nodeName`, and v1's `spec.schedulingGates` travel in the annotation
//! `capstan.dev/scheduling-gates`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::capstan::Capstan;

const GATES: &str = "capstan.dev/scheduling-gates";

/// Two v1beta1 pods: one on a node, one held by a scheduling gate.
const V1BETA1_PODS: &str = r#"
apiVersion: capstan.dev/v1beta1
kind: Pod
metadata:
  name: placed
spec:
  host: node-1
  containers:
  - name: main
    image: nginx:1.27
---
apiVersion: capstan.dev/v1beta1
kind: Pod
metadata:
  name: gated
  annotations:
    capstan.dev/scheduling-gates: '[{"name":"example.com/quota"}]'
spec:
  containers:
  - name: main
    image: nginx:1.27
"#;

/// A v1 pod on a node with nothing v1beta1 lacks, and one with gates.
const V1_PODS: &str = r#"
apiVersion: capstan.dev/v1
kind: Pod
metadata:
  name: modern
spec:
  nodeName: node-2
  containers:
  - name: main
    image: nginx:1.27
---
apiVersion: capstan.dev/v1
kind: Pod
metadata:
  name: modern-gated
spec:
  schedulingGates:
  - name: example.com/a
  - name: example.com/b
  containers:
  - name: main
    image: nginx:1.27
"#;

fn get_json(c: &Capstan, resource: &str, name: &str) -> Value {
    let out = c.kubectl_ok(&["get", resource, name, "-o", "json"]);
    serde_json::from_str(&out).expect("kubectl -o json")
}

#[test]
fn objects_cross_versions_through_kubectl() {
    let c = Capstan::start();
    c.kubectl_stdin_ok(&["create", "--validate=false", "-f", "-"], V1BETA1_PODS);

    // Written as v1beta1, read as v1.
    let placed = get_json(&c, "pods.v1.capstan.dev", "placed");
    assert_eq!(placed["apiVersion"], "capstan.dev/v1");
    assert_eq!(placed["spec"]["nodeName"], "node-1");
    assert!(placed["spec"].get("host").is_none(), "{placed}");
    let gated = get_json(&c, "pods.v1.capstan.dev", "gated");
    assert_eq!(
        gated["spec"]["schedulingGates"],
        json!([{"name": "example.com/quota"}])
    );
    assert!(gated["metadata"].get("annotations").is_none(), "{gated}");
    // The v1 strategy ran on the converted object: a gated pod is SchedulingGated.
    assert_eq!(
        gated["status"]["conditions"][0]["reason"], "SchedulingGated",
        "{gated}"
    );

    // Written as v1, read as v1beta1, as a list too.
    c.kubectl_stdin_ok(&["create", "--validate=false", "-f", "-"], V1_PODS);
    let list: Value =
        serde_json::from_str(&c.kubectl_ok(&["get", "pods.v1beta1.capstan.dev", "-o", "json"]))
            .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{list}");
    for item in items {
        assert_eq!(item["apiVersion"], "capstan.dev/v1beta1", "{item}");
        assert!(item["spec"].get("nodeName").is_none(), "{item}");
        assert!(item["spec"].get("schedulingGates").is_none(), "{item}");
    }
    let modern = get_json(&c, "pods.v1beta1.capstan.dev", "modern");
    assert_eq!(modern["spec"]["host"], "node-2");
    let modern_gated = get_json(&c, "pods.v1beta1.capstan.dev", "modern-gated");
    let gates: Value = serde_json::from_str(
        modern_gated["metadata"]["annotations"][GATES]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        gates,
        json!([{"name": "example.com/a"}, {"name": "example.com/b"}])
    );
    // The preferred version is what an unqualified name gets.
    let preferred = get_json(&c, "pods.capstan.dev", "placed");
    assert_eq!(preferred["apiVersion"], "capstan.dev/v1");

    // A v1beta1 merge patch edits the v1beta1 object; the gates it cannot hold survive.
    c.kubectl_ok(&[
        "patch",
        "pods.v1beta1.capstan.dev",
        "modern-gated",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":"web"}}}"#,
    ]);
    let stored = get_json(&c, "pods.v1.capstan.dev", "modern-gated");
    assert_eq!(stored["metadata"]["labels"]["tier"], "web");
    assert_eq!(
        stored["spec"]["schedulingGates"].as_array().map(Vec::len),
        Some(2),
        "{stored}"
    );
    // A JSON patch sees v1beta1 paths.
    c.kubectl_ok(&[
        "patch",
        "pods.v1beta1.capstan.dev",
        "placed",
        "--type=json",
        "-p",
        r#"[{"op":"test","path":"/spec/host","value":"node-1"},{"op":"add","path":"/metadata/labels","value":{"checked":"yes"}}]"#,
    ]);
    let placed = get_json(&c, "pods.v1.capstan.dev", "placed");
    assert_eq!(placed["metadata"]["labels"]["checked"], "yes");

    // Field selectors speak the version's names.
    let on_node = c.kubectl_ok(&[
        "get",
        "pods.v1beta1.capstan.dev",
        "--field-selector=spec.host=node-1",
        "-o",
        "name",
    ]);
    assert_eq!(on_node.trim(), "pod.capstan.dev/placed");
    let refused = c.kubectl(&[
        "get",
        "pods.v1beta1.capstan.dev",
        "--field-selector=spec.nodeName=node-1",
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("field label not supported: spec.nodeName"),
        "{stderr}"
    );

    // Tables in v1beta1 fill the node column from the converted object.
    let wide = c.kubectl_ok(&["get", "pods.v1beta1.capstan.dev", "-o", "wide"]);
    let row = wide.lines().find(|l| l.starts_with("modern ")).unwrap();
    assert!(row.contains("node-2"), "{wide}");

    // Deleting through v1beta1 answers in v1beta1 and deletes the stored object.
    c.kubectl_ok(&[
        "delete",
        "pods.v1beta1.capstan.dev",
        "gated",
        "--wait=false",
    ]);
    let gone = c.kubectl(&["get", "pods.v1.capstan.dev", "gated"]);
    assert!(!gone.status.success());
}

fn discovery(c: &Capstan, path: &str) -> Value {
    serde_json::from_str(&c.kubectl_ok(&["get", "--raw", path])).unwrap()
}

#[test]
fn discovery_lists_both_versions() {
    let c = Capstan::start();
    let versions = json!([
        {"groupVersion": "capstan.dev/v1", "version": "v1"},
        {"groupVersion": "capstan.dev/v1beta1", "version": "v1beta1"}
    ]);
    let group = discovery(&c, "/apis/capstan.dev");
    assert_eq!(group["versions"], versions);
    assert_eq!(group["preferredVersion"]["version"], "v1");
    let groups = discovery(&c, "/apis");
    let listed = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "capstan.dev")
        .cloned()
        .unwrap();
    assert_eq!(listed, group);

    let hash = |list: &Value| {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "pods")
            .map(|r| r["storageVersionHash"].clone())
            .unwrap()
    };
    let v1 = discovery(&c, "/apis/capstan.dev/v1");
    let beta = discovery(&c, "/apis/capstan.dev/v1beta1");
    assert_eq!(beta["groupVersion"], "capstan.dev/v1beta1");
    assert_eq!(hash(&beta), hash(&v1));
    assert!(hash(&v1).is_string());
    let names: Vec<&str> = beta["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "pods",
            "pods/attach",
            "pods/binding",
            "pods/ephemeralcontainers",
            "pods/eviction",
            "pods/exec",
            "pods/log",
            "pods/portforward",
            "pods/status"
        ]
    );

    let resources = c.kubectl_ok(&["api-versions"]);
    assert!(resources.contains("capstan.dev/v1beta1"), "{resources}");
    let root = discovery(&c, "/");
    assert!(
        root["paths"]
            .as_array()
            .unwrap()
            .contains(&json!("/apis/capstan.dev/v1beta1")),
        "{root}"
    );
}

/// The lines of a finished watch body, parsed.
fn events(body: &Value) -> Vec<Value> {
    body.as_str()
        .map(|text| {
            text.lines()
                .map(|l| serde_json::from_str(l).expect("event line"))
                .collect()
        })
        .unwrap_or_else(|| vec![body.clone()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1beta1_watches_and_errors() {
    let c = Arc::new(tokio::task::spawn_blocking(Capstan::start).await.unwrap());
    let v1 = "/apis/capstan.dev/v1/namespaces/default/pods";
    let beta = "/apis/capstan.dev/v1beta1/namespaces/default/pods";
    let pod = json!({"apiVersion": "capstan.dev/v1", "kind": "Pod",
                     "metadata": {"name": "w"},
                     "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx"}]}});
    let (code, _) = c
        .raw(
            "POST",
            v1,
            Some("application/json"),
            serde_json::to_vec(&pod).unwrap(),
        )
        .await;
    assert_eq!(code, 201);

    // A watch in v1beta1 (with a v1beta1 field selector) sees writes made in v1.
    let watcher = c.clone();
    let watch = tokio::spawn(async move {
        let path = format!(
            "{beta}?watch=true&allowWatchBookmarks=true&timeoutSeconds=4&fieldSelector=spec.host%3Dnode-1"
        );
        watcher.raw("GET", &path, None, Vec::new()).await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (code, _) = c
        .raw(
            "PATCH",
            &format!("{v1}/w"),
            Some("application/merge-patch+json"),
            br#"{"metadata":{"labels":{"seen":"yes"}}}"#.to_vec(),
        )
        .await;
    assert_eq!(code, 200);
    let (code, deleted) = c
        .raw(
            "DELETE",
            &format!("{v1}/w?gracePeriodSeconds=0"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(code, 200, "{deleted}");
    let (code, body) = watch.await.unwrap();
    assert_eq!(code, 200);
    let events = events(&body);
    let mut types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    // a periodic bookmark may close the watch just before its timeout
    while types.len() > 2 && types.last() == Some(&"BOOKMARK") {
        types.pop();
    }
    // The delete marks the pod (MODIFIED) before it goes, as kube's graceful deletion does.
    assert_eq!(types[..3], ["ADDED", "BOOKMARK", "MODIFIED"], "{events:?}");
    assert_eq!(types.last(), Some(&"DELETED"), "{events:?}");
    assert!(types[3..types.len() - 1].iter().all(|t| *t == "MODIFIED"));
    for event in &events {
        assert_eq!(
            event["object"]["apiVersion"], "capstan.dev/v1beta1",
            "{event}"
        );
    }
    assert_eq!(events[2]["object"]["metadata"]["labels"]["seen"], "yes");
    let deleted = &events[types.len() - 1]["object"];
    assert_eq!(deleted["spec"]["host"], "node-1");
    assert!(deleted["spec"].get("nodeName").is_none());

    // Status errors from v1beta1 paths.
    let (code, status) = c
        .raw("GET", &format!("{beta}/missing"), None, Vec::new())
        .await;
    assert_eq!(code, 404);
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "pods.capstan.dev \"missing\" not found", "reason": "NotFound",
               "details": {"name": "missing", "group": "capstan.dev", "kind": "pods"},
               "code": 404})
    );
    // Validation runs on v1; the causes name v1beta1's fields.
    let invalid = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                         "metadata": {"name": "bad", "annotations": {GATES: r#"[{"name":"g"}]"#}},
                         "spec": {"host": "node-1", "containers": [{"name": "c", "image": "nginx"}]}});
    let (code, status) = c
        .raw(
            "POST",
            beta,
            Some("application/json"),
            serde_json::to_vec(&invalid).unwrap(),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(
        status["details"]["kind"], "Pod",
        "Invalid names the kind: {status}"
    );
    assert_eq!(status["details"]["group"], "capstan.dev");
    assert_eq!(
        status["details"]["causes"],
        json!([{"reason": "FieldValueForbidden", "field": "spec.host",
                "message": "Forbidden: cannot be set until all schedulingGates have been cleared"}]),
        "{status}"
    );
    assert_eq!(
        status["message"],
        "Pod.capstan.dev \"bad\" is invalid: spec.host: Forbidden: cannot be set until all schedulingGates have been cleared"
    );
    // A v1 body sent to the v1beta1 endpoint is the wrong version for the URL.
    let (code, status) = c
        .raw(
            "POST",
            beta,
            Some("application/json"),
            serde_json::to_vec(&pod).unwrap(),
        )
        .await;
    assert_eq!(code, 400, "{status}");
    assert_eq!(
        status["message"],
        "the API version in the data (capstan.dev/v1) does not match the expected API version (capstan.dev/v1beta1)"
    );
    // A gates annotation that is not a list cannot be converted: the client's error.
    let bad_gates = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                           "metadata": {"name": "bad-gates", "annotations": {GATES: "soon"}},
                           "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let (code, status) = c
        .raw(
            "POST",
            beta,
            Some("application/json"),
            serde_json::to_vec(&bad_gates).unwrap(),
        )
        .await;
    assert_eq!((code, status["reason"].as_str()), (400, Some("BadRequest")));
    let c = Arc::try_unwrap(c).ok().unwrap();
    tokio::task::spawn_blocking(move || drop(c)).await.unwrap();
}

/// The OpenAPI documents build for everything installed for capstan.dev — both versions, with
/// v1beta1's own schema — once the model registers v1beta1 next to v1.
#[tokio::test]
async fn openapi_documents_cover_both_versions() {
    use capstan::api::openapi::OpenApiDocs;
    use capstan::api::schema::SchemaModelBuilder;
    use capstan::api::scheme::capstan::schema::{POD_SPEC_DEFINITION, add_v1beta1_schemas};
    use capstan::api::types::CapstanPod;
    use capstan::auth::admission::AdmissionChain;
    use capstan::endpoints::{ApiGroupInfo, ApiVersionInfo, Installer};
    use k8s_openapi::api::core::v1::Binding;

    let dir = tempfile::tempdir().unwrap();
    let storage = capstan::storage::backend::open(capstan::storage::backend::Backend::Embedded {
        path: dir.path().join("store.redb"),
    })
    .await
    .unwrap();
    let versions = capstan::registry::capstan::versions(storage, "/capstan")
        .into_iter()
        .map(|(version, resources)| ApiVersionInfo { version, resources })
        .collect();
    let mut installer = Installer::new(Arc::new(AdmissionChain::default()));
    installer.install_group(ApiGroupInfo {
        group: "capstan.dev".into(),
        versions,
    });
    let model = add_v1beta1_schemas(
        SchemaModelBuilder::with_core_kinds()
            .add_kind::<CapstanPod>("capstan.dev", "v1", "Pod")
            .add_kind::<Binding>("capstan.dev", "v1", "Binding"),
    )
    .build();
    let docs = OpenApiDocs::build(&model, &installer.served_resources()).unwrap();
    let v3: Value =
        serde_json::from_slice(docs.v3("apis/capstan.dev/v1beta1").unwrap().json()).unwrap();
    let schemas = &v3["components"]["schemas"];
    assert_eq!(
        schemas["dev.capstan.v1beta1.Pod"]["x-kubernetes-group-version-kind"],
        json!([{"group": "capstan.dev", "version": "v1beta1", "kind": "Pod"}])
    );
    let spec = &schemas[POD_SPEC_DEFINITION];
    assert!(spec["properties"]["host"].is_object(), "{spec}");
    assert!(spec["properties"].get("nodeName").is_none());
    assert!(
        v3["paths"]
            .as_object()
            .unwrap()
            .contains_key("/apis/capstan.dev/v1beta1/namespaces/{namespace}/pods/{name}/binding")
    );
}
