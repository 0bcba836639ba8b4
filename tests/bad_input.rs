//! Bad input gets DECISIONS.md's code and reason, and changes nothing stored.

mod support;

use serde_json::{Value, json};
use support::capstan::Capstan;

const PODS: &str = "/api/v1/namespaces/default/pods";
const JSON: Option<&str> = Some("application/json");

fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]}
    })
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

fn assert_status(code: u16, status: &Value, want_code: u16, want_reason: &str) {
    assert_eq!(code, want_code, "{status}");
    assert_eq!(status["kind"], "Status", "{status}");
    assert_eq!(status["apiVersion"], "v1", "{status}");
    assert_eq!(status["status"], "Failure", "{status}");
    assert_eq!(status["code"], want_code, "{status}");
    assert_eq!(status["reason"], want_reason, "{status}");
    assert!(
        status["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{status}"
    );
}

/// Names of pods in `default`, and the list's resourceVersion.
async fn stored_pods(c: &Capstan) -> Vec<String> {
    let (code, list) = c.raw("GET", PODS, None, Vec::new()).await;
    assert_eq!(code, 200, "{list}");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn bad_creates_store_nothing() {
    let c = Capstan::start();
    let before = stored_pods(&c).await;
    assert!(before.is_empty());

    // malformed JSON
    let (code, s) = c
        .raw(
            "POST",
            PODS,
            JSON,
            b"{\"apiVersion\": \"v1\", \"kind\": ".to_vec(),
        )
        .await;
    assert_status(code, &s, 400, "BadRequest");

    // 4 MiB body
    let mut big = pod("big");
    big["metadata"]["annotations"] = json!({"blob": "x".repeat(4 * 1024 * 1024)});
    let (code, s) = c.raw("POST", PODS, JSON, body(&big)).await;
    assert_status(code, &s, 413, "RequestEntityTooLarge");

    // invalid name
    let (code, s) = c.raw("POST", PODS, JSON, body(&pod("Bad_Name"))).await;
    assert_status(code, &s, 422, "Invalid");
    assert_eq!(s["details"]["kind"], "Pod");
    assert_eq!(s["details"]["name"], "Bad_Name");
    assert_eq!(s["details"]["causes"][0]["field"], "metadata.name");
    assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueInvalid");

    // missing containers
    let mut empty = pod("empty");
    empty["spec"] = json!({});
    let (code, s) = c.raw("POST", PODS, JSON, body(&empty)).await;
    assert_status(code, &s, 422, "Invalid");
    let causes = s["details"]["causes"].as_array().expect("causes");
    assert!(
        causes
            .iter()
            .any(|c| c["field"] == "spec.containers" && c["reason"] == "FieldValueRequired"),
        "{s}"
    );
    assert!(
        s["message"]
            .as_str()
            .unwrap_or_default()
            .contains("spec.containers: Required value"),
        "{s}"
    );

    // wrong kind for the URL
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}});
    let (code, s) = c.raw("POST", PODS, JSON, body(&cm)).await;
    assert_status(code, &s, 400, "BadRequest");

    // wrong apiVersion for the URL
    let mut other = pod("other");
    other["apiVersion"] = json!("capstan.dev/v1");
    let (code, s) = c.raw("POST", PODS, JSON, body(&other)).await;
    assert_status(code, &s, 400, "BadRequest");

    // namespace in the body differs from the URL
    let mut elsewhere = pod("elsewhere");
    elsewhere["metadata"]["namespace"] = json!("kube-system");
    let (code, s) = c.raw("POST", PODS, JSON, body(&elsewhere)).await;
    assert_status(code, &s, 400, "BadRequest");

    // unknown content type
    let (code, s) = c
        .raw("POST", PODS, Some("text/plain"), body(&pod("text")))
        .await;
    assert_status(code, &s, 415, "UnsupportedMediaType");

    assert!(
        stored_pods(&c).await.is_empty(),
        "a bad request stored something"
    );
}

#[tokio::test]
async fn namespace_that_does_not_exist_is_not_found() {
    let c = Capstan::start();
    let (code, s) = c
        .raw(
            "POST",
            "/api/v1/namespaces/nowhere/pods",
            JSON,
            body(&pod("p")),
        )
        .await;
    assert_status(code, &s, 404, "NotFound");
    assert_eq!(s["details"]["kind"], "namespaces");
    assert_eq!(s["details"]["name"], "nowhere");
    assert_eq!(s["message"], "namespaces \"nowhere\" not found");
    let (code, list) = c.raw("GET", "/api/v1/pods", None, Vec::new()).await;
    assert_eq!(code, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
}

#[tokio::test]
async fn stale_resource_version_conflicts_and_keeps_the_stored_object() {
    let c = Capstan::start();
    let (code, created) = c.raw("POST", PODS, JSON, body(&pod("p"))).await;
    assert_eq!(code, 201, "{created}");
    let stale = created["metadata"]["resourceVersion"].clone();

    let mut first = created.clone();
    first["metadata"]["labels"] = json!({"v": "1"});
    let (code, updated) = c.raw("PUT", &format!("{PODS}/p"), JSON, body(&first)).await;
    assert_eq!(code, 200, "{updated}");

    let mut second = created.clone();
    second["metadata"]["resourceVersion"] = stale;
    second["metadata"]["labels"] = json!({"v": "2"});
    let (code, s) = c
        .raw("PUT", &format!("{PODS}/p"), JSON, body(&second))
        .await;
    assert_status(code, &s, 409, "Conflict");
    assert_eq!(s["details"]["kind"], "pods");
    assert_eq!(s["details"]["name"], "p");
    assert_eq!(
        s["message"],
        "Operation cannot be fulfilled on pods \"p\": the object has been modified; please apply your changes to the latest version and try again"
    );

    let (code, now) = c.raw("GET", &format!("{PODS}/p"), None, Vec::new()).await;
    assert_eq!(code, 200);
    assert_eq!(now["metadata"]["labels"]["v"], "1");
    assert_eq!(
        now["metadata"]["resourceVersion"],
        updated["metadata"]["resourceVersion"]
    );

    // a name in the body that differs from the URL
    let mut renamed = now.clone();
    renamed["metadata"]["name"] = json!("q");
    let (code, s) = c
        .raw("PUT", &format!("{PODS}/p"), JSON, body(&renamed))
        .await;
    assert_status(code, &s, 400, "BadRequest");

    // creating it again
    let (code, s) = c.raw("POST", PODS, JSON, body(&pod("p"))).await;
    assert_status(code, &s, 409, "AlreadyExists");
    assert_eq!(s["details"]["kind"], "pods");
    let (_, after) = c.raw("GET", &format!("{PODS}/p"), None, Vec::new()).await;
    assert_eq!(
        after["metadata"]["resourceVersion"],
        now["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn unknown_resources_verbs_and_media_types() {
    let c = Capstan::start();
    let (code, s) = c
        .raw(
            "GET",
            "/api/v1/namespaces/default/widgets",
            None,
            Vec::new(),
        )
        .await;
    assert_status(code, &s, 404, "NotFound");

    let (code, s) = c
        .raw("GET", &format!("{PODS}/missing"), None, Vec::new())
        .await;
    assert_status(code, &s, 404, "NotFound");
    assert_eq!(s["message"], "pods \"missing\" not found");
    assert_eq!(s["details"]["kind"], "pods");

    let (code, s) = c
        .raw("GET", &format!("{PODS}/missing/binding"), None, Vec::new())
        .await;
    assert_status(code, &s, 405, "MethodNotAllowed");
}

/// Methods a path does not take: kube-apiserver's go-restful routes (`/version`, `/api`, group
/// versions, resources) refuse HEAD and unregistered methods with a 405 Status; its plain mux
/// (`/`, `/apis`, `/apis/<group>`, `/openapi/…`) answers any method as GET. The expected answers
/// are kube-apiserver 1.37.2's (`methods_are_answered_as_kube_apiserver_answers_them` in
/// tests/kube_apiserver.rs compares the two live).
#[tokio::test]
async fn methods_are_refused_or_served_as_kube_routes_them() {
    let c = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    for (method, path, code) in [
        ("HEAD", "/version", 405),
        ("POST", "/version", 405),
        ("HEAD", "/api", 405),
        ("DELETE", "/api", 405),
        ("POST", "/api/v1", 405),
        ("HEAD", "/api/v1/namespaces/default", 405),
        ("OPTIONS", "/api/v1/namespaces", 405),
        ("HEAD", "/api/v1/nope", 404),
        ("POST", "/", 200),
        ("HEAD", "/", 200),
        ("POST", "/apis", 200),
        ("POST", "/apis/coordination.k8s.io", 200),
        ("POST", "/openapi/v2", 200),
    ] {
        let (status, body) = c.raw(method, path, None, Vec::new()).await;
        assert_eq!(status, code, "{method} {path}: {body}");
        if code == 405 && method != "HEAD" {
            assert_eq!(body["kind"], "Status", "{method} {path}");
            assert_eq!(body["reason"], "MethodNotAllowed", "{method} {path}");
            assert_eq!(body["code"], 405, "{method} {path}");
        }
    }
    // Nothing was created by the refused writes.
    let (_, namespaces) = c.raw("GET", "/api/v1/namespaces", None, Vec::new()).await;
    assert_eq!(namespaces["items"].as_array().map(Vec::len), Some(3));
}

/// Found by tests/hostile_input.rs and compared with kube-apiserver 1.37.2
/// (tests/hostile_vs_kube.rs): each of these was accepted, or refused with another code.
#[tokio::test]
async fn wrongly_typed_type_meta_and_namespace_and_invalid_utf8_answer_like_kube() {
    let c = Capstan::start();
    for (field, value) in [
        ("apiVersion", json!(5)),
        ("kind", json!({})),
        ("apiVersion", json!([1])),
    ] {
        let mut p = pod("typed");
        p[field] = value;
        let (code, s) = c.raw("POST", PODS, JSON, body(&p)).await;
        assert_status(code, &s, 400, "BadRequest");
    }
    for namespace in [json!(7), json!(true), json!({"x": 1})] {
        let mut p = pod("typed");
        p["metadata"]["namespace"] = namespace;
        let (code, s) = c.raw("POST", PODS, JSON, body(&p)).await;
        assert_status(code, &s, 400, "BadRequest");
    }
    assert!(stored_pods(&c).await.is_empty());

    // Go reads invalid UTF-8 as U+FFFD: the label value then fails validation
    let text = String::from_utf8(body(&pod("utf8"))).unwrap().replace(
        "\"metadata\":{",
        "\"metadata\":{\"labels\":{\"a\":\"x\u{2}y\"},",
    );
    let bytes: Vec<u8> = text
        .into_bytes()
        .into_iter()
        .map(|b| if b == 2 { 0xff } else { b })
        .collect();
    let (code, s) = c.raw("POST", PODS, JSON, bytes).await;
    assert_status(code, &s, 422, "Invalid");
    assert_eq!(s["details"]["causes"][0]["field"], "metadata.labels", "{s}");

    // a null body is an empty object: the name is missing
    let (code, s) = c.raw("POST", PODS, JSON, b"null".to_vec()).await;
    assert_status(code, &s, 422, "Invalid");
    assert!(stored_pods(&c).await.is_empty());
}

/// kube decodes a patched object into its Go type and answers a failure with 422 on field
/// `patch` (patch.go, `jsonPatcher.applyPatchToCurrentObject`); found by the hostile sweep
/// compared with kube-apiserver 1.37.2.
#[tokio::test]
async fn a_patch_that_leaves_an_undecodable_object_is_422_on_patch() {
    let c = Capstan::start();
    let (code, created) = c.raw("POST", PODS, JSON, body(&pod("p"))).await;
    assert_eq!(code, 201, "{created}");
    let path = format!("{PODS}/p");
    for (content_type, patch) in [
        ("application/merge-patch+json", json!({"spec": 7})),
        (
            "application/merge-patch+json",
            json!({"metadata": {"name": [1]}}),
        ),
        (
            "application/json-patch+json",
            json!([{"op": "replace", "path": "/apiVersion", "value": 5}]),
        ),
        (
            "application/json-patch+json",
            json!([{"op": "replace", "path": "/kind", "value": {}}]),
        ),
        (
            "application/strategic-merge-patch+json",
            json!({"spec": {"containers": [{"name": "main", "image": 7}]}}),
        ),
    ] {
        let (code, s) = c
            .raw("PATCH", &path, Some(content_type), body(&patch))
            .await;
        assert_status(code, &s, 422, "Invalid");
        assert_eq!(s["details"]["causes"][0]["field"], "patch", "{s}");
    }
    let (_, now) = c.raw("GET", &path, None, Vec::new()).await;
    assert_eq!(
        now["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    assert_eq!(now["apiVersion"], "v1");
}
