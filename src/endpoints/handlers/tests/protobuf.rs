//! `application/vnd.kubernetes.protobuf` bodies, with vectors written by apimachinery's own
//! serializer (src/api/protobuf/testdata).

use super::*;

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

fn vector(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/src/api/protobuf/testdata/{name}.pb",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn protobuf(method: &str, uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", PROTOBUF)
        .header(
            "accept",
            "application/vnd.kubernetes.protobuf,application/json",
        )
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn create_and_update_decode_protobuf_and_answer_json() {
    let s = server();
    let uri = "/api/v1/namespaces/default/configmaps";
    let (code, headers, body) =
        send(&s.router, protobuf("POST", uri, vector("go/configmap"))).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(headers["content-type"], "application/json");
    let created: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(created["kind"], "ConfigMap");
    assert_eq!(created["data"], json!({"mode": "fast", "empty": ""}));
    assert_eq!(
        created["binaryData"],
        json!({"blob": "AAEC/v8=", "nothing": ""})
    );
    assert_eq!(created["immutable"], json!(false));
    assert!(created["metadata"].get("uid").is_some_and(|u| u != ""));

    // The same object PUT back (its name and namespace match the URL).
    let (code, updated) = call(
        &s.router,
        protobuf("PUT", &format!("{uri}/settings"), vector("go/configmap")),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["metadata"]["labels"],
        json!({"app": "web", "tier": "front"})
    );

    // kubectl's own bytes for `kubectl create namespace captured-ns`.
    let (code, ns) = call(
        &s.router,
        protobuf("POST", "/api/v1/namespaces", vector("kubectl/namespace")),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(ns["metadata"]["name"], "captured-ns");
}

#[tokio::test]
async fn delete_options_may_be_protobuf() {
    let s = server();
    s.pods.insert("default", "p", pod("default", "p"));
    let (code, body) = call(
        &s.router,
        protobuf(
            "DELETE",
            "/api/v1/namespaces/default/pods/p",
            vector("go/deleteoptions"),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let opts = s.pods.last_delete.lock().unwrap().clone().unwrap();
    assert_eq!(opts.grace_period_seconds, Some(0));
    assert_eq!(opts.propagation_policy.as_deref(), Some("Background"));
    assert_eq!(opts.dry_run, Some(vec!["All".to_string()]));
    let preconditions = opts.preconditions.unwrap();
    assert_eq!(preconditions.resource_version.as_deref(), Some("42"));

    // Another kind in the body is not DeleteOptions.
    s.pods.insert("default", "q", pod("default", "q"));
    let (code, body) = call(
        &s.router,
        protobuf(
            "DELETE",
            "/api/v1/namespaces/default/pods/q",
            vector("go/binding"),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_status(&body, 400, "BadRequest"),
        "decoded object cannot be converted to DeleteOptions"
    );
}

#[tokio::test]
async fn custom_groups_take_no_protobuf() {
    let s = server();
    let (code, body) = call(
        &s.router,
        protobuf(
            "POST",
            "/apis/capstan.dev/v1/namespaces/d/widgets",
            vector("go/configmap"),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        assert_status(&body, 415, "UnsupportedMediaType"),
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"
    );
    // Built-in kinds list protobuf among what they accept.
    let (_, body) = call(
        &s.router,
        Request::builder()
            .method("POST")
            .uri("/api/v1/namespaces/d/configmaps")
            .header("content-type", "text/plain")
            .body(Body::from("x"))
            .unwrap(),
    )
    .await;
    assert_eq!(
        assert_status(&body, 415, "UnsupportedMediaType"),
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
    );
    assert!(s.widgets.objects.lock().unwrap().items.is_empty());
}

#[tokio::test]
async fn bad_protobuf_is_400_worded_as_kube() {
    let s = server();
    let uri = "/api/v1/namespaces/default/configmaps";
    let (code, body) = call(&s.router, protobuf("POST", uri, b"{\"kind\":1}".to_vec())).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_status(&body, 400, "BadRequest"),
        "the object provided is unrecognized (must be of type ConfigMap): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] (7b226b696e64223a317d)"
    );

    // A valid envelope around bytes that are not a ConfigMap.
    let broken = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x02\x0a\x09".to_vec();
    let (code, body) = call(&s.router, protobuf("POST", uri, broken)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let message = assert_status(&body, 400, "BadRequest");
    assert!(
        message.starts_with("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: "),
        "{message}"
    );

    // A Secret sent to configmaps decodes, then is refused as another kind.
    let (code, body) = call(&s.router, protobuf("POST", uri, vector("go/secret"))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        assert_status(&body, 400, "BadRequest")
            .starts_with("Secret in version \"v1\" cannot be handled as a ConfigMap")
    );
    assert!(s.configmaps.objects.lock().unwrap().items.is_empty());
}
