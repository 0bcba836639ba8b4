//! kube's list, map and patch extensions (and its `required` lists), from the table generated out
//! of Kubernetes' published OpenAPI spec (extensions.json; see extensions.NOTICE and
//! scripts/gen-schema-extensions.sh).
//!
//! The crates' schemas carry structure only; strategic merge patch, apply and the OpenAPI
//! documents need these extensions, and keeping them in one generated table (rather than
//! hand-written per field) means they match kube-apiserver exactly and are regenerated, not
//! edited, on a Kubernetes upgrade.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{FieldExtensions, ListType, MapType, PatchStrategy};

/// The generated data: definition → extensions on it and on its properties.
const TABLE_JSON: &str = include_str!("extensions.json");

/// Extensions of one definition.
#[derive(Debug, Default, PartialEq)]
pub(super) struct DefinitionExtensions {
    /// `x-kubernetes-map-type` on the definition itself.
    pub map_type: Option<MapType>,
    /// Per property.
    pub properties: BTreeMap<String, FieldExtensions>,
    /// kube's `required` list, when the table gives one (every object definition it covers):
    /// it replaces the crates' list, which requires fields kube does not.
    pub required: Option<Vec<String>>,
    /// The values a property may take (`enum`), which kube serves and kubectl explain prints.
    pub enums: BTreeMap<String, Vec<Value>>,
    /// The values the elements of an array property may take (`items.enum`).
    pub item_enums: BTreeMap<String, Vec<Value>>,
    /// The served description of a property with an `enum` (it lists the values' meanings).
    pub descriptions: BTreeMap<String, String>,
}

/// One entry of extensions.json, as written (the `x-kubernetes-` prefix dropped).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawExtensions {
    patch_strategy: Option<String>,
    patch_merge_key: Option<String>,
    list_type: Option<String>,
    #[serde(default)]
    list_map_keys: Vec<String>,
    map_type: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, RawExtensions>,
    required: Option<Vec<String>>,
    #[serde(default, rename = "enum")]
    values: Vec<Value>,
    #[serde(default)]
    items_enum: Vec<Value>,
    description: Option<String>,
}

static TABLE: LazyLock<BTreeMap<String, DefinitionExtensions>> = LazyLock::new(|| {
    // The table is compiled in and `table_parses` checks it, so failing here is a build defect.
    #[allow(clippy::expect_used)]
    parse(TABLE_JSON).expect("src/api/schema/extensions.json is valid (see its unit test)")
});

/// The extensions of definition `name` (empty when it has none).
pub(super) fn for_definition(name: &str) -> Option<&'static DefinitionExtensions> {
    TABLE.get(name)
}

fn parse(text: &str) -> Result<BTreeMap<String, DefinitionExtensions>, String> {
    let raw: BTreeMap<String, RawExtensions> =
        serde_json::from_str(text).map_err(|e| e.to_string())?;
    raw.into_iter()
        .map(|(name, entry)| {
            let map_type = entry.map_type.as_deref().map(map_type).transpose()?;
            let required = entry.required;
            let mut enums = BTreeMap::new();
            let mut item_enums = BTreeMap::new();
            let mut descriptions = BTreeMap::new();
            let properties = entry
                .properties
                .into_iter()
                .map(|(prop, mut raw)| {
                    if !raw.values.is_empty() {
                        enums.insert(prop.clone(), std::mem::take(&mut raw.values));
                    }
                    if !raw.items_enum.is_empty() {
                        item_enums.insert(prop.clone(), std::mem::take(&mut raw.items_enum));
                    }
                    if let Some(description) = raw.description.take() {
                        descriptions.insert(prop.clone(), description);
                    }
                    Ok((prop, field(raw)?))
                })
                .collect::<Result<_, String>>()?;
            Ok((
                name,
                DefinitionExtensions {
                    map_type,
                    properties,
                    required,
                    enums,
                    item_enums,
                    descriptions,
                },
            ))
        })
        .collect()
}

fn field(raw: RawExtensions) -> Result<FieldExtensions, String> {
    let patch_strategy = match raw.patch_strategy.as_deref() {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| match s.trim() {
                "merge" => Ok(PatchStrategy::Merge),
                "retainKeys" => Ok(PatchStrategy::RetainKeys),
                "replace" => Ok(PatchStrategy::Replace),
                other => Err(format!("unknown patch strategy {other:?}")),
            })
            .collect::<Result<_, _>>()?,
    };
    let list_type = match raw.list_type.as_deref() {
        None => None,
        Some("atomic") => Some(ListType::Atomic),
        Some("set") => Some(ListType::Set),
        Some("map") => Some(ListType::Map),
        Some(other) => return Err(format!("unknown list type {other:?}")),
    };
    Ok(FieldExtensions {
        patch_strategy,
        patch_merge_key: raw.patch_merge_key,
        list_type,
        list_map_keys: raw.list_map_keys,
        map_type: raw.map_type.as_deref().map(map_type).transpose()?,
    })
}

fn map_type(value: &str) -> Result<MapType, String> {
    match value {
        "atomic" => Ok(MapType::Atomic),
        "granular" => Ok(MapType::Granular),
        other => Err(format!("unknown map type {other:?}")),
    }
}

/// The extensions as OpenAPI keys (`x-kubernetes-…`), in kube's spelling, for the documents.
pub(super) fn to_openapi(ext: &FieldExtensions) -> Map<String, Value> {
    let mut out = Map::new();
    if !ext.patch_strategy.is_empty() {
        let names: Vec<&str> = ext
            .patch_strategy
            .iter()
            .map(|s| match s {
                PatchStrategy::Merge => "merge",
                PatchStrategy::RetainKeys => "retainKeys",
                PatchStrategy::Replace => "replace",
            })
            .collect();
        out.insert("x-kubernetes-patch-strategy".into(), names.join(",").into());
    }
    if let Some(key) = &ext.patch_merge_key {
        out.insert("x-kubernetes-patch-merge-key".into(), key.clone().into());
    }
    if let Some(list_type) = ext.list_type {
        let name = match list_type {
            ListType::Atomic => "atomic",
            ListType::Set => "set",
            ListType::Map => "map",
        };
        out.insert("x-kubernetes-list-type".into(), name.into());
    }
    if !ext.list_map_keys.is_empty() {
        out.insert(
            "x-kubernetes-list-map-keys".into(),
            ext.list_map_keys.clone().into(),
        );
    }
    if let Some(map_type) = ext.map_type {
        out.insert(
            "x-kubernetes-map-type".into(),
            map_type_name(map_type).into(),
        );
    }
    out
}

/// kube's spelling of a map type.
pub(super) fn map_type_name(map_type: MapType) -> &'static str {
    match map_type {
        MapType::Atomic => "atomic",
        MapType::Granular => "granular",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses() {
        let table = parse(TABLE_JSON).unwrap();
        assert!(table.len() > 20, "only {} definitions", table.len());
    }

    #[test]
    fn values_round_trip_to_kube_spelling() {
        let volumes = &TABLE["io.k8s.api.core.v1.PodSpec"].properties["volumes"];
        assert_eq!(
            volumes.patch_strategy,
            vec![PatchStrategy::Merge, PatchStrategy::RetainKeys]
        );
        let json = to_openapi(volumes);
        assert_eq!(json["x-kubernetes-patch-strategy"], "merge,retainKeys");
        assert_eq!(json["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(json["x-kubernetes-list-type"], "map");
        assert_eq!(
            json["x-kubernetes-list-map-keys"],
            serde_json::json!(["name"])
        );
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(parse(r#"{"X": {"properties": {"a": {"list-type": "bag"}}}}"#).is_err());
        assert!(
            parse(r#"{"X": {"properties": {"a": {"patch-strategy": "merge,oops"}}}}"#).is_err()
        );
        assert!(parse(r#"{"X": {"map-type": "sometimes"}}"#).is_err());
        assert!(parse(r#"{"X": {"list-kind": "map"}}"#).is_err());
    }

    #[test]
    fn required_lists_are_kubes() {
        // k8s-openapi requires `name`; kube only documents it as effectively required.
        assert_eq!(
            TABLE["io.k8s.api.core.v1.LocalObjectReference"].required,
            Some(vec![])
        );
        assert_eq!(
            TABLE["io.k8s.api.core.v1.Event"].required,
            Some(vec!["metadata".to_string(), "involvedObject".to_string()])
        );
        assert_eq!(
            TABLE["io.k8s.api.core.v1.PodSpec"].required,
            Some(vec!["containers".to_string()])
        );
    }

    #[test]
    fn enums_are_kubes() {
        let spec = &TABLE["io.k8s.api.core.v1.PodSpec"];
        assert_eq!(
            spec.enums["restartPolicy"],
            ["Always", "Never", "OnFailure"].map(Value::from)
        );
        assert!(spec.properties.contains_key("containers"));
        let claim = &TABLE["io.k8s.api.core.v1.PersistentVolumeClaimSpec"];
        assert!(claim.item_enums["accessModes"].contains(&Value::from("ReadWriteOnce")));
        assert!(spec.descriptions["restartPolicy"].contains("Possible enum values:"));
    }
}
