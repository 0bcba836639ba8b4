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

/// kube's `duration.HumanDuration`: a short age such as `45s`, `3m20s`, `5h10m`, `3d4h`, `2y30d`
/// (2-3 significant figures), which kubectl prints in `Age` columns. Up to a second in the future
/// counts as `0s`; further is `<invalid>`.
///
/// ```
/// use capstan::api::table::human_duration;
/// use jiff::SignedDuration;
/// assert_eq!(human_duration(SignedDuration::from_secs(119)), "119s");
/// assert_eq!(human_duration(SignedDuration::from_secs(200)), "3m20s");
/// assert_eq!(human_duration(SignedDuration::from_secs(3 * 3600)), "3h");
/// ```
pub fn human_duration(d: jiff::SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The `Age` cell for an object created at `created` (kube's `translateTimestampSince`):
/// `<unknown>` without a timestamp.
pub fn age(created: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    match created {
        None => "<unknown>".into(),
        Some(t) => human_duration(jiff::Timestamp::now().duration_since(t.0)),
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;

    fn h(secs: i64) -> String {
        human_duration(SignedDuration::from_secs(secs))
    }

    #[test]
    fn human_durations_match_kube() {
        assert_eq!(h(-5), "<invalid>");
        assert_eq!(h(-1), "0s");
        assert_eq!(h(0), "0s");
        assert_eq!(h(119), "119s");
        assert_eq!(h(120), "2m");
        assert_eq!(h(9 * 60 + 59), "9m59s");
        assert_eq!(h(10 * 60 + 30), "10m");
        assert_eq!(h(179 * 60), "179m");
        assert_eq!(h(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(h(8 * 3600 + 5 * 60), "8h");
        assert_eq!(h(47 * 3600), "47h");
        assert_eq!(h(48 * 3600), "2d");
        assert_eq!(h(50 * 3600), "2d2h");
        assert_eq!(h(8 * 24 * 3600), "8d");
        assert_eq!(h(729 * 24 * 3600), "729d");
        assert_eq!(h(730 * 24 * 3600), "2y");
        assert_eq!(h(731 * 24 * 3600), "2y1d");
        assert_eq!(h(9 * 365 * 24 * 3600), "9y");
    }

    #[test]
    fn age_without_timestamp_is_unknown() {
        assert_eq!(age(None), "<unknown>");
        let t = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::now() - SignedDuration::from_secs(30),
        );
        assert!(["30s", "31s"].contains(&age(Some(&t)).as_str()));
    }
}
