//! Scheme defaulting of a pod, as kube's `SetObjectDefaults_Pod` (pkg/apis/core/v1/defaults.go
//! and the generated zz_generated.defaults.go) applies it to every decoded v1 Pod.
//!
//! Only what kube does without admission plugins is here: no service-account token volume, no
//! default tolerations, no priority. Pod-level resource defaulting (`spec.resources`) is left
//! out.

use std::collections::BTreeMap;

use super::image_ref::{ImageTag, image_tag};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EphemeralContainer, HostIP, Lifecycle, PodIP,
    PodSecurityContext, PodSpec, PodStatus, Probe, ResourceRequirements, Volume,
};

/// kube's `DefaultTerminationGracePeriodSeconds`.
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// kube's `DefaultSchedulerName`.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
/// kube's `TerminationMessagePathDefault`.
pub const TERMINATION_MESSAGE_PATH_DEFAULT: &str = "/dev/termination-log";
/// Default mode of secret, configMap, downwardAPI and projected volume files (0644).
const DEFAULT_VOLUME_FILE_MODE: i32 = 0o644;

/// Applies every default kube applies to a v1 Pod's spec (`SetDefaults_Pod`, `SetDefaults_PodSpec`
/// and the nested defaulters).
pub fn default_pod_spec(spec: &mut PodSpec) {
    // SetDefaults_Pod
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        default_requests_to_limits(c.resources.as_mut());
    }
    if spec.enable_service_links.is_none() {
        spec.enable_service_links = Some(true);
    }
    if spec.host_network == Some(true) {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            default_host_network_ports(c.ports.as_mut());
        }
    }
    // SetDefaults_PodSpec
    default_str(&mut spec.dns_policy, "ClusterFirst");
    default_str(&mut spec.restart_policy, "Always");
    if spec.security_context.is_none() {
        spec.security_context = Some(PodSecurityContext::default());
    }
    if spec.termination_grace_period_seconds.is_none() {
        spec.termination_grace_period_seconds = Some(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
    }
    default_str(&mut spec.scheduler_name, DEFAULT_SCHEDULER_NAME);
    // Nested defaulters
    for v in spec.volumes.iter_mut().flatten() {
        default_volume(v);
    }
    for c in spec.init_containers.iter_mut().flatten() {
        default_container(c);
    }
    for c in &mut spec.containers {
        default_container(c);
    }
    for c in spec.ephemeral_containers.iter_mut().flatten() {
        default_ephemeral_container(c);
    }
}

/// Keeps `podIP`/`podIPs` and `hostIP`/`hostIPs` in step, as kube's v1 conversion does: a client
/// that sets only `podIP` gets `podIPs: [{ip}]` (the IP column reads `podIPs`), and one that sets
/// only `podIPs` gets `podIP` from its first entry.
pub fn sync_pod_ips(status: &mut PodStatus) {
    let singular = |ip: &Option<String>| ip.as_deref().filter(|s| !s.is_empty()).map(String::from);
    match (singular(&status.pod_ip), status.pod_ips.as_deref()) {
        (Some(ip), None | Some([])) => status.pod_ips = Some(vec![PodIP { ip }]),
        (None, Some([first, ..])) => status.pod_ip = Some(first.ip.clone()),
        _ => {}
    }
    match (singular(&status.host_ip), status.host_ips.as_deref()) {
        (Some(ip), None | Some([])) => status.host_ips = Some(vec![HostIP { ip }]),
        (None, Some([first, ..])) => status.host_ip = Some(first.ip.clone()),
        _ => {}
    }
}

fn default_str(field: &mut Option<String>, value: &str) {
    if field.as_deref().unwrap_or("").is_empty() {
        *field = Some(value.to_string());
    }
}

/// "If limits are specified, but requests are not, default requests to limits".
fn default_requests_to_limits(resources: Option<&mut ResourceRequirements>) {
    let Some(res) = resources else { return };
    let Some(limits) = res.limits.as_ref() else {
        return;
    };
    for (name, value) in limits {
        let requests = res.requests.get_or_insert_with(BTreeMap::new);
        requests
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
}

/// With host networking every container port is a host port.
fn default_host_network_ports(ports: Option<&mut Vec<ContainerPort>>) {
    for p in ports.into_iter().flatten() {
        if p.host_port.unwrap_or(0) == 0 {
            p.host_port = Some(p.container_port);
        }
    }
}

/// `SetDefaults_Container` plus the generated per-field defaults (ports, env, probes,
/// lifecycle). A macro because `Container` and `EphemeralContainer` are distinct types with the
/// same fields.
macro_rules! default_container_fields {
    ($c:expr) => {{
        let c = $c;
        if c.image_pull_policy.as_deref().unwrap_or("").is_empty() {
            c.image_pull_policy =
                Some(default_pull_policy(c.image.as_deref().unwrap_or("")).into());
        }
        default_str(
            &mut c.termination_message_path,
            TERMINATION_MESSAGE_PATH_DEFAULT,
        );
        default_str(&mut c.termination_message_policy, "File");
        for p in c.ports.iter_mut().flatten() {
            default_str(&mut p.protocol, "TCP");
        }
        default_env(c.env.as_mut());
        for probe in [
            c.liveness_probe.as_mut(),
            c.readiness_probe.as_mut(),
            c.startup_probe.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            default_probe(probe);
        }
        if let Some(lifecycle) = c.lifecycle.as_mut() {
            default_lifecycle(lifecycle);
        }
        // Not a defaulter in kube, but the same effect: `resources` is a struct, not a pointer,
        // in Go's Container, so kube writes `resources: {}` for every container that has none.
        c.resources
            .get_or_insert_with(ResourceRequirements::default);
    }};
}

fn default_container(c: &mut Container) {
    default_container_fields!(c);
}

fn default_ephemeral_container(c: &mut EphemeralContainer) {
    default_container_fields!(c);
}

fn default_env(env: Option<&mut Vec<EnvVar>>) {
    for e in env.into_iter().flatten() {
        if let Some(field_ref) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            default_str(&mut field_ref.api_version, "v1");
        }
    }
}

/// `SetDefaults_Probe`, `SetDefaults_HTTPGetAction` and the gRPC service default.
fn default_probe(p: &mut Probe) {
    fn zero_to(field: &mut Option<i32>, value: i32) {
        if field.unwrap_or(0) == 0 {
            *field = Some(value);
        }
    }
    zero_to(&mut p.timeout_seconds, 1);
    zero_to(&mut p.period_seconds, 10);
    zero_to(&mut p.success_threshold, 1);
    zero_to(&mut p.failure_threshold, 3);
    if let Some(http) = p.http_get.as_mut() {
        default_str(&mut http.path, "/");
        default_str(&mut http.scheme, "HTTP");
    }
    if let Some(grpc) = p.grpc.as_mut() {
        grpc.service.get_or_insert_with(String::new);
    }
}

fn default_lifecycle(l: &mut Lifecycle) {
    for handler in [l.post_start.as_mut(), l.pre_stop.as_mut()]
        .into_iter()
        .flatten()
    {
        if let Some(http) = handler.http_get.as_mut() {
            default_str(&mut http.path, "/");
            default_str(&mut http.scheme, "HTTP");
        }
    }
}

/// `SetDefaults_Volume` and the per-source defaulters.
fn default_volume(v: &mut Volume) {
    if !has_volume_source(v) {
        v.empty_dir = Some(Default::default());
    }
    if let Some(host_path) = v.host_path.as_mut() {
        host_path.type_.get_or_insert_with(String::new);
    }
    if let Some(secret) = v.secret.as_mut() {
        secret.default_mode.get_or_insert(DEFAULT_VOLUME_FILE_MODE);
    }
    if let Some(config_map) = v.config_map.as_mut() {
        config_map
            .default_mode
            .get_or_insert(DEFAULT_VOLUME_FILE_MODE);
    }
    if let Some(downward) = v.downward_api.as_mut() {
        downward
            .default_mode
            .get_or_insert(DEFAULT_VOLUME_FILE_MODE);
        for item in downward.items.iter_mut().flatten() {
            if let Some(field_ref) = item.field_ref.as_mut() {
                default_str(&mut field_ref.api_version, "v1");
            }
        }
    }
    if let Some(projected) = v.projected.as_mut() {
        projected
            .default_mode
            .get_or_insert(DEFAULT_VOLUME_FILE_MODE);
        for source in projected.sources.iter_mut().flatten() {
            let items = source.downward_api.as_mut().and_then(|d| d.items.as_mut());
            for item in items.into_iter().flatten() {
                if let Some(field_ref) = item.field_ref.as_mut() {
                    default_str(&mut field_ref.api_version, "v1");
                }
            }
            if let Some(token) = source.service_account_token.as_mut() {
                token.expiration_seconds.get_or_insert(3600);
            }
        }
    }
    if let Some(iscsi) = v.iscsi.as_mut() {
        default_str(&mut iscsi.iscsi_interface, "default");
    }
    if let Some(rbd) = v.rbd.as_mut() {
        default_str(&mut rbd.pool, "rbd");
        default_str(&mut rbd.user, "admin");
        default_str(&mut rbd.keyring, "/etc/ceph/keyring");
    }
    if let Some(azure) = v.azure_disk.as_mut() {
        default_str(&mut azure.caching_mode, "ReadWrite");
        default_str(&mut azure.fs_type, "ext4");
        azure.read_only.get_or_insert(false);
        default_str(&mut azure.kind, "Shared");
    }
    if let Some(scale_io) = v.scale_io.as_mut() {
        default_str(&mut scale_io.storage_mode, "ThinProvisioned");
        default_str(&mut scale_io.fs_type, "xfs");
    }
    if let Some(template) = v
        .ephemeral
        .as_mut()
        .and_then(|e| e.volume_claim_template.as_mut())
    {
        default_str(&mut template.spec.volume_mode, "Filesystem");
    }
}

/// Whether any volume source is set (every field of `Volume` but `name` is a source).
pub(super) fn has_volume_source(v: &Volume) -> bool {
    volume_source_names(v).next().is_some()
}

/// The JSON names of the sources set on `v`, in kube's `validateVolumeSource` order.
pub(super) fn volume_source_names(v: &Volume) -> impl Iterator<Item = &'static str> {
    let set = [
        ("emptyDir", v.empty_dir.is_some()),
        ("hostPath", v.host_path.is_some()),
        ("gitRepo", v.git_repo.is_some()),
        ("gcePersistentDisk", v.gce_persistent_disk.is_some()),
        ("awsElasticBlockStore", v.aws_elastic_block_store.is_some()),
        ("secret", v.secret.is_some()),
        ("nfs", v.nfs.is_some()),
        ("iscsi", v.iscsi.is_some()),
        ("glusterfs", v.glusterfs.is_some()),
        ("flocker", v.flocker.is_some()),
        ("persistentVolumeClaim", v.persistent_volume_claim.is_some()),
        ("rbd", v.rbd.is_some()),
        ("cinder", v.cinder.is_some()),
        ("cephfs", v.cephfs.is_some()),
        ("quobyte", v.quobyte.is_some()),
        ("downwardAPI", v.downward_api.is_some()),
        ("fc", v.fc.is_some()),
        ("flexVolume", v.flex_volume.is_some()),
        ("configMap", v.config_map.is_some()),
        ("azureFile", v.azure_file.is_some()),
        ("vsphereVolume", v.vsphere_volume.is_some()),
        ("photonPersistentDisk", v.photon_persistent_disk.is_some()),
        ("portworxVolume", v.portworx_volume.is_some()),
        ("azureDisk", v.azure_disk.is_some()),
        ("storageos", v.storageos.is_some()),
        ("projected", v.projected.is_some()),
        ("scaleIO", v.scale_io.is_some()),
        ("csi", v.csi.is_some()),
        ("ephemeral", v.ephemeral.is_some()),
        ("image", v.image.is_some()),
    ];
    set.into_iter().filter(|(_, on)| *on).map(|(name, _)| name)
}

/// `Always` for `:latest` or an untagged, undigested image; `IfNotPresent` otherwise, and for a
/// reference that does not parse (kube ignores the parse error there).
///
/// ```
/// use capstan::registry::core::pod::defaults::default_pull_policy;
/// assert_eq!(default_pull_policy("nginx"), "Always");
/// assert_eq!(default_pull_policy("nginx:latest"), "Always");
/// assert_eq!(default_pull_policy("nginx:1.27"), "IfNotPresent");
/// assert_eq!(default_pull_policy("localhost:5000/app"), "Always");
/// ```
pub fn default_pull_policy(image: &str) -> &'static str {
    match image_tag(image) {
        Some(ImageTag {
            tag: Some("latest"),
            ..
        }) => "Always",
        Some(ImageTag {
            tag: None,
            digest: false,
        }) => "Always",
        _ => "IfNotPresent",
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{HTTPGetAction, ObjectFieldSelector};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use serde_json::json;

    use super::*;

    fn spec(v: serde_json::Value) -> PodSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn pod_spec_defaults_match_kube() {
        let mut s = spec(json!({"containers": [{"name": "c", "image": "nginx"}]}));
        default_pod_spec(&mut s);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            json!({
                "containers": [{
                    "name": "c", "image": "nginx", "imagePullPolicy": "Always",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"
                }],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30
            })
        );
    }

    #[test]
    fn every_kind_of_container_has_resources_as_go_writes_them() {
        let mut s = spec(json!({
            "initContainers": [{"name": "i", "image": "busybox"}],
            "containers": [{"name": "c", "image": "nginx", "resources": {"limits": {"cpu": "1"}}}],
            "ephemeralContainers": [{"name": "e", "image": "busybox"}]
        }));
        default_pod_spec(&mut s);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["initContainers"][0]["resources"], json!({}));
        assert_eq!(v["ephemeralContainers"][0]["resources"], json!({}));
        assert_eq!(
            v["containers"][0]["resources"],
            json!({"limits": {"cpu": "1"}, "requests": {"cpu": "1"}})
        );
    }

    #[test]
    fn explicit_values_are_kept() {
        let mut s = spec(json!({
            "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}],
            "restartPolicy": "Never", "dnsPolicy": "Default", "schedulerName": "mine",
            "terminationGracePeriodSeconds": 0, "enableServiceLinks": false
        }));
        default_pod_spec(&mut s);
        assert_eq!(s.restart_policy.as_deref(), Some("Never"));
        assert_eq!(s.dns_policy.as_deref(), Some("Default"));
        assert_eq!(s.scheduler_name.as_deref(), Some("mine"));
        assert_eq!(s.termination_grace_period_seconds, Some(0));
        assert_eq!(s.enable_service_links, Some(false));
        assert_eq!(s.containers[0].image_pull_policy.as_deref(), Some("Never"));
    }

    #[test]
    fn pod_ips_follow_pod_ip_and_back() {
        let mut status = PodStatus {
            pod_ip: Some("10.0.0.7".into()),
            ..Default::default()
        };
        sync_pod_ips(&mut status);
        assert_eq!(
            status.pod_ips,
            Some(vec![PodIP {
                ip: "10.0.0.7".into()
            }])
        );
        let mut status = PodStatus {
            host_ips: Some(vec![HostIP {
                ip: "192.168.0.2".into(),
            }]),
            ..Default::default()
        };
        sync_pod_ips(&mut status);
        assert_eq!(status.host_ip.as_deref(), Some("192.168.0.2"));
    }

    #[test]
    fn pull_policy_follows_the_tag() {
        for (image, want) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("docker.io/library/nginx:latest", "Always"),
            ("nginx:1.27", "IfNotPresent"),
            ("registry:5000/team/app", "Always"),
            ("registry:5000/team/app:v2", "IfNotPresent"),
            (
                "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "IfNotPresent",
            ),
            (
                "nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "Always",
            ),
            ("", "IfNotPresent"),
            ("Nginx", "IfNotPresent"),
            ("nginx:", "IfNotPresent"),
        ] {
            assert_eq!(default_pull_policy(image), want, "{image}");
        }
    }

    #[test]
    fn container_details_are_defaulted() {
        let mut s = PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("nginx:1".into()),
                ports: Some(vec![ContainerPort {
                    container_port: 80,
                    ..Default::default()
                }]),
                env: Some(vec![EnvVar {
                    name: "NODE".into(),
                    value_from: Some(k8s_openapi::api::core::v1::EnvVarSource {
                        field_ref: Some(ObjectFieldSelector {
                            field_path: "spec.nodeName".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                liveness_probe: Some(Probe {
                    http_get: Some(HTTPGetAction {
                        port: IntOrString::Int(8080),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                resources: Some(ResourceRequirements {
                    limits: Some(BTreeMap::from([("cpu".into(), Quantity("1".into()))])),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            host_network: Some(true),
            ..Default::default()
        };
        default_pod_spec(&mut s);
        let c = &s.containers[0];
        let port = &c.ports.as_ref().unwrap()[0];
        assert_eq!(port.protocol.as_deref(), Some("TCP"));
        assert_eq!(port.host_port, Some(80));
        let env = &c.env.as_ref().unwrap()[0];
        let field_ref = env.value_from.as_ref().unwrap().field_ref.as_ref().unwrap();
        assert_eq!(field_ref.api_version.as_deref(), Some("v1"));
        let probe = c.liveness_probe.as_ref().unwrap();
        assert_eq!(
            (
                probe.timeout_seconds,
                probe.period_seconds,
                probe.success_threshold,
                probe.failure_threshold
            ),
            (Some(1), Some(10), Some(1), Some(3))
        );
        let http = probe.http_get.as_ref().unwrap();
        assert_eq!(
            (http.path.as_deref(), http.scheme.as_deref()),
            (Some("/"), Some("HTTP"))
        );
        let requests = c.resources.as_ref().unwrap().requests.as_ref().unwrap();
        assert_eq!(requests["cpu"], Quantity("1".into()));
    }

    #[test]
    fn volumes_are_defaulted() {
        let mut s = spec(json!({
            "containers": [],
            "volumes": [
                {"name": "scratch"},
                {"name": "s", "secret": {"secretName": "x"}},
                {"name": "cm", "configMap": {"name": "x"}},
                {"name": "hp", "hostPath": {"path": "/tmp"}},
                {"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}
            ]
        }));
        default_pod_spec(&mut s);
        let v = serde_json::to_value(&s).unwrap()["volumes"].clone();
        assert_eq!(v[0], json!({"name": "scratch", "emptyDir": {}}));
        assert_eq!(v[1]["secret"]["defaultMode"], 420);
        assert_eq!(v[2]["configMap"]["defaultMode"], 420);
        assert_eq!(v[3]["hostPath"]["type"], "");
        assert_eq!(v[4]["projected"]["defaultMode"], 420);
        assert_eq!(
            v[4]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3600
        );
    }
}
