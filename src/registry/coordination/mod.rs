//! The `coordination.k8s.io` group: Leases, the lock client-go's leader election
//! (`resourcelock.LeaseLock`) takes and renews, served as `v1` only.

pub mod lease;

pub use lease::lease_storage;

use crate::registry::converting::StorageMap;
use crate::storage::SharedStorage;

/// The group's name.
pub const GROUP: &str = "coordination.k8s.io";

/// The one served (and stored) version.
pub const VERSION: &str = "v1";

/// Every served version of the group with its storage map: `v1`, holding `leases`, kept under
/// `prefix` at `<prefix>/coordination.k8s.io/leases/<namespace>/<name>`.
pub fn versions(storage: SharedStorage, prefix: &str) -> Vec<(String, StorageMap)> {
    let resources = StorageMap::from([("leases".to_string(), lease_storage(storage, prefix))]);
    vec![(VERSION.to_string(), resources)]
}
