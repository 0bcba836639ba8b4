//! `metadata.managedFields`: decoding, encoding and the identity of a manager, as kube's
//! `managedfields/internal` keeps them.
//!
//! A manager is identified by (name, operation, apiVersion for `Update` only, subresource): an
//! applier has one entry whatever version it applied with, an updater one per version.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, Time};
use serde_json::Value;

use super::fieldpath::FieldSet;
use super::go_fmt::go_quote;

/// `operation` of a managedFields entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write: create, update, patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// Who manages a set of fields.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ManagerId {
    pub(crate) manager: String,
    pub(crate) operation: Operation,
    /// Empty for `Apply` (an applier is one manager across versions).
    pub(crate) api_version: String,
    pub(crate) subresource: String,
}

impl ManagerId {
    /// The identity of a writer; an empty name becomes `unknown`, as kube names it.
    pub(crate) fn new(
        manager: &str,
        operation: Operation,
        api_version: &str,
        subresource: &str,
    ) -> Self {
        let manager = if manager.is_empty() {
            "unknown"
        } else {
            manager
        };
        Self::exact(manager, operation, api_version, subresource)
    }

    fn exact(manager: &str, operation: Operation, api_version: &str, subresource: &str) -> Self {
        Self {
            manager: manager.to_string(),
            operation,
            api_version: match operation {
                Operation::Apply => String::new(),
                Operation::Update => api_version.to_string(),
            },
            subresource: subresource.to_string(),
        }
    }

    /// kube's `printManager`: `"name"`, `with subresource "status"`, and `using v1` for updaters.
    pub(crate) fn describe(&self) -> String {
        let mut s = go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(
                " with subresource {}",
                go_quote(&self.subresource)
            ));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// The fields one manager owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ManagedEntry {
    pub(crate) set: FieldSet,
    pub(crate) api_version: String,
    pub(crate) applied: bool,
    pub(crate) time: Option<Timestamp>,
}

/// All managers of an object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Managed {
    pub(crate) entries: BTreeMap<ManagerId, ManagedEntry>,
}

impl Managed {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Decodes `metadata.managedFields` of `obj` (absent or null: no managers).
    pub(crate) fn decode_from(obj: &Value) -> Result<Self, String> {
        match obj.pointer("/metadata/managedFields") {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(v) => Self::decode(v),
        }
    }

    /// Decodes a managedFields list, rejecting what kube's `DecodeManagedFields` rejects.
    pub(crate) fn decode(list: &Value) -> Result<Self, String> {
        let Value::Array(items) = list else {
            return Err("managedFields must be a list".into());
        };
        let mut out = Self::default();
        for (i, item) in items.iter().enumerate() {
            let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("");
            let operation = match text("operation") {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return Err("operation must be `Apply` or `Update`".into()),
            };
            let api_version = text("apiVersion");
            if api_version.is_empty() {
                return Err("apiVersion must not be empty".into());
            }
            match text("fieldsType") {
                "FieldsV1" => {}
                "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
                other => {
                    return Err(format!(
                        "invalid fieldsType {} in managed fields entry {i}",
                        go_quote(other)
                    ));
                }
            }
            let set = match item.get("fieldsV1") {
                None | Some(Value::Null) => FieldSet::new(),
                Some(f) => FieldSet::from_fields_v1(f)
                    .map_err(|e| format!("error decoding versioned set: {e}"))?,
            };
            let time = item
                .get("time")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<Timestamp>().ok());
            // Stored names are kept as they are ("unknown" only names new writers).
            let id = ManagerId::exact(text("manager"), operation, api_version, text("subresource"));
            out.entries.insert(
                id,
                ManagedEntry {
                    set,
                    api_version: api_version.to_string(),
                    applied: operation == Operation::Apply,
                    time,
                },
            );
        }
        Ok(out)
    }

    /// The wire entries, in kube's order: Apply before Update, then by time, manager, version and
    /// subresource.
    pub(crate) fn encode(&self) -> Vec<ManagedFieldsEntry> {
        let mut entries: Vec<(&ManagerId, &ManagedEntry)> = self.entries.iter().collect();
        entries.sort_by(|(a, ae), (b, be)| {
            let op = |e: &ManagedEntry| {
                if e.applied {
                    Operation::Apply
                } else {
                    Operation::Update
                }
            };
            let secs = |e: &ManagedEntry| e.time.map_or(0, |t| t.as_second());
            op(ae)
                .cmp(&op(be))
                .then(secs(ae).cmp(&secs(be)))
                .then(a.manager.cmp(&b.manager))
                .then(ae.api_version.cmp(&be.api_version))
                .then(a.subresource.cmp(&b.subresource))
        });
        entries
            .into_iter()
            .map(|(id, e)| ManagedFieldsEntry {
                api_version: Some(e.api_version.clone()),
                fields_type: Some("FieldsV1".into()),
                fields_v1: Some(FieldsV1(e.set.to_fields_v1())),
                manager: Some(id.manager.clone()),
                operation: Some(
                    if e.applied {
                        Operation::Apply
                    } else {
                        id.operation
                    }
                    .as_str()
                    .to_string(),
                ),
                subresource: (!id.subresource.is_empty()).then(|| id.subresource.clone()),
                time: e.time.map(Time),
            })
            .collect()
    }
}

/// Writes managedFields into `obj` (removing the field when there are none, as kube does).
pub fn set_managed_fields(obj: &mut Value, entries: &[ManagedFieldsEntry]) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        meta.remove("managedFields");
        return;
    }
    let encoded: Vec<Value> = entries
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect();
    meta.insert("managedFields".into(), Value::Array(encoded));
}

/// The longest field manager name kube accepts.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// The manager of a non-apply write: the `fieldManager` parameter, else the User-Agent up to its
/// first `/` (`kubectl/v1.31.0 (linux/amd64) …` → `kubectl`), printable characters only and at
/// most 128 bytes, as kube's `managerOrUserAgent` does.
pub fn manager_or_user_agent(field_manager: Option<&str>, user_agent: &str) -> String {
    if let Some(m) = field_manager.filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let head = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in head.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decode_rejects_what_kube_rejects() {
        let bad_op = json!([{"manager": "m", "operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}]);
        assert_eq!(
            Managed::decode(&bad_op).unwrap_err(),
            "operation must be `Apply` or `Update`"
        );
        let no_type = json!([{"manager": "m", "operation": "Update", "apiVersion": "v1"}]);
        assert_eq!(
            Managed::decode(&no_type).unwrap_err(),
            "missing fieldsType in managed fields entry 0"
        );
        let no_version = json!([{"manager": "m", "operation": "Update", "fieldsType": "FieldsV1"}]);
        assert_eq!(
            Managed::decode(&no_version).unwrap_err(),
            "apiVersion must not be empty"
        );
    }

    #[test]
    fn round_trip_and_order() {
        let list = json!([
            {"manager": "b", "operation": "Update", "apiVersion": "v1", "time": "2024-01-01T00:00:02Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:x": {}}}},
            {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "2024-01-01T00:00:01Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:y": {}}}, "subresource": "status"},
            {"manager": "z", "operation": "Apply", "apiVersion": "v1", "time": "2024-01-01T00:00:09Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:z": {}}}}
        ]);
        let managed = Managed::decode(&list).unwrap();
        let mut obj = json!({"metadata": {"name": "p"}});
        set_managed_fields(&mut obj, &managed.encode());
        let order: Vec<&str> = obj["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["z", "a", "b"]);
        assert_eq!(obj["metadata"]["managedFields"][1]["subresource"], "status");
        assert_eq!(
            obj["metadata"]["managedFields"][1]["time"],
            "2024-01-01T00:00:01Z"
        );
        assert_eq!(
            Managed::decode(&obj["metadata"]["managedFields"]).unwrap(),
            managed
        );
        set_managed_fields(&mut obj, &[]);
        assert_eq!(obj, json!({"metadata": {"name": "p"}}));
    }

    #[test]
    fn stored_names_are_kept_even_when_empty() {
        let list = json!([{"manager": "", "operation": "Update", "apiVersion": "v1",
                           "fieldsType": "FieldsV1", "fieldsV1": {"f:a": {}}}]);
        let encoded = Managed::decode(&list).unwrap().encode();
        assert_eq!(encoded[0].manager.as_deref(), Some(""));
    }

    #[test]
    fn manager_names() {
        assert_eq!(
            manager_or_user_agent(None, "kubectl/v1.31.0 (linux/amd64) kubernetes/abc"),
            "kubectl"
        );
        assert_eq!(
            manager_or_user_agent(Some("kubectl-edit"), "kubectl/v1"),
            "kubectl-edit"
        );
        assert_eq!(
            manager_or_user_agent(None, "Go-http-client/1.1"),
            "Go-http-client"
        );
        assert_eq!(manager_or_user_agent(None, &"x".repeat(300)).len(), 128);
        let d = ManagerId::new("m", Operation::Update, "v1", "status").describe();
        assert_eq!(d, "\"m\" with subresource \"status\" using v1");
        assert_eq!(
            ManagerId::new("", Operation::Apply, "v1", "").describe(),
            "\"unknown\""
        );
    }
}
