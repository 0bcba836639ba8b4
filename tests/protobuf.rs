//! client-go's typed clients send `application/vnd.kubernetes.protobuf` bodies: real kubectl
//! creating a namespace, a configmap and a secret, and protobuf bodies written by apimachinery's
//! serializer (src/api/protobuf/testdata) for update, binding and DeleteOptions.

mod support;

use serde_json::{Value, json};
use support::capstan::Capstan;

const PROTOBUF: Option<&str> = Some("application/vnd.kubernetes.protobuf");

fn vector(name: &str) -> Vec<u8> {
    let path = support::repo_root().join(format!("src/api/protobuf/testdata/{name}.pb"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn get_json(c: &Capstan, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&c.kubectl_ok(&all)).expect("kubectl json")
}

/// The metadata keys the server sets on a new object (plus `extra`); anything more came from a
/// decoder that let Go's empty protobuf fields (`generateName: ""`, `uid: ""`, …) through.
fn assert_clean_metadata(object: &Value, name: &str, namespace: Option<&str>, extra: &[&str]) {
    let metadata = object["metadata"].as_object().expect("metadata");
    let mut keys: Vec<&str> = metadata.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = vec!["creationTimestamp", "name", "resourceVersion", "uid"];
    want.extend_from_slice(extra);
    if namespace.is_some() {
        want.push("namespace");
    }
    want.sort_unstable();
    assert_eq!(keys, want, "{object}");
    assert_eq!(metadata["name"], name);
    if let Some(ns) = namespace {
        assert_eq!(metadata["namespace"], ns);
    }
}

#[test]
fn kubectl_create_sends_protobuf() {
    let c = Capstan::start();

    c.kubectl_ok(&["create", "namespace", "pb"]);
    let ns = get_json(&c, &["namespace", "pb"]);
    // The server labels namespaces with their name.
    assert_clean_metadata(&ns, "pb", None, &["labels"]);
    assert_eq!(ns["status"]["phase"], "Active");

    let dir = tempfile::tempdir().expect("tempdir");
    let blob = dir.path().join("blob.bin");
    std::fs::write(&blob, [0u8, 1, 2, 0xfe, 0xff]).expect("write blob");
    c.kubectl_ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "pb",
        "--from-literal=mode=fast",
        "--from-literal=empty=",
        &format!("--from-file=blob.bin={}", blob.display()),
    ]);
    let cm = get_json(&c, &["configmap", "settings", "-n", "pb"]);
    assert_clean_metadata(&cm, "settings", Some("pb"), &[]);
    assert_eq!(cm["data"], json!({"mode": "fast", "empty": ""}));
    assert_eq!(cm["binaryData"], json!({"blob.bin": "AAEC/v8="}));
    assert!(cm.get("immutable").is_none(), "{cm}");

    c.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        "pb",
        "--from-literal=password=s3cr3t",
    ]);
    let secret = get_json(&c, &["secret", "creds", "-n", "pb"]);
    assert_clean_metadata(&secret, "creds", Some("pb"), &[]);
    assert_eq!(secret["data"], json!({"password": "czNjcjN0"}));
    assert_eq!(secret["type"], "Opaque");
}

#[tokio::test]
async fn protobuf_update_binding_and_delete_options() {
    let c = Capstan::start();
    let configmaps = "/api/v1/namespaces/default/configmaps";

    // Create and then replace with the same protobuf object.
    let (code, created) = c
        .raw("POST", configmaps, PROTOBUF, vector("go/configmap"))
        .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["binaryData"]["blob"], "AAEC/v8=");
    assert_eq!(created["immutable"], false);
    let (code, updated) = c
        .raw(
            "PUT",
            &format!("{configmaps}/settings"),
            PROTOBUF,
            vector("go/configmap"),
        )
        .await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(updated["data"], json!({"mode": "fast", "empty": ""}));

    // DeleteOptions (dryRun=All, preconditions naming another uid) is read from the body: the
    // precondition refuses the delete.
    let (code, body) = c
        .raw(
            "DELETE",
            &format!("{configmaps}/settings"),
            PROTOBUF,
            vector("go/deleteoptions"),
        )
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["reason"], "Conflict", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("0c2d0b9e-5d2e-4c61-9d6c-2f6f5d1d8a11")),
        "{body}"
    );
    let (code, _) = c
        .raw("GET", &format!("{configmaps}/settings"), None, Vec::new())
        .await;
    assert_eq!(code, 200);

    // A Binding of pod `web` in `default` to node-1, as the scheduler's typed client sends it.
    c.kubectl_ok(&["run", "web", "--image=nginx"]);
    let (code, body) = c
        .raw(
            "POST",
            "/api/v1/namespaces/default/pods/web/binding",
            PROTOBUF,
            vector("go/binding"),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let pod = get_json(&c, &["pod", "web"]);
    assert_eq!(pod["spec"]["nodeName"], "node-1", "{pod}");

    // A custom-resource-like group takes no protobuf, as kube's CRD endpoints.
    let (code, body) = c
        .raw(
            "POST",
            "/apis/capstan.dev/v1/namespaces/default/pods",
            PROTOBUF,
            vector("go/pod"),
        )
        .await;
    assert_eq!(code, 415, "{body}");
    assert_eq!(body["reason"], "UnsupportedMediaType");
}

/// A protobuf message's length-delimited field: tag, one-byte length, bytes.
fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    assert!(bytes.len() < 128);
    let mut out = vec![(number << 3) | 2, bytes.len() as u8];
    out.extend_from_slice(bytes);
    out
}

/// client-go's deprecated `Pods().Evict` / `EvictV1beta1` send a policy/v1beta1 Eviction, whose
/// message is v1's under another apiVersion; kube's eviction subresource takes it, in JSON and in
/// protobuf (which Capstan's descriptor set has no v1beta1 policy messages for).
#[tokio::test]
async fn policy_v1beta1_evictions_are_taken_in_json_and_protobuf() {
    let c = Capstan::start();
    c.kubectl_ok(&["run", "json", "--image=nginx"]);
    c.kubectl_ok(&["run", "proto", "--image=nginx"]);

    let json_body = json!({"apiVersion": "policy/v1beta1", "kind": "Eviction",
                           "metadata": {"name": "json", "namespace": "default"}});
    let (code, body) = c
        .raw(
            "POST",
            "/api/v1/namespaces/default/pods/json/eviction",
            Some("application/json"),
            json_body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(code, 201, "{body}");

    let type_meta = [field(1, b"policy/v1beta1"), field(2, b"Eviction")].concat();
    let eviction = field(1, &field(1, b"proto"));
    let mut pb = b"k8s\0".to_vec();
    pb.extend([field(1, &type_meta), field(2, &eviction)].concat());
    let (code, body) = c
        .raw(
            "POST",
            "/api/v1/namespaces/default/pods/proto/eviction",
            PROTOBUF,
            pb,
        )
        .await;
    assert_eq!(code, 201, "{body}");
    for pod in ["json", "proto"] {
        let (code, _) = c
            .raw(
                "GET",
                &format!("/api/v1/namespaces/default/pods/{pod}"),
                None,
                Vec::new(),
            )
            .await;
        assert_eq!(code, 404, "{pod} was evicted (unscheduled pods go at once)");
    }

    // Other endpoints still take their own version only.
    let (code, body) = c
        .raw(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            Some("application/json"),
            br#"{"apiVersion":"v1beta1","kind":"ConfigMap","metadata":{"name":"x"}}"#.to_vec(),
        )
        .await;
    assert_eq!(code, 400, "{body}");
}
