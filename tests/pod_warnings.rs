//! Pod warnings end to end: `kubectl create`/`apply` of pods that use deprecated or ineffective
//! fields prints the `Warning: …` lines kube-apiserver 1.37.2 sends for the same manifests
//! (kube's `podStrategy.WarningsOnCreate`), and a pod that triggers none prints none.
//!
//! The manifests are in tests/golden/pod-warnings/; the expected lines were recorded from a real
//! kube-apiserver 1.37.2, which the ignored test at the end of this file checks again. Each
//! manifest has at most one deprecated key per map kube walks in Go's random map order.
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
                "spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]",
                "spec.containers[0].ports[2]: hostIP set without hostPort: {Name: HostPort:0 ContainerPort:81 Protocol:TCP HostIP:127.0.0.1}",
                "spec.containers[0].ports[4]: dangerously ambiguous port definition with spec.containers[0].ports[3]",
                "spec.containers[1].ports[0]: overlapping port definition with spec.containers[0].ports[0]",
                "spec.containers[1].ports[0]: overlapping port definition with spec.containers[0].ports[1]",
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
        (
            "volumes",
            vec![
                "spec.volumes[0].gitRepo: deprecated in v1.11, and disabled by default in v1.33+",
                "spec.volumes[1].flocker: deprecated in v1.22, non-functional in v1.25+",
                r#"spec.volumes[5].ephemeral.volumeClaimTemplate.spec.resources.requests[storage]: fractional byte value "1500m" is invalid, must be an integer"#,
                r#"volume "cfg" (ConfigMap "cm"): overlapping paths: "conf/sub" with "conf""#,
                r#"volume "cfg" (ConfigMap "cm"): overlapping paths: "conf" with "conf""#,
                r#"volume "cfg" (ConfigMap "cm"): overlapping paths: "conf" with "conf/sub""#,
                r#"volume "sec" (Secret "s"): overlapping paths: "x" with "x""#,
                r#"volume "proj" (Projected): overlapping paths: "token" (ConfigMap "cm") with "token" (ServiceAccountToken)"#,
                r#"volume "proj" (Projected): overlapping paths: "labels/x" (DownwardAPI) with "labels" (DownwardAPI)"#,
            ],
        ),
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

/// The `Warning` lines of one kubectl run, checked to have succeeded.
fn run_ok(kubectl: &dyn Fn(&[&str]) -> Output, args: &[&str]) -> Vec<String> {
    let out = kubectl(args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    warnings(&out)
}

/// What both servers must do: a server-side dry run warns as the create does; `kubectl apply`
/// of each manifest prints its warnings; updates of a pod (a label, a re-apply) print none, as
/// kube skips warnings on pod updates; a `pods/status` update warns about IPs in non-standard
/// forms.
fn scenario(kubectl: &dyn Fn(&[&str]) -> Output) {
    let ports = manifest("ports");
    let dry = run_ok(kubectl, &["create", "--dry-run=server", "-f", &ports]);
    let (_, want_ports) = cases().into_iter().find(|(n, _)| *n == "ports").unwrap();
    assert_eq!(dry, want_ports, "dry run");
    for (name, want) in cases() {
        let got = run_ok(kubectl, &["apply", "-f", &manifest(name)]);
        assert_eq!(got, want, "kubectl apply -f {name}.yaml");
    }
    let relabelled = run_ok(kubectl, &["label", "pod", "warn-ports", "tier=web"]);
    assert_eq!(relabelled, Vec::<String>::new(), "label");
    let reapplied = run_ok(kubectl, &["apply", "-f", &ports]);
    assert_eq!(reapplied, Vec::<String>::new(), "re-apply");
    let status = run_ok(
        kubectl,
        &[
            "patch",
            "pod",
            "quiet",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"podIP":"2001:DB8::5","podIPs":[{"ip":"2001:DB8::5"}]}}"#,
        ],
    );
    assert_eq!(
        status,
        [
            r#"status.podIPs[0].ip: IPv6 address "2001:DB8::5" should be in RFC 5952 canonical format ("2001:db8::5")"#
        ]
    );
}

/// kubectl prints kube's warnings for pods Capstan creates, and none for updates.
#[test]
fn kubectl_prints_kube_apiserver_pod_warnings() {
    let c = Capstan::start();
    scenario(&|args| c.kubectl(args));
}

/// capstan.dev pods share the strategy, so they warn alike.
#[test]
fn capstan_dev_pods_warn_alike() {
    let c = Capstan::start();
    let yaml = std::fs::read_to_string(manifest("ports"))
        .unwrap()
        .replace("apiVersion: v1", "apiVersion: capstan.dev/v1");
    let out = c.kubectl_stdin(&["create", "-f", "-"], &yaml);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, want) = cases().into_iter().find(|(n, _)| *n == "ports").unwrap();
    assert_eq!(warnings(&out), want);
}

/// The same scenario against a real kube-apiserver: the recorded texts are kube's.
#[test]
#[ignore = "builds kube-apiserver on first use (minutes); run with --ignored"]
fn kube_apiserver_prints_the_recorded_warnings() {
    let etcd = support::etcd::Etcd::start();
    let kube = support::kube_apiserver::KubeApiserver::start(&etcd.endpoint);
    scenario(&|args| kube.kubectl(args));
}
