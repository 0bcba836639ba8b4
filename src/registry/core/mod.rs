//! The legacy core/v1 group: namespaces, pods, configmaps, secrets, events.
//!
//! Each kind is a [`Strategy`](crate::registry::Strategy) plus a `*_storage` function that builds
//! its [`Store`](crate::registry::store::Store) as an `Arc<dyn Rest>` for the group's storage map.

pub mod configmap;
pub mod event;
pub mod namespace;
pub mod pod;
pub mod secret;

pub use configmap::configmap_storage;
pub use event::event_storage;
pub use namespace::namespace_storage;
pub use pod::pod_storage;
pub use secret::secret_storage;

use crate::api::table::TableColumnDefinition;
use crate::registry::default_table_columns;

/// kubectl's `Name` column (the same definition every printer uses).
pub fn name_column() -> TableColumnDefinition {
    default_table_columns().swap_remove(0)
}

/// kubectl's `Age` column: a string cell (see [`crate::api::table::age`]) described by
/// `metadata.creationTimestamp`'s documentation.
pub fn age_column() -> TableColumnDefinition {
    let created = default_table_columns().swap_remove(1);
    TableColumnDefinition::new("Age", "string", "", 0, &created.description)
}
