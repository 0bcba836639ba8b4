//! HTTP to REST: installers, handlers, content negotiation, watch framing and Status responses.
//!
//! [`Installer`] collects API groups (the legacy core group under `/api`, named groups under
//! `/apis`) and builds one axum `Router` serving discovery and every resource. Adding a group or
//! kind is data — an [`ApiGroupInfo`] — never new routing code.

pub mod request_info;
pub mod status;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::auth::Admit;
use crate::registry::Rest;

/// One group's served versions, as a `RESTStorageProvider` returns in kube.
pub struct ApiGroupInfo {
    /// The group name; empty for the legacy core group.
    pub group: String,
    /// Versions in order of preference (the first is the preferred version).
    pub versions: Vec<ApiVersionInfo>,
}

/// One version's storage map: `pods`, `pods/status`, `pods/binding`, …
pub struct ApiVersionInfo {
    pub version: String,
    pub resources: BTreeMap<String, Arc<dyn Rest>>,
}

/// Collects API groups and builds the API router.
pub struct Installer {
    admission: Arc<dyn Admit>,
    legacy: Vec<ApiGroupInfo>,
    groups: Vec<ApiGroupInfo>,
}

impl Installer {
    /// An installer whose handlers pass `admission` to every write.
    pub fn new(admission: Arc<dyn Admit>) -> Self {
        Self { admission, legacy: Vec::new(), groups: Vec::new() }
    }

    /// Serves `info` (the core group) under `/api`.
    pub fn install_legacy_group(&mut self, info: ApiGroupInfo) {
        self.legacy.push(info);
    }

    /// Serves `info` under `/apis/<group>`.
    pub fn install_group(&mut self, info: ApiGroupInfo) {
        self.groups.push(info);
    }

    /// The router for `/api`, `/api/v1/...`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>/...`.
    pub fn into_router(self) -> axum::Router {
        let _ = (&self.admission, &self.legacy, &self.groups);
        todo!("endpoints helper")
    }
}
