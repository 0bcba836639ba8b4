use capstan::api::options::WriteOptions;
use capstan::registry::Rest;
use serde_json::{Value, json};

use crate::fixture::*;

async fn update(
    rest: &dyn Rest,
    ns: &str,
    name: &str,
    body: Value,
) -> Result<(Value, bool), capstan::api::ApiError> {
    rest.update(&ctx(Some(ns)), name, put(body), &WriteOptions::default())
        .await
}

#[tokio::test]
async fn update_with_the_current_resource_version_writes_a_new_one() {
    let db = db().await;
    let cms = configmaps(&db);
    let created = create(
        cms.as_ref(),
        Some("default"),
        configmap("a", json!({"k": "1"})),
    )
    .await;
    let mut body = created.clone();
    body["data"]["k"] = json!("2");
    let (updated, was_created) = update(cms.as_ref(), "default", "a", body).await.unwrap();
    assert!(!was_created);
    assert_eq!(updated["data"]["k"], "2");
    assert!(rv(&updated) > rv(&created));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(
        get(cms.as_ref(), Some("default"), "a").await.unwrap(),
        updated
    );
}

#[tokio::test]
async fn a_stale_resource_version_is_a_409_conflict() {
    let db = db().await;
    let cms = configmaps(&db);
    let created = create(
        cms.as_ref(),
        Some("default"),
        configmap("a", json!({"k": "1"})),
    )
    .await;
    let mut newer = created.clone();
    newer["data"]["k"] = json!("2");
    update(cms.as_ref(), "default", "a", newer).await.unwrap();
    let before = db.dump().await;
    let mut stale = created.clone();
    stale["data"]["k"] = json!("3");
    let err = update(cms.as_ref(), "default", "a", stale)
        .await
        .unwrap_err();
    assert_error(
        &err,
        409,
        "Conflict",
        Some(
            "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again",
        ),
    );
    assert_eq!(db.dump().await, before);
}

#[tokio::test]
async fn an_empty_resource_version_is_last_write_wins_where_allowed() {
    let db = db().await;
    let cms = configmaps(&db);
    create(
        cms.as_ref(),
        Some("default"),
        configmap("a", json!({"k": "1"})),
    )
    .await;
    let (updated, _) = update(
        cms.as_ref(),
        "default",
        "a",
        configmap("a", json!({"k": "9"})),
    )
    .await
    .unwrap();
    assert_eq!(updated["data"]["k"], "9");
    // The uid and creationTimestamp the body left out are carried over.
    assert!(updated["metadata"]["uid"].is_string());
    assert!(updated["metadata"]["creationTimestamp"].is_string());

    let strict = pods(
        &db,
        TestPods {
            conditional_only: true,
            ..Default::default()
        },
    );
    strict
        .create(
            &ctx(Some("default")),
            None,
            pod("p"),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    let err = strict
        .update(
            &ctx(Some("default")),
            "p",
            put(pod("p")),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "pods \"p\" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update",
        ),
    );
}

#[tokio::test]
async fn updating_a_missing_object_is_404_unless_the_strategy_creates() {
    let db = db().await;
    let cms = configmaps(&db);
    let err = update(
        cms.as_ref(),
        "default",
        "ghost",
        configmap("ghost", json!({})),
    )
    .await
    .unwrap_err();
    assert_error(
        &err,
        404,
        "NotFound",
        Some("configmaps \"ghost\" not found"),
    );
    assert!(db.dump().await.is_empty());

    let upserting = pods(
        &db,
        TestPods {
            create_on_update: true,
            ..Default::default()
        },
    );
    let (created, was_created) = upserting
        .update(
            &ctx(Some("default")),
            "p",
            put(pod("p")),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(was_created);
    assert!(created["metadata"]["uid"].is_string());
    assert_eq!(rv(&created), db.revision().await);
}

#[tokio::test]
async fn name_and_namespace_in_the_body_must_match_the_url() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let before = db.dump().await;
    let err = update(cms.as_ref(), "default", "a", configmap("b", json!({})))
        .await
        .unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some("the name of the object (b) does not match the name on the URL (a)"),
    );
    let mut other_ns = configmap("a", json!({}));
    other_ns["metadata"]["namespace"] = json!("elsewhere");
    let err = update(cms.as_ref(), "default", "a", other_ns)
        .await
        .unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some(
            "the namespace of the provided object does not match the namespace sent on the request",
        ),
    );
    let err = update(
        cms.as_ref(),
        "default",
        "a",
        json!({"kind": "Secret", "metadata": {"name": "a"}}),
    )
    .await
    .unwrap_err();
    assert_error(&err, 400, "BadRequest", None);
    let err = update(
        cms.as_ref(),
        "default",
        "a",
        json!({"metadata": {"name": "a", "resourceVersion": "x1"}}),
    )
    .await
    .unwrap_err();
    assert_error(&err, 400, "BadRequest", None);
    assert_eq!(db.dump().await, before);
}

#[tokio::test]
async fn a_different_uid_in_the_body_is_a_precondition_conflict() {
    let db = db().await;
    let cms = configmaps(&db);
    let created = create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let mut body = created.clone();
    body["metadata"]["uid"] = json!("someone-else");
    let err = update(cms.as_ref(), "default", "a", body)
        .await
        .unwrap_err();
    assert_error(&err, 409, "Conflict", None);
    assert!(
        err.to_string()
            .contains("Precondition failed: UID in precondition: someone-else")
    );
}

#[tokio::test]
async fn a_no_op_update_keeps_the_resource_version() {
    let db = db().await;
    let cms = configmaps(&db);
    let created = create(
        cms.as_ref(),
        Some("default"),
        configmap("a", json!({"k": "v"})),
    )
    .await;
    let (same, _) = update(cms.as_ref(), "default", "a", created.clone())
        .await
        .unwrap();
    assert_eq!(rv(&same), rv(&created));
    assert_eq!(db.revision().await, rv(&created));
}

#[tokio::test]
async fn immutable_metadata_and_strategy_rules_are_422() {
    let db = db().await;
    let cms = configmaps(&db);
    let mut body = configmap("a", json!({"k": "v"}));
    body["immutable"] = json!(true);
    let created = create(cms.as_ref(), Some("default"), body).await;
    let before = db.dump().await;
    let mut changed = created.clone();
    changed["data"]["k"] = json!("other");
    changed["metadata"]["labels"] = json!({"bad key!": "x"});
    let err = update(cms.as_ref(), "default", "a", changed)
        .await
        .unwrap_err();
    assert_error(&err, 422, "Invalid", None);
    let text = err.to_string();
    assert!(
        text.contains("metadata.labels: Invalid value: \"bad key!\""),
        "{text}"
    );
    assert!(
        text.contains("data: Forbidden: field is immutable when `immutable` is set"),
        "{text}"
    );
    assert_eq!(db.dump().await, before);
}

// Multi-threaded so the update function can make the racing write synchronously (through
// `block_in_place`) while other workers keep the backend's connection going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_update_function_sees_the_current_object_and_reruns_on_a_lost_race() {
    let db = db().await;
    let cms = configmaps(&db);
    create(
        cms.as_ref(),
        Some("default"),
        configmap("a", json!({"n": "0"})),
    )
    .await;
    let storage = db.storage.clone();
    let mut raced = false;
    // A PATCH-like update that increments a counter; the first attempt loses a race to a
    // concurrent write made from inside it, so the store must re-read and re-apply.
    let patch: capstan::registry::ObjectUpdate = Box::new(move |current| {
        let mut obj = current.cloned().unwrap();
        let n: i64 = obj["data"]["n"].as_str().unwrap().parse().unwrap();
        if !raced {
            raced = true;
            let storage = storage.clone();
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    let key = "/capstan/core/configmaps/default/a";
                    let kv = storage.get(key).await.unwrap().unwrap();
                    let mut v: Value = serde_json::from_slice(&kv.value).unwrap();
                    v["data"]["n"] = json!("10");
                    let bytes = serde_json::to_vec(&v).unwrap();
                    storage.update(key, bytes, kv.mod_revision).await.unwrap();
                })
            });
        }
        obj["data"]["n"] = json!((n + 1).to_string());
        Ok(obj)
    });
    let (out, _) = cms
        .update(&ctx(Some("default")), "a", patch, &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(out["data"]["n"], "11");
}

#[tokio::test]
async fn typed_helpers_read_and_change_objects_for_subresources() {
    let db = db().await;
    let pods = pods(&db, TestPods::default());
    let c = ctx(Some("default"));
    let created = pods
        .create(&c, None, pod("p"), &WriteOptions::default())
        .await
        .unwrap();
    let typed = pods.get_object(&c, "p").await.unwrap();
    assert_eq!(
        typed.metadata.resource_version.as_deref(),
        created["metadata"]["resourceVersion"].as_str()
    );

    // A binding-like change: set the node once, refuse the second time.
    let bind = |node: &'static str| {
        move |pod: &mut k8s_openapi::api::core::v1::Pod| {
            let spec = pod.spec.get_or_insert_with(Default::default);
            if spec.node_name.is_some() {
                return Err(capstan::api::ApiError::Conflict {
                    resource: capstan::api::GroupResource::new("", "pods"),
                    name: "p".into(),
                    reason: "pod p is already assigned".into(),
                });
            }
            spec.node_name = Some(node.into());
            Ok(())
        }
    };
    let bound = pods.update_object(&c, "p", bind("n1")).await.unwrap();
    assert_eq!(bound.spec.unwrap().node_name.as_deref(), Some("n1"));
    assert_eq!(
        bound.metadata.resource_version,
        Some(db.revision().await.to_string())
    );
    let before = db.dump().await;
    let err = pods.update_object(&c, "p", bind("n2")).await.unwrap_err();
    assert_error(&err, 409, "Conflict", None);
    assert_eq!(db.dump().await, before);
    let err = pods
        .update_object(&c, "ghost", bind("n1"))
        .await
        .unwrap_err();
    assert_error(&err, 404, "NotFound", Some("pods \"ghost\" not found"));
    // Kinds without their own columns print kube's default table.
    let columns: Vec<String> = pods.table_columns().into_iter().map(|c| c.name).collect();
    assert_eq!(columns, vec!["Name", "Created At"]);
    assert_eq!(pods.table_row(&created)[0], "p");
}
