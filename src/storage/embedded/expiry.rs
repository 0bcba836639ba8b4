//! Keys with a time to live: what etcd does with leases, done with an index and a sweeper.
//!
//! A write with a TTL records its deadline in `EXPIRY` (ordered by deadline) and `EXPIRES_AT` in
//! the same transaction as the write itself (see `write`); any later write of the key replaces or
//! drops it. One background task per open store sleeps until the earliest deadline, then deletes
//! every due key through the ordinary delete, one transaction each, so expiry looks to readers and
//! watchers exactly like a client's delete: a new revision and a `Delete` event with the last
//! value. Deadlines are wall-clock milliseconds, so keys that fell due while the store was closed
//! go as soon as it is opened again.
//!
//! The task holds the store only weakly and only while it sweeps, so dropping the last handle
//! closes the database as before; it ends when the store is dropped.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tokio::sync::Notify;

use super::schema::{EXPIRES_AT, EXPIRY, db_err};
use super::{Inner, blocking, write};
use crate::storage::{Result, StorageError, WatchEvent};

/// How long the sweeper waits before retrying after a failed sweep.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Milliseconds since the Unix epoch, now.
pub(super) fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// The deadline of a write made now with `ttl` (rounded up to the next millisecond).
pub(super) fn deadline(ttl: Duration) -> i64 {
    let ms = ttl.as_nanos().div_ceil(1_000_000);
    now_ms().saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// What writers share with the sweeper: the earliest deadline they know of, and a wake-up.
pub(super) struct ExpiryClock {
    /// `i64::MAX` when nothing is known to expire.
    earliest: AtomicI64,
    wake: Notify,
    closed: AtomicBool,
}

impl ExpiryClock {
    /// A clock knowing of `earliest` (the store's first deadline when it was opened).
    pub(super) fn new(earliest: Option<i64>) -> Self {
        Self {
            earliest: AtomicI64::new(earliest.unwrap_or(i64::MAX)),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// Tells the sweeper about a committed write expiring at `deadline`; wakes it if that is
    /// sooner than anything it waits for.
    pub(super) fn note(&self, deadline: i64) {
        if self.earliest.fetch_min(deadline, Ordering::SeqCst) > deadline {
            self.wake.notify_one();
        }
    }

    /// Ends the sweeper (the store is going away).
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// The earliest deadline in the store, if any key expires.
pub(super) fn first_deadline(txn: &ReadTransaction) -> Result<Option<i64>> {
    let expiry = txn.open_table(EXPIRY).map_err(db_err)?;
    match expiry.first().map_err(db_err)? {
        Some((k, _)) => Ok(Some(k.value().0)),
        None => Ok(None),
    }
}

/// The keys due at `now`, earliest first.
fn due(txn: &ReadTransaction, now: i64) -> Result<Vec<String>> {
    let expiry = txn.open_table(EXPIRY).map_err(db_err)?;
    let mut keys = Vec::new();
    for entry in expiry
        .range(..(now.saturating_add(1), ""))
        .map_err(db_err)?
    {
        let (k, _) = entry.map_err(db_err)?;
        keys.push(k.value().1.to_owned());
    }
    Ok(keys)
}

/// Deletes `key` if it is (still) due at `now`; a write since the sweep began may have moved its
/// deadline or made it permanent.
fn expire(txn: &WriteTransaction, key: &str, now: i64) -> Result<Option<WatchEvent>> {
    let deadline = txn
        .open_table(EXPIRES_AT)
        .map_err(db_err)?
        .get(key)
        .map_err(db_err)?
        .map(|v| v.value());
    match deadline {
        Some(d) if d <= now => match write::delete(txn, key, None) {
            Ok((_, event)) => Ok(Some(event)),
            Err(StorageError::NotFound(_)) => {
                // An index entry without its key cannot be written, but must not stick.
                txn.open_table(EXPIRES_AT)
                    .map_err(db_err)?
                    .remove(key)
                    .map_err(db_err)?;
                txn.open_table(EXPIRY)
                    .map_err(db_err)?
                    .remove((d, key))
                    .map_err(db_err)?;
                Ok(None)
            }
            Err(err) => Err(err),
        },
        _ => Ok(None),
    }
}

impl Inner {
    /// Deletes every key due at `now`, each in its own transaction, and returns the next deadline.
    fn sweep(&self, now: i64) -> Result<Option<i64>> {
        let keys = due(&self.begin_read()?, now)?;
        for key in &keys {
            self.write(|txn| expire(txn, key, now).map(|event| ((), event)))?;
        }
        if !keys.is_empty() {
            tracing::debug!(expired = keys.len(), "expired keys in the embedded store");
        }
        first_deadline(&self.begin_read()?)
    }
}

/// Starts the sweeper of the store behind `inner`; it runs until the store is dropped.
pub(super) fn spawn_sweeper(inner: Weak<Inner>, clock: Arc<ExpiryClock>) {
    tokio::spawn(async move {
        loop {
            if clock.closed.load(Ordering::SeqCst) {
                return;
            }
            let earliest = clock.earliest.load(Ordering::SeqCst);
            let now = now_ms();
            if earliest > now {
                let wait = (earliest != i64::MAX)
                    .then(|| Duration::from_millis(u64::try_from(earliest - now).unwrap_or(0)));
                tokio::select! {
                    () = clock.wake.notified() => {}
                    () = sleep(wait) => {}
                }
                continue;
            }
            let Some(store) = inner.upgrade() else {
                return;
            };
            // Writers that commit during the sweep lower this again; the sweep reports the rest.
            clock.earliest.store(i64::MAX, Ordering::SeqCst);
            match blocking(move || store.sweep(now)).await {
                Ok(Some(next)) => clock.note(next),
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "expiring keys in the embedded store failed");
                    let retry = now_ms().saturating_add(RETRY_AFTER.as_millis() as i64);
                    clock.note(retry);
                }
            }
        }
    });
}

/// Sleeps for `wait`, or forever.
async fn sleep(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}
