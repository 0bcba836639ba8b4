//! The impersonation filter against kube's `WithImpersonation`: who the handler sees, what is
//! authorized, and the 400/403 answers.

use std::sync::Mutex;

use async_trait::async_trait;
use axum::body::Body;
use http_body_util::BodyExt;
use tower::{ServiceExt, service_fn};

use super::*;

/// Records every question and allows all but the listed (resource, name) pairs.
#[derive(Default)]
struct Recording {
    asked: Mutex<Vec<Attributes>>,
    deny: Vec<(&'static str, &'static str)>,
}

#[async_trait]
impl Authorizer for Recording {
    async fn authorize(&self, attrs: &Attributes) -> Decision {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(attrs.clone());
        }
        let denied = self
            .deny
            .iter()
            .any(|(r, n)| attrs.resource == *r && attrs.name == *n);
        if denied {
            Decision::NoOpinion
        } else {
            Decision::Allow
        }
    }
}

struct Outcome {
    status: u16,
    /// The user and the remaining impersonation headers the handler saw, or the error body.
    seen: serde_json::Value,
}

async fn call(authorizer: Arc<Recording>, headers: &[(&str, &str)]) -> Outcome {
    let handler = service_fn(|req: Request| async move {
        let user = req
            .extensions()
            .get::<UserInfo>()
            .cloned()
            .unwrap_or_default();
        let left: Vec<String> = req
            .headers()
            .keys()
            .filter(|k| k.as_str().starts_with("impersonate-"))
            .map(|k| k.to_string())
            .collect();
        let body = serde_json::json!({
            "name": user.name, "uid": user.uid, "groups": user.groups, "extra": user.extra,
            "left": left,
        });
        Ok::<_, Infallible>(Response::new(Body::from(body.to_string())))
    });
    let svc = ImpersonateLayer::new(authorizer).layer(handler);
    let mut req = http::Request::builder().uri("/api/v1/pods");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut().insert(UserInfo {
        name: "admin".into(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
        ..Default::default()
    });
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Outcome {
        status,
        seen: serde_json::from_slice(&bytes).unwrap(),
    }
}

#[tokio::test]
async fn without_headers_the_authenticated_user_passes_unasked() {
    let authz = Arc::new(Recording::default());
    let out = call(authz.clone(), &[]).await;
    assert_eq!(out.status, 200);
    assert_eq!(out.seen["name"], "admin");
    assert!(authz.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_user_with_groups_extras_and_uid_replaces_the_caller() {
    let authz = Arc::new(Recording::default());
    let out = call(
        authz.clone(),
        &[
            ("Impersonate-User", "jane"),
            ("Impersonate-Group", "devs"),
            ("Impersonate-Group", "ops"),
            ("Impersonate-Extra-Scopes%2Fv1", "view"),
            ("Impersonate-Uid", "1234"),
        ],
    )
    .await;
    assert_eq!(out.status, 200);
    assert_eq!(out.seen["name"], "jane");
    assert_eq!(out.seen["uid"], "1234");
    assert_eq!(
        out.seen["groups"],
        serde_json::json!(["devs", "ops", "system:authenticated"])
    );
    assert_eq!(
        out.seen["extra"],
        serde_json::json!({"scopes/v1": ["view"]})
    );
    assert_eq!(out.seen["left"], serde_json::json!([]));
    let asked = authz.asked.lock().unwrap();
    let summary: Vec<_> = asked
        .iter()
        .map(|a| {
            (
                a.verb.as_str(),
                a.api_group.as_str(),
                a.resource.as_str(),
                a.subresource.as_str(),
                a.name.as_str(),
                a.user.name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("impersonate", "", "users", "", "jane", "admin"),
            ("impersonate", "", "groups", "", "devs", "admin"),
            ("impersonate", "", "groups", "", "ops", "admin"),
            (
                "impersonate",
                "authentication.k8s.io",
                "userextras",
                "scopes/v1",
                "view",
                "admin"
            ),
            (
                "impersonate",
                "authentication.k8s.io",
                "uids",
                "",
                "1234",
                "admin"
            ),
        ]
    );
}

#[tokio::test]
async fn a_service_account_gets_its_groups_unless_groups_are_given() {
    let authz = Arc::new(Recording::default());
    let sa = "system:serviceaccount:kube-system:builder";
    let out = call(authz.clone(), &[("Impersonate-User", sa)]).await;
    assert_eq!(out.seen["name"], sa);
    assert_eq!(
        out.seen["groups"],
        serde_json::json!([
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated"
        ])
    );
    {
        let asked = authz.asked.lock().unwrap();
        assert_eq!(asked[0].resource, "serviceaccounts");
        assert_eq!(asked[0].namespace, "kube-system");
        assert_eq!(asked[0].name, "builder");
    }
    let out = call(
        authz,
        &[("Impersonate-User", sa), ("Impersonate-Group", "only")],
    )
    .await;
    assert_eq!(
        out.seen["groups"],
        serde_json::json!(["only", "system:authenticated"])
    );
    // A malformed service-account name is an ordinary user.
    let authz = Arc::new(Recording::default());
    let out = call(
        authz.clone(),
        &[("Impersonate-User", "system:serviceaccount:Bad:x")],
    )
    .await;
    assert_eq!(out.seen["name"], "system:serviceaccount:Bad:x");
    assert_eq!(authz.asked.lock().unwrap()[0].resource, "users");
}

#[tokio::test]
async fn the_anonymous_user_is_unauthenticated() {
    let out = call(
        Arc::new(Recording::default()),
        &[("Impersonate-User", "system:anonymous")],
    )
    .await;
    assert_eq!(
        out.seen["groups"],
        serde_json::json!(["system:unauthenticated"])
    );
}

#[tokio::test]
async fn a_refused_part_is_403_in_kubes_words() {
    let authz = Arc::new(Recording {
        deny: vec![("groups", "system:masters")],
        ..Default::default()
    });
    let out = call(
        authz,
        &[
            ("Impersonate-User", "jane"),
            ("Impersonate-Group", "system:masters"),
        ],
    )
    .await;
    assert_eq!(out.status, 403);
    assert_eq!(out.seen["reason"], "Forbidden");
    assert_eq!(
        out.seen["message"],
        "groups \"system:masters\" is forbidden: User \"admin\" cannot impersonate resource \"groups\" in API group \"\" at the cluster scope"
    );
    assert_eq!(out.seen["details"]["name"], "system:masters");
    assert_eq!(out.seen["details"]["kind"], "groups");
}

#[tokio::test]
async fn groups_without_a_user_are_400() {
    let out = call(
        Arc::new(Recording::default()),
        &[("Impersonate-Group", "devs"), ("Impersonate-Uid", "7")],
    )
    .await;
    assert_eq!(out.status, 400);
    assert_eq!(out.seen["reason"], "BadRequest");
    assert_eq!(
        out.seen["message"],
        "requested [{Group  devs    } {UID  7  authentication.k8s.io/v1  }] without impersonating a user"
    );
}

#[test]
fn extra_keys_are_path_unescaped_unless_malformed() {
    assert_eq!(path_unescape("scopes%2fv1"), "scopes/v1");
    assert_eq!(path_unescape("a%zz"), "a%zz");
    assert_eq!(path_unescape("plain+key"), "plain+key");
}
