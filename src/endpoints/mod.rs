//! HTTP to REST: installers, handlers, content negotiation, watch framing and Status responses.
//!
//! [`Installer`] collects API groups (the legacy core group under `/api`, named groups under
//! `/apis`) and builds one axum `Router` serving discovery and every resource. Adding a group or
//! kind is data — an [`ApiGroupInfo`] — never new routing code.
//!
//! Map: [`installer`] builds the router and resolves requests; [`handlers`] has one function per
//! verb; [`query`] and [`negotiation`] read the query string and the content headers;
//! [`response`] and [`table`] shape what is written; [`discovery`] serves `/api` and `/apis`;
//! [`status`] turns every `ApiError` into a Status response; [`warnings`] collects the `Warning`
//! headers a request earns.

pub mod discovery;
pub mod handlers;
mod installer;
pub mod methods;
pub mod negotiation;
pub mod query;
pub mod request_info;
pub mod response;
mod served;
pub mod status;
pub mod table;
pub mod warnings;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::api::schema::SchemaModel;
use crate::auth::Admit;
use crate::registry::Rest;
use handlers::HandlerConfig;

/// One group's served versions, as a `RESTStorageProvider` returns in kube.
pub struct ApiGroupInfo {
    /// The group name; empty for the legacy core group.
    pub group: String,
    /// Versions in order of preference (the first is the preferred version).
    pub versions: Vec<ApiVersionInfo>,
}

/// One version's storage map: `pods`, `pods/status`, `pods/binding`, …
pub struct ApiVersionInfo {
    /// The version name (`v1`).
    pub version: String,
    /// The resources by URL path; each key is the `Rest`'s plural, with `/<subresource>` for
    /// subresources. Discovery lists them in this (sorted) order.
    pub resources: BTreeMap<String, Arc<dyn Rest>>,
}

/// Collects API groups and builds the API router.
pub struct Installer {
    admission: Arc<dyn Admit>,
    legacy: Vec<ApiGroupInfo>,
    groups: Vec<ApiGroupInfo>,
    config: HandlerConfig,
}

impl Installer {
    /// An installer whose handlers pass `admission` to every write.
    pub fn new(admission: Arc<dyn Admit>) -> Self {
        Self {
            admission,
            legacy: Vec::new(),
            groups: Vec::new(),
            config: HandlerConfig::default(),
        }
    }

    /// Sets kube's MinRequestTimeout (default 1800 s), which bounds watches that name no
    /// `timeoutSeconds`; the server passes its `--min-request-timeout` here.
    #[must_use]
    pub fn with_min_request_timeout(mut self, timeout: Duration) -> Self {
        self.config.min_request_timeout = timeout;
        self
    }

    /// Gives the handlers the served kinds' schemas, which strategic merge patch, server-side
    /// apply, managedFields and field validation need (the OpenAPI documents are built from the
    /// same model). Without it those kinds are treated as schemaless.
    #[must_use]
    pub fn with_schema(mut self, schema: Arc<SchemaModel>) -> Self {
        self.config.schema = schema;
        self
    }

    /// Serves `info` (the core group) under `/api`.
    pub fn install_legacy_group(&mut self, info: ApiGroupInfo) {
        self.legacy.push(info);
    }

    /// Serves `info` under `/apis/<group>`.
    pub fn install_group(&mut self, info: ApiGroupInfo) {
        self.groups.push(info);
    }

    /// The router for `/api`, `/api/v1/...`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>/...`. Paths
    /// it does not serve are left to the caller's fallback (kube's not-found handler).
    ///
    /// Discovery is computed here, once; the filter chain goes around the returned router.
    pub fn into_router(self) -> axum::Router {
        installer::build_router(self)
    }
}
