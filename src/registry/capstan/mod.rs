//! The `capstan.dev` group: Capstan's own pods, sharing the core pod strategy, stored as `v1` and
//! served as `v1` and `v1beta1` through the Scheme (`api::scheme::capstan` says how the versions
//! differ).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::scheme::{self, Scheme};
use crate::api::types::CapstanPod;
use crate::registry::Rest;
use crate::registry::converting::{StorageMap, group_versions};
use crate::registry::core::pod::pod_storage_for;
use crate::storage::SharedStorage;

/// The group's name.
pub const GROUP: &str = scheme::capstan::GROUP;

/// The capstan.dev/v1 storage map entries for pods (`pods`, `pods/status`, `pods/binding`),
/// kept under `prefix` at `<prefix>/capstan.dev/pods/...`.
pub fn pod_storage(storage: SharedStorage, prefix: &str) -> BTreeMap<String, Arc<dyn Rest>> {
    pod_storage_for::<CapstanPod>(GROUP, scheme::capstan::STORAGE_VERSION, storage, prefix)
}

/// Every served version of the group with its storage map, preferred (`v1`) first; `v1beta1`
/// converts to and from the same v1 stores.
pub fn versions(storage: SharedStorage, prefix: &str) -> Vec<(String, StorageMap)> {
    let scheme: Arc<Scheme> = Arc::new(scheme::capstan::scheme());
    group_versions(
        &scheme,
        GROUP,
        scheme::capstan::STORAGE_VERSION,
        pod_storage(storage, prefix),
    )
}
