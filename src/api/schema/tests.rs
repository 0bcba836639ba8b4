//! The model built from the crates' schemas and the generated extension table.

use std::sync::LazyLock;

use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::*;

static MODEL: LazyLock<SchemaModel> = LazyLock::new(|| {
    SchemaModelBuilder::with_core_kinds()
        .add_kind::<TestPod>("capstan.dev", "v1", "Pod")
        .build()
});

/// Shaped like Capstan's own `capstan.dev/v1` Pod (src/api/types.rs): a kube-derive root whose
/// spec is a documented newtype over the core PodSpec.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
#[kube(
    group = "capstan.dev",
    version = "v1",
    kind = "Pod",
    root = "TestPod",
    namespaced,
    status = "PodStatus"
)]
#[serde(transparent)]
struct TestPodSpec {
    /// The core/v1 spec itself.
    pod: PodSpec,
}

fn core(kind: &str) -> TypeRef<'static> {
    MODEL.for_kind("", "v1", kind).unwrap()
}

fn path(root: TypeRef<'static>, fields: &[&str]) -> FieldRef<'static> {
    let (last, parents) = fields.split_last().unwrap();
    let mut ty = root;
    for name in parents {
        let field = ty
            .field(name)
            .unwrap_or_else(|| panic!("no field {name} in {}", ty.name()));
        ty = match field.ty.shape() {
            Shape::List => field.ty.items().unwrap(),
            _ => field.ty,
        };
    }
    ty.field(last)
        .unwrap_or_else(|| panic!("no field {last} in {}", ty.name()))
}

#[test]
fn kinds_have_kube_definition_names() {
    assert_eq!(core("Pod").name(), "io.k8s.api.core.v1.Pod");
    assert_eq!(core("Namespace").name(), "io.k8s.api.core.v1.Namespace");
    assert_eq!(core("Binding").name(), "io.k8s.api.core.v1.Binding");
    assert_eq!(
        MODEL.for_kind("policy", "v1", "Eviction").unwrap().name(),
        "io.k8s.api.policy.v1.Eviction"
    );
    assert_eq!(
        core("Status").name(),
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
    );
    assert!(MODEL.for_kind("", "v1", "Widget").is_none());
    assert_eq!(
        path(core("Pod"), &["spec"]).ty.name(),
        "io.k8s.api.core.v1.PodSpec"
    );
}

#[test]
fn pod_spec_containers_merge_by_name_as_a_map_list() {
    let containers = path(core("Pod"), &["spec", "containers"]);
    assert_eq!(containers.ty.shape(), Shape::List);
    assert_eq!(
        containers.ty.items().unwrap().name(),
        "io.k8s.api.core.v1.Container"
    );
    assert_eq!(containers.ext.patch_strategy, vec![PatchStrategy::Merge]);
    assert_eq!(containers.ext.patch_merge_key.as_deref(), Some("name"));
    assert_eq!(containers.ext.list_type, Some(ListType::Map));
    assert_eq!(containers.ext.list_map_keys, vec!["name".to_string()]);
}

#[test]
fn pod_status_conditions_merge_by_type() {
    let conditions = path(core("Pod"), &["status", "conditions"]);
    assert_eq!(conditions.ext.patch_merge_key.as_deref(), Some("type"));
    assert_eq!(conditions.ext.list_type, Some(ListType::Map));
    assert_eq!(conditions.ext.list_map_keys, vec!["type".to_string()]);
}

#[test]
fn finalizers_are_a_merged_set() {
    let finalizers = path(core("Pod"), &["metadata", "finalizers"]);
    assert_eq!(finalizers.ext.list_type, Some(ListType::Set));
    assert_eq!(finalizers.ext.patch_strategy, vec![PatchStrategy::Merge]);
    assert_eq!(finalizers.ext.patch_merge_key, None);
    assert_eq!(finalizers.ty.items().unwrap().shape(), Shape::Scalar);
}

#[test]
fn container_ports_are_keyed_by_port_and_protocol() {
    let ports = path(core("Pod"), &["spec", "containers", "ports"]);
    assert_eq!(
        ports.ext.list_map_keys,
        vec!["containerPort".to_string(), "protocol".to_string()]
    );
    assert_eq!(ports.ext.patch_merge_key.as_deref(), Some("containerPort"));
}

#[test]
fn volumes_retain_keys_and_tolerations_are_atomic() {
    let volumes = path(core("Pod"), &["spec", "volumes"]);
    assert_eq!(
        volumes.ext.patch_strategy,
        vec![PatchStrategy::Merge, PatchStrategy::RetainKeys]
    );
    let tolerations = path(core("Pod"), &["spec", "tolerations"]);
    assert_eq!(tolerations.ext.list_type, Some(ListType::Atomic));
    assert!(tolerations.ext.patch_strategy.is_empty());
}

#[test]
fn maps_and_atomic_structs() {
    let node_selector = path(core("Pod"), &["spec", "nodeSelector"]);
    assert_eq!(node_selector.ty.shape(), Shape::Map);
    assert_eq!(node_selector.ty.values().unwrap().name(), "#string");
    assert_eq!(node_selector.ext.map_type, Some(MapType::Atomic));
    let labels = path(core("Pod"), &["metadata", "labels"]);
    assert_eq!(labels.ty.shape(), Shape::Map);
    assert_eq!(labels.ext.map_type, None);

    let pull_secrets = path(core("Pod"), &["spec", "imagePullSecrets"]);
    let item = pull_secrets.ty.items().unwrap();
    assert_eq!(item.name(), "io.k8s.api.core.v1.LocalObjectReference");
    assert_eq!(item.map_type(), Some(MapType::Atomic));
    assert_eq!(path(core("Pod"), &["spec"]).ty.map_type(), None);
    assert!(
        pull_secrets.ty.values().is_none(),
        "a list has no map values"
    );
}

#[test]
fn special_scalars_and_untyped_values() {
    let requests = path(
        core("Pod"),
        &["spec", "containers", "resources", "requests"],
    );
    let quantity = requests.ty.values().unwrap();
    assert_eq!(
        quantity.name(),
        "io.k8s.apimachinery.pkg.api.resource.Quantity"
    );
    assert_eq!(quantity.shape(), Shape::Scalar);
    let created = path(core("Pod"), &["metadata", "creationTimestamp"]);
    assert_eq!(
        created.ty.name(),
        "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
    );
    assert_eq!(created.ty.shape(), Shape::Scalar);
    let event_time = path(core("Event"), &["eventTime"]);
    assert_eq!(
        event_time.ty.name(),
        "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
    );
    assert_eq!(event_time.ty.shape(), Shape::Scalar);
    let port = path(
        core("Pod"),
        &["spec", "containers", "livenessProbe", "httpGet", "port"],
    );
    assert_eq!(
        port.ty.name(),
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
    );
    assert_eq!(port.ty.shape(), Shape::Scalar);

    let watch_object = MODEL
        .for_kind("", "v1", "WatchEvent")
        .unwrap()
        .field("object")
        .unwrap();
    assert_eq!(
        watch_object.ty.name(),
        "io.k8s.apimachinery.pkg.runtime.RawExtension"
    );
    assert_eq!(watch_object.ty.shape(), Shape::Untyped);
    let fields_v1 = path(core("Pod"), &["metadata", "managedFields", "fieldsV1"]);
    assert_eq!(fields_v1.ty.shape(), Shape::Untyped);
    assert_eq!(fields_v1.ty.field_names().count(), 0);
}

#[test]
fn secret_data_is_a_map_of_bytes() {
    let data = core("Secret").field("data").unwrap();
    assert_eq!(data.ty.shape(), Shape::Map);
    assert_eq!(data.ty.values().unwrap().shape(), Shape::Scalar);
    assert!(data.ty.items().is_none(), "a map has no list items");
}

#[test]
fn field_names_list_the_properties() {
    let names: Vec<&str> = core("Pod").field_names().collect();
    assert_eq!(
        names,
        vec!["apiVersion", "kind", "metadata", "spec", "status"]
    );
    assert!(
        path(core("Pod"), &["spec"])
            .ty
            .field("containerz")
            .is_none()
    );
}

#[test]
fn derived_kinds_get_custom_resource_names_and_the_envelope() {
    let pod = MODEL.for_kind("capstan.dev", "v1", "Pod").unwrap();
    assert_eq!(pod.name(), "dev.capstan.v1.Pod");
    let names: Vec<&str> = pod.field_names().collect();
    assert_eq!(
        names,
        vec!["apiVersion", "kind", "metadata", "spec", "status"]
    );
    // The documented newtype around PodSpec is an alias: it resolves to kube's PodSpec, so
    // strategic merge patch sees the same extensions as for a core pod.
    let spec = pod.field("spec").unwrap();
    assert_eq!(spec.ty.name(), "io.k8s.api.core.v1.PodSpec");
    assert_eq!(
        pod.field("status").unwrap().ty.name(),
        "io.k8s.api.core.v1.PodStatus"
    );
    assert_eq!(
        pod.field("metadata").unwrap().ty.name(),
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(MODEL.definition("TestPodSpec").is_none());
    assert!(MODEL.definition("TestPod").is_none());
    let schema = pod.openapi_schema().unwrap();
    assert!(schema.get("required").is_none(), "{schema}");
    assert_eq!(
        schema["properties"]["spec"]["$ref"],
        "#/definitions/io.k8s.api.core.v1.PodSpec"
    );
}

#[test]
fn openapi_schemas_carry_the_extensions() {
    let spec = MODEL.definition("io.k8s.api.core.v1.PodSpec").unwrap();
    let containers = &spec.openapi_schema().unwrap()["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-list-type"], "map");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(
        containers["x-kubernetes-list-map-keys"],
        serde_json::json!(["name"])
    );
    assert_eq!(
        containers["items"]["$ref"],
        "#/definitions/io.k8s.api.core.v1.Container"
    );
    let reference = MODEL
        .definition("io.k8s.api.core.v1.LocalObjectReference")
        .unwrap();
    assert_eq!(
        reference.openapi_schema().unwrap()["x-kubernetes-map-type"],
        "atomic"
    );
    assert!(
        MODEL
            .definition("#string")
            .unwrap()
            .openapi_schema()
            .is_none()
    );
    // kube's Pod root requires nothing; k8s-openapi marks metadata required.
    assert!(
        core("Pod")
            .openapi_schema()
            .unwrap()
            .get("required")
            .is_none()
    );
}

#[test]
fn every_reference_resolves() {
    fn walk(value: &serde_json::Value, missing: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(obj) => {
                if let Some(target) = normalize::ref_target(value)
                    && MODEL.definition(target).is_none()
                {
                    missing.push(target.to_string());
                }
                obj.values().for_each(|v| walk(v, missing));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, missing)),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for (name, def) in &MODEL.definitions {
        if let Some(schema) = &def.schema {
            walk(schema, &mut missing);
        }
        for (prop, (ty, _)) in &def.properties {
            if !MODEL.definitions.contains_key(ty) {
                missing.push(format!("{name}.{prop} -> {ty}"));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn inline_objects_get_synthetic_names() {
    let model = SchemaModelBuilder::new()
        .add_kind::<Inline>("example.com", "v1", "Thing")
        .build();
    let thing = model.for_kind("example.com", "v1", "Thing").unwrap();
    assert_eq!(thing.name(), "com.example.v1.Thing");
    let nested = thing.field("nested").unwrap();
    assert_eq!(nested.ty.shape(), Shape::Object);
    assert_eq!(nested.ty.name(), "com.example.v1.Thing/nested");
    assert_eq!(nested.ty.field("x").unwrap().ty.name(), "#integer");
    let lists = thing.field("lists").unwrap();
    assert_eq!(lists.ty.name(), "[][]#string");
    assert_eq!(
        lists.ty.items().unwrap().items().unwrap().shape(),
        Shape::Scalar
    );
}

/// A root schemars inlines (so it has no definition name of its own).
struct Inline;

impl JsonSchema for Inline {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Inline".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "properties": {
                "nested": {"type": "object", "properties": {"x": {"type": ["integer", "null"]}}},
                "lists": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}
            }
        })
    }
}

#[test]
fn every_table_property_exists_in_the_crate_schemas() {
    // A Kubernetes upgrade that renames or drops a field shows up here, not as a silently
    // ignored extension.
    let mut stale = Vec::new();
    for (name, def) in &MODEL.definitions {
        let Some(ext) = extensions::for_definition(name) else {
            continue;
        };
        for prop in ext.properties.keys() {
            if !def.properties.contains_key(prop) {
                stale.push(format!("{name}.{prop}"));
            }
        }
    }
    assert!(stale.is_empty(), "{stale:?}");
}
