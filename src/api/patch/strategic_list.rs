//! Merging lists in a strategic merge patch: by merge key (lists of maps), as sets (lists of
//! primitives), list directives, and the order of the result.
//!
//! Order follows kube: items named in the patch take the patch's relative order, items only on
//! the server keep the server's relative order, and the two are interleaved by the server order
//! where both are known.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::go_fmt::go_value;
use super::strategic::{
    DIRECTIVE, FieldMeta, PatchError, Schema, clean_list, clean_value, merge_map, no_merge_key,
};

/// What a merging list holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Map,
    Scalar,
}

/// The common element kind of the lists (kube's `sliceElementType`); `None` if all are empty.
pub(super) fn slice_kind(slices: &[&[Value]]) -> Result<Option<Kind>, PatchError> {
    let mut prev: Option<&'static str> = None;
    for v in slices.iter().flat_map(|s| s.iter()) {
        let t = super::go_fmt::go_type(v);
        match prev {
            None => {
                if v.is_array() {
                    return Err(PatchError::Unprocessable(
                        "lists of lists are not supported".into(),
                    ));
                }
                prev = Some(t);
            }
            Some(p) if p != t => {
                let all: Vec<Value> = slices.iter().map(|s| Value::Array(s.to_vec())).collect();
                return Err(PatchError::Internal(format!(
                    "list element types are not identical: {}",
                    go_value(&Value::Array(all))
                )));
            }
            Some(_) => {}
        }
    }
    Ok(prev.map(|t| {
        if t == "map[string]interface {}" {
            Kind::Map
        } else {
            Kind::Scalar
        }
    }))
}

/// kube's `mergeSlice`: merges `patch` into `original` for a list with merge strategy (or a
/// `$deleteFromPrimitiveList` deletion list).
pub(super) fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta<'_>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let Some(kind) = slice_kind(&[&original, &patch])? else {
        return Ok(original);
    };
    let merge_key = meta.merge_key.unwrap_or("");
    let (original, patch, merged) = if kind == Kind::Scalar {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        (original, patch, merged)
    } else {
        if merge_key.is_empty() {
            return Err(PatchError::Internal(format!(
                "cannot merge lists without merge key for {}",
                meta.schema.name()
            )));
        }
        let (original, patch) = merge_special_elements(original, patch, merge_key)?;
        let merged = merge_plain_elements(original.clone(), &patch, merge_key, meta.schema)?;
        (original, patch, merged)
    };
    let (in_patch, server_only) = partition(merged, &patch, merge_key)?;
    normalize_element_order(in_patch, server_only, &patch, &original, merge_key, kind)
}

/// Handles `$patch` items: `delete` removes matching items from `original`, `replace` makes the
/// rest of the patch the whole list. Returns the new original and the patch without them.
fn merge_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Some(directive) = v.as_object().and_then(|m| m.get(DIRECTIVE)) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(key_value) = v.get(merge_key) else {
                    return Err(no_merge_key(&v, merge_key));
                };
                let mut kept = Vec::with_capacity(original.len());
                for (i, item) in original.into_iter().enumerate() {
                    let Value::Object(m) = &item else {
                        return Err(not_a_map(i));
                    };
                    if m.get(merge_key) != Some(key_value) {
                        kept.push(item);
                    }
                }
                original = kept;
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(PatchError::Internal(
                    "merging lists cannot yet be specified in the patch".into(),
                ));
            }
            _ => {
                let map = v.as_object().cloned().unwrap_or_default();
                return Err(PatchError::Internal(format!(
                    "unknown patch type: {} in map: {}",
                    go_value(directive),
                    go_value(&Value::Object(map))
                )));
            }
        }
    }
    if replace {
        return Ok((clean_list(plain), Vec::new()));
    }
    Ok((original, plain))
}

fn not_a_map(index: usize) -> PatchError {
    PatchError::Internal(format!("value for key {index} is not a map"))
}

/// The index of the item of `list` whose `key` equals `value` (all items must be maps).
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, PatchError> {
    for (i, item) in list.iter().enumerate() {
        let Value::Object(m) = item else {
            return Err(not_a_map(i));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Merges each patch item into the original item with the same merge key, or appends it.
fn merge_plain_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    schema: Schema<'_>,
) -> Result<Vec<Value>, PatchError> {
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(no_merge_key(v, merge_key));
        };
        let Some(key_value) = m.get(merge_key) else {
            return Err(no_merge_key(v, merge_key));
        };
        match find_by_key(&original, merge_key, key_value)? {
            Some(i) => {
                let orig = match std::mem::take(&mut original[i]) {
                    Value::Object(o) => o,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(orig, m.clone(), schema)?);
            }
            None => {
                if let Some(v) = clean_value(v.clone()) {
                    original.push(v);
                }
            }
        }
    }
    Ok(original)
}

/// Splits `items` into those named in `by` and the rest.
pub(super) fn partition(
    items: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut in_by = Vec::with_capacity(items.len());
    let mut rest = Vec::with_capacity(items.len());
    for v in items {
        let found = if merge_key.is_empty() {
            by.contains(&v)
        } else {
            let Some(m) = v.as_object() else {
                return Err(PatchError::Internal(format!(
                    "expected a map[string]interface {{}}, but received a {}",
                    super::go_fmt::go_type(&v)
                )));
            };
            let Some(key_value) = m.get(merge_key) else {
                return Err(no_merge_key(&v, merge_key));
            };
            find_by_key(by, merge_key, key_value)?.is_some()
        };
        if found {
            in_by.push(v);
        } else {
            rest.push(v);
        }
    }
    Ok((in_by, rest))
}

/// Orders patch items by `patch_order` and server-only items by `server_order`, then
/// interleaves them by the server order.
pub(super) fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = sort_by_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = sort_by_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted(
        server_only,
        patch_items,
        server_order,
        merge_key,
        kind,
    ))
}

/// The identity of an item for ordering: its merge key value (maps) or itself (primitives).
fn identity<'v>(item: &'v Value, merge_key: &str, kind: Kind) -> Option<&'v Value> {
    match kind {
        Kind::Map => item.as_object().and_then(|m| m.get(merge_key)),
        Kind::Scalar => Some(item),
    }
}

fn position(list: &[Value], item: &Value, merge_key: &str, kind: Kind) -> Option<usize> {
    let id = identity(item, merge_key, kind);
    list.iter().position(|v| identity(v, merge_key, kind) == id)
}

fn sort_by_order(
    mut items: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let mut deletions = Vec::new();
    if kind == Kind::Map {
        for v in items.iter().chain(order.iter()) {
            let Some(m) = v.as_object() else {
                return Err(PatchError::Internal(format!(
                    "expected a map[string]interface {{}}, but received a {}",
                    super::go_fmt::go_type(v)
                )));
            };
            if !m.contains_key(merge_key) {
                return Err(no_merge_key(v, merge_key));
            }
        }
        let (keep, delete): (Vec<_>, Vec<_>) = items
            .into_iter()
            .partition(|v| v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"));
        items = keep;
        deletions = delete;
    }
    items.sort_by(|a, b| {
        match (
            position(order, a, merge_key, kind),
            position(order, b, merge_key, kind),
        ) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => Ordering::Equal,
        }
    });
    items.extend(deletions);
    Ok(items)
}

/// Inserts each of `left` (server-only, sorted) into `right` (patch items, sorted) before the
/// first right item that the server order puts after it; relative orders are kept.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    position(server_order, l, merge_key, kind),
                    position(server_order, r, merge_key, kind),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}
