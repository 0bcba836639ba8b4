//! Unit tests of the embedded store's internals; the behaviour shared with etcd is tested by
//! `tests/storage_contract.rs`.

use std::time::Duration;

use futures::StreamExt;
use redb::ReadableTable;

use super::*;

async fn store_with_capacity(capacity: usize) -> (tempfile::TempDir, EmbeddedStorage) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStorage::open_with_capacity(&dir.path().join("s.redb"), capacity)
        .await
        .unwrap();
    (dir, store)
}

async fn next(stream: &mut WatchStream) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_lagging_watch_catches_up_from_history() {
    // A broadcast of two slots overflows at once; the watch must still see every event in order.
    let (_dir, store) = store_with_capacity(2).await;
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch("/k/", start).await.unwrap();
    // Enter live mode (replay finds nothing), then fall behind.
    let first = store.create("/k/first", vec![]).await.unwrap();
    assert_eq!(next(&mut watch).await.revision(), first.mod_revision);
    let mut expected = Vec::new();
    for i in 0..50 {
        expected.push(
            store
                .create(&format!("/k/{i}"), vec![i])
                .await
                .unwrap()
                .mod_revision,
        );
    }
    for rev in expected {
        assert_eq!(next(&mut watch).await.revision(), rev);
    }
    let last = store.create("/k/last", vec![]).await.unwrap();
    assert_eq!(next(&mut watch).await.revision(), last.mod_revision);
}

#[tokio::test]
async fn a_lagging_watch_behind_compaction_ends_with_compacted() {
    let (_dir, store) = store_with_capacity(2).await;
    let mut watch = store
        .watch("/k/", store.current_revision().await.unwrap())
        .await
        .unwrap();
    let first = store.create("/k/a", vec![1]).await.unwrap();
    assert_eq!(next(&mut watch).await.revision(), first.mod_revision);
    let mut rev = first.mod_revision;
    for i in 0..10 {
        rev = store
            .update("/k/a", vec![i], rev)
            .await
            .unwrap()
            .mod_revision;
    }
    store.compact(rev).await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap();
    assert!(
        matches!(item, Some(Err(StorageError::Compacted { .. }))),
        "{item:?}"
    );
    assert!(watch.next().await.is_none(), "a compacted watch ends");
}

#[tokio::test]
async fn replay_spans_several_batches() {
    let (_dir, store) = store_with_capacity(16).await;
    let start = store.current_revision().await.unwrap();
    let total = watch::REPLAY_BATCH + 10;
    for i in 0..total {
        store.create(&format!("/k/{i:05}"), vec![]).await.unwrap();
        if i % 3 == 0 {
            store
                .create(&format!("/other/{i:05}"), vec![])
                .await
                .unwrap();
        }
    }
    let mut watch = store.watch("/k/", start).await.unwrap();
    for i in 0..total {
        let event = next(&mut watch).await;
        assert_eq!(watch::event_key(&event), format!("/k/{i:05}"));
    }
}

#[tokio::test]
async fn broadcast_order_is_commit_order_under_concurrent_writers() {
    let (_dir, store) = store_with_capacity(4096).await;
    let mut last = store.current_revision().await.unwrap();
    let mut watch = store.watch("/k/", last).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    store.create(&format!("/k/{t}-{i}"), vec![]).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for _ in 0..200 {
        let rev = next(&mut watch).await.revision();
        assert_eq!(rev, last + 1, "every revision, in commit order");
        last = rev;
    }
    // The broadcast still holds all 200 events the replay already delivered: none may repeat.
    let extra = tokio::time::timeout(Duration::from_millis(200), watch.next()).await;
    assert!(extra.is_err(), "duplicate event after replay: {extra:?}");
}

#[tokio::test]
async fn compaction_keeps_only_the_state_at_the_compacted_revision() {
    let (_dir, store) = store_with_capacity(16).await;
    let a = store.create("/k/a", b"1".to_vec()).await.unwrap();
    let a2 = store
        .update("/k/a", b"2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    let b = store.create("/k/b", b"1".to_vec()).await.unwrap();
    store.delete("/k/b", None).await.unwrap();
    let at = store.current_revision().await.unwrap();
    store
        .update("/k/a", b"3".to_vec(), a2.mod_revision)
        .await
        .unwrap();
    store.compact(at).await.unwrap();

    let inner = store.inner.clone();
    let (history, events) = blocking(move || {
        let txn = inner.begin_read()?;
        let history = txn.open_table(schema::HISTORY).map_err(db_err)?;
        let rows = history
            .iter()
            .map_err(db_err)?
            .map(|e| {
                e.map(|(k, _)| (k.value().0.to_owned(), k.value().1))
                    .map_err(db_err)
            })
            .collect::<Result<Vec<_>>>()?;
        let events = txn
            .open_table(schema::EVENTS)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
            .count();
        Ok((rows, events))
    })
    .await
    .unwrap();
    // a keeps its version at `at` and the newer one; b's tombstone and older versions are gone.
    assert_eq!(
        history,
        vec![
            ("/k/a".to_owned(), a2.mod_revision),
            ("/k/a".to_owned(), at + 1)
        ]
    );
    assert_eq!(events, 2, "the change log keeps revisions from `at` on");
    let _ = b;
}
