//! Routing: discovery documents, unknown paths, scopes and verbs.

use super::*;

const KUBECTL_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

#[tokio::test]
async fn api_lists_core_versions_with_the_requests_host() {
    let s = server();
    let req = Request::get("/api")
        .header("host", "127.0.0.1:6443")
        .body(Body::empty())
        .unwrap();
    let (code, headers, body) = send(&s.router, req).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["kind"], "APIVersions");
    assert_eq!(body["versions"], json!(["v1"]));
    assert_eq!(
        body["serverAddressByClientCIDRs"],
        json!([{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}])
    );
}

#[tokio::test]
async fn api_uses_the_authority_when_there_is_no_host_header() {
    let s = server();
    let (code, body) = call(&s.router, request("GET", "https://10.0.0.1:8443/api", None)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body["serverAddressByClientCIDRs"][0]["serverAddress"],
        "10.0.0.1:8443"
    );
}

#[tokio::test]
async fn apis_and_group_documents() {
    let s = server();
    let (code, body) = call(&s.router, request("GET", "/apis", None)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["kind"], "APIGroupList");
    let group = &body["groups"][0];
    assert_eq!(group["name"], "capstan.dev");
    assert_eq!(
        group["preferredVersion"],
        json!({"groupVersion": "capstan.dev/v1", "version": "v1"})
    );
    assert_eq!(group["versions"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["groups"].as_array().unwrap().len(),
        1,
        "the core group is served under /api only"
    );

    let (code, body) = call(&s.router, request("GET", "/apis/capstan.dev", None)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (body["kind"].as_str(), body["name"].as_str()),
        (Some("APIGroup"), Some("capstan.dev"))
    );
}

#[tokio::test]
async fn resource_lists() {
    let s = server();
    let (code, body) = call(&s.router, request("GET", "/api/v1", None)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["kind"], "APIResourceList");
    assert_eq!(body["groupVersion"], "v1");
    let names: Vec<&str> = body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "configmaps",
            "namespaces",
            "nodes",
            "pods",
            "pods/binding",
            "pods/status"
        ]
    );
    let binding = &body["resources"][4];
    assert_eq!(
        (binding["kind"].as_str(), binding["singularName"].as_str()),
        (Some("Binding"), Some(""))
    );
    assert_eq!(body["resources"][1]["namespaced"], false);

    let (code, body) = call(&s.router, request("GET", "/apis/capstan.dev/v1", None)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["groupVersion"], "capstan.dev/v1");
    assert_eq!(
        body["resources"][0]["storageVersionHash"],
        crate::endpoints::discovery::storage_version_hash("capstan.dev", "v1", "Widget")
    );
    let (_, body) = call(&s.router, request("GET", "/apis/capstan.dev/v1beta1", None)).await;
    assert_eq!(body["resources"], json!([]));
}

#[tokio::test]
async fn discovery_negotiates_json_only() {
    let s = server();
    let req = Request::get("/api/v1")
        .header("accept", KUBECTL_ACCEPT)
        .body(Body::empty())
        .unwrap();
    let (code, body) = call(&s.router, req).await;
    assert_eq!(
        (code, body["kind"].as_str()),
        (StatusCode::OK, Some("APIResourceList"))
    );
    // Aggregated discovery is served at /api and /apis only; a group-version answers with its
    // APIResourceList when a plain JSON clause follows, and 406 when none does.
    let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    let req = Request::get("/apis/capstan.dev/v1")
        .header("accept", format!("{v2},application/json"))
        .body(Body::empty())
        .unwrap();
    let (code, body) = call(&s.router, req).await;
    assert_eq!(
        (code, body["kind"].as_str()),
        (StatusCode::OK, Some("APIResourceList"))
    );
    let req = Request::get("/apis/capstan.dev")
        .header("accept", v2)
        .body(Body::empty())
        .unwrap();
    let (code, body) = call(&s.router, req).await;
    assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
    assert_status(&body, 406, "NotAcceptable");
    let req = Request::get("/apis")
        .header("accept", "application/vnd.kubernetes.protobuf")
        .body(Body::empty())
        .unwrap();
    let (code, body) = call(&s.router, req).await;
    assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
    assert_status(&body, 406, "NotAcceptable");
}

#[tokio::test]
async fn unknown_groups_are_left_to_the_servers_fallback() {
    let s = server();
    for path in [
        "/apis/nope.dev",
        "/apis/nope.dev/v1/widgets",
        "/apis/capstan.dev/v2/widgets",
        "/healthz",
    ] {
        let (code, _, body) = send(&s.router, request("GET", path, None)).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
        assert!(
            body.is_empty(),
            "{path}: axum's bare 404, for the server's not-found handler to replace"
        );
    }
}

#[tokio::test]
async fn unknown_resources_are_404_status() {
    let s = server();
    for path in [
        "/api/v1/namespaces/d/foos",
        "/api/v1/foos",
        "/apis/capstan.dev/v1/namespaces/d/widgets/w/nonsense",
        "/api/v1/watch",
        "/api/v1/namespaces/d/pods/p/status/extra",
        // Namespaced objects need their namespace; cluster-scoped ones have none.
        "/api/v1/pods/p",
        "/api/v1/namespaces/d/nodes/n",
    ] {
        let (code, body) = call(&s.router, request("GET", path, None)).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
        let message = assert_status(&body, 404, "NotFound");
        assert_eq!(message, "the server could not find the requested resource");
    }
}

#[tokio::test]
async fn verbs_the_resource_lacks_are_405() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    let cases = [
        (
            "POST",
            "/api/v1/namespaces/d/pods/p/status",
            Some(pod("d", "p")),
            "create",
            "pods",
        ),
        (
            "DELETE",
            "/api/v1/namespaces/d/pods/p/status",
            None,
            "delete",
            "pods",
        ),
        // Wrong path shapes: PUT on a collection, POST on an item, writes across namespaces.
        (
            "PUT",
            "/api/v1/namespaces/d/pods",
            Some(pod("d", "p")),
            "update",
            "pods",
        ),
        (
            "POST",
            "/api/v1/namespaces/d/pods/p",
            Some(pod("d", "p")),
            "create",
            "pods",
        ),
        (
            "POST",
            "/api/v1/pods",
            Some(pod("d", "p")),
            "create",
            "pods",
        ),
        ("DELETE", "/api/v1/pods", None, "deletecollection", "pods"),
        (
            "OPTIONS",
            "/api/v1/namespaces/d/pods",
            None,
            "options",
            "pods",
        ),
    ];
    // No route takes these methods there: kube's generic 405, with empty details.
    for (method, path, body, _verb, _plural) in cases {
        let (code, body) = call(&s.router, request(method, path, body)).await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let message = assert_status(&body, 405, "MethodNotAllowed");
        assert_eq!(
            message,
            "the server does not allow this method on the requested resource"
        );
        assert_eq!(body["details"], serde_json::json!({}), "{method} {path}");
    }
}

#[tokio::test]
async fn request_context_carries_namespace_user_and_admission() {
    let s = server();
    let user = UserInfo {
        name: "alice".into(),
        groups: vec!["devs".into()],
        ..Default::default()
    };
    let mut req = request("POST", "/api/v1/namespaces/d/pods", Some(pod("d", "p")));
    req.extensions_mut().insert(user.clone());
    let (code, _) = call(&s.router, req).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(
        s.pods.last_ctx.lock().unwrap().clone(),
        Some((Some("d".into()), user))
    );
    assert_eq!(s.admission.0.load(Ordering::SeqCst), 1);

    let (code, _) = call(&s.router, request("GET", "/api/v1/namespaces/x", None)).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (namespace, user) = s.namespaces.last_ctx.lock().unwrap().clone().unwrap();
    assert_eq!(namespace, None, "cluster-scoped requests have no namespace");
    assert!(user.is_anonymous());
}

#[tokio::test]
async fn the_verb_from_request_info_decides_list_versus_get() {
    let s = server();
    s.pods.insert("d", "p", pod("d", "p"));
    // What the request-info filter stores for `?fieldSelector=metadata.name=p`: a list that
    // carries a name.
    let mut info = RequestInfo::parse(&http::Method::GET, "/api/v1/namespaces/d/pods", None);
    info.name = "p".into();
    assert_eq!(info.verb, "list");
    let mut req = request("GET", "/api/v1/namespaces/d/pods", None);
    req.extensions_mut().insert(info);
    let (code, body) = call(&s.router, req).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["kind"], "PodList");
}

use crate::endpoints::request_info::RequestInfo;

/// A create-only resource (kube's reviews) has a collection path that only takes POST (405
/// otherwise, a watch included) and no item path at all (404 whatever the method), as kube's
/// installer routes it.
#[tokio::test]
async fn create_only_resources_route_as_kubes_reviews() {
    let mut installer = Installer::new(Arc::new(CountingAdmission::default()));
    installer.install_group(ApiGroupInfo {
        group: "authorization.k8s.io".into(),
        versions: vec![ApiVersionInfo {
            version: "v1".into(),
            resources: crate::registry::authorization::storage(
                crate::auth::authorizer::default_authorizer(),
            ),
        }],
    });
    let router = installer.into_router();
    let base = "/apis/authorization.k8s.io/v1";
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}});
    let collection = format!("{base}/selfsubjectaccessreviews");
    let (code, body) = call(&router, request("POST", &collection, Some(review.clone()))).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"]["allowed"], true);
    let (code, body) = call(
        &router,
        request("POST", &format!("{collection}?dryRun=All"), Some(review)),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");

    for (method, path) in [
        ("GET", collection.clone()),
        ("GET", format!("{collection}?watch=1")),
        ("DELETE", collection.clone()),
    ] {
        let (code, body) = call(&router, request(method, &path, None)).await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_status(&body, 405, "MethodNotAllowed");
    }
    for (method, path) in [
        ("GET", format!("{collection}/x")),
        ("DELETE", format!("{collection}/x")),
        ("PUT", format!("{collection}/x")),
        ("POST", format!("{collection}/x")),
        ("GET", format!("{base}/watch/selfsubjectaccessreviews")),
        (
            "GET",
            format!("{base}/namespaces/default/selfsubjectaccessreviews"),
        ),
    ] {
        let (code, body) = call(&router, request(method, &path, None)).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{method} {path}");
        assert_status(&body, 404, "NotFound");
    }
}
