//! Field paths and sets of them, as structured-merge-diff names parts of an object, and their
//! `FieldsV1` encoding in `metadata.managedFields`.
//!
//! A [`PathElement`] is a struct field or map key (`f:name`), an associative-list item named by its
//! key fields (`k:{"name":"main"}`), a set item named by its value (`v:"x"`), or a list index
//! (`i:0`, never produced for the schemas we serve). A [`FieldSet`] is a trie of them: each node
//! has members (paths that end here) and children. Ordering, `Display` and the JSON encoding match
//! sigs.k8s.io/structured-merge-diff/fieldpath so that managedFields and conflict messages read the
//! same as kube's.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use super::go_fmt::{go_float, go_quote};

/// One step into an object.
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A struct field or map key.
    Field(String),
    /// An associative-list item, by its key fields (sorted by name).
    Key(Vec<(String, Value)>),
    /// A set item, by its value.
    Value(Value),
    /// A list position (atomic lists are never entered, so only decoded, never produced).
    Index(usize),
}

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            Self::Field(_) => 0,
            Self::Key(_) => 1,
            Self::Value(_) => 2,
            Self::Index(_) => 3,
        }
    }

    /// The `FieldsV1` key: `f:name`, `k:{...}`, `v:<json>` or `i:<n>`.
    pub fn to_fields_key(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(fields) => {
                let map: Map<String, Value> = fields.iter().cloned().collect();
                format!("k:{}", Value::Object(map))
            }
            Self::Value(v) => format!("v:{v}"),
            Self::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key; `Ok(None)` for an unknown element type (skipped, as kube does).
    pub fn from_fields_key(key: &str) -> Result<Option<Self>, String> {
        let b = key.as_bytes();
        if b.len() < 2 {
            return Err(format!("key must be 2 characters long: {key}"));
        }
        if b[1] != b':' {
            return Err(format!("missing colon: {key}"));
        }
        let rest = &key[2..];
        Ok(Some(match b[0] {
            b'f' => Self::Field(rest.to_string()),
            b'v' => Self::Value(serde_json::from_str(rest).map_err(|e| e.to_string())?),
            b'k' => {
                let map: Map<String, Value> =
                    serde_json::from_str(rest).map_err(|e| e.to_string())?;
                Self::Key(map.into_iter().collect())
            }
            b'i' => Self::Index(rest.parse().map_err(|e| format!("{e}"))?),
            _ => return Ok(None),
        }))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    /// Fields before keys before values before indexes, as structured-merge-diff orders them.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Field(a), Self::Field(b)) => a.cmp(b),
            (Self::Key(a), Self::Key(b)) => compare_field_lists(a, b),
            (Self::Value(a), Self::Value(b)) => compare_values(a, b),
            (Self::Index(a), Self::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl fmt::Display for PathElement {
    /// `.name`, `[name="main"]`, `[="x"]`, `[0]`: the form kube prints in conflict messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => write!(f, ".{name}"),
            Self::Key(fields) => {
                f.write_str("[")?;
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{name}={}", value_to_string(v))?;
                }
                f.write_str("]")
            }
            Self::Value(v) => write!(f, "[={}]", value_to_string(v)),
            Self::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// structured-merge-diff's `value.ToString`: strings quoted, numbers and booleans bare.
fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => match n.as_u64() {
                Some(u) => u.to_string(),
                None => go_float(n.as_f64().unwrap_or(0.0)),
            },
        },
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_to_string).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", value_to_string(v)))
            .collect(),
    }
}

fn compare_field_lists(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for ((an, av), (bn, bv)) in a.iter().zip(b) {
        let c = an.cmp(bn).then_with(|| compare_values(av, bv));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// structured-merge-diff's value ordering: numbers (compared numerically), strings, booleans,
/// lists, maps, null.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => {
                let (f, g) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                f.partial_cmp(&g).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let c = compare_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            for ((pk, pv), (qk, qv)) in x.iter().zip(y) {
                let c = pk.cmp(qk).then_with(|| compare_values(pv, qv));
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A sequence of elements from the object's root.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<PathElement>);

impl FieldPath {
    /// A path of struct fields only, e.g. `["metadata", "labels"]` (how reset fields are named).
    pub fn fields(names: &[&str]) -> Self {
        Self(
            names
                .iter()
                .map(|n| PathElement::Field((*n).to_string()))
                .collect(),
        )
    }
}

impl fmt::Display for FieldPath {
    /// `.spec.containers[name="main"].image`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            write!(f, "{pe}")?;
        }
        Ok(())
    }
}

/// A set of field paths, stored as a trie.
///
/// Nodes with nothing below are pruned by every operation, so structural equality is set
/// equality.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of struct-field paths, e.g. reset fields `[["status"]]`.
    pub fn from_field_paths(paths: &[&[&str]]) -> Self {
        let mut set = Self::new();
        for p in paths {
            set.insert(&FieldPath::fields(p).0);
        }
        set
    }

    /// Whether the set has no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds a path (the empty path is ignored, as in structured-merge-diff).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// The paths below `pe` (relative to it).
    pub fn with_prefix(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe).filter(|c| !c.is_empty())
    }

    /// Whether `pe` is a member of this node.
    pub fn has_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    /// Members and child nodes of this node, for walkers.
    pub(crate) fn parts(&self) -> (&BTreeSet<PathElement>, &BTreeMap<PathElement, FieldSet>) {
        (&self.members, &self.children)
    }

    pub(crate) fn add_member(&mut self, pe: PathElement) {
        self.members.insert(pe);
    }

    /// Child node for `pe`, created if needed (pruned again by the next set operation).
    pub(crate) fn child_mut(&mut self, pe: PathElement) -> &mut FieldSet {
        self.children.entry(pe).or_default()
    }

    /// Drops empty child nodes.
    pub(crate) fn prune(mut self) -> Self {
        self.children = self
            .children
            .into_iter()
            .map(|(k, v)| (k, v.prune()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        self
    }

    /// Every path in the set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out.prune()
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, c)| {
                let o = other.children.get(pe)?;
                let i = c.intersection(o);
                (!i.is_empty()).then(|| (pe.clone(), i))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Paths of `self` that are not paths of `other` (a member of `other` removes only that
    /// path, not what lies below it).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, c)| {
                let d = match other.children.get(pe) {
                    Some(o) => c.difference(o),
                    None => c.clone(),
                };
                (!d.is_empty()).then(|| (pe.clone(), d))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Like [`difference`](Self::difference), but a member of `other` also removes everything
    /// below it (how reset fields exclude whole subtrees).
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter(|(pe, _)| !other.members.contains(*pe))
            .filter_map(|(pe, c)| {
                let d = match other.children.get(pe) {
                    Some(o) => c.recursive_difference(o),
                    None => c.clone(),
                };
                (!d.is_empty()).then(|| (pe.clone(), d))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Every path, in order (members of a node before the paths of its children).
    pub fn paths(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<FieldPath>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(FieldPath(p));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The `FieldsV1` JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.encode(false))
    }

    fn encode(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !self.is_empty() {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        for m in &self.members {
            if self.children.get(m).is_none_or(|c| c.is_empty()) {
                out.insert(m.to_fields_key(), Value::Object(Map::new()));
            }
        }
        for (pe, child) in &self.children {
            if child.is_empty() {
                continue;
            }
            let is_member = self.members.contains(pe);
            out.insert(pe.to_fields_key(), Value::Object(child.encode(is_member)));
        }
        out
    }

    /// Decodes `FieldsV1` JSON.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        let Value::Object(map) = v else {
            return Err(format!("expected an object, got {v}"));
        };
        let (set, _) = Self::decode(map)?;
        Ok(set.prune())
    }

    /// Returns the set below a node and whether the node itself is a member.
    fn decode(map: &Map<String, Value>) -> Result<(FieldSet, bool), String> {
        let mut set = FieldSet::new();
        let mut is_member = false;
        let mut has_children = false;
        for (key, value) in map {
            if key == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::from_fields_key(key)
                .map_err(|e| format!("parsing key as path element: {e}"))?
            else {
                continue;
            };
            let Value::Object(inner) = value else {
                return Err(format!("expected an object for {key}"));
            };
            let (grandchildren, child_is_member) = Self::decode(inner)?;
            has_children = true;
            if child_is_member {
                set.members.insert(pe.clone());
            }
            if !grandchildren.is_empty() {
                set.children.insert(pe, grandchildren);
            }
        }
        // A node with nothing below is a member (`"f:x": {}`).
        if !has_children {
            is_member = true;
        }
        Ok((set, is_member))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    fn key(name: &str, v: Value) -> PathElement {
        PathElement::Key(vec![(name.into(), v)])
    }

    #[test]
    fn fields_v1_round_trip_with_self_markers() {
        let mut set = FieldSet::new();
        set.insert(&[f("metadata"), f("labels")]);
        set.insert(&[f("metadata"), f("labels"), f("app")]);
        let c = key("name", json!("main"));
        set.insert(&[f("spec"), f("containers"), c.clone()]);
        set.insert(&[f("spec"), f("containers"), c, f("image")]);
        set.insert(&[
            f("metadata"),
            f("finalizers"),
            PathElement::Value(json!("x")),
        ]);
        let encoded = set.to_fields_v1();
        assert_eq!(
            encoded,
            json!({
                "f:metadata": {
                    "f:finalizers": {"v:\"x\"": {}},
                    "f:labels": {".": {}, "f:app": {}}
                },
                "f:spec": {"f:containers": {"k:{\"name\":\"main\"}": {".": {}, "f:image": {}}}}
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&encoded).unwrap(), set);
    }

    #[test]
    fn multi_key_items_encode_sorted_and_print_like_kube() {
        let pe = PathElement::Key(vec![
            ("containerPort".into(), json!(80)),
            ("protocol".into(), json!("TCP")),
        ]);
        assert_eq!(
            pe.to_fields_key(),
            r#"k:{"containerPort":80,"protocol":"TCP"}"#
        );
        let path = FieldPath(vec![
            f("spec"),
            f("containers"),
            key("name", json!("main")),
            f("ports"),
            pe,
        ]);
        assert_eq!(
            path.to_string(),
            r#".spec.containers[name="main"].ports[containerPort=80,protocol="TCP"]"#
        );
        let decoded =
            PathElement::from_fields_key(r#"k:{"protocol":"TCP","containerPort":80}"#).unwrap();
        assert_eq!(decoded, Some(path.0[4].clone()));
    }

    #[test]
    fn difference_is_shallow_recursive_difference_is_not() {
        let mut a = FieldSet::new();
        a.insert(&[f("status")]);
        a.insert(&[f("status"), f("phase")]);
        a.insert(&[f("spec"), f("x")]);
        let reset = FieldSet::from_field_paths(&[&["status"]]);
        let shallow = a.difference(&reset);
        assert!(shallow.has(&[f("status"), f("phase")]));
        assert!(!shallow.has(&[f("status")]));
        let deep = a.recursive_difference(&reset);
        assert!(!deep.has(&[f("status"), f("phase")]));
        assert!(deep.has(&[f("spec"), f("x")]));
    }

    #[test]
    fn element_order_matches_structured_merge_diff() {
        let mut v = [
            PathElement::Index(0),
            PathElement::Value(json!("a")),
            key("name", json!("b")),
            f("z"),
            PathElement::Value(json!(10)),
            PathElement::Value(json!(9)),
        ];
        v.sort();
        let shown: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [".z", "[name=\"b\"]", "[=9]", "[=10]", "[=\"a\"]", "[0]"]
        );
    }

    #[test]
    fn unknown_element_types_are_skipped_and_bad_keys_rejected() {
        let set = FieldSet::from_fields_v1(&json!({"x:y": {}, "f:a": {}})).unwrap();
        assert!(set.has(&[f("a")]));
        assert!(FieldSet::from_fields_v1(&json!({"fa": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"k:notjson": {}})).is_err());
    }
}
