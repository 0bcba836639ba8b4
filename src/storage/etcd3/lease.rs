//! Leases for keys written with a time to live, shared between writes (kube's `leaseManager`).
//!
//! Granting a lease per write would cost a round trip and leave etcd with one lease per event.
//! Like kube-apiserver, writes whose expiry falls in the same short window share one lease: the
//! timeline is cut into buckets `width` seconds wide (a twentieth of the TTL, between 1 s and
//! 60 s), and a write with TTL `t` at time `now` joins the lease that ends with the bucket holding
//! `now + t`. A key therefore lives at least `t` and at most about `width` longer.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use etcd_client::Client;

use super::EtcdStorage;
use super::errors::Op;
use crate::storage::Result;

/// The widest bucket, as kube's default lease reuse duration.
const MAX_BUCKET_SECS: i64 = 60;

/// Leases handed out so far, by the Unix second their bucket ends.
#[derive(Default)]
pub(super) struct LeaseCache {
    leases: Mutex<BTreeMap<i64, i64>>,
}

/// Which lease a write made at `now_ms` (ms since the epoch) should use: the Unix second its
/// bucket ends, and the whole seconds to grant a new lease for so that it ends no sooner.
fn bucket(now_ms: i64, ttl: Duration) -> (i64, i64) {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4);
    let width = (ttl_ms / 1000 / 20).clamp(1, MAX_BUCKET_SECS);
    let expires_ms = now_ms.saturating_add(ttl_ms);
    let end = ceil_div(expires_ms, width * 1000).saturating_mul(width);
    let grant = ceil_div(end.saturating_mul(1000) - now_ms, 1000).max(1);
    (end, grant)
}

fn ceil_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b) + i64::from(a.rem_euclid(b) != 0)
}

fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl LeaseCache {
    /// A lease that outlives `ttl` from now by less than one bucket: a cached one, or a new grant.
    pub(super) async fn lease_for(&self, client: &Client, ttl: Duration) -> Result<i64> {
        let now = unix_now_ms();
        let (end, grant_ttl) = bucket(now, ttl);
        if let Some(id) = self.lookup(now / 1000, end) {
            return Ok(id);
        }
        let granted = EtcdStorage::call(Op::Other, {
            let mut c = client.clone();
            async move { c.lease_grant(grant_ttl, None).await }
        })
        .await?;
        let id = granted.id();
        self.leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(end, id);
        Ok(id)
    }

    /// The cached lease of the bucket ending at `end`, dropping buckets that ended by `now`.
    fn lookup(&self, now: i64, end: i64) -> Option<i64> {
        let mut leases = self
            .leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        leases.retain(|&bucket_end, _| bucket_end > now);
        leases.get(&end).copied()
    }

    /// Forgets a lease etcd no longer knows (revoked, or expired early), so the next write
    /// grants a fresh one.
    pub(super) fn forget(&self, id: i64) {
        self.leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, lease| *lease != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_shares_leases_per_minute() {
        let now = 1_000_000_000;
        let (end, grant) = bucket(now, Duration::from_secs(3600));
        assert_eq!(end % 60, 0);
        assert!(end * 1000 >= now + 3_600_000 && end * 1000 < now + 3_660_000);
        assert_eq!(grant, end - now / 1000);
        // Writes a few seconds apart in the same minute share the bucket.
        let later = now + 10_000;
        if (later + 3_600_000) <= end * 1000 {
            assert_eq!(bucket(later, Duration::from_secs(3600)).0, end);
        }
    }

    #[test]
    fn a_lease_never_ends_before_the_ttl() {
        assert_eq!(bucket(500_000, Duration::from_secs(2)), (502, 2));
        assert_eq!(bucket(500_400, Duration::from_secs(2)), (503, 3));
        assert_eq!(bucket(500_000, Duration::from_millis(1500)), (502, 2));
        assert_eq!(bucket(500_000, Duration::from_millis(10)), (501, 1));
        let (end, _) = bucket(500_000, Duration::from_secs(100));
        assert_eq!(end % 5, 0);
        assert!((600..605).contains(&end));
        // A second write in the bucket still lives its full TTL on the shared lease.
        for now in (500_000..501_000).step_by(100) {
            let (end, grant) = bucket(now, Duration::from_secs(2));
            assert!(end * 1000 >= now + 2000 && now + grant * 1000 >= end * 1000);
        }
    }
}
