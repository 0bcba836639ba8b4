//! The redb tables of the embedded store and the byte layout of their records.
//!
//! Records are fixed little-endian headers followed by the raw value, so encoding a write is one
//! allocation and decoding a read is a slice copy; no serde on the hot path.

use redb::TableDefinition;

use crate::storage::{KeyValue, Revision, StorageError};

/// key → `[create_revision: i64 LE][mod_revision: i64 LE][value]`: the current state, for reads at
/// the latest revision without touching history.
pub(super) const LATEST: TableDefinition<&str, &[u8]> = TableDefinition::new("latest");

/// (key, revision) → `[0][create_revision: i64 LE][value]` for a put, `[1]` for a deletion: every
/// version of every key since the compacted revision (plus the newest version at or before it).
pub(super) const HISTORY: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("history");

/// revision → key: which key each revision changed, so a prefix watch replays in revision order.
pub(super) const EVENTS: TableDefinition<i64, &str> = TableDefinition::new("events");

/// (deadline, key) → nothing: every key written with a time to live, in deadline order, so the
/// sweeper finds what is due with one range read. Deadlines are milliseconds since the Unix epoch
/// (wall clock, so they mean the same after a restart).
pub(super) const EXPIRY: TableDefinition<(i64, &str), ()> = TableDefinition::new("expiry");

/// key → deadline: the `EXPIRY` entry of each expiring key, so that a later write can move or
/// drop it.
pub(super) const EXPIRES_AT: TableDefinition<&str, i64> = TableDefinition::new("expires_at");

/// name → revision: [`META_REVISION`] and [`META_COMPACTED`].
pub(super) const META: TableDefinition<&str, i64> = TableDefinition::new("meta");

/// The store's current revision.
pub(super) const META_REVISION: &str = "revision";
/// The revision history was last compacted to (0 when never).
pub(super) const META_COMPACTED: &str = "compacted";

/// The revision of a fresh store, as in etcd (the first write is revision 2), so no object ever
/// has resourceVersion "0", which clients read as "any".
pub(super) const INITIAL_REVISION: Revision = 1;

const HEADER: usize = 16;
const TAG_PUT: u8 = 0;
const TAG_DELETE: u8 = 1;

/// Encodes a `LATEST` record.
pub(super) fn encode_latest(create: Revision, modified: Revision, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + value.len());
    out.extend_from_slice(&create.to_le_bytes());
    out.extend_from_slice(&modified.to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// Decodes a `LATEST` record of `key`.
pub(super) fn decode_latest(key: &str, bytes: &[u8]) -> Result<KeyValue, StorageError> {
    if bytes.len() < HEADER {
        return Err(corrupt(key));
    }
    Ok(KeyValue {
        key: key.to_owned(),
        create_revision: read_i64(&bytes[0..8]),
        mod_revision: read_i64(&bytes[8..16]),
        value: bytes[HEADER..].to_vec(),
    })
}

/// Encodes a put into a `HISTORY` record.
pub(super) fn encode_put(create: Revision, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + value.len());
    out.push(TAG_PUT);
    out.extend_from_slice(&create.to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// The `HISTORY` record of a deletion.
pub(super) const TOMBSTONE: &[u8] = &[TAG_DELETE];

/// Decodes the `HISTORY` record of `key` at `revision`: the key-value it holds, or `None` for a
/// deletion.
pub(super) fn decode_version(
    key: &str,
    revision: Revision,
    bytes: &[u8],
) -> Result<Option<KeyValue>, StorageError> {
    match bytes.first() {
        Some(&TAG_DELETE) => Ok(None),
        Some(&TAG_PUT) if bytes.len() >= 9 => Ok(Some(KeyValue {
            key: key.to_owned(),
            create_revision: read_i64(&bytes[1..9]),
            mod_revision: revision,
            value: bytes[9..].to_vec(),
        })),
        _ => Err(corrupt(key)),
    }
}

/// Whether a `HISTORY` record is a deletion, without copying its value.
pub(super) fn is_tombstone(bytes: &[u8]) -> bool {
    bytes.first() == Some(&TAG_DELETE)
}

fn read_i64(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(bytes);
    i64::from_le_bytes(buf)
}

fn corrupt(key: &str) -> StorageError {
    StorageError::Internal(format!("corrupt record for key {key}"))
}

/// Maps any redb error to [`StorageError::Internal`]; redb errors are I/O or corruption.
pub(super) fn db_err(err: impl std::fmt::Display) -> StorageError {
    StorageError::Internal(format!("embedded store: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_round_trips() {
        let bytes = encode_latest(3, 7, b"hello");
        let kv = decode_latest("/a", &bytes).unwrap();
        assert_eq!(
            kv,
            KeyValue {
                key: "/a".into(),
                value: b"hello".to_vec(),
                create_revision: 3,
                mod_revision: 7
            }
        );
        assert!(decode_latest("/a", &bytes[..10]).is_err());
    }

    #[test]
    fn versions_round_trip() {
        let kv = decode_version("/a", 9, &encode_put(4, b"v"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (kv.create_revision, kv.mod_revision, kv.value),
            (4, 9, b"v".to_vec())
        );
        assert_eq!(decode_version("/a", 9, TOMBSTONE).unwrap(), None);
        assert!(is_tombstone(TOMBSTONE) && !is_tombstone(&encode_put(1, b"")));
        assert!(decode_version("/a", 9, &[7]).is_err());
    }
}
