//! A core/v1 Pod schema for tests, with the extensions kube's published OpenAPI (v1.37) carries
//! on the fields the tests touch.

use crate::api::schema::{FieldExtensions, ListType, MapType, PatchStrategy, SchemaModel, Shape};

const CORE: &str = "io.k8s.api.core.v1.";

fn plain() -> FieldExtensions {
    FieldExtensions::default()
}

fn atomic_list() -> FieldExtensions {
    FieldExtensions {
        list_type: Some(ListType::Atomic),
        ..plain()
    }
}

fn map_list(merge_key: &str, keys: &[&str], retain: bool) -> FieldExtensions {
    let mut patch_strategy = vec![PatchStrategy::Merge];
    if retain {
        patch_strategy.push(PatchStrategy::RetainKeys);
    }
    FieldExtensions {
        patch_strategy,
        patch_merge_key: Some(merge_key.into()),
        list_type: Some(ListType::Map),
        list_map_keys: keys.iter().map(|k| (*k).to_string()).collect(),
        map_type: None,
    }
}

/// A map list known only by its patch merge key (how older schemas describe lists; the apply
/// type converter falls back to it).
fn merge_key_only(merge_key: &str) -> FieldExtensions {
    FieldExtensions {
        patch_strategy: vec![PatchStrategy::Merge],
        patch_merge_key: Some(merge_key.into()),
        ..plain()
    }
}

fn set_list() -> FieldExtensions {
    FieldExtensions {
        patch_strategy: vec![PatchStrategy::Merge],
        list_type: Some(ListType::Set),
        ..plain()
    }
}

fn atomic_map() -> FieldExtensions {
    FieldExtensions {
        map_type: Some(MapType::Atomic),
        ..plain()
    }
}

fn obj(m: &mut SchemaModel, name: &str, props: Vec<(&str, &str, FieldExtensions)>) {
    m.test_define(name, Shape::Object, None, props);
}

/// The model: `v1/Pod` is served; definitions use kube's names for the structs.
pub(crate) fn pod_model() -> SchemaModel {
    let mut m = SchemaModel::default();
    let n = |s: &str| format!("{CORE}{s}");
    for scalar in [
        "string",
        "integer",
        "boolean",
        "Quantity",
        "Time",
        "IntOrString",
    ] {
        m.test_define(scalar, Shape::Scalar, None, vec![]);
    }
    m.test_define("map[string]string", Shape::Map, Some("string"), vec![]);
    m.test_define("map[string]Quantity", Shape::Map, Some("Quantity"), vec![]);
    m.test_define("[]string", Shape::List, Some("string"), vec![]);
    m.test_define("untyped", Shape::Untyped, None, vec![]);
    for (list, item) in [
        ("[]Container", "Container"),
        ("[]ContainerPort", "ContainerPort"),
        ("[]EnvVar", "EnvVar"),
        ("[]VolumeMount", "VolumeMount"),
        ("[]Volume", "Volume"),
        ("[]Toleration", "Toleration"),
        ("[]PodCondition", "PodCondition"),
        ("[]HostAlias", "HostAlias"),
        ("[]OwnerReference", "OwnerReference"),
    ] {
        m.test_define(list, Shape::List, Some(&n(item)), vec![]);
    }
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
    obj(
        &mut m,
        &n("Pod"),
        vec![
            ("apiVersion", "string", plain()),
            ("kind", "string", plain()),
            ("metadata", meta, plain()),
            ("spec", &n("PodSpec"), plain()),
            ("status", &n("PodStatus"), plain()),
        ],
    );
    obj(
        &mut m,
        meta,
        vec![
            ("name", "string", plain()),
            ("namespace", "string", plain()),
            ("uid", "string", plain()),
            ("resourceVersion", "string", plain()),
            ("generation", "integer", plain()),
            ("creationTimestamp", "Time", plain()),
            ("deletionTimestamp", "Time", plain()),
            ("labels", "map[string]string", plain()),
            ("annotations", "map[string]string", plain()),
            ("finalizers", "[]string", set_list()),
            (
                "ownerReferences",
                "[]OwnerReference",
                map_list("uid", &["uid"], false),
            ),
            ("managedFields", "untyped", atomic_list()),
        ],
    );
    obj(
        &mut m,
        &n("OwnerReference"),
        vec![
            ("uid", "string", plain()),
            ("name", "string", plain()),
            ("kind", "string", plain()),
            ("apiVersion", "string", plain()),
        ],
    );
    obj(
        &mut m,
        &n("PodSpec"),
        vec![
            (
                "containers",
                "[]Container",
                map_list("name", &["name"], false),
            ),
            (
                "initContainers",
                "[]Container",
                map_list("name", &["name"], false),
            ),
            ("volumes", "[]Volume", map_list("name", &["name"], true)),
            ("tolerations", "[]Toleration", atomic_list()),
            ("hostAliases", "[]HostAlias", merge_key_only("ip")),
            ("nodeSelector", "map[string]string", atomic_map()),
            ("nodeName", "string", plain()),
            ("restartPolicy", "string", plain()),
            ("dnsPolicy", "string", plain()),
            ("terminationGracePeriodSeconds", "integer", plain()),
            ("extra", "untyped", plain()),
            // Not in kube's Pod: a map field with patch strategy `replace`, for the tests.
            (
                "replaced",
                "map[string]string",
                FieldExtensions {
                    patch_strategy: vec![PatchStrategy::Replace],
                    ..plain()
                },
            ),
        ],
    );
    obj(
        &mut m,
        &n("Container"),
        vec![
            ("name", "string", plain()),
            ("image", "string", plain()),
            ("imagePullPolicy", "string", plain()),
            ("command", "[]string", atomic_list()),
            ("args", "[]string", atomic_list()),
            (
                "ports",
                "[]ContainerPort",
                map_list("containerPort", &["containerPort", "protocol"], false),
            ),
            ("env", "[]EnvVar", map_list("name", &["name"], false)),
            (
                "volumeMounts",
                "[]VolumeMount",
                map_list("mountPath", &["mountPath"], false),
            ),
            ("resources", &n("ResourceRequirements"), plain()),
        ],
    );
    obj(
        &mut m,
        &n("ContainerPort"),
        vec![
            ("containerPort", "integer", plain()),
            ("protocol", "string", plain()),
            ("name", "string", plain()),
            ("hostPort", "integer", plain()),
        ],
    );
    obj(
        &mut m,
        &n("EnvVar"),
        vec![
            ("name", "string", plain()),
            ("value", "string", plain()),
            ("valueFrom", "untyped", plain()),
        ],
    );
    obj(
        &mut m,
        &n("VolumeMount"),
        vec![
            ("name", "string", plain()),
            ("mountPath", "string", plain()),
            ("readOnly", "boolean", plain()),
        ],
    );
    obj(
        &mut m,
        &n("ResourceRequirements"),
        vec![
            ("limits", "map[string]Quantity", plain()),
            ("requests", "map[string]Quantity", plain()),
        ],
    );
    obj(
        &mut m,
        &n("Volume"),
        vec![
            ("name", "string", plain()),
            ("emptyDir", &n("EmptyDirVolumeSource"), plain()),
            ("hostPath", &n("HostPathVolumeSource"), plain()),
            ("configMap", &n("ConfigMapVolumeSource"), plain()),
        ],
    );
    obj(
        &mut m,
        &n("EmptyDirVolumeSource"),
        vec![
            ("medium", "string", plain()),
            ("sizeLimit", "Quantity", plain()),
        ],
    );
    obj(
        &mut m,
        &n("HostPathVolumeSource"),
        vec![("path", "string", plain()), ("type", "string", plain())],
    );
    obj(
        &mut m,
        &n("ConfigMapVolumeSource"),
        vec![
            ("name", "string", plain()),
            ("optional", "boolean", plain()),
        ],
    );
    obj(
        &mut m,
        &n("Toleration"),
        vec![
            ("key", "string", plain()),
            ("operator", "string", plain()),
            ("effect", "string", plain()),
        ],
    );
    obj(
        &mut m,
        &n("HostAlias"),
        vec![
            ("ip", "string", plain()),
            ("hostnames", "[]string", atomic_list()),
        ],
    );
    obj(
        &mut m,
        &n("PodStatus"),
        vec![
            ("phase", "string", plain()),
            ("podIP", "string", plain()),
            (
                "conditions",
                "[]PodCondition",
                map_list("type", &["type"], false),
            ),
        ],
    );
    obj(
        &mut m,
        &n("PodCondition"),
        vec![
            ("type", "string", plain()),
            ("status", "string", plain()),
            ("reason", "string", plain()),
            ("lastTransitionTime", "Time", plain()),
        ],
    );
    m.test_kind("", "v1", "Pod", &n("Pod"));
    m
}
