//! Namespace deletion end to end, with real kubectl against a real Capstan process: `kubectl
//! delete ns` returns once the namespace finalizer has emptied it (scheduled and unscheduled pods
//! of both groups, configmaps) and the pod finisher has completed the pods' graceful deletion;
//! finalizers on the content hold it `Terminating` (with kube's conditions, and new content
//! refused); a restart in the middle finishes the work.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::capstan::Capstan;
#[cfg(feature = "etcd")]
use support::{capstan::Start, etcd::Etcd};

fn create(c: &Capstan, manifest: &str) {
    c.kubectl_stdin_ok(&["create", "--validate=false", "-f", "-"], manifest);
}

fn namespace(c: &Capstan, name: &str) {
    create(
        c,
        &format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}"#),
    );
}

fn configmap(c: &Capstan, ns: &str, name: &str, finalizers: &[&str]) {
    let finalizers = serde_json::to_string(finalizers).unwrap();
    create(
        c,
        &format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"{ns}","finalizers":{finalizers}}},"data":{{"k":"v"}}}}"#
        ),
    );
}

/// A pod of `api_version` (`v1` or `capstan.dev/v1`), bound to `node` through `pods/binding`
/// when given, as a scheduler would.
fn pod(c: &Capstan, api_version: &str, ns: &str, name: &str, node: Option<&str>) {
    create(
        c,
        &format!(
            r#"{{"apiVersion":"{api_version}","kind":"Pod","metadata":{{"name":"{name}","namespace":"{ns}"}},"spec":{{"containers":[{{"name":"main","image":"nginx:1.27"}}]}}}}"#
        ),
    );
    let Some(node) = node else { return };
    let base = if api_version == "v1" {
        "/api/v1".to_string()
    } else {
        format!("/apis/{api_version}")
    };
    let binding = format!(
        r#"{{"apiVersion":"{api_version}","kind":"Binding","metadata":{{"name":"{name}"}},"target":{{"kind":"Node","name":"{node}"}}}}"#
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (code, body) = rt.block_on(c.raw(
        "POST",
        &format!("{base}/namespaces/{ns}/pods/{name}/binding"),
        Some("application/json"),
        binding.into_bytes(),
    ));
    assert_eq!(code, 201, "{body}");
}

fn get_json(c: &Capstan, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend(args);
    all.extend(["-o", "json"]);
    serde_json::from_str(&c.kubectl_ok(&all)).unwrap()
}

fn condition<'a>(ns: &'a Value, type_: &str) -> Option<&'a Value> {
    ns["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Polls `ns` until `check` holds (20 s at most: the finalizer starts 5 s after the deletion)
/// and returns it.
fn wait_namespace(c: &Capstan, ns: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = get_json(c, &["namespace", ns]);
        if check(&got) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "namespace never got there: {got}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_gone(c: &Capstan, args: &[&str]) {
    let mut all = vec!["get"];
    all.extend(args);
    let out = c.kubectl(&all);
    assert!(!out.status.success(), "{args:?} still exists");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("NotFound"), "{stderr}");
}

/// Pods of both groups, scheduled and not, and configmaps: `kubectl delete ns` waits for them
/// and returns; the namespace and everything in it is gone.
fn delete_namespace_with_content(c: &Capstan) {
    namespace(c, "doomed");
    configmap(c, "doomed", "settings", &[]);
    pod(c, "v1", "doomed", "waiting", None);
    pod(c, "v1", "doomed", "running", Some("node-1"));
    pod(c, "capstan.dev/v1", "doomed", "own", Some("node-1"));
    let running = get_json(c, &["pod", "running", "-n", "doomed"]);
    assert_eq!(running["spec"]["nodeName"], "node-1");

    let started = Instant::now();
    let out = c.kubectl_ok(&["delete", "namespace", "doomed", "--timeout=60s"]);
    assert!(out.contains("namespace \"doomed\" deleted"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}: pods waited out their grace period?",
        started.elapsed()
    );
    assert_gone(c, &["namespace", "doomed"]);
    assert_gone(c, &["pods", "running", "-n", "doomed"]);
    assert_gone(c, &["pods.capstan.dev", "own", "-n", "doomed"]);
    assert_gone(c, &["configmap", "settings", "-n", "doomed"]);
}

#[test]
fn deleting_a_namespace_with_pods_and_configmaps_completes() {
    let c = Capstan::start();
    delete_namespace_with_content(&c);
}

#[cfg(feature = "etcd")]
#[test]
fn deleting_a_namespace_with_pods_and_configmaps_completes_on_etcd() {
    let etcd = Etcd::start();
    let c = Capstan::start_with(Start {
        etcd: Some(etcd.endpoint.clone()),
        ..Default::default()
    });
    delete_namespace_with_content(&c);
}

#[test]
fn finalizers_in_the_content_hold_a_terminating_namespace() {
    let c = Capstan::start();
    namespace(&c, "held");
    configmap(&c, "held", "precious", &["example.com/hold"]);
    c.kubectl_ok(&["delete", "namespace", "held", "--wait=false"]);

    let ns = wait_namespace(&c, "held", |ns| {
        condition(ns, "NamespaceFinalizersRemaining").is_some_and(|c| c["status"] == "True")
    });
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert_eq!(ns["spec"]["finalizers"], serde_json::json!(["kubernetes"]));
    assert!(ns["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        condition(&ns, "NamespaceFinalizersRemaining").unwrap()["message"],
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    );
    assert_eq!(
        condition(&ns, "NamespaceContentRemaining").unwrap()["message"],
        "Some resources are remaining: configmaps. has 1 resource instances"
    );
    let table = c.kubectl_ok(&["get", "namespace", "held"]);
    assert!(table.contains("Terminating"), "{table}");

    // New content is refused with kube's 403.
    let out = c.kubectl_stdin(
        &["create", "--validate=false", "-f", "-"],
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"late","namespace":"held"}}"#,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is forbidden: unable to create new content in namespace held because it is being terminated"),
        "{stderr}"
    );

    // The finalizer's owner lets go; the namespace follows.
    c.kubectl_ok(&[
        "patch",
        "configmap",
        "precious",
        "-n",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    c.kubectl_ok(&["wait", "--for=delete", "namespace/held", "--timeout=30s"]);
    assert_gone(&c, &["namespace", "held"]);
}

/// Stopped while a namespace waits for its pods (no pod finisher: nothing completes their
/// graceful deletion), then started again with it: the controllers pick the work up from their
/// first listing.
#[test]
fn a_restart_in_the_middle_of_termination_finishes_it() {
    let mut c = Capstan::start_with(support::capstan::Start {
        args: vec!["--enable-pod-finisher=false".into()],
        ..Default::default()
    });
    namespace(&c, "interrupted");
    configmap(&c, "interrupted", "settings", &[]);
    pod(&c, "v1", "interrupted", "running", Some("node-1"));
    c.kubectl_ok(&["delete", "namespace", "interrupted", "--wait=false"]);
    let ns = wait_namespace(&c, "interrupted", |ns| {
        condition(ns, "NamespaceContentRemaining").is_some_and(|c| c["status"] == "True")
    });
    assert_eq!(
        condition(&ns, "NamespaceContentRemaining").unwrap()["message"],
        "Some resources are remaining: pods. has 1 resource instances"
    );
    let pod = get_json(&c, &["pod", "running", "-n", "interrupted"]);
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
    // Pods go first: the configmap is still there.
    get_json(&c, &["configmap", "settings", "-n", "interrupted"]);

    c.restart_with(&[]);
    c.kubectl_ok(&[
        "wait",
        "--for=delete",
        "namespace/interrupted",
        "--timeout=30s",
    ]);
    assert_gone(&c, &["configmap", "settings", "-n", "interrupted"]);
    assert_gone(&c, &["pod", "running", "-n", "interrupted"]);
}

/// The well-known manual unblock: `kubectl replace --raw .../finalize` with no spec finalizers
/// lets a stuck namespace go at once (its held content stays behind, as in kube).
#[test]
fn the_finalize_subresource_releases_a_stuck_namespace() {
    let c = Capstan::start();
    namespace(&c, "stuck");
    configmap(&c, "stuck", "precious", &["example.com/hold"]);
    c.kubectl_ok(&["delete", "namespace", "stuck", "--wait=false"]);
    let mut ns = wait_namespace(&c, "stuck", |ns| {
        condition(ns, "NamespaceFinalizersRemaining").is_some_and(|c| c["status"] == "True")
    });
    ns["spec"]["finalizers"] = serde_json::json!([]);
    let out = c.kubectl_stdin_ok(
        &[
            "replace",
            "--raw",
            "/api/v1/namespaces/stuck/finalize",
            "-f",
            "-",
        ],
        &ns.to_string(),
    );
    let answered: Value = serde_json::from_str(&out).unwrap();
    // An emptied `omitempty` list is left out, as kube's encoding of the Go type does.
    assert_eq!(answered["spec"], serde_json::json!({}));
    assert_gone(&c, &["namespace", "stuck"]);
}
