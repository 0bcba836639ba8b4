//! The storage contract: the same tests run against the embedded store and a real etcd, modelled
//! on k8s.io/apiserver's storage/testing `store_tests.go` and `watcher_tests.go`.
//!
//! Each case is an `async fn(SharedStorage)`; `contract_tests!` instantiates it once per backend.
//! etcd cases need the `etcd` feature and start their own etcd (compaction is global to a store).

mod support;

use std::sync::Arc;
use std::time::Duration;

use capstan::storage::backend::{self, Backend};
use capstan::storage::{
    KeyValue, ListRequest, SharedStorage, StorageError, Update, WatchEvent, WatchStream,
    guaranteed_update,
};
use futures::StreamExt;

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(300);

/// A backend under test and whatever keeps it alive.
struct Fixture {
    storage: SharedStorage,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let storage = backend::open(Backend::Embedded {
        path: dir.path().join("store.redb"),
    })
    .await
    .unwrap();
    Fixture {
        storage,
        _guard: Box::new(dir),
    }
}

#[cfg(feature = "etcd")]
async fn etcd() -> Fixture {
    let etcd = tokio::task::spawn_blocking(support::etcd::Etcd::start)
        .await
        .unwrap();
    let storage = backend::open(Backend::Etcd {
        endpoints: vec![etcd.endpoint.clone()],
    })
    .await
    .unwrap();
    Fixture {
        storage,
        _guard: Box::new(etcd),
    }
}

macro_rules! contract_tests {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::embedded().await;
                    super::$case(fixture.storage.clone()).await;
                }
            )*
        }
        #[cfg(feature = "etcd")]
        mod etcd {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::etcd().await;
                    super::$case(fixture.storage.clone()).await;
                }
            )*
        }
    };
}

contract_tests!(
    create_get_and_already_exists,
    revisions_strictly_increase,
    update_is_compare_and_swap,
    delete_checks_revision,
    list_reads_a_past_revision,
    pagination_is_pinned_to_the_first_page_revision,
    prefix_ns1_never_matches_ns10,
    watch_resumes_with_exactly_the_missed_events,
    watch_delete_carries_prev,
    watch_of_a_single_key,
    compaction_expires_lists_and_watches,
    future_revision_is_refused,
    guaranteed_update_loses_no_concurrent_update,
    health_answers,
);

fn req(
    prefix: &str,
    revision: Option<i64>,
    start: Option<&str>,
    limit: Option<usize>,
) -> ListRequest {
    ListRequest {
        prefix: prefix.into(),
        revision,
        start_key: start.map(Into::into),
        limit,
    }
}

fn keys(items: &[KeyValue]) -> Vec<&str> {
    items.iter().map(|kv| kv.key.as_str()).collect()
}

async fn next_event(stream: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        other => panic!("expected a watch event, got {other:?}"),
    }
}

async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(QUIET, stream.next()).await {
        panic!("expected no further watch event, got {item:?}");
    }
}

fn event_key(event: &WatchEvent) -> &str {
    match event {
        WatchEvent::Put { kv, .. } => &kv.key,
        WatchEvent::Delete { key, .. } => key,
    }
}

async fn create_get_and_already_exists(s: SharedStorage) {
    let before = s.current_revision().await.unwrap();
    assert_eq!(s.get("/t/pods/default/web").await.unwrap(), None);
    let kv = s
        .create("/t/pods/default/web", b"one".to_vec())
        .await
        .unwrap();
    assert_eq!(kv.key, "/t/pods/default/web");
    assert_eq!(kv.value, b"one");
    assert!(kv.mod_revision > before);
    assert_eq!(kv.create_revision, kv.mod_revision);
    assert_eq!(
        s.get("/t/pods/default/web").await.unwrap(),
        Some(kv.clone())
    );
    assert_eq!(s.current_revision().await.unwrap(), kv.mod_revision);

    let err = s
        .create("/t/pods/default/web", b"two".to_vec())
        .await
        .unwrap_err();
    assert_eq!(err, StorageError::KeyExists("/t/pods/default/web".into()));
    assert_eq!(
        s.get("/t/pods/default/web").await.unwrap(),
        Some(kv.clone())
    );
    assert_eq!(
        s.current_revision().await.unwrap(),
        kv.mod_revision,
        "a failed create wrote"
    );
}

async fn revisions_strictly_increase(s: SharedStorage) {
    let mut last = s.current_revision().await.unwrap();
    for i in 0..5 {
        let kv = s.create(&format!("/t/a/{i}"), vec![i]).await.unwrap();
        assert!(kv.mod_revision > last, "{} after {last}", kv.mod_revision);
        last = kv.mod_revision;
        let kv = s
            .update(&kv.key, vec![i, i], kv.mod_revision)
            .await
            .unwrap();
        assert!(kv.mod_revision > last);
        last = kv.mod_revision;
    }
    let deleted = s.delete("/t/a/0", None).await.unwrap();
    assert!(deleted.revision > last);
    assert_eq!(s.current_revision().await.unwrap(), deleted.revision);
    let list = s.list(req("/t/a/", None, None, None)).await.unwrap();
    assert_eq!(
        list.revision, deleted.revision,
        "a latest list is served at the current revision"
    );
}

async fn update_is_compare_and_swap(s: SharedStorage) {
    let created = s.create("/t/k", b"v1".to_vec()).await.unwrap();
    let updated = s
        .update("/t/k", b"v2".to_vec(), created.mod_revision)
        .await
        .unwrap();
    assert_eq!(updated.value, b"v2");
    assert_eq!(updated.create_revision, created.create_revision);
    assert!(updated.mod_revision > created.mod_revision);

    // A stale revision conflicts and reports what is stored now.
    let err = s
        .update("/t/k", b"v3".to_vec(), created.mod_revision)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StorageError::Conflict {
            key: "/t/k".into(),
            current: Some(updated.clone())
        }
    );
    assert_eq!(s.get("/t/k").await.unwrap(), Some(updated.clone()));

    // Updating a key that does not exist conflicts with nothing stored.
    let err = s
        .update("/t/missing", b"x".to_vec(), updated.mod_revision)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StorageError::Conflict {
            key: "/t/missing".into(),
            current: None
        }
    );
    assert_eq!(s.get("/t/missing").await.unwrap(), None);
}

async fn delete_checks_revision(s: SharedStorage) {
    let created = s.create("/t/d", b"v1".to_vec()).await.unwrap();
    let updated = s
        .update("/t/d", b"v2".to_vec(), created.mod_revision)
        .await
        .unwrap();

    let err = s
        .delete("/t/d", Some(created.mod_revision))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StorageError::Conflict {
            key: "/t/d".into(),
            current: Some(updated.clone())
        }
    );
    assert_eq!(s.get("/t/d").await.unwrap(), Some(updated.clone()));

    let deleted = s.delete("/t/d", Some(updated.mod_revision)).await.unwrap();
    assert_eq!(deleted.prev, updated);
    assert!(deleted.revision > updated.mod_revision);
    assert_eq!(s.current_revision().await.unwrap(), deleted.revision);
    assert_eq!(s.get("/t/d").await.unwrap(), None);
    assert_eq!(
        s.delete("/t/d", None).await.unwrap_err(),
        StorageError::NotFound("/t/d".into())
    );

    // Re-created, the key starts a new life.
    let again = s.create("/t/d", b"v3".to_vec()).await.unwrap();
    assert!(again.create_revision > deleted.revision);
    let gone = s.delete("/t/d", None).await.unwrap();
    assert_eq!(gone.prev, again);
}

async fn list_reads_a_past_revision(s: SharedStorage) {
    let a = s.create("/t/l/a", b"a1".to_vec()).await.unwrap();
    let b = s.create("/t/l/b", b"b1".to_vec()).await.unwrap();
    let at = s.current_revision().await.unwrap();
    let a2 = s
        .update("/t/l/a", b"a2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    s.delete("/t/l/b", None).await.unwrap();
    let c = s.create("/t/l/c", b"c1".to_vec()).await.unwrap();

    let past = s.list(req("/t/l/", Some(at), None, None)).await.unwrap();
    assert_eq!(past.items, vec![a.clone(), b]);
    assert_eq!(past.revision, at);
    assert!(!past.more);

    let latest = s.list(req("/t/l/", None, None, None)).await.unwrap();
    assert_eq!(latest.items, vec![a2.clone(), c.clone()]);
    assert_eq!(latest.revision, c.mod_revision);

    // Reading at the current revision explicitly gives the latest state.
    let exact = s
        .list(req("/t/l/", Some(c.mod_revision), None, None))
        .await
        .unwrap();
    assert_eq!(exact.items, vec![a2, c]);
    // Before anything existed the prefix was empty.
    let empty = s
        .list(req("/t/l/", Some(a.mod_revision - 1), None, None))
        .await
        .unwrap();
    assert!(empty.items.is_empty());
}

async fn pagination_is_pinned_to_the_first_page_revision(s: SharedStorage) {
    let mut created = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        created.push(
            s.create(&format!("/t/p/{name}"), name.as_bytes().to_vec())
                .await
                .unwrap(),
        );
    }
    let first = s.list(req("/t/p/", None, None, Some(2))).await.unwrap();
    assert_eq!(keys(&first.items), ["/t/p/a", "/t/p/b"]);
    assert!(first.more);
    assert_eq!(first.remaining, Some(3));
    let pinned = first.revision;

    // Writes between pages must not show on later pages.
    s.delete("/t/p/c", None).await.unwrap();
    s.update("/t/p/d", b"changed".to_vec(), created[3].mod_revision)
        .await
        .unwrap();
    s.create("/t/p/bb", b"new".to_vec()).await.unwrap();

    // A continue token resumes just after the last key (kube appends "\x00").
    let next = |last: &KeyValue| format!("{}\u{0}", last.key);
    let second = s
        .list(req(
            "/t/p/",
            Some(pinned),
            Some(&next(&first.items[1])),
            Some(2),
        ))
        .await
        .unwrap();
    assert_eq!(second.items, vec![created[2].clone(), created[3].clone()]);
    assert_eq!(second.revision, pinned);
    assert!(second.more);
    assert_eq!(second.remaining, Some(1));

    let third = s
        .list(req(
            "/t/p/",
            Some(pinned),
            Some(&next(&second.items[1])),
            Some(2),
        ))
        .await
        .unwrap();
    assert_eq!(third.items, vec![created[4].clone()]);
    assert!(!third.more);
    assert_eq!(third.remaining.unwrap_or(0), 0);

    // A limit that fits exactly leaves nothing more.
    let all = s
        .list(req("/t/p/", Some(pinned), None, Some(5)))
        .await
        .unwrap();
    assert_eq!(all.items, created);
    assert!(!all.more);
    // The latest state shows the writes.
    let latest = s.list(req("/t/p/", None, None, None)).await.unwrap();
    assert_eq!(
        keys(&latest.items),
        ["/t/p/a", "/t/p/b", "/t/p/bb", "/t/p/d", "/t/p/e"]
    );
}

async fn prefix_ns1_never_matches_ns10(s: SharedStorage) {
    let mut watch = s
        .watch("/t/pods/ns1/", s.current_revision().await.unwrap())
        .await
        .unwrap();
    s.create("/t/pods/ns10/a", b"x".to_vec()).await.unwrap();
    s.create("/t/pods/ns1x", b"x".to_vec()).await.unwrap();
    s.create("/t/pods/ns1/a", b"x".to_vec()).await.unwrap();
    s.create("/t/pods/ns1/b", b"x".to_vec()).await.unwrap();
    s.create("/t/pods/ns2/a", b"x".to_vec()).await.unwrap();

    let list = s.list(req("/t/pods/ns1/", None, None, None)).await.unwrap();
    assert_eq!(keys(&list.items), ["/t/pods/ns1/a", "/t/pods/ns1/b"]);
    let at = s
        .list(req("/t/pods/ns1/", Some(list.revision - 1), None, None))
        .await
        .unwrap();
    assert_eq!(keys(&at.items), ["/t/pods/ns1/a", "/t/pods/ns1/b"]);

    assert_eq!(event_key(&next_event(&mut watch).await), "/t/pods/ns1/a");
    assert_eq!(event_key(&next_event(&mut watch).await), "/t/pods/ns1/b");
    assert_quiet(&mut watch).await;

    let err = s
        .list(req("/t/pods/ns1", None, None, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::InvalidArgument(_)), "{err:?}");
}

async fn watch_resumes_with_exactly_the_missed_events(s: SharedStorage) {
    let start = s.current_revision().await.unwrap();
    let mut revs = Vec::new();
    for i in 0..5 {
        revs.push(
            s.create(&format!("/t/w/{i}"), vec![i])
                .await
                .unwrap()
                .mod_revision,
        );
    }
    // From the start: all five, in order.
    let mut watch = s.watch("/t/w/", start).await.unwrap();
    for (i, rev) in revs.iter().enumerate() {
        let event = next_event(&mut watch).await;
        assert_eq!(event.revision(), *rev);
        assert_eq!(event_key(&event), format!("/t/w/{i}"));
    }
    assert_quiet(&mut watch).await;

    // Resuming after the second: exactly the last three, then live events, no duplicates.
    let mut resumed = s.watch("/t/w/", revs[1]).await.unwrap();
    for rev in &revs[2..] {
        assert_eq!(next_event(&mut resumed).await.revision(), *rev);
    }
    let live = s.create("/t/w/live", b"l".to_vec()).await.unwrap();
    let event = next_event(&mut resumed).await;
    assert_eq!(
        event,
        WatchEvent::Put {
            kv: live.clone(),
            prev: None
        }
    );
    assert_eq!(next_event(&mut watch).await.revision(), live.mod_revision);
    assert_quiet(&mut resumed).await;

    // Resuming at the newest revision sees only what comes later.
    let mut fresh = s.watch("/t/w/", live.mod_revision).await.unwrap();
    assert_quiet(&mut fresh).await;
    let updated = s
        .update("/t/w/live", b"m".to_vec(), live.mod_revision)
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut fresh).await,
        WatchEvent::Put {
            kv: updated,
            prev: Some(live)
        }
    );
}

async fn watch_delete_carries_prev(s: SharedStorage) {
    let start = s.current_revision().await.unwrap();
    let created = s.create("/t/x/a", b"v1".to_vec()).await.unwrap();
    let updated = s
        .update("/t/x/a", b"v2".to_vec(), created.mod_revision)
        .await
        .unwrap();
    let deleted = s.delete("/t/x/a", None).await.unwrap();

    let expected = [
        WatchEvent::Put {
            kv: created.clone(),
            prev: None,
        },
        WatchEvent::Put {
            kv: updated.clone(),
            prev: Some(created.clone()),
        },
        WatchEvent::Delete {
            key: "/t/x/a".into(),
            revision: deleted.revision,
            prev: updated,
        },
    ];
    // Replayed from history…
    let mut replay = s.watch("/t/x/", start).await.unwrap();
    for event in &expected {
        assert_eq!(&next_event(&mut replay).await, event);
    }
    // …and live.
    let mut live = s.watch("/t/x/", deleted.revision).await.unwrap();
    let again = s.create("/t/x/a", b"v3".to_vec()).await.unwrap();
    let gone = s.delete("/t/x/a", Some(again.mod_revision)).await.unwrap();
    assert_eq!(
        next_event(&mut live).await,
        WatchEvent::Put {
            kv: again.clone(),
            prev: None
        }
    );
    assert_eq!(
        next_event(&mut live).await,
        WatchEvent::Delete {
            key: "/t/x/a".into(),
            revision: gone.revision,
            prev: again
        }
    );
}

async fn watch_of_a_single_key(s: SharedStorage) {
    let start = s.current_revision().await.unwrap();
    let a = s.create("/t/s/a", b"1".to_vec()).await.unwrap();
    s.create("/t/s/ab", b"x".to_vec()).await.unwrap();
    s.create("/t/s/a/child", b"x".to_vec()).await.unwrap();
    let mut watch = s.watch("/t/s/a", start).await.unwrap();
    assert_eq!(
        next_event(&mut watch).await,
        WatchEvent::Put {
            kv: a.clone(),
            prev: None
        }
    );
    s.create("/t/s/b", b"x".to_vec()).await.unwrap();
    let a2 = s
        .update("/t/s/a", b"2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut watch).await,
        WatchEvent::Put {
            kv: a2,
            prev: Some(a)
        }
    );
    assert_quiet(&mut watch).await;
}

async fn compaction_expires_lists_and_watches(s: SharedStorage) {
    let a = s.create("/t/c/a", b"a1".to_vec()).await.unwrap();
    let b = s.create("/t/c/b", b"b1".to_vec()).await.unwrap();
    let old = s.current_revision().await.unwrap();
    let a2 = s
        .update("/t/c/a", b"a2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    let c = s.create("/t/c/c", b"c1".to_vec()).await.unwrap();
    let at = s.current_revision().await.unwrap();
    let a3 = s
        .update("/t/c/a", b"a3".to_vec(), a2.mod_revision)
        .await
        .unwrap();
    s.delete("/t/c/b", None).await.unwrap();

    s.compact(at).await.unwrap();

    // Reads before the compacted revision are gone…
    let err = s
        .list(req("/t/c/", Some(old), None, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Compacted { .. }), "{err:?}");
    match s.watch("/t/c/", old).await {
        Err(err) => assert!(matches!(err, StorageError::Compacted { .. }), "{err:?}"),
        Ok(mut stream) => match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Err(StorageError::Compacted { .. }))) => {}
            other => panic!("expected Compacted from a watch before compaction, got {other:?}"),
        },
    }
    // …while the compacted revision itself still reads, with the state at that revision.
    let list = s.list(req("/t/c/", Some(at), None, None)).await.unwrap();
    assert_eq!(list.items, vec![a2.clone(), b, c]);
    let mut watch = s.watch("/t/c/", at).await.unwrap();
    assert_eq!(
        next_event(&mut watch).await,
        WatchEvent::Put {
            kv: a3.clone(),
            prev: Some(a2)
        }
    );
    match next_event(&mut watch).await {
        WatchEvent::Delete { key, .. } => assert_eq!(key, "/t/c/b"),
        other => panic!("expected the delete of b, got {other:?}"),
    }
    // Compacting again at or below is harmless.
    s.compact(at).await.unwrap();
    let latest = s.list(req("/t/c/", None, None, None)).await.unwrap();
    assert_eq!(keys(&latest.items), ["/t/c/a", "/t/c/c"]);
    assert_eq!(latest.items[0], a3);
}

async fn future_revision_is_refused(s: SharedStorage) {
    s.create("/t/f/a", b"x".to_vec()).await.unwrap();
    let current = s.current_revision().await.unwrap();
    let err = s
        .list(req("/t/f/", Some(current + 100), None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::FutureRevision { requested, .. } if requested == current + 100),
        "{err:?}"
    );
    let err = s.compact(current + 100).await.unwrap_err();
    assert!(
        matches!(err, StorageError::FutureRevision { .. }),
        "{err:?}"
    );
    // A watch from a revision not yet reached waits for it.
    let mut watch = s.watch("/t/f/", current + 1).await.unwrap();
    s.create("/t/f/b", b"x".to_vec()).await.unwrap();
    let third = s.create("/t/f/c", b"x".to_vec()).await.unwrap();
    assert_eq!(next_event(&mut watch).await.revision(), third.mod_revision);
}

async fn guaranteed_update_loses_no_concurrent_update(s: SharedStorage) {
    const WRITERS: usize = 6;
    const EACH: usize = 10;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                for _ in 0..EACH {
                    guaranteed_update::<StorageError, _>(s.as_ref(), "/t/counter", |current| {
                        let n: usize = match current {
                            Some(kv) => String::from_utf8_lossy(&kv.value).parse().unwrap(),
                            None => 0,
                        };
                        Ok(Update::Put((n + 1).to_string().into_bytes()))
                    })
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let kv = s.get("/t/counter").await.unwrap().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&kv.value),
        (WRITERS * EACH).to_string()
    );

    // An unchanged value is not rewritten.
    let same = guaranteed_update::<StorageError, _>(s.as_ref(), "/t/counter", |c| {
        Ok(Update::Put(c.unwrap().value.clone()))
    })
    .await
    .unwrap();
    assert_eq!(same.unwrap().mod_revision, kv.mod_revision);
}

async fn health_answers(s: SharedStorage) {
    s.health().await.unwrap();
}

/// Embedded only: everything survives closing and reopening the file.
#[tokio::test]
async fn embedded_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let open = || backend::open(Backend::Embedded { path: path.clone() });

    let s = open().await.unwrap();
    let a = s.create("/t/r/a", b"1".to_vec()).await.unwrap();
    let old = s.current_revision().await.unwrap();
    let a2 = s
        .update("/t/r/a", b"2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    let kept = s.current_revision().await.unwrap();
    let b = s.create("/t/r/b", b"1".to_vec()).await.unwrap();
    s.compact(kept).await.unwrap();
    let last = s.current_revision().await.unwrap();
    drop(s);

    let s = open().await.unwrap();
    assert_eq!(s.current_revision().await.unwrap(), last);
    assert_eq!(s.get("/t/r/a").await.unwrap(), Some(a2.clone()));
    let latest = s.list(req("/t/r/", None, None, None)).await.unwrap();
    assert_eq!(latest.items, vec![a2.clone(), b.clone()]);
    assert_eq!(latest.revision, last);
    // History and the compacted revision are kept.
    let past = s.list(req("/t/r/", Some(kept), None, None)).await.unwrap();
    assert_eq!(past.items, vec![a2.clone()]);
    let err = s
        .list(req("/t/r/", Some(old), None, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Compacted { .. }), "{err:?}");
    let mut watch = s.watch("/t/r/", kept).await.unwrap();
    assert_eq!(
        next_event(&mut watch).await,
        WatchEvent::Put { kv: b, prev: None }
    );
    // The revision keeps increasing.
    let c = s.create("/t/r/c", b"1".to_vec()).await.unwrap();
    assert_eq!(c.mod_revision, last + 1);
    assert_eq!(next_event(&mut watch).await.revision(), c.mod_revision);
}
