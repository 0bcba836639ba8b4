//! Conversions kube applies to responses on request (`Accept: …;as=…;g=meta.k8s.io;v=v1`): the
//! `Table` kubectl prints, and the `PartialObjectMetadata(List)` metadata clients (garbage
//! collector, namespace controller, kube-rs `metadata_watcher`) read.
//!
//! Columns and cells come from the resource ([`Rest::table_columns`], [`Rest::table_row`]), so a
//! kind's printer lives with its strategy; this module only assembles kube's shapes
//! (k8s.io/apiserver `handlers/response.go`: `asTable`, `asPartialObjectMetadata[List]`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use serde_json::{Value, json};

use crate::api::table::{IncludeObject, Table, TableRow};
use crate::endpoints::negotiation::MetaVersion;
use crate::registry::{ListResult, Rest};

/// A one-row Table for a single object (get, and each event of a Table watch). `headers` is false
/// on every watch event after the first, which kube sends without `columnDefinitions`.
pub fn object_table(
    rest: &dyn Rest,
    object: &Value,
    version: MetaVersion,
    include: IncludeObject,
    headers: bool,
) -> Table {
    let metadata = ListMeta {
        resource_version: string_at(object, "resourceVersion"),
        ..Default::default()
    };
    assemble(
        rest,
        std::slice::from_ref(object),
        metadata,
        version,
        include,
        headers,
    )
}

/// A Table of a list page, carrying its `resourceVersion`, `continue` and `remainingItemCount`.
pub fn list_table(
    rest: &dyn Rest,
    list: &ListResult,
    version: MetaVersion,
    include: IncludeObject,
) -> Table {
    assemble(rest, &list.items, list_meta(list), version, include, true)
}

fn assemble(
    rest: &dyn Rest,
    objects: &[Value],
    metadata: ListMeta,
    version: MetaVersion,
    include: IncludeObject,
    headers: bool,
) -> Table {
    Table {
        api_version: version.api_version().to_string(),
        kind: "Table".to_string(),
        metadata,
        column_definitions: headers.then(|| rest.table_columns()),
        rows: objects
            .iter()
            .map(|object| TableRow {
                cells: rest.table_row(object),
                conditions: None,
                object: row_object(object, version, include),
            })
            .collect(),
    }
}

/// What a row carries per `includeObject`: nothing, the object's metadata (the default), or the
/// object itself.
fn row_object(object: &Value, version: MetaVersion, include: IncludeObject) -> Option<Value> {
    match include {
        IncludeObject::None => None,
        IncludeObject::Metadata => Some(partial_object_metadata(object, version)),
        IncludeObject::Object => Some(object.clone()),
    }
}

/// `meta.k8s.io PartialObjectMetadata`: the object's metadata under the meta group's type.
pub fn partial_object_metadata(object: &Value, version: MetaVersion) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": version.api_version(),
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// `meta.k8s.io PartialObjectMetadataList` of a list page.
pub fn partial_object_metadata_list(list: &ListResult, version: MetaVersion) -> Value {
    let items: Vec<Value> = list
        .items
        .iter()
        .map(|item| partial_object_metadata(item, version))
        .collect();
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": version.api_version(),
        "metadata": list_meta(list),
        "items": items,
    })
}

/// The `metadata` of a list or Table built from a page.
pub fn list_meta<T>(list: &ListResult<T>) -> ListMeta {
    ListMeta {
        resource_version: (!list.resource_version.is_empty())
            .then(|| list.resource_version.clone()),
        continue_: list.continue_token.clone().filter(|c| !c.is_empty()),
        remaining_item_count: list.remaining_item_count,
        ..Default::default()
    }
}

fn string_at(object: &Value, field: &str) -> Option<String> {
    object["metadata"][field].as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ResourceDescriptor;
    use crate::api::table::TableColumnDefinition;
    use std::collections::BTreeSet;

    /// A resource with its own printer: Name and Phase, plus a priority-1 Node column.
    struct Printed(ResourceDescriptor);

    #[async_trait::async_trait]
    impl Rest for Printed {
        fn descriptor(&self) -> &ResourceDescriptor {
            &self.0
        }
        fn verbs(&self) -> BTreeSet<crate::registry::Verb> {
            BTreeSet::new()
        }
        fn table_columns(&self) -> Vec<TableColumnDefinition> {
            vec![
                TableColumnDefinition::new("Name", "string", "name", 0, "the name"),
                TableColumnDefinition::new("Phase", "string", "", 0, "the phase"),
                TableColumnDefinition::new("Node", "string", "", 1, "the node"),
            ]
        }
        fn table_row(&self, object: &Value) -> Vec<Value> {
            vec![
                object["metadata"]["name"].clone(),
                object["status"]["phase"].clone(),
                object["spec"]["nodeName"].clone(),
            ]
        }
    }

    fn pod(name: &str, rv: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "d", "resourceVersion": rv, "uid": "u"},
            "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}
        })
    }

    #[test]
    fn list_table_has_kubes_shape() {
        let rest = Printed(ResourceDescriptor::default());
        let list = ListResult {
            items: vec![pod("a", "5"), pod("b", "6")],
            resource_version: "9".into(),
            continue_token: Some("tok".into()),
            remaining_item_count: Some(3),
        };
        let table = serde_json::to_value(list_table(
            &rest,
            &list,
            MetaVersion::V1,
            IncludeObject::Metadata,
        ))
        .unwrap();
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(table["kind"], "Table");
        assert_eq!(
            table["metadata"],
            json!({"resourceVersion": "9", "continue": "tok", "remainingItemCount": 3})
        );
        assert_eq!(
            table["columnDefinitions"][2],
            json!({"name": "Node", "type": "string", "format": "", "description": "the node", "priority": 1})
        );
        assert_eq!(table["rows"][0]["cells"], json!(["a", "Running", "n1"]));
        assert_eq!(
            table["rows"][1]["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"name": "b", "namespace": "d", "resourceVersion": "6", "uid": "u"}})
        );
    }

    #[test]
    fn include_object_controls_the_row_object() {
        let rest = Printed(ResourceDescriptor::default());
        let object = pod("a", "5");
        let none = object_table(&rest, &object, MetaVersion::V1, IncludeObject::None, true);
        assert_eq!(none.rows[0].object, None);
        let full = object_table(&rest, &object, MetaVersion::V1, IncludeObject::Object, true);
        assert_eq!(full.rows[0].object.as_ref(), Some(&object));
        let beta = object_table(
            &rest,
            &object,
            MetaVersion::V1beta1,
            IncludeObject::Metadata,
            true,
        );
        assert_eq!(beta.api_version, "meta.k8s.io/v1beta1");
        assert_eq!(
            beta.rows[0].object.as_ref().unwrap()["apiVersion"],
            "meta.k8s.io/v1beta1"
        );
        assert_eq!(beta.metadata.resource_version.as_deref(), Some("5"));
    }

    #[test]
    fn watch_rows_after_the_first_omit_column_definitions() {
        let rest = Printed(ResourceDescriptor::default());
        let later = object_table(
            &rest,
            &pod("a", "5"),
            MetaVersion::V1,
            IncludeObject::Metadata,
            false,
        );
        let json = serde_json::to_value(later).unwrap();
        assert!(json.get("columnDefinitions").is_none());
        assert_eq!(json["rows"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn partial_object_metadata_list_keeps_the_list_metadata() {
        let list = ListResult {
            items: vec![pod("a", "5")],
            resource_version: "7".into(),
            ..Default::default()
        };
        let partial = partial_object_metadata_list(&list, MetaVersion::V1);
        assert_eq!(partial["kind"], "PartialObjectMetadataList");
        assert_eq!(partial["metadata"], json!({"resourceVersion": "7"}));
        assert_eq!(partial["items"][0]["metadata"]["name"], "a");
        assert!(partial["items"][0].get("spec").is_none());
    }
}
