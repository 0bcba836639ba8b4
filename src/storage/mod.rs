//! Revisioned key-value storage with etcd3 semantics.
//!
//! The [`Storage`] trait is what the registry writes through. Its contract is etcd's: one global,
//! strictly increasing revision per store; every write returns the revision it created; that
//! revision is an object's `resourceVersion`; lists can be read at a past revision and watches can
//! resume from one, until compaction removes it (then [`StorageError::Compacted`], which the
//! registry turns into 410 `Expired`).
//!
//! Backends: [`embedded`] (redb, the default) and `etcd3` (etcd-client, cargo feature `etcd`).
//! [`backend::open`] picks one from configuration; [`compactor`] trims their history periodically.
//! [`cacher`] is the watch cache, a `Storage` in front of either that serves watches and recent
//! lists from memory. One contract suite (`tests/storage_contract.rs`) runs against the backends
//! and against the cacher over each.
//!
//! Keys are built only by [`keys`]; every prefix used to list or watch ends in `/`, so `ns1` never
//! matches `ns10`.
//!
//! Writes may give a key a time to live ([`Storage::create_with_ttl`], [`Storage::update_with_ttl`]),
//! as kube-apiserver does for events with etcd leases; the key then goes through an ordinary
//! deletion that readers and watchers see.

pub mod backend;
pub mod cacher;
pub mod compactor;
pub mod embedded;
#[cfg(feature = "etcd")]
pub mod etcd3;
mod filter;
pub mod keys;
mod range;
mod update;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::Notify;

pub use update::{Update, guaranteed_update};

/// A revision: etcd's `mod_revision`, exposed to clients as `resourceVersion`.
pub type Revision = i64;

/// One stored key with its value and revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the write that created this key (since its last deletion).
    pub create_revision: Revision,
    /// Revision of the last write to this key; the object's resourceVersion.
    pub mod_revision: Revision,
}

/// A range read under a prefix.
#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    /// Must end in `/`.
    pub prefix: String,
    /// Read the state as of this revision; `None` (or 0, as in etcd) reads the latest state.
    pub revision: Option<Revision>,
    /// First key to return (inclusive); must lie under `prefix`. Used by continue tokens.
    pub start_key: Option<String>,
    /// At most this many items; `None` or 0 means no limit.
    pub limit: Option<usize>,
}

/// The result of a range read.
#[derive(Clone, Debug, Default)]
pub struct ListResponse {
    /// Items in key order.
    pub items: Vec<KeyValue>,
    /// The revision the read was served at (the store's current revision for latest reads).
    pub revision: Revision,
    /// Whether more keys remain after the last item.
    pub more: bool,
    /// How many keys remain after the last item, when the backend knows cheaply.
    pub remaining: Option<i64>,
}

/// The outcome of a delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// The value just before deletion.
    pub prev: KeyValue,
    /// The revision of the deletion itself.
    pub revision: Revision,
}

/// One change seen by a watch, in revision order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// A create (`prev` is `None`) or an update (`prev` holds the value before it).
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    /// A deletion at `revision`; `prev` is the value that was deleted.
    Delete {
        key: String,
        revision: Revision,
        prev: KeyValue,
    },
}

impl WatchEvent {
    /// The revision at which this change happened.
    pub fn revision(&self) -> Revision {
        match self {
            Self::Put { kv, .. } => kv.mod_revision,
            Self::Delete { revision, .. } => *revision,
        }
    }
}

/// The stream a watch returns. It ends with `Err(Compacted)` if the watch falls behind compaction,
/// or with another error if the backend fails; otherwise it runs until dropped.
pub type WatchStream = BoxStream<'static, Result<WatchEvent, StorageError>>;

/// One item of a watch with progress notifications ([`Storage::watch_with_progress`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchItem {
    /// A change to the watched keys, as [`Storage::watch`] gives it.
    Event(WatchEvent),
    /// Every change to the watched keys up to this revision has been delivered, though there may
    /// have been none: the store moved on through other keys (etcd's progress notification).
    /// Watch bookmarks carry it, so that a client of a quiet resource resumes from a recent
    /// revision rather than one compaction may have removed; the [`cacher`] learns from it that
    /// it is fresh.
    Progress(Revision),
}

/// The stream [`Storage::watch_with_progress`] returns; it ends as a [`WatchStream`] does.
pub type ProgressStream = BoxStream<'static, Result<WatchItem, StorageError>>;

/// The events of `items`, for a backend that implements [`Storage::watch`] as a watch with
/// progress whose progress items it drops.
pub(crate) fn events_only(items: ProgressStream) -> WatchStream {
    items
        .filter_map(|item| {
            std::future::ready(match item {
                Ok(WatchItem::Event(event)) => Some(Ok(event)),
                Ok(WatchItem::Progress(_)) => None,
                Err(err) => Some(Err(err)),
            })
        })
        .boxed()
}

/// Storage failures; the registry adds resource and name and turns them into `ApiError`s.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum StorageError {
    /// The key does not exist.
    #[error("key not found: {0}")]
    NotFound(String),
    /// A create found the key already present.
    #[error("key already exists: {0}")]
    KeyExists(String),
    /// A compare-and-swap found a different `mod_revision`; `current` is what is stored now (`None`
    /// if the key is gone).
    #[error("revision conflict on {key}")]
    Conflict {
        key: String,
        current: Option<KeyValue>,
    },
    /// The requested revision is older than the compacted revision.
    #[error("required revision {requested} has been compacted (compacted at {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The requested revision is newer than anything stored.
    #[error("required revision {requested} is a future revision (current {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    /// The caller broke the contract (e.g. a prefix without a trailing `/`).
    #[error("invalid storage request: {0}")]
    InvalidArgument(String),
    /// The backend cannot be reached or timed out.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else (I/O, corruption, a backend bug).
    #[error("storage error: {0}")]
    Internal(String),
}

/// Result alias for storage calls.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A revisioned key-value store with etcd3 semantics.
///
/// Every method is linearizable with respect to writes; reads at the latest revision see every
/// write that returned before they started.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The current value of `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Keys under `req.prefix` in key order, at `req.revision` or the latest; a compacted revision
    /// gives [`StorageError::Compacted`], a future one [`StorageError::FutureRevision`].
    async fn list(&self, req: ListRequest) -> Result<ListResponse>;

    /// Writes `key` only if it does not exist; [`StorageError::KeyExists`] otherwise.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue>;

    /// Replaces `key` only if its `mod_revision` is `expected`; [`StorageError::Conflict`]
    /// otherwise (also when the key no longer exists).
    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue>;

    /// [`Storage::create`] with a time to live: with `Some(ttl)` the key is deleted (a revision of
    /// its own and a watch `Delete`, like any delete) no sooner than `ttl` after this write and
    /// only slightly later, unless it is written again first; `None` is a plain create. This is
    /// how kube keeps events: an etcd lease of `--event-ttl` attached on every write. The default
    /// refuses a TTL, for backends that cannot expire keys.
    async fn create_with_ttl(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<KeyValue> {
        match ttl {
            None => self.create(key, value).await,
            Some(_) => Err(StorageError::InvalidArgument(
                "this storage backend cannot expire keys".into(),
            )),
        }
    }

    /// [`Storage::update`] with a time to live, as [`Storage::create_with_ttl`]. Each write
    /// decides the key's expiry afresh: a write with `None` (and a plain `update`) makes the key
    /// permanent again, as an etcd put without a lease detaches the key from its old lease.
    async fn update_with_ttl(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<KeyValue> {
        match ttl {
            None => self.update(key, value, expected).await,
            Some(_) => Err(StorageError::InvalidArgument(
                "this storage backend cannot expire keys".into(),
            )),
        }
    }

    /// Deletes `key`, only if its `mod_revision` is `expected` when one is given
    /// ([`StorageError::Conflict`] otherwise); [`StorageError::NotFound`] if absent.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<Deleted>;

    /// Changes to `key_or_prefix` (a prefix when it ends in `/`) with revision greater than
    /// `after`. `after` older than the compacted revision gives [`StorageError::Compacted`],
    /// either at once or as the stream's first item; the [`cacher`] also answers so for an `after`
    /// older than its window of recent events.
    async fn watch(&self, key_or_prefix: &str, after: Revision) -> Result<WatchStream>;

    /// [`Storage::watch`] with [`WatchItem::Progress`] items, for two needs:
    ///
    /// * now and then (a few seconds apart at most, while other keys change, including the last
    ///   change before a quiet spell), so that a quiet watch's bookmarks follow the store;
    /// * on request: after `requests` is notified, the stream soon yields a progress item at a
    ///   revision at least as new as the store's current revision when the request was made. This
    ///   is how a cache in front of the store (the [`cacher`]) learns that it has seen everything
    ///   up to a revision even when none of the changes since touched its keys, as kube's watch
    ///   cache does with etcd's `RequestProgress`. A caller with no requests to make passes a
    ///   `Notify` it never notifies.
    ///
    /// A progress item never passes a change to the watched keys not yet delivered. The default,
    /// for a backend that cannot tell, never reports progress.
    async fn watch_with_progress(
        &self,
        key_or_prefix: &str,
        after: Revision,
        requests: Arc<Notify>,
    ) -> Result<ProgressStream> {
        drop(requests);
        let events = self.watch(key_or_prefix, after).await?;
        Ok(events.map(|item| item.map(WatchItem::Event)).boxed())
    }

    /// The store's current revision.
    async fn current_revision(&self) -> Result<Revision>;

    /// Forgets history older than `revision`: reads and watches before it become `Compacted`.
    /// Compacting at or below the already compacted revision is a no-op.
    async fn compact(&self, revision: Revision) -> Result<()>;

    /// Cheap liveness probe for `/readyz` (the `etcd` check).
    async fn health(&self) -> Result<()>;
}

/// A shared handle to some backend.
pub type SharedStorage = Arc<dyn Storage>;
