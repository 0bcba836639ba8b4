//! Writes that need the kinds' schemas, as kubectl makes them: managedFields on create, update
//! and patch; `fieldValidation` with its Warning headers; strategic merge patch; server-side
//! apply with conflicts and `force`.

use super::*;

fn raw(method: &str, uri: &str, content_type: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .header("user-agent", "kubectl/v1.32.4 (linux/amd64) kubernetes/abc")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn warnings(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn managers(object: &Value) -> Vec<(String, String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_string(),
                        e["operation"].as_str().unwrap_or("").to_string(),
                        e["subresource"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
    "spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}"#;

#[tokio::test]
async fn create_records_the_manager_from_the_parameter_or_the_user_agent() {
    let s = schema_server();
    let (code, created) = call(
        &s.router,
        raw("POST", "/api/v1/namespaces/d/pods", "application/json", POD),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(
        managers(&created),
        [("kubectl".into(), "Update".into(), String::new())]
    );
    let fields = &created["metadata"]["managedFields"][0]["fieldsV1"];
    assert!(
        fields["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"]
            .get("f:image")
            .is_some(),
        "{fields}"
    );
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"}}"#;
    let (_, created) = call(
        &s.router,
        raw(
            "POST",
            "/api/v1/namespaces/d/configmaps?fieldManager=kubectl-create",
            "application/json",
            cm,
        ),
    )
    .await;
    assert_eq!(
        managers(&created),
        [("kubectl-create".into(), "Update".into(), String::new())]
    );
}

#[tokio::test]
async fn unknown_and_duplicate_fields_warn_by_default_and_fail_when_strict() {
    let s = schema_server();
    let body = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","name":"p"},
        "spec":{"containers":[{"name":"c","image":"nginx","imagePullPolicyy":"Always"}]}}"#;
    let uri = "/api/v1/namespaces/d/pods";
    let (code, headers, _) = send(&s.router, raw("POST", uri, "application/json", body)).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(
        warnings(&headers),
        [
            r#"299 - "duplicate field \"metadata.name\"""#,
            r#"299 - "unknown field \"spec.containers[0].imagePullPolicyy\"""#
        ]
    );
    let strict = format!("{uri}?fieldValidation=Strict");
    let (code, headers, bytes) =
        send(&s.router, raw("POST", &strict, "application/json", body)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(warnings(&headers).is_empty());
    let status: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        assert_status(&status, 400, "BadRequest"),
        r#"Pod in version "v1" cannot be handled as a Pod: strict decoding error: duplicate field "metadata.name", unknown field "spec.containers[0].imagePullPolicyy""#
    );
    let ignore = format!("{uri}?fieldValidation=Ignore");
    let renamed = body.replace("\"p\"", "\"q\"");
    let (code, headers, _) = send(
        &s.router,
        raw("POST", &ignore, "application/json", &renamed),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    assert!(warnings(&headers).is_empty());
    // YAML bodies are checked too (through their JSON form).
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\nbogus: 1\n";
    let (code, bytes) = call(
        &s.router,
        raw(
            "POST",
            "/api/v1/namespaces/d/configmaps?fieldValidation=Strict",
            "application/yaml",
            yaml,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        assert_status(&bytes, 400, "BadRequest").ends_with(r#"unknown field "bogus""#),
        "{bytes}"
    );
}

#[tokio::test]
async fn updates_record_against_the_stored_object_and_name_the_subresource() {
    let s = schema_server();
    let (_, created) = call(
        &s.router,
        raw("POST", "/api/v1/namespaces/d/pods", "application/json", POD),
    )
    .await;
    let mut status = created.clone();
    status["status"] = json!({"phase": "Running"});
    let (code, updated) = call(
        &s.router,
        raw(
            "PUT",
            "/api/v1/namespaces/d/pods/p/status?fieldManager=kubelet",
            "application/json",
            &status.to_string(),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{updated}");
    assert_eq!(
        managers(&updated),
        [
            ("kubectl".into(), "Update".into(), String::new()),
            ("kubelet".into(), "Update".into(), "status".into())
        ]
    );
    let kubelet = &updated["metadata"]["managedFields"][1]["fieldsV1"];
    assert_eq!(kubelet, &json!({"f:status": {"f:phase": {}}}));
    // An unknown field in an update is a warning by default as well.
    let mut bad = updated.clone();
    bad["spec"]["nope"] = json!(1);
    let (code, headers, _) = send(
        &s.router,
        raw(
            "PUT",
            "/api/v1/namespaces/d/pods/p",
            "application/json",
            &bad.to_string(),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        warnings(&headers),
        [r#"299 - "unknown field \"spec.nope\"""#]
    );
}

#[tokio::test]
async fn strategic_merge_patches_merge_lists_by_key_and_check_fields() {
    let s = schema_server();
    let two = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[
        {"name":"a","image":"nginx:1.27"},{"name":"b","image":"busybox"}]}}"#;
    call(
        &s.router,
        raw("POST", "/api/v1/namespaces/d/pods", "application/json", two),
    )
    .await;
    let uri = "/api/v1/namespaces/d/pods/p";
    let smp = "application/strategic-merge-patch+json";
    let patch = r#"{"spec":{"containers":[{"name":"b","image":"busybox:1.36"}]}}"#;
    let (code, patched) = call(&s.router, raw("PATCH", uri, smp, patch)).await;
    assert_eq!(code, StatusCode::OK, "{patched}");
    let images: Vec<&str> = patched["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap())
        .collect();
    assert_eq!(images, ["nginx:1.27", "busybox:1.36"]);
    assert_eq!(
        managers(&patched),
        [("kubectl".into(), "Update".into(), String::new())]
    );

    let unknown = r#"{"spec":{"containers":[{"name":"a","imagee":"x"}]}}"#;
    let strict = format!("{uri}?fieldValidation=Strict");
    let (code, body) = call(&s.router, raw("PATCH", &strict, smp, unknown)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        assert_status(&body, 422, "Invalid"),
        r#" "" is invalid: patch: Invalid value: "map[spec:map[containers:[map[imagee:x name:a]]]]": strict decoding error: unknown field "spec.containers[0].imagee""#
    );
    let (code, headers, _) = send(&s.router, raw("PATCH", uri, smp, unknown)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        warnings(&headers),
        [r#"299 - "unknown field \"spec.containers[0].imagee\"""#]
    );

    // Errors kube passes through as they are: a 500 without a reason.
    let no_key = r#"{"spec":{"containers":[{"image":"x"}]}}"#;
    let (code, body) = call(&s.router, raw("PATCH", uri, smp, no_key)).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.get("reason").is_none(), "{body}");
    assert_eq!(
        body["message"],
        "map: map[image:x] does not contain declared merge key: name"
    );
    // Kinds without a schema take no strategic merge patch.
    s.widgets
        .insert("d", "w", json!({"metadata": {"name": "w"}}));
    let (code, _) = call(
        &s.router,
        raw(
            "PATCH",
            "/apis/capstan.dev/v1/namespaces/d/widgets/w",
            smp,
            "{}",
        ),
    )
    .await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn strategic_merge_patches_are_reapplied_on_retry() {
    let s = schema_server();
    let (_, created) = call(
        &s.router,
        raw("POST", "/api/v1/namespaces/d/pods", "application/json", POD),
    )
    .await;
    let mut stale = created.clone();
    stale["metadata"]["labels"] = json!({"stale": "yes"});
    *s.pods.stale.lock().unwrap() = Some(stale);
    let (code, patched) = call(
        &s.router,
        raw(
            "PATCH",
            "/api/v1/namespaces/d/pods/p",
            "application/strategic-merge-patch+json",
            r#"{"metadata":{"labels":{"fresh":"yes"}}}"#,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(patched["metadata"]["labels"], json!({"fresh": "yes"}));
}

#[tokio::test]
async fn apply_creates_conflicts_and_forces() {
    let s = schema_server();
    let uri = "/api/v1/namespaces/d/configmaps/c";
    let apply = "application/apply-patch+yaml";
    let config = |value: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: {value}\n")
    };

    let (code, body) = call(&s.router, raw("PATCH", uri, apply, &config("a"))).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        assert_status(&body, 422, "Invalid"),
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );

    let first = format!("{uri}?fieldManager=one");
    let (code, created) = call(&s.router, raw("PATCH", &first, apply, &config("a"))).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(created["metadata"]["namespace"], "d");
    assert_eq!(
        managers(&created),
        [("one".into(), "Apply".into(), String::new())]
    );

    let second = format!("{uri}?fieldManager=two");
    let (code, body) = call(&s.router, raw("PATCH", &second, apply, &config("b"))).await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(
        assert_status(&body, 409, "Conflict"),
        "Apply failed with 1 conflict: conflict with \"one\": .data.k"
    );
    assert_eq!(
        body["details"],
        json!({"causes": [{"reason": "FieldManagerConflict",
                           "message": "conflict with \"one\"", "field": ".data.k"}]})
    );

    let forced = format!("{second}&force=true");
    let (code, applied) = call(&s.router, raw("PATCH", &forced, apply, &config("b"))).await;
    assert_eq!(code, StatusCode::OK, "{applied}");
    assert_eq!(applied["data"]["k"], "b");
    let owners: Vec<_> = applied["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fieldsV1"]["f:data"].get("f:k").is_some())
        .map(|e| e["manager"].clone())
        .collect();
    assert_eq!(owners, [json!("two")]);

    // JSON is YAML: kubectl sends apply configurations as JSON.
    let (code, _) = call(
        &s.router,
        raw(
            "PATCH",
            &second,
            apply,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"b"}}"#,
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            &second,
            apply,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n",
        ),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_status(&body, 400, "BadRequest"),
        "invalid object type: /v1, Kind=Secret"
    );
}

#[tokio::test]
async fn apply_to_a_missing_object_with_a_uid_is_a_conflict() {
    let s = schema_server();
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            "/api/v1/namespaces/d/configmaps/c?fieldManager=m",
            "application/apply-patch+yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  uid: u-1\n",
        ),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(
        assert_status(&body, 409, "Conflict"),
        "Operation cannot be fulfilled on configmaps \"c\": uid mismatch: the provided object specified uid u-1, and no existing object was found"
    );
}

#[tokio::test]
async fn dry_run_reaches_the_registry_for_every_patch_type() {
    let s = schema_server();
    for (content_type, body) in [
        ("application/strategic-merge-patch+json", "{}"),
        (
            "application/apply-patch+yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        ),
    ] {
        s.configmaps.insert(
            "d",
            "c",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": "c", "namespace": "d"}}),
        );
        let uri = "/api/v1/namespaces/d/configmaps/c?dryRun=All&fieldManager=m";
        let (code, _) = call(&s.router, raw("PATCH", uri, content_type, body)).await;
        assert_eq!(code, StatusCode::OK, "{content_type}");
        let opts = s.configmaps.last_write.lock().unwrap().clone().unwrap();
        assert!(opts.dry_run, "{content_type}");
    }
    let (code, body) = call(
        &s.router,
        raw(
            "PATCH",
            "/api/v1/namespaces/d/configmaps/c?dryRun=Some",
            "application/strategic-merge-patch+json",
            "{}",
        ),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        assert_status(&body, 422, "Invalid")
            .starts_with("PatchOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value"),
        "{body}"
    );
}
