//! `kubectl get` tables for every kind Capstan serves, driven by real kubectl against a real
//! Capstan: the default and `-o wide` columns of kube's printers, `-A`, the first lines of `-w`,
//! and the Table wire format itself (`includeObject`, column definitions only on the first watch
//! event).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::capstan::Capstan;

const NS: &str = "tables";

/// The Table media type kubectl asks for.
const AS_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

fn create_from(c: &Capstan, manifest: &str) {
    c.kubectl_stdin_ok(&["create", "--validate=false", "-f", "-"], manifest);
}

/// The objects every case reads: a namespace with a configmap, a secret, a pod and an event, and
/// a capstan.dev pod.
fn populate(c: &Capstan) {
    create_from(
        c,
        &format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{NS}"}}}}"#),
    );
    // JSON manifests: kubectl's `create configmap|secret` send protobuf, which has its own item.
    create_from(
        c,
        &format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"settings","namespace":"{NS}"}},"data":{{"a":"1","b":"2"}}}}"#
        ),
    );
    create_from(
        c,
        &format!(
            r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"token","namespace":"{NS}"}},"stringData":{{"t":"s"}}}}"#
        ),
    );
    c.kubectl_ok(&["run", "web", "--image=nginx", "-n", NS]);
    create_from(
        c,
        &format!(
            r#"{{"apiVersion":"v1","kind":"Event","metadata":{{"name":"web.1","namespace":"{NS}"}},
                "involvedObject":{{"apiVersion":"v1","kind":"Pod","namespace":"{NS}","name":"web","fieldPath":"spec.containers{{web}}"}},
                "reason":"Pulled","type":"Normal","message":"Pulled nginx","count":3,
                "source":{{"component":"kubelet","host":"node-1"}}}}"#
        ),
    );
    create_from(
        c,
        &format!(
            r#"{{"apiVersion":"capstan.dev/v1","kind":"Pod","metadata":{{"name":"own","namespace":"{NS}"}},
                "spec":{{"containers":[{{"name":"main","image":"busybox"}}]}}}}"#
        ),
    );
}

/// The column names of kubectl's header line (columns are padded by at least three spaces).
fn header(out: &str) -> Vec<String> {
    let line = out.lines().next().unwrap_or_default();
    line.split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The cells of the row whose text contains `needle`.
fn row(out: &str, needle: &str) -> Vec<String> {
    let line = out
        .lines()
        .skip(1)
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle:?} in\n{out}"));
    line.split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `kubectl get <resource>` in the test namespace, plain, wide and across namespaces: the headers
/// are `columns`, `columns` + `wide`, and `NAMESPACE` + `columns`.
fn check_kind(c: &Capstan, resource: &str, columns: &[&str], wide: &[&str]) -> String {
    let out = c.kubectl_ok(&["get", resource, "-n", NS]);
    assert_eq!(header(&out), columns, "kubectl get {resource}:\n{out}");
    let wide_out = c.kubectl_ok(&["get", resource, "-n", NS, "-o", "wide"]);
    let mut expected: Vec<&str> = columns.to_vec();
    expected.extend_from_slice(wide);
    // kubectl places the wide columns where the server lists them; compare as sets of names
    // and then check the default ones keep their order.
    let got = header(&wide_out);
    let mut sorted_got = got.clone();
    sorted_got.sort();
    let mut sorted_expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    sorted_expected.sort();
    assert_eq!(
        sorted_got, sorted_expected,
        "kubectl get {resource} -o wide:\n{wide_out}"
    );
    let in_order: Vec<&String> = got
        .iter()
        .filter(|c| columns.contains(&c.as_str()))
        .collect();
    assert_eq!(in_order, columns, "{wide_out}");
    let all = c.kubectl_ok(&["get", resource, "-A"]);
    let mut namespaced = vec!["NAMESPACE"];
    namespaced.extend_from_slice(columns);
    assert_eq!(
        header(&all),
        namespaced,
        "kubectl get {resource} -A:\n{all}"
    );
    out
}

fn tables(c: &Capstan) {
    let out = c.kubectl_ok(&["get", "namespaces"]);
    assert_eq!(header(&out), ["NAME", "STATUS", "AGE"], "{out}");
    assert_eq!(row(&out, NS)[..2], [NS, "Active"]);
    let wide = c.kubectl_ok(&["get", "namespaces", "-o", "wide"]);
    assert_eq!(header(&wide), ["NAME", "STATUS", "AGE"], "{wide}");

    let out = check_kind(c, "configmaps", &["NAME", "DATA", "AGE"], &[]);
    assert_eq!(row(&out, "settings")[..2], ["settings", "2"]);

    let out = check_kind(c, "secrets", &["NAME", "TYPE", "DATA", "AGE"], &[]);
    assert_eq!(row(&out, "token")[..3], ["token", "Opaque", "1"]);

    let out = check_kind(
        c,
        "pods",
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        &["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
    );
    assert_eq!(row(&out, "web")[..3], ["web", "0/1", "Pending"]);

    let out = check_kind(
        c,
        "events",
        &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        &["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"],
    );
    assert_eq!(
        row(&out, "Pulled")[1..],
        ["Normal", "Pulled", "pod/web", "Pulled nginx"]
    );
    let wide = c.kubectl_ok(&["get", "ev", "-n", NS, "-o", "wide"]);
    let cells = row(&wide, "Pulled");
    for cell in ["spec.containers{web}", "kubelet, node-1", "3", "web.1"] {
        assert!(
            cells.contains(&cell.to_string()),
            "{cell} missing in {wide}"
        );
    }

    let out = check_kind(
        c,
        "pods.capstan.dev",
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        &["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
    );
    assert_eq!(row(&out, "own")[..3], ["own", "0/1", "Pending"]);
}

/// `kubectl get <resource> -w`: the header and current rows first, then one row per change
/// without a second header.
fn watch_first_lines(c: &Capstan, resource: &str, header_cols: &[&str], create: impl FnOnce()) {
    let mut child = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", c.kubeconfig.display()))
        .args(["get", resource, "-n", NS, "-w"])
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
    let next = || rx.recv_timeout(Duration::from_secs(20));
    let first = next();
    let second = next();
    create();
    let third = next();
    let _ = child.kill();
    let _ = child.wait();
    let first = first.expect("kubectl -w printed no header");
    assert_eq!(header(&first), header_cols, "{first}");
    assert!(second.is_ok(), "kubectl -w printed no current row");
    let third = third.expect("kubectl -w printed nothing for the new object");
    assert!(
        !third.starts_with(header_cols[0]),
        "a second header: {third}"
    );
}

async fn get_table(c: &Capstan, path: &str) -> Value {
    let client = c.client().await;
    let req = http::Request::get(path)
        .header("accept", AS_TABLE)
        .body(Vec::new())
        .unwrap();
    let text = client.request_text(req).await.expect("table request");
    serde_json::from_str(&text).expect("table JSON")
}

/// The Table itself: `includeObject` decides what each row carries, and a watch sends the column
/// definitions only with its first event.
async fn wire_format(c: &Capstan) {
    let base = format!("/api/v1/namespaces/{NS}/configmaps");
    let metadata = get_table(c, &base).await;
    assert_eq!(metadata["kind"], "Table");
    assert_eq!(metadata["columnDefinitions"][1]["name"], "Data");
    let row = &metadata["rows"][0];
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert!(row["object"].get("data").is_none());
    let none = get_table(c, &format!("{base}?includeObject=None")).await;
    assert!(none["rows"][0].get("object").is_none(), "{none}");
    let object = get_table(c, &format!("{base}?includeObject=Object")).await;
    let settings = object["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cells"][0] == "settings")
        .expect("the settings row");
    assert_eq!(settings["object"]["kind"], "ConfigMap");
    assert_eq!(settings["object"]["data"]["a"], "1");

    // Two configmaps exist, so a watch from now starts with two ADDED events.
    let client = c.client().await;
    let req = http::Request::get(format!("{base}?watch=1&timeoutSeconds=2"))
        .header("accept", AS_TABLE)
        .body(Vec::new())
        .unwrap();
    let text = client.request_text(req).await.expect("watch");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("event JSON"))
        .collect();
    assert!(events.len() >= 2, "{text}");
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["kind"], "Table");
    assert!(events[0]["object"]["columnDefinitions"].is_array());
    for later in &events[1..] {
        assert!(
            later["object"].get("columnDefinitions").is_none(),
            "{later}"
        );
        assert_eq!(later["object"]["rows"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn kubectl_get_prints_kube_tables_for_every_kind() {
    let c = tokio::task::spawn_blocking(|| {
        let c = Capstan::start();
        populate(&c);
        tables(&c);
        watch_first_lines(
            &c,
            "configmaps",
            &["NAME", "DATA", "AGE"],
            || {
                create_from(
                    &c,
                    &format!(
                        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"later","namespace":"{NS}"}}}}"#
                    ),
                );
            },
        );
        watch_first_lines(
            &c,
            "events",
            &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            || {
                create_from(
                    &c,
                    &format!(
                        r#"{{"apiVersion":"v1","kind":"Event","metadata":{{"name":"web.2","namespace":"{NS}"}},
                            "involvedObject":{{"kind":"Pod","namespace":"{NS}","name":"web"}},
                            "reason":"Started","type":"Normal","message":"Started web"}}"#
                    ),
                )
            },
        );
        c
    })
    .await
    .unwrap();
    wire_format(&c).await;
}
