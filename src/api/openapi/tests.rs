//! The documents as kubectl and the aggregator read them.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::Value;

use super::*;
use crate::api::schema;

fn verbs(list: &[&str]) -> Vec<String> {
    list.iter().map(|v| v.to_string()).collect()
}

const ALL: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn sub(name: &str, group: &str, kind: &str, v: &[&str]) -> ServedSubresource {
    ServedSubresource {
        name: name.into(),
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        verbs: verbs(v),
    }
}

/// What Capstan installs: core/v1 pods (status, binding, eviction), namespaces (status),
/// configmaps, secrets, events, and capstan.dev/v1 pods (status).
pub(crate) fn served() -> Vec<ServedResource> {
    let resource = |group: &str, plural: &str, kind: &str, namespaced, subs| ServedResource {
        group: group.into(),
        version: "v1".into(),
        plural: plural.into(),
        kind: kind.into(),
        namespaced,
        verbs: verbs(ALL),
        subresources: subs,
    };
    let status = |group: &str, kind: &str| sub("status", group, kind, &["get", "patch", "update"]);
    vec![
        resource(
            "",
            "pods",
            "Pod",
            true,
            vec![
                status("", "Pod"),
                sub("binding", "", "Binding", &["create"]),
                sub("eviction", "policy", "Eviction", &["create"]),
            ],
        ),
        resource(
            "",
            "namespaces",
            "Namespace",
            false,
            vec![status("", "Namespace")],
        ),
        resource("", "configmaps", "ConfigMap", true, vec![]),
        resource("", "secrets", "Secret", true, vec![]),
        resource("", "events", "Event", true, vec![]),
        resource(
            "capstan.dev",
            "pods",
            "Pod",
            true,
            vec![status("capstan.dev", "Pod")],
        ),
    ]
}

static DOCS: LazyLock<OpenApiDocs> =
    LazyLock::new(|| OpenApiDocs::build(schema::test_model(), &served()).unwrap());

fn parse(doc: &OpenApiDocument) -> Value {
    serde_json::from_slice(doc.json()).unwrap()
}

fn v2() -> Value {
    parse(DOCS.v2())
}

fn v3(gv: &str) -> Value {
    parse(DOCS.v3(gv).unwrap())
}

/// kubectl's `supportsQueryParamV3`: the first PATCH operation for the GVK decides.
fn patch_ops_for<'a>(doc: &'a Value, group: &str, kind: &str) -> Vec<(&'a String, &'a Value)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(path, item)| Some((path, item.get("patch")?)))
        .filter(|(_, op)| {
            let gvk = &op["x-kubernetes-group-version-kind"];
            gvk["group"] == group && gvk["version"] == "v1" && gvk["kind"] == kind
        })
        .collect()
}

fn refs(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(obj) => {
            if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
                out.insert(r.strip_prefix(prefix).unwrap_or(r).to_string());
            }
            obj.values().for_each(|v| refs(v, prefix, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, prefix, out)),
        _ => {}
    }
}

#[test]
fn v3_documents_load_in_an_openapi_reader() {
    for (gv, pod_path) in [
        ("api/v1", "/api/v1/namespaces/{namespace}/pods/{name}"),
        (
            "apis/capstan.dev/v1",
            "/apis/capstan.dev/v1/namespaces/{namespace}/pods/{name}",
        ),
    ] {
        let doc = DOCS.v3(gv).unwrap();
        let spec: openapiv3::OpenAPI = serde_json::from_slice(doc.json())
            .unwrap_or_else(|e| panic!("{gv} does not parse as OpenAPI 3.0: {e}"));
        assert_eq!(spec.openapi, "3.0.0");
        assert!(spec.components.unwrap().schemas.len() > 50);
        let patch = spec.paths.paths[pod_path]
            .as_item()
            .and_then(|item| item.patch.as_ref())
            .unwrap();
        let body = patch.request_body.as_ref().unwrap().as_item().unwrap();
        assert!(
            body.content
                .contains_key("application/strategic-merge-patch+json")
        );
        assert!(patch.parameters.iter().any(|p| {
            p.as_item()
                .is_some_and(|p| p.parameter_data_ref().name == "fieldValidation")
        }));
    }
    // policy/v1 Eviction is only a body of pods/eviction under api/v1: no document of its own.
    assert!(DOCS.v3("apis/policy/v1").is_none());
}

#[test]
fn every_v3_reference_resolves_inside_its_document() {
    for gv in ["api/v1", "apis/capstan.dev/v1"] {
        let doc = v3(gv);
        let mut targets = BTreeSet::new();
        refs(&doc, "#/components/schemas/", &mut targets);
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let missing: Vec<_> = targets
            .iter()
            .filter(|t| !schemas.contains_key(*t))
            .collect();
        assert!(missing.is_empty(), "{gv}: {missing:?}");
        // Only what the paths reach: no core Pod in the capstan.dev document.
        if gv == "apis/capstan.dev/v1" {
            assert!(schemas.contains_key("dev.capstan.v1.Pod"));
            assert!(schemas.contains_key("dev.capstan.v1.PodList"));
            assert!(!schemas.contains_key("io.k8s.api.core.v1.Pod"));
            assert!(!schemas.contains_key("io.k8s.api.core.v1.ConfigMap"));
        }
    }
}

#[test]
fn every_patch_operation_offers_field_validation_and_strategic_merge() {
    for (gv, group, kind) in [
        ("api/v1", "", "Pod"),
        ("api/v1", "", "Namespace"),
        ("api/v1", "", "ConfigMap"),
        ("apis/capstan.dev/v1", "capstan.dev", "Pod"),
    ] {
        let doc = v3(gv);
        let ops = patch_ops_for(&doc, group, kind);
        assert!(!ops.is_empty(), "no PATCH for {group}/{kind}");
        for (path, op) in ops {
            let params: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert!(params.contains(&"fieldValidation"), "{path}: {params:?}");
            assert!(params.contains(&"force"), "{path}: {params:?}");
            let content = op["requestBody"]["content"].as_object().unwrap();
            for media in operations::PATCH_TYPES {
                assert!(content.contains_key(media), "{path}: {media}");
            }
        }
    }
    let v2 = v2();
    let consumes = &v2["paths"]["/apis/capstan.dev/v1/namespaces/{namespace}/pods/{name}"]["patch"]
        ["consumes"];
    assert_eq!(
        consumes,
        &serde_json::json!([
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml"
        ])
    );
}

#[test]
fn operation_ids_actions_and_tags_follow_kube() {
    let doc = v2();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    let cases = [
        (
            "/api/v1/namespaces/{namespace}/pods",
            "get",
            "listCoreV1NamespacedPod",
            "list",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods",
            "post",
            "createCoreV1NamespacedPod",
            "post",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods",
            "delete",
            "deleteCoreV1CollectionNamespacedPod",
            "deletecollection",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}",
            "get",
            "readCoreV1NamespacedPod",
            "get",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}",
            "put",
            "replaceCoreV1NamespacedPod",
            "put",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}",
            "delete",
            "deleteCoreV1NamespacedPod",
            "delete",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}/status",
            "patch",
            "patchCoreV1NamespacedPodStatus",
            "patch",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}/binding",
            "post",
            "createCoreV1NamespacedPodBinding",
            "post",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}/eviction",
            "post",
            "createCoreV1NamespacedPodEviction",
            "post",
        ),
        (
            "/api/v1/pods",
            "get",
            "listCoreV1PodForAllNamespaces",
            "list",
        ),
        (
            "/api/v1/watch/pods",
            "get",
            "watchCoreV1PodListForAllNamespaces",
            "watchlist",
        ),
        (
            "/api/v1/watch/namespaces/{namespace}/pods",
            "get",
            "watchCoreV1NamespacedPodList",
            "watchlist",
        ),
        (
            "/api/v1/watch/namespaces/{namespace}/pods/{name}",
            "get",
            "watchCoreV1NamespacedPod",
            "watch",
        ),
        ("/api/v1/namespaces", "get", "listCoreV1Namespace", "list"),
        (
            "/api/v1/namespaces/{name}",
            "patch",
            "patchCoreV1Namespace",
            "patch",
        ),
        (
            "/api/v1/namespaces/{name}/status",
            "put",
            "replaceCoreV1NamespaceStatus",
            "put",
        ),
        (
            "/apis/capstan.dev/v1/namespaces/{namespace}/pods/{name}",
            "patch",
            "patchCapstanDevV1NamespacedPod",
            "patch",
        ),
        (
            "/apis/capstan.dev/v1/pods",
            "get",
            "listCapstanDevV1PodForAllNamespaces",
            "list",
        ),
    ];
    for (path, method, id, action) in cases {
        let op = op(path, method);
        assert_eq!(op["operationId"], id, "{method} {path}");
        assert_eq!(op["x-kubernetes-action"], action, "{method} {path}");
    }
    assert_eq!(
        op("/api/v1/namespaces/{namespace}/pods", "get")["tags"][0],
        "core_v1"
    );
    assert_eq!(
        op("/apis/capstan.dev/v1/pods", "get")["tags"][0],
        "capstanDev_v1"
    );
    let eviction = op(
        "/api/v1/namespaces/{namespace}/pods/{name}/eviction",
        "post",
    );
    assert_eq!(
        eviction["x-kubernetes-group-version-kind"],
        serde_json::json!({"group": "policy", "version": "v1", "kind": "Eviction"})
    );
    assert_eq!(
        eviction["parameters"][0]["schema"]["$ref"],
        "#/definitions/io.k8s.api.policy.v1.Eviction"
    );
    // Cluster-scoped resources have no all-namespaces list and no namespace parameter.
    assert!(
        doc["paths"]
            .get("/api/v1/watch/namespaces/{name}")
            .is_some()
    );
    let names: Vec<&Value> = doc["paths"]["/api/v1/namespaces/{name}"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, vec!["name", "pretty"]);
}

#[test]
fn operation_ids_are_unique() {
    let doc = v2();
    let mut seen = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for (method, op) in item.as_object().unwrap() {
            if method != "parameters" {
                let id = op["operationId"].as_str().unwrap().to_string();
                assert!(seen.insert(id.clone()), "duplicate {id}");
            }
        }
    }
    assert!(seen.len() > 60, "{}", seen.len());
}

#[test]
fn definitions_carry_group_version_kinds_and_extensions() {
    let doc = v2();
    let defs = &doc["definitions"];
    assert_eq!(
        defs["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"],
        serde_json::json!([{"group": "", "version": "v1", "kind": "Pod"}])
    );
    assert_eq!(
        defs["dev.capstan.v1.Pod"]["x-kubernetes-group-version-kind"],
        serde_json::json!([{"group": "capstan.dev", "version": "v1", "kind": "Pod"}])
    );
    assert_eq!(
        defs["io.k8s.api.core.v1.PodList"]["x-kubernetes-group-version-kind"][0]["kind"],
        "PodList"
    );
    // A core type serving another group's subresource lists both kinds.
    assert_eq!(
        defs["io.k8s.api.core.v1.Binding"]["x-kubernetes-group-version-kind"],
        serde_json::json!([
            {"group": "", "version": "v1", "kind": "Binding"},
            {"group": "capstan.dev", "version": "v1", "kind": "Binding"}
        ])
    );
    let containers = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-list-type"], "map");
    assert_eq!(
        defs["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"],
        "atomic"
    );
    let mut targets = BTreeSet::new();
    refs(&doc, "#/definitions/", &mut targets);
    let missing: Vec<_> = targets
        .iter()
        .filter(|t| defs.get(t.as_str()).is_none())
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn v3_wraps_described_refs_in_all_of() {
    let doc = v3("api/v1");
    let spec = &doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"]["properties"]["spec"];
    assert_eq!(
        spec["allOf"],
        serde_json::json!([{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}])
    );
    assert!(spec.get("$ref").is_none());
    assert!(spec["description"].as_str().unwrap().contains("pod"));
    let items = &doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
        ["items"];
    assert_eq!(
        items["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.Container"
    );
}

#[test]
fn index_points_at_each_document_with_its_hash() {
    let index = parse(DOCS.v3_index());
    let paths = index["paths"].as_object().unwrap();
    assert_eq!(
        paths.keys().collect::<Vec<_>>(),
        vec!["api/v1", "apis/capstan.dev/v1"]
    );
    for (gv, entry) in paths {
        let doc = DOCS.v3(gv).unwrap();
        assert_eq!(
            entry["serverRelativeURL"],
            format!("/openapi/v3/{gv}?hash={}", doc.etag())
        );
        assert_eq!(doc.etag().len(), 128);
        assert!(
            doc.etag()
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        let digest = Sha512::digest(doc.json());
        assert_eq!(doc.etag(), format!("{digest:X}"));
    }
    assert_ne!(DOCS.v3("api/v1").unwrap().etag(), DOCS.v2().etag());
}

#[test]
fn documents_are_deterministic() {
    let again = OpenApiDocs::build(schema::test_model(), &served()).unwrap();
    assert_eq!(again.v2().etag(), DOCS.v2().etag());
    assert_eq!(again.v3_index().json(), DOCS.v3_index().json());
}

#[test]
fn a_served_kind_without_a_schema_is_a_wiring_error() {
    let mut resources = served();
    resources[0]
        .subresources
        .push(sub("scale", "autoscaling", "Scale", &["get"]));
    let err = OpenApiDocs::build(schema::test_model(), &resources).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no schema registered for autoscaling/v1 Scale"
    );
}

#[test]
fn verbs_decide_the_operations() {
    let mut resources = served();
    resources.truncate(1);
    resources[0].verbs = verbs(&["get", "list"]);
    resources[0].subresources.clear();
    let docs = OpenApiDocs::build(schema::test_model(), &resources).unwrap();
    let doc = parse(docs.v2());
    let paths = doc["paths"].as_object().unwrap();
    let item = &paths["/api/v1/namespaces/{namespace}/pods/{name}"];
    assert!(item.get("get").is_some());
    assert!(item.get("patch").is_none());
    assert!(paths.get("/api/v1/watch/pods").is_none());
    assert!(
        paths
            .get("/api/v1/namespaces/{namespace}/pods/{name}/status")
            .is_none()
    );
}

#[test]
fn int_or_string_and_quantity_have_kubes_published_forms() {
    let v2 = v2();
    let int_or_string = &v2["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(int_or_string["type"], "string");
    assert_eq!(int_or_string["format"], "int-or-string");
    assert!(int_or_string["description"].is_string());
    assert!(int_or_string.get("x-kubernetes-int-or-string").is_none());
    let quantity = &v2["definitions"]["io.k8s.apimachinery.pkg.api.resource.Quantity"];
    assert_eq!(quantity["type"], "string");
    assert!(quantity.get("format").is_none());

    let v3 = v3("api/v1");
    let schemas = &v3["components"]["schemas"];
    let int_or_string = &schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(int_or_string["format"], "int-or-string");
    assert_eq!(
        int_or_string["oneOf"],
        serde_json::json!([{"type": "integer"}, {"type": "string"}])
    );
    let quantity = &schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"];
    assert_eq!(
        quantity["oneOf"],
        serde_json::json!([{"type": "string"}, {"type": "number"}])
    );
    assert!(quantity.get("x-kubernetes-int-or-string").is_none());
}
