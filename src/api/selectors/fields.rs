//! Field selector strings (`metadata.name=x,status.phase!=Running`).

use std::collections::BTreeMap;

/// `=`/`==` or `!=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldOp {
    Equals,
    NotEquals,
}

/// One `field op value` term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub op: FieldOp,
    pub value: String,
}

/// A parsed field selector; the default selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses kube's field selector syntax (with `\,` `\=` `\\` escapes).
    pub fn parse(_s: &str) -> Result<Self, String> {
        todo!("field selector parser")
    }

    /// Whether every requirement holds on the object's selectable fields. A field missing from
    /// `fields` counts as the empty string, as in kube.
    pub fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = fields.get(&r.field).map(String::as_str).unwrap_or("");
            match r.op {
                FieldOp::Equals => actual == r.value,
                FieldOp::NotEquals => actual != r.value,
            }
        })
    }

    /// The value required by an `=` term on `field`, if any (`metadata.name=x` narrows a list).
    pub fn required_value(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.op == FieldOp::Equals)
            .map(|r| r.value.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}
