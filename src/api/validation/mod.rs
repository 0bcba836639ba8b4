//! Name and object-metadata validation shared by every kind (kube's apimachinery validation).
//!
//! [`format`] holds the string checks (re-exported here); this file checks `ObjectMeta` on create
//! and update. They return kube's exact messages (kubectl prints them verbatim) as
//! [`FieldErrors`] with kube's field paths. Everything here is a pure function of its input.

mod format;

pub use format::*;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::Serialize;
use serde_json::Value;

use super::field::{FieldError, FieldErrors, Path};

/// Largest total size of an object's annotations (keys plus values), 256 KiB.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
/// Finalizer names that need no domain prefix.
pub const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// One `Invalid` error per message, all on `path` with `value`.
fn invalid_each(path: &Path, value: &str, msgs: Vec<String>) -> FieldErrors {
    msgs.into_iter()
        .map(|m| FieldError::invalid(path, value, m))
        .collect()
}

/// kube's `ValidateLabels`: keys are qualified names, values label values; errors sit on the map's
/// path itself, as kube reports them.
pub fn validate_labels(labels: Option<&BTreeMap<String, String>>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for (k, v) in labels.into_iter().flatten() {
        errs.extend(invalid_each(path, k, is_qualified_name(k)));
        errs.extend(invalid_each(path, v, is_label_value(v)));
    }
    errs
}

/// kube's `ValidateAnnotations`: keys are qualified names ignoring case; the total size is capped.
pub fn validate_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &Path,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let Some(annotations) = annotations else {
        return errs;
    };
    let mut total = 0usize;
    for (k, v) in annotations {
        errs.extend(invalid_each(path, k, is_qualified_name(&k.to_lowercase())));
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// kube's `ValidateFinalizers` plus core's standard-name rule for unprefixed names.
pub fn validate_finalizers(finalizers: Option<&Vec<String>>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let finalizers = finalizers.map(Vec::as_slice).unwrap_or_default();
    for f in finalizers {
        errs.extend(invalid_each(path, f, is_qualified_name(f)));
    }
    let has = |name: &str| finalizers.iter().any(|f| f == name);
    if has("orphan") && has("foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            Value::from(finalizers.to_vec()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    for (i, f) in finalizers.iter().enumerate() {
        errs.extend(validate_kube_finalizer_name(f, &path.index(i)));
    }
    errs
}

/// Core's check that an unprefixed finalizer is one of the standard ones.
pub fn validate_kube_finalizer_name(name: &str, path: &Path) -> FieldErrors {
    if !name.contains('/') && !STANDARD_FINALIZERS.contains(&name) {
        return vec![FieldError::invalid(
            path,
            name,
            "name is neither a standard finalizer name nor is it fully qualified",
        )];
    }
    Vec::new()
}

/// kube's `ValidateOwnerReferences`.
pub fn validate_owner_references(refs: Option<&Vec<OwnerReference>>, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let mut first_controller: Option<String> = None;
    for (i, r) in refs.into_iter().flatten().enumerate() {
        let p = path.index(i);
        if r.api_version.is_empty() {
            errs.push(FieldError::required(
                p.child("apiVersion"),
                "must not be empty",
            ));
        } else if !valid_api_version(&r.api_version) {
            errs.push(FieldError::invalid(
                p.child("apiVersion"),
                r.api_version.as_str(),
                "must be <group>/<version> or <version>",
            ));
        }
        for (field, value) in [("kind", &r.kind), ("name", &r.name), ("uid", &r.uid)] {
            if value.is_empty() {
                errs.push(FieldError::required(p.child(field), "must not be empty"));
            }
        }
        if r.api_version == "v1" && r.kind == "Event" {
            errs.push(FieldError::invalid(
                &p,
                serde_json::to_value(r).unwrap_or(Value::Null),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.controller == Some(true) {
            let this = format!("{}/{}", r.kind, r.name);
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    serde_json::to_value(refs).unwrap_or(Value::Null),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"
                    ),
                )),
                None => first_controller = Some(this),
            }
        }
    }
    errs
}

/// `<version>` or `<group>/<version>`, both parts non-empty.
fn valid_api_version(v: &str) -> bool {
    match v.split('/').collect::<Vec<_>>().as_slice() {
        [version] => !version.is_empty(),
        [group, version] => !group.is_empty() && !version.is_empty(),
        _ => false,
    }
}

fn non_negative(value: Option<i64>, path: &Path) -> FieldErrors {
    match value {
        Some(v) if v < 0 => vec![FieldError::invalid(
            path,
            v,
            "must be greater than or equal to 0",
        )],
        _ => Vec::new(),
    }
}

/// kube's `ValidateObjectMeta` for a create, after name generation: `metadata.name` required and
/// valid for `name_fn`, `generateName` valid as a prefix, the namespace required (namespaced
/// kinds, a DNS-1123 label) or forbidden (cluster-scoped), labels, annotations, owner references
/// and finalizers.
pub fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    name_fn: NameValidator,
    path: &Path,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if let Some(generate_name) = meta.generate_name.as_deref().filter(|g| !g.is_empty()) {
        errs.extend(invalid_each(
            &path.child("generateName"),
            generate_name,
            name_fn(generate_name, true),
        ));
    }
    match meta.name.as_deref().filter(|n| !n.is_empty()) {
        None => errs.push(FieldError::required(
            path.child("name"),
            "name or generateName is required",
        )),
        Some(name) => errs.extend(invalid_each(
            &path.child("name"),
            name,
            name_fn(name, false),
        )),
    }
    let namespace = meta.namespace.as_deref().unwrap_or("");
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required(path.child("namespace"), ""));
        } else {
            errs.extend(invalid_each(
                &path.child("namespace"),
                namespace,
                name_is_dns_label(namespace, false),
            ));
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            path.child("namespace"),
            "not allowed on this type",
        ));
    }
    errs.extend(non_negative(meta.generation, &path.child("generation")));
    errs.extend(validate_labels(meta.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(
        meta.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        meta.owner_references.as_ref(),
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        meta.finalizers.as_ref(),
        &path.child("finalizers"),
    ));
    errs
}

/// `<path>: Invalid value: <new>: field is immutable` when `new != old`.
pub fn validate_immutable_field<T: Serialize + PartialEq>(
    new: &T,
    old: &T,
    path: &Path,
) -> FieldErrors {
    if new == old {
        return Vec::new();
    }
    let value = serde_json::to_value(new).unwrap_or(Value::Null);
    vec![FieldError::invalid(path, value, "field is immutable")]
}

/// kube's `ValidateObjectMetaUpdate`: resourceVersion present, generation not decreased, name,
/// namespace, uid, creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds unchanged,
/// no new finalizers once deletion started, labels/annotations/owner references valid.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta, path: &Path) -> FieldErrors {
    let mut errs = FieldErrors::new();
    if old.deletion_timestamp.is_some() {
        let old_set: Vec<&String> = old.finalizers.iter().flatten().collect();
        let mut extra: Vec<String> = new
            .finalizers
            .iter()
            .flatten()
            .filter(|f| !old_set.contains(f))
            .cloned()
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let quoted: Vec<String> = extra.iter().map(|f| format!("{f:?}")).collect();
            errs.push(FieldError::forbidden(
                path.child("finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    quoted.join(", ")
                ),
            ));
        }
    }
    if new.resource_version.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::invalid(
            path.child("resourceVersion"),
            "",
            "must be specified for an update",
        ));
    }
    errs.extend(non_negative(new.generation, &path.child("generation")));
    let (new_gen, old_gen) = (new.generation.unwrap_or(0), old.generation.unwrap_or(0));
    if new_gen < old_gen {
        errs.push(FieldError::invalid(
            path.child("generation"),
            new_gen,
            "must not be decremented",
        ));
    }
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    errs.extend(validate_immutable_field(
        &s(&new.name),
        &s(&old.name),
        &path.child("name"),
    ));
    errs.extend(validate_immutable_field(
        &s(&new.namespace),
        &s(&old.namespace),
        &path.child("namespace"),
    ));
    errs.extend(validate_immutable_field(
        &s(&new.uid),
        &s(&old.uid),
        &path.child("uid"),
    ));
    errs.extend(validate_immutable_field(
        &new.creation_timestamp,
        &old.creation_timestamp,
        &path.child("creationTimestamp"),
    ));
    errs.extend(validate_immutable_field(
        &new.deletion_timestamp,
        &old.deletion_timestamp,
        &path.child("deletionTimestamp"),
    ));
    errs.extend(validate_immutable_field(
        &new.deletion_grace_period_seconds,
        &old.deletion_grace_period_seconds,
        &path.child("deletionGracePeriodSeconds"),
    ));
    errs.extend(validate_labels(new.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(
        new.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        new.owner_references.as_ref(),
        &path.child("ownerReferences"),
    ));
    for (i, f) in new.finalizers.iter().flatten().enumerate() {
        errs.extend(validate_kube_finalizer_name(
            f,
            &path.child("finalizers").index(i),
        ));
    }
    errs
}

#[cfg(test)]
mod tests;
