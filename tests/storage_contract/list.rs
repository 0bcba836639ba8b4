//! Contract cases for range reads: past revisions, pagination, compaction, future revisions.

use capstan::storage::{KeyValue, SharedStorage, StorageError, WatchEvent};
use futures::StreamExt;

use super::{WAIT, keys, next_event, req};

pub async fn list_reads_a_past_revision(s: SharedStorage) {
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

    // Revision 0 means the latest, as in etcd.
    let zero = s.list(req("/t/l/", Some(0), None, None)).await.unwrap();
    assert_eq!(
        (zero.items, zero.revision),
        (latest.items.clone(), c.mod_revision)
    );
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

pub async fn pagination_is_pinned_to_the_first_page_revision(s: SharedStorage) {
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

pub async fn future_revision_is_refused(s: SharedStorage) {
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

pub async fn compaction_expires_lists_and_watches(s: SharedStorage) {
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
