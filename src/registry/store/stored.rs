//! Selecting stored objects without decoding more than the selectors read.
//!
//! Lists and watches pass most objects on untouched, so they read them as untyped JSON
//! ([`codec::decode_value_at`]) and decide whether they are selected from the bytes: nothing
//! to read without selectors, only the metadata for label selectors and `metadata.*` field
//! selectors, and the typed object only when a field selector names one of the strategy's own
//! fields (`spec.nodeName`), which its [`Strategy::extra_selectable_fields`] computes.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Selection;
use crate::api::ApiError;
use crate::registry::{Strategy, codec};
use crate::storage::KeyValue;

/// The metadata selectors read; serde skips everything else in the stored bytes.
#[derive(Deserialize, Default)]
struct StoredMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// The part of a stored object [`StoredMeta`] comes from.
#[derive(Deserialize)]
struct Stored {
    #[serde(default)]
    metadata: StoredMeta,
}

impl<S: Strategy> Selection<S> {
    /// Whether the stored object `kv` is selected; see the module doc.
    pub(super) fn matches_stored(&self, kv: &KeyValue) -> Result<bool, ApiError> {
        if self.selects_all() {
            return Ok(true);
        }
        if self.needs_typed() {
            let obj: S::Object = codec::decode(kv)?;
            return Ok(self.matches(&obj));
        }
        let Stored { metadata } = serde_json::from_slice(&kv.value)
            .map_err(|e| ApiError::internal(format!("stored object cannot be decoded: {e}")))?;
        if !self.labels.is_empty() {
            let empty = BTreeMap::new();
            if !self
                .labels
                .matches(metadata.labels.as_ref().unwrap_or(&empty))
            {
                return Ok(false);
            }
        }
        if self.fields.is_empty() {
            return Ok(true);
        }
        let mut fields = BTreeMap::new();
        fields.insert("metadata.name".into(), metadata.name.unwrap_or_default());
        if self.namespaced {
            fields.insert(
                "metadata.namespace".into(),
                metadata.namespace.unwrap_or_default(),
            );
        }
        Ok(self.fields.matches(&fields))
    }

    /// Whether the field selector names a field only the strategy can compute.
    fn needs_typed(&self) -> bool {
        self.fields
            .requirements
            .iter()
            .any(|r| r.field != "metadata.name" && r.field != "metadata.namespace")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;
    use crate::api::FieldErrors;
    use crate::api::selectors::fields::FieldSelector;
    use crate::api::selectors::labels::LabelSelector;
    use crate::registry::RequestContext;

    /// ConfigMaps with one field of their own, `data.color`.
    struct Colors;

    impl Strategy for Colors {
        type Object = ConfigMap;
        fn validate(&self, _: &RequestContext, _: &ConfigMap) -> FieldErrors {
            FieldErrors::default()
        }
        fn validate_update(&self, _: &RequestContext, _: &ConfigMap, _: &ConfigMap) -> FieldErrors {
            FieldErrors::default()
        }
        fn extra_field_labels(&self) -> &'static [&'static str] {
            &["data.color"]
        }
        fn extra_selectable_fields(&self, cm: &ConfigMap) -> BTreeMap<String, String> {
            let color = cm.data.as_ref().and_then(|d| d.get("color")).cloned();
            BTreeMap::from([("data.color".into(), color.unwrap_or_default())])
        }
    }

    fn selection(labels: &str, fields: &str, namespaced: bool) -> Selection<Colors> {
        Selection {
            strategy: Arc::new(Colors),
            namespaced,
            labels: LabelSelector::parse(labels).unwrap(),
            fields: FieldSelector::parse(fields).unwrap(),
        }
    }

    fn stored(json: serde_json::Value) -> KeyValue {
        KeyValue {
            key: "/k".into(),
            value: serde_json::to_vec(&json).unwrap(),
            create_revision: 1,
            mod_revision: 1,
        }
    }

    /// The stored-bytes path agrees with the typed one on every kind of selector.
    #[test]
    fn stored_selection_agrees_with_the_typed_object() {
        let objects = [
            serde_json::json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"app": "web"}},
                 "data": {"color": "red"}}),
            serde_json::json!({"metadata": {"name": "b", "namespace": "ns"}, "data": {"color": "blue"}}),
            serde_json::json!({"metadata": {"name": "c"}}),
            serde_json::json!({}),
        ];
        let selectors = [
            ("", ""),
            ("app=web", ""),
            ("app!=web", ""),
            ("!app", ""),
            ("", "metadata.name=a"),
            ("", "metadata.name!=a"),
            ("", "metadata.namespace=ns"),
            ("", "metadata.namespace="),
            ("app", "metadata.name=a"),
            ("", "data.color=red"),
            ("app=web", "data.color!=red"),
        ];
        for namespaced in [true, false] {
            for (labels, fields) in selectors {
                let sel = selection(labels, fields, namespaced);
                for json in &objects {
                    let kv = stored(json.clone());
                    let typed: ConfigMap = codec::decode(&kv).unwrap();
                    assert_eq!(
                        sel.matches_stored(&kv).unwrap(),
                        sel.matches(&typed),
                        "labels {labels:?} fields {fields:?} namespaced {namespaced} on {json}"
                    );
                }
            }
        }
    }

    /// An untyped read gives the JSON a typed read serialises to, resourceVersion included.
    #[test]
    fn untyped_reads_match_typed_reads() {
        let cm = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns", "labels": {"x": "y"},
                         "creationTimestamp": "2024-01-02T03:04:05Z", "uid": "u"},
            "data": {"k": "v"}, "immutable": false,
        });
        let typed: ConfigMap = serde_json::from_value(cm).unwrap();
        let kv = KeyValue {
            mod_revision: 42,
            ..stored(serde_json::from_slice(&codec::encode(&typed).unwrap()).unwrap())
        };
        let via_type = serde_json::to_vec(&codec::decode::<ConfigMap>(&kv).unwrap()).unwrap();
        let via_type: serde_json::Value = serde_json::from_slice(&via_type).unwrap();
        let untyped = codec::decode_value_at(&kv.value, kv.mod_revision).unwrap();
        assert_eq!(
            serde_json::to_string(&untyped).unwrap(),
            serde_json::to_string(&via_type).unwrap()
        );
        assert_eq!(untyped["metadata"]["resourceVersion"], "42");
        assert!(codec::decode_value_at(b"[1]", 1).is_err());
        assert!(codec::decode_value_at(b"{\"metadata\": 1}", 1).is_err());
    }
}
