//! Details a kube-apiserver user or client would notice, checked end to end against a real
//! Capstan with real kubectl (client-go underneath) and raw requests: retry hints client-go acts
//! on, the shape of objects as Go's JSON encoding writes them, and response headers.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::capstan::Capstan;

const JSON: Option<&str> = Some("application/json");

/// A read at a resourceVersion the store has not reached yet is a 504 that tells client-go to
/// retry after a second (`Retry-After: 1`, `retryAfterSeconds: 1`), as kube's watch cache
/// answers; kubectl therefore gets its answer once the revision exists, instead of failing.
#[test]
fn kubectl_retries_a_read_at_a_revision_not_reached_yet() {
    let c = Capstan::start();
    let list = c.kubectl_ok(&["get", "--raw", "/api/v1/namespaces/default/configmaps"]);
    let list: Value = serde_json::from_str(&list).expect("list json");
    let current: i64 = list["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .expect("list resourceVersion");
    let ahead = format!(
        "/api/v1/namespaces/default/configmaps?resourceVersion={}",
        current + 1
    );

    // kubectl asks first; a write a moment later makes the revision exist.
    let reader = std::process::Command::new("kubectl")
        .arg(format!("--kubeconfig={}", c.kubeconfig.display()))
        .args(["get", "--raw", &ahead, "-v=6"])
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl");
    std::thread::sleep(Duration::from_millis(500));
    c.kubectl_ok(&["create", "configmap", "later"]);
    let started = Instant::now();
    let out = reader.wait_with_output().expect("kubectl output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kubectl gave up instead of retrying:\n{stderr}"
    );
    assert!(
        stderr.contains("504 Gateway Timeout"),
        "the first read should have been told to retry:\n{stderr}"
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("list json");
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    assert!(names.contains(&"later"), "{list}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// Go drops empty optional lists and maps when it writes an object (`omitempty`), so in kube
/// removing the last label or annotation leaves no `labels: {}` behind, and a body's empty
/// `finalizers: []` or `data: {}` never comes back; the manager that only owned them is gone too.
#[tokio::test]
async fn empty_optional_lists_and_maps_are_not_kept() {
    let c = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    let pod = tokio::task::spawn_blocking({
        let kubeconfig = c.kubeconfig.clone();
        move || {
            let run = |args: &[&str]| {
                let out = std::process::Command::new("kubectl")
                    .arg(format!("--kubeconfig={}", kubeconfig.display()))
                    .args(args)
                    .env_remove("KUBECONFIG")
                    .output()
                    .expect("kubectl");
                assert!(out.status.success(), "kubectl {args:?}: {out:?}");
                String::from_utf8_lossy(&out.stdout).into_owned()
            };
            run(&["run", "web", "--image=nginx", "--labels=app=web"]);
            run(&["annotate", "pod", "web", "note=x"]);
            run(&["label", "pod", "web", "app-"]);
            run(&["annotate", "pod", "web", "note-"]);
            run(&["get", "pod", "web", "-o", "json", "--show-managed-fields"])
        }
    })
    .await
    .unwrap();
    let pod: Value = serde_json::from_str(&pod).expect("pod json");
    let meta = &pod["metadata"];
    assert!(meta.get("labels").is_none(), "{meta}");
    assert!(meta.get("annotations").is_none(), "{meta}");
    let managers: Vec<&str> = meta["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kubectl-run"], "{meta}");

    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "empty", "labels": {}, "finalizers": []},
        "data": {}
    });
    let (code, created) = c
        .raw(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            JSON,
            serde_json::to_vec(&cm).unwrap(),
        )
        .await;
    assert_eq!(code, 201, "{created}");
    assert!(created.get("data").is_none(), "{created}");
    assert!(created["metadata"].get("labels").is_none(), "{created}");
    assert!(created["metadata"].get("finalizers").is_none(), "{created}");
    let (_, read) = c
        .raw(
            "GET",
            "/api/v1/namespaces/default/configmaps/empty",
            None,
            Vec::new(),
        )
        .await;
    assert!(read.get("data").is_none(), "{read}");
}

/// A method no route takes (reading `pods/<name>/binding`, a PUT on a collection) gets kube's
/// generic 405, which kubectl prints as it is; paths that do not exist get the generic 404.
/// Both carry `details: {}`.
#[tokio::test]
async fn methods_without_a_route_get_kube_generic_405() {
    let c = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    let kubeconfig = c.kubeconfig.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kubectl")
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .args([
                "get",
                "--raw",
                "/api/v1/namespaces/default/pods/web/binding",
            ])
            .env_remove("KUBECONFIG")
            .output()
            .expect("kubectl")
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error from server (MethodNotAllowed): the server does not allow this method on the requested resource"
    );

    for (method, path, code) in [
        ("PUT", "/api/v1/namespaces/default/pods", 405),
        ("POST", "/api/v1/pods", 405),
        ("GET", "/api/v1/namespaces/default/pods/web/nonsense", 404),
    ] {
        let (got, status) = c.raw(method, path, JSON, b"{}".to_vec()).await;
        assert_eq!(got, code, "{method} {path}: {status}");
        assert_eq!(status["details"], json!({}), "{method} {path}: {status}");
    }
}

/// A pod created from a manifest that touches most of the spec (init containers, probes, env,
/// ports, resources, every volume type kube defaults, affinity, tolerations, spread constraints)
/// reads back exactly as kube-apiserver 1.37.2 returned the same manifest (recorded in
/// tests/golden/; only uid, resourceVersion and creationTimestamp differ between runs).
#[test]
fn a_pod_reads_back_as_kube_apiserver_writes_it() {
    let c = Capstan::start();
    let golden = support::repo_root().join("tests/golden");
    let manifest = golden.join("pod-manifest.yaml");
    c.kubectl_ok(&["create", "-f", manifest.to_str().expect("utf-8 path")]);
    let got = c.kubectl_ok(&["get", "pod", "rich", "-o", "json"]);
    let mut got: Value = serde_json::from_str(&got).expect("pod json");
    for volatile in ["uid", "resourceVersion", "creationTimestamp"] {
        got["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove(volatile);
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(golden.join("pod-kube-apiserver-1.37.2.json")).expect("golden"),
    )
    .expect("golden json");
    assert_eq!(
        got,
        want,
        "got:\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
}

/// Logs written to a file (or a pipe, as under systemd or in a container) are plain text, as
/// kube-apiserver's are: no terminal colour codes.
#[test]
fn logs_to_a_file_carry_no_colour_codes() {
    let mut c = Capstan::start();
    c.kubectl_ok(&["get", "pods"]);
    c.stop();
    let log = c.log_text();
    assert!(log.contains("INFO"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log}");
}
