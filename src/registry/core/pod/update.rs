//! Pod update rules, after kube's `ValidatePodUpdate` (pkg/apis/core/validation/validation.go):
//! a pod's spec is immutable except container and init-container images,
//! `activeDeadlineSeconds` (set, or lowered), added tolerations, removed scheduling gates, and a
//! negative termination grace period raised to 1.

use k8s_openapi::api::core::v1::{Container, PodSpec, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::checks::inclusive_range_error;
use super::validation::{
    MIRROR_POD_ANNOTATION, validate_pod_metadata_and_spec, validate_pod_specific_annotations,
    validate_tolerations,
};
use crate::api::field::{FieldError, FieldErrors, Path};

/// The updatable fields, as kube lists them in its Forbidden message.
const UPDATABLE_POD_SPEC_FIELDS: [&str; 5] = [
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

/// `ValidatePodUpdate` without the generic metadata checks the store runs: the new pod must be
/// valid, and only the updatable fields may change.
pub fn validate_pod_update(
    new_meta: &ObjectMeta,
    new_spec: &PodSpec,
    old_meta: &ObjectMeta,
    old_spec: &PodSpec,
) -> FieldErrors {
    let spec_path = Path::new("spec");
    let mut errs = validate_pod_metadata_and_spec(new_meta, new_spec);
    errs.extend(validate_pod_specific_annotation_updates(
        new_meta, old_meta, new_spec,
    ));

    let init_new = new_spec.init_containers.as_deref().unwrap_or(&[]);
    let init_old = old_spec.init_containers.as_deref().unwrap_or(&[]);
    for (field, new, old) in [
        (
            "containers",
            new_spec.containers.as_slice(),
            old_spec.containers.as_slice(),
        ),
        ("initContainers", init_new, init_old),
    ] {
        let (container_errs, stop) = validate_container_updates(new, old, &spec_path.child(field));
        errs.extend(container_errs);
        if stop {
            return errs;
        }
    }

    let deadline_path = spec_path.child("activeDeadlineSeconds");
    match (
        new_spec.active_deadline_seconds,
        old_spec.active_deadline_seconds,
    ) {
        (Some(new), _) if !(0..=i64::from(i32::MAX)).contains(&new) => {
            errs.push(FieldError::invalid(
                &deadline_path,
                new,
                inclusive_range_error(0, i64::from(i32::MAX)),
            ));
            return errs;
        }
        (Some(new), Some(old)) if old < new => {
            errs.push(FieldError::invalid(
                &deadline_path,
                new,
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => errs.push(FieldError::invalid(
            &deadline_path,
            Value::Null,
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }

    errs.extend(validate_only_added_tolerations(
        new_spec.tolerations.as_deref().unwrap_or(&[]),
        old_spec.tolerations.as_deref().unwrap_or(&[]),
        &spec_path.child("tolerations"),
    ));
    errs.extend(validate_only_deleted_scheduling_gates(
        new_spec,
        old_spec,
        &spec_path.child("schedulingGates"),
    ));

    if new_spec == old_spec {
        return errs;
    }
    let munged = munge_updatable_fields(new_spec, old_spec);
    if munged != *old_spec {
        let message = format!(
            "pod updates may not change fields other than {}\n{}",
            UPDATABLE_POD_SPEC_FIELDS.join(","),
            spec_diff(old_spec, &munged)
        );
        errs.push(FieldError::forbidden(&spec_path, message));
    }
    errs
}

/// `ValidatePodSpecificAnnotationUpdates`: the mirror-pod annotation may be neither added,
/// changed nor removed; then the annotations are checked again as on create (kube reports those
/// twice on update, and so do we).
pub(super) fn validate_pod_specific_annotation_updates(
    new_meta: &ObjectMeta,
    old_meta: &ObjectMeta,
    new_spec: &PodSpec,
) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let path = Path::new("metadata")
        .child("annotations")
        .key(MIRROR_POD_ANNOTATION);
    let new = new_meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(MIRROR_POD_ANNOTATION));
    let old = old_meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(MIRROR_POD_ANNOTATION));
    match (old, new) {
        (Some(o), Some(n)) if o == n => {}
        (Some(_), _) => errs.push(FieldError::forbidden(
            &path,
            "may not remove or update mirror pod annotation",
        )),
        (None, Some(_)) => errs.push(FieldError::forbidden(
            &path,
            "may not add mirror pod annotation",
        )),
        (None, None) => {}
    }
    errs.extend(validate_pod_specific_annotations(new_meta, new_spec));
    errs
}

/// `ValidateContainerUpdates`: the same number of containers, each with an image.
fn validate_container_updates(
    new: &[Container],
    old: &[Container],
    path: &Path,
) -> (FieldErrors, bool) {
    if new.len() != old.len() {
        return (
            vec![FieldError::forbidden(
                path,
                "pod updates may not add or remove containers",
            )],
            true,
        );
    }
    let mut errs = FieldErrors::new();
    for (i, c) in new.iter().enumerate() {
        let image = c.image.as_deref().unwrap_or("");
        if image.is_empty() {
            errs.push(FieldError::required(path.index(i).child("image"), ""));
        }
        if image.trim() != image {
            errs.push(FieldError::invalid(
                path.index(i).child("image"),
                image,
                "must not have leading or trailing whitespace",
            ));
        }
    }
    (errs, false)
}

/// `validateOnlyAddedTolerations`: every old toleration is still there (its
/// `tolerationSeconds` may change), and the new list is valid.
fn validate_only_added_tolerations(
    new: &[Toleration],
    old: &[Toleration],
    path: &Path,
) -> FieldErrors {
    for o in old {
        let kept = new.iter().any(|n| {
            let mut o = o.clone();
            o.toleration_seconds = n.toleration_seconds;
            o == *n
        });
        if !kept {
            return vec![FieldError::forbidden(
                path,
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    validate_tolerations(new, path)
}

/// `validateOnlyDeletedSchedulingGates`.
fn validate_only_deleted_scheduling_gates(
    new: &PodSpec,
    old: &PodSpec,
    path: &Path,
) -> FieldErrors {
    let old_gates = old.scheduling_gates.as_deref().unwrap_or(&[]);
    let mut errs = FieldErrors::new();
    for (i, gate) in new.scheduling_gates.iter().flatten().enumerate() {
        if !old_gates.iter().any(|g| g.name == gate.name) {
            errs.push(FieldError::forbidden(
                path.index(i).child("name"),
                format!(
                    "only deletion is allowed, but found new scheduling gate '{}'",
                    gate.name
                ),
            ));
        }
    }
    errs
}

/// The new spec with every updatable field reset to its old value: what must equal the old spec.
fn munge_updatable_fields(new: &PodSpec, old: &PodSpec) -> PodSpec {
    let mut munged = new.clone();
    for (c, o) in munged.containers.iter_mut().zip(&old.containers) {
        c.image.clone_from(&o.image);
    }
    let old_init = old.init_containers.as_deref().unwrap_or(&[]);
    for (c, o) in munged.init_containers.iter_mut().flatten().zip(old_init) {
        c.image.clone_from(&o.image);
    }
    munged.active_deadline_seconds = old.active_deadline_seconds;
    munged.scheduling_gates.clone_from(&old.scheduling_gates);
    munged.tolerations.clone_from(&old.tolerations);
    let raised_from_negative = old.termination_grace_period_seconds.is_some_and(|g| g < 0)
        && munged.termination_grace_period_seconds == Some(1);
    if raised_from_negative {
        munged.termination_grace_period_seconds = old.termination_grace_period_seconds;
    }
    munged
}

/// A readable diff of two specs, one `-`/`+` pair per changed field (kube appends a Go struct
/// diff here; clients only show it).
fn spec_diff(old: &PodSpec, new: &PodSpec) -> String {
    json_diff("spec", old, new)
}

/// A readable diff of two values of the same type, rooted at `root`, one `-`/`+` pair per
/// changed field.
pub(super) fn json_diff<T: serde::Serialize>(root: &str, old: &T, new: &T) -> String {
    let old = serde_json::to_value(old).unwrap_or_default();
    let new = serde_json::to_value(new).unwrap_or_default();
    let mut lines = Vec::new();
    diff_values(root, &old, &new, &mut lines);
    lines.join("\n")
}

fn diff_values(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                diff_values(&format!("{path}.{k}"), x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_values(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (a, b) if a != b => {
            out.push(format!("- {path}: {a}"));
            out.push(format!("+ {path}: {b}"));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::core::pod::defaults::default_pod_spec;

    fn spec(v: Value) -> PodSpec {
        let mut s: PodSpec = serde_json::from_value(v).unwrap();
        default_pod_spec(&mut s);
        s
    }

    fn base() -> PodSpec {
        spec(json!({
            "containers": [{"name": "c", "image": "nginx:1"}],
            "initContainers": [{"name": "i", "image": "busybox:1"}],
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}]
        }))
    }

    fn update(new: &PodSpec, old: &PodSpec) -> Vec<String> {
        let meta = ObjectMeta::default();
        validate_pod_update(&meta, new, &meta, old)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn images_deadline_and_tolerations_may_change() {
        let old = base();
        let mut new = old.clone();
        new.containers[0].image = Some("nginx:2".into());
        new.init_containers.as_mut().unwrap()[0].image = Some("busybox:2".into());
        new.active_deadline_seconds = Some(100);
        let tolerations = new.tolerations.as_mut().unwrap();
        tolerations[0].toleration_seconds = Some(20);
        tolerations.push(Toleration {
            key: Some("x".into()),
            operator: Some("Exists".into()),
            ..Default::default()
        });
        assert_eq!(update(&new, &old), Vec::<String>::new());
    }

    #[test]
    fn other_spec_changes_are_forbidden_with_kubes_message() {
        let old = base();
        let mut new = old.clone();
        new.restart_policy = Some("Never".into());
        let errs = validate_pod_update(&ObjectMeta::default(), &new, &ObjectMeta::default(), &old);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec");
        assert_eq!(
            errs[0].error_type,
            crate::api::field::FieldErrorType::Forbidden
        );
        let expected = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n";
        assert!(errs[0].detail.starts_with(expected), "{}", errs[0].detail);
        assert!(
            errs[0].detail.contains("spec.restartPolicy"),
            "{}",
            errs[0].detail
        );
    }

    #[test]
    fn adding_a_container_stops_early() {
        let old = base();
        let mut new = old.clone();
        new.containers.push(new.containers[0].clone());
        new.containers[1].name = "d".into();
        assert_eq!(
            update(&new, &old),
            vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]
        );
    }

    #[test]
    fn deadline_may_only_be_set_or_lowered() {
        let mut old = base();
        old.active_deadline_seconds = Some(50);
        let mut new = old.clone();
        new.active_deadline_seconds = Some(60);
        assert_eq!(
            update(&new, &old),
            vec![
                "spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value"
            ]
        );
        new.active_deadline_seconds = None;
        assert_eq!(
            update(&new, &old)[0],
            "spec.activeDeadlineSeconds: Invalid value: \"null\": must not update from a positive integer to nil value"
        );
        new.active_deadline_seconds = Some(10);
        assert!(update(&new, &old).is_empty());
    }

    #[test]
    fn tolerations_may_not_be_removed_or_modified() {
        let old = base();
        let mut new = old.clone();
        new.tolerations.as_mut().unwrap()[0].key = Some("other".into());
        let errs = update(&new, &old);
        assert_eq!(
            errs[0],
            "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
        );
    }

    #[test]
    fn grace_period_may_be_raised_from_negative_to_one() {
        let mut old = base();
        old.termination_grace_period_seconds = Some(-5);
        let mut new = old.clone();
        new.termination_grace_period_seconds = Some(1);
        assert!(update(&new, &old).is_empty());
        new.termination_grace_period_seconds = Some(2);
        assert_eq!(update(&new, &old).len(), 1);
    }

    #[test]
    fn mirror_annotation_may_not_be_added() {
        let s = base();
        let old = ObjectMeta::default();
        let new = ObjectMeta {
            annotations: Some([(MIRROR_POD_ANNOTATION.to_string(), "x".to_string())].into()),
            ..Default::default()
        };
        let errs: Vec<String> = validate_pod_update(&new, &s, &old, &s)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(errs.contains(&"metadata.annotations[kubernetes.io/config.mirror]: Forbidden: may not add mirror pod annotation".to_string()), "{errs:?}");
    }
}
