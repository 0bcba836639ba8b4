//! Contract cases for watches: resuming, prev values, single keys, prefix isolation, progress.

use std::sync::Arc;

use capstan::storage::{SharedStorage, StorageError, WatchEvent};
use tokio::sync::Notify;

use super::{assert_quiet, event_key, keys, next_event, req};

pub async fn prefix_ns1_never_matches_ns10(s: SharedStorage) {
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

pub async fn watch_resumes_with_exactly_the_missed_events(s: SharedStorage) {
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

pub async fn watch_delete_carries_prev(s: SharedStorage) {
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

pub async fn watch_of_a_single_key(s: SharedStorage) {
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

/// A watch with progress hands out its own changes first and then reports, unasked, how far the
/// store went through other keys, without ever reporting past a change it has not delivered.
pub async fn watch_progress_follows_other_keys(s: SharedStorage) {
    use capstan::storage::WatchItem;
    use futures::StreamExt;

    let start = s.current_revision().await.unwrap();
    let never_asked = Arc::new(Notify::new());
    let mut watch = s
        .watch_with_progress("/t/quiet/", start, never_asked)
        .await
        .unwrap();
    let mine = s.create("/t/quiet/a", b"x".to_vec()).await.unwrap();
    // Other keys change; then the store is quiet: the last of them is reported all the same.
    for i in 0..5u8 {
        s.create(&format!("/t/busy/{i}"), vec![i]).await.unwrap();
    }
    let busiest = s.current_revision().await.unwrap();
    let mut seen_mine = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let item = tokio::time::timeout_at(deadline, watch.next())
            .await
            .expect("a progress report within 20 s")
            .expect("the watch goes on")
            .expect("no error");
        match item {
            WatchItem::Event(event) => {
                assert_eq!(event.revision(), mine.mod_revision, "{event:?}");
                seen_mine = true;
            }
            WatchItem::Progress(revision) => {
                assert!(
                    seen_mine || revision < mine.mod_revision,
                    "progress {revision} before the change at {}",
                    mine.mod_revision
                );
                if revision >= busiest {
                    break;
                }
            }
        }
    }
    assert!(seen_mine);
    // The plain watch stays silent about other keys.
    let mut plain = s.watch("/t/quiet/", mine.mod_revision).await.unwrap();
    s.create("/t/busy/z", b"z".to_vec()).await.unwrap();
    super::assert_quiet(&mut plain).await;
}

/// How soon a requested progress report must come: sooner than unrequested ones would on a quiet
/// store (etcd's are asked for every 5 s; the embedded store's only follow its cursor).
const ANSWERED: std::time::Duration = std::time::Duration::from_secs(3);

/// Reads `watch` until a progress report at `target` or later, within `within`; any event is a
/// failure, progress reports short of it are skipped (unrequested ones may come at any time).
async fn progress_reaching(
    watch: &mut capstan::storage::ProgressStream,
    target: i64,
    within: std::time::Duration,
) -> i64 {
    use capstan::storage::WatchItem;
    use futures::StreamExt;

    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, watch.next()).await {
            Ok(Some(Ok(WatchItem::Progress(rev)))) if rev >= target => return rev,
            Ok(Some(Ok(WatchItem::Progress(_)))) => {}
            other => panic!("expected a progress report reaching {target}, got {other:?}"),
        }
    }
}

/// A watch with progress answers each request with a revision at least as new as the store's
/// when it was asked, even when nothing under the watched prefix changed (what a cache in front
/// of the store needs to know it is fresh), and even when nothing changed at all since its last
/// report.
pub async fn progress_requests_report_the_current_revision(s: SharedStorage) {
    use capstan::storage::WatchItem;
    use futures::StreamExt;

    let requests = Arc::new(Notify::new());
    let start = s.current_revision().await.unwrap();
    let mut watch = s
        .watch_with_progress("/t/prog/", start, requests.clone())
        .await
        .unwrap();
    let elsewhere = s.create("/t/other/a", b"x".to_vec()).await.unwrap();
    requests.notify_one();
    progress_reaching(&mut watch, elsewhere.mod_revision, super::WAIT).await;
    // Changes still come, in order, and a later request covers them.
    let mine = s.create("/t/prog/a", b"x".to_vec()).await.unwrap();
    loop {
        match tokio::time::timeout(super::WAIT, watch.next()).await {
            Ok(Some(Ok(WatchItem::Event(e)))) if e.revision() == mine.mod_revision => break,
            Ok(Some(Ok(WatchItem::Progress(rev)))) if rev < mine.mod_revision => {}
            other => panic!(
                "expected the change at {}, got {other:?}",
                mine.mod_revision
            ),
        }
    }
    s.create("/t/other/b", b"x".to_vec()).await.unwrap();
    let current = s.current_revision().await.unwrap();
    requests.notify_one();
    let reported = progress_reaching(&mut watch, current, super::WAIT).await;
    // Quiet now: only the request brings a report, and soon.
    requests.notify_one();
    progress_reaching(&mut watch, reported, ANSWERED).await;
}
