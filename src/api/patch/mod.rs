//! Patch semantics that need the schema: strategic merge patch and server-side apply.
//!
//! Everything here is a pure function over `serde_json::Value` and a [`TypeRef`] from the shared
//! [`SchemaModel`](crate::api::schema::SchemaModel); handlers decode the body, call these, and map
//! the errors (each error type says which HTTP class kube answers with).
//!
//! * [`strategic`]: `application/strategic-merge-patch+json`.
//!
//! [`TypeRef`]: crate::api::schema::TypeRef

pub mod apply;
pub mod fieldpath;
mod go_fmt;
pub mod managed;
pub mod strategic;
mod strategic_list;
mod typed;
mod typed_ops;
mod updater;

#[cfg(test)]
mod apply_tests;
#[cfg(test)]
mod real_schema_tests;
#[cfg(test)]
mod strategic_tests;
#[cfg(test)]
pub(crate) mod test_schema;

pub use apply::{
    Applied, ApplyConflicts, ApplyError, LAST_APPLIED_ANNOTATION, ManagedFieldsScope, apply,
    record_update,
};
pub use managed::{Operation, manager_or_user_agent, set_managed_fields};
pub use strategic::{PatchError, strategic_merge};
