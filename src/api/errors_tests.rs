//! Each error answers with the reason, code, message and details kube-apiserver gives.

use super::*;

#[test]
fn not_found_names_the_plural_and_group() {
    let err = ApiError::NotFound {
        resource: GroupResource::new("capstan.dev", "pods"),
        name: "web".into(),
    };
    let status = err.to_status();
    assert_eq!(
        status.message.as_deref(),
        Some("pods.capstan.dev \"web\" not found")
    );
    assert_eq!(status.reason.as_deref(), Some("NotFound"));
    assert_eq!(status.code, Some(404));
    let details = status.details.unwrap();
    assert_eq!(details.kind.as_deref(), Some("pods"));
    assert_eq!(details.group.as_deref(), Some("capstan.dev"));
    assert_eq!(details.name.as_deref(), Some("web"));
}

#[test]
fn invalid_names_the_kind_and_aggregates_causes() {
    let err = ApiError::invalid(
        GroupKind::new("", "Pod"),
        "p",
        vec![
            FieldError::required("spec.containers", ""),
            FieldError::invalid("metadata.name", "A", "bad"),
        ],
    );
    let status = err.to_status();
    assert_eq!(
        status.message.as_deref(),
        Some(
            "Pod \"p\" is invalid: [spec.containers: Required value, metadata.name: Invalid value: \"A\": bad]"
        )
    );
    let details = status.details.unwrap();
    assert_eq!(details.kind.as_deref(), Some("Pod"));
    assert_eq!(details.group, None);
    let causes = details.causes.unwrap();
    assert_eq!(causes[0].reason.as_deref(), Some("FieldValueRequired"));
    assert_eq!(causes[0].field.as_deref(), Some("spec.containers"));
    assert_eq!(causes[0].message.as_deref(), Some("Required value"));
}

#[test]
fn invalid_message_drops_repeated_causes_but_details_keep_them() {
    let label = || FieldError::invalid("metadata.labels", "bad label", "name part must …");
    let err = ApiError::invalid(GroupKind::new("", "ConfigMap"), "c", vec![label(), label()]);
    let status = err.to_status();
    assert_eq!(
        status.message.as_deref(),
        Some(
            "ConfigMap \"c\" is invalid: metadata.labels: Invalid value: \"bad label\": name part must …"
        )
    );
    assert_eq!(status.details.unwrap().causes.unwrap().len(), 2);
    let none = ApiError::invalid(GroupKind::new("", "Pod"), "p", vec![]);
    assert_eq!(none.to_string(), "Pod \"p\" is invalid");
}

#[test]
fn conflict_message_is_the_optimistic_lock_text() {
    let err = ApiError::conflict_modified(GroupResource::new("", "pods"), "p");
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on pods \"p\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(err.code(), 409);
}

#[test]
fn expired_continue_carries_a_fresh_token() {
    let status = ApiError::ExpiredContinue {
        continue_token: "tok".into(),
    }
    .to_status();
    assert_eq!(status.code, Some(410));
    assert_eq!(status.reason.as_deref(), Some("Expired"));
    assert_eq!(status.metadata.continue_.as_deref(), Some("tok"));
    assert!(
        status
            .message
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
    assert!(status.details.is_none());
}

#[test]
fn too_large_resource_version_is_a_timeout_with_a_cause() {
    let status = ApiError::TooLargeResourceVersion {
        requested: 9,
        current: 5,
    }
    .to_status();
    assert_eq!(status.code, Some(504));
    assert_eq!(status.reason.as_deref(), Some("Timeout"));
    assert_eq!(
        status.message.as_deref(),
        Some("Timeout: Too large resource version: 9, current: 5")
    );
    let details = status.details.unwrap();
    assert_eq!(details.retry_after_seconds, Some(1));
    let causes = details.causes.unwrap();
    assert_eq!(causes[0].reason.as_deref(), Some("ResourceVersionTooLarge"));
}

#[test]
fn forbidden_drops_an_empty_name_and_resource_like_kube() {
    let forbidden = |group: &str, resource: &str, name: &str| {
        ApiError::Forbidden {
            resource: GroupResource::new(group, resource),
            name: name.into(),
            reason: "r".into(),
        }
        .to_string()
    };
    assert_eq!(forbidden("", "pods", "p"), "pods \"p\" is forbidden: r");
    assert_eq!(
        forbidden("capstan.dev", "pods", ""),
        "pods.capstan.dev is forbidden: r"
    );
    assert_eq!(forbidden("", "", ""), "forbidden: r");
}

#[test]
fn apply_conflicts_carry_only_field_manager_causes() {
    use crate::api::patch::{ApplyError, ManagedFieldsScope, apply};
    let model = crate::api::schema::test_model();
    let scope = ManagedFieldsScope {
        ty: model.for_kind("", "v1", "ConfigMap").unwrap(),
        api_version: "v1",
        kind: "ConfigMap",
        subresource: "",
        reset_fields: &[],
        now: jiff::Timestamp::UNIX_EPOCH,
    };
    let config = |value: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "c"}, "data": {"k": value}})
    };
    let first = apply(None, &config("a"), "one", false, &scope).unwrap();
    let Err(ApplyError::Conflicts(conflicts)) =
        apply(Some(&first.object), &config("b"), "two", false, &scope)
    else {
        panic!("expected a conflict");
    };
    let status = ApiError::ApplyConflict(conflicts).to_status();
    assert_eq!(status.code, Some(409));
    assert_eq!(status.reason.as_deref(), Some("Conflict"));
    assert_eq!(
        status.message.as_deref(),
        Some("Apply failed with 1 conflict: conflict with \"one\": .data.k")
    );
    let details = status.details.unwrap();
    assert_eq!(
        (details.name, details.kind, details.group),
        (None, None, None)
    );
    let causes = details.causes.unwrap();
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].reason.as_deref(), Some("FieldManagerConflict"));
    assert_eq!(causes[0].field.as_deref(), Some(".data.k"));
    assert_eq!(causes[0].message.as_deref(), Some("conflict with \"one\""));
}

#[test]
fn unknown_errors_are_500_without_a_reason_or_prefix() {
    let status = ApiError::Unknown("map: map[] does not contain declared merge key: name".into())
        .to_status();
    assert_eq!(status.code, Some(500));
    assert_eq!(status.reason, None);
    assert_eq!(
        status.message.as_deref(),
        Some("map: map[] does not contain declared merge key: name")
    );
    assert!(status.details.is_none());
}

#[test]
fn route_misses_are_generic_with_empty_details() {
    let status = ApiError::MethodNotAllowed.to_status();
    assert_eq!(status.code, Some(405));
    assert_eq!(status.reason.as_deref(), Some("MethodNotAllowed"));
    assert_eq!(
        status.message.as_deref(),
        Some("the server does not allow this method on the requested resource")
    );
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["details"], serde_json::json!({}));
    let json = serde_json::to_value(ApiError::NotFoundPath.to_status()).unwrap();
    assert_eq!(json["details"], serde_json::json!({}));
}

#[test]
fn too_many_requests_carries_only_retry_after() {
    let status = ApiError::TooManyRequests {
        message: "too many requests, please try again later".into(),
        retry_after_seconds: 1,
    }
    .to_status();
    let details = status.details.unwrap();
    assert_eq!(details.retry_after_seconds, Some(1));
    assert_eq!(details.name, None);
    assert_eq!(details.kind, None);
}
