use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::auth::UserInfo;
use crate::storage::embedded::EmbeddedStorage;

struct Fixture {
    _dir: tempfile::TempDir,
    storage: SharedStorage,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let storage: SharedStorage = Arc::new(
        EmbeddedStorage::open(dir.path().join("db.redb"))
            .await
            .unwrap(),
    );
    Fixture { _dir: dir, storage }
}

async fn put_namespace(storage: &SharedStorage, name: &str, phase: &str) {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "status": {"phase": phase}});
    let key = KeyLayout::new("/capstan", "core", "namespaces").object(None, name);
    storage
        .create(&key, serde_json::to_vec(&ns).unwrap())
        .await
        .unwrap();
}

fn request<'a>(
    op: Operation,
    resource: &'a str,
    ns: Option<&'a str>,
    name: &'a str,
    user: &'a UserInfo,
) -> AdmissionRequest<'a> {
    AdmissionRequest {
        operation: op,
        group: "",
        version: "v1",
        resource,
        subresource: "",
        namespace: ns,
        name,
        user,
        object: None,
    }
}

#[tokio::test]
async fn create_in_a_missing_namespace_is_404_for_the_namespace() {
    let f = fixture().await;
    let lifecycle = NamespaceLifecycle::new(f.storage.clone(), "/capstan");
    let user = UserInfo::default();
    let err = lifecycle
        .admit(&request(
            Operation::Create,
            "configmaps",
            Some("nope"),
            "cm",
            &user,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 404);
    assert_eq!(err.to_string(), "namespaces \"nope\" not found");
    let details = err.to_status().details.unwrap();
    assert_eq!(details.kind.as_deref(), Some("namespaces"));
    assert_eq!(details.name.as_deref(), Some("nope"));
}

#[tokio::test]
async fn create_in_a_terminating_namespace_is_forbidden() {
    let f = fixture().await;
    put_namespace(&f.storage, "dying", "Terminating").await;
    put_namespace(&f.storage, "live", "Active").await;
    let lifecycle = NamespaceLifecycle::new(f.storage.clone(), "/capstan");
    let user = UserInfo::default();
    let err = lifecycle
        .admit(&request(
            Operation::Create,
            "configmaps",
            Some("dying"),
            "cm",
            &user,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 403);
    assert_eq!(err.reason(), "Forbidden");
    assert_eq!(
        err.to_string(),
        "configmaps \"cm\" is forbidden: unable to create new content in namespace dying because it is being terminated"
    );
    // client-go's event recorder and controllers look for this cause to stop retrying.
    let details = err.to_status().details.unwrap();
    assert_eq!(
        (details.kind.as_deref(), details.name.as_deref()),
        (Some("configmaps"), Some("cm"))
    );
    let causes = details.causes.unwrap();
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].reason.as_deref(), Some("NamespaceTerminating"));
    assert_eq!(
        causes[0].message.as_deref(),
        Some("namespace dying is being terminated")
    );
    assert_eq!(causes[0].field.as_deref(), Some("metadata.namespace"));
    lifecycle
        .admit(&request(
            Operation::Create,
            "configmaps",
            Some("live"),
            "cm",
            &user,
        ))
        .await
        .unwrap();
    // Updates and deletes in a terminating namespace go through.
    lifecycle
        .admit(&request(
            Operation::Update,
            "configmaps",
            Some("dying"),
            "cm",
            &user,
        ))
        .await
        .unwrap();
    lifecycle
        .admit(&request(
            Operation::Delete,
            "configmaps",
            Some("dying"),
            "cm",
            &user,
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn cluster_scoped_and_namespace_writes_are_not_checked() {
    let f = fixture().await;
    let lifecycle = NamespaceLifecycle::new(f.storage.clone(), "/capstan");
    let user = UserInfo::default();
    lifecycle
        .admit(&request(Operation::Create, "nodes", None, "n1", &user))
        .await
        .unwrap();
    lifecycle
        .admit(&request(
            Operation::Create,
            "namespaces",
            None,
            "new",
            &user,
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn immortal_namespaces_cannot_be_deleted() {
    let f = fixture().await;
    let lifecycle = NamespaceLifecycle::new(f.storage.clone(), "/capstan");
    let user = UserInfo::default();
    let err = lifecycle
        .admit(&request(
            Operation::Delete,
            "namespaces",
            None,
            "kube-system",
            &user,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 403);
    assert_eq!(
        err.to_string(),
        "namespaces \"kube-system\" is forbidden: this namespace may not be deleted"
    );
    lifecycle
        .admit(&request(
            Operation::Delete,
            "namespaces",
            None,
            "scratch",
            &user,
        ))
        .await
        .unwrap();
}

struct Refuse(&'static str);

#[async_trait]
impl Admit for Refuse {
    async fn admit(&self, _req: &AdmissionRequest<'_>) -> Result<(), ApiError> {
        Err(ApiError::BadRequest(self.0.into()))
    }
}

#[tokio::test]
async fn a_chain_stops_at_the_first_refusal() {
    let user = UserInfo::default();
    let req = request(Operation::Create, "configmaps", Some("ns"), "cm", &user);
    AdmissionChain::default().admit(&req).await.unwrap();
    let chain =
        AdmissionChain::new(vec![Arc::new(Refuse("first"))]).with(Arc::new(Refuse("second")));
    assert_eq!(chain.admit(&req).await.unwrap_err().to_string(), "first");
}
