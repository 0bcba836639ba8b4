//! Objects as Go's JSON encoding writes them: kube's types mark their optional lists and maps
//! `omitempty`, so an empty one is never written — not in a response, not in storage, not in the
//! object managedFields are computed from. A client that sends `labels: {}`, or a merge patch that
//! removes the last label (`{"metadata":{"labels":{"app":null}}}`), leaves no `labels` behind in
//! kube; [`omit_empty`] gives Capstan's objects the same shape before they are stored.
//!
//! Only lists and maps are dropped: Go has no pointer form of them, so empty and absent are the
//! same value there. Empty scalars (`""`, `0`, `false`) are kept, since the schema cannot tell a
//! Go pointer field (where they are values) from an `omitempty` one; empty structs are kept too,
//! as Go writes them (`securityContext: {}`, `emptyDir: {}`). Required properties (Go fields
//! without `omitempty`, such as a pod's `containers`) stay as sent.
//!
//! ```
//! use capstan::api::schema::{SchemaModelBuilder, omit_empty};
//! use serde_json::json;
//! let model = SchemaModelBuilder::with_core_kinds().build();
//! let mut cm = json!({"metadata": {"name": "c", "labels": {}, "finalizers": []}, "data": {}});
//! omit_empty(model.for_kind("", "v1", "ConfigMap").unwrap(), &mut cm);
//! assert_eq!(cm, json!({"metadata": {"name": "c"}}));
//! ```

use serde_json::Value;

use super::{Shape, TypeRef};

/// Removes, at every depth of `value` (an object of type `ty`), the optional properties whose
/// value is an empty list or map.
pub fn omit_empty(ty: TypeRef<'_>, value: &mut Value) {
    match (ty.shape(), value) {
        (Shape::Object, Value::Object(fields)) => {
            fields.retain(|name, field_value| {
                let Some(field) = ty.field(name) else {
                    return true;
                };
                omit_empty(field.ty, field_value);
                ty.is_required(name) || !is_empty_collection(field.ty, field_value)
            });
        }
        (Shape::List, Value::Array(items)) => {
            if let Some(item_ty) = ty.items() {
                items.iter_mut().for_each(|item| omit_empty(item_ty, item));
            }
        }
        (Shape::Map, Value::Object(entries)) => {
            if let Some(value_ty) = ty.values() {
                entries.values_mut().for_each(|v| omit_empty(value_ty, v));
            }
        }
        _ => {}
    }
}

/// An empty list where the schema has a list, or an empty map where it has a map.
fn is_empty_collection(ty: TypeRef<'_>, value: &Value) -> bool {
    match (ty.shape(), value) {
        (Shape::List, Value::Array(items)) => items.is_empty(),
        (Shape::Map, Value::Object(entries)) => entries.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::schema::test_model;

    #[test]
    fn drops_empty_optional_lists_and_maps_at_every_depth() {
        let model = test_model();
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {}, "annotations": {"a": "b"}, "finalizers": []},
            "spec": {
                "volumes": [],
                "containers": [{"name": "c", "image": "i", "args": [], "env": [],
                                "resources": {"limits": {}}}],
                "nodeSelector": {},
                "securityContext": {},
                "hostNetwork": false,
            }
        });
        omit_empty(model.for_kind("", "v1", "Pod").unwrap(), &mut pod);
        assert_eq!(
            pod,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "annotations": {"a": "b"}},
                "spec": {
                    // Empty structs and scalars stay, as Go writes them.
                    "containers": [{"name": "c", "image": "i", "resources": {}}],
                    "securityContext": {},
                    "hostNetwork": false,
                }
            })
        );
    }

    #[test]
    fn keeps_required_lists_and_what_the_schema_does_not_know() {
        let model = test_model();
        let mut pod = json!({
            "metadata": {"name": "p", "managedFields": [{"manager": "m", "fieldsV1": {"f:x": {}}}]},
            "spec": {"containers": []},
            "extra": []
        });
        let before = pod.clone();
        omit_empty(model.for_kind("", "v1", "Pod").unwrap(), &mut pod);
        assert_eq!(pod, before);
    }

    #[test]
    fn applies_to_capstan_pods_too() {
        let model = test_model();
        let mut pod = json!({"metadata": {"name": "p", "labels": {}}, "spec": {"containers": []}});
        omit_empty(
            model.for_kind("capstan.dev", "v1", "Pod").unwrap(),
            &mut pod,
        );
        assert_eq!(
            pod,
            json!({"metadata": {"name": "p"}, "spec": {"containers": []}})
        );
    }
}
