//! How objects are written to and read from storage (DECISIONS.md: JSON of the storage version,
//! with `apiVersion`/`kind`, without `resourceVersion`; the revision is the resourceVersion on read).

use serde::{Serialize, de::DeserializeOwned};
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
