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
//! Validation runs on v1; the causes of a 422 answered to a v1beta1 request name v1beta1's fields
//! (`spec.host`, the annotation for a gate), not v1's — kube reports its internal names, which a
//! client of the older version could not find in its object.
//!
//! `Binding` (the body of `pods/binding`) is the same in both versions.

use serde_json::Value;

pub mod schema;

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
        .add_field_path_conversion(&beta_pod, v1beta1_pod_field_path)
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

/// v1 field paths in v1beta1's terms: `spec.nodeName…` is `spec.host…`; anything under
/// `spec.schedulingGates` is the annotation that holds them.
fn v1beta1_pod_field_path(path: &str) -> String {
    if let Some(rest) = strip_field(path, "spec.nodeName") {
        return format!("spec.host{rest}");
    }
    if strip_field(path, "spec.schedulingGates").is_some() {
        return format!("metadata.annotations[{SCHEDULING_GATES_ANNOTATION}]");
    }
    path.to_string()
}

/// What follows `field` in `path`, if `path` is `field` or lies under it.
fn strip_field<'a>(path: &'a str, field: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(field)?;
    (rest.is_empty() || rest.starts_with(['.', '['])).then_some(rest)
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
mod tests;
