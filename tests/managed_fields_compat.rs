//! The managedFields Capstan records for non-apply writes (create, update, merge and strategic
//! patches, bodies in JSON and in protobuf) are exactly kube-apiserver 1.37.2's: the same
//! managers, operations, versions and `fieldsV1`, `"."` self entries included.
//!
//! kube's answers are recorded in tests/golden/managed-fields-kube-apiserver-1.37.2.json by an
//! ignored test that runs the same kubectl steps against a real kube-apiserver:
//!
//!   cargo test --features etcd --test managed_fields_compat -- --ignored

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::capstan::Capstan;

const GOLDEN: &str = "tests/golden/managed-fields-kube-apiserver-1.37.2.json";

/// A pod whose spec has pointer structs (pod and container `securityContext`, volume sources)
/// and a list of volumes, written as JSON by `kubectl create -f -`.
const SECURE_POD: &str = r#"{
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "secure", "labels": {"app": "secure"}},
  "spec": {
    "securityContext": {"runAsNonRoot": true, "fsGroup": 2000},
    "volumes": [{"name": "scratch", "emptyDir": {}},
                {"name": "conf", "configMap": {"name": "cfg", "optional": true}}],
    "containers": [{
      "name": "app", "image": "nginx",
      "securityContext": {"allowPrivilegeEscalation": false,
                          "capabilities": {"drop": ["ALL"]}},
      "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]
    }]
  }
}"#;

/// A self review: never stored, but its response carries the managedFields of the create.
const REVIEW: &str = r#"{
  "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
  "spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "default"}}
}"#;

/// Runs kubectl with `kubeconfig`, optionally piping `stdin`, and returns stdout (panics on
/// failure).
fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--request-timeout=20s")
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("kubectl output");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// managedFields without the times, which differ between runs, and so sorted by identity
/// rather than by time (entries written within one second are ordered by name, later ones by
/// time, so kube's order depends on how fast the steps ran).
fn managed_fields(object: &Value) -> Value {
    let mut entries = object["metadata"]["managedFields"].clone();
    if let Some(list) = entries.as_array_mut() {
        for entry in list.iter_mut() {
            if let Some(map) = entry.as_object_mut() {
                map.remove("time");
            }
        }
        let key = |e: &Value| {
            ["operation", "manager", "apiVersion", "subresource"]
                .map(|k| e[k].as_str().unwrap_or("").to_string())
        };
        list.sort_by_key(key);
    }
    entries
}

/// Runs every step against the server behind `kubeconfig` and returns, per step, the
/// managedFields of the object it wrote.
fn run_steps(kubeconfig: &Path) -> BTreeMap<String, Value> {
    let run = |args: &[&str]| kubectl(kubeconfig, args, None);
    let read = |resource: &str, name: &str| -> Value {
        let text = run(&["get", resource, name, "-o", "json", "--show-managed-fields"]);
        managed_fields(&serde_json::from_str(&text).expect("object json"))
    };
    let manifest = support::repo_root().join("tests/golden/pod-manifest.yaml");
    let mut out = BTreeMap::new();

    // (1) a broad pod, JSON body
    run(&["create", "-f", manifest.to_str().expect("utf-8 path")]);
    out.insert("1-create-manifest".into(), read("pod", "rich"));

    // (2) `kubectl run`: a protobuf body
    run(&["run", "web", "--image=nginx", "--labels=app=web"]);
    out.insert("2-run".into(), read("pod", "web"));

    // (3) merge and strategic patches of metadata
    run(&["label", "pod", "web", "tier=front"]);
    out.insert("3a-label".into(), read("pod", "web"));
    run(&["annotate", "pod", "web", "note=x"]);
    out.insert("3b-annotate".into(), read("pod", "web"));

    // (4) pointer structs and volumes, then an update (PUT) and patches of the spec
    kubectl(kubeconfig, &["create", "-f", "-"], Some(SECURE_POD));
    out.insert("4a-create-secure".into(), read("pod", "secure"));
    let mut live: Value =
        serde_json::from_str(&run(&["get", "pod", "secure", "-o", "json"])).expect("pod json");
    live["metadata"]["labels"]["stage"] = json!("two");
    live["spec"]["activeDeadlineSeconds"] = json!(600);
    // kube's DefaultTolerationSeconds admission adds tolerations Capstan does not; the list is
    // atomic, so who owns it does not depend on what was there.
    let toleration = json!({"key": "k", "operator": "Exists", "effect": "NoSchedule"});
    match live["spec"]["tolerations"].as_array_mut() {
        Some(list) => list.push(toleration),
        None => live["spec"]["tolerations"] = json!([toleration]),
    }
    kubectl(kubeconfig, &["replace", "-f", "-"], Some(&live.to_string()));
    out.insert("4b-replace-secure".into(), read("pod", "secure"));
    run(&["set", "image", "pod/secure", "app=nginx:1.27"]);
    out.insert("4c-set-image".into(), read("pod", "secure"));
    run(&[
        "patch",
        "pod",
        "secure",
        "--type=merge",
        "--field-manager=merger",
        "-p",
        r#"{"metadata":{"annotations":{"a":"b"}},"spec":{"activeDeadlineSeconds":300}}"#,
    ]);
    out.insert("4d-merge-patch".into(), read("pod", "secure"));

    // (5) configmaps and secrets from literals: protobuf bodies with maps
    run(&["create", "configmap", "cfg", "--from-literal=a=1"]);
    out.insert("5a-configmap".into(), read("configmap", "cfg"));
    run(&[
        "patch",
        "configmap",
        "cfg",
        "-p",
        r#"{"data":{"b":"2"},"binaryData":{"bin":"AQI="}}"#,
    ]);
    out.insert("5b-configmap-patch".into(), read("configmap", "cfg"));
    run(&["create", "secret", "generic", "sec", "--from-literal=k=v"]);
    out.insert("5c-secret".into(), read("secret", "sec"));

    // (6) a self review: the response carries the create's managedFields
    let review = kubectl(
        kubeconfig,
        &[
            "create",
            "--validate=false",
            "-f",
            "-",
            "-o",
            "json",
            "--show-managed-fields",
        ],
        Some(REVIEW),
    );
    out.insert(
        "6-self-subject-access-review".into(),
        managed_fields(&serde_json::from_str(&review).expect("review json")),
    );

    // (8) apply: server-side (an `Apply` entry from the configuration) and client-side (a
    // create, then a strategic patch, both `Update`s)
    let applied = SECURE_POD.replace("\"secure\"", "\"applied\"");
    kubectl(
        kubeconfig,
        &["apply", "--server-side", "-f", "-"],
        Some(&applied),
    );
    out.insert("8a-server-side-apply".into(), read("pod", "applied"));
    let mut live: Value =
        serde_json::from_str(&run(&["get", "pod", "applied", "-o", "json"])).expect("pod json");
    live["metadata"]["labels"]["stage"] = json!("two");
    kubectl(kubeconfig, &["replace", "-f", "-"], Some(&live.to_string()));
    out.insert("8b-replace-applied".into(), read("pod", "applied"));
    let config = |data: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "csa"},
               "data": {"k": data}})
        .to_string()
    };
    kubectl(kubeconfig, &["apply", "-f", "-"], Some(&config("1")));
    out.insert("8c-client-side-apply".into(), read("configmap", "csa"));
    kubectl(kubeconfig, &["apply", "-f", "-"], Some(&config("2")));
    out.insert(
        "8d-client-side-apply-again".into(),
        read("configmap", "csa"),
    );

    // (7) `kubectl auth can-i`: a self review sent as protobuf (zero values on the wire); the
    // answer, logged at -v=9, carries the fieldsV1 JSON among the protobuf bytes.
    out.insert(
        "7-auth-can-i-protobuf".into(),
        logged_fields_v1(kubeconfig, &["auth", "can-i", "get", "pods", "-v=9"]),
    );
    out
}

/// The fieldsV1 documents (`{"f:…}`) in the response bodies kubectl logged for `args`: at
/// -v=9 client-go writes protobuf bodies as hex dumps, whose bytes hold fieldsV1 as raw JSON,
/// and JSON bodies as a quoted string.
fn logged_fields_v1(kubeconfig: &Path, args: &[&str]) -> Value {
    let out = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl");
    let log = String::from_utf8_lossy(&out.stderr);
    let mut found = Vec::new();
    let mut body: Option<Vec<u8>> = None;
    for line in log.lines() {
        if line.contains("\"Response Body\" body=<") {
            body = Some(Vec::new());
            continue;
        }
        // A JSON answer is logged as one quoted string.
        if let Some((_, quoted)) = line.split_once("\"Response Body\" body=") {
            if let Ok(text) = serde_json::from_str::<String>(quoted) {
                found.extend(fields_v1_in(text.as_bytes()));
            }
            continue;
        }
        let Some(bytes) = body.as_mut() else {
            continue;
        };
        if line.trim() == ">" {
            found.extend(fields_v1_in(bytes));
            body = None;
            continue;
        }
        // `\t00000090  3a 5b 0a 59 … |:[.Y{"f:spec":{"|`
        let hex = line.split('|').next().unwrap_or("");
        for word in hex.split_whitespace().skip(1) {
            if let Ok(b) = u8::from_str_radix(word, 16) {
                bytes.push(b);
            }
        }
    }
    Value::Array(found)
}

/// Every balanced `{"f:…}` JSON document in `bytes`.
fn fields_v1_in(bytes: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(start) = bytes[i..]
        .windows(4)
        .position(|w| w == b"{\"f:")
        .map(|p| p + i)
    {
        let mut depth = 0usize;
        let mut end = bytes.len();
        for (j, b) in bytes[start..].iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(serde_json::from_slice(&bytes[start..end]).unwrap_or(Value::Null));
        i = end;
    }
    out
}

fn golden_path() -> std::path::PathBuf {
    support::repo_root().join(GOLDEN)
}

/// Regenerates the golden file from a real kube-apiserver 1.37.2.
#[test]
#[ignore = "needs kube-apiserver (scripts/tools.sh kube-apiserver); rewrites the golden file"]
fn record_kube_apiserver_managed_fields() {
    let etcd = support::etcd::Etcd::start();
    let kube = support::kube_apiserver::KubeApiserver::start(&etcd.endpoint);
    let got = run_steps(&kube.kubeconfig);
    let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
    std::fs::write(golden_path(), text).expect("write golden");
}

/// Every step's managedFields equal kube-apiserver's, exactly.
#[test]
fn managed_fields_match_kube_apiserver() {
    let c = Capstan::start();
    let got = run_steps(&c.kubeconfig);
    let want: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(golden_path()).expect("golden"))
            .expect("golden json");
    let mut wrong = Vec::new();
    for (step, want) in &want {
        let got = got.get(step).cloned().unwrap_or(Value::Null);
        if &got != want {
            wrong.push(format!(
                "step {step}:\n  want {}\n  got  {}",
                serde_json::to_string(want).unwrap(),
                serde_json::to_string(&got).unwrap()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
