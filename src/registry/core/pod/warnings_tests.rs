//! Each warning text against kube 1.37's (pkg/api/pod/warnings.go), field paths and wording.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use super::*;

fn spec(value: Value) -> PodSpec {
    let mut value = value;
    if value.get("containers").is_none() {
        value["containers"] = json!([{ "name": "app", "image": "nginx" }]);
    }
    serde_json::from_value(value).unwrap()
}

fn named(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn warned(value: Value) -> Vec<String> {
    warnings_on_create(&named("p"), &spec(value))
}

fn annotated(annotations: Value) -> Vec<String> {
    let mut meta = named("p");
    meta.annotations = serde_json::from_value(annotations).unwrap();
    warnings_on_create(&meta, &spec(json!({})))
}

#[test]
fn a_plain_pod_warns_about_nothing() {
    assert!(warned(json!({ "nodeSelector": { "kubernetes.io/os": "linux" } })).is_empty());
}

#[test]
fn a_name_that_is_not_a_dns_label_is_warned_about() {
    let w = warnings_on_create(&named("a.b"), &spec(json!({})));
    assert_eq!(
        w,
        [
            "metadata.name: this is used in the Pod's hostname, which can result in surprising \
          behavior; a DNS label is recommended: [must not contain dots]"
        ]
    );
}

#[test]
fn deprecated_node_labels_in_selectors_affinity_and_spread() {
    let w = warned(json!({
        "nodeSelector": { "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/instance-type": "x" },
        "affinity": { "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [
                { "matchExpressions": [
                    { "key": "kubernetes.io/os", "operator": "Exists" },
                    { "key": "failure-domain.beta.kubernetes.io/region", "operator": "Exists" },
                ] },
            ] },
            "preferredDuringSchedulingIgnoredDuringExecution": [
                { "weight": 1, "preference": { "matchExpressions": [
                    { "key": "app.kubernetes.io/created-by", "operator": "Exists" },
                ] } },
            ],
        } },
        "topologySpreadConstraints": [{
            "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule",
            "topologyKey": "scheduler.alpha.kubernetes.io/preferAvoidPods",
            "labelSelector": {},
        }],
    }));
    assert_eq!(
        w,
        [
            r#"spec.nodeSelector[beta.kubernetes.io/instance-type]: deprecated since v1.17; use "node.kubernetes.io/instance-type" instead"#,
            r#"spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use "kubernetes.io/os" instead"#,
            r#"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].key: failure-domain.beta.kubernetes.io/region is deprecated since v1.17; use "topology.kubernetes.io/region" instead"#,
            "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].key: app.kubernetes.io/created-by is deprecated since v1.9",
            "spec.topologySpreadConstraints[0].topologyKey: scheduler.alpha.kubernetes.io/preferAvoidPods is deprecated since v1.22; use Taints and Tolerations instead",
        ]
    );
}

#[test]
fn selectors_that_match_no_pod() {
    let w = warned(json!({
        "topologySpreadConstraints": [{
            "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule", "topologyKey": "zone",
        }],
        "affinity": {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{ "topologyKey": "zone" }],
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    { "weight": 1, "podAffinityTerm": { "topologyKey": "zone", "labelSelector": {} } },
                ],
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    { "weight": 1, "podAffinityTerm": { "topologyKey": "zone" } },
                ],
            },
        },
    }));
    assert_eq!(
        w,
        [
            "spec.topologySpreadConstraints[0].labelSelector: a null labelSelector results in matching no pod",
            "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: a null labelSelector results in matching no pod",
            "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector: a null labelSelector results in matching no pod",
        ]
    );
}

#[test]
fn deprecated_annotations_and_seccomp_annotations_without_fields() {
    let w = annotated(json!({
        "security.alpha.kubernetes.io/unsafe-sysctls": "a=b",
        "scheduler.alpha.kubernetes.io/critical-pod": "",
        "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
        "container.seccomp.security.alpha.kubernetes.io/app": "runtime/default",
        "container.seccomp.security.alpha.kubernetes.io/other": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/app": "runtime/default",
    }));
    assert_eq!(
        w,
        [
            r#"metadata.annotations[scheduler.alpha.kubernetes.io/critical-pod]: non-functional in v1.16+; use the "priorityClassName" field instead"#,
            r#"metadata.annotations[security.alpha.kubernetes.io/unsafe-sysctls]: non-functional in v1.11+; use the "sysctls" field instead"#,
            r#"metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
            r#"metadata.annotations[container.seccomp.security.alpha.kubernetes.io/app]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
        ]
    );
    // With the fields set, the annotations are only a record of them.
    let mut meta = named("p");
    meta.annotations = serde_json::from_value(json!({
        "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
        "container.seccomp.security.alpha.kubernetes.io/app": "runtime/default",
    }))
    .unwrap();
    let with_fields = spec(json!({
        "securityContext": { "seccompProfile": { "type": "RuntimeDefault" } },
        "containers": [{ "name": "app", "image": "nginx",
            "securityContext": { "seccompProfile": { "type": "RuntimeDefault" } } }],
    }));
    assert!(warnings_on_create(&meta, &with_fields).is_empty());
}

#[test]
fn deprecated_volume_plugins_and_fractional_claim_sizes() {
    let w = warned(json!({ "volumes": [
        { "name": "a", "photonPersistentDisk": { "pdID": "x" } },
        { "name": "b", "gitRepo": { "repository": "r" } },
        { "name": "c", "scaleIO": { "gateway": "g", "system": "s", "secretRef": {} } },
        { "name": "d", "flocker": { "datasetName": "d" } },
        { "name": "e", "storageos": {} },
        { "name": "f", "quobyte": { "registry": "r", "volume": "v" } },
        { "name": "g", "glusterfs": { "endpoints": "e", "path": "p" } },
        { "name": "h", "ephemeral": { "volumeClaimTemplate": { "spec": {
            "resources": { "requests": { "storage": "1.5" }, "limits": { "storage": "2.5e0" } },
        } } } },
        { "name": "i", "cephfs": { "monitors": ["m"] } },
        { "name": "j", "rbd": { "monitors": ["m"], "image": "i" } },
    ] }));
    assert_eq!(
        w,
        [
            "spec.volumes[0].photonPersistentDisk: deprecated in v1.11, non-functional in v1.16+",
            "spec.volumes[1].gitRepo: deprecated in v1.11, and disabled by default in v1.33+",
            "spec.volumes[2].scaleIO: deprecated in v1.16, non-functional in v1.22+",
            "spec.volumes[3].flocker: deprecated in v1.22, non-functional in v1.25+",
            "spec.volumes[4].storageOS: deprecated in v1.22, non-functional in v1.25+",
            "spec.volumes[5].quobyte: deprecated in v1.22, non-functional in v1.25+",
            "spec.volumes[6].glusterfs: deprecated in v1.25, non-functional in v1.26+",
            r#"spec.volumes[7].ephemeral.volumeClaimTemplate.spec.resources.requests[storage]: fractional byte value "1500m" is invalid, must be an integer"#,
            r#"spec.volumes[7].ephemeral.volumeClaimTemplate.spec.resources.limits[storage]: fractional byte value "2500e-3" is invalid, must be an integer"#,
            "spec.volumes[8].cephfs: deprecated in v1.28, non-functional in v1.31+",
            "spec.volumes[9].rbd: deprecated in v1.28, non-functional in v1.31+",
        ]
    );
}

#[test]
fn overlapping_volume_paths() {
    let w = warned(json!({ "volumes": [
        { "name": "cfg", "configMap": { "name": "cm", "items": [
            { "key": "a", "path": "conf" },
            { "key": "b", "path": "conf/sub" },
            { "key": "c", "path": "conf" },
            { "key": "d", "path": "confx" },
        ] } },
        { "name": "sec", "secret": { "secretName": "s", "items": [
            { "key": "a", "path": "x" }, { "key": "b", "path": "x/" },
        ] } },
        { "name": "dapi", "downwardAPI": { "items": [
            { "path": "l", "fieldRef": { "fieldPath": "metadata.labels" } },
            { "path": "l/m", "fieldRef": { "fieldPath": "metadata.name" } },
        ] } },
        { "name": "proj", "projected": { "sources": [
            { "serviceAccountToken": { "path": "token" } },
            { "configMap": { "name": "cm", "items": [{ "key": "a", "path": "token" }] } },
            { "configMap": { "name": "other" } },
            { "podCertificate": { "signerName": "s/x", "keyType": "ED25519",
                "keyPath": "token/key", "certificateChainPath": "chain" } },
            {},
        ] } },
    ] }));
    assert_eq!(
        w,
        [
            r#"volume "cfg" (ConfigMap "cm"): overlapping paths: "conf/sub" with "conf""#,
            r#"volume "cfg" (ConfigMap "cm"): overlapping paths: "conf" with "conf""#,
            r#"volume "cfg" (ConfigMap "cm"): overlapping paths: "conf" with "conf/sub""#,
            r#"volume "sec" (Secret "s"): overlapping paths: "x" with "x""#,
            r#"volume "dapi" (DownwardAPI): overlapping paths: "l/m" with "l""#,
            r#"volume "proj" (Projected): overlapping paths: "token" (ConfigMap "cm") with "token" (ServiceAccountToken)"#,
            r#"volume "proj" (Projected): overlapping paths: "token/key" (PodCertificate key) with "token" (ServiceAccountToken)"#,
            r#"volume "proj" (Projected): overlapping paths: "token/key" (PodCertificate key) with "token" (ConfigMap "cm")"#,
            r#"volume "proj" (Projected) has no sources provided"#,
        ]
    );
}

#[test]
fn preferred_node_affinity_values_must_be_label_values() {
    let w = warned(json!({ "affinity": { "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [
            { "matchExpressions": [{ "key": "k", "operator": "In", "values": ["not a value"] }] },
        ] },
        "preferredDuringSchedulingIgnoredDuringExecution": [{ "weight": 1, "preference": {
            "matchExpressions": [{ "key": "k", "operator": "In", "values": ["ok", "-bad"] }],
        } }],
    } } }));
    assert_eq!(
        w,
        [
            "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values[1]: -bad is invalid, a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ]
    );
}

#[test]
fn ip_addresses_in_non_standard_forms() {
    let w = warned(json!({
        "dnsConfig": { "nameservers": ["::ffff:10.0.0.10", "1.1.1.1"] },
        "hostAliases": [
            { "ip": "2001:DB8:0:0::1", "hostnames": ["a"] },
            { "ip": "2001:db8::1", "hostnames": ["b"] },
        ],
    }));
    assert_eq!(
        w,
        [
            r#"spec.dnsConfig.nameservers[0]: non-standard IP address "::ffff:10.0.0.10" is invalid: use "10.0.0.10""#,
            r#"spec.hostAliases[0].ip: IPv6 address "2001:DB8:0:0::1" should be in RFC 5952 canonical format ("2001:db8::1")"#,
        ]
    );
}

#[test]
fn duplicate_host_aliases_and_image_pull_secrets() {
    let w = warned(json!({
        "hostAliases": [
            { "ip": "10.0.0.1", "hostnames": ["a"] },
            { "ip": "10.0.0.2", "hostnames": ["b"] },
            { "ip": "10.0.0.1", "hostnames": ["c"] },
        ],
        "imagePullSecrets": [{ "name": "" }, { "name": "reg" }, { "name": "reg" }, { "name": "" }],
    }));
    assert_eq!(
        w,
        [
            r#"spec.hostAliases[2].ip: duplicate ip "10.0.0.1""#,
            r#"spec.imagePullSecrets[2].name: duplicate name "reg""#,
            r#"spec.imagePullSecrets[3].name: duplicate name """#,
            r#"spec.imagePullSecrets[0].name: invalid empty name """#,
            r#"spec.imagePullSecrets[3].name: invalid empty name """#,
        ]
    );
}

#[test]
fn fractional_memory_and_ephemeral_storage() {
    let w = warned(json!({
        "overhead": { "memory": "0.5", "ephemeral-storage": "1Ki", "cpu": "0.5" },
        "initContainers": [{ "name": "init", "image": "busybox", "resources": {
            "limits": { "ephemeral-storage": "1.5" },
        } }],
        "containers": [{ "name": "app", "image": "nginx", "resources": {
            "requests": { "memory": "100m", "ephemeral-storage": "0.0000015", "cpu": "100m" },
            "limits": { "memory": "2.0005k" },
        } }],
        "ephemeralContainers": [{ "name": "dbg", "image": "busybox", "resources": {
            "requests": { "memory": "1.5Mi" },
        } }],
    }));
    assert_eq!(
        w,
        [
            r#"spec.overhead[memory]: fractional byte value "500m" is invalid, must be an integer"#,
            r#"spec.initContainers[0].resources.limits[ephemeral-storage]: fractional byte value "1500m" is invalid, must be an integer"#,
            r#"spec.containers[0].resources.limits[memory]: fractional byte value "2000500m" is invalid, must be an integer"#,
            r#"spec.containers[0].resources.requests[memory]: fractional byte value "100m" is invalid, must be an integer"#,
            r#"spec.containers[0].resources.requests[ephemeral-storage]: fractional byte value "1500n" is invalid, must be an integer"#,
        ]
    );
}

#[test]
fn env_vars_that_hide_earlier_ones() {
    let w = warned(
        json!({ "containers": [{ "name": "app", "image": "nginx", "env": [
        { "name": "A", "value": "1" },
        { "name": "A", "value": "2" },
        { "name": "B", "value": "x" },
        { "name": "B", "value": "$(B):y" },
        { "name": "C", "value": "c" },
        { "name": "C", "value": "$(C)" },
        { "name": "D", "value": "d" },
        { "name": "D", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
    ] }] }),
    );
    assert_eq!(
        w,
        [
            r#"spec.containers[0].env[1]: hides previous definition of "A", which may be dropped when using apply"#,
            r#"spec.containers[0].env[5]: hides previous definition of "C", which may be dropped when using apply"#,
            r#"spec.containers[0].env[7]: hides previous definition of "D", which may be dropped when using apply"#,
        ]
    );
}

#[test]
fn ports_defined_twice_across_containers() {
    let w = warned(json!({ "containers": [
        { "name": "app", "image": "nginx", "ports": [
            { "containerPort": 80, "protocol": "TCP" },
            { "containerPort": 80, "protocol": "TCP", "name": "http" },
            { "containerPort": 81, "protocol": "TCP", "hostIP": "127.0.0.1" },
            { "containerPort": 82, "protocol": "TCP", "hostPort": 8082 },
            { "containerPort": 82, "protocol": "TCP", "hostPort": 8082, "hostIP": "127.0.0.1" },
            { "containerPort": 80, "protocol": "UDP" },
        ] },
        { "name": "side", "image": "busybox", "ports": [
            { "containerPort": 80, "protocol": "TCP", "hostPort": 8080, "name": "http" },
        ] },
    ] }));
    assert_eq!(
        w,
        [
            "spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]",
            "spec.containers[0].ports[2]: hostIP set without hostPort: {Name: HostPort:0 ContainerPort:81 Protocol:TCP HostIP:127.0.0.1}",
            "spec.containers[0].ports[4]: dangerously ambiguous port definition with spec.containers[0].ports[3]",
            "spec.containers[1].ports[0]: overlapping port definition with spec.containers[0].ports[0]",
            "spec.containers[1].ports[0]: overlapping port definition with spec.containers[0].ports[1]",
            r#"spec.containers[1].ports[0]: duplicate port name "http" with spec.containers[0].ports[1], services and probes that select ports by name will use spec.containers[0].ports[1]"#,
        ]
    );
}

#[test]
fn negative_termination_grace_period() {
    assert_eq!(
        warned(json!({ "terminationGracePeriodSeconds": -5 })),
        [
            "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1"
        ]
    );
    assert!(warned(json!({ "terminationGracePeriodSeconds": 0 })).is_empty());
}
