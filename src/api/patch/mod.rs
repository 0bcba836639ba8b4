//! Patch semantics that need the schema: strategic merge patch and server-side apply.
//!
//! Everything here is a pure function over `serde_json::Value` and a [`TypeRef`] from the shared
//! [`SchemaModel`](crate::api::schema::SchemaModel); handlers decode the body, call these, and map
//! the errors (each error type says which HTTP class kube answers with).
//!
//! * [`strategic_merge`]: `application/strategic-merge-patch+json` (what kubectl's client-side
//!   `apply`, `edit`, `patch`, `label` and `annotate` send for built-in kinds).
//! * [`apply()`]: `application/apply-patch+yaml`; [`record_update`]: the managedFields of every
//!   create, update and non-apply patch ([`manager_or_user_agent`] names the manager).
//!
//! # Design note: what of structured-merge-diff is covered
//!
//! Ported (our code, kube's rules): the FieldsV1 encoding and path printing ([`fieldpath`]); the
//! schema-to-SMD type conversion (`x-kubernetes-list-type`/`list-map-keys`, falling back to patch
//! strategy `merge` + merge key as kube's converter does for core types, `x-kubernetes-map-type`
//! on fields and on types, deduced untyped positions); `ToFieldSet`, `Compare`, `Merge` (with its
//! list order), `RemoveItems`, `EnsureNamedFieldsAreMembers`; the `Updater`'s `Update` and
//! `Apply` (prune with add-back of owned and dangling items, conflicts, `force`), reset fields as
//! the ignore filter; and kube's field-manager chain: version check, the `kubectl`
//! last-applied upgrade path and annotation update, `before-first-apply`, untracked objects stay
//! untracked, managedFields sent by the client (`[]` resets), metadata stripping, the cap of ten
//! updaters (`ancient-changes`), entry identity and order, conflict messages and causes.
//! Non-apply writes (and `before-first-apply`) are compared on Go-shaped objects, as kube
//! compares Go objects: [`go_json_shape`] on both sides, and a create against the kind's empty
//! Go object ([`go_empty_object`]: value structs and non-`omitempty` scalars at zero,
//! non-`omitempty` lists `null`, which counts as present). So pointer structs and `omitempty`
//! containers that appear get their `"."` (at every depth of a new item), `containers` does not,
//! and zero values a protobuf body carries are not owned; tests/managed_fields_compat.rs checks
//! this against a recorded kube-apiserver 1.37.2.
//!
//! [`go_json_shape`]: crate::api::protobuf::go_json_shape
//! [`go_empty_object`]: crate::api::protobuf::go_empty_object
//!
//! Not covered, on purpose or for lack of input:
//! * Versions: managers of every apiVersion are compared on one schema, with no conversion
//!   (Capstan's versions of a kind share a shape); schema-change reconciliation (atomic ↔
//!   granular) and unions (`x-kubernetes-unions`) are not implemented.
//! * Validation of an applied configuration is structural (declared fields, list/map shapes,
//!   keys, duplicates); scalar types are left to the registry's validation.
//! * Key-field defaults: the model carries no OpenAPI `default`s, so the one that matters
//!   (`protocol: TCP` on container/service/endpoint ports) is a table in `typed`.
//! * Kinds without a Go type here (none of the protobuf data's kinds) are compared as sent, as
//!   kube compares its unstructured kinds; kinds with one are compared as Go holds them (next).
//! * Nulls: kube's typed objects cannot hold them, so results here drop them.
//! * Apply conflicts are a 409 whose message and `details.causes` kube builds specially;
//!   [`ApplyConflicts`] gives both, and `ApiError` needs a variant carrying them.
//!
//! Strategic merge patch differs from kube only where kube's behaviour is an accident: values
//! added by a patch are cleaned of directives here (kube's typed decode drops them later),
//! deletion lists run after the other keys (kube: map order), `$setElementOrder` over two empty
//! lists is accepted, and fields the schema does not know merge as untyped (kube: a 500).
//!
//! [`TypeRef`]: crate::api::schema::TypeRef

pub mod apply;
pub mod fieldpath;
pub(crate) mod go_fmt;
pub mod managed;
pub mod strategic;
mod strategic_list;
mod typed;
mod typed_ops;
mod updater;

#[cfg(test)]
mod apply_edge_tests;
#[cfg(test)]
mod apply_tests;
#[cfg(test)]
mod go_compare_tests;
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
