use std::time::Duration;

use capstan::api::options::{ListOptions, ResourceVersionMatch, WriteOptions};
use capstan::api::selectors::labels::LabelSelector;
use capstan::registry::{Rest, WatchEvent, WatchEvents};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::fixture::*;

async fn next(events: &mut WatchEvents) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("no watch event within 5s")
        .expect("the watch ended")
}

/// Asserts that nothing arrives for a little while (the stream may also have ended).
async fn quiet(events: &mut WatchEvents) {
    if let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(300), events.next()).await {
        panic!("unexpected event {event:?}");
    }
}

fn kind_and_name(event: &WatchEvent) -> (&'static str, String) {
    let (kind, obj): (&str, &Value) = match event {
        WatchEvent::Added(o) => ("ADDED", o),
        WatchEvent::Modified(o) => ("MODIFIED", o),
        WatchEvent::Deleted(o) => ("DELETED", o),
        WatchEvent::Bookmark(o) => ("BOOKMARK", o),
        WatchEvent::Error(e) => panic!("error event {e}"),
    };
    (
        kind,
        obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn object(event: &WatchEvent) -> &Value {
    match event {
        WatchEvent::Added(o)
        | WatchEvent::Modified(o)
        | WatchEvent::Deleted(o)
        | WatchEvent::Bookmark(o) => o,
        WatchEvent::Error(e) => panic!("error event {e}"),
    }
}

fn from(rv: Option<&str>) -> ListOptions {
    ListOptions {
        resource_version: rv.map(Into::into),
        watch: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn watch_from_now_sends_the_current_state_then_changes() {
    let db = db().await;
    let cms = configmaps(&db);
    let a = create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    create(
        cms.as_ref(),
        Some("other"),
        configmap("elsewhere", json!({})),
    )
    .await;
    let mut events = cms.watch(&ctx(Some("default")), &from(None)).await.unwrap();
    let first = next(&mut events).await;
    assert_eq!(kind_and_name(&first), ("ADDED", "a".into()));
    assert_eq!(object(&first), &a);

    let mut changed = a.clone();
    changed["data"] = json!({"k": "v"});
    cms.update(
        &ctx(Some("default")),
        "a",
        put(changed),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let modified = next(&mut events).await;
    assert_eq!(kind_and_name(&modified), ("MODIFIED", "a".into()));
    assert_eq!(object(&modified)["data"]["k"], "v");

    delete(cms.as_ref(), Some("default"), "a", Default::default())
        .await
        .unwrap();
    let deleted = next(&mut events).await;
    assert_eq!(kind_and_name(&deleted), ("DELETED", "a".into()));
    assert_eq!(
        rv(object(&deleted)),
        db.revision().await,
        "DELETED carries the deletion revision"
    );
    quiet(&mut events).await;
}

#[tokio::test]
async fn watch_from_a_revision_sends_only_later_changes() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let b = create(cms.as_ref(), Some("default"), configmap("b", json!({}))).await;
    create(cms.as_ref(), Some("default"), configmap("c", json!({}))).await;
    let mut events = cms
        .watch(&ctx(Some("default")), &from(Some(&rv(&b).to_string())))
        .await
        .unwrap();
    assert_eq!(
        kind_and_name(&next(&mut events).await),
        ("ADDED", "c".into())
    );
    quiet(&mut events).await;
    // "0" means "from any state", like "": the current state first.
    let mut events = cms
        .watch(&ctx(Some("default")), &from(Some("0")))
        .await
        .unwrap();
    for name in ["a", "b", "c"] {
        assert_eq!(
            kind_and_name(&next(&mut events).await),
            ("ADDED", name.into())
        );
    }
}

#[tokio::test]
async fn watching_from_a_compacted_revision_yields_one_expired_error() {
    let db = db().await;
    let cms = configmaps(&db);
    let a = create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    create(cms.as_ref(), Some("default"), configmap("b", json!({}))).await;
    create(cms.as_ref(), Some("default"), configmap("c", json!({}))).await;
    let compacted = db.revision().await;
    db.storage.compact(compacted).await.unwrap();
    let start = rv(&a) - 1;
    let mut events = cms
        .watch(&ctx(Some("default")), &from(Some(&start.to_string())))
        .await
        .unwrap();
    match next(&mut events).await {
        WatchEvent::Error(err) => {
            assert_error(
                &err,
                410,
                "Expired",
                Some(&format!("too old resource version: {start} ({compacted})")),
            );
        }
        other => panic!("expected an error event, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(1), events.next())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn selector_transitions_become_added_and_deleted() {
    let db = db().await;
    let cms = configmaps(&db);
    let web =
        |name: &str, tier: &str| json!({"metadata": {"name": name, "labels": {"tier": tier}}});
    let opts = ListOptions {
        label_selector: LabelSelector::parse("tier=web").unwrap(),
        ..from(None)
    };
    let mut events = cms.watch(&ctx(Some("default")), &opts).await.unwrap();
    let c = ctx(Some("default"));
    let db_obj = create(cms.as_ref(), Some("default"), web("x", "db")).await;
    let mut moved = db_obj.clone();
    moved["metadata"]["labels"]["tier"] = json!("web");
    let (moved, _) = cms
        .update(&c, "x", put(moved), &WriteOptions::default())
        .await
        .unwrap();
    let added = next(&mut events).await;
    assert_eq!(kind_and_name(&added), ("ADDED", "x".into()));
    let mut away = moved.clone();
    away["metadata"]["labels"]["tier"] = json!("cache");
    let (away, _) = cms
        .update(&c, "x", put(away), &WriteOptions::default())
        .await
        .unwrap();
    let gone = next(&mut events).await;
    assert_eq!(kind_and_name(&gone), ("DELETED", "x".into()));
    // The last state that matched, at the revision of the change that unselected it.
    assert_eq!(object(&gone)["metadata"]["labels"]["tier"], "web");
    assert_eq!(rv(object(&gone)), rv(&away));
    quiet(&mut events).await;
}

#[tokio::test]
async fn watch_list_sends_initial_events_then_a_bookmark() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    create(cms.as_ref(), Some("default"), configmap("b", json!({}))).await;
    let opts = ListOptions {
        send_initial_events: Some(true),
        resource_version_match: Some(ResourceVersionMatch::NotOlderThan),
        allow_watch_bookmarks: true,
        ..from(Some("0"))
    };
    let mut events = cms.watch(&ctx(Some("default")), &opts).await.unwrap();
    assert_eq!(
        kind_and_name(&next(&mut events).await),
        ("ADDED", "a".into())
    );
    assert_eq!(
        kind_and_name(&next(&mut events).await),
        ("ADDED", "b".into())
    );
    let bookmark = next(&mut events).await;
    let obj = object(&bookmark);
    assert!(matches!(bookmark, WatchEvent::Bookmark(_)));
    assert_eq!(obj["kind"], "ConfigMap");
    assert_eq!(
        obj["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(rv(obj), db.revision().await);
    create(cms.as_ref(), Some("default"), configmap("c", json!({}))).await;
    assert_eq!(
        kind_and_name(&next(&mut events).await),
        ("ADDED", "c".into())
    );
}

#[tokio::test]
async fn a_watch_list_from_a_future_revision_is_one_error_event_as_kube_answers() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let current = db.revision().await;
    let future = current + 100;
    let opts = ListOptions {
        send_initial_events: Some(true),
        resource_version_match: Some(ResourceVersionMatch::NotOlderThan),
        allow_watch_bookmarks: true,
        ..from(Some(&future.to_string()))
    };
    let mut events = cms.watch(&ctx(Some("default")), &opts).await.unwrap();
    match next(&mut events).await {
        WatchEvent::Error(err) => assert_error(
            &err,
            504,
            "Timeout",
            Some(&format!(
                "Timeout: Too large resource version: {future}, current: {current}"
            )),
        ),
        other => panic!("expected an error event, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(1), events.next())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_legacy_watch_from_now_with_bookmarks_ends_its_initial_events_like_kube() {
    let db = db().await;
    let cms = configmaps(&db);
    create(cms.as_ref(), Some("default"), configmap("a", json!({}))).await;
    let opts = ListOptions {
        allow_watch_bookmarks: true,
        ..from(None)
    };
    let mut events = cms.watch(&ctx(Some("default")), &opts).await.unwrap();
    assert_eq!(
        kind_and_name(&next(&mut events).await),
        ("ADDED", "a".into())
    );
    let bookmark = next(&mut events).await;
    assert_eq!(
        object(&bookmark)["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    // Without bookmarks, nothing but the objects.
    let mut events = cms
        .watch(&ctx(Some("default")), &from(Some("0")))
        .await
        .unwrap();
    assert_eq!(
        kind_and_name(&next(&mut events).await),
        ("ADDED", "a".into())
    );
    quiet(&mut events).await;
}

#[tokio::test]
async fn invalid_watch_options_are_refused_up_front() {
    let db = db().await;
    let cms = configmaps(&db);
    let opts = ListOptions {
        resource_version_match: Some(ResourceVersionMatch::NotOlderThan),
        ..from(Some("1"))
    };
    let err = cms.watch(&ctx(Some("default")), &opts).await.err().unwrap();
    assert_error(&err, 422, "Invalid", None);
    let err = cms
        .watch(&ctx(Some("default")), &from(Some("x")))
        .await
        .err()
        .unwrap();
    assert_error(&err, 400, "BadRequest", None);
}

#[tokio::test]
async fn periodic_bookmarks_carry_the_newest_revision_even_of_filtered_changes() {
    let db = db().await;
    let pods = pods(&db, TestPods::default()).with_bookmark_interval(Duration::from_millis(300));
    let p = create(&pods, Some("default"), pod("p")).await;
    let opts = ListOptions {
        allow_watch_bookmarks: true,
        label_selector: LabelSelector::parse("app=web").unwrap(),
        ..from(Some(&rv(&p).to_string()))
    };
    let mut events = pods.watch(&ctx(Some("default")), &opts).await.unwrap();
    let first = next(&mut events).await;
    assert!(matches!(first, WatchEvent::Bookmark(_)), "{first:?}");
    assert_eq!(object(&first)["kind"], "Pod");
    assert_eq!(rv(object(&first)), rv(&p));
    assert!(
        object(&first)["metadata"].get("annotations").is_none(),
        "only the end of a watch-list's initial events is annotated"
    );

    // A change the selector leaves out still moves the next bookmark forward.
    let other = create(&pods, Some("default"), pod("q")).await;
    let second = next(&mut events).await;
    assert!(matches!(second, WatchEvent::Bookmark(_)), "{second:?}");
    assert_eq!(rv(object(&second)), rv(&other));

    // Without allowWatchBookmarks there are none.
    let mut quiet_events = pods
        .watch(&ctx(Some("default")), &from(Some(&rv(&other).to_string())))
        .await
        .unwrap();
    if let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(800), quiet_events.next()).await
    {
        panic!("unexpected event {event:?}");
    }
}

/// A watch of a quiet namespace still follows the store: its bookmarks carry the revision the
/// store reached through other keys (as kube's, which etcd's progress notifications move on), so
/// a client resuming from one is not sent back to a compacted revision.
#[tokio::test]
async fn bookmarks_of_a_quiet_watch_follow_other_changes() {
    quiet_watch_bookmarks_follow_the_store(db().await).await;
}

/// The same through the watch cache: its watchers report the progress of its upstream watch,
/// which follows changes outside the cached collection too.
#[tokio::test]
async fn bookmarks_of_a_quiet_watch_follow_other_changes_through_the_watch_cache() {
    let db = behind_watch_cache(db().await, &["configmaps"]).await;
    quiet_watch_bookmarks_follow_the_store(db).await;
}

async fn quiet_watch_bookmarks_follow_the_store(db: Db) {
    let cms = configmaps(&db);
    let start = db.revision().await;
    let opts = ListOptions {
        allow_watch_bookmarks: true,
        // a bookmark goes out two seconds before the deadline, here after three seconds
        timeout_seconds: Some(5),
        ..from(Some(&start.to_string()))
    };
    let mut events = cms.watch(&ctx(Some("quiet")), &opts).await.unwrap();
    for name in ["a", "b", "c"] {
        create(cms.as_ref(), Some("default"), configmap(name, json!({}))).await;
    }
    // The last change is to a key no configmap watch (nor the watch cache's collection) covers.
    db.storage
        .create(&format!("{PREFIX}/elsewhere/x"), b"{}".to_vec())
        .await
        .unwrap();
    let busy = db.revision().await;
    assert!(busy > start);
    let bookmark = next(&mut events).await;
    assert!(matches!(bookmark, WatchEvent::Bookmark(_)), "{bookmark:?}");
    assert_eq!(rv(object(&bookmark)), busy);
}
