//! `meta.k8s.io/v1` Table, hand-written because neither k8s-openapi nor kube-core has it.
//!
//! kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints `columnDefinitions`
//! and `rows[].cells`; `-o wide` shows the priority-1 columns.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A table of objects, as kube-apiserver's `asTable` returns.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    pub api_version: String,
    pub kind: String,
    pub metadata: ListMeta,
    /// Omitted (not empty) on watch events after the first, as kube does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_definitions: Option<Vec<TableColumnDefinition>>,
    pub rows: Vec<TableRow>,
}

/// One column: `name`, `type` (`string`, `integer`, `date`…), `format`, `description`, `priority`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TableColumnDefinition {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i32,
}

impl TableColumnDefinition {
    /// A column with the given name, type, format, priority and description.
    pub fn new(name: &str, type_: &str, format: &str, priority: i32, description: &str) -> Self {
        Self {
            name: name.into(),
            type_: type_.into(),
            format: format.into(),
            description: description.into(),
            priority,
        }
    }
}

/// One row: the cells, and the object (or its metadata) per `includeObject`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TableRow {
    pub cells: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
}

/// `includeObject` of TableOptions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}
