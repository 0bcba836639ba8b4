//! How objects are written to and read from storage (DECISIONS.md: JSON of the storage version,
//! with `apiVersion`/`kind`, without `resourceVersion`; the revision is the resourceVersion on read).

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::api::ApiError;
use crate::storage::KeyValue;

/// Serialises `obj` for storage, dropping `metadata.resourceVersion`.
pub fn encode<T: Serialize + kube::Resource>(obj: &T) -> Result<Vec<u8>, ApiError> {
    let mut value = serde_json::to_value(obj).map_err(ApiError::internal)?;
    if let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.remove("resourceVersion");
    }
    serde_json::to_vec(&value).map_err(ApiError::internal)
}

/// Reads a stored object and sets its `resourceVersion` to the key's `mod_revision`.
pub fn decode<T: DeserializeOwned + kube::Resource>(kv: &KeyValue) -> Result<T, ApiError> {
    decode_at(&kv.value, kv.mod_revision)
}

/// Reads stored bytes and sets `resourceVersion` to `revision` (a DELETED event uses the deletion's
/// revision).
pub fn decode_at<T: DeserializeOwned + kube::Resource>(
    bytes: &[u8],
    revision: i64,
) -> Result<T, ApiError> {
    let mut obj: T = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("stored object cannot be decoded: {e}")))?;
    obj.meta_mut().resource_version = Some(revision.to_string());
    Ok(obj)
}

/// Reads stored bytes as untyped JSON with `resourceVersion` set to `revision`, for reads that
/// only pass an object on (lists, watch events). The bytes are the type's own serialisation
/// (written by [`encode`]), so this is the JSON that decoding the type and serialising it again
/// would give, without building the typed object and converting it.
pub fn decode_value_at(bytes: &[u8], revision: i64) -> Result<Value, ApiError> {
    let mut value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("stored object cannot be decoded: {e}")))?;
    let meta = value
        .as_object_mut()
        .map(|obj| {
            obj.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ApiError::internal("stored object cannot be decoded: not an object"))?;
    meta.insert(
        "resourceVersion".into(),
        Value::String(revision.to_string()),
    );
    Ok(value)
}

/// One object as compact JSON text, for list responses written as plain JSON: a response copies
/// it as it is. It is always exactly one JSON value, so only this module makes them: from a value,
/// or from stored bytes checked to be one ([`decode_json_at`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonItem(String);

impl JsonItem {
    /// The compact JSON text of `value`.
    pub fn from_value(value: &Value) -> Result<Self, ApiError> {
        serde_json::to_string(value)
            .map(Self)
            .map_err(ApiError::internal)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// [`decode_value_at`] as compact JSON text ([`JsonItem`]).
///
/// [`encode`] writes compact JSON with every object's keys sorted (it goes through a `Value`),
/// which is the text a `Value` serialises to; so the answer is the stored bytes with
/// `"resourceVersion":"<revision>"` spliced into the metadata where a `Value` would sort it: no
/// tree is built and nothing is re-encoded. Bytes whose top level or metadata is not in that
/// shape (never written by [`encode`]) take the [`decode_value_at`] path.
pub fn decode_json_at(bytes: &[u8], revision: i64) -> Result<JsonItem, ApiError> {
    match splice_resource_version(bytes, revision) {
        Some(text) => Ok(JsonItem(text)),
        None => JsonItem::from_value(&decode_value_at(bytes, revision)?),
    }
}

/// The key [`decode_json_at`] splices in.
const RESOURCE_VERSION: &str = "resourceVersion";

/// The stored text with the resourceVersion spliced in, or `None` when the bytes are not what
/// [`encode`] writes (the parse below checks they are one JSON object; the splice adds one member) (keys out of order, white space where the splice goes, escaped keys, a
/// resourceVersion already present, no metadata object).
fn splice_resource_version(bytes: &[u8], revision: i64) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    if !text.starts_with('{') || !text.ends_with('}') {
        return None;
    }
    let top: BTreeMap<&str, &RawValue> = serde_json::from_str(text).ok()?;
    let meta = top.get("metadata")?.get();
    let fields: BTreeMap<&str, &RawValue> = serde_json::from_str(meta).ok()?;
    if fields.contains_key(RESOURCE_VERSION)
        || !in_source_order(text, top.values())
        || !in_source_order(text, fields.values())
    {
        return None;
    }
    let meta_at = offset(text, meta)?;
    let (at, entry) = match fields
        .range::<str, _>((Bound::Excluded(RESOURCE_VERSION), Bound::Unbounded))
        .next()
    {
        // Before the first key that sorts after it: right at that key's opening quote.
        Some((key, value)) => {
            let at = offset(text, value.get())?.checked_sub(key.len() + 3)?;
            let expected = format!("\"{key}\":");
            let after_separator =
                matches!(text.as_bytes().get(at.checked_sub(1)?), Some(b'{' | b','));
            if !text[at..].starts_with(&expected) || !after_separator {
                return None;
            }
            (at, format!("\"{RESOURCE_VERSION}\":\"{revision}\","))
        }
        // Last: just before the closing brace.
        None => {
            let at = meta_at + meta.len() - 1;
            let comma = if fields.is_empty() { "" } else { "," };
            let prev = text.as_bytes().get(at.checked_sub(1)?)?;
            if prev.is_ascii_whitespace() {
                return None;
            }
            (at, format!("{comma}\"{RESOURCE_VERSION}\":\"{revision}\""))
        }
    };
    let mut out = String::with_capacity(text.len() + entry.len());
    out.push_str(&text[..at]);
    out.push_str(&entry);
    out.push_str(&text[at..]);
    Some(out)
}

/// Whether `values`, in key order, also come in that order in `text` (sorted keys).
fn in_source_order<'a>(text: &str, values: impl Iterator<Item = &'a &'a RawValue>) -> bool {
    let mut last = None;
    for value in values {
        let Some(at) = offset(text, value.get()) else {
            return false;
        };
        if last.is_some_and(|l| l >= at) {
            return false;
        }
        last = Some(at);
    }
    true
}

/// Where `part`, a slice of `text`, starts in it.
fn offset(text: &str, part: &str) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (at + part.len() <= text.len()).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    /// The text a `Value` read gives, which the spliced text must equal.
    fn via_value(bytes: &[u8], revision: i64) -> String {
        serde_json::to_string(&decode_value_at(bytes, revision).unwrap()).unwrap()
    }

    #[test]
    fn encoded_objects_are_spliced_as_a_value_would_write_them() {
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "ns", "uid": "u-1", "labels": {"a": "b"},
                         "annotations": {"note": "say \"hi\"\n"}, "generation": 2,
                         "creationTimestamp": "2024-01-02T03:04:05Z"},
            "spec": {"containers": [{"name": "c", "image": "nginx", "args": ["é", "\u{1F600}"]}]},
        }))
        .unwrap();
        let bytes = encode(&pod).unwrap();
        assert!(splice_resource_version(&bytes, 7).is_some());
        assert_eq!(
            decode_json_at(&bytes, 7).unwrap().as_str(),
            via_value(&bytes, 7)
        );
    }

    #[test]
    fn the_resource_version_lands_first_last_or_alone() {
        for (object, spliced) in [
            (json!({"metadata": {"uid": "u"}}), true),
            (json!({"metadata": {"name": "a"}}), true),
            (json!({"metadata": {"name": "a", "uid": "u"}, "z": 1}), true),
            (json!({"kind": "X", "metadata": {}}), true),
            (json!({"kind": "X"}), false),
        ] {
            let bytes = serde_json::to_vec(&object).unwrap();
            assert_eq!(
                splice_resource_version(&bytes, 3).is_some(),
                spliced,
                "{object}"
            );
            assert_eq!(
                decode_json_at(&bytes, 3).unwrap().as_str(),
                via_value(&bytes, 3),
                "{object}"
            );
        }
    }

    #[test]
    fn other_shapes_take_the_value_path() {
        for text in [
            r#"{"metadata":{"uid":"u","name":"a"}}"#,
            r#"{"spec":{},"metadata":{"name":"a"}}"#,
            r#"{"metadata":{"name":"a", "uid":"u"}}"#,
            r#"{"metadata":{"name":"a" }}"#,
            r#"{"metadata":{"n\u0061me":"a"}}"#,
            r#"{"metadata":{"name":"a","resourceVersion":"1"}}"#,
            r#" {"metadata":{"name":"a"}} "#,
        ] {
            assert_eq!(splice_resource_version(text.as_bytes(), 9), None, "{text}");
            assert_eq!(
                decode_json_at(text.as_bytes(), 9).unwrap().as_str(),
                via_value(text.as_bytes(), 9),
                "{text}"
            );
        }
        for bad in [&b"[1]"[..], b"{\"metadata\":1}", b"{", b"\xff"] {
            assert!(decode_json_at(bad, 1).is_err());
        }
    }
}
