use capstan::api::options::{DeleteOpts, WriteOptions};
use capstan::registry::{DeleteResult, Rest};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Preconditions;
use serde_json::{Value, json};

use crate::fixture::*;

fn grace(seconds: i64) -> DeleteOpts {
    DeleteOpts {
        grace_period_seconds: Some(seconds),
        ..Default::default()
    }
}

fn pending(result: DeleteResult) -> Value {
    match result {
        DeleteResult::Pending(obj) => obj,
        other => panic!("expected a pending deletion, got {other:?}"),
    }
}

fn deleted(result: DeleteResult) -> (Value, bool) {
    match result {
        DeleteResult::Deleted {
            object,
            return_object,
        } => (object, return_object),
        other => panic!("expected a completed deletion, got {other:?}"),
    }
}

fn deletion_in(obj: &Value) -> i64 {
    let at: jiff::Timestamp = obj["metadata"]["deletionTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    at.duration_since(jiff::Timestamp::now()).as_secs()
}

#[tokio::test]
async fn delete_removes_the_object_and_reports_it() {
    let db = db().await;
    let cms = configmaps(&db);
    let created = create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let (object, return_object) = deleted(
        delete(cms.as_ref(), Some("default"), "a", DeleteOpts::default())
            .await
            .unwrap(),
    );
    assert!(!return_object, "configmaps answer with a Status");
    assert_eq!(object["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(rv(&object), rv(&created));
    let err = get(cms.as_ref(), Some("default"), "a").await.unwrap_err();
    assert_error(&err, 404, "NotFound", Some("configmaps \"a\" not found"));
    let err = delete(cms.as_ref(), Some("default"), "a", DeleteOpts::default())
        .await
        .unwrap_err();
    assert_error(&err, 404, "NotFound", Some("configmaps \"a\" not found"));
}

#[tokio::test]
async fn failed_preconditions_are_409_with_kube_reasons() {
    let db = db().await;
    let cms = configmaps(&db);
    let created = create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();
    let before = db.dump().await;
    let wrong_uid = DeleteOpts {
        preconditions: Some(Preconditions {
            uid: Some("other".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let err = delete(cms.as_ref(), Some("default"), "a", wrong_uid)
        .await
        .unwrap_err();
    assert_error(
        &err,
        409,
        "Conflict",
        Some(&format!(
            "Operation cannot be fulfilled on ConfigMap \"a\": the UID in the precondition (other) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
        )),
    );
    let wrong_rv = DeleteOpts {
        preconditions: Some(Preconditions {
            uid: Some(uid.clone()),
            resource_version: Some("1".into()),
        }),
        ..Default::default()
    };
    let err = delete(cms.as_ref(), Some("default"), "a", wrong_rv)
        .await
        .unwrap_err();
    assert_error(&err, 409, "Conflict", None);
    assert!(err.to_string().ends_with(&format!(
        "the ResourceVersion in the precondition (1) does not match the ResourceVersion in record ({}). The object might have been modified",
        rv(&created)
    )));
    let bad_policy = DeleteOpts {
        propagation_policy: Some("Never".into()),
        ..Default::default()
    };
    assert_error(
        &delete(cms.as_ref(), Some("default"), "a", bad_policy)
            .await
            .unwrap_err(),
        422,
        "Invalid",
        None,
    );
    assert_eq!(db.dump().await, before);
    let right = DeleteOpts {
        preconditions: Some(Preconditions {
            uid: Some(uid),
            resource_version: Some(rv(&created).to_string()),
        }),
        ..Default::default()
    };
    deleted(
        delete(cms.as_ref(), Some("default"), "a", right)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn finalizers_turn_a_delete_into_a_mark() {
    let db = db().await;
    let cms = configmaps(&db);
    let mut body = configmap("a", json!({}));
    body["metadata"]["finalizers"] = json!(["example.com/hold"]);
    create(cms.as_ref(), Some("default"), body).await;
    let marked = pending(
        delete(cms.as_ref(), Some("default"), "a", DeleteOpts::default())
            .await
            .unwrap(),
    );
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(
        get(cms.as_ref(), Some("default"), "a").await.unwrap(),
        marked
    );
    // Deleting again changes nothing.
    let again = pending(
        delete(cms.as_ref(), Some("default"), "a", DeleteOpts::default())
            .await
            .unwrap(),
    );
    assert_eq!(rv(&again), rv(&marked));
    // New finalizers may not be added while deleting.
    let mut more = marked.clone();
    more["metadata"]["finalizers"] = json!(["example.com/hold", "example.com/more"]);
    let err = cms
        .update(
            &ctx(Some("default")),
            "a",
            put(more),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(&err, 422, "Invalid", None);
    // Removing the last finalizer finishes the deletion.
    let mut released = marked.clone();
    released["metadata"]["finalizers"] = json!([]);
    cms.update(
        &ctx(Some("default")),
        "a",
        put(released),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    assert_error(
        &get(cms.as_ref(), Some("default"), "a").await.unwrap_err(),
        404,
        "NotFound",
        None,
    );
}

#[tokio::test]
async fn graceful_deletion_sets_the_deadline_and_only_shortens_it() {
    let db = db().await;
    let pods = pods(
        &db,
        TestPods {
            graceful: Some(30),
            ..Default::default()
        },
    );
    let c = ctx(Some("default"));
    let mut body = pod("p");
    body["metadata"]["generation"] = json!(1);
    pods.create(&c, None, body, &WriteOptions::default())
        .await
        .unwrap();

    let first = pending(pods.delete(&c, "p", &DeleteOpts::default()).await.unwrap());
    assert_eq!(first["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!((28..=30).contains(&deletion_in(&first)), "{first}");
    assert_eq!(first["metadata"]["generation"], 2);

    // A longer grace leaves the running deletion as it is.
    let (same, returned) = deleted(pods.delete(&c, "p", &grace(60)).await.unwrap());
    assert!(returned, "this kind answers with the object");
    assert_eq!(rv(&same), rv(&first));

    // A shorter one moves the deadline closer.
    let shorter = pending(pods.delete(&c, "p", &grace(10)).await.unwrap());
    assert_eq!(shorter["metadata"]["deletionGracePeriodSeconds"], 10);
    assert!((8..=10).contains(&deletion_in(&shorter)), "{shorter}");

    // Grace 0 removes it.
    let (gone, _) = deleted(pods.delete(&c, "p", &grace(0)).await.unwrap());
    assert_eq!(gone["metadata"]["name"], "p");
    assert_error(
        &pods.get(&c, "p", &Default::default()).await.unwrap_err(),
        404,
        "NotFound",
        None,
    );
}

#[tokio::test]
async fn a_negative_grace_becomes_one_second() {
    let db = db().await;
    let pods = pods(
        &db,
        TestPods {
            graceful: Some(30),
            ..Default::default()
        },
    );
    let c = ctx(Some("default"));
    pods.create(&c, None, pod("p"), &WriteOptions::default())
        .await
        .unwrap();
    let marked = pending(pods.delete(&c, "p", &grace(-5)).await.unwrap());
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 1);
}

#[tokio::test]
async fn graceful_kinds_with_grace_zero_are_removed_at_once() {
    let db = db().await;
    let pods = pods(
        &db,
        TestPods {
            graceful: Some(30),
            ..Default::default()
        },
    );
    let c = ctx(Some("default"));
    pods.create(&c, None, pod("p"), &WriteOptions::default())
        .await
        .unwrap();
    let (last, _) = deleted(pods.delete(&c, "p", &grace(0)).await.unwrap());
    assert!(
        last["metadata"]["deletionTimestamp"].is_string(),
        "the last state carries the deletion mark"
    );
    assert!(db.dump().await.is_empty());
}

#[tokio::test]
async fn dry_run_deletes_nothing() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let before = db.dump().await;
    let opts = DeleteOpts {
        dry_run: Some(vec!["All".into()]),
        ..Default::default()
    };
    deleted(
        delete(cms.as_ref(), Some("default"), "a", opts)
            .await
            .unwrap(),
    );
    assert_eq!(db.dump().await, before);
}
