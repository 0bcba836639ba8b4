//! The official Kubernetes Python client (PyPI `kubernetes`, pinned in
//! tools/python-client/requirements.txt) against a real Capstan: tools/python-client/client_tour.py
//! creates a namespace and pods, lists with label selectors, watches with
//! `watch.Watch().stream(...)` (`watch=true`, events read line by line) while it creates and
//! deletes a pod, and deletes everything. The script checks as it goes and prints what it saw,
//! which this test checks again.

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::capstan::{Capstan, tail};
use support::{repo_root, tool};

#[test]
fn python_client_tour() {
    let c = Capstan::start();
    let python = tool("python-client");
    let script = repo_root().join("tools/python-client/client_tour.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&c.kubeconfig)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run the python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client tour failed:\nstdout: {stdout}\nstderr: {}\nserver log tail:\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&c.log_text(), 40)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("the tour prints JSON");

    assert_eq!(seen["namespace_phase"], "Active");
    assert_eq!(
        seen["created"],
        json!({"phase": "Pending", "restart_policy": "Always", "image_pull_policy": "IfNotPresent"})
    );
    assert_eq!(seen["listed"], json!(["web"]));
    assert_eq!(seen["listed_set_based"], json!(["db", "web"]));
    // The pod added during the watch: ADDED, the deletion mark, DELETED; nothing that the
    // selector leaves out (db-2).
    assert_eq!(
        seen["watched"],
        json!([
            ["ADDED", "web-2"],
            ["MODIFIED", "web-2"],
            ["DELETED", "web-2"]
        ])
    );
    assert_eq!(seen["initial"], json!([["ADDED", "web"]]));
    assert_eq!(
        seen["read_after_delete"],
        json!({"status": 404, "reason": "NotFound", "message": "pods \"web\" not found"})
    );

    // The namespace goes away with everything in it.
    c.kubectl_ok(&["wait", "--for=delete", "namespace/py-tour", "--timeout=30s"]);
}
