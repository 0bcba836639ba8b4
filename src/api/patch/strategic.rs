//! Strategic merge patch (`application/strategic-merge-patch+json`), after k8s.io/apimachinery
//! `pkg/util/strategicpatch` (apply side only: the server never builds patches).
//!
//! Maps merge recursively and `null` deletes a key. A list whose field has patch strategy `merge`
//! merges by its `patchMergeKey` (lists of maps) or as a set (lists of primitives); other lists are
//! replaced. Directives: `$patch: replace|delete` in a map, `$patch: replace|delete` items in a
//! merging list, `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`.
//! Positions the schema does not describe get JSON merge-patch semantics (maps merge, lists
//! replace), which is what kube's merge would do with no merge metadata.
//!
//! kube decodes the merged map into the Go type afterwards, which silently drops unknown keys and
//! nulls. The result here is a JSON value, so directive keys and nulls that would otherwise
//! survive in newly added values are dropped here instead: the stored object is the same.

use serde_json::{Map, Value};

use super::go_fmt::{go_type, go_value};
use super::strategic_list::{merge_slice, normalize_element_order, partition, slice_kind};
use crate::api::ApiError;
use crate::api::schema::{PatchStrategy, Shape, TypeRef};

pub(super) const DIRECTIVE: &str = "$patch";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const RETAIN_KEYS: &str = "$retainKeys";

/// Why a patch could not be applied; the variant is the HTTP class kube answers with
/// (apiserver `interpretStrategicMergePatchError`: a few format errors are 400, lists of lists
/// are 422, and everything else reaches the client as a plain 500 with the message as is).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// 400: the patch is malformed (bad directive format, not a JSON object).
    #[error("{0}")]
    BadRequest(String),
    /// 422: the patch is well-formed but cannot be applied (lists of lists).
    #[error("{0}")]
    Unprocessable(String),
    /// 500: kube returns these as unstructured errors (missing merge keys, unknown `$patch`
    /// values, mismatched `$setElementOrder`).
    #[error("{0}")]
    Internal(String),
}

impl PatchError {
    /// The HTTP status code kube answers with.
    pub fn code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unprocessable(_) => 422,
            Self::Internal(_) => 500,
        }
    }

    /// The [`ApiError`] kube answers with: 400 as is; 422 is kube's generic "rejected" answer
    /// without the reason ([`ApiError::PatchNotApplicable`]); 500 is passed through unprefixed
    /// and without a reason ([`ApiError::Unknown`]).
    pub fn into_api_error(self) -> ApiError {
        match self {
            Self::BadRequest(m) => ApiError::BadRequest(m),
            Self::Unprocessable(_) => ApiError::PatchNotApplicable,
            Self::Internal(m) => ApiError::Unknown(m),
        }
    }
}

fn bad_arg(expected: &str, actual: &Value) -> PatchError {
    PatchError::Internal(format!(
        "expected a {expected}, but received a {}",
        go_type(actual)
    ))
}

pub(super) fn no_merge_key(item: &Value, key: &str) -> PatchError {
    PatchError::Internal(format!(
        "map: {} does not contain declared merge key: {key}",
        go_value(item)
    ))
}

fn bad_patch_type(t: &Value, map: &Map<String, Value>) -> PatchError {
    PatchError::Internal(format!(
        "unknown patch type: {} in map: {}",
        go_value(t),
        go_value(&Value::Object(map.clone()))
    ))
}

/// A position in the schema: the type there, if the schema describes it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Schema<'a>(pub(super) Option<TypeRef<'a>>);

/// What the schema says about one field of a map position.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FieldMeta<'a> {
    /// The field's type (for lists: the element type, as kube's slice lookup returns it).
    pub(super) schema: Schema<'a>,
    pub(super) merge: bool,
    pub(super) replace: bool,
    pub(super) merge_key: Option<&'a str>,
}

impl<'a> Schema<'a> {
    fn lookup(self, key: &str) -> FieldMeta<'a> {
        let Some(ty) = self.0 else {
            return FieldMeta::default();
        };
        match ty.shape() {
            Shape::Object => match ty.field(key) {
                Some(f) => FieldMeta {
                    schema: Schema(Some(f.ty)),
                    merge: f.ext.patch_strategy.contains(&PatchStrategy::Merge),
                    replace: f.ext.patch_strategy.contains(&PatchStrategy::Replace),
                    merge_key: f.ext.patch_merge_key.as_deref(),
                },
                None => FieldMeta::default(),
            },
            Shape::Map => FieldMeta {
                schema: Schema(ty.values()),
                ..FieldMeta::default()
            },
            _ => FieldMeta::default(),
        }
    }

    fn lookup_slice(self, key: &str) -> FieldMeta<'a> {
        let mut meta = self.lookup(key);
        meta.schema = Schema(meta.schema.0.and_then(|t| t.items()));
        meta
    }

    /// The Go type name kube would print (`Container`), for the no-merge-key error.
    pub(super) fn name(self) -> &'a str {
        self.0
            .map(|t| t.name().rsplit('.').next().unwrap_or(""))
            .unwrap_or("")
    }
}

/// Applies a strategic merge patch to `original` (the current object) for a kind rooted at `ty`.
///
/// kubectl sends these for `apply` (client-side, a three-way patch with `$setElementOrder` and
/// `$retainKeys`), `edit`, `patch` (the default type), `label` and `annotate`.
pub fn strategic_merge(
    original: &Value,
    patch: &Value,
    ty: TypeRef<'_>,
) -> Result<Value, PatchError> {
    let patch = match patch {
        Value::Object(p) => p.clone(),
        Value::Null => return Ok(original.clone()),
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(other)
            )));
        }
    };
    let original = match original {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    merge_map(original, patch, Schema(Some(ty))).map(Value::Object)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// Merges `patch` into `original` (kube's `mergeMap` with `IgnoreUnmatchedNulls` and
/// `MergeParallelList`, the options the apiserver uses).
pub(super) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema<'_>,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                Ok(clean_map(patch))
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, schema)?;

    // Deletion lists run after the other keys so that an item both merged and deleted ends
    // deleted whatever the map order (kube leaves this to Go's random map order).
    let (deletions, others): (Vec<_>, Vec<_>) = patch
        .into_iter()
        .partition(|(k, _)| k.starts_with(DELETE_FROM_PRIMITIVE_LIST));
    for (key, patch_v) in others.into_iter().chain(deletions) {
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            let key = extract_key(&key, DELETE_FROM_PRIMITIVE_LIST).ok_or_else(|| {
                PatchError::BadRequest("invalid patch format of primitive list".into())
            })?;
            (key, true)
        } else {
            (key, false)
        };
        if patch_v.is_null() {
            original.remove(&key);
            continue;
        }
        let Some(orig) = original.remove(&key) else {
            if !is_delete_list && let Some(v) = clean_value(patch_v) {
                original.insert(key, v);
            }
            continue;
        };
        let merged = match (orig, patch_v) {
            (Value::Object(o), Value::Object(p)) => {
                let meta = schema.lookup(&key);
                if meta.replace {
                    Some(Value::Object(clean_map(p)))
                } else {
                    Some(Value::Object(merge_map(o, p, meta.schema)?))
                }
            }
            (Value::Array(o), Value::Array(p)) => {
                let meta = schema.lookup_slice(&key);
                Some(Value::Array(merge_slice_handler(
                    o,
                    p,
                    meta,
                    is_delete_list,
                )?))
            }
            (orig, _) if is_delete_list => Some(orig),
            (_, p) => clean_value(p),
        };
        if let Some(v) = merged {
            original.insert(key, v);
        }
    }
    Ok(original)
}

/// Lists whose field merges (or deletion lists) merge; others are replaced by the patch.
pub(super) fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta<'_>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if meta.merge || is_delete_list {
        merge_slice(original, patch, meta, is_delete_list)
    } else {
        Ok(clean_list(patch))
    }
}

/// `$retainKeys`: keys of `original` not listed are cleared; every key the patch sets must be
/// listed.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let bad = || PatchError::BadRequest("invalid patch format of retainKeys".into());
    let Value::Array(retain) = retain else {
        return Err(bad());
    };
    let listed = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(bad());
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `<prefix>/<key>` → `key`.
fn extract_key(s: &str, prefix: &str) -> Option<String> {
    let (head, tail) = s.split_once('/')?;
    (head == prefix).then(|| tail.to_string())
}

/// `$setElementOrder/<list>`: merges the list (if patched) and orders the result: patch items
/// by the directive's order, server-only items kept where the live order puts them.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema<'_>,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.remove(&key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg("[]interface {}", &order));
        };
        let list_key = extract_key(&key, SET_ELEMENT_ORDER).ok_or_else(|| {
            PatchError::BadRequest("invalid patch format of setElementOrder list".into())
        })?;
        let as_list = |v: Option<&Value>| -> Result<Option<Vec<Value>>, PatchError> {
            match v {
                None => Ok(None),
                Some(Value::Array(items)) => Ok(Some(items.clone())),
                Some(other) => Err(bad_arg("[]interface {}", other)),
            }
        };
        let original_list = as_list(original.get(&list_key))?;
        let patch_list = as_list(patch.get(&list_key))?;
        let meta = schema.lookup_slice(&list_key);
        let merge_key = meta.merge_key.unwrap_or("");
        validate_patch_with_set_order(patch_list.as_deref().unwrap_or(&[]), &order, merge_key)?;

        let merged = match (&original_list, &patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => clean_list(p.clone()),
            (Some(o), Some(p)) => merge_slice_handler(o.clone(), p.clone(), meta, false)?,
            (None, None) => continue,
        };
        let original_items = original_list.unwrap_or_default();
        let patch_items = patch_list.unwrap_or_default();
        let ordered = match slice_kind(&[&original_items, &patch_items])? {
            Some(kind) => {
                let (in_patch, server_only) = partition(merged, &order, merge_key)?;
                normalize_element_order(
                    in_patch,
                    server_only,
                    &order,
                    &original_items,
                    merge_key,
                    kind,
                )?
            }
            // Both lists empty: nothing to order (kube fails here with "no elements in any of
            // the given slices"; an empty result is what the client meant).
            None => merged,
        };
        original.insert(list_key.clone(), Value::Array(ordered));
        patch.remove(&list_key);
    }
    Ok(())
}

/// The patch list's items (deletions aside) must appear in the `$setElementOrder` list, in the
/// same relative order.
fn validate_patch_with_set_order(
    patch: &[Value],
    order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    if patch.is_empty() || order.is_empty() {
        return Ok(());
    }
    let mut non_delete = Vec::with_capacity(patch.len());
    for item in patch {
        if merge_key.is_empty() {
            non_delete.push(item);
            continue;
        }
        let Value::Object(m) = item else {
            return Err(bad_arg("map[string]interface {}", item));
        };
        if m.get(DIRECTIVE).and_then(Value::as_str) != Some("delete") {
            non_delete.push(item);
        }
    }
    let (mut pi, mut si) = (0, 0);
    while pi < non_delete.len() && si < order.len() {
        if non_delete[pi]
            .as_object()
            .is_some_and(|m| m.contains_key(DIRECTIVE))
        {
            pi += 1;
            continue;
        }
        if merge_key_equal(non_delete[pi], &order[si], merge_key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= order.len() {
        return Err(PatchError::Internal(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_value(&Value::Array(patch.to_vec())),
            go_value(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

fn merge_key_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let l = left
        .as_object()
        .ok_or_else(|| bad_arg("map[string]interface {}", left))?;
    let r = right
        .as_object()
        .ok_or_else(|| bad_arg("map[string]interface {}", right))?;
    let lv = l
        .get(merge_key)
        .ok_or_else(|| no_merge_key(left, merge_key))?;
    let rv = r
        .get(merge_key)
        .ok_or_else(|| no_merge_key(right, merge_key))?;
    Ok(lv == rv)
}

/// A patch value going into the object as is: nulls dropped (kube's
/// `discardNullValuesFromPatch`), directive-marked maps and items dropped (`removeDirectives`),
/// and directive keys dropped (what kube's typed decode does to them). `None`: drop the key.
pub(super) fn clean_value(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(clean_map(m)))
        }
        Value::Array(items) => Some(Value::Array(clean_list(items))),
        other => Some(other),
    }
}

fn clean_map(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, v)| !v.is_null() && !is_directive_key(k))
        .filter_map(|(k, v)| clean_value(v).map(|v| (k, v)))
        .collect()
}

pub(super) fn clean_list(items: Vec<Value>) -> Vec<Value> {
    items.into_iter().filter_map(clean_value).collect()
}

fn is_directive_key(k: &str) -> bool {
    k == DIRECTIVE
        || k == RETAIN_KEYS
        || k.starts_with(SET_ELEMENT_ORDER)
        || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}
