//! Body decoding edge cases found by the hostile-input sweep (tests/hostile_input.rs), each
//! answered as kube's decoder answers it.

use super::*;
use crate::endpoints::handlers::ensure_namespace;

fn raw_json(uri: &str, body: &[u8]) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap()
}

#[tokio::test]
async fn api_version_or_kind_of_the_wrong_json_type_is_400() {
    let s = server();
    let uri = "/api/v1/namespaces/d/pods";
    let body = br#"{"apiVersion":5,"kind":"Pod","metadata":{"name":"p"}}"#;
    let (code, status) = call(&s.router, raw_json(uri, body)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_status(&status, 400, "BadRequest"),
        "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: json: cannot unmarshal number into Go struct field .apiVersion of type string ({\"apiVersion\":5,\"kind\":\"Pod\",\" ...)"
    );
    let body = br#"{"kind":{},"metadata":{"name":"p"}}"#;
    let (code, status) = call(&s.router, raw_json(uri, body)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        assert_status(&status, 400, "BadRequest")
            .contains("cannot unmarshal object into Go struct field .kind of type string"),
        "{status}"
    );
    // null is Go's zero string: defaulted from the URL
    let body = br#"{"apiVersion":null,"kind":null,"metadata":{"name":"p"}}"#;
    let (code, created) = call(&s.router, raw_json(uri, body)).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(created["kind"], "Pod");
}

#[tokio::test]
async fn invalid_utf8_is_read_as_replacement_characters() {
    let s = server();
    let body = b"{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"x\xffy\"}}}";
    let (code, created) = call(&s.router, raw_json("/api/v1/namespaces/d/pods", body)).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(created["metadata"]["labels"]["a"], "x\u{FFFD}y");
}

#[tokio::test]
async fn a_null_body_is_an_empty_object() {
    let s = server();
    let (code, created) = call(
        &s.router,
        raw_json("/api/v1/namespaces/d/configmaps", b"null"),
    )
    .await;
    // the fake store does not validate names; the body got past decoding with the URL's type
    assert_ne!(code, StatusCode::BAD_REQUEST, "{created}");
}

#[tokio::test]
async fn a_namespace_of_the_wrong_json_type_is_not_replaced_by_the_url_namespace() {
    let mut object = json!({"metadata": {"name": "p", "namespace": 7}});
    ensure_namespace(&mut object, Some("d")).unwrap();
    assert_eq!(
        object["metadata"]["namespace"], 7,
        "left for the typed decoder to refuse"
    );
    let mut object = json!({"metadata": {"name": "p", "namespace": null}});
    ensure_namespace(&mut object, Some("d")).unwrap();
    assert_eq!(object["metadata"]["namespace"], "d");
}

#[tokio::test]
async fn invalid_utf8_in_a_key_is_an_unknown_field_not_a_parse_error() {
    let s = schema_server();
    let body = b"{\"metadata\":{\"name\":\"p\"},\"sp\xffec\":{}}";
    let uri = "/api/v1/namespaces/d/pods?fieldValidation=Strict";
    let (code, status) = call(&s.router, raw_json(uri, body)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{status}");
    let message = assert_status(&status, 400, "BadRequest");
    assert!(
        message.contains("unknown field \"sp\u{FFFD}ec\""),
        "{message}"
    );
}
