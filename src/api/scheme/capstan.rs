//! The `capstan.dev` group's versions: `v1` (the storage version, preferred) and `v1beta1`.
//!
//! `capstan.dev/v1beta1` `Pod` is `v1` as it looked before two changes, both modelled on kube's
//! own history:
//!
//! * **`spec.host`** is what `v1` calls `spec.nodeName` (kube's v1beta3 pods had `spec.host`; v1
//!   renamed it and kept `spec.host` as a field selector alias). The field selector label is
//!   `spec.host` too; `spec.nodeName` is not a v1beta1 label.
//! * **`spec.schedulingGates`** does not exist in v1beta1. Reading a gated pod in v1beta1 puts the
//!   gates, as JSON, in the annotation [`SCHEDULING_GATES_ANNOTATION`]; writing in v1beta1 turns
//!   that annotation back into `spec.schedulingGates` (autoscaling/v1 keeps v2's metrics the same
//!   way). So a v1beta1 client that reads, edits and writes a pod keeps its gates. The annotation
//!   key is reserved: a v1 object's own value for it is not kept.
//!
//! Round trips are lossless (v1 → v1beta1 → v1 gives the stored object back), except that an
//! `annotations` map left empty by removing the reserved key is dropped, as Go's `omitempty`
//! would. Fields a v1beta1 body sends under the v1-only names (`nodeName`, `schedulingGates`) are
//! unknown fields in v1beta1 and are dropped, as kube's decoder drops unknown fields.
//!
//! `Binding` (the body of `pods/binding`) is the same in both versions.

use serde_json::Value;

use super::{Conversion, ConversionError, GroupVersionKind, Object, Scheme};

/// The group's name.
pub const GROUP: &str = "capstan.dev";

/// The storage (and preferred) version.
pub const STORAGE_VERSION: &str = "v1";

/// The older version, served by conversion.
pub const V1BETA1: &str = "v1beta1";

/// Where a v1beta1 Pod keeps v1's `spec.schedulingGates` (a JSON list), which it has no field
/// for.
pub const SCHEDULING_GATES_ANNOTATION: &str = "capstan.dev/scheduling-gates";

/// A Scheme with every `capstan.dev` kind and version registered.
pub fn scheme() -> Scheme {
    let mut scheme = Scheme::new();
    register(&mut scheme);
    scheme
}

/// Registers `capstan.dev`: `Pod` and `Binding` in `v1` (storage) and `v1beta1`.
pub fn register(scheme: &mut Scheme) {
    let gvk = |version: &str, kind: &str| GroupVersionKind::new(GROUP, version, kind);
    let beta_pod = gvk(V1BETA1, "Pod");
    scheme
        .add_storage_kind(gvk(STORAGE_VERSION, "Pod"))
        .add_storage_kind(gvk(STORAGE_VERSION, "Binding"))
        .add_kind(
            beta_pod.clone(),
            Conversion {
                to_storage: v1beta1_pod_to_v1,
                from_storage: v1_pod_to_v1beta1,
            },
        )
        .add_field_label_conversion(&beta_pod, v1beta1_pod_field_label)
        .add_kind(gvk(V1BETA1, "Binding"), Conversion::IDENTICAL)
        .set_version_priority(GROUP, &[STORAGE_VERSION, V1BETA1]);
}

/// v1beta1 → v1: `spec.host` becomes `spec.nodeName`; the gates annotation becomes
/// `spec.schedulingGates`. A gates annotation that is not a JSON list is refused.
fn v1beta1_pod_to_v1(obj: &mut Object) -> Result<(), ConversionError> {
    let gates = take_annotation(obj, SCHEDULING_GATES_ANNOTATION)
        .map(|text| parse_gates(&text))
        .transpose()?;
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        // Not v1beta1 fields: whatever a body sent under these names is unknown here.
        spec.remove("nodeName");
        spec.remove("schedulingGates");
        if let Some(host) = spec.remove("host") {
            spec.insert("nodeName".into(), host);
        }
    }
    if let Some(gates) = gates {
        let spec = obj
            .entry("spec")
            .or_insert_with(|| Value::Object(Object::new()));
        if spec.is_null() {
            *spec = Value::Object(Object::new());
        }
        if let Some(spec) = spec.as_object_mut() {
            spec.insert("schedulingGates".into(), gates);
        }
    }
    Ok(())
}

/// v1 → v1beta1: `spec.nodeName` becomes `spec.host`; `spec.schedulingGates` moves to the
/// annotation (any value already under the reserved key is replaced or removed).
fn v1_pod_to_v1beta1(obj: &mut Object) -> Result<(), ConversionError> {
    let mut gates = None;
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("host");
        if let Some(node) = spec.remove("nodeName") {
            spec.insert("host".into(), node);
        }
        gates = spec.remove("schedulingGates");
    }
    take_annotation(obj, SCHEDULING_GATES_ANNOTATION);
    if let Some(gates) = gates.filter(|g| !g.is_null()) {
        let text = serde_json::to_string(&gates)
            .map_err(|e| ConversionError::Invalid(format!("spec.schedulingGates: {e}")))?;
        set_annotation(obj, SCHEDULING_GATES_ANNOTATION, text)?;
    }
    Ok(())
}

/// v1beta1's field labels: `spec.host` selects on `spec.nodeName`; the v1 name is not a v1beta1
/// label; every other label is the same in both versions.
fn v1beta1_pod_field_label(label: &str, value: &str) -> Result<(String, String), String> {
    match label {
        "spec.host" => Ok(("spec.nodeName".into(), value.into())),
        "spec.nodeName" => Err(format!("field label not supported: {label}")),
        _ => Ok((label.into(), value.into())),
    }
}

fn parse_gates(text: &str) -> Result<Value, ConversionError> {
    match serde_json::from_str::<Value>(text) {
        Ok(gates @ Value::Array(_)) => Ok(gates),
        Ok(_) => Err(gates_error("not a JSON list")),
        Err(e) => Err(gates_error(&e.to_string())),
    }
}

fn gates_error(detail: &str) -> ConversionError {
    ConversionError::Invalid(format!(
        "metadata.annotations[{SCHEDULING_GATES_ANNOTATION}]: must hold spec.schedulingGates as a JSON list: {detail}"
    ))
}

/// Removes annotation `key` and returns its value; an `annotations` map left empty goes too.
fn take_annotation(obj: &mut Object, key: &str) -> Option<String> {
    let metadata = obj.get_mut("metadata")?.as_object_mut()?;
    let annotations = metadata.get_mut("annotations")?.as_object_mut()?;
    let value = annotations.remove(key)?;
    if annotations.is_empty() {
        metadata.remove("annotations");
    }
    Some(match value {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Sets annotation `key`, creating `metadata` and `annotations` as needed.
fn set_annotation(obj: &mut Object, key: &str, value: String) -> Result<(), ConversionError> {
    let malformed = || ConversionError::Invalid("metadata.annotations is not an object".into());
    let metadata = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Object::new()))
        .as_object_mut()
        .ok_or_else(malformed)?;
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Object::new()));
    if annotations.is_null() {
        *annotations = Value::Object(Object::new());
    }
    annotations
        .as_object_mut()
        .ok_or_else(malformed)?
        .insert(key.into(), Value::String(value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v1_pod() -> Value {
        json!({
            "apiVersion": "capstan.dev/v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7",
                         "annotations": {"team": "a"}},
            "spec": {
                "nodeName": "node-1",
                "schedulingGates": [{"name": "example.com/wait"}],
                "containers": [{"name": "c", "image": "nginx"}]
            },
            "status": {"phase": "Pending"}
        })
    }

    fn v1beta1_pod() -> Value {
        json!({
            "apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7",
                         "annotations": {"team": "a",
                                         SCHEDULING_GATES_ANNOTATION: r#"[{"name":"example.com/wait"}]"#}},
            "spec": {"host": "node-1", "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": "Pending"}
        })
    }

    #[test]
    fn v1_reads_as_v1beta1_and_back() {
        let scheme = scheme();
        let beta = scheme.convert(v1_pod(), V1BETA1).unwrap();
        assert_eq!(beta, v1beta1_pod());
        assert_eq!(scheme.convert(beta, STORAGE_VERSION).unwrap(), v1_pod());
    }

    #[test]
    fn v1beta1_writes_as_v1_and_back() {
        let scheme = scheme();
        let stored = scheme.convert(v1beta1_pod(), STORAGE_VERSION).unwrap();
        assert_eq!(stored, v1_pod());
        assert_eq!(scheme.convert(stored, V1BETA1).unwrap(), v1beta1_pod());
    }

    #[test]
    fn an_ungated_pod_gets_no_annotations() {
        let scheme = scheme();
        let v1 = json!({"apiVersion": "capstan.dev/v1", "kind": "Pod",
                        "metadata": {"name": "p"}, "spec": {"containers": []}});
        let beta = scheme.convert(v1.clone(), V1BETA1).unwrap();
        assert_eq!(beta["metadata"], json!({"name": "p"}));
        assert_eq!(beta["spec"], json!({"containers": []}));
        assert_eq!(scheme.convert(beta, STORAGE_VERSION).unwrap(), v1);
        // empty gates are kept as they are
        let mut empty = v1.clone();
        empty["spec"]["schedulingGates"] = json!([]);
        let beta = scheme.convert(empty.clone(), V1BETA1).unwrap();
        assert_eq!(
            beta["metadata"]["annotations"][SCHEDULING_GATES_ANNOTATION],
            "[]"
        );
        assert_eq!(scheme.convert(beta, STORAGE_VERSION).unwrap(), empty);
    }

    #[test]
    fn v1_names_in_a_v1beta1_body_are_unknown_fields() {
        let body = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                          "metadata": {"name": "p"},
                          "spec": {"nodeName": "sneaky", "schedulingGates": [{"name": "g"}]}});
        let stored = scheme().convert(body, STORAGE_VERSION).unwrap();
        assert_eq!(stored["spec"], json!({}));
    }

    #[test]
    fn gates_from_the_annotation_without_a_spec() {
        let body = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                          "metadata": {"name": "p", "annotations": {SCHEDULING_GATES_ANNOTATION: "[{\"name\":\"g\"}]"}}});
        let stored = scheme().convert(body, STORAGE_VERSION).unwrap();
        assert_eq!(stored["spec"], json!({"schedulingGates": [{"name": "g"}]}));
        assert!(stored["metadata"].get("annotations").is_none());
    }

    #[test]
    fn a_malformed_gates_annotation_is_refused() {
        for bad in ["nope", "{\"name\":\"g\"}"] {
            let body = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Pod",
                              "metadata": {"name": "p", "annotations": {SCHEDULING_GATES_ANNOTATION: bad}}});
            let err = scheme().convert(body, STORAGE_VERSION).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("metadata.annotations[capstan.dev/scheduling-gates]"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_reserved_annotation_of_a_v1_object_is_not_kept() {
        let mut v1 = v1_pod();
        v1["spec"]
            .as_object_mut()
            .unwrap()
            .remove("schedulingGates");
        v1["metadata"]["annotations"][SCHEDULING_GATES_ANNOTATION] = json!("junk");
        let beta = scheme().convert(v1, V1BETA1).unwrap();
        assert_eq!(beta["metadata"]["annotations"], json!({"team": "a"}));
    }

    #[test]
    fn field_labels() {
        let scheme = scheme();
        let beta = GroupVersionKind::new(GROUP, V1BETA1, "Pod");
        assert_eq!(
            scheme
                .convert_field_label(&beta, "spec.host", "n1")
                .unwrap(),
            ("spec.nodeName".to_string(), "n1".to_string())
        );
        assert_eq!(
            scheme
                .convert_field_label(&beta, "spec.nodeName", "n1")
                .unwrap_err()
                .to_string(),
            "field label not supported: spec.nodeName"
        );
        assert_eq!(
            scheme
                .convert_field_label(&beta, "status.phase", "Running")
                .unwrap(),
            ("status.phase".to_string(), "Running".to_string())
        );
        let v1 = beta.with_version(STORAGE_VERSION);
        assert_eq!(
            scheme
                .convert_field_label(&v1, "spec.nodeName", "n1")
                .unwrap()
                .0,
            "spec.nodeName"
        );
    }

    #[test]
    fn bindings_only_change_api_version() {
        let binding = json!({"apiVersion": "capstan.dev/v1beta1", "kind": "Binding",
                             "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n"}});
        let stored = scheme().convert(binding.clone(), STORAGE_VERSION).unwrap();
        let mut expected = binding;
        expected["apiVersion"] = json!("capstan.dev/v1");
        assert_eq!(stored, expected);
    }

    #[test]
    fn versions_in_preference_order() {
        assert_eq!(scheme().prioritized_versions(GROUP), ["v1", "v1beta1"]);
    }
}
