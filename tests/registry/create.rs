use std::sync::Arc;

use capstan::api::ApiError;
use capstan::api::options::WriteOptions;
use capstan::auth::Operation;
use capstan::registry::Rest;
use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn create_fills_system_fields_and_returns_the_stored_object() {
    let db = db().await;
    let cms = configmaps(&db);
    let created = create(
        cms.as_ref(),
        Some("default"),
        configmap("a", json!({"k": "v"})),
    )
    .await;
    assert_eq!(created["apiVersion"], "v1");
    assert_eq!(created["kind"], "ConfigMap");
    assert_eq!(created["metadata"]["namespace"], "default");
    let uid = created["metadata"]["uid"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(uid).unwrap().get_version_num(), 4);
    let ts = created["metadata"]["creationTimestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && !ts.contains('.'), "{ts}");
    assert_eq!(rv(&created), db.revision().await);
    let fetched = get(cms.as_ref(), Some("default"), "a").await.unwrap();
    assert_eq!(fetched, created);
    // Stored under DECISIONS.md's key layout, without a resourceVersion.
    let dump = db.dump().await;
    assert_eq!(dump[0].0, "/capstan/core/configmaps/default/a");
    let stored: serde_json::Value = serde_json::from_slice(&dump[0].1).unwrap();
    assert!(stored["metadata"].get("resourceVersion").is_none());
    assert_eq!(stored["kind"], "ConfigMap");
}

#[tokio::test]
async fn missing_api_version_and_kind_are_filled_in() {
    let db = db().await;
    let cms = configmaps(&db);
    let created = create(
        cms.as_ref(),
        Some("default"),
        json!({"metadata": {"name": "a"}}),
    )
    .await;
    assert_eq!(created["kind"], "ConfigMap");
    assert_eq!(created["apiVersion"], "v1");
}

#[tokio::test]
async fn malformed_bodies_are_bad_requests_and_store_nothing() {
    let db = db().await;
    let cms = configmaps(&db);
    let c = ctx(Some("default"));
    let o = WriteOptions::default();
    let cases = [
        (
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}}),
            None,
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            Some(
                "the API version in the data (apps/v1) does not match the expected API version (v1)",
            ),
        ),
        (
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": 5}),
            None,
        ),
        (json!(["not", "an", "object"]), None),
        (
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "other"}}),
            Some(
                "the namespace of the provided object does not match the namespace sent on the request",
            ),
        ),
    ];
    for (body, message) in cases {
        let err = cms.create(&c, None, body, &o).await.unwrap_err();
        assert_error(&err, 400, "BadRequest", message);
    }
    let err = cms
        .create(
            &c,
            None,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": 5}),
            &o,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: "),
        "{err}"
    );
    assert!(db.dump().await.is_empty());
}

#[tokio::test]
async fn namespaced_kinds_need_a_namespace() {
    let db = db().await;
    let cms = configmaps(&db);
    let err = cms
        .create(
            &ctx(None),
            None,
            configmap("a", json!({})),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some("Namespace parameter required."),
    );
}

#[tokio::test]
async fn metadata_errors_are_422_invalid_naming_the_kind() {
    let db = db().await;
    let cms = configmaps(&db);
    let c = ctx(Some("default"));
    let err = cms
        .create(
            &c,
            None,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required",
        ),
    );
    let details = err.to_status().details.unwrap();
    assert_eq!(details.kind.as_deref(), Some("ConfigMap"));
    let causes = details.causes.unwrap();
    assert_eq!(causes[0].field.as_deref(), Some("metadata.name"));
    assert_eq!(causes[0].reason.as_deref(), Some("FieldValueRequired"));

    let err = cms
        .create(
            &c,
            None,
            configmap("Bad_Name", json!({})),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(&err, 422, "Invalid", None);
    assert!(err.to_string().starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
    assert!(db.dump().await.is_empty());
}

#[tokio::test]
async fn strategy_and_metadata_errors_are_reported_together() {
    let db = db().await;
    let pods = pods(&db, TestPods::default());
    let body = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a b": "c"}}, "spec": {"containers": []}});
    let err = pods
        .create(&ctx(Some("default")), None, body, &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(&err, 422, "Invalid", None);
    let fields: Vec<String> = match &err {
        ApiError::Invalid { causes, .. } => causes.iter().map(|c| c.field.clone()).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(fields, vec!["metadata.labels", "spec.containers"]);
}

#[tokio::test]
async fn generate_name_appends_five_random_characters() {
    let db = db().await;
    let cms = configmaps(&db);
    let body =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "web-"}});
    let a = create(cms.as_ref(), Some("default"), body.clone()).await;
    let b = create(cms.as_ref(), Some("default"), body).await;
    let (a, b) = (
        a["metadata"]["name"].as_str().unwrap(),
        b["metadata"]["name"].as_str().unwrap(),
    );
    assert!(a.starts_with("web-") && a.len() == 9, "{a}");
    assert_ne!(a, b);
    let err = cms
        .create(
            &ctx(Some("default")),
            None,
            json!({"metadata": {"generateName": "Bad_"}}),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("metadata.generateName: Invalid value: \"Bad_\""),
        "{text}"
    );
}

#[tokio::test]
async fn creating_an_existing_name_is_409_already_exists() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let before = db.dump().await;
    let err = cms
        .create(
            &ctx(Some("default")),
            None,
            configmap("a", json!({"x": "y"})),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        409,
        "AlreadyExists",
        Some("configmaps \"a\" already exists"),
    );
    assert_eq!(
        err.to_status().details.unwrap().kind.as_deref(),
        Some("configmaps")
    );
    assert_eq!(db.dump().await, before);
    // The same name in another namespace is another object.
    create(cms.as_ref(), Some("other"), configmap("a", json!({}))).await;
}

#[tokio::test]
async fn a_resource_version_in_a_create_body_is_refused() {
    let db = db().await;
    let cms = configmaps(&db);
    let body = json!({"metadata": {"name": "a", "resourceVersion": "5"}});
    let err = cms
        .create(
            &ctx(Some("default")),
            None,
            body.clone(),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    // kube's storage error reaches the client as it is: a 500 without a reason, the bare text.
    let status = err.to_status();
    assert_eq!(status.code, Some(500));
    assert_eq!(status.reason, None);
    assert_eq!(
        status.message.as_deref(),
        Some("resourceVersion should not be set on objects to be created")
    );
    assert!(status.details.is_none());
    assert!(db.dump().await.is_empty());

    // A dry run never reaches the storage check, and "0" (or no revision at all) is dropped.
    let dry = WriteOptions {
        dry_run: true,
        ..Default::default()
    };
    cms.create(&ctx(Some("default")), None, body, &dry)
        .await
        .unwrap();
    assert!(db.dump().await.is_empty());
    for (name, rv) in [("zero", "0"), ("text", "abc")] {
        let body = json!({"metadata": {"name": name, "resourceVersion": rv}});
        let created = create(cms.as_ref(), Some("default"), body).await;
        assert_ne!(created["metadata"]["resourceVersion"], rv, "{created}");
    }
}

#[tokio::test]
async fn admission_sees_the_final_object_and_can_refuse() {
    let db = db().await;
    let cms = configmaps(&db);
    let recorder = Arc::new(Recorder::default());
    let c = ctx_with(Some("ns1"), recorder.clone());
    cms.create(
        &c,
        None,
        json!({"metadata": {"generateName": "g-"}}),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    {
        let seen = recorder.seen.lock().unwrap();
        let (op, resource, sub, ns, name, obj) = &seen[0];
        assert_eq!(*op, Operation::Create);
        assert_eq!(
            (resource.as_str(), sub.as_str(), ns.as_deref()),
            ("configmaps", "", Some("ns1"))
        );
        assert!(name.starts_with("g-") && name.len() == 7);
        let obj = obj.as_ref().unwrap();
        assert_eq!(obj["metadata"]["name"].as_str(), Some(name.as_str()));
        assert!(obj["metadata"]["uid"].is_string());
    }
    let before = db.dump().await;
    *recorder.refuse.lock().unwrap() = Some(ApiError::ForbiddenMessage("no".into()));
    let err = cms
        .create(
            &c,
            None,
            configmap("x", json!({})),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(&err, 403, "Forbidden", Some("no"));
    assert_eq!(db.dump().await, before);
}

#[tokio::test]
async fn dry_run_creates_nothing() {
    let db = db().await;
    let cms = configmaps(&db);
    let opts = WriteOptions {
        dry_run: true,
        ..Default::default()
    };
    let out = cms
        .create(
            &ctx(Some("default")),
            None,
            configmap("a", json!({})),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(out["metadata"]["name"], "a");
    assert!(out["metadata"]["uid"].is_string());
    assert!(db.dump().await.is_empty());
}

#[tokio::test]
async fn cluster_scoped_objects_drop_a_body_namespace() {
    let db = db().await;
    let nss = capstan::registry::core::namespace_storage(db.storage.clone(), PREFIX)["namespaces"]
        .clone();
    let created = create(
        nss.as_ref(),
        None,
        json!({"metadata": {"name": "team", "namespace": "x"}}),
    )
    .await;
    assert!(created["metadata"].get("namespace").is_none());
    assert_eq!(db.dump().await[0].0, "/capstan/core/namespaces/team");
}
