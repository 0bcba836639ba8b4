//! coordination.k8s.io/v1 Leases through the whole server: discovery and OpenAPI list them,
//! kubectl prints their table, client-go's leader election (`resourcelock.LeaseLock`, protobuf
//! bodies) elects, hands over on release and on expiry, and deleting the namespace removes them.

mod support;

use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::capstan::{Capstan, tail};

/// The Table media type kubectl asks for.
const AS_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// GETs `path` as the admin with `accept`, and returns the code and the JSON body.
async fn get(c: &Capstan, path: &str, accept: &str) -> (u16, Value) {
    let client = c.client().await;
    let req = http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(Vec::new())
        .unwrap();
    let resp = client
        .send(req.map(kube::client::Body::from))
        .await
        .unwrap();
    let code = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn discovery_and_openapi_serve_the_group() {
    let c = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    let (code, groups) = get(&c, "/apis", "application/json").await;
    assert_eq!(code, 200);
    let group = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "coordination.k8s.io")
        .unwrap_or_else(|| panic!("no coordination.k8s.io in {groups}"));
    assert_eq!(
        group["preferredVersion"],
        json!({"groupVersion": "coordination.k8s.io/v1", "version": "v1"})
    );

    let (code, list) = get(&c, "/apis/coordination.k8s.io/v1", "application/json").await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["groupVersion"], "coordination.k8s.io/v1");
    let resources = list["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{list}");
    let leases = &resources[0];
    assert_eq!(leases["name"], "leases");
    assert_eq!(leases["singularName"], "lease");
    assert_eq!(leases["kind"], "Lease");
    assert_eq!(leases["namespaced"], true);
    assert_eq!(
        leases["verbs"],
        json!([
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ])
    );
    assert!(leases.get("shortNames").is_none(), "{leases}");
    assert!(leases.get("categories").is_none(), "{leases}");

    let (code, index) = get(&c, "/openapi/v3", "application/json").await;
    assert_eq!(code, 200);
    assert!(
        index["paths"]["apis/coordination.k8s.io/v1"]["serverRelativeURL"].is_string(),
        "{index}"
    );
    let (code, doc) = get(
        &c,
        "/openapi/v3/apis/coordination.k8s.io/v1",
        "application/json",
    )
    .await;
    assert_eq!(code, 200);
    let path = &doc["paths"]["/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"];
    assert_eq!(
        path["put"]["operationId"],
        "replaceCoordinationV1NamespacedLease"
    );
    assert!(
        doc["components"]["schemas"]["io.k8s.api.coordination.v1.Lease"]["properties"]["spec"]
            .is_object(),
        "{doc}"
    );
    let (code, _) = get(&c, "/apis/coordination.k8s.io", "application/json").await;
    assert_eq!(code, 200);
}

/// Runs tools/clientgo's `leaderelection` scenario in `namespace` and returns its lines, failing
/// with every failed check unless all passed.
fn run_leader_election(c: &Capstan, namespace: &str) -> Vec<Value> {
    let out = Command::new(support::tool("clientgo"))
        .arg(format!("--kubeconfig={}", c.kubeconfig.display()))
        .arg(format!("--namespace={namespace}"))
        .arg("leaderelection")
        .stdin(Stdio::null())
        .output()
        .expect("run tools/clientgo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.into())))
        .collect();
    let failed = lines.iter().any(|l| l["ok"] == false);
    let done = lines.iter().any(|l| l["done"] == true);
    assert!(
        out.status.success() && !failed && done,
        "leader election failed ({}):\n{stdout}\nstderr tail:\n{}\nserver log tail:\n{}",
        out.status,
        tail(&String::from_utf8_lossy(&out.stderr), 30),
        tail(&c.log_text(), 30)
    );
    lines
}

#[test]
fn client_go_leader_election_hands_over_and_kubectl_shows_the_holder() {
    leader_election_then_kubectl(&Capstan::start());
}

/// The same on etcd, through the watch cache (which serves leases' watches and lists).
#[cfg(feature = "etcd")]
#[test]
fn client_go_leader_election_on_etcd() {
    let etcd = support::etcd::Etcd::start();
    let c = Capstan::start_with(support::capstan::Start {
        etcd: Some(etcd.endpoint.clone()),
        ..Default::default()
    });
    leader_election_then_kubectl(&c);
}

/// Leader election in namespace `election`, the lease it leaves as kubectl reads and prints it,
/// and the namespace's deletion taking the lease along.
fn leader_election_then_kubectl(c: &Capstan) {
    let lines = run_leader_election(c, "election");
    for check in [
        "leader/a-acquires",
        "lease/held-by-a",
        "lease/renewed",
        "leader/b-observes-a",
        "leader/b-waits",
        "leader/b-takes-over",
        "lease/held-by-b",
        "leader/c-takes-over-after-expiry",
        "lease/held-by-c",
    ] {
        assert!(
            lines.iter().any(|l| l["check"] == check && l["ok"] == true),
            "{check} did not pass: {lines:?}"
        );
    }
    let note = lines
        .iter()
        .find(|l| l["note"] == true)
        .expect("final note");
    assert_eq!(note["holder"], "candidate-c");
    assert_eq!(note["transitions"], 2);

    // The lease as Capstan keeps it: the last holder, two transitions, leader election's times.
    let lease: Value = serde_json::from_str(&c.kubectl_ok(&[
        "get",
        "lease",
        "capstan-leader",
        "-n",
        "election",
        "-o",
        "json",
    ]))
    .unwrap();
    let spec = &lease["spec"];
    assert_eq!(spec["holderIdentity"], "candidate-c");
    assert_eq!(spec["leaseTransitions"], 2);
    assert_eq!(spec["leaseDurationSeconds"], 3);
    for time in ["acquireTime", "renewTime"] {
        let t = spec[time].as_str().unwrap_or_default();
        // MicroTime: six fractional digits
        assert_eq!(
            t.len(),
            "2026-11-27T10:11:12.345678Z".len(),
            "{time}: {lease}"
        );
    }

    // kubectl's table across namespaces.
    c.kubectl_stdin_ok(
        &["create", "-f", "-"],
        r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"free","namespace":"default"},"spec":{}}"#,
    );
    let table = c.kubectl_ok(&["get", "leases", "-A"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NAMESPACE", "NAME", "HOLDER", "AGE"], "{table}");
    assert!(
        rows.iter()
            .any(|r| r[..3] == ["election", "capstan-leader", "candidate-c"]),
        "{table}"
    );
    // An empty holder is an empty cell: the row is namespace, name, age.
    assert!(
        rows.iter()
            .any(|r| r.len() == 3 && r[..2] == ["default", "free"]),
        "{table}"
    );

    // Deleting the namespace (kubectl waits until it is gone) takes its leases along.
    c.kubectl_ok(&["delete", "namespace", "election", "--timeout=60s"]);
    let out = c.kubectl(&["get", "lease", "capstan-leader", "-n", "election"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NotFound"),
        "{out:?}"
    );
}

#[tokio::test]
async fn the_table_wire_format_has_kube_columns() {
    let c = tokio::task::spawn_blocking(Capstan::start).await.unwrap();
    let body = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"t"},"spec":{"holderIdentity":"me"}}"#;
    let (code, created) = c
        .raw(
            "POST",
            "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            Some("application/json"),
            body.into(),
        )
        .await;
    assert_eq!(code, 201, "{created}");
    let (code, table) = get(&c, "/apis/coordination.k8s.io/v1/leases", AS_TABLE).await;
    assert_eq!(code, 200, "{table}");
    assert_eq!(table["kind"], "Table");
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Holder", "Age"]);
    let row = &table["rows"][0]["cells"];
    assert_eq!(row[0], "t");
    assert_eq!(row[1], "me");
}
