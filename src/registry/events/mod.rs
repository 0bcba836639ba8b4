//! The `events.k8s.io` group: Events in the shape of the new events API (`regarding`, `note`,
//! `reportingController`, the `deprecated*` fields), served as `v1` over the very objects of
//! core/v1 `events`, as kube-apiserver serves both from one store (`/registry/events/...`).
//!
//! kube keeps one internal Event and treats events.k8s.io/v1 as another external version of it
//! (`pkg/apis/events/v1/conversion.go`). Capstan's Scheme converts between versions of one group,
//! so this group has its own converting [`Rest`] ([`rest::EventsRest`]): it renames the fields to
//! and from the core/v1 shape around a second core/v1 event store over the same keys, whose
//! strategy adds kube's strict events.k8s.io rules ([`validation`]). An event written through
//! either API reads back through the other; TTL, table columns and storage are the core ones.

pub mod rest;
pub mod validation;

use std::sync::Arc;
use std::time::Duration;

use crate::api::ResourceDescriptor;
use crate::registry::Rest;
use crate::registry::converting::StorageMap;
use crate::registry::core::configmap::namespaced_verbs;
use crate::registry::core::event::{EventStrategy, event_descriptor};
use crate::registry::store::Store;
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;
pub use rest::EventsRest;

/// The group's name.
pub const GROUP: &str = "events.k8s.io";

/// The one served version (the storage version is core/v1's).
pub const VERSION: &str = "v1";

/// What discovery and errors say about events.k8s.io events: as kube, the same short name as
/// core/v1 events (`ev`), no categories.
pub fn events_descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: GROUP.into(),
        version: VERSION.into(),
        kind: "Event".into(),
        plural: "events".into(),
        singular: "event".into(),
        namespaced: true,
        short_names: vec!["ev".into()],
        categories: Vec::new(),
    }
}

/// The events.k8s.io/v1 `events` REST storage: the core/v1 events under `prefix`
/// (`<prefix>/events/<namespace>/<name>`, kept `ttl` after each write) with the strict rules,
/// served in the new shape.
pub fn events_storage(storage: SharedStorage, prefix: &str, ttl: Duration) -> Arc<dyn Rest> {
    let strict = Store::new(
        event_descriptor(),
        KeyLayout::new(prefix, "core", "events"),
        storage,
        EventStrategy {
            ttl,
            events_api: true,
        },
        namespaced_verbs(),
    );
    Arc::new(EventsRest::new(Arc::new(strict)))
}

/// Every served version of the group with its storage map: `v1`, holding `events`.
pub fn versions(storage: SharedStorage, prefix: &str, ttl: Duration) -> Vec<(String, StorageMap)> {
    let resources =
        StorageMap::from([("events".to_string(), events_storage(storage, prefix, ttl))]);
    vec![(VERSION.to_string(), resources)]
}

#[cfg(test)]
mod tests;
