use std::sync::Arc;

use serde_json::{Value, json};

use super::tests_support::{DenySecretDeletes, ctx_for};
use super::*;
use crate::api::ApiError;
use crate::api::options::WriteOptions;
use crate::auth::authorizer::{
    AlwaysAllowAuthorizer, PrivilegedGroupAuthorizer, UnionAuthorizer, default_authorizer,
};
use crate::auth::{SYSTEM_MASTERS, UserInfo};

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        name: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    }
}

fn ssar(spec: Value) -> Value {
    json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec})
}

async fn review(
    authorizer: Arc<dyn crate::auth::Authorizer>,
    who: UserInfo,
    body: Value,
) -> Result<Value, ApiError> {
    SelfSubjectAccessReviewRest::new(authorizer)
        .create(&ctx_for(who), None, body, &WriteOptions::default())
        .await
}

/// The union the standalone server uses, but denying secret deletes before AlwaysAllow.
fn denying_union(deny: Arc<DenySecretDeletes>) -> Arc<dyn crate::auth::Authorizer> {
    Arc::new(UnionAuthorizer(vec![
        Arc::new(PrivilegedGroupAuthorizer(SYSTEM_MASTERS.into())),
        deny,
        Arc::new(AlwaysAllowAuthorizer),
    ]))
}

#[tokio::test]
async fn allowed_for_an_allowed_user() {
    let body = ssar(
        json!({"resourceAttributes": {"verb": "create", "resource": "pods", "namespace": "default"}}),
    );
    let out = review(
        default_authorizer(),
        user("admin", &[SYSTEM_MASTERS]),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], json!({"allowed": true}));
    assert_eq!(out["spec"], body["spec"], "the spec is answered as sent");
    assert_eq!(out["kind"], "SelfSubjectAccessReview");
}

#[tokio::test]
async fn asks_the_authorizer_about_the_requesting_user_and_spec() {
    let deny = Arc::new(DenySecretDeletes::default());
    let body = ssar(json!({"resourceAttributes": {
        "verb": "delete", "group": "", "resource": "secrets", "subresource": "", "name": "s",
        "namespace": "ns"}}));
    let out = review(denying_union(deny.clone()), user("dev", &["devs"]), body)
        .await
        .unwrap();
    assert_eq!(
        out["status"],
        json!({"allowed": false, "denied": true, "reason": "secrets are forever"})
    );
    let asked = deny.asked.lock().unwrap();
    let attrs = &asked[0];
    assert_eq!(attrs.user.name, "dev");
    assert!(attrs.resource_request);
    assert_eq!(
        (
            attrs.verb.as_str(),
            attrs.namespace.as_str(),
            attrs.name.as_str()
        ),
        ("delete", "ns", "s")
    );
    assert_eq!(
        attrs.api_version, "*",
        "an empty version means all versions"
    );
}

#[tokio::test]
async fn masters_pass_before_the_denying_authorizer() {
    let deny = Arc::new(DenySecretDeletes::default());
    let body = ssar(json!({"resourceAttributes": {"verb": "delete", "resource": "secrets"}}));
    let out = review(denying_union(deny), user("root", &[SYSTEM_MASTERS]), body)
        .await
        .unwrap();
    assert_eq!(out["status"], json!({"allowed": true}));
}

#[tokio::test]
async fn no_opinion_is_neither_allowed_nor_denied() {
    let deny = Arc::new(DenySecretDeletes::default());
    let body = ssar(json!({"nonResourceAttributes": {"verb": "get", "path": "/metrics"}}));
    let out = review(deny.clone(), user("dev", &[]), body).await.unwrap();
    assert_eq!(out["status"], json!({"allowed": false}));
    let asked = deny.asked.lock().unwrap();
    assert!(!asked[0].resource_request);
    assert_eq!(
        (asked[0].verb.as_str(), asked[0].path.as_str()),
        ("get", "/metrics")
    );
}

#[tokio::test]
async fn a_stale_status_in_the_body_is_replaced() {
    let mut body = ssar(json!({"resourceAttributes": {"verb": "get", "resource": "pods"}}));
    body["status"] = json!({"allowed": false, "denied": true, "reason": "old"});
    let out = review(default_authorizer(), user("u", &[]), body)
        .await
        .unwrap();
    assert_eq!(out["status"], json!({"allowed": true}));
}

fn invalid_causes(err: ApiError) -> (String, Vec<(String, String)>) {
    let message = err.to_string();
    match err {
        ApiError::Invalid { causes, .. } => (
            message,
            causes.iter().map(|c| (c.field.clone(), c.body())).collect(),
        ),
        other => panic!("expected 422, got {other:?}"),
    }
}

#[tokio::test]
async fn neither_attributes_is_invalid() {
    let err = review(default_authorizer(), user("u", &[]), ssar(json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 422);
    let (message, causes) = invalid_causes(err);
    assert_eq!(
        message,
        ".authorization.k8s.io \"\" is invalid: spec: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified"
    );
    assert_eq!(causes[0].0, "spec");
}

#[tokio::test]
async fn both_attributes_is_invalid() {
    let body = ssar(json!({
        "resourceAttributes": {"verb": "get"},
        "nonResourceAttributes": {"verb": "get", "path": "/x"}}));
    let err = review(default_authorizer(), user("u", &[]), body)
        .await
        .unwrap_err();
    let (message, causes) = invalid_causes(err);
    assert_eq!(
        message,
        ".authorization.k8s.io \"\" is invalid: spec: Invalid value: {\"Path\":\"/x\",\"Verb\":\"get\"}: exactly one of nonResourceAttributes or resourceAttributes must be specified"
    );
    assert_eq!(causes.len(), 1);
}

#[tokio::test]
async fn metadata_must_be_empty_but_for_managed_fields() {
    let mut body = ssar(json!({"nonResourceAttributes": {"verb": "get", "path": "/x"}}));
    body["metadata"] = json!({"managedFields": [{"manager": "m"}], "labels": {}});
    assert!(
        review(default_authorizer(), user("u", &[]), body.clone())
            .await
            .is_ok()
    );
    body["metadata"]["name"] = json!("x");
    let (_, causes) = invalid_causes(
        review(default_authorizer(), user("u", &[]), body)
            .await
            .unwrap_err(),
    );
    assert_eq!(causes[0].0, "metadata");
    assert!(causes[0].1.ends_with(": must be empty"), "{}", causes[0].1);
}

#[tokio::test]
async fn selectors_need_one_form() {
    let body = ssar(
        json!({"resourceAttributes": {"verb": "list", "resource": "pods",
        "fieldSelector": {},
        "labelSelector": {"rawSelector": "a=b", "requirements": [{"key": "a", "operator": "In", "values": ["b"]}]}}}),
    );
    let (_, causes) = invalid_causes(
        review(default_authorizer(), user("u", &[]), body)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        causes,
        vec![
            (
                "spec.resourceAttributes.fieldSelector.requirements".to_string(),
                "Required value: when spec.resourceAttributes.fieldSelector is specified, requirements or rawSelector is required".to_string()
            ),
            (
                "spec.resourceAttributes.labelSelector.rawSelector".to_string(),
                "Invalid value: \"a=b\": may not specified at the same time as requirements".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn unreadable_selectors_become_an_evaluation_error() {
    let body = ssar(
        json!({"resourceAttributes": {"verb": "list", "resource": "pods",
        "fieldSelector": {"requirements": [
            {"key": "spec.nodeName", "operator": "In", "values": ["n"]},
            {"key": "x", "operator": "Exists"}]},
        "labelSelector": {"rawSelector": "a in ("}}}),
    );
    let out = review(default_authorizer(), user("u", &[]), body)
        .await
        .unwrap();
    assert_eq!(
        out["status"],
        json!({"allowed": true, "evaluationError":
            "spec.resourceAttributes.fieldSelector partially ignored due to parse error; spec.resourceAttributes.labelSelector ignored due to parse error"})
    );
}

#[tokio::test]
async fn rules_review_lists_always_allow_rules() {
    let rest = SelfSubjectRulesReviewRest::new(default_authorizer());
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": "default"}});
    for who in [user("admin", &[SYSTEM_MASTERS]), user("dev", &[])] {
        let out = rest
            .create(&ctx_for(who), None, body.clone(), &WriteOptions::default())
            .await
            .unwrap();
        assert_eq!(
            out,
            json!({
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                "metadata": {}, "spec": {},
                "status": {
                    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    "incomplete": false,
                },
            })
        );
    }
}

#[tokio::test]
async fn rules_review_is_incomplete_when_an_authorizer_cannot_list_rules() {
    let rest = SelfSubjectRulesReviewRest::new(denying_union(Arc::default()));
    let body = json!({"spec": {"namespace": "ns"}});
    let out = rest
        .create(
            &ctx_for(user("dev", &[])),
            None,
            body,
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out["status"]["incomplete"], json!(true));
    assert_eq!(out["status"]["resourceRules"][0]["verbs"], json!(["*"]));
}

#[tokio::test]
async fn rules_review_needs_a_namespace() {
    let rest = SelfSubjectRulesReviewRest::new(default_authorizer());
    let err = rest
        .create(
            &ctx_for(user("u", &[])),
            None,
            json!({"spec": {}}),
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err, ApiError::BadRequest("no namespace on request".into()));
}

#[test]
fn discovery_lists_both_as_create_only_without_storage() {
    let resources = storage(default_authorizer());
    let names: Vec<&str> = resources.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]
    );
    let info = crate::endpoints::ApiVersionInfo {
        version: "v1".into(),
        resources,
    };
    let list = crate::endpoints::discovery::resource_list(GROUP, &info);
    let json = serde_json::to_value(list).unwrap();
    assert_eq!(
        json["resources"],
        json!([
            {"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview",
             "namespaced": false, "kind": "SelfSubjectAccessReview", "verbs": ["create"]},
            {"name": "selfsubjectrulesreviews", "singularName": "selfsubjectrulesreview",
             "namespaced": false, "kind": "SelfSubjectRulesReview", "verbs": ["create"]},
        ])
    );
}
