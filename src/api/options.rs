//! Request options as the registry sees them, already parsed from the query string (and, for
//! delete, the body) by `endpoints`.
//!
//! kube-core's `params::*` are client builders without `Deserialize`, so these are Capstan's own.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions;

use super::selectors::{fields::FieldSelector, labels::LabelSelector};

/// `resourceVersionMatch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceVersionMatch {
    NotOlderThan,
    Exact,
}

/// Options of list and watch (`ListOptions` in meta/v1).
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
    /// `resourceVersion` exactly as sent (`""` is kept distinct from absent only where kube does).
    pub resource_version: Option<String>,
    pub resource_version_match: Option<ResourceVersionMatch>,
    pub limit: Option<i64>,
    pub continue_token: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    /// `watch=true|1|True` or the `/watch/` path prefix.
    pub watch: bool,
}

/// Options of get.
#[derive(Clone, Debug, Default)]
pub struct GetOptions {
    pub resource_version: Option<String>,
}

/// `fieldValidation`: what to do with unknown or duplicate fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    #[default]
    Strict,
}

/// Options shared by create, update and patch.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub field_validation: Option<FieldValidation>,
    /// `force` (apply patches only).
    pub force: bool,
}

/// Options of delete and deletecollection: the body's `DeleteOptions` merged with the query.
pub type DeleteOpts = DeleteOptions;
