//! How objects are written to and read from storage (DECISIONS.md: JSON of the storage version,
//! with `apiVersion`/`kind`, without `resourceVersion`; the revision is the resourceVersion on read).

use serde::{Serialize, de::DeserializeOwned};

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

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{ConfigMap, Event};
    use serde_json::{Value, json};

    use super::*;

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
