//! The embedded backend on redb: durable, crash-safe, with change history for watches.
//!
//! It gives a single Capstan the same contract etcd gives a cluster, from one file and no other
//! process: one global revision, compare-and-swap writes, reads at past revisions, resumable
//! watches and compaction.
//!
//! # Table layout
//!
//! | table     | key                 | value                                                   |
//! |-----------|---------------------|---------------------------------------------------------|
//! | `latest`  | key                 | `create_revision` i64 LE, `mod_revision` i64 LE, value  |
//! | `history` | (key, revision)     | `0`, `create_revision` i64 LE, value — or `1` (deleted) |
//! | `events`  | revision            | key changed at that revision                            |
//! | `meta`    | `revision`/`compacted` | the current and the compacted revision              |
//! | `expiry`  | (deadline, key)     | nothing: keys written with a TTL, by deadline           |
//! | `expires_at` | key              | the key's deadline (ms since the Unix epoch)            |
//!
//! * Every write is one redb write transaction that checks `latest`, then writes `latest`,
//!   `history`, `events` and `meta.revision` together and commits with redb's default immediate
//!   durability (fsync). A crash loses either the whole write or nothing, and reopening the file
//!   restores data, history, the revision counter and the compacted revision.
//! * Reads at the latest revision use `latest` only. Reads at a past revision `R` seek, for each key
//!   under the prefix, the newest `history` entry at or before `R`.
//! * Watches replay `events` (a prefix) or `history` (one key) and rebuild each event with its
//!   previous version from `history`; then they follow a tokio broadcast that every commit sends
//!   to (see [`watch`](self) for lag handling). Writes are serialized by one mutex held from
//!   `begin_write` until the broadcast, so broadcast order is commit order.
//! * `compact(C)` deletes `history` entries older than each key's newest version at or before `C`
//!   (and that version too when it is a deletion), and `events` before `C`; it records `C` as the
//!   compacted revision, below which lists and watches answer `Compacted`.
//! * Writes with a TTL record a deadline; a background sweeper deletes due keys through the
//!   ordinary delete (see [`expiry`](self)).
//!
//! Every redb call runs in `tokio::task::spawn_blocking`.

mod expiry;
mod read;
mod schema;
mod watch;
mod write;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};
use tokio::sync::{Notify, broadcast};

use self::expiry::ExpiryClock;
use self::schema::db_err;
use crate::storage::{
    Deleted, KeyValue, ListRequest, ListResponse, ProgressStream, Result, Revision, Storage,
    StorageError, WatchEvent, WatchStream, events_only,
};

/// How many committed events the broadcast holds for slow watchers before they must catch up
/// from history.
const BROADCAST_CAPACITY: usize = 4096;

/// A [`Storage`] in one redb file; cheap to clone (all clones share the database).
#[derive(Clone)]
pub struct EmbeddedStorage {
    inner: Arc<Inner>,
}

/// The shared state behind every clone of an [`EmbeddedStorage`] and every watch on it.
pub(crate) struct Inner {
    db: Database,
    /// Held from `begin_write` until the commit's event is broadcast (see the module doc).
    write_lock: Mutex<()>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    /// The last committed revision, for `current_revision` without a read transaction.
    revision: AtomicI64,
    /// Wakes the sweeper that deletes expired keys.
    expiry: Arc<ExpiryClock>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.expiry.close();
    }
}

impl Inner {
    fn begin_read(&self) -> Result<ReadTransaction> {
        self.db.begin_read().map_err(db_err)
    }

    /// Runs `f` in a write transaction under the write lock; commits, then broadcasts the event
    /// `f` produced. Errors from `f` abort the transaction.
    fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<(T, Option<WatchEvent>)>,
    ) -> Result<T> {
        // A poisoned lock only means another writer panicked; redb rolled its transaction back.
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let txn = self.db.begin_write().map_err(db_err)?;
        let (out, event) = match f(&txn) {
            Ok(done) => done,
            Err(err) => {
                if let Err(abort) = txn.abort() {
                    tracing::warn!(error = %abort, "aborting an embedded store transaction failed");
                }
                return Err(err);
            }
        };
        txn.commit().map_err(db_err)?;
        if let Some(event) = event {
            self.revision.store(event.revision(), Ordering::SeqCst);
            // No receivers is fine: nobody is watching.
            let _ = self.events.send(Arc::new(event));
        }
        Ok(out)
    }
}

/// Runs blocking redb work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Internal(format!("embedded store task failed: {e}")))?
}

impl EmbeddedStorage {
    /// Opens the store at `path`, creating the file (not its directory) if it does not exist.
    /// Fails if another process or handle has the file open.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_capacity(path.as_ref(), BROADCAST_CAPACITY).await
    }

    async fn open_with_capacity(path: &Path, capacity: usize) -> Result<Self> {
        let path = path.to_owned();
        let (db, revision, first_deadline) = blocking(move || {
            let db = Database::create(&path)
                .map_err(|e| StorageError::Internal(format!("opening {}: {e}", path.display())))?;
            let txn = db.begin_write().map_err(db_err)?;
            write::init(&txn)?;
            let (revision, _) = write::revisions(&txn)?;
            txn.commit().map_err(db_err)?;
            let first_deadline = expiry::first_deadline(&db.begin_read().map_err(db_err)?)?;
            Ok((db, revision, first_deadline))
        })
        .await?;
        let (events, _) = broadcast::channel(capacity);
        let clock = Arc::new(ExpiryClock::new(first_deadline));
        let inner = Arc::new(Inner {
            db,
            write_lock: Mutex::new(()),
            events,
            revision: AtomicI64::new(revision),
            expiry: clock.clone(),
        });
        expiry::spawn_sweeper(Arc::downgrade(&inner), clock);
        Ok(Self { inner })
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        blocking(move || f(&inner.begin_read()?)).await
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<(T, Option<WatchEvent>)> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        blocking(move || inner.write(f)).await
    }

    /// A watch of `key_or_prefix` after `after`, answering progress `requests` if given.
    async fn watch_items(
        &self,
        key_or_prefix: &str,
        after: Revision,
        requests: Option<Arc<Notify>>,
    ) -> Result<ProgressStream> {
        // Subscribe before reading anything, so no commit falls between history and live events.
        let rx = self.inner.events.subscribe();
        let revs = self.read(read::revisions).await?;
        if after < revs.compacted {
            return Err(StorageError::Compacted {
                requested: after,
                compacted: revs.compacted,
            });
        }
        Ok(watch::stream(
            self.inner.clone(),
            watch::Filter::new(key_or_prefix),
            rx,
            after,
            requests,
        ))
    }
}

#[async_trait]
impl Storage for EmbeddedStorage {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_owned();
        self.read(move |txn| read::get(txn, &key)).await
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        self.read(move |txn| read::list(txn, &req)).await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        self.create_with_ttl(key, value, None).await
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        self.update_with_ttl(key, value, expected, None).await
    }

    async fn create_with_ttl(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<KeyValue> {
        let key = key.to_owned();
        let deadline = ttl.map(expiry::deadline);
        let kv = self
            .write(move |txn| {
                write::create(txn, &key, value, deadline).map(|(kv, ev)| (kv, Some(ev)))
            })
            .await?;
        if let Some(deadline) = deadline {
            self.inner.expiry.note(deadline);
        }
        Ok(kv)
    }

    async fn update_with_ttl(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<KeyValue> {
        let key = key.to_owned();
        let deadline = ttl.map(expiry::deadline);
        let kv = self
            .write(move |txn| {
                write::update(txn, &key, value, expected, deadline).map(|(kv, ev)| (kv, Some(ev)))
            })
            .await?;
        if let Some(deadline) = deadline {
            self.inner.expiry.note(deadline);
        }
        Ok(kv)
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<Deleted> {
        let key = key.to_owned();
        self.write(move |txn| write::delete(txn, &key, expected).map(|(d, ev)| (d, Some(ev))))
            .await
    }

    async fn watch(&self, key_or_prefix: &str, after: Revision) -> Result<WatchStream> {
        let items = self.watch_items(key_or_prefix, after, None).await?;
        Ok(events_only(items))
    }

    async fn watch_with_progress(
        &self,
        key_or_prefix: &str,
        after: Revision,
        requests: Arc<Notify>,
    ) -> Result<ProgressStream> {
        self.watch_items(key_or_prefix, after, Some(requests)).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.inner.revision.load(Ordering::SeqCst))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.write(move |txn| write::compact(txn, revision).map(|()| ((), None)))
            .await
    }

    async fn health(&self) -> Result<()> {
        self.read(|txn| read::revisions(txn).map(|_| ())).await
    }
}

#[cfg(test)]
mod tests;
