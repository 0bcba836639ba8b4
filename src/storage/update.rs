//! Read-modify-write with optimistic concurrency (kube's `GuaranteedUpdate`), for any backend.

use super::{KeyValue, Storage, StorageError};

/// What an update function decided for the current value.
#[derive(Debug)]
pub enum Update {
    /// Write these bytes (create if the key is absent).
    Put(Vec<u8>),
    /// Nothing to write; the current value stands.
    Unchanged,
}

/// Reads `key`, lets `decide` compute the new value from the current one (`None` if absent), and
/// writes it with a compare-and-swap on the revision it read; on a lost race it reads again and
/// asks `decide` again. `decide` checks preconditions itself and fails with its own error type.
///
/// Returns the stored key-value, or `None` when `decide` left an absent key unchanged. Writing the
/// same bytes that are stored is skipped, so a no-op update keeps its revision, as in kube.
pub async fn guaranteed_update<E, F>(
    storage: &dyn Storage,
    key: &str,
    mut decide: F,
) -> Result<Option<KeyValue>, E>
where
    E: From<StorageError>,
    F: FnMut(Option<&KeyValue>) -> Result<Update, E>,
{
    let mut current = storage.get(key).await?;
    loop {
        let next = match decide(current.as_ref())? {
            Update::Unchanged => return Ok(current),
            Update::Put(bytes) => bytes,
        };
        let written = match &current {
            Some(kv) if kv.value == next => return Ok(current),
            Some(kv) => storage.update(key, next, kv.mod_revision).await,
            None => storage.create(key, next).await,
        };
        match written {
            Ok(kv) => return Ok(Some(kv)),
            Err(StorageError::Conflict { current: fresh, .. }) => current = fresh,
            Err(StorageError::KeyExists(_)) => current = storage.get(key).await?,
            Err(other) => return Err(other.into()),
        }
    }
}
