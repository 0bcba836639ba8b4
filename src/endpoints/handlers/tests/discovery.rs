//! Discovery through the router: aggregated or legacy by `Accept` (with the headers real clients
//! send), the exact Content-Type, ETags and 304.

use super::*;

const V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const V2BETA1: &str = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
/// client-go's `selectDiscoveryAcceptHeader` (discovery_client.go).
const CLIENT_GO: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
/// kubectl 1.30–1.32 and kube-rs (kubernetes/kubernetes#130066).
const KUBECTL: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
/// client-go with `NoPeerDiscovery`.
const NOPEER: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

async fn fetch(s: &Server, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Value) {
    let (code, headers, body) = send(&s.router, get(uri, headers)).await;
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (code, headers, value)
}

#[tokio::test]
async fn clients_asking_for_v2_get_the_aggregated_list_with_its_content_type() {
    let s = server();
    for accept in [CLIENT_GO, KUBECTL, NOPEER, V2] {
        for path in ["/api", "/apis"] {
            let (code, headers, body) = fetch(&s, path, &[("accept", accept)]).await;
            assert_eq!(code, StatusCode::OK, "{path} {accept}");
            assert_eq!(headers["content-type"], V2, "{path} {accept}");
            assert_eq!(body["kind"], "APIGroupDiscoveryList");
            assert_eq!(body["apiVersion"], "apidiscovery.k8s.io/v2");
        }
    }
    let (code, headers, body) = fetch(&s, "/apis", &[("accept", V2BETA1)]).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(headers["content-type"], V2BETA1);
    assert_eq!(body["apiVersion"], "apidiscovery.k8s.io/v2beta1");
}

#[tokio::test]
async fn the_core_group_document() {
    let s = server();
    let (_, _, body) = fetch(&s, "/api", &[("accept", CLIENT_GO)]).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["metadata"],
        json!({}),
        "the core group has no name"
    );
    let version = &items[0]["versions"][0];
    assert_eq!(
        (&version["version"], &version["freshness"]),
        (&json!("v1"), &json!("Current"))
    );
    let pods = version["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "pods")
        .unwrap();
    assert_eq!(pods["scope"], "Namespaced");
    assert_eq!(pods["singularResource"], "pod");
    assert_eq!(
        pods["responseKind"],
        json!({"group": "", "version": "", "kind": "Pod"})
    );
    let subresources: Vec<(&str, &str)> = pods["subresources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["subresource"].as_str().unwrap(),
                s["responseKind"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(subresources, [("binding", "Binding"), ("status", "Pod")]);
    let namespaces = version["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "namespaces")
        .unwrap();
    assert_eq!(namespaces["scope"], "Cluster");
}

#[tokio::test]
async fn groups_list_versions_in_preference_order() {
    let s = server();
    let (_, _, body) = fetch(&s, "/apis", &[("accept", KUBECTL)]).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the core group is served under /api only");
    assert_eq!(items[0]["metadata"]["name"], "capstan.dev");
    let versions: Vec<&str> = items[0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v1", "v1beta1"]);
    assert_eq!(items[0]["versions"][1]["resources"], json!([]));
}

/// What client-go does with an aggregated answer (`SplitGroupsAndResources`) must equal what the
/// legacy walk finds: the same resources, kinds, scopes and verbs per group-version.
#[tokio::test]
async fn the_aggregated_list_says_what_the_legacy_walk_says() {
    let s = server();
    for (root, gv_paths) in [
        ("/api", vec![("v1", "/api/v1")]),
        (
            "/apis",
            vec![
                ("v1", "/apis/capstan.dev/v1"),
                ("v1beta1", "/apis/capstan.dev/v1beta1"),
            ],
        ),
    ] {
        let (_, _, aggregated) = fetch(&s, root, &[("accept", CLIENT_GO)]).await;
        for (version, path) in gv_paths {
            let (_, _, legacy) = fetch(&s, path, &[]).await;
            let mut from_legacy: Vec<Value> = legacy["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    json!([
                        r["name"],
                        r["kind"],
                        r["namespaced"],
                        r["verbs"],
                        r.get("group").cloned().unwrap_or(json!("")),
                        r.get("version").cloned().unwrap_or(json!(""))
                    ])
                })
                .collect();
            let v = aggregated["items"][0]["versions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["version"] == version)
                .unwrap();
            let mut from_aggregated = Vec::new();
            for r in v["resources"].as_array().unwrap() {
                let namespaced = json!(r["scope"] == "Namespaced");
                let kind = &r["responseKind"];
                from_aggregated.push(json!([
                    r["resource"],
                    kind["kind"],
                    namespaced,
                    r["verbs"],
                    kind["group"],
                    kind["version"]
                ]));
                for sub in r["subresources"].as_array().unwrap() {
                    let name = format!(
                        "{}/{}",
                        r["resource"].as_str().unwrap(),
                        sub["subresource"].as_str().unwrap()
                    );
                    let kind = &sub["responseKind"];
                    from_aggregated.push(json!([
                        name,
                        kind["kind"],
                        namespaced,
                        sub["verbs"],
                        kind["group"],
                        kind["version"]
                    ]));
                }
            }
            let key = |v: &Value| v[0].as_str().unwrap().to_string();
            from_legacy.sort_by_key(key);
            from_aggregated.sort_by_key(key);
            assert_eq!(from_aggregated, from_legacy, "{path}");
        }
    }
}

#[tokio::test]
async fn plain_json_and_tables_get_the_legacy_documents() {
    let s = server();
    let kubectl_get = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    for accept in ["application/json", "*/*", kubectl_get, ""] {
        let (code, headers, body) = fetch(&s, "/apis", &[("accept", accept)]).await;
        assert_eq!(code, StatusCode::OK, "{accept}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["kind"], "APIGroupList", "{accept}");
        let (_, _, body) = fetch(&s, "/api", &[("accept", accept)]).await;
        assert_eq!(body["kind"], "APIVersions", "{accept}");
    }
    // As in kube, an aggregated clause wins even behind a plain one: the plain clause is not a
    // conversion the aggregated handler serves, so the wrapper looks further.
    let (_, _, body) = fetch(
        &s,
        "/apis",
        &[("accept", &format!("application/json,{V2}"))],
    )
    .await;
    assert_eq!(body["kind"], "APIGroupDiscoveryList");
}

#[tokio::test]
async fn nothing_servable_is_406() {
    let s = server();
    for accept in [
        "application/vnd.kubernetes.protobuf",
        "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList",
        "text/html",
    ] {
        for path in ["/api", "/apis"] {
            let (code, _, body) = fetch(&s, path, &[("accept", accept)]).await;
            assert_eq!(code, StatusCode::NOT_ACCEPTABLE, "{path} {accept}");
            assert_status(&body, 406, "NotAcceptable");
        }
    }
    // With a protobuf clause first, the JSON one is served.
    let protobuf_first = format!(
        "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,{CLIENT_GO}"
    );
    let (code, headers, _) = fetch(&s, "/apis", &[("accept", &protobuf_first)]).await;
    assert_eq!(
        (code, &headers["content-type"]),
        (StatusCode::OK, &HeaderValue::from_static(V2))
    );
}

#[tokio::test]
async fn every_document_has_an_etag_and_answers_if_none_match_with_304() {
    let s = server();
    let cases: [(&str, &str); 7] = [
        ("/api", CLIENT_GO),
        ("/apis", CLIENT_GO),
        ("/apis", V2BETA1),
        ("/api", "application/json"),
        ("/apis", "application/json"),
        ("/apis/capstan.dev", "application/json"),
        ("/api/v1", "application/json"),
    ];
    let mut etags = Vec::new();
    for (path, accept) in cases {
        let (code, headers, _) = send(&s.router, get(path, &[("accept", accept)])).await;
        assert_eq!(code, StatusCode::OK);
        let etag = headers["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(headers["vary"], "Accept");
        assert_eq!(headers["cache-control"], "public");

        let (code, headers, body) = send(
            &s.router,
            get(path, &[("accept", accept), ("if-none-match", &etag)]),
        )
        .await;
        assert_eq!(code, StatusCode::NOT_MODIFIED, "{path} {accept}");
        assert!(body.is_empty());
        assert_eq!(headers["etag"], etag.as_str());
        assert_eq!(headers["vary"], "Accept");

        let (code, _, _) = send(
            &s.router,
            get(path, &[("accept", accept), ("if-none-match", "\"stale\"")]),
        )
        .await;
        assert_eq!(code, StatusCode::OK);
        etags.push(etag);
    }
    // v2 and v2beta1 of one list share the ETag, as kube's do; the legacy /apis differs.
    assert_eq!(etags[1], etags[2]);
    assert_ne!(etags[1], etags[4]);
    assert_ne!(etags[0], etags[1]);
}
