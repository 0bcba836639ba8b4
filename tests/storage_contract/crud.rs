//! Contract cases for single-key reads and writes: create, get, CAS update, delete.

use std::sync::Arc;

use capstan::storage::{SharedStorage, StorageError, Update, guaranteed_update};

use super::req;

pub async fn create_get_and_already_exists(s: SharedStorage) {
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

pub async fn revisions_strictly_increase(s: SharedStorage) {
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

pub async fn update_is_compare_and_swap(s: SharedStorage) {
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

pub async fn delete_checks_revision(s: SharedStorage) {
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

pub async fn guaranteed_update_loses_no_concurrent_update(s: SharedStorage) {
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

pub async fn health_answers(s: SharedStorage) {
    s.health().await.unwrap();
}
