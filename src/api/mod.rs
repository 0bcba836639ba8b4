//! IO-free API machinery: errors, field errors, resource descriptors, request options, selectors,
//! hand-written wire types (Table), the schema model and OpenAPI documents, validation helpers,
//! and the Scheme (served versions and their conversions).
//!
//! Nothing here touches the network, the disk or tokio; everything is unit-tested in place.

pub mod errors;
pub mod field;
pub mod meta;
pub mod openapi;
pub mod options;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod schema;
pub mod scheme;
pub mod selectors;
pub mod table;
pub mod types;
pub mod validation;
pub mod warnings;

pub use errors::{ApiError, GroupKind, GroupResource};
pub use field::{FieldError, FieldErrors};
pub use meta::ResourceDescriptor;
