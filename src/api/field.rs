//! Field-level validation errors, shaped like k8s.io/apimachinery's `field.Error`.
//!
//! Validation code collects these; [`crate::api::errors::ApiError::invalid`] turns a list of them into
//! a 422 `Invalid` Status whose `causes` carry `reason`, `message` and `field` exactly as kube does,
//! so clients that match on messages (kubectl prints them verbatim) see the same text.

use std::fmt;

use serde_json::Value;

/// The kind of a field error; each maps to kube's `CauseType` (`FieldValueRequired`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldErrorType {
    /// A required field is missing or empty.
    Required,
    /// A value is malformed or out of range.
    Invalid,
    /// A value is not one of an enumerated set.
    NotSupported,
    /// A value is present where it may not be (or may not change).
    Forbidden,
    /// A value repeats where it must be unique.
    Duplicate,
    /// A string is longer than allowed.
    TooLong,
    /// A list has more items than allowed.
    TooMany,
    /// A referenced value does not exist.
    NotFound,
    /// Unexpected internal failure while validating.
    Internal,
}

impl FieldErrorType {
    /// The `reason` of a Status cause, as kube spells it.
    pub fn cause_type(&self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::Duplicate => "FieldValueDuplicate",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::NotFound => "FieldValueNotFound",
            Self::Internal => "InternalError",
        }
    }

    /// The short human text kube puts before the detail ("Required value", …).
    fn label(&self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::Duplicate => "Duplicate value",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::NotFound => "Not found",
            Self::Internal => "Internal error",
        }
    }
}

/// One validation failure at a field path such as `spec.containers[0].name`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub error_type: FieldErrorType,
    /// Dotted path with `[i]` indices and `[key]` map keys, as kube's `field.Path` prints it.
    pub field: String,
    /// The offending value, when the error type shows one.
    pub value: Option<Value>,
    /// Free text after the value.
    pub detail: String,
}

/// The errors of one validation pass; empty means valid.
pub type FieldErrors = Vec<FieldError>;

impl FieldError {
    /// `<field>: Required value[: detail]`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Required, field, None, detail)
    }

    /// `<field>: Invalid value: <value>: detail`.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(FieldErrorType::Invalid, field, Some(value.into()), detail)
    }

    /// `<field>: Unsupported value: <value>: supported values: "a", "b"`.
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Into<Value>,
        supported: &[&str],
    ) -> Self {
        let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let detail = if quoted.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(
            FieldErrorType::NotSupported,
            field,
            Some(value.into()),
            detail,
        )
    }

    /// `<field>: Forbidden: detail`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Forbidden, field, None, detail)
    }

    /// `<field>: Duplicate value: <value>`.
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::Duplicate, field, Some(value.into()), "")
    }

    /// `<field>: Too long: may not be more than N bytes`.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            FieldErrorType::TooLong,
            field,
            None,
            format!("may not be more than {max} bytes"),
        )
    }

    /// `<field>: Not found: <value>`.
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::NotFound, field, Some(value.into()), "")
    }

    /// Any type with an explicit value and detail.
    pub fn new(
        error_type: FieldErrorType,
        field: impl Into<String>,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            error_type,
            field: field.into(),
            value,
            detail: detail.into(),
        }
    }

    /// The text after `<field>: `, which kube puts in a Status cause's `message`.
    pub fn body(&self) -> String {
        let mut s = self.error_type.label().to_string();
        let shows_value = matches!(
            self.error_type,
            FieldErrorType::Invalid
                | FieldErrorType::NotSupported
                | FieldErrorType::Duplicate
                | FieldErrorType::NotFound
        );
        if shows_value && let Some(v) = &self.value {
            s.push_str(": ");
            s.push_str(&render_value(v));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Values print as Go's `%#v` would for the common cases: strings quoted, numbers bare, null as
/// `"null"`.
fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "\"null\"".to_string(),
        other => other.to_string(),
    }
}

/// Builds field paths the way kube's `field.Path` prints them.
///
/// ```
/// use capstan::api::field::Path;
/// let p = Path::new("spec").child("containers").index(0).child("name");
/// assert_eq!(p.to_string(), "spec.containers[0].name");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    /// A root path segment.
    pub fn new(root: &str) -> Self {
        Self(root.to_string())
    }

    /// `parent.name`.
    #[must_use]
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_string())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    /// `parent[i]`.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    /// `parent[key]`.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        Self(format!("{}[{key}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Path> for String {
    fn from(p: Path) -> String {
        p.0
    }
}

impl From<&Path> for String {
    fn from(p: &Path) -> String {
        p.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_kube_text() {
        assert_eq!(
            FieldError::required("spec.containers", "").to_string(),
            "spec.containers: Required value"
        );
        assert_eq!(
            FieldError::invalid("metadata.name", "Bad_Name", "a lowercase thing").to_string(),
            "metadata.name: Invalid value: \"Bad_Name\": a lowercase thing"
        );
        assert_eq!(
            FieldError::not_supported("spec.restartPolicy", "Sometimes", &["Always", "Never"])
                .body(),
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\""
        );
        assert_eq!(
            FieldError::forbidden("spec", "pod updates may not change fields").body(),
            "Forbidden: pod updates may not change fields"
        );
    }
}
