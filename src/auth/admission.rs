//! Admission plugins; NamespaceLifecycle first.
//!
//! An [`AdmissionChain`] runs plugins in order and stops at the first refusal, as kube's
//! `chainAdmissionHandler`. [`NamespaceLifecycle`] is kube's plugin of that name, reading
//! namespaces straight from storage (standalone Capstan serves them itself, so there is no
//! informer cache to wait for).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Namespace;

use super::{AdmissionRequest, Admit, Operation};
use crate::api::{ApiError, GroupResource};
use crate::storage::SharedStorage;
use crate::storage::keys::KeyLayout;

/// Plugins run in order; the first error refuses the write.
#[derive(Clone, Default)]
pub struct AdmissionChain {
    plugins: Vec<Arc<dyn Admit>>,
}

impl AdmissionChain {
    /// A chain of `plugins`, run in the given order.
    pub fn new(plugins: Vec<Arc<dyn Admit>>) -> Self {
        Self { plugins }
    }

    /// Adds `plugin` at the end.
    #[must_use]
    pub fn with(mut self, plugin: Arc<dyn Admit>) -> Self {
        self.plugins.push(plugin);
        self
    }
}

#[async_trait]
impl Admit for AdmissionChain {
    async fn admit(&self, req: &AdmissionRequest<'_>) -> Result<(), ApiError> {
        for plugin in &self.plugins {
            plugin.admit(req).await?;
        }
        Ok(())
    }
}

/// The phase of a namespace being deleted (core/v1 `NamespaceTerminating`).
const TERMINATING: &str = "Terminating";

/// Namespaces that exist from the first start and may never be deleted.
pub const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// kube's NamespaceLifecycle: no creates in a namespace that does not exist (404 for the
/// namespace) or is being terminated (403), and no deleting the immortal namespaces.
pub struct NamespaceLifecycle {
    storage: SharedStorage,
    namespaces: KeyLayout,
    immortal: BTreeSet<String>,
}

impl NamespaceLifecycle {
    /// Reads namespaces from `storage` under `prefix` (`--etcd-prefix`); `default`,
    /// `kube-system` and `kube-public` are immortal.
    pub fn new(storage: SharedStorage, prefix: &str) -> Self {
        Self {
            storage,
            namespaces: KeyLayout::new(prefix, "core", "namespaces"),
            immortal: IMMORTAL_NAMESPACES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Replaces the set of namespaces that may not be deleted.
    #[must_use]
    pub fn with_immortal(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.immortal = names.into_iter().collect();
        self
    }

    /// The namespace `name` as stored, if any.
    async fn namespace(&self, name: &str) -> Result<Option<Namespace>, ApiError> {
        let key = self.namespaces.object(None, name);
        let kv = self.storage.get(&key).await.map_err(|e| match e {
            crate::storage::StorageError::Unavailable(msg) => ApiError::ServiceUnavailable(msg),
            other => ApiError::internal(other),
        })?;
        kv.map(|kv| serde_json::from_slice(&kv.value).map_err(ApiError::internal))
            .transpose()
    }
}

fn is_namespace_resource(req: &AdmissionRequest<'_>) -> bool {
    req.group.is_empty() && req.resource == "namespaces"
}

/// Access reviews must not reveal whether a namespace exists.
fn is_access_review(req: &AdmissionRequest<'_>) -> bool {
    req.group == "authorization.k8s.io" && req.resource == "localsubjectaccessreviews"
}

#[async_trait]
impl Admit for NamespaceLifecycle {
    async fn admit(&self, req: &AdmissionRequest<'_>) -> Result<(), ApiError> {
        if req.operation == Operation::Delete
            && is_namespace_resource(req)
            && self.immortal.contains(req.name)
        {
            return Err(ApiError::Forbidden {
                resource: GroupResource::new("", "namespaces"),
                name: req.name.to_string(),
                reason: "this namespace may not be deleted".into(),
            });
        }
        let Some(namespace) = req.namespace.filter(|ns| !ns.is_empty()) else {
            return Ok(());
        };
        if is_namespace_resource(req) || req.operation != Operation::Create || is_access_review(req)
        {
            return Ok(());
        }
        let Some(ns) = self.namespace(namespace).await? else {
            return Err(ApiError::NotFound {
                resource: GroupResource::new("", "namespaces"),
                name: namespace.to_string(),
            });
        };
        let phase = ns.status.as_ref().and_then(|s| s.phase.as_deref());
        if phase == Some(TERMINATING) {
            return Err(ApiError::NamespaceTerminating {
                resource: GroupResource::new(req.group, req.resource),
                name: req.name.to_string(),
                namespace: namespace.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
