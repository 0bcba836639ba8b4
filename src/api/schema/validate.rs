//! Field validation: unknown and duplicate fields in request bodies, reported exactly as
//! kube-apiserver's strict decoding reports them.
//!
//! kube decodes bodies with sigs.k8s.io/json's strict mode, which notes every key that matches no
//! field of the typed object (`unknown field "spec.containers[0].imagePullPolicyy"`) and every key
//! seen twice in one object (`duplicate field "metadata.name"`), with the path of the parent
//! written as keys joined by `.` and list indices as `[i]`. The `fieldValidation` directive then
//! decides: `Strict` answers 400 with all of them, `Warn` sends each as a `Warning` header,
//! `Ignore` drops them. Untyped positions (RawExtension, FieldsV1, Quantity, …) decode through
//! their own unmarshalers in Go, so nothing inside them is checked here either.
//!
//! Handlers call [`check_fields`] on the raw JSON (duplicates exist only there) and then
//! [`enforce`]; code that already holds a decoded object (a patched one) calls [`check_value`].
//!
//! ```
//! use capstan::api::options::FieldValidation;
//! use capstan::api::schema::SchemaModelBuilder;
//! use capstan::api::schema::validate::{check_fields, enforce};
//! let model = SchemaModelBuilder::with_core_kinds().build();
//! let pod = model.for_kind("", "v1", "Pod").unwrap();
//! let body = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"},
//!                 "spec":{"containers":[{"name":"c","imagePullPolicyy":"Always"}]}}"#;
//! let issues = check_fields(pod, body).unwrap();
//! let warnings = enforce(FieldValidation::Warn, "Pod", "v1", &issues).unwrap();
//! assert_eq!(warnings, [
//!     r#"duplicate field "metadata.name""#,
//!     r#"unknown field "spec.containers[0].imagePullPolicyy""#,
//! ]);
//! let err = enforce(FieldValidation::Strict, "Pod", "v1", &issues).unwrap_err();
//! assert_eq!(err.to_string(), "Pod in version \"v1\" cannot be handled as a Pod: strict decoding \
//!     error: duplicate field \"metadata.name\", unknown field \"spec.containers[0].imagePullPolicyy\"");
//! ```

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Shape, TypeRef};
use crate::api::ApiError;
use crate::api::options::FieldValidation;

/// kube stops collecting after this many (sigs.k8s.io/json's limit).
const MAX_ISSUES: usize = 100;

/// One strict-decoding finding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldIssue {
    /// A key that is no field of the object at that position; the path includes the key.
    Unknown(String),
    /// A key given twice in one object; the path includes the key.
    Duplicate(String),
}

impl fmt::Display for FieldIssue {
    /// kube's text: `unknown field "spec.foo"`, `duplicate field "metadata.name"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, path) = match self {
            Self::Unknown(path) => ("unknown field", path),
            Self::Duplicate(path) => ("duplicate field", path),
        };
        write!(f, "{what} {}", go_quote(path))
    }
}

/// Finds unknown and duplicate fields in the JSON body `raw` of an object whose type is `root`,
/// in document order, without duplicates, at most 100. Fails only if `raw` is not JSON.
pub fn check_fields(root: TypeRef<'_>, raw: &[u8]) -> Result<Vec<FieldIssue>, serde_json::Error> {
    let mut found = Found::default();
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let mut path = String::new();
    Walk {
        ty: Some(root),
        path: &mut path,
        found: &mut found,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(found.issues)
}

/// Finds unknown fields in an already decoded object (duplicates cannot be seen any more), as
/// kube's unstructured converter does after a strategic merge patch: same paths, same texts.
pub fn check_value(root: TypeRef<'_>, value: &Value) -> Vec<FieldIssue> {
    let mut found = Found::default();
    let mut path = String::new();
    walk_value(root, value, &mut path, &mut found);
    found.issues
}

/// `strict decoding error: <issue>, <issue>`: kube's text for a list of issues.
pub fn strict_decoding_error(issues: &[FieldIssue]) -> String {
    let list: Vec<String> = issues.iter().map(ToString::to_string).collect();
    format!("strict decoding error: {}", list.join(", "))
}

/// Applies the `fieldValidation` directive to what [`check_fields`] found for a body of `kind`
/// in `version` (as the body's apiVersion gives it): `Ok` with the Warning header values to send
/// (none for `Ignore`), or, for `Strict` with any issue, kube's 400 BadRequest:
/// `Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "x"`.
pub fn enforce(
    directive: FieldValidation,
    kind: &str,
    version: &str,
    issues: &[FieldIssue],
) -> Result<Vec<String>, ApiError> {
    match directive {
        FieldValidation::Ignore => Ok(Vec::new()),
        FieldValidation::Warn => Ok(issues.iter().map(ToString::to_string).collect()),
        FieldValidation::Strict if issues.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => Err(ApiError::BadRequest(format!(
            "{kind} in version {} cannot be handled as a {kind}: {}",
            go_quote(version),
            strict_decoding_error(issues)
        ))),
    }
}

/// Collected issues, deduplicated and capped like kube's.
#[derive(Default)]
struct Found {
    issues: Vec<FieldIssue>,
    seen: HashSet<FieldIssue>,
}

impl Found {
    fn push(&mut self, issue: FieldIssue) {
        if self.issues.len() < MAX_ISSUES && self.seen.insert(issue.clone()) {
            self.issues.push(issue);
        }
    }
}

/// The path of `key` under `parent` (`spec` + `containers` → `spec.containers`).
fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Walks one JSON value of type `ty` (`None`: untyped, nothing to check) while it is parsed.
struct Walk<'a, 'm> {
    ty: Option<TypeRef<'m>>,
    path: &'a mut String,
    found: &'a mut Found,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.ty.map(|t| t.shape()) {
            Some(Shape::Object | Shape::Map | Shape::List) => deserializer.deserialize_any(self),
            // Scalars and untyped values: no fields to check inside.
            _ => deserializer.deserialize_ignored_any(IgnoredAny).map(|_| ()),
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(ty) = self.ty else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let object = ty.shape() == Shape::Object;
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = if object {
                ty.field(&key).map(|f| f.ty)
            } else {
                ty.values()
            };
            let known = !object || child.is_some();
            if !known {
                self.found
                    .push(FieldIssue::Unknown(child_path(self.path, &key)));
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if !keys.insert(key.clone()) {
                self.found
                    .push(FieldIssue::Duplicate(child_path(self.path, &key)));
            }
            let parent_len = self.path.len();
            *self.path = child_path(self.path, &key);
            map.next_value_seed(Walk {
                ty: child,
                path: self.path,
                found: self.found,
            })?;
            self.path.truncate(parent_len);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let items = self
            .ty
            .filter(|t| t.shape() == Shape::List)
            .and_then(|t| t.items());
        let mut index = 0usize;
        loop {
            let parent_len = self.path.len();
            self.path.push_str(&format!("[{index}]"));
            let next = seq.next_element_seed(Walk {
                ty: items,
                path: self.path,
                found: self.found,
            })?;
            self.path.truncate(parent_len);
            if next.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    // A scalar where a structure was expected is a type error for the real decoder to report.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

fn walk_value(ty: TypeRef<'_>, value: &Value, path: &mut String, found: &mut Found) {
    match (ty.shape(), value) {
        (Shape::Object, Value::Object(obj)) => {
            for (key, child) in obj {
                let child_path = child_path(path, key);
                match ty.field(key) {
                    None => found.push(FieldIssue::Unknown(child_path)),
                    Some(field) => {
                        let mut child_path = child_path;
                        walk_value(field.ty, child, &mut child_path, found);
                    }
                }
            }
        }
        (Shape::Map, Value::Object(obj)) => {
            if let Some(values) = ty.values() {
                for (key, child) in obj {
                    walk_value(values, child, &mut child_path(path, key), found);
                }
            }
        }
        (Shape::List, Value::Array(items)) => {
            if let Some(item_ty) = ty.items() {
                for (i, item) in items.iter().enumerate() {
                    walk_value(item_ty, item, &mut format!("{path}[{i}]"), found);
                }
            }
        }
        _ => {}
    }
}

/// Go's `strconv.Quote`: kube's messages quote paths with it (`%q`).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
