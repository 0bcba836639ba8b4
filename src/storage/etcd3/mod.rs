//! The etcd3 backend on etcd-client, for Capstan deployed next to (or sharing) a cluster's etcd.
//!
//! It maps the [`Storage`] contract onto etcd's v3 API the way kube-apiserver's `storage/etcd3`
//! does: creates are a `Txn` comparing `create_revision == 0`; updates and conditional deletes
//! compare `mod_revision`; lists are one range read (at a revision, with a limit, and `count` for
//! the remaining items); watches ask for `prev_kv` and start at `after + 1`. etcd's "compacted"
//! and "future revision" errors become [`StorageError::Compacted`] and
//! [`StorageError::FutureRevision`]; connection failures become [`StorageError::Unavailable`].
//! Writes with a time to live attach a lease shared with writes expiring about the same time
//! ([`lease`](self)).

mod errors;
mod lease;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions, PutOptions, Txn, TxnOp,
    TxnOpResponse, TxnResponse,
};
use tokio::sync::Notify;

use self::errors::{Op, classify};
use self::lease::LeaseCache;
use crate::storage::range::{KeyRange, prefix_end};
use crate::storage::{
    Deleted, KeyValue, ListRequest, ListResponse, ProgressStream, Result, Revision, Storage,
    StorageError, WatchStream, events_only,
};

/// How long one unary call may take before the store counts as unavailable.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long establishing a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// etcd's answer to a put on a lease that expired or was revoked (`ErrLeaseNotFound`).
const LEASE_NOT_FOUND: &str = "requested lease not found";

/// A [`Storage`] on an etcd cluster; cheap to clone (clones share the gRPC channel).
#[derive(Clone)]
pub struct EtcdStorage {
    client: Client,
    leases: Arc<LeaseCache>,
}

impl EtcdStorage {
    /// Builds a client for `endpoints` (`http://host:port`). The connection is made lazily, so a
    /// cluster that is still starting does not stop Capstan; `/readyz` reports it via `health`.
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        let options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_keep_alive(Duration::from_secs(30), Duration::from_secs(10))
            .with_keep_alive_while_idle(true);
        let client = Client::connect(endpoints, Some(options))
            .await
            .map_err(|e| classify(e, Op::Other))?;
        Ok(Self {
            client,
            leases: Arc::default(),
        })
    }

    /// Runs one unary call with the call timeout, classifying its error.
    async fn call<T>(
        op: Op,
        call: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(result) => result.map_err(|e| classify(e, op)),
            Err(_) => Err(StorageError::Unavailable(format!(
                "etcd did not answer within {}s",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        Self::call(Op::Other, {
            let mut c = self.client.clone();
            async move { c.txn(txn).await }
        })
        .await
    }

    /// A watch of `key_or_prefix` after `after`, forwarding progress `requests` if given.
    async fn watch_items(
        &self,
        key_or_prefix: &str,
        after: Revision,
        requests: Option<Arc<Notify>>,
    ) -> Result<ProgressStream> {
        let mut options = etcd_client::WatchOptions::new()
            .with_prev_key()
            .with_start_revision(after.saturating_add(1));
        if key_or_prefix.ends_with('/') {
            options = options.with_range(prefix_end(key_or_prefix));
        }
        let op = Op::Read { revision: after };
        let stream = Self::call(op, {
            let mut c = self.client.clone();
            async move { c.watch(key_or_prefix, Some(options)).await }
        })
        .await?;
        Ok(watch::stream(stream, after, requests))
    }

    /// Runs the write `build` makes from put options carrying the lease for `ttl` (none without
    /// one). A lease etcd no longer knows is forgotten and the write retried once on a new one.
    async fn with_lease(
        &self,
        ttl: Option<Duration>,
        build: impl Fn(PutOptions) -> Txn,
    ) -> Result<TxnResponse> {
        let Some(ttl) = ttl else {
            return self.txn(build(PutOptions::new())).await;
        };
        let lease = self.leases.lease_for(&self.client, ttl).await?;
        match self.txn(build(PutOptions::new().with_lease(lease))).await {
            Err(StorageError::Internal(msg)) if msg.contains(LEASE_NOT_FOUND) => {
                self.leases.forget(lease);
                let lease = self.leases.lease_for(&self.client, ttl).await?;
                self.txn(build(PutOptions::new().with_lease(lease))).await
            }
            other => other,
        }
    }
}

/// Converts an etcd key-value (keys are UTF-8: only [`keys`](crate::storage::keys) builds them).
fn convert(kv: &etcd_client::KeyValue) -> Result<KeyValue> {
    let key = kv
        .key_str()
        .map_err(|e| StorageError::Internal(format!("etcd key is not UTF-8: {e}")))?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Result<Revision> {
    header
        .map(|h| h.revision())
        .ok_or_else(|| StorageError::Internal("etcd response without a header".into()))
}

/// The key-value a `get` inside a failed txn returned, if the key exists.
fn txn_get(resp: &TxnResponse) -> Result<Option<KeyValue>> {
    for op in resp.op_responses() {
        if let TxnOpResponse::Get(get) = op {
            return get.kvs().first().map(convert).transpose();
        }
    }
    Ok(None)
}

/// The previous key-value a `put` or `delete` inside a successful txn returned.
fn txn_prev(resp: &TxnResponse) -> Result<Option<KeyValue>> {
    for op in resp.op_responses() {
        match op {
            TxnOpResponse::Put(put) => return put.prev_key().map(convert).transpose(),
            TxnOpResponse::Delete(del) => return del.prev_kvs().first().map(convert).transpose(),
            _ => {}
        }
    }
    Ok(None)
}

#[async_trait]
impl Storage for EtcdStorage {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let resp = Self::call(Op::Other, {
            let mut c = self.client.clone();
            async move { c.get(key, None).await }
        })
        .await?;
        resp.kvs().first().map(convert).transpose()
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        let range = KeyRange::of(&req)?;
        let mut options = GetOptions::new().with_range(range.end.as_str());
        let revision = req.revision.filter(|&rev| rev > 0);
        if let Some(rev) = revision {
            options = options.with_revision(rev);
        }
        if let Some(limit) = range.limit {
            options = options.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let op = Op::Read {
            revision: req.revision.unwrap_or(0),
        };
        let resp = match Self::call(op, {
            let mut c = self.client.clone();
            async move { c.get(range.start, Some(options)).await }
        })
        .await
        {
            Err(StorageError::FutureRevision { requested, .. }) => {
                let current = self.current_revision().await?;
                return Err(StorageError::FutureRevision { requested, current });
            }
            other => other?,
        };
        let items = resp.kvs().iter().map(convert).collect::<Result<Vec<_>>>()?;
        let revision = match revision {
            Some(rev) => rev,
            None => header_revision(resp.header())?,
        };
        // `count` is every key in the range; the ones not returned remain.
        let remaining = (resp.count() - items.len() as i64).max(0);
        Ok(ListResponse {
            items,
            revision,
            more: resp.more(),
            remaining: Some(remaining),
        })
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
        let resp = self
            .with_lease(ttl, |options| {
                Txn::new()
                    .when([Compare::create_revision(key, CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(key, value.clone(), Some(options))])
            })
            .await?;
        if !resp.succeeded() {
            return Err(StorageError::KeyExists(key.to_owned()));
        }
        let rev = header_revision(resp.header())?;
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: rev,
            mod_revision: rev,
        })
    }

    async fn update_with_ttl(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<KeyValue> {
        let resp = self
            .with_lease(ttl, |options| {
                Txn::new()
                    .when([
                        Compare::mod_revision(key, CompareOp::Equal, expected),
                        Compare::create_revision(key, CompareOp::Greater, 0),
                    ])
                    .and_then([TxnOp::put(
                        key,
                        value.clone(),
                        Some(options.with_prev_key()),
                    )])
                    .or_else([TxnOp::get(key, None)])
            })
            .await?;
        if !resp.succeeded() {
            let current = txn_get(&resp)?;
            return Err(StorageError::Conflict {
                key: key.to_owned(),
                current,
            });
        }
        let rev = header_revision(resp.header())?;
        let create_revision = txn_prev(&resp)?.map_or(rev, |prev| prev.create_revision);
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision,
            mod_revision: rev,
        })
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<Deleted> {
        let mut compares = vec![Compare::create_revision(key, CompareOp::Greater, 0)];
        if let Some(expected) = expected {
            compares.push(Compare::mod_revision(key, CompareOp::Equal, expected));
        }
        let txn = Txn::new()
            .when(compares)
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.txn(txn).await?;
        if !resp.succeeded() {
            return match txn_get(&resp)? {
                None => Err(StorageError::NotFound(key.to_owned())),
                current => Err(StorageError::Conflict {
                    key: key.to_owned(),
                    current,
                }),
            };
        }
        let revision = header_revision(resp.header())?;
        let prev = txn_prev(&resp)?.ok_or_else(|| StorageError::NotFound(key.to_owned()))?;
        Ok(Deleted { prev, revision })
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
        // A count-only range of one key is the cheapest call that returns the header revision.
        let options = GetOptions::new().with_count_only();
        let resp = Self::call(Op::Other, {
            let mut c = self.client.clone();
            async move { c.get("\0", Some(options)).await }
        })
        .await?;
        header_revision(resp.header())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        match Self::call(Op::Compact { revision }, {
            let mut c = self.client.clone();
            async move { c.compact(revision, None).await }
        })
        .await
        {
            // Compacting at or below the compacted revision is a no-op by contract.
            Ok(_) | Err(StorageError::Compacted { .. }) => Ok(()),
            Err(StorageError::FutureRevision { requested, .. }) => {
                let current = self.current_revision().await?;
                Err(StorageError::FutureRevision { requested, current })
            }
            Err(other) => Err(other),
        }
    }

    async fn health(&self) -> Result<()> {
        self.current_revision().await.map(|_| ())
    }
}
