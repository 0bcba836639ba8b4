//! The watch cache (kube's cacher): a [`Storage`] in front of another that keeps chosen prefixes
//! (one per resource) in memory and serves their watches and latest lists from there.
//!
//! * [`state`](self): per prefix, the objects as of a revision and a window of recent events.
//! * [`readiness`](self): one upstream watch per prefix fills and refreshes it; consistent reads
//!   wait until it has caught up with the backend (3 s at most, then they read the backend).
//! * [`fanout`](self): watchers read the window from their own cursor; a write costs the same
//!   however many watch.
//!
//! What is served from where:
//!
//! | call | served |
//! |---|---|
//! | `watch(after)` and `watch_with_progress` under a cached prefix | from the window; an `after` older than the window (or compacted through this cacher) is `Compacted`, a 410 for clients, as kube's watch cache answers; progress reports follow the cache's revision, which the upstream watch's progress notifications move on with the store |
//! | `list` at the latest revision | from memory once the cache has reached the backend's current revision, else from the backend |
//! | `list` at a revision (continue pages, exact reads) | from memory when nothing changed under the prefix since that revision, else from the backend |
//! | anything before the cache is ready, and prefixes not cached | the backend |
//! | `get`, writes, `current_revision`, `compact`, `health` | the backend (`compact` also bounds the windows) |

mod fanout;
mod readiness;
mod state;
#[cfg(test)]
mod tests;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};
use tokio::task::AbortHandle;

use self::state::{Filter, State};
use super::range::KeyRange;
use super::{
    Deleted, KeyValue, ListRequest, ListResponse, ProgressStream, Result, Revision, SharedStorage,
    Storage, StorageError, WatchStream,
};
pub use readiness::FRESHNESS_TIMEOUT;
pub use state::WindowLimits;

/// One cached prefix, shared by its upstream task, its watchers and the cacher.
struct Cache {
    prefix: String,
    state: RwLock<State>,
    /// The state's revision, published after every change: it wakes watchers and reads waiting
    /// for the cache to catch up.
    revision: watch::Sender<Revision>,
    /// Progress requests for the upstream watch.
    progress: Arc<Notify>,
}

impl Cache {
    /// Changes the state, then publishes its revision.
    fn update(&self, change: impl FnOnce(&mut State)) {
        let revision = {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            change(&mut state);
            state.revision
        };
        self.revision.send_replace(revision);
    }

    /// Reads the state.
    fn read<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        read(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// How a [`Cacher`] behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacherOptions {
    /// How many recent events each prefix keeps for watches to start from.
    pub window: WindowLimits,
    /// How long a list at the latest revision waits for the cache to catch up with the backend
    /// before it reads the backend.
    pub freshness_timeout: Duration,
}

impl Default for CacherOptions {
    fn default() -> Self {
        Self {
            window: WindowLimits::default(),
            freshness_timeout: FRESHNESS_TIMEOUT,
        }
    }
}

/// A watch cache of some prefixes in front of `backend`; see the module doc.
pub struct Cacher {
    backend: SharedStorage,
    caches: Vec<Arc<Cache>>,
    tasks: Vec<AbortHandle>,
    freshness_timeout: Duration,
}

impl Cacher {
    /// Caches each of `prefixes` (collection prefixes, such as every pod's) in front of
    /// `backend`, with kube's defaults. Starts one task per prefix, so it must be called within a
    /// Tokio runtime; reads go to the backend until a prefix's cache is ready.
    pub fn new(backend: SharedStorage, prefixes: impl IntoIterator<Item = String>) -> Self {
        Self::with_options(backend, prefixes, CacherOptions::default())
    }

    /// [`Cacher::new`] with other limits (tests use a small window and a short timeout).
    pub fn with_options(
        backend: SharedStorage,
        prefixes: impl IntoIterator<Item = String>,
        options: CacherOptions,
    ) -> Self {
        let mut caches = Vec::new();
        let mut tasks = Vec::new();
        for mut prefix in prefixes {
            if !prefix.ends_with('/') {
                prefix.push('/');
            }
            let cache = Arc::new(Cache {
                prefix,
                state: RwLock::new(State::new(options.window)),
                revision: watch::Sender::new(0),
                progress: Arc::new(Notify::new()),
            });
            let task = tokio::spawn(readiness::run(cache.clone(), backend.clone()));
            tasks.push(task.abort_handle());
            caches.push(cache);
        }
        Self {
            backend,
            caches,
            tasks,
            freshness_timeout: options.freshness_timeout,
        }
    }

    /// Waits until every prefix is cached and its upstream watch has caught up with the
    /// backend's current revision (a progress notification, which also shows the watch is
    /// established: until then a compaction could still cancel it and force a new list). A
    /// server need not wait: until then its reads go to the backend. Tests wait, so that what
    /// they check is the cache. Fails if the backend cannot tell its current revision; over a
    /// backend without progress notifications, it may wait until a change under each prefix.
    pub async fn wait_ready(&self) -> Result<()> {
        for cache in &self.caches {
            readiness::wait_ready(cache).await;
            let target = self.backend.current_revision().await?;
            while !readiness::wait_fresh(cache, target, self.freshness_timeout).await {}
        }
        Ok(())
    }

    /// Whether every prefix is cached now, for a readiness check: a server whose caches are
    /// still filling answers correctly (from the backend) but without the cache's guarantees
    /// (shared watch history, cheap lists).
    pub fn is_ready(&self) -> bool {
        self.caches.iter().all(|cache| cache.read(|s| s.ready))
    }

    /// The cache a key or prefix falls under (the longest cached prefix of it), if any.
    fn cache_for(&self, key_or_prefix: &str) -> Option<&Arc<Cache>> {
        self.caches
            .iter()
            .filter(|c| key_or_prefix.starts_with(c.prefix.as_str()))
            .max_by_key(|c| c.prefix.len())
    }

    /// The cache that serves a watch of `key_or_prefix` after `after`; `None` when the backend
    /// does (not cached, or not ready yet), `Compacted` when `after` is outside the window.
    fn watching(&self, key_or_prefix: &str, after: Revision) -> Result<Option<&Arc<Cache>>> {
        let Some(cache) = self.cache_for(key_or_prefix) else {
            return Ok(None);
        };
        match cache.read(|s| s.ready.then(|| s.refuses_watch_after(after))) {
            None => Ok(None),
            Some(Some((requested, compacted))) => Err(StorageError::Compacted {
                requested,
                compacted,
            }),
            Some(None) => Ok(Some(cache)),
        }
    }

    /// `req` answered from `cache`, if the cache can; `Ok(None)` sends it to the backend.
    async fn list_cached(&self, cache: &Cache, req: &ListRequest) -> Result<Option<ListResponse>> {
        let range = KeyRange::of(req)?;
        if let Some(revision) = req.revision.filter(|&rev| rev > 0) {
            return Ok(cache.read(|s| s.serves_at(revision).then(|| s.list(&range, revision))));
        }
        if !cache.read(|s| s.ready) {
            return Ok(None);
        }
        let target = self.backend.current_revision().await?;
        if !readiness::wait_fresh(cache, target, self.freshness_timeout).await {
            tracing::debug!(prefix = %cache.prefix, target, "watch cache not fresh in time; listing from storage");
            return Ok(None);
        }
        Ok(cache.read(|s| (s.ready && s.revision >= target).then(|| s.list(&range, s.revision))))
    }
}

impl Drop for Cacher {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for cache in &self.caches {
            cache.update(|state| state.closed = true);
        }
    }
}

#[async_trait]
impl Storage for Cacher {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.backend.get(key).await
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        if let Some(cache) = self.cache_for(&req.prefix)
            && let Some(resp) = self.list_cached(cache, &req).await?
        {
            return Ok(resp);
        }
        self.backend.list(req).await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        self.backend.create(key, value).await
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        self.backend.update(key, value, expected).await
    }

    async fn create_with_ttl(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<KeyValue> {
        self.backend.create_with_ttl(key, value, ttl).await
    }

    async fn update_with_ttl(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<KeyValue> {
        self.backend
            .update_with_ttl(key, value, expected, ttl)
            .await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<Deleted> {
        self.backend.delete(key, expected).await
    }

    async fn watch(&self, key_or_prefix: &str, after: Revision) -> Result<WatchStream> {
        match self.watching(key_or_prefix, after)? {
            Some(cache) => Ok(fanout::watch(
                cache.clone(),
                Filter::new(key_or_prefix),
                after,
            )),
            None => self.backend.watch(key_or_prefix, after).await,
        }
    }

    /// Served as [`Storage::watch`] is, with progress: the cache's revision follows the store
    /// (the upstream watch's progress notifications), and a quiet watcher reports it.
    async fn watch_with_progress(
        &self,
        key_or_prefix: &str,
        after: Revision,
        requests: Arc<Notify>,
    ) -> Result<ProgressStream> {
        match self.watching(key_or_prefix, after)? {
            Some(cache) => Ok(fanout::watch_with_progress(
                cache.clone(),
                Filter::new(key_or_prefix),
                after,
                requests,
                self.backend.clone(),
            )),
            None => {
                self.backend
                    .watch_with_progress(key_or_prefix, after, requests)
                    .await
            }
        }
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.backend.current_revision().await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.backend.compact(revision).await?;
        for cache in &self.caches {
            cache.update(|state| state.compacted(revision));
        }
        Ok(())
    }

    async fn health(&self) -> Result<()> {
        self.backend.health().await
    }
}
