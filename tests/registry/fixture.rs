//! A store over a fresh embedded database, request contexts, and small test strategies.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use capstan::api::field::Path;
use capstan::api::options::{DeleteOpts, GetOptions, ListOptions, WriteOptions};
use capstan::api::{ApiError, FieldError, FieldErrors, ResourceDescriptor};
use capstan::auth::admission::AdmissionChain;
use capstan::auth::{AdmissionRequest, Admit, Operation, UserInfo};
use capstan::registry::store::Store;
use capstan::registry::{DeleteResult, ObjectUpdate, RequestContext, Rest, Strategy, Verb};
use capstan::storage::embedded::EmbeddedStorage;
use capstan::storage::keys::KeyLayout;
use capstan::storage::{ListRequest, SharedStorage};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

pub const PREFIX: &str = "/capstan";

/// A fresh store for one test: an embedded database in a temporary directory, or, with
/// `CAPSTAN_REGISTRY_BACKEND=etcd` (and the `etcd` feature), a throwaway etcd on loopback.
pub struct Db {
    _dir: tempfile::TempDir,
    #[cfg(feature = "etcd")]
    _etcd: Option<crate::support::etcd::Etcd>,
    pub storage: SharedStorage,
}

pub async fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    #[cfg(feature = "etcd")]
    if std::env::var("CAPSTAN_REGISTRY_BACKEND").as_deref() == Ok("etcd") {
        let etcd = tokio::task::spawn_blocking(crate::support::etcd::Etcd::start)
            .await
            .unwrap();
        let storage: SharedStorage = Arc::new(
            capstan::storage::etcd3::EtcdStorage::connect(std::slice::from_ref(&etcd.endpoint))
                .await
                .unwrap(),
        );
        return Db {
            _dir: dir,
            _etcd: Some(etcd),
            storage,
        };
    }
    let storage: SharedStorage = Arc::new(
        EmbeddedStorage::open(dir.path().join("capstan.redb"))
            .await
            .unwrap(),
    );
    Db {
        _dir: dir,
        #[cfg(feature = "etcd")]
        _etcd: None,
        storage,
    }
}

/// `db` behind the watch cache (`storage::cacher`), which caches the collections of
/// `resources` (core group) and is ready: what a server with `--watch-cache` reads through.
pub async fn behind_watch_cache(mut db: Db, resources: &[&str]) -> Db {
    let collections = resources
        .iter()
        .map(|resource| KeyLayout::new(PREFIX, "core", resource).collection(None));
    let cacher = capstan::storage::cacher::Cacher::new(db.storage.clone(), collections);
    cacher.wait_ready().await.unwrap();
    db.storage = Arc::new(cacher);
    db
}

impl Db {
    /// Every key and value under the prefix: "nothing changed" checks compare these.
    pub async fn dump(&self) -> Vec<(String, Vec<u8>, i64)> {
        let resp = self
            .storage
            .list(ListRequest {
                prefix: format!("{PREFIX}/"),
                ..Default::default()
            })
            .await
            .unwrap();
        resp.items
            .into_iter()
            .map(|kv| (kv.key, kv.value, kv.mod_revision))
            .collect()
    }

    pub async fn revision(&self) -> i64 {
        self.storage.current_revision().await.unwrap()
    }
}

/// One admission request as seen: operation, resource, subresource, namespace, name, object.
pub type Seen = (
    Operation,
    String,
    String,
    Option<String>,
    String,
    Option<Value>,
);

/// Records every admission request, and refuses with `refuse` when set.
#[derive(Default)]
pub struct Recorder {
    pub seen: Mutex<Vec<Seen>>,
    pub refuse: Mutex<Option<ApiError>>,
}

#[async_trait]
impl Admit for Recorder {
    async fn admit(&self, req: &AdmissionRequest<'_>) -> Result<(), ApiError> {
        self.seen.lock().unwrap().push((
            req.operation,
            req.resource.to_string(),
            req.subresource.to_string(),
            req.namespace.map(str::to_string),
            req.name.to_string(),
            req.object.cloned(),
        ));
        match self.refuse.lock().unwrap().clone() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

pub fn ctx(namespace: Option<&str>) -> RequestContext {
    ctx_with(namespace, Arc::new(AdmissionChain::default()))
}

pub fn ctx_with(namespace: Option<&str>, admission: Arc<dyn Admit>) -> RequestContext {
    RequestContext {
        namespace: namespace.map(str::to_string),
        user: UserInfo {
            name: "tester".into(),
            groups: vec!["system:masters".into()],
            ..Default::default()
        },
        admission,
        warnings: Default::default(),
    }
}

pub fn put(body: Value) -> ObjectUpdate {
    Box::new(move |_| Ok(body.clone()))
}

pub fn configmap(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

pub fn configmaps(db: &Db) -> Arc<dyn Rest> {
    capstan::registry::core::configmap_storage(db.storage.clone(), PREFIX)
}

pub async fn create(rest: &dyn Rest, ns: Option<&str>, body: Value) -> Value {
    rest.create(&ctx(ns), None, body, &WriteOptions::default())
        .await
        .unwrap()
}

pub async fn get(rest: &dyn Rest, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
    rest.get(&ctx(ns), name, &GetOptions::default()).await
}

pub async fn delete(
    rest: &dyn Rest,
    ns: Option<&str>,
    name: &str,
    opts: DeleteOpts,
) -> Result<DeleteResult, ApiError> {
    rest.delete(&ctx(ns), name, &opts).await
}

pub async fn list(
    rest: &dyn Rest,
    ns: Option<&str>,
    opts: ListOptions,
) -> Result<capstan::registry::ListResult, ApiError> {
    rest.list(&ctx(ns), &opts).await
}

pub fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

pub fn rv(obj: &Value) -> i64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Asserts the code, reason and (when given) the message of an error.
#[track_caller]
pub fn assert_error(err: &ApiError, code: u16, reason: &str, message: Option<&str>) {
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(err.reason(), reason, "{err}");
    if let Some(message) = message {
        assert_eq!(err.to_string(), message);
    }
}

/// A pod-like test kind with knobs for the strategy options the store honours.
#[derive(Clone, Default)]
pub struct TestPods {
    /// Graceful deletion with this default grace (as pods: 30).
    pub graceful: Option<i64>,
    pub create_on_update: bool,
    pub conditional_only: bool,
}

impl Strategy for TestPods {
    type Object = Pod;

    fn validate(&self, _ctx: &RequestContext, pod: &Pod) -> FieldErrors {
        let containers = pod.spec.as_ref().map_or(0, |s| s.containers.len());
        if containers == 0 {
            return vec![FieldError::required(
                Path::new("spec").child("containers"),
                "",
            )];
        }
        Vec::new()
    }

    fn validate_update(&self, ctx: &RequestContext, new: &Pod, _old: &Pod) -> FieldErrors {
        self.validate(ctx, new)
    }

    fn allow_create_on_update(&self) -> bool {
        self.create_on_update
    }

    fn allow_unconditional_update(&self) -> bool {
        !self.conditional_only
    }

    fn check_graceful_delete(&self, _obj: &Pod, requested: Option<i64>) -> Option<i64> {
        self.graceful.map(|default| requested.unwrap_or(default))
    }

    fn return_deleted_object(&self) -> bool {
        true
    }

    fn extra_field_labels(&self) -> &'static [&'static str] {
        &["spec.nodeName"]
    }

    fn extra_selectable_fields(&self, pod: &Pod) -> BTreeMap<String, String> {
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        BTreeMap::from([("spec.nodeName".to_string(), node)])
    }
}

pub fn pods_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: String::new(),
        version: "v1".into(),
        kind: "Pod".into(),
        plural: "pods".into(),
        singular: "pod".into(),
        namespaced: true,
        short_names: vec!["po".into()],
        categories: vec!["all".into()],
    }
}

pub fn pods(db: &Db, strategy: TestPods) -> Store<TestPods> {
    let verbs = BTreeSet::from([
        Verb::Create,
        Verb::Get,
        Verb::List,
        Verb::Update,
        Verb::Delete,
        Verb::Watch,
    ]);
    Store::new(
        pods_descriptor(),
        KeyLayout::new(PREFIX, "core", "pods"),
        db.storage.clone(),
        strategy,
        verbs,
    )
}

pub fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    })
}
