//! The OpenAPI schema of `capstan.dev/v1beta1` Pod, for the schema model (OpenAPI documents,
//! `kubectl explain`, field validation, strategic merge patch and apply in v1beta1).
//!
//! v1beta1 has no Rust type of its own — requests in v1beta1 are converted as JSON — so its
//! schema is derived from v1's: the core `PodSpec` schema with `nodeName` renamed to `host` and
//! `schedulingGates` removed ([`super`] describes the differences). The derived spec takes
//! `PodSpec`'s list and patch extensions, so a v1beta1 strategic merge patch merges containers by
//! name as a v1 one does.

use std::borrow::Cow;

use k8s_openapi::api::core::v1::{Binding, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Value, json};

use super::{GROUP, SCHEDULING_GATES_ANNOTATION, V1BETA1};
use crate::api::schema::SchemaModelBuilder;

/// The definition name of the v1beta1 spec.
pub const POD_SPEC_DEFINITION: &str = "dev.capstan.v1beta1.PodSpec";

/// The definition kube publishes for the spec v1beta1's derives from.
const CORE_POD_SPEC_DEFINITION: &str = "io.k8s.api.core.v1.PodSpec";

/// Registers what `capstan.dev/v1beta1` serves — `Pod` and the `Binding` of `pods/binding` — on
/// `builder`, next to the v1 kinds registered elsewhere.
pub fn add_v1beta1_schemas(builder: SchemaModelBuilder) -> SchemaModelBuilder {
    builder
        .add_kind::<PodV1beta1>(GROUP, V1BETA1, "Pod")
        .add_kind::<Binding>(GROUP, V1BETA1, "Binding")
        .extensions_like(POD_SPEC_DEFINITION, CORE_POD_SPEC_DEFINITION)
}

/// The schema of a `capstan.dev/v1beta1` Pod (a schema only: no values of it exist).
pub struct PodV1beta1;

/// The schema of a `capstan.dev/v1beta1` Pod's spec.
pub struct PodSpecV1beta1;

impl JsonSchema for PodV1beta1 {
    fn schema_name() -> Cow<'static, str> {
        "dev.capstan.v1beta1.Pod".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let metadata = generator.subschema_for::<ObjectMeta>().to_value();
        let spec = generator.subschema_for::<PodSpecV1beta1>().to_value();
        let status = generator.subschema_for::<PodStatus>().to_value();
        let schema = json!({
            "description": format!(
                "Pod is a collection of containers that can run on a host, in capstan.dev's \
                 older version: spec.host names the node (v1: spec.nodeName), and scheduling \
                 gates travel in the {SCHEDULING_GATES_ANNOTATION} annotation."
            ),
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": metadata,
                "spec": spec,
                "status": status,
            },
        });
        Schema::try_from(schema).unwrap_or_default()
    }
}

impl JsonSchema for PodSpecV1beta1 {
    fn schema_name() -> Cow<'static, str> {
        POD_SPEC_DEFINITION.into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = PodSpec::json_schema(generator).to_value();
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            properties.remove("schedulingGates");
            if let Some(mut node) = properties.remove("nodeName") {
                node["description"] = json!(
                    "Host is the node this pod is scheduled to (v1: spec.nodeName). Set by the \
                     scheduler through pods/binding, or by a client to skip scheduling."
                );
                properties.insert("host".into(), node);
            }
        }
        Schema::try_from(schema).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::schema::{ListType, Shape};
    use crate::api::types::CapstanPod;

    fn model() -> crate::api::schema::SchemaModel {
        add_v1beta1_schemas(
            SchemaModelBuilder::with_core_kinds()
                .add_kind::<CapstanPod>(GROUP, "v1", "Pod")
                .add_kind::<Binding>(GROUP, "v1", "Binding"),
        )
        .build()
    }

    #[test]
    fn the_v1beta1_spec_renames_node_name_and_drops_gates() {
        let model = model();
        let pod = model.for_kind(GROUP, V1BETA1, "Pod").unwrap();
        assert_eq!(pod.name(), "dev.capstan.v1beta1.Pod");
        let spec = pod.field("spec").unwrap().ty;
        assert_eq!(spec.name(), POD_SPEC_DEFINITION);
        let fields: Vec<&str> = spec.field_names().collect();
        assert!(fields.contains(&"host") && fields.contains(&"containers"));
        assert!(!fields.contains(&"nodeName") && !fields.contains(&"schedulingGates"));
        for envelope in ["apiVersion", "kind", "metadata", "status"] {
            assert!(pod.field(envelope).is_some(), "{envelope}");
        }
        // v1 keeps its own names
        let v1_spec = model
            .for_kind(GROUP, "v1", "Pod")
            .unwrap()
            .field("spec")
            .unwrap()
            .ty;
        assert!(v1_spec.field("nodeName").is_some());
        assert!(v1_spec.field("host").is_none());
    }

    #[test]
    fn the_v1beta1_spec_merges_lists_as_podspec_does() {
        let model = model();
        let spec = model
            .for_kind(GROUP, V1BETA1, "Pod")
            .unwrap()
            .field("spec")
            .unwrap()
            .ty;
        let containers = spec.field("containers").unwrap();
        assert_eq!(containers.ty.shape(), Shape::List);
        assert_eq!(containers.ext.patch_merge_key.as_deref(), Some("name"));
        assert_eq!(containers.ext.list_type, Some(ListType::Map));
        let documented = spec.openapi_schema().unwrap();
        assert_eq!(
            documented["properties"]["containers"]["x-kubernetes-patch-merge-key"],
            "name"
        );
    }
}
