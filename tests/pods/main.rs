//! Pods end to end through the `Rest` storage maps of core/v1 and capstan.dev/v1, on the embedded
//! store: create (defaults, status reset, validation), update (immutability, generation),
//! `pods/status`, `pods/binding`, graceful delete, field selectors and the Table row.

use std::collections::BTreeMap;
use std::sync::Arc;

use capstan::api::ApiError;
use capstan::api::options::{DeleteOpts, GetOptions, ListOptions, WriteOptions};
use capstan::api::selectors::fields::FieldSelector;
use capstan::auth::{AdmissionRequest, Admit, UserInfo};
use capstan::registry::{DeleteResult, RequestContext, Rest, Verb};
use capstan::storage::SharedStorage;
use capstan::storage::backend::{self, Backend};
use serde_json::{Value, json};

const PREFIX: &str = "/capstan";

struct AllowAll;

#[async_trait::async_trait]
impl Admit for AllowAll {
    async fn admit(&self, _req: &AdmissionRequest<'_>) -> Result<(), ApiError> {
        Ok(())
    }
}

/// One group's pod endpoints over a fresh embedded store.
struct Pods {
    map: BTreeMap<String, Arc<dyn Rest>>,
    storage: SharedStorage,
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
        (
            capstan::registry::core::pod_storage(storage.clone(), PREFIX),
            "v1",
        )
    } else {
        (
            capstan::registry::capstan::pod_storage(storage.clone(), PREFIX),
            "capstan.dev/v1",
        )
    };
    Pods {
        map,
        storage,
        api_version,
        _dir: dir,
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        namespace: Some("default".into()),
        user: UserInfo::default(),
        admission: Arc::new(AllowAll),
        warnings: Default::default(),
    }
}

impl Pods {
    fn rest(&self, path: &str) -> &Arc<dyn Rest> {
        &self.map[path]
    }

    fn pod(&self, name: &str) -> Value {
        json!({
            "apiVersion": self.api_version, "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}
        })
    }

    async fn create(&self, body: Value) -> Result<Value, ApiError> {
        self.rest("pods")
            .create(&ctx(), None, body, &WriteOptions::default())
            .await
    }

    async fn get(&self, name: &str) -> Value {
        self.rest("pods")
            .get(&ctx(), name, &GetOptions::default())
            .await
            .unwrap()
    }

    async fn put(&self, path: &str, body: Value) -> Result<Value, ApiError> {
        let name = body["metadata"]["name"].as_str().unwrap().to_string();
        let update = Box::new(move |_: Option<&Value>| Ok(body.clone()));
        self.rest(path)
            .update(&ctx(), &name, update, &WriteOptions::default())
            .await
            .map(|(v, _)| v)
    }

    async fn bind(&self, url_name: &str, body: Value) -> Result<Value, ApiError> {
        self.rest("pods/binding")
            .create(&ctx(), Some(url_name), body, &WriteOptions::default())
            .await
    }

    fn binding(&self, name: &str, node: &str) -> Value {
        json!({"apiVersion": self.api_version, "kind": "Binding", "metadata": {"name": name}, "target": {"kind": "Node", "name": node}})
    }
}

mod binding;
mod warnings;

fn invalid_causes(err: &ApiError) -> Vec<String> {
    match err {
        ApiError::Invalid { causes, .. } => causes.iter().map(ToString::to_string).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn create_defaults_and_resets_status_in_both_groups() {
    for (group, api_version, key) in [
        ("", "v1", "/capstan/core/pods/default/web"),
        (
            "capstan.dev",
            "capstan.dev/v1",
            "/capstan/capstan.dev/pods/default/web",
        ),
    ] {
        let pods = open(group).await;
        let mut body = pods.pod("web");
        body["status"] = json!({"phase": "Running"});
        let created = pods.create(body).await.unwrap();
        assert_eq!(created["apiVersion"], api_version);
        assert_eq!(created["kind"], "Pod");
        assert_eq!(created["metadata"]["generation"], 1);
        assert!(created["metadata"]["uid"].is_string());
        assert_eq!(
            created["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
        let spec = &created["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(
            spec["containers"][0]["terminationMessagePath"],
            "/dev/termination-log"
        );
        assert_eq!(spec["containers"][0]["terminationMessagePolicy"], "File");
        // Stored under the group's own key, and read back identically.
        let stored = pods
            .storage
            .get(key)
            .await
            .unwrap()
            .expect("stored under the group key");
        let stored: Value = serde_json::from_slice(&stored.value).unwrap();
        assert_eq!(stored["apiVersion"], api_version);
        assert_eq!(pods.get("web").await, created);
    }
}

#[tokio::test]
async fn invalid_pods_are_422_with_kube_causes() {
    for group in ["", "capstan.dev"] {
        let pods = open(group).await;
        let mut no_spec = pods.pod("p");
        no_spec.as_object_mut().unwrap().remove("spec");
        let err = pods.create(no_spec).await.unwrap_err();
        assert_eq!(invalid_causes(&err), ["spec.containers: Required value"]);
        let kind = if group.is_empty() {
            "Pod"
        } else {
            "Pod.capstan.dev"
        };
        assert_eq!(
            err.to_string(),
            format!("{kind} \"p\" is invalid: spec.containers: Required value")
        );

        let err = pods.create(pods.pod("Bad_Name")).await.unwrap_err();
        let causes = invalid_causes(&err);
        assert!(
            causes[0].starts_with(
                "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"
            ),
            "{causes:?}"
        );

        let mut bad = pods.pod("p");
        bad["spec"]["restartPolicy"] = json!("Sometimes");
        let err = pods.create(bad).await.unwrap_err();
        assert_eq!(
            invalid_causes(&err),
            [
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
            ]
        );
    }
}

#[tokio::test]
async fn updates_change_images_only_and_bump_generation() {
    let pods = open("").await;
    let created = pods.create(pods.pod("web")).await.unwrap();

    let mut new_image = created.clone();
    new_image["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    new_image["status"] = json!({"phase": "Running"});
    let updated = pods.put("pods", new_image).await.unwrap();
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_eq!(updated["spec"]["containers"][0]["image"], "nginx:1.28");
    assert_eq!(
        updated["status"]["phase"], "Pending",
        "the main resource keeps the old status"
    );

    let mut forbidden = updated.clone();
    forbidden["spec"]["restartPolicy"] = json!("Never");
    let err = pods.put("pods", forbidden).await.unwrap_err();
    let ApiError::Invalid { causes, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].field, "spec");
    assert!(causes[0].body().starts_with(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
    ));
}

#[tokio::test]
async fn status_subresource_keeps_spec_and_accepts_status() {
    let pods = open("capstan.dev").await;
    let created = pods.create(pods.pod("web")).await.unwrap();
    let mut body = created.clone();
    body["spec"]["containers"][0]["image"] = json!("ignored:1");
    body["status"] =
        json!({"phase": "Running", "podIP": "10.1.2.3", "podIPs": [{"ip": "10.1.2.3"}]});
    let updated = pods.put("pods/status", body).await.unwrap();
    assert_eq!(updated["status"]["phase"], "Running");
    assert_eq!(
        updated["status"]["qosClass"], "BestEffort",
        "backfilled from the old status"
    );
    assert_eq!(updated["spec"], created["spec"]);
    assert_eq!(updated["metadata"]["generation"], 1);

    let mut bad = updated.clone();
    bad["status"]["qosClass"] = json!("Guaranteed");
    let err = pods.put("pods/status", bad).await.unwrap_err();
    assert_eq!(
        invalid_causes(&err),
        ["status.qosClass: Invalid value: \"Guaranteed\": field is immutable"]
    );

    let mut missing = pods.pod("nope");
    missing["status"] = json!({"phase": "Running"});
    let err = pods.put("pods/status", missing).await.unwrap_err();
    assert!(
        matches!(err, ApiError::NotFound { .. }),
        "status never creates: {err:?}"
    );
}

#[tokio::test]
async fn unscheduled_pods_are_deleted_at_once_and_returned() {
    let pods = open("capstan.dev").await;
    pods.create(pods.pod("web")).await.unwrap();
    let result = pods
        .rest("pods")
        .delete(&ctx(), "web", &DeleteOpts::default())
        .await
        .unwrap();
    let DeleteResult::Deleted {
        object,
        return_object,
    } = result
    else {
        panic!("{result:?}")
    };
    assert!(return_object, "pods answer with the deleted object");
    assert_eq!(object["metadata"]["name"], "web");
    assert!(
        pods.storage
            .get("/capstan/capstan.dev/pods/default/web")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn field_selectors_use_pod_fields() {
    let pods = open("").await;
    pods.create(pods.pod("a")).await.unwrap();
    pods.create(pods.pod("b")).await.unwrap();
    pods.bind("b", pods.binding("b", "n1")).await.unwrap();
    let list = |selector: &str| {
        let opts = ListOptions {
            field_selector: FieldSelector::parse(selector).unwrap(),
            ..Default::default()
        };
        let rest = pods.rest("pods").clone();
        async move { rest.list(&ctx(), &opts).await }
    };
    let names = |items: Vec<Value>| {
        items
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(list("spec.nodeName=n1").await.unwrap().items), ["b"]);
    assert_eq!(names(list("spec.nodeName=").await.unwrap().items), ["a"]);
    assert_eq!(
        names(
            list("status.phase=Pending,spec.restartPolicy=Always")
                .await
                .unwrap()
                .items
        ),
        ["a", "b"]
    );
    assert_eq!(
        names(list("spec.hostNetwork=false").await.unwrap().items),
        ["a", "b"]
    );
    assert!(list("spec.unknown=x").await.is_err());
}

#[tokio::test]
async fn table_rows_through_rest() {
    let pods = open("").await;
    let created = pods.create(pods.pod("web")).await.unwrap();
    let rest = pods.rest("pods");
    let columns: Vec<String> = rest.table_columns().into_iter().map(|c| c.name).collect();
    assert_eq!(
        columns,
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    let row = rest.table_row(&created);
    assert_eq!(
        row[..4],
        [json!("web"), json!("0/1"), json!("Pending"), json!("0")]
    );
    assert!(row[4].as_str().unwrap().ends_with('s'), "{row:?}");
    assert_eq!(
        row[5..],
        [
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[tokio::test]
async fn descriptors_and_verbs() {
    let pods = open("capstan.dev").await;
    let main = pods.rest("pods").descriptor().clone();
    assert_eq!(
        (
            main.group.as_str(),
            main.kind.as_str(),
            main.singular.as_str()
        ),
        ("capstan.dev", "Pod", "pod")
    );
    assert_eq!(main.short_names, ["po"]);
    assert_eq!(main.categories, ["all"]);
    let all: std::collections::BTreeSet<Verb> = [
        Verb::Create,
        Verb::Delete,
        Verb::DeleteCollection,
        Verb::Get,
        Verb::List,
        Verb::Patch,
        Verb::Update,
        Verb::Watch,
    ]
    .into();
    assert_eq!(pods.rest("pods").verbs(), all);
    assert_eq!(
        pods.rest("pods/status").verbs(),
        [Verb::Get, Verb::Patch, Verb::Update].into()
    );
    assert_eq!(pods.rest("pods/binding").descriptor().kind, "Binding");
}

#[tokio::test]
async fn bodies_are_defaulted_for_the_handlers_and_reset_fields_are_kubes() {
    for group in ["", "capstan.dev"] {
        let pods = open(group).await;
        let defaulted = pods.rest("pods").default_object(pods.pod("web")).unwrap();
        assert_eq!(defaulted["spec"]["restartPolicy"], "Always", "{group}");
        assert_eq!(
            defaulted["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent",
            "{group}"
        );
        assert_eq!(defaulted["apiVersion"], pods.api_version);
        assert_eq!(pods.rest("pods").reset_fields(), &[&["status"][..]]);
        assert_eq!(
            pods.rest("pods/status").reset_fields(),
            &[
                &["spec"][..],
                &["metadata", "deletionTimestamp"][..],
                &["metadata", "ownerReferences"][..]
            ]
        );
        // A body that is not a pod is the store's 400.
        let err = pods
            .rest("pods")
            .default_object(json!({"spec": {"containers": "nope"}}))
            .unwrap_err();
        assert_eq!(err.code(), 400);
    }
}

#[tokio::test]
async fn a_forced_create_through_update_creates_a_pod_put_alone_does_not() {
    let pods = open("").await;
    let body = pods.pod("applied");
    let update = |body: Value| -> capstan::registry::ObjectUpdate {
        Box::new(move |current| {
            assert!(current.is_none());
            Ok(body.clone())
        })
    };
    let err = pods
        .rest("pods")
        .update(
            &ctx(),
            "applied",
            update(body.clone()),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 404);
    let forced = WriteOptions {
        force_allow_create: true,
        ..Default::default()
    };
    let (created, was_created) = pods
        .rest("pods")
        .update(&ctx(), "applied", update(body), &forced)
        .await
        .unwrap();
    assert!(was_created);
    assert_eq!(created["status"]["phase"], "Pending");
    assert!(created["metadata"]["uid"].is_string());
}
