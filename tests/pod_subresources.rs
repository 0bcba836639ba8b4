//! `pods/ephemeralcontainers` and `pods/eviction` through the storage maps of both pod groups, on
//! the embedded store: what may change, kube's messages, generation, eviction's dry-run and
//! preconditions.

use std::collections::BTreeMap;
use std::sync::Arc;

use capstan::api::ApiError;
use capstan::api::options::{GetOptions, WriteOptions};
use capstan::auth::UserInfo;
use capstan::auth::admission::AdmissionChain;
use capstan::registry::{RequestContext, Rest};
use capstan::storage::backend::{self, Backend};
use serde_json::{Value, json};

const PREFIX: &str = "/capstan";
const GROUPS: [(&str, &str); 2] = [("", "v1"), ("capstan.dev", "capstan.dev/v1")];

struct Pods {
    map: BTreeMap<String, Arc<dyn Rest>>,
    api_version: &'static str,
    _dir: tempfile::TempDir,
}

async fn open(group: &str) -> Pods {
    let dir = tempfile::tempdir().unwrap();
    let storage = backend::open(Backend::Embedded {
        path: dir.path().join("store.redb"),
    })
    .await
    .unwrap();
    let (map, api_version) = if group.is_empty() {
        (capstan::registry::core::pod_storage(storage, PREFIX), "v1")
    } else {
        (
            capstan::registry::capstan::pod_storage(storage, PREFIX),
            "capstan.dev/v1",
        )
    };
    Pods {
        map,
        api_version,
        _dir: dir,
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        namespace: Some("default".into()),
        user: UserInfo::default(),
        admission: Arc::new(AdmissionChain::default()),
        warnings: Default::default(),
    }
}

fn write(dry_run: bool) -> WriteOptions {
    WriteOptions {
        dry_run,
        ..Default::default()
    }
}

impl Pods {
    async fn create(&self, name: &str, node: Option<&str>) -> Value {
        let body = json!({
            "apiVersion": self.api_version, "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}
        });
        self.map["pods"]
            .create(&ctx(), None, body, &WriteOptions::default())
            .await
            .unwrap();
        if let Some(node) = node {
            let binding = json!({"apiVersion": self.api_version, "kind": "Binding",
                "metadata": {"name": name}, "target": {"kind": "Node", "name": node}});
            self.map["pods/binding"]
                .create(&ctx(), Some(name), binding, &WriteOptions::default())
                .await
                .unwrap();
        }
        self.get(name).await.unwrap()
    }

    async fn get(&self, name: &str) -> Result<Value, ApiError> {
        self.map["pods"]
            .get(&ctx(), name, &GetOptions::default())
            .await
    }

    async fn put(&self, path: &str, body: Value) -> Result<Value, ApiError> {
        let name = body["metadata"]["name"].as_str().unwrap().to_string();
        self.map[path]
            .update(
                &ctx(),
                &name,
                Box::new(move |_| Ok(body.clone())),
                &write(false),
            )
            .await
            .map(|(v, _)| v)
    }

    async fn evict(&self, url_name: &str, body: Value, dry_run: bool) -> Result<Value, ApiError> {
        self.map["pods/eviction"]
            .create(&ctx(), Some(url_name), body, &write(dry_run))
            .await
    }
}

fn debug_container(name: &str) -> Value {
    json!({"name": name, "image": "busybox", "targetContainerName": "c"})
}

fn eviction(name: &str, delete_options: Value) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name},
        "deleteOptions": delete_options})
}

fn causes(err: &ApiError) -> Vec<String> {
    match err {
        ApiError::Invalid { causes, .. } => causes.iter().map(ToString::to_string).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn ephemeral_containers_are_added_only_through_their_subresource() {
    for (group, _) in GROUPS {
        let pods = open(group).await;
        let pod = pods.create("web", Some("node-1")).await;
        assert_eq!(pod["metadata"]["generation"], 1);
        let rest = &pods.map["pods/ephemeralcontainers"];
        assert_eq!(rest.descriptor().kind, "Pod");
        assert_eq!(
            rest.verbs().iter().map(|v| v.as_str()).collect::<Vec<_>>(),
            ["get", "patch", "update"]
        );

        // Not through the pod itself.
        let mut direct = pod.clone();
        direct["spec"]["ephemeralContainers"] = json!([debug_container("debug")]);
        let err = pods.put("pods", direct.clone()).await.unwrap_err();
        assert!(
            causes(&err)[0].starts_with("spec: Forbidden: pod updates may not change fields"),
            "{err}"
        );

        // Through the subresource: only the ephemeral containers change, generation rises.
        let mut body = direct;
        body["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        body["metadata"]["labels"] = json!({"app": "changed"});
        body["status"]["phase"] = json!("Running");
        let updated = pods.put("pods/ephemeralcontainers", body).await.unwrap();
        assert_eq!(updated["spec"]["ephemeralContainers"][0]["name"], "debug");
        assert_eq!(
            updated["spec"]["ephemeralContainers"][0]["terminationMessagePolicy"], "File",
            "defaulted as containers are"
        );
        assert_eq!(updated["spec"]["containers"][0]["image"], "nginx:1.27");
        assert_eq!(updated["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(updated["status"]["phase"], "Pending");
        assert_eq!(updated["metadata"]["generation"], 2);
        assert_eq!(pods.get("web").await.unwrap(), updated);

        // Existing ones may be neither changed nor removed.
        let mut changed = updated.clone();
        changed["spec"]["ephemeralContainers"][0]["image"] = json!("alpine");
        let err = pods
            .put("pods/ephemeralcontainers", changed)
            .await
            .unwrap_err();
        let msg = &causes(&err)[0];
        assert!(
            msg.starts_with("spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debug\" may not be changed\n"),
            "{msg}"
        );
        let mut removed = updated.clone();
        removed["spec"]["ephemeralContainers"] = json!([]);
        let err = pods
            .put("pods/ephemeralcontainers", removed)
            .await
            .unwrap_err();
        assert_eq!(
            causes(&err),
            [
                "spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debug\" may not be removed\n"
            ]
        );

        // The new pod must be valid: names are unique across all containers.
        let mut clash = updated.clone();
        clash["spec"]["ephemeralContainers"] = json!([
            updated["spec"]["ephemeralContainers"][0],
            debug_container("c")
        ]);
        let err = pods
            .put("pods/ephemeralcontainers", clash)
            .await
            .unwrap_err();
        assert!(
            causes(&err)
                .iter()
                .any(|c| c.starts_with("spec.ephemeralContainers[1].name: Duplicate value: \"c\"")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn static_pods_take_no_ephemeral_containers() {
    let pods = open("").await;
    let body = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "mirror", "annotations": {"kubernetes.io/config.mirror": "x"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx"}]}});
    let pod = pods.map["pods"]
        .create(&ctx(), None, body, &WriteOptions::default())
        .await
        .unwrap();
    let mut body = pod.clone();
    body["spec"]["ephemeralContainers"] = json!([debug_container("debug")]);
    let err = pods
        .put("pods/ephemeralcontainers", body)
        .await
        .unwrap_err();
    assert_eq!(
        causes(&err),
        ["[]: Forbidden: static pods do not support ephemeral containers"]
    );
}

#[tokio::test]
async fn evicting_a_scheduled_pod_marks_and_deletes_it_gracefully() {
    for (group, _) in GROUPS {
        let pods = open(group).await;
        pods.create("web", Some("node-1")).await;
        let rest = &pods.map["pods/eviction"];
        let d = rest.descriptor();
        assert_eq!(
            (d.group.as_str(), d.version.as_str(), d.kind.as_str()),
            ("policy", "v1", "Eviction")
        );

        let status = pods
            .evict("web", eviction("web", Value::Null), false)
            .await
            .unwrap();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["status"], "Success");
        assert_eq!(status["code"], 201);
        let pod = pods.get("web").await.unwrap();
        assert!(pod["metadata"]["deletionTimestamp"].is_string());
        assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(
            pod["metadata"]["generation"], 2,
            "graceful deletion bumps it"
        );
        let condition = pod["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "DisruptionTarget")
            .expect("DisruptionTarget condition");
        assert_eq!(condition["status"], "True");
        assert_eq!(condition["reason"], "EvictionByEvictionAPI");
        assert_eq!(condition["message"], "Eviction API: evicting");

        // The eviction's own delete options apply: grace 0 finishes the deletion.
        pods.evict(
            "web",
            eviction("web", json!({"gracePeriodSeconds": 0})),
            false,
        )
        .await
        .unwrap();
        assert_eq!(pods.get("web").await.unwrap_err().code(), 404);
        let err = pods
            .evict("web", eviction("web", Value::Null), false)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            if group.is_empty() {
                "pods \"web\" not found"
            } else {
                "pods.capstan.dev \"web\" not found"
            }
        );
    }
}

#[tokio::test]
async fn evicting_a_pending_pod_deletes_it_outright() {
    let pods = open("").await;
    pods.create("waiting", None).await;
    pods.evict("waiting", eviction("waiting", Value::Null), false)
        .await
        .unwrap();
    assert_eq!(pods.get("waiting").await.unwrap_err().code(), 404);
}

#[tokio::test]
async fn eviction_requests_are_checked_like_kube() {
    let pods = open("").await;
    let pod = pods.create("web", Some("node-1")).await;

    let err = pods
        .evict("web", eviction("other", Value::Null), false)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (400, "name in URL does not match name in Eviction object")
    );

    // dryRun in the query: nothing changes.
    pods.evict("web", eviction("web", Value::Null), true)
        .await
        .unwrap();
    assert_eq!(pods.get("web").await.unwrap(), pod);
    // dryRun in both: they must agree.
    let err = pods
        .evict("web", eviction("web", json!({"dryRun": ["All"]})), true)
        .await;
    assert!(err.is_ok());
    let err = pods
        .evict(
            "web",
            eviction("web", json!({"dryRun": ["Everything"]})),
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 500);
    assert!(
        err.to_string().ends_with(
            "Non-matching dry-run options in request and content: [All] and [Everything]"
        ),
        "{err}"
    );
    assert_eq!(pods.get("web").await.unwrap(), pod);

    // A resourceVersion precondition that no longer holds is a conflict, not retried.
    let stale = json!({"preconditions": {"resourceVersion": "1"}});
    let err = pods
        .evict("web", eviction("web", stale), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 409, "{err}");
    assert!(
        err.to_string()
            .contains("the ResourceVersion in the precondition (1) does not match"),
        "{err}"
    );
    // Invalid delete options are the store's 422.
    let bad = json!({"propagationPolicy": "Sometimes"});
    let err = pods
        .evict("web", eviction("web", bad), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 422, "{err}");
    assert!(
        err.to_string().starts_with("DeleteOptions.meta.k8s.io"),
        "{err}"
    );
    assert_eq!(pods.get("web").await.unwrap(), pod);
}
