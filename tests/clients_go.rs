//! client-go against Capstan, scenario by scenario: tools/clientgo (client-go v0.37.2 from the Go
//! proxy, built by `scripts/tools.sh clientgo`) drives the typed clientset (protobuf bodies),
//! the dynamic, metadata and discovery clients, REST mappers, informers with selectors,
//! `retry.RetryOnConflict`, namespace deletion and relisting after a compaction, and reports each
//! check as a JSON line. Every scenario also passes against a real kube-apiserver (run by hand,
//! `--capstan=false`), so a failure here is a difference from kube.

mod support;

use std::process::{Command, Stdio};

use serde_json::Value;
use support::capstan::{Capstan, Start, tail};

/// client-go's watch-list consistency check: after each watch-list it lists at the same
/// resourceVersion and panics unless both gave identical objects.
const DETECTOR: (&str, &str) = ("KUBE_WATCHLIST_INCONSISTENCY_DETECTOR", "true");

/// Runs `scenario` in `namespace` with `env`, and fails with every failed check (and what the
/// program and the server said) unless all passed. Returns the program's lines.
fn run(c: &Capstan, scenario: &str, namespace: &str, env: &[(&str, &str)]) -> Vec<Value> {
    let out = Command::new(support::tool("clientgo"))
        .arg(format!("--kubeconfig={}", c.kubeconfig.display()))
        .arg(format!("--namespace={namespace}"))
        .arg(scenario)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run tools/clientgo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.into())))
        .collect();
    let failed: Vec<&Value> = lines.iter().filter(|l| l["ok"] == false).collect();
    let done = lines.iter().any(|l| l["done"] == true);
    assert!(
        out.status.success() && failed.is_empty() && done,
        "client-go scenario {scenario} failed ({}):\n{}\n\nall lines:\n{stdout}\nstderr tail:\n{}\nserver log tail:\n{}",
        out.status,
        failed
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        tail(&String::from_utf8_lossy(&out.stderr), 30),
        tail(&c.log_text(), 30)
    );
    lines
}

/// The notes (`{"note":true,...}`) a scenario printed.
fn notes(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["note"] == true).collect()
}

#[test]
fn typed_clientset_writes_every_core_kind_with_protobuf_bodies() {
    let c = Capstan::start();
    run(&c, "writes", "writes", &[]);
}

/// client-go's events.k8s.io/v1 recorder: a created event, then a series patched onto it (a
/// strategic merge patch), read back through core/v1 too.
#[test]
fn events_recorder_creates_and_patches_series() {
    let c = Capstan::start();
    run(&c, "events", "events", &[]);
}

#[test]
fn retry_on_conflict_lands_every_concurrent_increment() {
    let c = Capstan::start();
    run(&c, "conflicts", "conflicts", &[]);
}

#[test]
fn dynamic_and_metadata_clients_in_both_groups_and_versions() {
    let c = Capstan::start();
    run(&c, "dynamic", "dynamic", &[DETECTOR]);
}

#[test]
fn discovery_client_and_rest_mappers() {
    let c = Capstan::start();
    run(&c, "discovery", "discovery", &[]);
}

#[test]
fn informers_with_label_and_field_selectors_follow_objects_in_and_out() {
    let c = Capstan::start();
    run(&c, "selectors", "selectors", &[DETECTOR]);
}

#[test]
fn generation_and_observed_generation_as_kube_keeps_them() {
    let c = Capstan::start();
    run(&c, "generation", "generation", &[]);
}

/// A namespace holding a few hundred objects of every kind goes promptly; meanwhile creates are
/// refused with the `NamespaceTerminating` cause client-go looks for.
#[test]
fn namespace_with_hundreds_of_objects_is_deleted_through_client_go() {
    let c = Capstan::start();
    let lines = run(&c, "namespace", "crowded", &[]);
    let objects = notes(&lines)
        .iter()
        .find_map(|n| n["objects"].as_u64())
        .unwrap_or(0);
    assert!(objects >= 300, "only {objects} objects were made");
}

/// An informer that fell behind a compaction (its server gone meanwhile) relists once, by
/// watch-list and by the LIST/WATCH client-go falls back to, and ends with the current state.
#[test]
fn informers_relist_after_their_resource_version_is_compacted() {
    let c = Capstan::start_with(Start {
        args: vec!["--etcd-compaction-interval=1s".into()],
        ..Default::default()
    });
    run(&c, "relist", "relist-watchlist", &[]);
    run(
        &c,
        "relist",
        "relist-listwatch",
        &[("KUBE_FEATURE_WatchListClient", "false")],
    );
}

/// Periodic bookmarks (about a minute apart) never go back and never overtake events; a watch
/// resumed from one replays nothing older.
#[test]
fn bookmarks_progress_with_the_store() {
    let c = Capstan::start();
    run(&c, "bookmarks", "bookmarks", &[]);
}

/// With `KUBE_WATCHLIST_INCONSISTENCY_DETECTOR` (as kube's CI runs its components) client-go
/// lists each resource again at the resourceVersion its watch-list ended at and panics unless
/// both hold identical objects: list items of built-in kinds carry no `kind`/`apiVersion`, as
/// the objects a typed watch decodes do not.
#[test]
fn typed_watch_lists_match_a_list_at_the_same_resource_version() {
    let c = Capstan::start();
    run(&c, "consistency", "consistency", &[DETECTOR]);
}

/// `kubectl wait --for=condition=PodScheduled` (a watch on one pod by field selector) returns
/// once a binding lands, for core and capstan.dev pods.
#[tokio::test]
async fn kubectl_wait_sees_pod_scheduled_after_a_binding() {
    let c = std::sync::Arc::new(tokio::task::spawn_blocking(Capstan::start).await.unwrap());
    c.kubectl_ok(&["run", "core", "--image=busybox"]);
    c.kubectl_stdin_ok(
        &["create", "-f", "-"],
        "apiVersion: capstan.dev/v1\nkind: Pod\nmetadata: {name: ours}\nspec: {containers: [{name: c, image: busybox}]}\n",
    );
    for (resource, api_version, binding_path) in [
        (
            "pod/core",
            "v1",
            "/api/v1/namespaces/default/pods/core/binding",
        ),
        (
            "pods.capstan.dev/ours",
            "capstan.dev/v1",
            "/apis/capstan.dev/v1/namespaces/default/pods/ours/binding",
        ),
    ] {
        let waiter = {
            let c = c.clone();
            let resource = resource.to_string();
            std::thread::spawn(move || {
                c.kubectl(&[
                    "wait",
                    "--for=condition=PodScheduled",
                    &resource,
                    "--timeout=30s",
                ])
            })
        };
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let name = resource.rsplit('/').next().unwrap();
        let binding = serde_json::json!({
            "apiVersion": api_version, "kind": "Binding",
            "metadata": {"name": name},
            "target": {"kind": "Node", "name": "node-1"},
        });
        let (code, body) = c
            .raw(
                "POST",
                binding_path,
                Some("application/json"),
                binding.to_string().into_bytes(),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        let out = tokio::task::spawn_blocking(move || waiter.join().unwrap())
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl wait on {resource}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("condition met"));
    }
}
