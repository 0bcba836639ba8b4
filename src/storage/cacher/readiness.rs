//! Making a cached prefix ready and keeping it fresh (kube's cacher reflector and
//! `waitUntilFreshAndBlock`).
//!
//! One task per prefix lists it from the backend (in chunks pinned to the first chunk's
//! revision), which makes the cache ready, then follows one upstream watch from that revision,
//! applying every change and every progress notification. A watch that fails is resumed from the
//! last revision applied, so nothing is missed and nobody notices; only a watch that fell behind
//! compaction forces a new list, which restarts the window (watchers older than it end with
//! `Compacted`). Until the cache is ready again, reads go to the backend.
//!
//! A read that must see the latest state (a list at no particular revision) first asks the
//! backend for its current revision and waits until the cache has reached it ([`wait_fresh`]):
//! the cache asks the upstream watch for a progress notification, which covers changes made
//! elsewhere in the store. After [`FRESHNESS_TIMEOUT`] the read goes to the backend instead
//! (KEP-2340, consistent reads from cache).

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::Cache;
use crate::storage::{
    KeyValue, ListRequest, ProgressStream, Revision, SharedStorage, StorageError, WatchItem,
};

/// How long a read waits for the cache to catch up before going to the backend (kube: 3 s).
pub const FRESHNESS_TIMEOUT: Duration = Duration::from_secs(3);

/// How many objects one chunk of the initial list reads.
const LIST_CHUNK: usize = 1000;

/// The first pause after the backend fails, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Keeps `cache` filled from `backend` for as long as the task runs.
pub(super) async fn run(cache: Arc<Cache>, backend: SharedStorage) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let (items, revision) = match list_all(&backend, &cache.prefix).await {
            Ok(listed) => listed,
            Err(err) => {
                tracing::warn!(prefix = %cache.prefix, error = %err, "watch cache: listing failed");
                pause(&mut backoff).await;
                continue;
            }
        };
        cache.update(|state| state.reset(items, revision));
        tracing::debug!(prefix = %cache.prefix, revision, "watch cache ready");
        let mut after = revision;
        loop {
            let stream = backend
                .watch_with_progress(&cache.prefix, after, cache.progress.clone())
                .await;
            let ended = match stream {
                Ok(stream) => follow(&cache, stream, &mut after, &mut backoff).await,
                Err(err) => err,
            };
            if let StorageError::Compacted { .. } = ended {
                tracing::info!(prefix = %cache.prefix, after, "watch cache fell behind compaction; listing again");
                break;
            }
            tracing::warn!(prefix = %cache.prefix, after, error = %ended, "watch cache: upstream watch ended; resuming");
            pause(&mut backoff).await;
        }
        cache.update(|state| state.ready = false);
    }
}

/// Applies `stream` to the cache until it fails; how it failed.
async fn follow(
    cache: &Cache,
    mut stream: ProgressStream,
    after: &mut Revision,
    backoff: &mut Duration,
) -> StorageError {
    while let Some(item) = stream.next().await {
        *backoff = FIRST_BACKOFF;
        match item {
            Ok(WatchItem::Event(event)) => {
                *after = event.revision();
                cache.update(|state| state.apply(event, Instant::now()));
            }
            Ok(WatchItem::Progress(revision)) => {
                let news = cache
                    .state
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .progress(revision);
                if news {
                    cache.revision.send_replace(revision);
                }
            }
            Err(err) => return err,
        }
    }
    StorageError::Unavailable("the upstream watch ended".into())
}

/// Every key under `prefix`, read in chunks at one revision, and that revision.
async fn list_all(
    backend: &SharedStorage,
    prefix: &str,
) -> Result<(Vec<KeyValue>, Revision), StorageError> {
    let mut items = Vec::new();
    let mut revision = None;
    let mut start = None;
    loop {
        let resp = backend
            .list(ListRequest {
                prefix: prefix.to_owned(),
                revision,
                start_key: start,
                limit: Some(LIST_CHUNK),
            })
            .await?;
        let at = *revision.get_or_insert(resp.revision);
        let Some(last) = resp.items.last() else {
            return Ok((items, at));
        };
        start = Some(format!("{}\0", last.key));
        items.extend(resp.items);
        if !resp.more {
            return Ok((items, at));
        }
    }
}

/// Waits `backoff` before trying the backend again, and doubles it for next time.
async fn pause(backoff: &mut Duration) {
    tokio::time::sleep(*backoff).await;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
}

/// Waits until `cache` holds a complete snapshot.
pub(super) async fn wait_ready(cache: &Cache) {
    let mut changed = cache.revision.subscribe();
    loop {
        changed.borrow_and_update();
        if cache
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .ready
        {
            return;
        }
        if changed.changed().await.is_err() {
            return;
        }
    }
}

/// Waits up to `timeout` until `cache` has applied every change up to `target`, asking the
/// upstream watch for progress if it has not yet; whether it got there.
pub(super) async fn wait_fresh(cache: &Cache, target: Revision, timeout: Duration) -> bool {
    let mut changed = cache.revision.subscribe();
    if *changed.borrow_and_update() >= target {
        return true;
    }
    cache.progress.notify_one();
    matches!(
        tokio::time::timeout(timeout, changed.wait_for(|revision| *revision >= target)).await,
        Ok(Ok(_))
    )
}
