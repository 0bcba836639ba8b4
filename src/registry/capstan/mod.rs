//! The `capstan.dev` group: Capstan's own pods, sharing the core pod strategy.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::types::CapstanPod;
use crate::registry::Rest;
use crate::registry::core::pod::pod_storage_for;
use crate::storage::SharedStorage;

/// The group's name.
pub const GROUP: &str = "capstan.dev";

/// The capstan.dev/v1 storage map entries for pods (`pods` and its subresources, as core/v1),
/// kept under `prefix` at `<prefix>/capstan.dev/pods/...`.
pub fn pod_storage(storage: SharedStorage, prefix: &str) -> BTreeMap<String, Arc<dyn Rest>> {
    pod_storage_for::<CapstanPod>(GROUP, "v1", storage, prefix)
}
