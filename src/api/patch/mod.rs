//! Patch semantics that need the schema: strategic merge patch and server-side apply.
//!
//! Everything here is a pure function over `serde_json::Value` and a [`TypeRef`] from the shared
//! [`SchemaModel`](crate::api::schema::SchemaModel); handlers decode the body, call these, and map
//! the errors (each error type says which HTTP class kube answers with).
//!
//! * [`strategic`]: `application/strategic-merge-patch+json`.
//!
//! [`TypeRef`]: crate::api::schema::TypeRef

pub mod fieldpath;
mod go_fmt;
pub mod strategic;
mod strategic_list;

#[cfg(test)]
mod strategic_tests;
#[cfg(test)]
pub(crate) mod test_schema;

pub use strategic::{PatchError, strategic_merge};
