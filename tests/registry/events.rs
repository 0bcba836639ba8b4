//! core/v1 events through the generic store: the TTL given on every write, field selectors on
//! kube's event labels, and PUT creating a missing event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan::api::options::{ListOptions, WriteOptions};
use capstan::api::selectors::fields::FieldSelector;
use capstan::registry::core::event_storage;
use capstan::registry::{Rest, WatchEvent};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::fixture::*;

fn events(db: &Db, ttl: Duration) -> Arc<dyn Rest> {
    event_storage(db.storage.clone(), PREFIX, ttl)
}

fn event(name: &str, object: &str, reason: &str, kind: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "namespace": "team", "name": object},
        "reason": reason, "type": kind, "message": format!("{reason} {object}"),
        "source": {"component": "kubelet"}, "count": 1,
    })
}

fn selecting(selector: &str) -> ListOptions {
    ListOptions {
        field_selector: FieldSelector::parse(selector).unwrap(),
        ..Default::default()
    }
}

#[tokio::test]
async fn events_expire_a_ttl_after_their_last_write() {
    let db = db().await;
    let ttl = Duration::from_secs(2);
    let evs = events(&db, ttl);
    let mut watch = evs
        .watch(
            &ctx(Some("team")),
            &ListOptions {
                watch: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let first = create(
        evs.as_ref(),
        Some("team"),
        event("a.1", "a", "Pulled", "Normal"),
    )
    .await;
    // A permanent kind next to it does not expire.
    create(
        configmaps(&db).as_ref(),
        Some("team"),
        configmap("kept", json!({})),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut bumped = first.clone();
    bumped["count"] = json!(2);
    let (written, created) = evs
        .update(
            &ctx(Some("team")),
            "a.1",
            put(bumped),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(!created);
    let written_at = Instant::now();

    let mut seen = Vec::new();
    let deleted = loop {
        let event = tokio::time::timeout(Duration::from_secs(15), watch.next())
            .await
            .expect("the event did not expire")
            .expect("the watch ended");
        match event {
            WatchEvent::Deleted(obj) => break obj,
            other => seen.push(other),
        }
    };
    assert!(
        written_at.elapsed() >= ttl - Duration::from_millis(100),
        "expired {:?} after the update",
        written_at.elapsed()
    );
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(deleted["metadata"]["name"], "a.1");
    assert_eq!(deleted["count"], 2, "the deletion carries the last write");
    assert!(rv(&deleted) > rv(&written));
    assert_error(
        &get(evs.as_ref(), Some("team"), "a.1").await.unwrap_err(),
        404,
        "NotFound",
        Some("events \"a.1\" not found"),
    );
    assert!(
        get(configmaps(&db).as_ref(), Some("team"), "kept")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_zero_ttl_keeps_events() {
    let db = db().await;
    let evs = events(&db, Duration::ZERO);
    create(
        evs.as_ref(),
        Some("team"),
        event("a.1", "a", "Pulled", "Normal"),
    )
    .await;
    let short = events(&db, Duration::from_secs(1));
    create(
        short.as_ref(),
        Some("team"),
        event("b.1", "b", "Pulled", "Normal"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(evs.as_ref(), Some("team"), "b.1").await.is_ok() {
        assert!(Instant::now() < deadline, "b.1 never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(get(evs.as_ref(), Some("team"), "a.1").await.is_ok());
}

#[tokio::test]
async fn field_selectors_use_kubes_event_labels() {
    let db = db().await;
    let evs = events(&db, Duration::from_secs(3600));
    for (name, object, reason, kind) in [
        ("web.1", "web", "Pulled", "Normal"),
        ("web.2", "web", "BackOff", "Warning"),
        ("db.1", "db", "Pulled", "Normal"),
    ] {
        create(
            evs.as_ref(),
            Some("team"),
            event(name, object, reason, kind),
        )
        .await;
    }
    let picked = |selector: &'static str| {
        let evs = evs.clone();
        async move {
            let list = list(evs.as_ref(), Some("team"), selecting(selector))
                .await
                .unwrap();
            names(&list.items)
        }
    };
    // What `kubectl events --for pod/web` sends.
    assert_eq!(
        picked("involvedObject.kind=Pod,involvedObject.name=web").await,
        ["web.1", "web.2"]
    );
    assert_eq!(picked("type=Warning").await, ["web.2"]);
    assert_eq!(
        picked("reason=Pulled,involvedObject.name!=web").await,
        ["db.1"]
    );
    assert_eq!(picked("source=kubelet").await.len(), 3);
    let err = list(evs.as_ref(), Some("team"), selecting("spec.nodeName=x"))
        .await
        .unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some("field label not supported: spec.nodeName"),
    );
}

#[tokio::test]
async fn put_creates_a_missing_event_and_validation_is_kubes() {
    let db = db().await;
    let evs = events(&db, Duration::from_secs(3600));
    let mut body = event("new.1", "new", "Created", "Normal");
    body["metadata"]["namespace"] = json!("team");
    let (obj, created) = evs
        .update(
            &ctx(Some("team")),
            "new.1",
            put(body),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(obj["reason"], "Created");

    let mut wrong = event("x.1", "x", "Created", "Normal");
    wrong["involvedObject"]["namespace"] = json!("prod");
    let err = evs
        .create(&ctx(Some("team")), None, wrong, &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "Event \"x.1\" is invalid: involvedObject.namespace: Invalid value: \"prod\": does not match event.namespace",
        ),
    );
}
