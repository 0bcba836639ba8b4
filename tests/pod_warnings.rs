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
        (
            "ports",
            vec![
                r#"spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use "kubernetes.io/arch" instead"#,
                r#"spec.nodeSelector[failure-domain.beta.kubernetes.io/zone]: deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
                "spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]",
                "spec.containers[0].ports[2]: hostIP set without hostPort: {Name: HostPort:0 ContainerPort:81 Protocol:TCP HostIP:127.0.0.1}",
                "spec.containers[0].ports[4]: dangerously ambiguous port definition with spec.containers[0].ports[3]",
                "spec.containers[1].ports[0]: overlapping port definition with spec.containers[0].ports[0]",
                "spec.containers[1].ports[0]: overlapping port definition with spec.containers[0].ports[1]",
                "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1",
            ],
        ),
        (
            "env",
            vec![
                r#"metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: deprecated since v1.30; use the "appArmorProfile" field instead"#,
                r#"metadata.annotations[scheduler.alpha.kubernetes.io/critical-pod]: non-functional in v1.16+; use the "priorityClassName" field instead"#,
                r#"metadata.annotations[security.alpha.kubernetes.io/sysctls]: non-functional in v1.11+; use the "sysctls" field instead"#,
                r#"spec.hostAliases[1].ip: duplicate ip "10.0.0.1""#,
                r#"spec.imagePullSecrets[1].name: duplicate name "reg""#,
                r#"spec.imagePullSecrets[2].name: invalid empty name """#,
                r#"metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
                r#"spec.initContainers[0].resources.limits[ephemeral-storage]: fractional byte value "500m" is invalid, must be an integer"#,
                r#"spec.initContainers[0].resources.requests[ephemeral-storage]: fractional byte value "100m" is invalid, must be an integer"#,
                r#"metadata.annotations[container.seccomp.security.alpha.kubernetes.io/app]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
                r#"spec.containers[0].resources.limits[memory]: fractional byte value "2000500m" is invalid, must be an integer"#,
                r#"spec.containers[0].resources.requests[memory]: fractional byte value "1500m" is invalid, must be an integer"#,
                r#"spec.containers[0].env[1]: hides previous definition of "A", which may be dropped when using apply"#,
                r#"spec.containers[0].env[5]: hides previous definition of "C", which may be dropped when using apply"#,
            ],
        ),
        (
            "affinity",
            vec![
                "metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]",
                r#"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key: beta.kubernetes.io/os is deprecated since v1.14; use "kubernetes.io/os" instead"#,
                r#"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].key: node-role.kubernetes.io/master is use "node-role.kubernetes.io/control-plane" instead"#,
                r#"spec.topologySpreadConstraints[0].topologyKey: failure-domain.beta.kubernetes.io/region is deprecated since v1.17; use "topology.kubernetes.io/region" instead"#,
                "spec.topologySpreadConstraints[0].labelSelector: a null labelSelector results in matching no pod",
                "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: a null labelSelector results in matching no pod",
                "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector: a null labelSelector results in matching no pod",
            ],
        ),
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
