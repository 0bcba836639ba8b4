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
//!
//! Not covered, on purpose or for lack of input:
//! * Versions: managers of every apiVersion are compared on one schema, with no conversion
//!   (Capstan's versions of a kind share a shape); schema-change reconciliation (atomic ↔
//!   granular) and unions (`x-kubernetes-unions`) are not implemented.
//! * Validation of an applied configuration is structural (declared fields, list/map shapes,
//!   keys, duplicates); scalar types are left to the registry's validation.
//! * Key-field defaults: the model carries no OpenAPI `default`s, so the one that matters
//!   (`protocol: TCP` on container/service/endpoint ports) is a table in `typed`.
//! * Go zero-value artifacts: kube compares Go objects, in which non-pointer structs and
//!   non-`omitempty` lists always exist. Here a struct reached through a field is never reported
//!   as added (matching kube for `spec`, `metadata`, `template`; kube would mark pointer structs
//!   such as `rollingUpdate` with `.`), and a newly set list is (matching `env`, `ports`; kube
//!   omits the `.` for `containers`). Ownership decisions are unaffected.
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
