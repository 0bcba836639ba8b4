//! Field selector strings (`metadata.name=x,status.phase!=Running`).
//!
//! The grammar is apimachinery's `fields.ParseSelector`: terms split on unescaped commas, each
//! term split at its first `!=`, `==` or `=`, values unescaped (`\,` `\=` `\\`).

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
    /// Parses kube's field selector syntax (with `\,` `\=` `\\` escapes); errors carry kube's text
    /// and suit a 400 BadRequest.
    ///
    /// ```
    /// use capstan::api::selectors::fields::{FieldOp, FieldSelector};
    /// let sel = FieldSelector::parse(r"metadata.name=a\,b,status.phase!=Running").unwrap();
    /// assert_eq!(sel.required_value("metadata.name"), Some("a,b"));
    /// assert_eq!(sel.requirements.len(), 2);
    /// assert!(FieldSelector::parse("nonsense").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut terms = split_terms(s);
        terms.sort_unstable();
        let mut requirements = Vec::new();
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let Some((field, op, raw)) = split_term(term) else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                ));
            };
            let value = unescape_value(raw)?;
            requirements.push(FieldRequirement {
                field: field.to_string(),
                op,
                value,
            });
        }
        Ok(Self { requirements })
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

    /// Whether this selects everything (no terms).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// Splits on commas not preceded by a backslash; escapes stay in the terms.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// The field, operator and raw value of one term, split at the first operator found.
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (token, op) in [
            ("!=", FieldOp::NotEquals),
            ("==", FieldOp::Equals),
            ("=", FieldOp::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(token) {
                return Some((&term[..i], op, value));
            }
        }
    }
    None
}

/// Undoes `\,` `\=` `\\`; any other escape, or a bare `,` or `=`, is an error (kube's texts; the
/// bare character prints as its code point, as Go's `%v` of a rune does).
fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                other => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{other}"
                    ));
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    u32::from(c)
                ));
            }
            other => out.push(other),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(field: &str, op: FieldOp, value: &str) -> FieldRequirement {
        FieldRequirement {
            field: field.into(),
            op,
            value: value.into(),
        }
    }

    #[test]
    fn parses_all_operators() {
        let sel = FieldSelector::parse("a=1,b==2,c!=3").unwrap();
        assert_eq!(
            sel.requirements,
            vec![
                req("a", FieldOp::Equals, "1"),
                req("b", FieldOp::Equals, "2"),
                req("c", FieldOp::NotEquals, "3")
            ]
        );
    }

    #[test]
    fn empty_terms_and_values() {
        assert!(FieldSelector::parse("").unwrap().is_empty());
        assert!(FieldSelector::parse(",,").unwrap().is_empty());
        assert_eq!(
            FieldSelector::parse("a=").unwrap().requirements,
            vec![req("a", FieldOp::Equals, "")]
        );
    }

    #[test]
    fn escapes() {
        let sel = FieldSelector::parse(r"a=x\,y\=z\\w").unwrap();
        assert_eq!(
            sel.requirements,
            vec![req("a", FieldOp::Equals, r"x,y=z\w")]
        );
        // `=` inside the value must be escaped; the first operator splits the term.
        assert_eq!(
            FieldSelector::parse("a==b=c").unwrap_err(),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            FieldSelector::parse(r"a=b\n").unwrap_err(),
            r"invalid field selector: invalid escape sequence: \n"
        );
        assert_eq!(
            FieldSelector::parse(r"a=b\").unwrap_err(),
            r"invalid field selector: invalid escape sequence: \"
        );
    }

    #[test]
    fn a_term_without_operator_is_refused() {
        assert_eq!(
            FieldSelector::parse("a=1,b").unwrap_err(),
            "invalid selector: 'a=1,b'; can't understand 'b'"
        );
    }

    #[test]
    fn matching_treats_missing_fields_as_empty() {
        let fields = BTreeMap::from([("metadata.name".to_string(), "web".to_string())]);
        assert!(
            FieldSelector::parse("metadata.name=web")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=web")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            FieldSelector::parse("spec.nodeName=")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            !FieldSelector::parse("spec.nodeName=n1")
                .unwrap()
                .matches(&fields)
        );
    }
}
