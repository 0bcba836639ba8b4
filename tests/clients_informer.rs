//! client-go acceptance: a real shared informer (tools/informer, client-go v0.37.2 from the Go
//! proxy, built by `scripts/tools.sh informer`) runs against Capstan. It must sync in watch-list
//! mode (client-go ≥ 1.35's default), see adds, updates and deletes in order, and survive a
//! Capstan restart without losing or duplicating objects.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::capstan::{Capstan, tail};

/// The informer process and everything it has printed so far.
struct Informer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Informer {
    fn start(capstan: &Capstan, args: &[&str]) -> Self {
        let mut child = Command::new(support::tool("informer"))
            .arg(format!("--kubeconfig={}", capstan.kubeconfig.display()))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the informer");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value =
                    serde_json::from_str(&line).unwrap_or_else(|_| Value::String(line.clone()));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `wanted`, and returns it.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the informer never reported {what}; it said:\n{}",
                    self.transcript()
                ),
            }
        }
    }

    /// The event `kind` on `key`, already reported or still to come (while waiting for one
    /// event the informer may report the next).
    fn wait_for_event(&mut self, kind: &str, key: &str) -> Value {
        let wanted = |l: &Value| l["kind"] == "event" && l["type"] == kind && l["key"] == key;
        if let Some(line) = self.seen.iter().find(|l| wanted(l)) {
            return line.clone();
        }
        self.wait_for(&format!("{kind} {key}"), wanted)
    }

    /// The keys in the informer's store.
    fn store(&mut self) -> Vec<String> {
        serde_json::from_value(self.dump()["keys"].clone()).expect("keys")
    }

    /// The informer's store and the resourceVersion its reflector last synced to.
    fn dump(&mut self) -> Value {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin.write_all(b"dump\n").expect("ask for the store");
        stdin.flush().expect("flush");
        self.wait_for("its store", |l| l["kind"] == "store")
    }

    fn events(&self) -> Vec<&Value> {
        self.seen.iter().filter(|l| l["kind"] == "event").collect()
    }

    fn requests(&self) -> Vec<&Value> {
        self.seen
            .iter()
            .filter(|l| l["kind"] == "request")
            .collect()
    }

    fn transcript(&self) -> String {
        self.seen
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Informer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_pod(c: &Capstan, name: &str) {
    let manifest = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"default"}},
            "spec":{{"containers":[{{"name":"c","image":"busybox"}}]}}}}"#
    );
    c.kubectl_stdin_ok(&["create", "--validate=false", "-f", "-"], &manifest);
}

fn rv(line: &Value) -> i64 {
    line["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no resourceVersion in {line}"))
}

/// The pods requests the informer sent were watches starting with a watch-list, never a LIST.
fn assert_watch_list_only(informer: &Informer, path: &str) {
    let pods: Vec<&Value> = informer
        .requests()
        .into_iter()
        .filter(|r| r["path"] == path)
        .collect();
    let first = pods.first().expect("a request for pods");
    let query = first["query"].as_str().unwrap();
    for param in [
        "watch=true",
        "sendInitialEvents=true",
        "resourceVersionMatch=NotOlderThan",
        "allowWatchBookmarks=true",
    ] {
        assert!(
            query.split('&').any(|p| p == param),
            "the initial sync asks for {param}: {query}"
        );
    }
    assert_eq!(first["status"], 200, "{first}");
    assert_eq!(first["contentType"], "application/json");
    for request in &pods {
        let query = request["query"].as_str().unwrap();
        assert!(
            query.split('&').any(|p| p == "watch=true"),
            "client-go fell back to a LIST: {request}"
        );
    }
}

#[test]
fn client_go_informer_syncs_by_watch_list_follows_changes_and_survives_a_restart() {
    let mut c = Capstan::start();
    create_pod(&c, "p1");
    create_pod(&c, "p2");

    let mut informer = Informer::start(&c, &["--namespace=default"]);
    let start = informer.wait_for("start", |l| l["kind"] == "start");
    assert_eq!(start["watchListClient"], true, "client-go's default");
    informer.wait_for("the initial sync", |l| l["kind"] == "synced");
    // client-go replaces its store with the watch-list's objects; the adds come in map order.
    let mut initial: Vec<(String, bool)> = informer
        .events()
        .iter()
        .map(|e| (e["key"].as_str().unwrap().to_string(), e["initial"] == true))
        .collect();
    initial.sort();
    assert_eq!(
        initial,
        [
            ("default/p1".to_string(), true),
            ("default/p2".to_string(), true)
        ]
    );
    assert_watch_list_only(&informer, "/api/v1/namespaces/default/pods");

    // Changes arrive in order, each newer than the last.
    create_pod(&c, "p3");
    let added = informer.wait_for_event("add", "default/p3");
    assert_eq!(added["initial"], false);
    c.kubectl_ok(&["label", "pod", "p3", "-n", "default", "tier=web"]);
    let updated = informer.wait_for_event("update", "default/p3");
    assert_eq!(updated["oldResourceVersion"], added["resourceVersion"]);
    c.kubectl_ok(&["delete", "pod", "p3", "-n", "default", "--wait=false"]);
    let deleted = informer.wait_for_event("delete", "default/p3");
    assert!(rv(&added) < rv(&updated) && rv(&updated) <= rv(&deleted));
    let p3_order: Vec<&str> = informer
        .events()
        .iter()
        .filter(|e| e["key"] == "default/p3")
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(p3_order.first(), Some(&"add"));
    assert_eq!(p3_order.last(), Some(&"delete"));
    assert!(
        p3_order[1..p3_order.len() - 1]
            .iter()
            .all(|t| *t == "update")
    );
    let dump = informer.dump();
    assert_eq!(
        dump["keys"],
        serde_json::json!(["default/p1", "default/p2"])
    );
    let synced_to = dump["lastSyncResourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let before_restart = rv(&deleted);

    // Restart; the informer reconnects to the same address and catches up with changes made
    // after the restart, without replaying what it already had. Depending on how its watch
    // ended, client-go resumes the watch from its last resourceVersion or starts a new
    // watch-list from it (then p1's deletion comes from the store replacement); both must end
    // in the same store.
    c.restart();
    create_pod(&c, "p4");
    c.kubectl_ok(&["delete", "pod", "p1", "-n", "default", "--wait=false"]);
    let p4 = informer.wait_for_event("add", "default/p4");
    assert!(rv(&p4) > before_restart);
    informer.wait_for_event("delete", "default/p1");
    assert_eq!(
        informer.store(),
        ["default/p2", "default/p4"],
        "log tail:\n{}",
        tail(&c.log_text(), 20)
    );

    let mut adds: BTreeMap<String, usize> = BTreeMap::new();
    let mut deletes: BTreeMap<String, usize> = BTreeMap::new();
    for event in informer.events() {
        let key = event["key"].as_str().unwrap().to_string();
        match event["type"].as_str() {
            Some("add") => *adds.entry(key).or_default() += 1,
            Some("delete") => *deletes.entry(key).or_default() += 1,
            _ => {}
        }
    }
    assert!(
        adds.values().all(|n| *n == 1) && deletes.values().all(|n| *n == 1),
        "each object added and deleted once:\n{}",
        informer.transcript()
    );
    assert_eq!(adds.len(), 4);
    assert_eq!(
        deletes.keys().collect::<Vec<_>>(),
        ["default/p1", "default/p3"]
    );
    assert_watch_list_only(&informer, "/api/v1/namespaces/default/pods");
    // It resumed from where it was rather than listing again.
    let resumed = format!("resourceVersion={synced_to}");
    assert!(
        informer.requests().iter().any(|r| r["status"] == 200
            && r["query"]
                .as_str()
                .unwrap()
                .split('&')
                .any(|p| p == resumed)),
        "no watch resumed from {synced_to}:\n{}",
        informer.transcript()
    );
}

/// The metadata informer the namespace and garbage-collector controllers use: PartialObjectMetadata
/// over a watch-list, then changes.
#[test]
fn client_go_metadata_informer_syncs_by_watch_list_and_follows_changes() {
    let c = Capstan::start();
    create_pod(&c, "m1");
    let mut informer = Informer::start(&c, &["--mode=metadata"]);
    informer.wait_for("the initial sync", |l| l["kind"] == "synced");
    let first = informer.events()[0].clone();
    assert_eq!(
        (&first["type"], &first["key"], &first["initial"]),
        (
            &Value::from("add"),
            &Value::from("default/m1"),
            &Value::from(true)
        )
    );
    let request = informer
        .requests()
        .into_iter()
        .find(|r| r["path"] == "/api/v1/pods")
        .cloned()
        .unwrap();
    assert!(
        request["accept"]
            .as_str()
            .unwrap()
            .contains("as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
        "{request}"
    );
    assert_watch_list_only(&informer, "/api/v1/pods");

    create_pod(&c, "m2");
    informer.wait_for_event("add", "default/m2");
    c.kubectl_ok(&["annotate", "pod", "m2", "-n", "default", "note=x"]);
    informer.wait_for_event("update", "default/m2");
    c.kubectl_ok(&["delete", "pod", "m2", "-n", "default", "--wait=false"]);
    informer.wait_for_event("delete", "default/m2");
    assert_eq!(informer.store(), ["default/m1"]);
}
