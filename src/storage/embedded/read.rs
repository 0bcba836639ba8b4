//! Reads inside one redb read transaction: point gets, range lists at the latest or a past
//! revision, and reconstruction of watch events from history.

use std::ops::Bound;

use redb::ReadTransaction;

use super::schema::{
    EVENTS, HISTORY, INITIAL_REVISION, LATEST, META, META_COMPACTED, META_REVISION, db_err,
    decode_latest, decode_version,
};
use crate::storage::range::KeyRange;
use crate::storage::{
    KeyValue, ListRequest, ListResponse, Result, Revision, StorageError, WatchEvent,
};

/// The current and compacted revisions as of a transaction's snapshot.
#[derive(Clone, Copy, Debug)]
pub(super) struct Revisions {
    pub current: Revision,
    pub compacted: Revision,
}

/// Reads the store's revisions in `txn`.
pub(super) fn revisions(txn: &ReadTransaction) -> Result<Revisions> {
    let meta = txn.open_table(META).map_err(db_err)?;
    let current = meta
        .get(META_REVISION)
        .map_err(db_err)?
        .map_or(INITIAL_REVISION, |v| v.value());
    let compacted = meta
        .get(META_COMPACTED)
        .map_err(db_err)?
        .map_or(0, |v| v.value());
    Ok(Revisions { current, compacted })
}

/// The current value of `key`.
pub(super) fn get(txn: &ReadTransaction, key: &str) -> Result<Option<KeyValue>> {
    let latest = txn.open_table(LATEST).map_err(db_err)?;
    match latest.get(key).map_err(db_err)? {
        Some(bytes) => decode_latest(key, bytes.value()).map(Some),
        None => Ok(None),
    }
}

/// Lists per `req` in `txn`: from `LATEST` when reading the current revision, else from
/// `HISTORY` at the requested revision.
pub(super) fn list(txn: &ReadTransaction, req: &ListRequest) -> Result<ListResponse> {
    let range = KeyRange::of(req)?;
    let revs = revisions(txn)?;
    // Revision 0 means the latest, as in etcd.
    match req.revision.filter(|&rev| rev > 0) {
        Some(rev) if rev > revs.current => Err(StorageError::FutureRevision {
            requested: rev,
            current: revs.current,
        }),
        Some(rev) if rev < revs.compacted => Err(StorageError::Compacted {
            requested: rev,
            compacted: revs.compacted,
        }),
        Some(rev) if rev < revs.current => list_at(txn, &range, rev),
        _ => list_latest(txn, &range, revs.current),
    }
}

fn list_latest(
    txn: &ReadTransaction,
    range: &KeyRange<'_>,
    current: Revision,
) -> Result<ListResponse> {
    let latest = txn.open_table(LATEST).map_err(db_err)?;
    let mut iter = latest
        .range::<&str>(range.start..range.end.as_str())
        .map_err(db_err)?;
    let mut items = Vec::new();
    while !range.full(items.len()) {
        match iter.next() {
            Some(entry) => {
                let (key, value) = entry.map_err(db_err)?;
                items.push(decode_latest(key.value(), value.value())?);
            }
            None => break,
        }
    }
    // Counting the rest walks keys only; values are not copied.
    let remaining = iter.count() as i64;
    Ok(ListResponse {
        items,
        revision: current,
        more: remaining > 0,
        remaining: Some(remaining),
    })
}

/// Lists at a past revision: for each key in the range, the newest version at or before `rev`,
/// skipping keys whose newest such version is a deletion. Each key costs two B-tree seeks.
fn list_at(txn: &ReadTransaction, range: &KeyRange<'_>, rev: Revision) -> Result<ListResponse> {
    let history = txn.open_table(HISTORY).map_err(db_err)?;
    let end = (range.end.as_str(), i64::MIN);
    let mut items = Vec::new();
    let mut remaining = 0i64;
    let mut after: Option<String> = None;
    loop {
        let lower = match &after {
            Some(key) => Bound::Excluded((key.as_str(), i64::MAX)),
            None => Bound::Included((range.start, i64::MIN)),
        };
        let next_key = match history
            .range((lower, Bound::Excluded(end)))
            .map_err(db_err)?
            .next()
        {
            Some(entry) => entry.map_err(db_err)?.0.value().0.to_owned(),
            None => break,
        };
        let key = next_key.as_str();
        let newest = history
            .range((key, i64::MIN)..=(key, rev))
            .map_err(db_err)?
            .next_back();
        if let Some(entry) = newest {
            let (k, v) = entry.map_err(db_err)?;
            if range.full(items.len()) {
                if !super::schema::is_tombstone(v.value()) {
                    remaining += 1;
                }
            } else if let Some(kv) = decode_version(key, k.value().1, v.value())? {
                items.push(kv);
            }
        }
        after = Some(next_key);
    }
    Ok(ListResponse {
        items,
        revision: rev,
        more: remaining > 0,
        remaining: Some(remaining),
    })
}

/// The change `key` underwent at `rev`, with the version before it as `prev`; `None` if `rev`
/// did not change `key` (or was compacted away).
pub(super) fn event_at(
    txn: &ReadTransaction,
    key: &str,
    rev: Revision,
) -> Result<Option<WatchEvent>> {
    let history = txn.open_table(HISTORY).map_err(db_err)?;
    let Some(current) = history.get((key, rev)).map_err(db_err)? else {
        return Ok(None);
    };
    let current = decode_version(key, rev, current.value())?;
    let prev = match history
        .range((key, i64::MIN)..(key, rev))
        .map_err(db_err)?
        .next_back()
    {
        Some(entry) => {
            let (k, v) = entry.map_err(db_err)?;
            decode_version(key, k.value().1, v.value())?
        }
        None => None,
    };
    Ok(Some(match current {
        Some(kv) => WatchEvent::Put { kv, prev },
        None => {
            let prev = prev.ok_or_else(|| {
                StorageError::Internal(format!("deletion of {key} at {rev} has no prior version"))
            })?;
            WatchEvent::Delete {
                key: key.to_owned(),
                revision: rev,
                prev,
            }
        }
    }))
}

/// Revisions after `after` that changed `key`, at most `max` of them, in order.
pub(super) fn key_revisions(
    txn: &ReadTransaction,
    key: &str,
    after: Revision,
    max: usize,
) -> Result<Vec<Revision>> {
    let history = txn.open_table(HISTORY).map_err(db_err)?;
    let lower = (key, after.saturating_add(1));
    let iter = history.range(lower..=(key, i64::MAX)).map_err(db_err)?;
    iter.take(max)
        .map(|e| e.map(|(k, _)| k.value().1).map_err(db_err))
        .collect()
}

/// Revisions after `after` with the key each changed, at most `max` of them, in order.
pub(super) fn changes_since(
    txn: &ReadTransaction,
    after: Revision,
    max: usize,
) -> Result<Vec<(Revision, String)>> {
    let events = txn.open_table(EVENTS).map_err(db_err)?;
    let iter = events.range(after.saturating_add(1)..).map_err(db_err)?;
    iter.take(max)
        .map(|e| {
            e.map(|(r, k)| (r.value(), k.value().to_owned()))
                .map_err(db_err)
        })
        .collect()
}
