use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::registry::authorization::tests_support::ctx_for;

#[tokio::test]
async fn echoes_the_requesting_user() {
    let rest = SelfSubjectReviewRest::new();
    let user = crate::auth::UserInfo {
        name: "alice".into(),
        uid: "u-1".into(),
        groups: vec!["dev".into(), "system:authenticated".into()],
        extra: BTreeMap::from([("scopes".to_string(), vec!["a".to_string()])]),
    };
    let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let out = rest
        .create(&ctx_for(user), None, body, &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(out["kind"], "SelfSubjectReview");
    assert_eq!(out["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(
        out["status"]["userInfo"],
        json!({
            "username": "alice", "uid": "u-1",
            "groups": ["dev", "system:authenticated"],
            "extra": {"scopes": ["a"]},
        })
    );
    let created = out["metadata"]["creationTimestamp"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && !created.contains('.'),
        "{created}"
    );
}

#[tokio::test]
async fn leaves_out_empty_user_fields() {
    let user = crate::auth::UserInfo {
        name: "bob".into(),
        ..Default::default()
    };
    let out = SelfSubjectReviewRest::new()
        .create(&ctx_for(user), None, json!({}), &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(out["status"]["userInfo"], json!({"username": "bob"}));
}

#[test]
fn is_a_create_only_virtual_resource() {
    let rest = SelfSubjectReviewRest::new();
    assert_eq!(rest.verbs(), BTreeSet::from([Verb::Create]));
    assert!(!rest.is_stored());
    assert_eq!(rest.descriptor().singular, "selfsubjectreview");
    assert!(rest.descriptor().short_names.is_empty());
}
