//! Contract cases for keys with a time to live (kube's events): a key goes a TTL after its last
//! write, through an ordinary deletion that watchers see; a write without a TTL keeps it.
//!
//! TTLs are short (whole seconds, as etcd leases count); waits are bounded by [`EXPIRY_BOUND`].

use std::time::{Duration, Instant};

use capstan::storage::{SharedStorage, WatchEvent, WatchStream};
use futures::StreamExt;

use super::{keys, req};

const TTL: Duration = Duration::from_secs(2);
/// How late past its TTL a key may go: etcd's lessor checks expiry every 500 ms and leases are
/// shared per bucket; the embedded sweeper is prompt.
const EXPIRY_BOUND: Duration = Duration::from_secs(10);

/// The next event within `bound`, or a panic naming what was awaited.
async fn event_within(watch: &mut WatchStream, bound: Duration, what: &str) -> WatchEvent {
    match tokio::time::timeout(bound, watch.next()).await {
        Ok(Some(Ok(event))) => event,
        other => panic!("waiting for {what}: {other:?}"),
    }
}

pub async fn ttl_deletes_a_key_a_ttl_after_its_last_write(s: SharedStorage) {
    let start = s.current_revision().await.unwrap();
    let mut watch = s.watch("/t/ev/", start).await.unwrap();
    let created = s
        .create_with_ttl("/t/ev/a", b"1".to_vec(), Some(TTL))
        .await
        .unwrap();
    let kept = s.create("/t/ev/keep", b"k".to_vec()).await.unwrap();
    assert_eq!(
        s.get("/t/ev/a").await.unwrap().as_ref(),
        Some(&created),
        "a TTL does not change what a write returns or stores"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A second write restarts the clock.
    let written = s
        .update_with_ttl("/t/ev/a", b"2".to_vec(), created.mod_revision, Some(TTL))
        .await
        .unwrap();
    let refreshed_at = Instant::now();
    assert_eq!(written.create_revision, created.create_revision);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert!(
        s.get("/t/ev/a").await.unwrap().is_some(),
        "the key went at its first write's deadline"
    );

    for expected in [&created.key, &kept.key, &written.key] {
        match event_within(&mut watch, Duration::from_secs(5), "the writes").await {
            WatchEvent::Put { kv, .. } => assert_eq!(&kv.key, expected),
            other => panic!("expected a put of {expected}, got {other:?}"),
        }
    }
    let gone = event_within(&mut watch, TTL + EXPIRY_BOUND, "the expiry").await;
    let elapsed = refreshed_at.elapsed();
    match &gone {
        WatchEvent::Delete {
            key,
            revision,
            prev,
        } => {
            assert_eq!(key, "/t/ev/a");
            assert!(*revision > written.mod_revision);
            assert_eq!(prev, &written, "the delete carries the last value");
        }
        other => panic!("expected the key's deletion, got {other:?}"),
    }
    assert!(
        elapsed >= TTL - Duration::from_millis(100),
        "expired {elapsed:?} after its last write, before its TTL"
    );
    assert_eq!(s.get("/t/ev/a").await.unwrap(), None);
    assert!(s.current_revision().await.unwrap() >= gone.revision());
    let list = s.list(req("/t/ev/", None, None, None)).await.unwrap();
    assert_eq!(keys(&list.items), ["/t/ev/keep"]);
    // History still has the key before its expiry.
    let past = s
        .list(req("/t/ev/", Some(written.mod_revision), None, None))
        .await
        .unwrap();
    assert_eq!(keys(&past.items), ["/t/ev/a", "/t/ev/keep"]);
}

pub async fn a_write_without_ttl_makes_a_key_permanent(s: SharedStorage) {
    let created = s
        .create_with_ttl("/t/ev/p", b"1".to_vec(), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    let plain = s
        .update("/t/ev/p", b"2".to_vec(), created.mod_revision)
        .await
        .unwrap();
    // Another key with the same TTL shows when the first would have gone.
    let start = s.current_revision().await.unwrap();
    let mut watch = s.watch("/t/ev/", start).await.unwrap();
    s.create_with_ttl("/t/ev/q", b"1".to_vec(), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    event_within(&mut watch, Duration::from_secs(5), "the put of q").await;
    match event_within(&mut watch, EXPIRY_BOUND, "the expiry of q").await {
        WatchEvent::Delete { key, .. } => assert_eq!(key, "/t/ev/q"),
        other => panic!("expected q to expire, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.get("/t/ev/p").await.unwrap(), Some(plain));
}

pub async fn expired_keys_can_be_created_again(s: SharedStorage) {
    let start = s.current_revision().await.unwrap();
    let mut watch = s.watch("/t/ev/r", start).await.unwrap();
    let first = s
        .create_with_ttl("/t/ev/r", b"1".to_vec(), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    event_within(&mut watch, Duration::from_secs(5), "the create").await;
    event_within(&mut watch, EXPIRY_BOUND, "the expiry").await;
    let again = s
        .create_with_ttl("/t/ev/r", b"2".to_vec(), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(again.create_revision > first.mod_revision);
    // A deletion by hand drops the TTL with the key; nothing is left to fire later.
    s.delete("/t/ev/r", None).await.unwrap();
}
