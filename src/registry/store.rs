//! The generic registry store (kube's `genericregistry.Store`): every verb for a stored kind,
//! parameterised by a [`Strategy`].

use std::collections::BTreeSet;

use crate::api::ResourceDescriptor;
use crate::registry::{Strategy, Verb};
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;

/// A stored resource: storage, key layout and strategy, plus the verbs it serves.
pub struct Store<S: Strategy> {
    descriptor: ResourceDescriptor,
    keys: KeyLayout,
    storage: SharedStorage,
    strategy: S,
    verbs: BTreeSet<Verb>,
}

impl<S: Strategy> Store<S> {
    /// A store serving `verbs` on `descriptor`, keeping objects under `keys`. Subresource stores
    /// (`pods/status`) share their parent's `keys` with another strategy.
    pub fn new(
        descriptor: ResourceDescriptor,
        keys: KeyLayout,
        storage: SharedStorage,
        strategy: S,
        verbs: BTreeSet<Verb>,
    ) -> Self {
        Self {
            descriptor,
            keys,
            storage,
            strategy,
            verbs,
        }
    }

    pub fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    pub fn keys(&self) -> &KeyLayout {
        &self.keys
    }

    pub fn storage(&self) -> &SharedStorage {
        &self.storage
    }

    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    pub fn verbs(&self) -> &BTreeSet<Verb> {
        &self.verbs
    }
}
