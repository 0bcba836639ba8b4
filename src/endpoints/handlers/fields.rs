//! The `fieldValidation` directive on request bodies, as kube's handlers apply it.
//!
//! kube decodes create and update bodies strictly unless the directive is `Ignore`; what strict
//! decoding finds (unknown and duplicate fields, [`check_fields`]) is a 400 BadRequest under
//! `Strict` and a `Warning` header each under `Warn`. Patches are checked twice: the patch body
//! for duplicate keys, then the patched object for unknown fields ([`check_value`]); under
//! `Strict` those are a 422 Invalid on the field `patch`. Without the parameter kube uses `Warn`
//! (handlers/rest.go `fieldValidation`); kubectl sends `Strict` unless told otherwise.

use std::borrow::Cow;

use serde_json::Value;

use super::Scope;
use crate::api::options::{FieldValidation, WriteOptions};
use crate::api::schema::TypeRef;
use crate::api::schema::validate::{
    FieldIssue, check_fields, check_value, enforce, strict_decoding_error,
};
use crate::api::{ApiError, FieldError, GroupKind};
use crate::endpoints::negotiation::BodyFormat;
use crate::endpoints::warnings::Warnings;

/// The directive a write runs under: the `fieldValidation` parameter, else kube's default `Warn`.
pub fn directive(opts: &WriteOptions) -> FieldValidation {
    opts.field_validation.unwrap_or(FieldValidation::Warn)
}

/// Checks a create or update body of the endpoint's kind. `raw` is the body as sent and `object`
/// its decoded form: JSON bodies are checked as sent (duplicates exist only there), other
/// formats through their JSON form. Kinds without a schema are not checked.
pub fn check_body(
    scope: &Scope,
    opts: &WriteOptions,
    format: BodyFormat,
    raw: &[u8],
    object: &Value,
) -> Result<(), ApiError> {
    let directive = directive(opts);
    let Some(ty) = scope.schema_type() else {
        return Ok(());
    };
    if directive == FieldValidation::Ignore {
        return Ok(());
    }
    let json: Cow<'_, [u8]> = match format {
        // read as `decode_object` read it: invalid UTF-8 as U+FFFD, as Go's decoder does
        BodyFormat::Json => match String::from_utf8_lossy(raw) {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        },
        _ => Cow::Owned(serde_json::to_vec(object).map_err(ApiError::internal)?),
    };
    // The body was decoded already; a failure here cannot happen for JSON that decoded.
    let issues = check_fields(ty, &json).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let descriptor = scope.descriptor();
    for warning in enforce(directive, &descriptor.kind, &descriptor.version, &issues)? {
        scope.ctx.warnings.add(warning);
    }
    Ok(())
}

/// The duplicate keys of a JSON merge or strategic merge patch body, which kube's strict
/// unmarshalling of the patch reports (unknown keys are reported on the patched object instead,
/// where directives are gone).
pub fn patch_duplicates(ty: TypeRef<'_>, patch: &[u8]) -> Vec<FieldIssue> {
    check_fields(ty, patch)
        .unwrap_or_default()
        .into_iter()
        .filter(|issue| matches!(issue, FieldIssue::Duplicate(_)))
        .collect()
}

/// Applies the directive to a patched object: `patch_issues` (from the patch body) and the
/// unknown fields of `patched`. `Strict` fails with kube's 422 on field `patch`, whose value is
/// `shown()` (the patched JSON for JSON and merge patches, the patch as Go prints a map for
/// strategic merge patches); `Warn` adds a warning per issue.
pub fn check_patched(
    directive: FieldValidation,
    warnings: &Warnings,
    ty: TypeRef<'_>,
    patch_issues: &[FieldIssue],
    patched: &Value,
    shown: impl FnOnce() -> String,
) -> Result<(), ApiError> {
    if directive == FieldValidation::Ignore {
        return Ok(());
    }
    let mut issues = patch_issues.to_vec();
    for issue in check_value(ty, patched) {
        if !issues.contains(&issue) {
            issues.push(issue);
        }
    }
    if issues.is_empty() {
        return Ok(());
    }
    if directive == FieldValidation::Warn {
        for issue in &issues {
            warnings.add(issue.to_string());
        }
        return Ok(());
    }
    Err(ApiError::invalid(
        GroupKind::default(),
        "",
        vec![FieldError::invalid(
            "patch",
            shown(),
            strict_decoding_error(&issues),
        )],
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::schema::test_model;

    #[test]
    fn absent_means_warn() {
        assert_eq!(directive(&WriteOptions::default()), FieldValidation::Warn);
        let strict = WriteOptions {
            field_validation: Some(FieldValidation::Strict),
            ..Default::default()
        };
        assert_eq!(directive(&strict), FieldValidation::Strict);
    }

    #[test]
    fn patch_bodies_report_only_duplicates() {
        let model = test_model();
        let pod = model.for_kind("", "v1", "Pod").unwrap();
        let body = br#"{"metadata":{"labels":{"a":"1"},"labels":{"b":"2"}},
                        "spec":{"$setElementOrder/containers":[{"name":"c"}]}}"#;
        assert_eq!(
            patch_duplicates(pod, body),
            [FieldIssue::Duplicate("metadata.labels".into())]
        );
    }

    #[test]
    fn patched_objects_warn_or_fail_with_kubes_422() {
        let model = test_model();
        let pod = model.for_kind("", "v1", "Pod").unwrap();
        let patched = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                             "spec": {"containers": [{"name": "c", "imagePullPolicyy": "x"}]}});
        let dup = [FieldIssue::Duplicate("metadata.name".into())];
        let warnings = Warnings::default();
        check_patched(
            FieldValidation::Warn,
            &warnings,
            pod,
            &dup,
            &patched,
            || unreachable!(),
        )
        .unwrap();
        assert_eq!(
            warnings.texts(),
            [
                r#"duplicate field "metadata.name""#,
                r#"unknown field "spec.containers[0].imagePullPolicyy""#
            ]
        );
        let err = check_patched(
            FieldValidation::Strict,
            &Warnings::default(),
            pod,
            &[],
            &patched,
            || "map[spec:map[]]".into(),
        )
        .unwrap_err();
        assert_eq!(err.code(), 422);
        assert_eq!(
            err.to_string(),
            r#" "" is invalid: patch: Invalid value: "map[spec:map[]]": strict decoding error: unknown field "spec.containers[0].imagePullPolicyy""#
        );
        check_patched(
            FieldValidation::Ignore,
            &warnings,
            pod,
            &dup,
            &patched,
            || unreachable!(),
        )
        .unwrap();
    }
}
