//! Comparing, merging and pruning typed values (structured-merge-diff's `Compare`, `Merge` and
//! `RemoveItems`), over the atoms of [`typed`](super::typed).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Map, Value};

use super::fieldpath::{FieldPath, FieldSet, PathElement};
use super::typed::{Atom, ListRel, Node, item_element};

/// What changed between two values, as sets of paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    pub(crate) removed: FieldSet,
    pub(crate) modified: FieldSet,
    pub(crate) added: FieldSet,
}

impl Comparison {
    /// Drops reset fields (and everything below them) from all three sets.
    pub(crate) fn exclude(self, reset: &FieldSet) -> Self {
        if reset.is_empty() {
            return self;
        }
        Self {
            removed: self.removed.recursive_difference(reset),
            modified: self.modified.recursive_difference(reset),
            added: self.added.recursive_difference(reset),
        }
    }
}

/// Compares `lhs` (before) with `rhs` (after), as structured-merge-diff does: a container
/// missing on the left is itself added (at every depth), one missing on the right removed; a
/// `null` counts as present (kube compares Go objects, where a non-`omitempty` list left nil is
/// written as `null`: `containers: null` in the empty Pod a create is compared against, so the
/// create does not add `containers` itself).
pub(crate) fn compare(lhs: &Value, rhs: &Value, node: Node<'_>) -> Comparison {
    let mut c = Comparison::default();
    compare_walk(Some(lhs), Some(rhs), node, &mut Vec::new(), &mut c);
    c
}

fn compare_walk(
    l: Option<&Value>,
    r: Option<&Value>,
    node: Node<'_>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) {
    // A null takes the form of the other side (structured-merge-diff's wildcard).
    let (lv, rv) = (l.filter(|v| !v.is_null()), r.filter(|v| !v.is_null()));
    let (la, ra) = (
        lv.map(|v| node.atom(Some(v))),
        rv.map(|v| node.atom(Some(v))),
    );
    let atom = ra.or(la).unwrap_or(Atom::Scalar);
    if let (Some(la), Some(ra)) = (la, ra)
        && !la.same_kind(&ra)
    {
        // A type change: the position is modified; what was below is gone, what is below now
        // is new.
        c.modified.insert(path);
        compare_children(la, lv, None, path, c);
        compare_children(ra, None, rv, path, c);
        return;
    }
    if is_leaf(&atom, lv, rv) {
        match (l, r) {
            (None, None) => {}
            (None, _) => c.added.insert(path),
            (_, None) => c.removed.insert(path),
            (Some(a), Some(b)) if a != b => c.modified.insert(path),
            _ => {}
        }
        return;
    }
    compare_children(atom, lv, rv, path, c);
    match (l, r) {
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        _ => {}
    }
}

/// Atomic lists and maps, scalars, and containers empty on both sides are compared whole.
fn is_leaf(atom: &Atom<'_>, l: Option<&Value>, r: Option<&Value>) -> bool {
    let empty = |v: Option<&Value>| match v {
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(m)) => m.is_empty(),
        _ => true,
    };
    match atom {
        Atom::Scalar => true,
        Atom::List { rel, .. } => {
            matches!(rel, ListRel::Atomic)
                || (empty(l.filter(|v| v.is_array())) && empty(r.filter(|v| v.is_array())))
        }
        Atom::Map { atomic, .. } => {
            *atomic || (empty(l.filter(|v| v.is_object())) && empty(r.filter(|v| v.is_object())))
        }
    }
}

fn compare_children(
    atom: Atom<'_>,
    l: Option<&Value>,
    r: Option<&Value>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) {
    match atom {
        Atom::Scalar => {}
        Atom::List { rel, elem } => {
            if matches!(rel, ListRel::Atomic) {
                return;
            }
            let items =
                |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
            compare_list(&items(l), &items(r), rel, elem, path, c);
        }
        Atom::Map { atomic: true, .. } => {}
        Atom::Map { .. } => {
            let (lm, rm) = (l.and_then(Value::as_object), r.and_then(Value::as_object));
            let keys: BTreeSet<&String> = lm
                .into_iter()
                .flat_map(|m| m.keys())
                .chain(rm.into_iter().flat_map(|m| m.keys()))
                .collect();
            for key in keys {
                let (child, _) = Node::child(&atom, key);
                path.push(PathElement::Field(key.clone()));
                compare_walk(
                    lm.and_then(|m| m.get(key)),
                    rm.and_then(|m| m.get(key)),
                    child,
                    path,
                    c,
                );
                path.pop();
            }
        }
    }
}

/// Items are matched by key; items duplicated on a side are compared as a whole.
fn compare_list(
    lhs: &[Value],
    rhs: &[Value],
    rel: ListRel<'_>,
    elem: Node<'_>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) {
    let mut order: Vec<PathElement> = Vec::new();
    let mut lvals: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
    let mut rvals: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
    for item in lhs {
        let Ok(pe) = item_element(rel, elem, item) else {
            continue;
        };
        let entry = lvals.entry(pe.clone()).or_default();
        if entry.is_empty() {
            order.push(pe);
        }
        entry.push(item);
    }
    for item in rhs {
        let Ok(pe) = item_element(rel, elem, item) else {
            continue;
        };
        let entry = rvals.entry(pe.clone()).or_default();
        if entry.is_empty() && !lvals.contains_key(&pe) {
            order.push(pe);
        }
        entry.push(item);
    }
    for pe in order {
        let l = lvals.get(&pe).map(Vec::as_slice).unwrap_or(&[]);
        let r = rvals.get(&pe).map(Vec::as_slice).unwrap_or(&[]);
        path.push(pe);
        match (l.len(), r.len()) {
            (ln, rn) if ln <= 1 && rn <= 1 => {
                compare_walk(l.first().copied(), r.first().copied(), elem, path, c);
            }
            (ln, rn) if ln >= 2 && rn >= 2 => {
                if l != r {
                    c.modified.insert(path);
                }
            }
            (ln, _) if ln >= 2 => {
                if let Some(first) = r.first() {
                    compare_walk(None, Some(first), elem, path, c);
                }
                c.removed.insert(path);
            }
            _ => {
                if let Some(first) = l.first() {
                    compare_walk(Some(first), None, elem, path, c);
                }
                c.added.insert(path);
            }
        }
        path.pop();
    }
}

/// Merges `rhs` (an applied configuration) into `lhs` (the live object): granular maps and
/// associative lists merge, everything else takes the configuration's value.
pub(crate) fn merge(lhs: &Value, rhs: &Value, node: Node<'_>) -> Result<Value, String> {
    let out = merge_walk(Some(lhs), Some(rhs), node, &mut Vec::new())?;
    Ok(out.unwrap_or_else(|| Value::Object(Map::new())))
}

fn merge_walk(
    l: Option<&Value>,
    r: Option<&Value>,
    node: Node<'_>,
    path: &mut Vec<PathElement>,
) -> Result<Option<Value>, String> {
    let Some(atom) = r.or(l).map(|v| node.atom(Some(v))) else {
        return Ok(None);
    };
    // A value of another kind on the left is replaced as a whole.
    let l = l.filter(|v| r.is_none() || node.atom(Some(v)).same_kind(&atom));
    if is_leaf(&atom, l, r) {
        return Ok(r.or(l).cloned());
    }
    match atom {
        Atom::Scalar => Ok(r.or(l).cloned()),
        Atom::List { rel, elem } => {
            let items =
                |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
            merge_list(&items(l), &items(r), rel, elem, path)
        }
        Atom::Map { .. } => {
            let (lm, rm) = (l.and_then(Value::as_object), r.and_then(Value::as_object));
            let keys: BTreeSet<&String> = lm
                .into_iter()
                .flat_map(|m| m.keys())
                .chain(rm.into_iter().flat_map(|m| m.keys()))
                .collect();
            let mut out = Map::new();
            for key in keys {
                let (child, _) = Node::child(&atom, key);
                path.push(PathElement::Field(key.clone()));
                let merged = merge_walk(
                    lm.and_then(|m| m.get(key)),
                    rm.and_then(|m| m.get(key)),
                    child,
                    path,
                )?;
                path.pop();
                if let Some(v) = merged {
                    out.insert(key.clone(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
    }
}

/// Associative list merge, keeping structured-merge-diff's order: the configuration's order for
/// its items, live-only items where they were relative to the shared ones.
fn merge_list(
    lhs: &[Value],
    rhs: &[Value],
    rel: ListRel<'_>,
    elem: Node<'_>,
    path: &mut Vec<PathElement>,
) -> Result<Option<Value>, String> {
    let mut errs = Vec::new();
    let mut rhs_pes = Vec::with_capacity(rhs.len());
    let mut observed_rhs: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for (i, item) in rhs.iter().enumerate() {
        match item_element(rel, elem, item) {
            Err(e) => errs.push(format!("element {i}: {e}")),
            Ok(pe) if observed_rhs.contains_key(&pe) => {
                errs.push(format!("duplicate entries for key {pe}"));
            }
            Ok(pe) => {
                observed_rhs.insert(pe.clone(), item);
                rhs_pes.push(pe);
            }
        }
    }
    let mut lhs_pes = Vec::with_capacity(lhs.len());
    // Live objects may hold duplicates; those merge as if absent.
    let mut observed_lhs: BTreeMap<PathElement, Option<&Value>> = BTreeMap::new();
    for (i, item) in lhs.iter().enumerate() {
        match item_element(rel, elem, item) {
            Err(e) => errs.push(format!("element {i}: {e}")),
            Ok(pe) => {
                observed_lhs
                    .entry(pe.clone())
                    .and_modify(|v| *v = None)
                    .or_insert(Some(item));
                lhs_pes.push(pe);
            }
        }
    }
    if !errs.is_empty() {
        let at = FieldPath(path.clone()).to_string();
        return Err(errs
            .iter()
            .map(|e| format!("{at}: {e}"))
            .collect::<Vec<_>>()
            .join("; "));
    }

    let mut shared: VecDeque<&PathElement> = rhs_pes
        .iter()
        .filter(|pe| observed_lhs.contains_key(*pe))
        .collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: BTreeSet<&PathElement> = BTreeSet::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (mut li, mut ri) = (0, 0);
    let mut item =
        |l: Option<&Value>, r: Option<&Value>, pe: &PathElement, out: &mut Vec<Value>| {
            path.push(pe.clone());
            let merged = merge_walk(l, r, elem, path);
            path.pop();
            merged.map(|m| out.extend(m))
        };
    while li < lhs_pes.len() || ri < rhs_pes.len() {
        if li < lhs_pes.len() && ri < rhs_pes.len() {
            let pe = &lhs_pes[li];
            if *pe == rhs_pes[ri] {
                merged_rhs.insert(&rhs_pes[ri]);
                let l = observed_lhs.get(pe).copied().flatten();
                item(l, observed_rhs.get(pe).copied(), pe, &mut out)?;
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if observed_rhs.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs_pes.len() {
            let pe = &lhs_pes[li];
            if !observed_rhs.contains_key(pe) {
                item(Some(&lhs[li]), None, pe, &mut out)?;
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < rhs_pes.len() {
            let pe = &rhs_pes[ri];
            merged_rhs.insert(pe);
            let l = observed_lhs.get(pe).copied().flatten();
            item(l, observed_rhs.get(pe).copied(), pe, &mut out)?;
            ri += 1;
            if next_shared == Some(pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// Removes the paths of `set` from `value`. A container left empty becomes `null` (kept, as
/// structured-merge-diff keeps it, so later set arithmetic sees the field; nulls are dropped
/// from the final object).
pub(crate) fn remove_items(value: &Value, set: &FieldSet, node: Node<'_>) -> Value {
    match node.atom(Some(value)) {
        Atom::Scalar => value.clone(),
        Atom::List { rel, elem } => {
            let Value::Array(items) = value else {
                return value.clone();
            };
            if items.is_empty() || matches!(rel, ListRel::Atomic) {
                return Value::Null;
            }
            let mut kept = Vec::with_capacity(items.len());
            for item in items {
                match item_element(rel, elem, item) {
                    Ok(pe) if set.has_member(&pe) => {}
                    Ok(pe) => match set.with_prefix(&pe) {
                        Some(sub) => kept.push(remove_items(item, sub, elem)),
                        None => kept.push(item.clone()),
                    },
                    Err(_) => kept.push(item.clone()),
                }
            }
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Array(kept)
            }
        }
        atom @ Atom::Map { atomic, .. } => {
            let Value::Object(map) = value else {
                return value.clone();
            };
            if map.is_empty() || atomic {
                return Value::Null;
            }
            let mut kept = Map::new();
            for (key, val) in map {
                let pe = PathElement::Field(key.clone());
                if set.has_member(&pe) {
                    continue;
                }
                let v = match set.with_prefix(&pe) {
                    Some(sub) => remove_items(val, sub, Node::child(&atom, key).0),
                    None => val.clone(),
                };
                kept.insert(key.clone(), v);
            }
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Object(kept)
            }
        }
    }
}

/// Drops `null` map entries everywhere: kube's typed objects cannot hold them.
pub(crate) fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::patch::test_schema::pod_model;

    fn paths(set: &FieldSet) -> Vec<String> {
        set.paths().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn compare_reports_leaves_and_items() {
        let model = pod_model();
        let root = Node::root(model.for_kind("", "v1", "Pod").unwrap());
        let before = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}});
        let after = json!({"metadata": {"labels": {"k": "v"}},
                           "spec": {"containers": [{"name": "a", "image": "y"}, {"name": "c"}]}});
        let c = compare(&before, &after, root);
        assert_eq!(paths(&c.modified), [".spec.containers[name=\"a\"].image"]);
        assert_eq!(
            paths(&c.removed),
            [
                ".spec.containers[name=\"b\"]",
                ".spec.containers[name=\"b\"].name"
            ]
        );
        assert_eq!(
            paths(&c.added),
            [
                // missing before: the struct itself is added, as structured-merge-diff says
                ".metadata",
                ".metadata.labels",
                ".metadata.labels.k",
                ".spec.containers[name=\"c\"]",
                ".spec.containers[name=\"c\"].name"
            ]
        );
    }

    #[test]
    fn compare_counts_null_as_present() {
        let model = pod_model();
        let root = Node::root(model.for_kind("", "v1", "Pod").unwrap());
        let before = json!({"spec": {"containers": null, "nodeName": null}});
        let after = json!({"spec": {"containers": [{"name": "a"}], "nodeName": "n"}});
        let c = compare(&before, &after, root);
        // the list was there (as null): only its new item is added, with what is below it
        assert_eq!(
            paths(&c.added),
            [
                ".spec.containers[name=\"a\"]",
                ".spec.containers[name=\"a\"].name"
            ]
        );
        assert_eq!(paths(&c.modified), [".spec.nodeName"]);
        let back = compare(&after, &before, root);
        assert_eq!(
            paths(&back.removed),
            [
                ".spec.containers[name=\"a\"]",
                ".spec.containers[name=\"a\"].name"
            ]
        );
        assert_eq!(paths(&back.modified), [".spec.nodeName"]);
    }

    #[test]
    fn merge_keeps_live_only_items_in_place() {
        let model = pod_model();
        let root = Node::root(model.for_kind("", "v1", "Pod").unwrap());
        let live = json!({"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "x"}, {"name": "b"}, {"name": "y"}
        ], "tolerations": [{"key": "t"}]}});
        let config = json!({"spec": {"containers": [
            {"name": "b", "image": "2"}, {"name": "a"}, {"name": "new"}
        ], "tolerations": [{"key": "u"}]}});
        let out = merge(&live, &config, root).unwrap();
        let names: Vec<&str> = out["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        // The configuration's order for its items; live-only items stay after the shared item
        // they followed (structured-merge-diff's interleave).
        assert_eq!(names, ["x", "b", "y", "a", "new"]);
        assert_eq!(out["spec"]["containers"][3]["image"], "1");
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "u"}]));
    }

    #[test]
    fn remove_items_nulls_emptied_containers() {
        let model = pod_model();
        let root = Node::root(model.for_kind("", "v1", "Pod").unwrap());
        let v = json!({"metadata": {"labels": {"a": "1"}, "name": "p"}});
        let mut set = FieldSet::new();
        set.insert(&[
            PathElement::Field("metadata".into()),
            PathElement::Field("labels".into()),
            PathElement::Field("a".into()),
        ]);
        let out = remove_items(&v, &set, root);
        assert_eq!(out, json!({"metadata": {"labels": null, "name": "p"}}));
    }
}
