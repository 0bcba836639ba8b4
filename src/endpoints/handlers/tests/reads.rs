//! get and list: object and list shapes, pagination, Table and metadata conversions.

use super::*;

const KUBECTL_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

fn with_accept(path: &str, accept: &str) -> Request<Body> {
    Request::get(path)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn get_returns_the_object_or_a_not_found_status() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let (code, body) = call(
        &s.router,
        request("GET", "/api/v1/namespaces/d/pods/p", None),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (body["kind"].as_str(), body["metadata"]["name"].as_str()),
        (Some("Pod"), Some("p"))
    );

    let (code, body) = call(
        &s.router,
        request("GET", "/api/v1/namespaces/d/pods/q", None),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(
        assert_status(&body, 404, "NotFound"),
        "pods \"q\" not found"
    );
    assert_eq!(body["details"], json!({"name": "q", "kind": "pods"}));

    // A subresource reads the parent's object.
    let (code, body) = call(
        &s.router,
        request("GET", "/api/v1/namespaces/d/pods/p/status", None),
    )
    .await;
    assert_eq!(
        (code, body["metadata"]["name"].as_str()),
        (StatusCode::OK, Some("p"))
    );
    // kube-rs appends a bare `?`.
    let (code, _) = call(
        &s.router,
        request("GET", "/api/v1/namespaces/d/pods/p?", None),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn list_is_a_kind_list_in_one_or_all_namespaces() {
    let s = server();
    s.pods.insert("d", "a", pod("d", "a"));
    s.pods.insert("e", "b", pod("e", "b"));
    let (code, body) = call(&s.router, request("GET", "/api/v1/namespaces/d/pods", None)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["kind"], "PodList");
    assert_eq!(body["apiVersion"], "v1");
    assert_eq!(body["metadata"], json!({"resourceVersion": "2"}));
    assert_eq!(body["items"].as_array().unwrap().len(), 1);

    let (_, body) = call(&s.router, request("GET", "/api/v1/pods", None)).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    assert_eq!(s.pods.last_ctx.lock().unwrap().as_ref().unwrap().0, None);

    let (_, body) = call(
        &s.router,
        request("GET", "/apis/capstan.dev/v1/namespaces/d/widgets", None),
    )
    .await;
    assert_eq!(
        (body["kind"].as_str(), body["apiVersion"].as_str()),
        (Some("WidgetList"), Some("capstan.dev/v1"))
    );
    assert_eq!(body["items"], json!([]));
}

#[tokio::test]
async fn kube_rs_paginated_list() {
    let s = server();
    for name in ["a", "b", "c"] {
        s.pods.insert("d", name, pod("d", name));
    }
    let (code, body) = call(
        &s.router,
        request(
            "GET",
            "/api/v1/namespaces/d/pods?&limit=2&resourceVersion=0",
            None,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body["metadata"],
        json!({"resourceVersion": "3", "continue": "next-page", "remainingItemCount": 1})
    );
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let opts = s.pods.last_list.lock().unwrap().clone().unwrap();
    assert_eq!(
        (opts.limit, opts.resource_version.as_deref(), opts.watch),
        (Some(2), Some("0"), false)
    );
}

#[tokio::test]
async fn bad_list_options() {
    let s = server();
    let (code, body) = call(
        &s.router,
        request("GET", "/api/v1/namespaces/d/pods?limit=ten", None),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_status(&body, 400, "BadRequest"),
        "strconv.ParseInt: parsing \"ten\": invalid syntax"
    );
    assert!(body.get("details").is_none());
    let (code, body) = call(
        &s.router,
        request(
            "GET",
            "/api/v1/namespaces/d/pods?resourceVersionMatch=Exact",
            None,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_status(&body, 422, "Invalid");
    assert_eq!(body["details"]["kind"], "ListOptions");
    assert_eq!(
        body["details"]["causes"][0]["field"],
        "resourceVersionMatch"
    );
    assert_eq!(
        body["details"]["causes"][0]["reason"],
        "FieldValueForbidden"
    );
}

#[tokio::test]
async fn kubectl_get_receives_a_table() {
    let s = server();
    let mut w = pod("d", "w1");
    w["apiVersion"] = json!("capstan.dev/v1");
    w["kind"] = json!("Widget");
    s.widgets.insert("d", "w1", w);
    let (code, body) = call(
        &s.router,
        with_accept(
            "/apis/capstan.dev/v1/namespaces/d/widgets?limit=500",
            KUBECTL_ACCEPT,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (body["kind"].as_str(), body["apiVersion"].as_str()),
        (Some("Table"), Some("meta.k8s.io/v1"))
    );
    assert_eq!(body["metadata"], json!({"resourceVersion": "1"}));
    let columns: Vec<&str> = body["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Phase"]);
    assert_eq!(body["rows"][0]["cells"], json!(["w1", "Running"]));
    let object = &body["rows"][0]["object"];
    assert_eq!(
        (object["kind"].as_str(), object["apiVersion"].as_str()),
        (Some("PartialObjectMetadata"), Some("meta.k8s.io/v1"))
    );
    assert_eq!(object["metadata"]["name"], "w1");
    assert!(object.get("spec").is_none());

    let path = "/apis/capstan.dev/v1/namespaces/d/widgets?includeObject=None";
    let (_, body) = call(&s.router, with_accept(path, KUBECTL_ACCEPT)).await;
    assert!(body["rows"][0].get("object").is_none());
    let path = "/apis/capstan.dev/v1/namespaces/d/widgets?includeObject=Object";
    let (_, body) = call(&s.router, with_accept(path, KUBECTL_ACCEPT)).await;
    assert_eq!(body["rows"][0]["object"]["kind"], "Widget");
    let path = "/apis/capstan.dev/v1/namespaces/d/widgets?includeObject=Everything";
    let (code, body) = call(&s.router, with_accept(path, KUBECTL_ACCEPT)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_status(&body, 400, "BadRequest");
}

#[tokio::test]
async fn get_as_table_and_default_columns() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let (code, body) = call(
        &s.router,
        with_accept("/api/v1/namespaces/d/pods/p", KUBECTL_ACCEPT),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["kind"], "Table");
    assert_eq!(body["metadata"]["resourceVersion"], "1");
    let columns: Vec<&str> = body["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Created At"]);
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["rows"][0]["cells"],
        json!(["p", "2026-01-01T00:00:00Z"])
    );
    // Without the Table clause the same request is the object.
    let (_, body) = call(
        &s.router,
        with_accept("/api/v1/namespaces/d/pods/p", "application/json"),
    )
    .await;
    assert_eq!(body["kind"], "Pod");
}

#[tokio::test]
async fn metadata_clients_get_partial_object_metadata() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let list_accept = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
    let (code, body) = call(&s.router, with_accept("/api/v1/pods", list_accept)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["kind"], "PartialObjectMetadataList");
    assert_eq!(body["items"][0]["kind"], "PartialObjectMetadata");
    assert!(body["items"][0].get("spec").is_none());

    let one = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    let (_, body) = call(&s.router, with_accept("/api/v1/namespaces/d/pods/p", one)).await;
    assert_eq!(
        (body["kind"].as_str(), body["metadata"]["name"].as_str()),
        (Some("PartialObjectMetadata"), Some("p"))
    );
    let (code, body) = call(&s.router, with_accept("/api/v1/pods", one)).await;
    assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
    assert_status(&body, 406, "NotAcceptable");
}

#[tokio::test]
async fn unsatisfiable_accept_is_406_before_the_read() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let (code, body) = call(
        &s.router,
        with_accept(
            "/api/v1/namespaces/d/pods/p",
            "application/vnd.kubernetes.protobuf",
        ),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        assert_status(&body, 406, "NotAcceptable"),
        "only the following media types are accepted: application/json, application/yaml"
    );
    assert!(
        s.pods.last_ctx.lock().unwrap().is_none(),
        "the Rest was not called"
    );
}

#[tokio::test]
async fn yaml_output() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let (code, headers, body) = send(
        &s.router,
        with_accept("/api/v1/namespaces/d/pods/p", "application/yaml"),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/yaml");
    let value: Value = serde_saphyr::from_slice(&body).unwrap();
    assert_eq!(value["metadata"]["name"], "p");
}
