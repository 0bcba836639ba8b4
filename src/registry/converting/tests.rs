//! The decorator over a fake storage-version `Rest` that keeps v1 objects in memory and records
//! what it was asked, so each conversion point is checked on its own.

use std::sync::Mutex;

use futures::stream;
use serde_json::json;

use super::*;
use crate::api::scheme::capstan::{self, SCHEDULING_GATES_ANNOTATION};
use crate::api::selectors::fields::FieldSelector;
use crate::auth::UserInfo;
use crate::auth::admission::AdmissionChain;

/// A v1 `Rest` for `kind` keeping objects by name and recording the field selector it was given.
struct FakeV1 {
    descriptor: ResourceDescriptor,
    objects: Mutex<BTreeMap<String, Value>>,
    seen_field_selector: Mutex<Option<FieldSelector>>,
}

impl FakeV1 {
    fn new(kind: &str, plural: &str) -> Arc<Self> {
        Arc::new(Self {
            descriptor: ResourceDescriptor {
                group: "capstan.dev".into(),
                version: "v1".into(),
                kind: kind.into(),
                plural: plural.into(),
                namespaced: true,
                ..Default::default()
            },
            objects: Mutex::new(BTreeMap::new()),
            seen_field_selector: Mutex::new(None),
        })
    }

    fn stored(&self, name: &str) -> Value {
        self.objects.lock().unwrap()[name].clone()
    }

    fn put(&self, object: Value) {
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        assert_eq!(
            object["apiVersion"], "capstan.dev/v1",
            "the fake stores v1 only"
        );
        self.objects.lock().unwrap().insert(name, object);
    }
}

#[async_trait]
impl Rest for FakeV1 {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }
    fn verbs(&self) -> BTreeSet<Verb> {
        BTreeSet::from([Verb::Get, Verb::Create])
    }
    fn table_row(&self, object: &Value) -> Vec<Value> {
        vec![object["spec"]["nodeName"].clone()]
    }
    async fn get(&self, _: &RequestContext, name: &str, _: &GetOptions) -> Result<Value, ApiError> {
        self.objects
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::NotFound {
                resource: self.descriptor.group_resource(),
                name: name.into(),
            })
    }
    async fn list(&self, _: &RequestContext, opts: &ListOptions) -> Result<ListResult, ApiError> {
        *self.seen_field_selector.lock().unwrap() = Some(opts.field_selector.clone());
        Ok(ListResult {
            items: self.objects.lock().unwrap().values().cloned().collect(),
            resource_version: "9".into(),
            ..Default::default()
        })
    }
    async fn watch(&self, _: &RequestContext, opts: &ListOptions) -> Result<WatchEvents, ApiError> {
        *self.seen_field_selector.lock().unwrap() = Some(opts.field_selector.clone());
        let pod = self.stored("web");
        let bookmark = json!({"apiVersion": "capstan.dev/v1", "kind": "Pod",
                              "metadata": {"resourceVersion": "12"}});
        Ok(stream::iter([
            WatchEvent::Added(pod.clone()),
            WatchEvent::Deleted(pod),
            WatchEvent::Bookmark(bookmark),
            WatchEvent::Error(ApiError::Expired {
                message: "too old".into(),
            }),
        ])
        .boxed())
    }
    async fn create(
        &self,
        _: &RequestContext,
        _: Option<&str>,
        object: Value,
        _: &WriteOptions,
    ) -> Result<Value, ApiError> {
        if object["metadata"]["name"] == "invalid" {
            return Err(ApiError::invalid(
                self.descriptor.group_kind(),
                "invalid",
                vec![
                    crate::api::FieldError::forbidden("spec.nodeName", "not yet"),
                    crate::api::FieldError::required("spec.containers", ""),
                ],
            ));
        }
        if object["kind"] == "Binding" {
            assert_eq!(object["apiVersion"], "capstan.dev/v1");
            return Ok(json!({"apiVersion": "v1", "kind": "Status", "status": "Success"}));
        }
        self.put(object.clone());
        Ok(object)
    }
    async fn update(
        &self,
        _: &RequestContext,
        name: &str,
        mut update: ObjectUpdate,
        _: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        let current = self.objects.lock().unwrap().get(name).cloned();
        let next = update(current.as_ref())?;
        self.put(next.clone());
        Ok((next, current.is_none()))
    }
    async fn delete(
        &self,
        _: &RequestContext,
        name: &str,
        _: &DeleteOpts,
    ) -> Result<DeleteResult, ApiError> {
        let object = self.objects.lock().unwrap().remove(name).unwrap();
        Ok(DeleteResult::Pending(object))
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

fn scheme() -> Arc<Scheme> {
    Arc::new(capstan::scheme())
}

fn v1_pod() -> Value {
    json!({"apiVersion": "capstan.dev/v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "default"},
           "spec": {"nodeName": "node-1", "schedulingGates": [{"name": "g"}]}})
}

fn beta(fake: &Arc<FakeV1>) -> ConvertingRest {
    ConvertingRest::new(fake.clone(), scheme(), "v1beta1")
}

#[tokio::test]
async fn reads_come_back_in_the_served_version() {
    let fake = FakeV1::new("Pod", "pods");
    fake.put(v1_pod());
    let rest = beta(&fake);
    assert_eq!(rest.descriptor().api_version(), "capstan.dev/v1beta1");
    assert_eq!(rest.storage_descriptor().api_version(), "capstan.dev/v1");

    let got = rest
        .get(&ctx(), "web", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(got["apiVersion"], "capstan.dev/v1beta1");
    assert_eq!(got["spec"], json!({"host": "node-1"}));
    assert_eq!(
        got["metadata"]["annotations"][SCHEDULING_GATES_ANNOTATION],
        r#"[{"name":"g"}]"#
    );

    let page = rest.list(&ctx(), &ListOptions::default()).await.unwrap();
    assert_eq!(page.resource_version, "9");
    assert_eq!(page.items, vec![got.clone()]);

    let err = rest
        .get(&ctx(), "missing", &GetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "pods.capstan.dev \"missing\" not found");
}

#[tokio::test]
async fn writes_are_stored_in_the_storage_version() {
    let fake = FakeV1::new("Pod", "pods");
    let rest = beta(&fake);
    let body = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                      "metadata": {"name": "web", "namespace": "default",
                                   "annotations": {SCHEDULING_GATES_ANNOTATION: r#"[{"name":"g"}]"#}},
                      "spec": {"host": "node-1"}});
    let created = rest
        .create(&ctx(), None, body.clone(), &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(created, body);
    assert_eq!(fake.stored("web"), v1_pod());

    let bad = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                     "metadata": {"name": "x", "annotations": {SCHEDULING_GATES_ANNOTATION: "{"}}});
    let err = rest
        .create(&ctx(), None, bad, &WriteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), 400, "{err}");
}

#[tokio::test]
async fn updates_see_and_return_the_served_version() {
    let fake = FakeV1::new("Pod", "pods");
    fake.put(v1_pod());
    let rest = beta(&fake);
    // A merge patch as the handler would run it: on the v1beta1 object.
    let update: ObjectUpdate = Box::new(|current| {
        let mut object = current.cloned().unwrap();
        assert_eq!(object["apiVersion"], "capstan.dev/v1beta1");
        assert_eq!(object["spec"]["host"], "node-1");
        object["metadata"]["labels"] = json!({"app": "web"});
        Ok(object)
    });
    let (updated, created) = rest
        .update(&ctx(), "web", update, &WriteOptions::default())
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(updated["spec"]["host"], "node-1");
    let mut expected = v1_pod();
    expected["metadata"]["labels"] = json!({"app": "web"});
    assert_eq!(
        fake.stored("web"),
        expected,
        "the gates survive the v1beta1 edit"
    );

    let failing: ObjectUpdate =
        Box::new(|_| Err(ApiError::BadRequest("the client's own error".into())));
    let err = rest
        .update(&ctx(), "web", failing, &WriteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the client's own error");
}

#[tokio::test]
async fn deletes_answer_in_the_served_version() {
    let fake = FakeV1::new("Pod", "pods");
    fake.put(v1_pod());
    match beta(&fake)
        .delete(&ctx(), "web", &DeleteOpts::default())
        .await
        .unwrap()
    {
        DeleteResult::Pending(object) => {
            assert_eq!(object["apiVersion"], "capstan.dev/v1beta1");
            assert_eq!(object["spec"]["host"], "node-1");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn field_selectors_use_the_served_version_names() {
    let fake = FakeV1::new("Pod", "pods");
    let rest = beta(&fake);
    let opts = ListOptions {
        field_selector: FieldSelector::parse("spec.host=node-1,status.phase=Running").unwrap(),
        ..Default::default()
    };
    rest.list(&ctx(), &opts).await.unwrap();
    let seen = fake.seen_field_selector.lock().unwrap().clone().unwrap();
    let fields: Vec<&str> = seen.requirements.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(fields, ["spec.nodeName", "status.phase"]);

    let v1_name = ListOptions {
        field_selector: FieldSelector::parse("spec.nodeName=node-1").unwrap(),
        ..Default::default()
    };
    let err = rest.watch(&ctx(), &v1_name).await.err().unwrap();
    assert_eq!(
        (err.code(), err.to_string()),
        (400, "field label not supported: spec.nodeName".to_string())
    );
}

#[tokio::test]
async fn watch_events_are_converted_including_deletions_and_bookmarks() {
    let fake = FakeV1::new("Pod", "pods");
    fake.put(v1_pod());
    let events: Vec<WatchEvent> = beta(&fake)
        .watch(&ctx(), &ListOptions::default())
        .await
        .unwrap()
        .collect()
        .await;
    let versions: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Added(o)
            | WatchEvent::Modified(o)
            | WatchEvent::Deleted(o)
            | WatchEvent::Bookmark(o) => o["apiVersion"].as_str(),
            WatchEvent::Error(_) => None,
        })
        .collect();
    assert_eq!(versions, ["capstan.dev/v1beta1"; 3]);
    let WatchEvent::Deleted(deleted) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(deleted["spec"]["host"], "node-1");
    assert!(matches!(
        events[3],
        WatchEvent::Error(ApiError::Expired { .. })
    ));
}

#[test]
fn table_rows_come_from_the_storage_version() {
    let fake = FakeV1::new("Pod", "pods");
    let object = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                        "metadata": {"name": "web"}, "spec": {"host": "node-1"}});
    assert_eq!(beta(&fake).table_row(&object), vec![json!("node-1")]);
}

#[tokio::test]
async fn status_answers_pass_unchanged() {
    let fake = FakeV1::new("Binding", "pods/binding");
    let rest = beta(&fake);
    let binding = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Binding",
                         "metadata": {"name": "web"}, "target": {"name": "n"}});
    let answer = rest
        .create(&ctx(), Some("web"), binding, &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(answer["kind"], "Status");
}

/// A foreign subresource (policy/v1 Eviction) and an unregistered kind.
fn hub_map() -> BTreeMap<String, Arc<dyn Rest>> {
    let eviction = Arc::new(FakeV1 {
        descriptor: ResourceDescriptor {
            group: "policy".into(),
            version: "v1".into(),
            kind: "Eviction".into(),
            plural: "pods/eviction".into(),
            ..Default::default()
        },
        objects: Mutex::new(BTreeMap::new()),
        seen_field_selector: Mutex::new(None),
    });
    BTreeMap::from([
        (
            "pods".to_string(),
            FakeV1::new("Pod", "pods") as Arc<dyn Rest>,
        ),
        ("pods/status".to_string(), FakeV1::new("Pod", "pods/status")),
        (
            "pods/binding".to_string(),
            FakeV1::new("Binding", "pods/binding"),
        ),
        ("pods/eviction".to_string(), eviction),
        ("widgets".to_string(), FakeV1::new("Widget", "widgets")),
        (
            "widgets/scale".to_string(),
            FakeV1::new("Scale", "widgets/scale"),
        ),
    ])
}

#[test]
fn a_version_serves_what_the_scheme_registers() {
    let map = serve_version(&scheme(), "capstan.dev", &hub_map(), "v1beta1");
    let paths: Vec<&str> = map.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        ["pods", "pods/binding", "pods/eviction", "pods/status"]
    );
    assert_eq!(map["pods"].descriptor().version, "v1beta1");
    assert_eq!(map["pods/status"].descriptor().plural, "pods/status");
    assert_eq!(map["pods/binding"].descriptor().version, "v1beta1");
    // shared as it is
    assert_eq!(map["pods/eviction"].descriptor().api_version(), "policy/v1");
}

#[test]
fn every_version_of_the_group_in_preference_order() {
    let versions = group_versions(&scheme(), "capstan.dev", "v1", hub_map());
    let names: Vec<&str> = versions.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(names, ["v1", "v1beta1"]);
    assert_eq!(
        versions[0].1.len(),
        6,
        "the storage version serves its map unchanged"
    );
    assert_eq!(versions[1].1.len(), 4);
}

#[test]
fn discovery_hashes_the_storage_version_in_every_version() {
    use crate::endpoints::ApiVersionInfo;
    use crate::endpoints::discovery::{resource_list, storage_version_hash};
    let resources = serve_version(&scheme(), "capstan.dev", &hub_map(), "v1beta1");
    let list = resource_list(
        "capstan.dev",
        &ApiVersionInfo {
            version: "v1beta1".into(),
            resources,
        },
    );
    assert_eq!(list.group_version, "capstan.dev/v1beta1");
    let pods = &list.resources[0];
    assert_eq!(
        (pods.name.as_str(), pods.version.as_deref()),
        ("pods", None)
    );
    assert_eq!(
        pods.storage_version_hash.as_deref(),
        Some(storage_version_hash("capstan.dev", "v1", "Pod").as_str())
    );
}

#[tokio::test]
async fn invalid_causes_name_the_served_version_fields() {
    let fake = FakeV1::new("Pod", "pods");
    let body = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                      "metadata": {"name": "invalid"}, "spec": {"host": "n"}});
    let err = beta(&fake)
        .create(&ctx(), None, body, &WriteOptions::default())
        .await
        .unwrap_err();
    let ApiError::Invalid { causes, .. } = &err else {
        panic!("{err:?}")
    };
    let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["spec.host", "spec.containers"]);
    assert!(
        err.to_string().contains("spec.host: Forbidden: not yet"),
        "{err}"
    );
}
