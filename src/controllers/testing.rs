//! Controller tests run against the real storage maps of every group over a fresh embedded
//! store, with NamespaceLifecycle admission, as standalone Capstan assembles them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::namespace::{NamespaceEndpoints, NamespaceFinalizer};
use super::pod_finisher::PodFinisher;
use crate::api::ApiError;
use crate::api::options::{DeleteOpts, GetOptions, WriteOptions};
use crate::auth::admission::{AdmissionChain, NamespaceLifecycle};
use crate::auth::{Admit, UserInfo};
use crate::registry::{DeleteResult, RequestContext, Rest, capstan, coordination, core};
use crate::storage::SharedStorage;
use crate::storage::embedded::EmbeddedStorage;

const PREFIX: &str = "/capstan";

/// Every group's storage maps over one embedded store.
pub struct Cluster {
    _dir: tempfile::TempDir,
    pub core: BTreeMap<String, Arc<dyn Rest>>,
    pub coordination: BTreeMap<String, Arc<dyn Rest>>,
    pub capstan: BTreeMap<String, Arc<dyn Rest>>,
    pub admission: Arc<dyn Admit>,
}

impl Cluster {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage: SharedStorage = Arc::new(
            EmbeddedStorage::open(dir.path().join("capstan.redb"))
                .await
                .unwrap(),
        );
        let mut core = core::namespace_storage(storage.clone(), PREFIX);
        core.insert(
            "configmaps".into(),
            core::configmap_storage(storage.clone(), PREFIX),
        );
        core.extend(core::pod_storage(storage.clone(), PREFIX));
        let capstan = capstan::pod_storage(storage.clone(), PREFIX);
        let coordination = BTreeMap::from([(
            "leases".to_string(),
            coordination::lease_storage(storage.clone(), PREFIX),
        )]);
        let admission: Arc<dyn Admit> = Arc::new(AdmissionChain::new(vec![Arc::new(
            NamespaceLifecycle::new(storage.clone(), PREFIX),
        )]));
        Self {
            _dir: dir,
            core,
            coordination,
            capstan,
            admission,
        }
    }

    pub fn ctx(&self, namespace: Option<&str>) -> RequestContext {
        RequestContext {
            namespace: namespace.map(str::to_string),
            user: UserInfo {
                name: "tester".into(),
                groups: vec!["system:masters".into()],
                ..Default::default()
            },
            admission: self.admission.clone(),
            warnings: Default::default(),
        }
    }

    /// `path` of the core group, `coordination.k8s.io/<path>`, or `capstan.dev/<path>` of
    /// Capstan's own.
    pub fn rest(&self, path: &str) -> &Arc<dyn Rest> {
        if let Some(p) = path.strip_prefix("capstan.dev/") {
            &self.capstan[p]
        } else if let Some(p) = path.strip_prefix("coordination.k8s.io/") {
            &self.coordination[p]
        } else {
            &self.core[path]
        }
    }

    pub async fn create(&self, path: &str, namespace: Option<&str>, body: Value) -> Value {
        self.rest(path)
            .create(&self.ctx(namespace), None, body, &WriteOptions::default())
            .await
            .unwrap()
    }

    pub async fn get(
        &self,
        path: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.rest(path)
            .get(&self.ctx(namespace), name, &GetOptions::default())
            .await
    }

    pub async fn delete(
        &self,
        path: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<DeleteResult, ApiError> {
        self.rest(path)
            .delete(&self.ctx(namespace), name, &DeleteOpts::default())
            .await
    }

    pub async fn namespace(&self, name: &str) {
        self.create(
            "namespaces",
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        )
        .await;
    }

    /// A pod of `group` ("" or "capstan.dev") in `namespace`, bound to `node` if given.
    pub async fn pod(&self, group: &str, namespace: &str, name: &str, node: Option<&str>) {
        let (path, api_version) = if group.is_empty() {
            (String::from("pods"), "v1")
        } else {
            (format!("{group}/pods"), "capstan.dev/v1")
        };
        let body = json!({
            "apiVersion": api_version, "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}
        });
        self.create(&path, Some(namespace), body).await;
        if let Some(node) = node {
            let binding = json!({
                "apiVersion": api_version, "kind": "Binding",
                "metadata": {"name": name},
                "target": {"kind": "Node", "name": node}
            });
            self.rest(&format!("{path}/binding"))
                .create(
                    &self.ctx(Some(namespace)),
                    Some(name),
                    binding,
                    &WriteOptions::default(),
                )
                .await
                .unwrap();
        }
    }

    pub fn namespace_finalizer(&self) -> NamespaceFinalizer {
        NamespaceFinalizer::new(
            NamespaceEndpoints {
                namespaces: self.core["namespaces"].clone(),
                status: self.core["namespaces/status"].clone(),
                finalize: self.core["namespaces/finalize"].clone(),
            },
            crate::controlplane::controllers::namespace_content(
                &self.core,
                &[self.coordination.clone(), self.capstan.clone()],
            ),
            self.admission.clone(),
        )
    }

    pub fn pod_finisher(&self) -> PodFinisher {
        PodFinisher::new(
            vec![self.core["pods"].clone(), self.capstan["pods"].clone()],
            self.admission.clone(),
        )
    }

    /// Waits (up to 10 s) until `path`/`name` is gone.
    pub async fn wait_gone(&self, path: &str, namespace: Option<&str>, name: &str) {
        for _ in 0..200 {
            match self.get(path, namespace, name).await {
                Err(ApiError::NotFound { .. }) => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(err) => panic!("{err}"),
            }
        }
        panic!("{path} {name} is still there");
    }
}

/// The object's `metadata.<field>`.
pub fn meta<'a>(obj: &'a Value, field: &str) -> &'a Value {
    &obj["metadata"][field]
}
