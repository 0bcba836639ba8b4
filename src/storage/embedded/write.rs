//! Writes inside one redb write transaction. Each changes `LATEST`, `HISTORY`, `EVENTS`, the
//! revision counter and the key's expiry (`EXPIRY`, `EXPIRES_AT`) together, so a crash leaves
//! either all of a write or none of it.

use redb::{ReadableTable, Table, WriteTransaction};

use super::schema::{
    EVENTS, EXPIRES_AT, EXPIRY, HISTORY, INITIAL_REVISION, LATEST, META, META_COMPACTED,
    META_REVISION, TOMBSTONE, db_err, decode_latest, encode_latest, encode_put, is_tombstone,
};
use crate::storage::{Deleted, KeyValue, Result, Revision, StorageError, WatchEvent};

/// Creates every table and the revision counter if the file is new.
pub(super) fn init(txn: &WriteTransaction) -> Result<()> {
    txn.open_table(LATEST).map_err(db_err)?;
    txn.open_table(HISTORY).map_err(db_err)?;
    txn.open_table(EVENTS).map_err(db_err)?;
    txn.open_table(EXPIRY).map_err(db_err)?;
    txn.open_table(EXPIRES_AT).map_err(db_err)?;
    let mut meta = txn.open_table(META).map_err(db_err)?;
    if meta.get(META_REVISION).map_err(db_err)?.is_none() {
        meta.insert(META_REVISION, INITIAL_REVISION)
            .map_err(db_err)?;
        meta.insert(META_COMPACTED, 0).map_err(db_err)?;
    }
    Ok(())
}

/// Reads `(current, compacted)` inside a write transaction.
pub(super) fn revisions(txn: &WriteTransaction) -> Result<(Revision, Revision)> {
    let meta = txn.open_table(META).map_err(db_err)?;
    let current = meta
        .get(META_REVISION)
        .map_err(db_err)?
        .map_or(INITIAL_REVISION, |v| v.value());
    let compacted = meta
        .get(META_COMPACTED)
        .map_err(db_err)?
        .map_or(0, |v| v.value());
    Ok((current, compacted))
}

/// The tables one write touches, opened once per transaction.
struct Tables<'t> {
    latest: Table<'t, &'static str, &'static [u8]>,
    history: Table<'t, (&'static str, i64), &'static [u8]>,
    events: Table<'t, i64, &'static str>,
    meta: Table<'t, &'static str, i64>,
    expiry: Table<'t, (i64, &'static str), ()>,
    expires_at: Table<'t, &'static str, i64>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self> {
        Ok(Self {
            latest: txn.open_table(LATEST).map_err(db_err)?,
            history: txn.open_table(HISTORY).map_err(db_err)?,
            events: txn.open_table(EVENTS).map_err(db_err)?,
            meta: txn.open_table(META).map_err(db_err)?,
            expiry: txn.open_table(EXPIRY).map_err(db_err)?,
            expires_at: txn.open_table(EXPIRES_AT).map_err(db_err)?,
        })
    }

    fn current(&self, key: &str) -> Result<Option<KeyValue>> {
        match self.latest.get(key).map_err(db_err)? {
            Some(bytes) => decode_latest(key, bytes.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The revision this write creates.
    fn next_revision(&self) -> Result<Revision> {
        let current = self.meta.get(META_REVISION).map_err(db_err)?;
        Ok(current.map_or(INITIAL_REVISION, |v| v.value()) + 1)
    }

    /// Records that `rev` changed `key` to `version` (a `HISTORY` record); advances the counter.
    fn record(&mut self, key: &str, rev: Revision, version: &[u8]) -> Result<()> {
        self.history.insert((key, rev), version).map_err(db_err)?;
        self.events.insert(rev, key).map_err(db_err)?;
        self.meta.insert(META_REVISION, rev).map_err(db_err)?;
        Ok(())
    }

    /// Makes `key` expire at `deadline` (ms since the epoch), or never; replaces any earlier
    /// deadline.
    fn set_expiry(&mut self, key: &str, deadline: Option<i64>) -> Result<()> {
        let old = self
            .expires_at
            .remove(key)
            .map_err(db_err)?
            .map(|v| v.value());
        if let Some(old) = old {
            self.expiry.remove((old, key)).map_err(db_err)?;
        }
        if let Some(deadline) = deadline {
            self.expiry.insert((deadline, key), ()).map_err(db_err)?;
            self.expires_at.insert(key, deadline).map_err(db_err)?;
        }
        Ok(())
    }

    /// Puts `value` at `key`, keeping `create_revision` from `prev` when it exists; the key
    /// expires at `deadline` (ms since the epoch), or never.
    fn put(
        &mut self,
        key: &str,
        value: Vec<u8>,
        prev: Option<KeyValue>,
        deadline: Option<i64>,
    ) -> Result<(KeyValue, WatchEvent)> {
        self.set_expiry(key, deadline)?;
        let rev = self.next_revision()?;
        let create = prev.as_ref().map_or(rev, |p| p.create_revision);
        self.record(key, rev, &encode_put(create, &value))?;
        let record = encode_latest(create, rev, &value);
        self.latest.insert(key, record.as_slice()).map_err(db_err)?;
        let kv = KeyValue {
            key: key.to_owned(),
            value,
            create_revision: create,
            mod_revision: rev,
        };
        Ok((kv.clone(), WatchEvent::Put { kv, prev }))
    }
}

/// Creates `key`, expiring at `deadline` if given; [`StorageError::KeyExists`] if present.
pub(super) fn create(
    txn: &WriteTransaction,
    key: &str,
    value: Vec<u8>,
    deadline: Option<i64>,
) -> Result<(KeyValue, WatchEvent)> {
    let mut tables = Tables::open(txn)?;
    if tables.current(key)?.is_some() {
        return Err(StorageError::KeyExists(key.to_owned()));
    }
    tables.put(key, value, None, deadline)
}

/// Replaces `key` if its `mod_revision` is `expected`; it then expires at `deadline`, or never.
pub(super) fn update(
    txn: &WriteTransaction,
    key: &str,
    value: Vec<u8>,
    expected: Revision,
    deadline: Option<i64>,
) -> Result<(KeyValue, WatchEvent)> {
    let mut tables = Tables::open(txn)?;
    match tables.current(key)? {
        Some(kv) if kv.mod_revision == expected => tables.put(key, value, Some(kv), deadline),
        other => Err(StorageError::Conflict {
            key: key.to_owned(),
            current: other,
        }),
    }
}

/// Deletes `key`, checking `expected` when given.
pub(super) fn delete(
    txn: &WriteTransaction,
    key: &str,
    expected: Option<Revision>,
) -> Result<(Deleted, WatchEvent)> {
    let mut tables = Tables::open(txn)?;
    let prev = match tables.current(key)? {
        None => return Err(StorageError::NotFound(key.to_owned())),
        Some(kv) if expected.is_some_and(|e| e != kv.mod_revision) => {
            return Err(StorageError::Conflict {
                key: key.to_owned(),
                current: Some(kv),
            });
        }
        Some(kv) => kv,
    };
    tables.set_expiry(key, None)?;
    let revision = tables.next_revision()?;
    tables.record(key, revision, TOMBSTONE)?;
    tables.latest.remove(key).map_err(db_err)?;
    let event = WatchEvent::Delete {
        key: key.to_owned(),
        revision,
        prev: prev.clone(),
    };
    Ok((Deleted { prev, revision }, event))
}

/// Drops history older than `rev`, keeping each key's newest version at or before `rev` (unless
/// it is a deletion) so lists at `rev` still work, and the change log before `rev`.
pub(super) fn compact(txn: &WriteTransaction, rev: Revision) -> Result<()> {
    let (current, compacted) = revisions(txn)?;
    if rev > current {
        return Err(StorageError::FutureRevision {
            requested: rev,
            current,
        });
    }
    if rev <= compacted {
        return Ok(());
    }
    let mut history = txn.open_table(HISTORY).map_err(db_err)?;
    let doomed = compactable(&history, rev)?;
    for (key, r) in &doomed {
        history.remove((key.as_str(), *r)).map_err(db_err)?;
    }
    drop(history);
    let mut events = txn.open_table(EVENTS).map_err(db_err)?;
    events.retain_in(..rev, |_, _| false).map_err(db_err)?;
    drop(events);
    txn.open_table(META)
        .map_err(db_err)?
        .insert(META_COMPACTED, rev)
        .map_err(db_err)?;
    tracing::debug!(
        revision = rev,
        removed = doomed.len(),
        "compacted embedded history"
    );
    Ok(())
}

/// The `HISTORY` entries compaction to `rev` removes: every version at or before `rev` except each
/// key's newest one, and that one too when it is a deletion.
fn compactable(history: &Table<(&str, i64), &[u8]>, rev: Revision) -> Result<Vec<(String, i64)>> {
    let mut doomed = Vec::new();
    // The newest version at or before `rev` seen so far for the key being walked.
    let mut candidate: Option<(String, i64, bool)> = None;
    for entry in history.iter().map_err(db_err)? {
        let (k, v) = entry.map_err(db_err)?;
        let (key, r) = k.value();
        let same_key = candidate.as_ref().is_some_and(|(ck, _, _)| ck == key);
        if !same_key {
            if let Some((ck, cr, true)) = candidate.take() {
                doomed.push((ck, cr));
            }
            candidate = None;
        }
        if r > rev {
            // Newer versions of this key stay; its candidate (if any) is its state at `rev`.
            if let Some((ck, cr, true)) = candidate.take() {
                doomed.push((ck, cr));
            }
            continue;
        }
        if let Some((ck, cr, _)) = candidate.take() {
            doomed.push((ck, cr));
        }
        candidate = Some((key.to_owned(), r, is_tombstone(v.value())));
    }
    if let Some((ck, cr, true)) = candidate {
        doomed.push((ck, cr));
    }
    Ok(doomed)
}
