//! Issue "Capstan core" acceptance, driven by real kubectl against a real Capstan process, on the
//! embedded store and on a real etcd.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::capstan::Capstan;
#[cfg(feature = "etcd")]
use support::{capstan::Start, etcd::Etcd};

const POD_YAML: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: from-file
  labels:
    app: web
spec:
  containers:
  - name: main
    image: nginx:1.27
"#;

/// `kubectl create -f` of a manifest, with kubectl's default (server-side, strict) validation.
fn create_from(c: &Capstan, manifest: &str) {
    c.kubectl_stdin_ok(&["create", "-f", "-"], manifest);
}

/// `kubectl create ns` (a typed client: the body is protobuf).
fn create_namespace(c: &Capstan, name: &str) {
    c.kubectl_ok(&["create", "namespace", name]);
}

/// The whole kubectl tour of the acceptance criteria, on one server.
fn kubectl_tour(c: &Capstan) {
    create_namespace(c, "tour");
    let out = c.kubectl_ok(&["get", "namespaces"]);
    assert!(out.contains("tour"), "{out}");

    c.kubectl_ok(&["run", "web", "--image=nginx", "-n", "tour"]);
    let table = c.kubectl_ok(&["get", "pods", "-n", "tour"]);
    let header = table.lines().next().unwrap_or_default();
    for col in ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] {
        assert!(header.contains(col), "header {header:?} lacks {col}");
    }
    assert!(
        table.contains("web") && table.contains("0/1") && table.contains("Pending"),
        "{table}"
    );
    assert!(
        !header.contains("NOMINATED NODE"),
        "wide columns leaked into the default table"
    );

    let wide = c.kubectl_ok(&["get", "pods", "-n", "tour", "-o", "wide"]);
    let header = wide.lines().next().unwrap_or_default();
    for col in ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] {
        assert!(header.contains(col), "wide header {header:?} lacks {col}");
    }

    // all namespaces
    let all = c.kubectl_ok(&["get", "pods", "-A"]);
    assert!(
        all.lines().next().unwrap_or_default().contains("NAMESPACE"),
        "{all}"
    );
    assert!(all.contains("tour") && all.contains("web"), "{all}");

    // the acceptance's `create --validate=false -f`, then the default (strict, server-side)
    c.kubectl_stdin_ok(
        &["create", "--validate=false", "-n", "tour", "-f", "-"],
        POD_YAML,
    );
    c.kubectl_stdin_ok(
        &["create", "-n", "tour", "-f", "-"],
        &POD_YAML.replace("from-file", "validated"),
    );
    c.kubectl_ok(&["delete", "pod", "validated", "-n", "tour"]);
    let got = c.kubectl_ok(&["get", "pod", "from-file", "-n", "tour", "-o", "json"]);
    let pod: serde_json::Value = serde_json::from_str(&got).expect("pod json");
    assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.27");
    assert_eq!(
        pod["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert_eq!(pod["spec"]["restartPolicy"], "Always");
    assert_eq!(pod["status"]["phase"], "Pending");

    // merge patch and JSON patch
    c.kubectl_ok(&[
        "patch",
        "pod",
        "web",
        "-n",
        "tour",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":"front"}}}"#,
    ]);
    c.kubectl_ok(&[
        "patch",
        "pod",
        "web",
        "-n",
        "tour",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/containers/0/image","value":"nginx:1.28"}]"#,
    ]);
    let got = c.kubectl_ok(&["get", "pod", "web", "-n", "tour", "-o", "json"]);
    let pod: serde_json::Value = serde_json::from_str(&got).expect("pod json");
    assert_eq!(pod["metadata"]["labels"]["tier"], "front");
    assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.28");

    // status subresource
    c.kubectl_ok(&[
        "patch",
        "pod",
        "web",
        "-n",
        "tour",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Running","podIP":"10.0.0.7"}}"#,
    ]);
    let wide = c.kubectl_ok(&["get", "pods", "web", "-n", "tour", "-o", "wide"]);
    assert!(
        wide.contains("Running") && wide.contains("10.0.0.7"),
        "{wide}"
    );
    // status on the main resource is ignored
    c.kubectl_ok(&[
        "patch",
        "pod",
        "web",
        "-n",
        "tour",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Failed"}}"#,
    ]);
    let phase = c.kubectl_ok(&[
        "get",
        "pod",
        "web",
        "-n",
        "tour",
        "-o",
        "jsonpath={.status.phase}",
    ]);
    assert_eq!(phase, "Running");

    // raw endpoints
    let readyz = c.kubectl_ok(&["get", "--raw", "/readyz?verbose"]);
    assert!(
        readyz.contains("[+]ping ok") && readyz.contains("[+]etcd ok"),
        "{readyz}"
    );
    assert!(
        readyz.trim_end().ends_with("readyz check passed"),
        "{readyz}"
    );
    let disco = c.kubectl_ok(&["get", "--raw", "/apis/capstan.dev/v1"]);
    let disco: serde_json::Value = serde_json::from_str(&disco).expect("discovery json");
    assert_eq!(disco["kind"], "APIResourceList");
    assert_eq!(disco["groupVersion"], "capstan.dev/v1");
    let names: Vec<&str> = disco["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for n in ["pods", "pods/status", "pods/binding"] {
        assert!(names.contains(&n), "{names:?} lacks {n}");
    }

    // delete: an unscheduled pod goes at once
    c.kubectl_ok(&["delete", "pod", "from-file", "-n", "tour"]);
    let out = c.kubectl(&["get", "pod", "from-file", "-n", "tour"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pods \"from-file\" not found"));
}

/// `kubectl get pods -w` in one process sees a pod created by another.
fn watch_sees_other_shell(c: &Capstan) {
    create_namespace(c, "watched");
    let mut child = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", c.kubeconfig.display()))
        .args(["get", "pods", "-n", "watched", "-w", "--no-headers"])
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kubectl -w");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_secs(1));
    c.kubectl_ok(&["run", "seen", "--image=busybox", "-n", "watched"]);
    let line = rx.recv_timeout(Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("kubectl -w printed nothing");
    assert!(
        line.starts_with("seen") && line.contains("Pending"),
        "{line}"
    );
}

/// Objects survive a restart.
fn restart_keeps_objects(c: &mut Capstan) {
    create_namespace(c, "durable");
    c.kubectl_ok(&["run", "keeper", "--image=busybox", "-n", "durable"]);
    c.kubectl_ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "durable",
        "--from-literal=a=b",
    ]);
    c.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "token",
        "-n",
        "durable",
        "--from-literal=t=s",
    ]);
    let before = c.kubectl_ok(&[
        "get",
        "pod",
        "keeper",
        "-n",
        "durable",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    c.restart();
    let after = c.kubectl_ok(&[
        "get",
        "pod",
        "keeper",
        "-n",
        "durable",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    assert_eq!(before, after);
    let cm = c.kubectl_ok(&[
        "get",
        "configmap",
        "settings",
        "-n",
        "durable",
        "-o",
        "jsonpath={.data.a}",
    ]);
    assert_eq!(cm, "b");
    c.kubectl_ok(&["get", "secret", "token", "-n", "durable"]);
    // the revision keeps increasing after a restart: a write gets a newer resourceVersion
    let rv1: u64 = c
        .kubectl_ok(&[
            "get",
            "pod",
            "keeper",
            "-n",
            "durable",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .expect("rv");
    c.kubectl_ok(&["label", "pod", "keeper", "-n", "durable", "after=restart"]);
    let rv2: u64 = c
        .kubectl_ok(&[
            "get",
            "pod",
            "keeper",
            "-n",
            "durable",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .expect("rv");
    assert!(rv2 > rv1, "{rv2} <= {rv1}");
}

#[test]
fn kubectl_tour_on_embedded_store() {
    let c = Capstan::start();
    kubectl_tour(&c);
    watch_sees_other_shell(&c);
}

#[test]
fn restart_keeps_every_object_on_embedded_store() {
    let mut c = Capstan::start();
    restart_keeps_objects(&mut c);
}

#[cfg(feature = "etcd")]
#[test]
fn kubectl_tour_on_etcd() {
    let etcd = Etcd::start();
    let c = Capstan::start_with(Start {
        etcd: Some(etcd.endpoint.clone()),
        ..Default::default()
    });
    kubectl_tour(&c);
    watch_sees_other_shell(&c);
}

#[cfg(feature = "etcd")]
#[test]
fn restart_keeps_every_object_on_etcd() {
    let etcd = Etcd::start();
    let mut c = Capstan::start_with(Start {
        etcd: Some(etcd.endpoint.clone()),
        ..Default::default()
    });
    restart_keeps_objects(&mut c);
}

#[test]
fn capstan_pods_through_kubectl() {
    let c = Capstan::start();
    let yaml = r#"
apiVersion: capstan.dev/v1
kind: Pod
metadata:
  name: cp
  namespace: default
spec:
  containers:
  - name: main
    image: busybox
"#;
    create_from(&c, yaml);
    let table = c.kubectl_ok(&["get", "pods.capstan.dev"]);
    assert!(
        table.lines().next().unwrap_or_default().contains("READY"),
        "{table}"
    );
    assert!(table.contains("cp"), "{table}");
    let json = c.kubectl_ok(&["get", "pods.capstan.dev", "cp", "-o", "json"]);
    let pod: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(pod["apiVersion"], "capstan.dev/v1");
    assert_eq!(pod["spec"]["dnsPolicy"], "ClusterFirst");
    // the core pod of the same name is a different object
    let out = c.kubectl(&["get", "pods", "cp"]);
    assert!(!out.status.success());
    c.kubectl_ok(&["delete", "pods.capstan.dev", "cp"]);
}
