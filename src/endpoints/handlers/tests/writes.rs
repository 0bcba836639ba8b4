//! create, update, patch, delete and deletecollection.

use super::*;

fn raw(method: &str, uri: &str, content_type: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn create_is_201_with_the_stored_object() {
    let s = server();
    let mut body = pod("", "p");
    body["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    body["metadata"]["uid"] = json!("client-made-this-up");
    let uri = "/api/v1/namespaces/d/pods?fieldManager=kubectl-create&fieldValidation=Strict";
    let (code, created) = call(&s.router, request("POST", uri, Some(body))).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(
        created["metadata"]["namespace"], "d",
        "the URL's namespace is filled in"
    );
    assert_eq!(
        created["metadata"]["uid"], "uid-p",
        "system fields from the client are wiped"
    );
    assert!(created["metadata"].get("creationTimestamp").is_none());
    let opts = s.pods.last_write.lock().unwrap().clone().unwrap();
    assert_eq!(opts.field_manager.as_deref(), Some("kubectl-create"));

    let (code, body) = call(
        &s.router,
        request("POST", "/api/v1/namespaces/d/pods", Some(pod("d", "p"))),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(
        assert_status(&body, 409, "AlreadyExists"),
        "pods \"p\" already exists"
    );
    assert_eq!(body["details"], json!({"name": "p", "kind": "pods"}));
}

#[tokio::test]
async fn create_defaults_kind_and_accepts_yaml() {
    let s = server();
    let (code, created) = call(
        &s.router,
        request(
            "POST",
            "/api/v1/namespaces/d/configmaps",
            Some(json!({"metadata": {"name": "c"}})),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(
        (created["kind"].as_str(), created["apiVersion"].as_str()),
        (Some("ConfigMap"), Some("v1"))
    );

    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n";
    let (code, created) = call(
        &s.router,
        raw(
            "POST",
            "/api/v1/namespaces/d/configmaps",
            "application/yaml",
            yaml,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(created["data"], json!({"k": "v"}));

    // Cluster-scoped objects drop a namespace they were sent with.
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "namespace": "x"}});
    let (code, created) = call(&s.router, request("POST", "/api/v1/namespaces", Some(ns))).await;
    assert_eq!(code, StatusCode::CREATED);
    assert!(created["metadata"].get("namespace").is_none());
}

#[tokio::test]
async fn malformed_bodies_are_400_and_unknown_types_415() {
    let s = server();
    let uri = "/api/v1/namespaces/d/pods";
    let (code, body) = call(
        &s.router,
        raw("POST", uri, "application/json", "{\"metadata\":"),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        assert_status(&body, 400, "BadRequest")
            .starts_with("couldn't get version/kind; json parse error")
    );
    let (code, _) = call(&s.router, raw("POST", uri, "application/json", "[1,2]")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    let mut service = pod("d", "p");
    service["kind"] = json!("Service");
    let (code, body) = call(&s.router, request("POST", uri, Some(service))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        assert_status(&body, 400, "BadRequest")
            .starts_with("Service in version \"v1\" cannot be handled as a Pod")
    );

    let mut grouped = pod("d", "p");
    grouped["apiVersion"] = json!("capstan.dev/v1");
    let (_, body) = call(&s.router, request("POST", uri, Some(grouped))).await;
    assert_eq!(
        assert_status(&body, 400, "BadRequest"),
        "the API version in the data (capstan.dev/v1) does not match the expected API version (v1)"
    );

    let (code, body) = call(&s.router, request("POST", uri, Some(pod("elsewhere", "p")))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_status(&body, 400, "BadRequest"),
        "the namespace of the provided object does not match the namespace sent on the request"
    );

    let (code, body) = call(&s.router, raw("POST", uri, "application/cbor", "\0")).await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_status(&body, 415, "UnsupportedMediaType");

    let (code, body) = call(
        &s.router,
        request("POST", &format!("{uri}?dryRun=Maybe"), Some(pod("d", "p"))),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        assert_status(&body, 422, "Invalid")
            .starts_with("CreateOptions.meta.k8s.io \"\" is invalid: dryRun")
    );
    assert!(
        s.pods.objects.lock().unwrap().items.is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn subresource_create_passes_the_parent_and_fills_the_status_code() {
    let s = server();
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}});
    let (code, body) = call(
        &s.router,
        request("POST", "/api/v1/namespaces/d/pods/p/binding", Some(binding)),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(
        (body["kind"].as_str(), body["status"].as_str()),
        (Some("Status"), Some("Success"))
    );
    assert_eq!(body["code"], 201);
    assert_eq!(body["details"]["name"], "p");
}

#[tokio::test]
async fn update_is_200_or_201_when_it_creates() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let mut changed = pod("d", "p");
    changed["metadata"]["labels"] = json!({"a": "b"});
    let (code, body) = call(
        &s.router,
        request("PUT", "/api/v1/namespaces/d/pods/p", Some(changed.clone())),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (
            body["metadata"]["labels"]["a"].as_str(),
            body["metadata"]["resourceVersion"].as_str()
        ),
        (Some("b"), Some("2"))
    );

    let (code, body) = call(
        &s.router,
        request("PUT", "/api/v1/namespaces/d/pods/q", Some(changed)),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_status(&body, 400, "BadRequest"),
        "the name of the object (p) does not match the name on the URL (q)"
    );
    let (code, body) = call(
        &s.router,
        request("PUT", "/api/v1/namespaces/d/pods/q", Some(pod("d", "q"))),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_status(&body, 404, "NotFound");

    // A kind that allows create-on-update answers 201.
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}});
    let create_on_update = Behaviour {
        create_on_update: true,
        ..Default::default()
    };
    let nodes = Fixture::new(
        descriptor("", "Namespace", "namespaces", false),
        all_verbs(),
        create_on_update,
    );
    let mut core: BTreeMap<String, Arc<dyn Rest>> = BTreeMap::new();
    core.insert("namespaces".into(), Arc::new(nodes));
    let mut installer = Installer::new(s.admission.clone());
    installer.install_legacy_group(ApiGroupInfo {
        group: String::new(),
        versions: vec![ApiVersionInfo {
            version: "v1".into(),
            resources: core,
        }],
    });
    let router = installer.into_router();
    let (code, _) = call(
        &router,
        request("PUT", "/api/v1/namespaces/n", Some(namespace.clone())),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    let (code, _) = call(
        &router,
        request("PUT", "/api/v1/namespaces/n", Some(namespace)),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn merge_and_json_patches() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let uri = "/api/v1/namespaces/d/pods/p";
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            uri,
            "application/merge-patch+json",
            r#"{"metadata":{"labels":{"x":"1"}}}"#,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["metadata"]["labels"], json!({"x": "1"}));
    let ops = r#"[{"op":"add","path":"/metadata/labels/y","value":"2"},{"op":"remove","path":"/metadata/labels/x"}]"#;
    let (code, body) = call(
        &s.router,
        raw("PATCH", uri, "application/json-patch+json", ops),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["metadata"]["labels"], json!({"y": "2"}));
    // The status subresource patches the same object.
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            &format!("{uri}/status"),
            "application/merge-patch+json",
            r#"{"status":{"phase":"Succeeded"}}"#,
        ),
    )
    .await;
    assert_eq!(
        (code, body["status"]["phase"].as_str()),
        (StatusCode::OK, Some("Succeeded"))
    );
    assert!(
        s.pod_status.last_write.lock().unwrap().is_some(),
        "pods/status served it"
    );
}

#[tokio::test]
async fn patches_are_reapplied_to_the_fresh_object_on_retry() {
    let s = server();
    let mut fresh = pod("d", "p");
    fresh["metadata"]["labels"] = json!({"written": "concurrently"});
    s.pods.insert("d", "p", fresh);
    *s.pods.stale.lock().unwrap() = Some(pod("d", "p"));
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            "/api/v1/namespaces/d/pods/p",
            "application/merge-patch+json",
            r#"{"metadata":{"labels":{"mine":"1"}}}"#,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body["metadata"]["labels"],
        json!({"written": "concurrently", "mine": "1"})
    );
}

#[tokio::test]
async fn patch_failures() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let uri = "/api/v1/namespaces/d/pods/p";
    let test_op = r#"[{"op":"test","path":"/metadata/name","value":"other"}]"#;
    let (code, body) = call(
        &s.router,
        raw("PATCH", uri, "application/json-patch+json", test_op),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_status(&body, 422, "Invalid");
    // kube's generic answer: its text, empty details, not the library's reason.
    assert_eq!(
        body["message"],
        "the server rejected our request due to an error in our request"
    );
    assert_eq!(body["details"], json!({}));

    for unsupported in [
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
        "text/plain",
    ] {
        let (code, body) = call(&s.router, raw("PATCH", uri, unsupported, "{}")).await;
        assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{unsupported}");
        assert_eq!(
            assert_status(&body, 415, "UnsupportedMediaType"),
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json"
        );
    }
    let (code, body) = call(
        &s.router,
        raw("PATCH", uri, "application/merge-patch+json", "{not json"),
    )
    .await;
    assert_eq!(
        (code, assert_status(&body, 400, "BadRequest")),
        (StatusCode::BAD_REQUEST, "invalid JSON patch".into())
    );
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            "/api/v1/namespaces/d/pods/q",
            "application/merge-patch+json",
            "{}",
        ),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(
        assert_status(&body, 404, "NotFound"),
        "pods \"q\" not found"
    );
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            uri,
            "application/merge-patch+json",
            r#"{"metadata":{"name":"renamed"}}"#,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(assert_status(&body, 400, "BadRequest").contains("does not match the name on the URL"));
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            &format!("{uri}?force=true"),
            "application/merge-patch+json",
            "{}",
        ),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["details"]["kind"], "PatchOptions");
}

#[tokio::test]
async fn delete_answers_with_the_object_or_a_success_status() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let (code, body) = call(
        &s.router,
        request("DELETE", "/api/v1/namespaces/d/pods/p", None),
    )
    .await;
    assert_eq!((code, body["kind"].as_str()), (StatusCode::OK, Some("Pod")));

    s.configmaps.insert(
        "d",
        "c",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "uid": "u-c"}}),
    );
    let (code, body) = call(
        &s.router,
        request("DELETE", "/api/v1/namespaces/d/configmaps/c", None),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
               "details": {"name": "c", "kind": "configmaps", "uid": "u-c"}})
    );
    let (code, body) = call(
        &s.router,
        request("DELETE", "/api/v1/namespaces/d/configmaps/c", None),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_status(&body, 404, "NotFound");
}

#[tokio::test]
async fn delete_options_come_from_query_and_body() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": {"uid": "u"}});
    let req = request(
        "DELETE",
        "/api/v1/namespaces/d/pods/p?gracePeriodSeconds=30&propagationPolicy=Foreground",
        Some(body),
    );
    let (code, _) = call(&s.router, req).await;
    assert_eq!(code, StatusCode::OK);
    let opts = s.pods.last_delete.lock().unwrap().clone().unwrap();
    assert_eq!(opts.grace_period_seconds, Some(0));
    assert_eq!(opts.propagation_policy.as_deref(), Some("Foreground"));
    assert_eq!(opts.preconditions.unwrap().uid.as_deref(), Some("u"));

    let (code, body) = call(
        &s.router,
        request(
            "DELETE",
            "/api/v1/namespaces/d/pods/p?propagationPolicy=Never",
            None,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["details"]["kind"], "DeleteOptions");
}

#[tokio::test]
async fn pending_deletes_are_200_or_202_when_dependents_are_not_orphaned() {
    let pending = Behaviour {
        pending_delete: true,
        return_deleted: true,
        ..Default::default()
    };
    let fixture = Arc::new(Fixture::new(
        descriptor("capstan.dev", "Widget", "widgets", true),
        all_verbs(),
        pending,
    ));
    fixture.insert(
        "d",
        "w",
        json!({"apiVersion": "capstan.dev/v1", "kind": "Widget", "metadata": {"name": "w"}}),
    );
    let mut resources: BTreeMap<String, Arc<dyn Rest>> = BTreeMap::new();
    resources.insert("widgets".into(), fixture);
    let mut installer = Installer::new(Arc::new(CountingAdmission::default()));
    installer.install_group(ApiGroupInfo {
        group: "capstan.dev".into(),
        versions: vec![ApiVersionInfo {
            version: "v1".into(),
            resources,
        }],
    });
    let router = installer.into_router();
    let uri = "/apis/capstan.dev/v1/namespaces/d/widgets/w";
    let (code, body) = call(&router, request("DELETE", uri, None)).await;
    assert_eq!(code, StatusCode::OK);
    assert!(body["metadata"]["deletionTimestamp"].is_string());
    let (code, _) = call(
        &router,
        request("DELETE", &format!("{uri}?orphanDependents=false"), None),
    )
    .await;
    assert_eq!(code, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn deletecollection_deletes_what_the_list_selects() {
    let s = server();
    s.pods.insert("d", "a", pod("d", "a"));
    s.pods.insert("d", "b", pod("d", "b"));
    s.pods.insert("e", "c", pod("e", "c"));
    let (code, body) = call(
        &s.router,
        request(
            "DELETE",
            "/api/v1/namespaces/d/pods?gracePeriodSeconds=0",
            None,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["kind"], "PodList");
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        s.pods.objects.lock().unwrap().items.len(),
        1,
        "the other namespace is untouched"
    );
    assert_eq!(
        s.pods
            .last_delete
            .lock()
            .unwrap()
            .clone()
            .unwrap()
            .grace_period_seconds,
        Some(0)
    );
}

#[tokio::test]
async fn deletecollection_checks_its_options_before_listing() {
    let s = server();
    let (code, body) = call(
        &s.router,
        request(
            "DELETE",
            "/api/v1/namespaces/d/pods?propagationPolicy=Sometimes",
            None,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_status(&body, 422, "Invalid");
    assert_eq!(body["details"]["kind"], "DeleteOptions");
    assert!(s.pods.last_delete.lock().unwrap().is_none());
}

#[tokio::test]
async fn bodies_over_the_filters_limit_are_413() {
    let s = server();
    let bytes = serde_json::to_vec(&pod("d", "p")).unwrap();
    // What the body-limit filter hands on: a body that fails once it passes the limit.
    let limited = http_body_util::Limited::new(Body::from(bytes), 16);
    let req = Request::post("/api/v1/namespaces/d/pods")
        .header("content-type", "application/json")
        .body(Body::new(limited))
        .unwrap();
    let (code, body) = call(&s.router, req).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert_status(&body, 413, "RequestEntityTooLarge");
    assert!(s.pods.objects.lock().unwrap().items.is_empty());
}
