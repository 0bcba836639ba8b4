use std::sync::Arc;

use capstan::api::options::{ListOptions, WriteOptions};
use capstan::api::selectors::fields::FieldSelector;
use capstan::auth::admission::{AdmissionChain, NamespaceLifecycle};
use capstan::registry::core::{configmap_storage, namespace_storage, secret_storage};
use capstan::registry::{DeleteResult, Rest, Verb};
use serde_json::json;

use crate::fixture::*;

fn columns(rest: &dyn Rest) -> Vec<String> {
    rest.table_columns().into_iter().map(|c| c.name).collect()
}

#[tokio::test]
async fn namespaces_start_active_with_the_kubernetes_finalizer() {
    let db = db().await;
    let nss = namespace_storage(db.storage.clone(), PREFIX)["namespaces"].clone();
    let body = json!({"metadata": {"name": "team"}, "status": {"phase": "Terminating"}, "spec": {"finalizers": []}});
    let ns = create(nss.as_ref(), None, body).await;
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team"
    );
    let generated = create(
        nss.as_ref(),
        None,
        json!({"metadata": {"generateName": "tmp-"}}),
    )
    .await;
    let name = generated["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        generated["metadata"]["labels"]["kubernetes.io/metadata.name"],
        name
    );

    // Status and spec finalizers do not change through the main resource.
    let mut changed = ns.clone();
    changed["status"]["phase"] = json!("Terminating");
    changed["spec"]["finalizers"] = json!([]);
    let (updated, _) = nss
        .update(&ctx(None), "team", put(changed), &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(updated["status"]["phase"], "Active");
    assert_eq!(updated["spec"]["finalizers"], json!(["kubernetes"]));

    let row = nss.table_row(&updated);
    assert_eq!(row[0], "team");
    assert_eq!(row[1], "Active");
    assert!(row[2].as_str().unwrap().ends_with('s'));
    assert_eq!(columns(nss.as_ref()), vec!["Name", "Status", "Age"]);
    assert!(!nss.verbs().contains(&Verb::DeleteCollection));

    // The first delete marks the namespace Terminating; the namespace finalizer takes it from
    // there (src/controllers/namespace).
    let DeleteResult::Pending(marked) = nss
        .delete(&ctx(None), "team", &Default::default())
        .await
        .unwrap()
    else {
        panic!("a namespace is not deleted at once");
    };
    assert_eq!(marked["status"]["phase"], "Terminating");
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert!(marked["metadata"]["deletionGracePeriodSeconds"].is_null());
}

#[tokio::test]
async fn namespaces_go_when_their_last_finalizer_does() {
    let db = db().await;
    let map = namespace_storage(db.storage.clone(), PREFIX);
    let (nss, status, finalize) = (
        &map["namespaces"],
        &map["namespaces/status"],
        &map["namespaces/finalize"],
    );
    assert_eq!(
        status.verbs(),
        [Verb::Get, Verb::Patch, Verb::Update].into_iter().collect()
    );
    assert_eq!(finalize.verbs(), [Verb::Update].into_iter().collect());
    let body = json!({"metadata": {"name": "team", "finalizers": ["example.com/meta"]}});
    let created = create(nss.as_ref(), None, body).await;

    // Status: phase rules follow the deletion timestamp; the spec does not change here.
    let mut bad = created.clone();
    bad["status"]["phase"] = json!("Terminating");
    bad["spec"]["finalizers"] = json!([]);
    let err = status
        .update(&ctx(None), "team", put(bad), &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "Namespace \"team\" is invalid: status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty",
        ),
    );

    // Preconditions are checked before anything changes.
    let stale = capstan::api::options::DeleteOpts {
        preconditions: Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions {
                uid: Some("other".into()),
                resource_version: None,
            },
        ),
        ..Default::default()
    };
    let err = nss.delete(&ctx(None), "team", &stale).await.unwrap_err();
    assert_error(&err, 409, "Conflict", None);
    assert!(
        err.to_string()
            .contains("Precondition failed: UID in precondition: other, UID in object meta: "),
        "{err}"
    );

    // Dry run: the answer shows the mark, storage keeps the namespace as it was.
    let dry = capstan::api::options::DeleteOpts {
        dry_run: Some(vec!["All".into()]),
        ..Default::default()
    };
    let DeleteResult::Pending(shown) = nss.delete(&ctx(None), "team", &dry).await.unwrap() else {
        panic!("dry run");
    };
    assert_eq!(shown["status"]["phase"], "Terminating");
    let now = get(nss.as_ref(), None, "team").await.unwrap();
    assert_eq!(now["status"]["phase"], "Active");

    nss.delete(&ctx(None), "team", &Default::default())
        .await
        .unwrap();
    let terminating = get(nss.as_ref(), None, "team").await.unwrap();

    // /finalize empties the spec finalizers; the metadata finalizer still holds the namespace.
    let mut finalized = terminating.clone();
    finalized["spec"]["finalizers"] = json!([]);
    finalized["status"]["phase"] = json!("Active");
    let (after, _) = finalize
        .update(&ctx(None), "team", put(finalized), &WriteOptions::default())
        .await
        .unwrap();
    // The emptied `omitempty` list is left out, as kube's encoding of the Go type does.
    assert_eq!(after["spec"], json!({}));
    assert_eq!(
        after["status"]["phase"], "Terminating",
        "/finalize keeps the status"
    );
    // Deleting again now goes to the generic store, which waits for the metadata finalizer.
    assert!(matches!(
        nss.delete(&ctx(None), "team", &Default::default())
            .await
            .unwrap(),
        DeleteResult::Pending(_)
    ));

    // Removing the metadata finalizer through the main resource deletes the namespace.
    let mut released = get(nss.as_ref(), None, "team").await.unwrap();
    released["metadata"]["finalizers"] = json!([]);
    nss.update(&ctx(None), "team", put(released), &WriteOptions::default())
        .await
        .unwrap();
    assert_error(
        &get(nss.as_ref(), None, "team").await.unwrap_err(),
        404,
        "NotFound",
        None,
    );
}

#[tokio::test]
async fn namespace_names_are_dns_labels() {
    let db = db().await;
    let nss = namespace_storage(db.storage.clone(), PREFIX)["namespaces"].clone();
    let err = nss
        .create(
            &ctx(None),
            None,
            json!({"metadata": {"name": "a.b"}}),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": must not contain dots",
        ),
    );
    let err = nss
        .create(
            &ctx(None),
            None,
            json!({"metadata": {"name": "x"}, "spec": {"finalizers": ["custom"]}}),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"));
    let phase = ListOptions {
        field_selector: FieldSelector::parse("status.phase=Active").unwrap(),
        ..Default::default()
    };
    nss.list(&ctx(None), &phase).await.unwrap();
}

#[tokio::test]
async fn configmap_keys_and_size_are_validated() {
    let db = db().await;
    let cms = configmap_storage(db.storage.clone(), PREFIX);
    let c = ctx(Some("default"));
    let body = json!({"metadata": {"name": "a"}, "data": {"bad key": "x", "dup": "1"}, "binaryData": {"dup": "AQ=="}});
    let err = cms
        .create(&c, None, body, &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(&err, 422, "Invalid", None);
    let text = err.to_string();
    assert!(text.contains("data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"), "{text}");
    assert!(
        text.contains("data[dup]: Invalid value: \"dup\": duplicate of key present in binaryData"),
        "{text}"
    );
    let big = "x".repeat(1024 * 1024 + 1);
    let err = cms
        .create(
            &c,
            None,
            json!({"metadata": {"name": "big"}, "data": {"k": big}}),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("[]: Too long: may not be more than 1048576 bytes"),
        "{err}"
    );
    assert!(db.dump().await.is_empty());

    let ok = create(
        cms.as_ref(),
        Some("default"),
        json!({"metadata": {"name": "ok"}, "data": {"a": "1"}, "binaryData": {"b": "AQ=="}}),
    )
    .await;
    assert_eq!(columns(cms.as_ref()), vec!["Name", "Data", "Age"]);
    let row = cms.table_row(&ok);
    assert_eq!((row[0].clone(), row[1].clone()), (json!("ok"), json!(2)));

    // An update checks the metadata as new and as updated; each error is reported once, as a
    // real kube-apiserver answers.
    let mut bad = ok.clone();
    bad["metadata"]["labels"] = json!({"bad label": "x", "ok": "bad value!"});
    let err = cms
        .update(&c, "ok", put(bad), &WriteOptions::default())
        .await
        .unwrap_err();
    let capstan::api::ApiError::Invalid { causes, .. } = &err else {
        panic!("{err:?}");
    };
    let fields: Vec<String> = causes.iter().map(ToString::to_string).collect();
    assert_eq!(fields.len(), 2, "{fields:#?}");
    assert!(fields[0].starts_with("metadata.labels: Invalid value: \"bad label\""));
    assert!(fields[1].starts_with("metadata.labels: Invalid value: \"bad value!\""));
}

#[tokio::test]
async fn secrets_default_their_type_and_merge_string_data() {
    let db = db().await;
    let secrets = secret_storage(db.storage.clone(), PREFIX);
    let s = create(
        secrets.as_ref(),
        Some("default"),
        json!({"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hello"}}),
    )
    .await;
    assert_eq!(s["type"], "Opaque");
    assert_eq!(s["data"]["b"], "aGVsbG8=");
    assert!(s.get("stringData").is_none());
    assert_eq!(
        columns(secrets.as_ref()),
        vec!["Name", "Type", "Data", "Age"]
    );
    let row = secrets.table_row(&s);
    assert_eq!(
        (row[1].clone(), row[2].clone()),
        (json!("Opaque"), json!(2))
    );

    let by_type = ListOptions {
        field_selector: FieldSelector::parse("type=Opaque").unwrap(),
        ..Default::default()
    };
    assert_eq!(
        secrets
            .list(&ctx(Some("default")), &by_type)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let err = secrets
        .list(
            &ctx(Some("default")),
            &ListOptions {
                field_selector: FieldSelector::parse("data=1").unwrap(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some("field label not supported: data"),
    );
}

#[tokio::test]
async fn secret_types_need_their_keys_and_keep_their_type() {
    let db = db().await;
    let secrets = secret_storage(db.storage.clone(), PREFIX);
    let c = ctx(Some("default"));
    let tls = json!({"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
    let err = secrets
        .create(&c, None, tls, &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some("Secret \"t\" is invalid: data[tls.key]: Required value"),
    );

    let mut body =
        json!({"metadata": {"name": "frozen"}, "data": {"a": "eA=="}, "immutable": true});
    let created = create(secrets.as_ref(), Some("default"), body.clone()).await;
    body = created.clone();
    body["data"]["a"] = json!("eQ==");
    body["type"] = json!("kubernetes.io/basic-auth");
    let err = secrets
        .update(&c, "frozen", put(body), &WriteOptions::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"),
        "{text}"
    );
    assert!(
        text.contains("data: Forbidden: field is immutable when `immutable` is set"),
        "{text}"
    );
}

#[tokio::test]
async fn namespace_lifecycle_guards_creates_through_the_store() {
    let db = db().await;
    let admission = Arc::new(
        AdmissionChain::default().with(Arc::new(NamespaceLifecycle::new(
            db.storage.clone(),
            PREFIX,
        ))),
    );
    let nss = namespace_storage(db.storage.clone(), PREFIX)["namespaces"].clone();
    let cms = configmap_storage(db.storage.clone(), PREFIX);
    let err = cms
        .create(
            &ctx_with(Some("missing"), admission.clone()),
            None,
            configmap("a", json!({})),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        404,
        "NotFound",
        Some("namespaces \"missing\" not found"),
    );
    assert!(db.dump().await.is_empty());
    nss.create(
        &ctx_with(None, admission.clone()),
        None,
        json!({"metadata": {"name": "missing"}}),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    cms.create(
        &ctx_with(Some("missing"), admission.clone()),
        None,
        configmap("a", json!({})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    create(nss.as_ref(), None, json!({"metadata": {"name": "default"}})).await;
    let err = nss
        .delete(
            &ctx_with(None, admission.clone()),
            "default",
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        403,
        "Forbidden",
        Some("namespaces \"default\" is forbidden: this namespace may not be deleted"),
    );
    get(nss.as_ref(), None, "default").await.unwrap();
}
