//! How objects are written to and read from storage (DECISIONS.md: JSON of the storage version,
//! with `apiVersion`/`kind`, without `resourceVersion`; the revision is the resourceVersion on read).

use std::collections::BTreeMap;
use std::ops::{Bound, Range};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::api::ApiError;
use crate::storage::KeyValue;

/// Serialises `obj` for storage, dropping `metadata.resourceVersion`, in the shape kube's Go
/// types give it (`go_json_shape`), so stored bytes are already what clients are answered with.
pub fn encode<T: Serialize + kube::Resource<DynamicType = ()>>(
    obj: &T,
) -> Result<Vec<u8>, ApiError> {
    let mut value = serde_json::to_value(obj).map_err(ApiError::internal)?;
    crate::api::protobuf::go_json_shape(&mut value, &T::api_version(&()), &T::kind(&()));
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
/// or from stored bytes checked to be one ([`decode_json_at`]). It also knows where its top-level
/// `apiVersion` and `kind` are, so that a list of a built-in kind can leave them out (as kube's
/// typed lists do) without reading the text again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonItem {
    text: String,
    /// The byte ranges of `text` that writing it without TypeMeta leaves out, in order; empty
    /// when there is nothing (more) to leave out.
    type_meta: [Range<usize>; 2],
}

impl JsonItem {
    /// The compact JSON text of `value`.
    pub fn from_value(value: &Value) -> Result<Self, ApiError> {
        let Value::Object(fields) = value else {
            let text = serde_json::to_string(value).map_err(ApiError::internal)?;
            return Ok(Self {
                text,
                type_meta: [0..0, 0..0],
            });
        };
        // What `serde_json::to_string` writes for an object, noting where each member is.
        let mut text = Vec::with_capacity(256);
        let mut members = Vec::with_capacity(fields.len());
        text.push(b'{');
        for (i, (key, field)) in fields.iter().enumerate() {
            if i > 0 {
                text.push(b',');
            }
            let start = text.len();
            serde_json::to_writer(&mut text, key).map_err(ApiError::internal)?;
            text.push(b':');
            serde_json::to_writer(&mut text, field).map_err(ApiError::internal)?;
            members.push((key.as_str(), start..text.len()));
        }
        text.push(b'}');
        let type_meta = type_meta_cuts(&members);
        let text = String::from_utf8(text).map_err(ApiError::internal)?;
        Ok(Self { text, type_meta })
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Appends the object to `out`: as it is with `type_meta`, else without its top-level
    /// `apiVersion` and `kind` (the text a value without them would serialise to).
    pub fn write_to(&self, out: &mut Vec<u8>, type_meta: bool) {
        let bytes = self.text.as_bytes();
        if type_meta {
            out.extend_from_slice(bytes);
            return;
        }
        let mut from = 0;
        for cut in self.type_meta.iter().filter(|cut| !cut.is_empty()) {
            out.extend_from_slice(&bytes[from..cut.start]);
            from = cut.end;
        }
        out.extend_from_slice(&bytes[from..]);
    }
}

/// Where the members `apiVersion` and `kind` are cut out of a compact object whose members (each
/// key with its value) are `members`, in order and one comma apart: each run of them goes with the
/// comma before it, or, leading the object, the comma after it, so what stays is valid compact
/// JSON.
fn type_meta_cuts(members: &[(&str, Range<usize>)]) -> [Range<usize>; 2] {
    let dropped = |i: usize| matches!(members[i].0, "apiVersion" | "kind");
    let mut cuts = [0..0, 0..0];
    let mut found = 0;
    let mut i = 0;
    while i < members.len() && found < cuts.len() {
        if !dropped(i) {
            i += 1;
            continue;
        }
        let mut last = i;
        while last + 1 < members.len() && dropped(last + 1) {
            last += 1;
        }
        cuts[found] = if i > 0 {
            members[i - 1].1.end..members[last].1.end
        } else if last + 1 < members.len() {
            members[i].1.start..members[last + 1].1.start
        } else {
            members[i].1.start..members[last].1.end
        };
        found += 1;
        i = last + 1;
    }
    cuts
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
        Some(item) => Ok(item),
        None => JsonItem::from_value(&decode_value_at(bytes, revision)?),
    }
}

/// The key [`decode_json_at`] splices in.
const RESOURCE_VERSION: &str = "resourceVersion";

/// The stored text with the resourceVersion spliced in, or `None` when the bytes are not what
/// [`encode`] writes: the parse below checks they are one JSON object, compact, with its members
/// and its metadata's in key order (no white space, no escaped keys, no duplicates), a metadata
/// object and no resourceVersion in it yet; the splice adds one member.
fn splice_resource_version(bytes: &[u8], revision: i64) -> Option<JsonItem> {
    let text = std::str::from_utf8(bytes).ok()?;
    if !text.starts_with('{') || !text.ends_with('}') {
        return None;
    }
    let top: BTreeMap<&str, &RawValue> = serde_json::from_str(text).ok()?;
    let members = compact_members(text, &top)?;
    let meta = top.get("metadata")?.get();
    let fields: BTreeMap<&str, &RawValue> = serde_json::from_str(meta).ok()?;
    if fields.contains_key(RESOURCE_VERSION) || !in_source_order(text, fields.values()) {
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
    // The splice lies inside the metadata, so no member starts or ends at it.
    let shift = |pos: usize| if pos > at { pos + entry.len() } else { pos };
    let type_meta = type_meta_cuts(&members).map(|cut| shift(cut.start)..shift(cut.end));
    Some(JsonItem {
        text: out,
        type_meta,
    })
}

/// The members of the object `text` whose members `top` holds, each key with its value, when the
/// text is exactly `{"key":value,...}` with them in key order (which also rules out white space,
/// escaped keys and duplicate keys).
fn compact_members<'a>(
    text: &str,
    top: &BTreeMap<&'a str, &RawValue>,
) -> Option<Vec<(&'a str, Range<usize>)>> {
    let bytes = text.as_bytes();
    let mut members = Vec::with_capacity(top.len());
    let mut next = 1; // where the next member must start: just after `{` or a comma
    for (key, value) in top {
        let value_at = offset(text, value.get())?;
        let start = value_at.checked_sub(key.len() + 3)?;
        let quoted = bytes.get(start) == Some(&b'"')
            && text.get(start + 1..value_at - 2) == Some(*key)
            && text.get(value_at - 2..value_at) == Some("\":");
        if start != next || !quoted {
            return None;
        }
        let end = value_at + value.get().len();
        members.push((*key, start..end));
        next = end + 1;
        if bytes.get(end) != Some(&b',') {
            break;
        }
    }
    // `next` is just past the last member's closing brace (or the opening one of `{}`)
    (members.len() == top.len() && next.max(2) == text.len()).then_some(members)
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
    use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod};
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

    /// What the Value path writes for a built-in kind's list item: the object without its
    /// top-level `apiVersion` and `kind`.
    fn untyped(text: &str) -> String {
        let mut value: Value = serde_json::from_str(text).unwrap();
        if let Some(fields) = value.as_object_mut() {
            fields.remove("apiVersion");
            fields.remove("kind");
        }
        serde_json::to_string(&value).unwrap()
    }

    fn written(item: &JsonItem, type_meta: bool) -> String {
        let mut out = Vec::new();
        item.write_to(&mut out, type_meta);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn items_leave_out_their_type_meta_as_values_do() {
        for object in [
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {}}),
            // keys sorting between (configmaps' data) and before (upper case, `_`) the two
            json!({"apiVersion": "v1", "data": {"kind": "x"}, "kind": "ConfigMap", "metadata": {}}),
            json!({"Zed": 1, "_x": [], "apiVersion": "v1", "kind": "X", "metadata": {"uid": "u"}}),
            json!({"Zed": 1, "apiVersion": "v1", "data": 2, "kind": "X", "metadata": {}}),
            json!({"apiVersion": "v1", "metadata": {"name": "a"}}),
            json!({"kind": "X", "metadata": {"name": "a"}, "z": {"apiVersion": "v1"}}),
            json!({"metadata": {"name": "a"}, "spec": {"kind": "k"}}),
            json!({"apiVersion": "v1", "kind": "X", "metadata": {}}),
            json!({"metadata": {}, "zzz": "kind"}),
        ] {
            let bytes = serde_json::to_vec(&object).unwrap();
            assert!(splice_resource_version(&bytes, 5).is_some(), "{object}");
            let spliced = decode_json_at(&bytes, 5).unwrap();
            let typed = via_value(&bytes, 5);
            assert_eq!(written(&spliced, true), typed, "{object}");
            assert_eq!(written(&spliced, false), untyped(&typed), "{object}");

            let from_value = JsonItem::from_value(&object).unwrap();
            assert_eq!(from_value.as_str(), serde_json::to_string(&object).unwrap());
            assert_eq!(written(&from_value, true), from_value.as_str());
            assert_eq!(
                written(&from_value, false),
                untyped(from_value.as_str()),
                "{object}"
            );
        }
        // Objects with nothing else, and values that are not objects.
        for value in [
            json!({"apiVersion": "v1", "kind": "X"}),
            json!({}),
            json!([1]),
            json!("s"),
        ] {
            let item = JsonItem::from_value(&value).unwrap();
            assert_eq!(written(&item, false), untyped(item.as_str()), "{value}");
        }
        // Duplicate keys are not the compact shape: the value path reads them.
        let duplicated = br#"{"kind":"X","kind":"Y","metadata":{}}"#;
        assert_eq!(splice_resource_version(duplicated, 1), None);
    }

    #[test]
    fn stored_bytes_have_the_shape_kube_answers_with() {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "c", "annotations": {}, "resourceVersion": "5"},
            "data": {}
        }))
        .unwrap();
        let stored: Value = serde_json::from_slice(&encode(&cm).unwrap()).unwrap();
        assert_eq!(
            stored,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        );
        let event: Event = serde_json::from_value(json!({
            "metadata": {"name": "e"}, "involvedObject": {"kind": "Pod"}
        }))
        .unwrap();
        let stored: Value = serde_json::from_slice(&encode(&event).unwrap()).unwrap();
        assert_eq!(stored["firstTimestamp"], Value::Null);
        assert!(stored.as_object().unwrap().contains_key("firstTimestamp"));
        assert_eq!(stored["source"], json!({}));
        assert_eq!(stored["reportingInstance"], "");
    }
}
