//! events.k8s.io/v1 events over the core/v1 events' storage: one object read and written
//! through both APIs, kube's strict rules for the new API only, its field labels, and the TTL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan::api::options::{ListOptions, WriteOptions};
use capstan::api::selectors::fields::FieldSelector;
use capstan::registry::core::event_storage;
use capstan::registry::events::events_storage;
use capstan::registry::{Rest, WatchEvent};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::fixture::*;

const HOUR: Duration = Duration::from_secs(3600);

/// The two APIs over one database.
fn both(db: &Db, ttl: Duration) -> (Arc<dyn Rest>, Arc<dyn Rest>) {
    (
        event_storage(db.storage.clone(), PREFIX, ttl),
        events_storage(db.storage.clone(), PREFIX, ttl),
    )
}

/// What kube-rs's `Recorder` and client-go's events recorder post.
fn new_event(name: &str, pod: &str) -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "team"},
        "regarding": {"apiVersion": "v1", "kind": "Pod", "namespace": "team", "name": pod},
        "note": format!("pulled the image of {pod}"), "reason": "Pulled", "action": "Pull",
        "type": "Normal", "eventTime": "2026-01-02T03:04:05.123456Z",
        "reportingController": "capstan.dev/kubelet", "reportingInstance": "node-1",
    })
}

fn merge(patch: Value) -> capstan::registry::ObjectUpdate {
    Box::new(move |current| {
        let mut next = current.cloned().unwrap();
        json_patch::merge(&mut next, &patch);
        Ok(next)
    })
}

#[tokio::test]
async fn an_event_written_in_either_api_reads_back_in_the_other() {
    let db = db().await;
    let (core, events) = both(&db, HOUR);
    let created = create(events.as_ref(), Some("team"), new_event("web.1", "web")).await;
    assert_eq!(created["apiVersion"], "events.k8s.io/v1");
    assert_eq!(created["regarding"]["name"], "web");

    let read = get(core.as_ref(), Some("team"), "web.1").await.unwrap();
    assert_eq!(read["apiVersion"], "v1");
    assert_eq!(read["involvedObject"]["name"], "web");
    assert_eq!(read["message"], "pulled the image of web");
    assert_eq!(read["reportingComponent"], "capstan.dev/kubelet");
    assert_eq!(read["reportingInstance"], "node-1");
    assert_eq!(read["eventTime"], "2026-01-02T03:04:05.123456Z");
    assert_eq!(
        read["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    let old = create(
        core.as_ref(),
        Some("team"),
        json!({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "db.1"},
            "involvedObject": {"kind": "Pod", "namespace": "team", "name": "db"},
            "reason": "BackOff", "message": "restarting", "type": "Warning", "count": 4,
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:09:05Z",
        }),
    )
    .await;
    let read = get(events.as_ref(), Some("team"), "db.1").await.unwrap();
    assert_eq!(read["apiVersion"], "events.k8s.io/v1");
    assert_eq!(read["regarding"]["name"], "db");
    assert_eq!(read["note"], "restarting");
    assert_eq!(read["deprecatedCount"], 4);
    assert_eq!(read["deprecatedSource"]["host"], "n1");
    assert_eq!(read["deprecatedFirstTimestamp"], "2026-01-02T03:04:05Z");
    assert_eq!(read["deprecatedLastTimestamp"], "2026-01-02T03:09:05Z");
    assert!(read.get("involvedObject").is_none());

    let listed = list(events.as_ref(), Some("team"), ListOptions::default())
        .await
        .unwrap();
    assert_eq!(names(&listed.items), ["db.1", "web.1"]);
    assert!(
        listed
            .items
            .iter()
            .all(|e| e["apiVersion"] == "events.k8s.io/v1")
    );
    // an event the old API wrote stays writable through it, whatever the new API requires
    let (bumped, _) = core
        .update(
            &ctx(Some("team")),
            "db.1",
            merge(json!({"count": 5})),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(rv(&bumped) > rv(&old));
}

#[tokio::test]
async fn the_new_api_has_kubes_strict_rules() {
    let db = db().await;
    let (core, events) = both(&db, HOUR);
    // without eventTime the legacy rules ask nothing of the reporter; the strict ones do
    let mut bad = new_event("web.1", "web");
    let body = bad.as_object_mut().unwrap();
    for field in ["eventTime", "action", "reportingController"] {
        body.remove(field);
    }
    body.insert("type".into(), json!("Odd"));
    body.insert("deprecatedCount".into(), json!(2));
    let err = events
        .create(&ctx(Some("team")), None, bad, &WriteOptions::default())
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "Event \"web.1\" is invalid: [eventTime: Required value, type: Invalid value: \"\": has invalid value: Odd, \
             count: Invalid value: \"\": needs to be unset]",
        ),
    );
    let mut no_controller = new_event("web.2", "web");
    no_controller["reportingController"] = json!("");
    no_controller["action"] = json!("");
    no_controller["metadata"]["name"] = json!("Web.2");
    let err = events
        .create(
            &ctx(Some("team")),
            None,
            no_controller,
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("metadata.name: Invalid value: \"Web.2\": a lowercase RFC 1123 subdomain"),
        "{text}"
    );
    assert!(
        text.contains("reportingController: Required value"),
        "{text}"
    );
    assert!(text.contains("action: Required value"), "{text}");
    assert!(get(core.as_ref(), Some("team"), "web.1").await.is_err());

    // core/v1 keeps its legacy rules for the same body
    let mut legacy = new_event("web.3", "web");
    legacy["deprecatedCount"] = json!(2);
    let legacy = capstan::registry::events::rest::to_core(legacy).unwrap();
    create(core.as_ref(), Some("team"), legacy).await;

    // a series may grow; what the event says may not change
    create(events.as_ref(), Some("team"), new_event("web.4", "web")).await;
    let series = json!({"series": {"count": 2, "lastObservedTime": "2026-01-02T03:05:05.000000Z"}});
    let (grown, created) = events
        .update(
            &ctx(Some("team")),
            "web.4",
            merge(series),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(grown["series"]["count"], 2);
    let err = events
        .update(
            &ctx(Some("team")),
            "web.4",
            merge(json!({"note": "other", "series": {"count": 1}})),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_error(
        &err,
        422,
        "Invalid",
        Some(
            "Event \"web.4\" is invalid: [series.count: Invalid value: \"\": should be at least 2, \
             message: Invalid value: \"other\": field is immutable]",
        ),
    );
}

#[tokio::test]
async fn field_selectors_and_watches_speak_the_new_api() {
    let db = db().await;
    let (core, events) = both(&db, HOUR);
    let mut watch = events
        .watch(
            &ctx(Some("team")),
            &ListOptions {
                watch: true,
                field_selector: FieldSelector::parse("regarding.name=web").unwrap(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    create(events.as_ref(), Some("team"), new_event("web.1", "web")).await;
    create(events.as_ref(), Some("team"), new_event("db.1", "db")).await;
    let select = |s: &str| ListOptions {
        field_selector: FieldSelector::parse(s).unwrap(),
        ..Default::default()
    };
    let picked = list(
        events.as_ref(),
        Some("team"),
        select("regarding.kind=Pod,regarding.name=db,reportingController=capstan.dev/kubelet"),
    )
    .await
    .unwrap();
    assert_eq!(names(&picked.items), ["db.1"]);
    let err = list(
        events.as_ref(),
        Some("team"),
        select("involvedObject.name=db"),
    )
    .await
    .unwrap_err();
    assert_error(
        &err,
        400,
        "BadRequest",
        Some("field label not supported: involvedObject.name"),
    );
    // core/v1 keeps its own labels for the same objects
    let picked = list(
        core.as_ref(),
        Some("team"),
        select("involvedObject.name=db"),
    )
    .await
    .unwrap();
    assert_eq!(names(&picked.items), ["db.1"]);

    let Some(WatchEvent::Added(added)) = watch.next().await else {
        panic!("no ADDED event");
    };
    assert_eq!(added["apiVersion"], "events.k8s.io/v1");
    assert_eq!(added["regarding"]["name"], "web");
}

#[tokio::test]
async fn events_of_the_new_api_expire_as_core_events() {
    let db = db().await;
    let (core, events) = both(&db, Duration::from_secs(1));
    create(events.as_ref(), Some("team"), new_event("web.1", "web")).await;
    assert!(get(core.as_ref(), Some("team"), "web.1").await.is_ok());
    let deadline = Instant::now() + Duration::from_secs(15);
    while get(core.as_ref(), Some("team"), "web.1").await.is_ok() {
        assert!(Instant::now() < deadline, "web.1 never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_error(
        &get(events.as_ref(), Some("team"), "web.1")
            .await
            .unwrap_err(),
        404,
        "NotFound",
        Some("events \"web.1\" not found"),
    );
}
