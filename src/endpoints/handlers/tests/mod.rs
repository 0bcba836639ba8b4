//! Handler tests through the router, against a small in-memory `Rest` (the real store is
//! integrated by the lead). They check HTTP-level behaviour: routing, status codes, Status bodies,
//! negotiation, Table shape and watch framing.

mod decode;
mod discovery;
mod protobuf;
mod reads;
mod routes;
mod schema_writes;
mod watch;
mod writes;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower::ServiceExt;

use crate::api::options::{DeleteOpts, GetOptions, ListOptions, WriteOptions};
use crate::api::table::TableColumnDefinition;
use crate::api::{ApiError, ResourceDescriptor};
use crate::auth::{AdmissionRequest, Admit, Operation, UserInfo};
use crate::endpoints::{ApiGroupInfo, ApiVersionInfo, Installer};
use crate::registry::{
    DeleteResult, ListResult, ObjectUpdate, RequestContext, Rest, Verb, WatchEvent, WatchEvents,
};

/// Objects by (namespace, name), shared by a resource and its subresources.
#[derive(Default)]
pub struct Objects {
    pub items: BTreeMap<(String, String), Value>,
    pub revision: i64,
}

/// How a fixture behaves where real kinds differ.
#[derive(Clone, Copy, Default)]
pub struct Behaviour {
    /// Deletes answer with the object (pods) rather than a Success Status (configmaps).
    pub return_deleted: bool,
    /// Deletes leave the object terminating (graceful deletion, finalizers).
    pub pending_delete: bool,
    /// PUT of a missing object creates it.
    pub create_on_update: bool,
    /// Printer columns Name and Phase instead of kube's defaults.
    pub printer: bool,
}

/// An in-memory `Rest` recording what the handlers passed it.
pub struct Fixture {
    pub descriptor: ResourceDescriptor,
    pub verbs: BTreeSet<Verb>,
    pub behaviour: Behaviour,
    pub objects: Arc<Mutex<Objects>>,
    /// Events the next watch streams; the watch stays open until the sender is dropped.
    pub feed: Mutex<Option<mpsc::UnboundedReceiver<WatchEvent>>>,
    /// Set when a watch stream is dropped (the client went away or the watch ended).
    pub watch_dropped: Arc<AtomicBool>,
    /// A stale version an update closure is first called with, as a store retrying a conflict.
    pub stale: Mutex<Option<Value>>,
    pub last_list: Mutex<Option<ListOptions>>,
    pub last_write: Mutex<Option<WriteOptions>>,
    pub last_delete: Mutex<Option<DeleteOpts>>,
    pub last_ctx: Mutex<Option<(Option<String>, UserInfo)>>,
}

pub fn descriptor(group: &str, kind: &str, plural: &str, namespaced: bool) -> ResourceDescriptor {
    ResourceDescriptor {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_ascii_lowercase(),
        namespaced,
        ..Default::default()
    }
}

pub fn all_verbs() -> BTreeSet<Verb> {
    [
        Verb::Create,
        Verb::Delete,
        Verb::DeleteCollection,
        Verb::Get,
        Verb::List,
        Verb::Patch,
        Verb::Update,
        Verb::Watch,
    ]
    .into_iter()
    .collect()
}

impl Fixture {
    pub fn new(
        descriptor: ResourceDescriptor,
        verbs: BTreeSet<Verb>,
        behaviour: Behaviour,
    ) -> Self {
        Self::sharing(descriptor, verbs, behaviour, Arc::default())
    }

    pub fn sharing(
        descriptor: ResourceDescriptor,
        verbs: BTreeSet<Verb>,
        behaviour: Behaviour,
        objects: Arc<Mutex<Objects>>,
    ) -> Self {
        Self {
            descriptor,
            verbs,
            behaviour,
            objects,
            feed: Mutex::new(None),
            watch_dropped: Arc::new(AtomicBool::new(false)),
            stale: Mutex::new(None),
            last_list: Mutex::new(None),
            last_write: Mutex::new(None),
            last_delete: Mutex::new(None),
            last_ctx: Mutex::new(None),
        }
    }

    /// Stores `object` as if created at the next revision.
    pub fn insert(&self, namespace: &str, name: &str, mut object: Value) {
        let mut objects = self.objects.lock().unwrap();
        objects.revision += 1;
        object["metadata"]["resourceVersion"] = json!(objects.revision.to_string());
        objects
            .items
            .insert((namespace.into(), name.into()), object);
    }

    /// A sender feeding the next watch.
    pub fn feed(&self) -> mpsc::UnboundedSender<WatchEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.feed.lock().unwrap() = Some(rx);
        tx
    }

    fn record_ctx(&self, ctx: &RequestContext) {
        *self.last_ctx.lock().unwrap() = Some((ctx.namespace.clone(), ctx.user.clone()));
    }

    fn key(ctx: &RequestContext, name: &str) -> (String, String) {
        (ctx.namespace.clone().unwrap_or_default(), name.to_string())
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound {
            resource: self.descriptor.group_resource(),
            name: name.into(),
        }
    }
}

/// Drops with the watch stream and tells the test.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Rest for Fixture {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        self.verbs.clone()
    }

    fn table_columns(&self) -> Vec<TableColumnDefinition> {
        if !self.behaviour.printer {
            return crate::registry::default_table_columns();
        }
        vec![
            TableColumnDefinition::new("Name", "string", "name", 0, "name"),
            TableColumnDefinition::new("Phase", "string", "", 0, "phase"),
        ]
    }

    fn table_row(&self, object: &Value) -> Vec<Value> {
        if !self.behaviour.printer {
            return crate::registry::default_table_row(object);
        }
        vec![
            object["metadata"]["name"].clone(),
            object["status"]["phase"].clone(),
        ]
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        _: &GetOptions,
    ) -> Result<Value, ApiError> {
        self.record_ctx(ctx);
        let objects = self.objects.lock().unwrap();
        objects
            .items
            .get(&Self::key(ctx, name))
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    async fn list(&self, ctx: &RequestContext, opts: &ListOptions) -> Result<ListResult, ApiError> {
        self.record_ctx(ctx);
        *self.last_list.lock().unwrap() = Some(opts.clone());
        let objects = self.objects.lock().unwrap();
        let mut items: Vec<Value> = objects
            .items
            .iter()
            .filter(|((ns, _), _)| ctx.namespace.as_ref().is_none_or(|want| want == ns))
            .map(|(_, v)| v.clone())
            .collect();
        let mut result = ListResult {
            resource_version: objects.revision.to_string(),
            ..Default::default()
        };
        if let Some(limit) = opts.limit.map(|l| l as usize).filter(|l| *l < items.len()) {
            result.remaining_item_count = Some((items.len() - limit) as i64);
            result.continue_token = Some("next-page".into());
            items.truncate(limit);
        }
        result.items = items;
        Ok(result)
    }

    async fn watch(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchEvents, ApiError> {
        self.record_ctx(ctx);
        *self.last_list.lock().unwrap() = Some(opts.clone());
        if opts.resource_version.as_deref() == Some("1") {
            return Err(ApiError::Expired {
                message: "too old resource version: 1 (5)".into(),
            });
        }
        let guard = DropFlag(self.watch_dropped.clone());
        let events: WatchEvents = match self.feed.lock().unwrap().take() {
            Some(rx) => tokio_stream::wrappers::UnboundedReceiverStream::new(rx).boxed(),
            None => futures::stream::pending().boxed(),
        };
        Ok(events
            .map(move |e| {
                let _ = &guard;
                e
            })
            .boxed())
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        parent: Option<&str>,
        mut object: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        self.record_ctx(ctx);
        *self.last_write.lock().unwrap() = Some(opts.clone());
        let request = AdmissionRequest {
            operation: Operation::Create,
            group: &self.descriptor.group,
            version: &self.descriptor.version,
            resource: &self.descriptor.plural,
            subresource: "",
            namespace: ctx.namespace.as_deref(),
            name: "",
            user: &ctx.user,
            object: Some(&object),
        };
        ctx.admission.admit(&request).await?;
        if let Some(parent) = parent {
            // A binding-like subresource: acknowledges with a Status that has no code.
            return Ok(
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": {"name": parent}}),
            );
        }
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut objects = self.objects.lock().unwrap();
        let key = Self::key(ctx, &name);
        if objects.items.contains_key(&key) {
            return Err(ApiError::AlreadyExists {
                resource: self.descriptor.group_resource(),
                name,
            });
        }
        objects.revision += 1;
        object["metadata"]["resourceVersion"] = json!(objects.revision.to_string());
        object["metadata"]["uid"] = json!(format!("uid-{name}"));
        objects.items.insert(key, object.clone());
        Ok(object)
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        mut update: ObjectUpdate,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        self.record_ctx(ctx);
        *self.last_write.lock().unwrap() = Some(opts.clone());
        if let Some(stale) = self.stale.lock().unwrap().take() {
            // The first attempt lost a race; its result is thrown away.
            let _ = update(Some(&stale))?;
        }
        let mut objects = self.objects.lock().unwrap();
        let key = Self::key(ctx, name);
        let current = objects.items.get(&key).cloned();
        if current.is_none() && !self.behaviour.create_on_update && !opts.force_allow_create {
            return Err(self.not_found(name));
        }
        let mut next = update(current.as_ref())?;
        objects.revision += 1;
        next["metadata"]["resourceVersion"] = json!(objects.revision.to_string());
        objects.items.insert(key, next.clone());
        Ok((next, current.is_none()))
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<DeleteResult, ApiError> {
        self.record_ctx(ctx);
        *self.last_delete.lock().unwrap() = Some(opts.clone());
        let mut objects = self.objects.lock().unwrap();
        let key = Self::key(ctx, name);
        if self.behaviour.pending_delete {
            let object = objects
                .items
                .get_mut(&key)
                .ok_or_else(|| self.not_found(name))?;
            object["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            return Ok(DeleteResult::Pending(object.clone()));
        }
        let object = objects
            .items
            .remove(&key)
            .ok_or_else(|| self.not_found(name))?;
        Ok(DeleteResult::Deleted {
            object,
            return_object: self.behaviour.return_deleted,
        })
    }
}

/// Counts admission calls, to see that handlers pass the installer's chain along.
#[derive(Default)]
pub struct CountingAdmission(pub AtomicUsize);

#[async_trait]
impl Admit for CountingAdmission {
    async fn admit(&self, _: &AdmissionRequest<'_>) -> Result<(), ApiError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The fixtures behind a test server: core/v1 pods (with status and binding), configmaps,
/// namespaces and nodes; capstan.dev/v1 widgets (printer columns) and an empty v1beta1.
pub struct Server {
    pub router: Router,
    pub pods: Arc<Fixture>,
    pub pod_status: Arc<Fixture>,
    pub configmaps: Arc<Fixture>,
    pub namespaces: Arc<Fixture>,
    pub widgets: Arc<Fixture>,
    pub admission: Arc<CountingAdmission>,
}

pub fn server() -> Server {
    server_with(None)
}

/// [`server`] whose handlers know the core kinds' schemas (strategic merge patch, apply,
/// managedFields, field validation).
pub fn schema_server() -> Server {
    let model = crate::api::schema::SchemaModelBuilder::with_core_kinds().build();
    server_with(Some(Arc::new(model)))
}

fn server_with(schema: Option<Arc<crate::api::schema::SchemaModel>>) -> Server {
    let pod = descriptor("", "Pod", "pods", true);
    let objects: Arc<Mutex<Objects>> = Arc::default();
    let returns = Behaviour {
        return_deleted: true,
        ..Default::default()
    };
    let pods = Arc::new(Fixture::sharing(
        pod.clone(),
        all_verbs(),
        returns,
        objects.clone(),
    ));
    let status_verbs = [Verb::Get, Verb::Patch, Verb::Update].into_iter().collect();
    let pod_status = Arc::new(Fixture::sharing(pod, status_verbs, returns, objects));
    let mut binding = descriptor("", "Binding", "pods", true);
    binding.singular = String::new();
    let binding = Arc::new(Fixture::new(
        binding,
        [Verb::Create].into_iter().collect(),
        returns,
    ));
    let configmaps = Arc::new(Fixture::new(
        descriptor("", "ConfigMap", "configmaps", true),
        all_verbs(),
        Behaviour::default(),
    ));
    let namespaces = Arc::new(Fixture::new(
        descriptor("", "Namespace", "namespaces", false),
        all_verbs(),
        returns,
    ));
    let nodes = Arc::new(Fixture::new(
        descriptor("", "Node", "nodes", false),
        all_verbs(),
        returns,
    ));
    let printer = Behaviour {
        printer: true,
        return_deleted: true,
        ..Default::default()
    };
    let widgets = Arc::new(Fixture::new(
        descriptor("capstan.dev", "Widget", "widgets", true),
        all_verbs(),
        printer,
    ));

    let mut core: BTreeMap<String, Arc<dyn Rest>> = BTreeMap::new();
    core.insert("pods".into(), pods.clone());
    core.insert("pods/status".into(), pod_status.clone());
    core.insert("pods/binding".into(), binding);
    core.insert("configmaps".into(), configmaps.clone());
    core.insert("namespaces".into(), namespaces.clone());
    core.insert("nodes".into(), nodes);
    let mut capstan: BTreeMap<String, Arc<dyn Rest>> = BTreeMap::new();
    capstan.insert("widgets".into(), widgets.clone());

    let admission = Arc::new(CountingAdmission::default());
    let mut installer = Installer::new(admission.clone());
    if let Some(schema) = schema {
        installer = installer.with_schema(schema);
    }
    installer.install_legacy_group(ApiGroupInfo {
        group: String::new(),
        versions: vec![ApiVersionInfo {
            version: "v1".into(),
            resources: core,
        }],
    });
    installer.install_group(ApiGroupInfo {
        group: "capstan.dev".into(),
        versions: vec![
            ApiVersionInfo {
                version: "v1".into(),
                resources: capstan,
            },
            ApiVersionInfo {
                version: "v1beta1".into(),
                resources: BTreeMap::new(),
            },
        ],
    });
    Server {
        router: installer.into_router(),
        pods,
        pod_status,
        configmaps,
        namespaces,
        widgets,
        admission,
    }
}

pub fn pod(namespace: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace, "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Running"}})
}

/// A request with an optional JSON body.
pub fn request(method: &str, uri: &str, body: Option<Value>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(uri);
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// Sends `req` and collects the whole response.
pub async fn send(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let response = router.clone().oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

/// Sends `req` and parses the JSON body.
pub async fn call(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let (code, _, body) = send(router, req).await;
    let value =
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
    (code, value)
}

/// Asserts a Failure Status with `code` and `reason` and returns its message.
pub fn assert_status(body: &Value, code: u16, reason: &str) -> String {
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["status"], "Failure", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    body["message"].as_str().unwrap_or_default().to_string()
}
