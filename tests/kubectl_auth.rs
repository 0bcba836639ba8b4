//! `kubectl auth whoami` and `kubectl auth can-i` against a real Capstan process: the self
//! reviews of authentication.k8s.io and authorization.k8s.io, sent by kubectl's typed clients
//! (protobuf bodies), answered from the server's own authenticator and authorizer.

mod support;

use serde_json::{Value, json};
use support::capstan::Capstan;

/// The name in the admin client certificate the generated kubeconfig carries.
const ADMIN: &str = "capstan-admin";

#[test]
fn whoami_shows_the_admin_and_its_groups() {
    let c = Capstan::start();
    let out = c.kubectl_ok(&["auth", "whoami", "-o", "json"]);
    let review: Value = serde_json::from_str(&out).expect("whoami -o json");
    assert_eq!(review["kind"], "SelfSubjectReview", "{out}");
    assert_eq!(review["apiVersion"], "authentication.k8s.io/v1", "{out}");
    assert_eq!(review["status"]["userInfo"]["username"], ADMIN, "{out}");
    assert_eq!(
        review["status"]["userInfo"]["groups"],
        json!(["system:masters", "system:authenticated"]),
        "{out}"
    );
    let table = c.kubectl_ok(&["auth", "whoami"]);
    assert!(table.contains(ADMIN), "{table}");
}

#[test]
fn kubectl_as_impersonates_a_user_groups_and_a_service_account() {
    let c = Capstan::start();
    let out = c.kubectl_ok(&[
        "auth",
        "whoami",
        "-o",
        "json",
        "--as=jane",
        "--as-group=devs",
        "--as-uid=42",
    ]);
    let review: Value = serde_json::from_str(&out).expect("whoami -o json");
    assert_eq!(
        review["status"]["userInfo"],
        json!({"username": "jane", "uid": "42", "groups": ["devs", "system:authenticated"]}),
        "{out}"
    );
    let out = c.kubectl_ok(&[
        "auth",
        "whoami",
        "-o",
        "json",
        "--as=system:serviceaccount:kube-system:builder",
    ]);
    let review: Value = serde_json::from_str(&out).expect("whoami -o json");
    assert_eq!(
        review["status"]["userInfo"]["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated"
        ]),
        "{out}"
    );
    // Groups without a user: kubectl refuses before sending; the server's own 400 is covered
    // by the filter's tests.
    assert!(
        !c.kubectl(&["get", "pods", "--as-group=devs"])
            .status
            .success()
    );
}

#[test]
fn can_i_asks_the_authorizer() {
    let c = Capstan::start();
    assert_eq!(
        c.kubectl_ok(&["auth", "can-i", "create", "pods"]).trim(),
        "yes"
    );
    assert_eq!(
        c.kubectl_ok(&["auth", "can-i", "get", "/healthz"]).trim(),
        "yes"
    );
    assert_eq!(
        c.kubectl_ok(&["auth", "can-i", "delete", "secrets", "-n", "kube-system"])
            .trim(),
        "yes"
    );

    let list = c.kubectl_ok(&["auth", "can-i", "--list"]);
    let header = list.lines().next().unwrap_or_default();
    for col in ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"] {
        assert!(header.contains(col), "{list}");
    }
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![vec!["*.*", "[]", "[]", "[*]"], vec!["[*]", "[]", "[*]"]],
        "{list}"
    );
}

#[tokio::test]
async fn reviews_over_http() {
    let c = Capstan::start();
    let (code, doc) = c
        .raw("GET", "/apis/authorization.k8s.io/v1", None, Vec::new())
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        doc["resources"],
        json!([
            {"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview",
             "namespaced": false, "kind": "SelfSubjectAccessReview", "verbs": ["create"]},
            {"name": "selfsubjectrulesreviews", "singularName": "selfsubjectrulesreview",
             "namespaced": false, "kind": "SelfSubjectRulesReview", "verbs": ["create"]},
        ])
    );
    let (code, doc) = c
        .raw("GET", "/apis/authentication.k8s.io/v1", None, Vec::new())
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        doc["resources"],
        json!([{"name": "selfsubjectreviews", "singularName": "selfsubjectreview",
                "namespaced": false, "kind": "SelfSubjectReview", "verbs": ["create"]}])
    );
    let (_, groups) = c.raw("GET", "/apis", None, Vec::new()).await;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "events.k8s.io",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "coordination.k8s.io",
            "capstan.dev"
        ]
    );

    let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "default"}}});
    let (code, review) = c
        .raw(
            "POST",
            &format!("{path}?dryRun=All&fieldManager=t"),
            Some("application/json"),
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    assert_eq!(code, 201, "{review}");
    assert_eq!(review["status"], json!({"allowed": true}), "{review}");
    assert_eq!(
        review["metadata"]["managedFields"][0]["manager"], "t",
        "{review}"
    );

    let (code, status) = c
        .raw(
            "POST",
            path,
            Some("application/json"),
            serde_json::to_vec(&json!({"apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview", "spec": {}}))
            .unwrap(),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["details"]["causes"][0]["field"], "spec", "{status}");

    let (code, _) = c.raw("GET", path, None, Vec::new()).await;
    assert_eq!(code, 405);
    let (code, _) = c.raw("GET", &format!("{path}/x"), None, Vec::new()).await;
    assert_eq!(code, 404);

    let (code, v2) = c.raw("GET", "/openapi/v2", None, Vec::new()).await;
    assert_eq!(code, 200);
    for definition in [
        "io.k8s.api.authentication.v1.SelfSubjectReview",
        "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
        "io.k8s.api.authorization.v1.SelfSubjectRulesReview",
    ] {
        assert!(v2["definitions"].get(definition).is_some(), "{definition}");
    }
    assert!(v2["paths"].get(path).is_some());
    let (code, v3) = c
        .raw(
            "GET",
            "/openapi/v3/apis/authorization.k8s.io/v1",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(code, 200);
    assert!(v3["paths"].get(path).is_some(), "{}", v3["paths"]);
}
