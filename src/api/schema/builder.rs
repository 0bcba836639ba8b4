//! Builds the [`SchemaModel`] from the `schemars` schemas the crates carry.
//!
//! A `SchemaGenerator` collects every definition the registered types reach (k8s-openapi names
//! them as kube does: `io.k8s.api.core.v1.PodSpec`). The definitions are normalised to kube's form
//! ([`super::normalize`]), given kube's extensions from the generated table
//! ([`super::extensions`]), and walked once (`$ref`s, `items`, `additionalProperties`, inline
//! schemas) into the model's [`Definition`]s.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Binding, ConfigMap, Event, Namespace, Pod, Secret};
use k8s_openapi::api::policy::v1::Eviction;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    DeleteOptions, ListMeta, ObjectMeta, Patch, Status, WatchEvent,
};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

use super::extensions::{self, to_openapi};
use super::normalize::{REF_PREFIX, aliases, normalize, ref_target, resolve_aliases};
use super::{Definition, FieldExtensions, SchemaModel, Shape};

/// Collects the kinds a server serves and builds their [`SchemaModel`] once at start.
///
/// ```
/// use capstan::api::schema::{SchemaModelBuilder, Shape};
/// let model = SchemaModelBuilder::with_core_kinds().build();
/// let pod = model.for_kind("", "v1", "Pod").unwrap();
/// let containers = pod.field("spec").unwrap().ty.field("containers").unwrap();
/// assert_eq!(containers.ty.shape(), Shape::List);
/// assert_eq!(containers.ext.patch_merge_key.as_deref(), Some("name"));
/// ```
pub struct SchemaModelBuilder {
    generator: SchemaGenerator,
    kinds: Vec<PendingKind>,
    /// Definitions that take kube's extensions from another definition's entry in the table.
    extension_sources: BTreeMap<String, String>,
}

/// A registered kind: its group-version-kind and the schema schemars returned for its root (a
/// `$ref`, or the schema itself for inlined types).
struct PendingKind {
    group: String,
    version: String,
    kind: String,
    root: Value,
}

impl Default for SchemaModelBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SchemaModelBuilder {
    /// A builder that knows only the meta/v1 types every kind refers to (ObjectMeta, ListMeta).
    pub fn new() -> Self {
        // Draft 7 puts definitions under `/definitions`, the Swagger 2.0 place; no transforms are
        // applied because `normalize` rewrites the schemas into kube's form itself.
        let mut settings = SchemaSettings::draft07();
        settings.transforms.clear();
        let mut generator = SchemaGenerator::new(settings);
        generator.subschema_for::<ObjectMeta>();
        generator.subschema_for::<ListMeta>();
        Self {
            generator,
            kinds: Vec::new(),
            extension_sources: BTreeMap::new(),
        }
    }

    /// A builder with what Capstan serves from the core group: core/v1 Pod, Namespace, ConfigMap,
    /// Secret, Event and Binding, policy/v1 Eviction (the body of `pods/eviction`), and the
    /// meta/v1 kinds every group's operations use (Status, DeleteOptions, WatchEvent, Patch).
    pub fn with_core_kinds() -> Self {
        Self::new()
            .add_kind::<Pod>("", "v1", "Pod")
            .add_kind::<Namespace>("", "v1", "Namespace")
            .add_kind::<ConfigMap>("", "v1", "ConfigMap")
            .add_kind::<Secret>("", "v1", "Secret")
            .add_kind::<Event>("", "v1", "Event")
            .add_kind::<Binding>("", "v1", "Binding")
            .add_kind::<Eviction>("policy", "v1", "Eviction")
            .add_kind::<Status>("", "v1", "Status")
            .add_kind::<DeleteOptions>("", "v1", "DeleteOptions")
            .add_kind::<WatchEvent<Pod>>("", "v1", "WatchEvent")
            .add_type::<Patch>()
    }

    /// Registers `T` as the schema of `group/version` `kind`.
    ///
    /// k8s-openapi types keep kube's definition names. A type whose schema name is not
    /// kube-shaped (a kube-derive root such as `CapstanPod`) is renamed the way kube names custom
    /// resources: reversed group, version, kind (`dev.capstan.v1.Pod`). Roots get `apiVersion`,
    /// `kind` and `metadata` properties if their schema omits them (kube-derive skips them).
    ///
    /// A subresource whose body is a core type in another group registers that type under the
    /// group's own GVK too, e.g. capstan.dev's `pods/binding`:
    /// `.add_kind::<Binding>("capstan.dev", "v1", "Binding")` (the definition is shared and lists
    /// both GVKs).
    #[must_use]
    pub fn add_kind<T: JsonSchema + ?Sized>(
        mut self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Self {
        let root = self.generator.subschema_for::<T>().to_value();
        self.kinds.push(PendingKind {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            root,
        });
        self
    }

    /// Gives definition `name` the list, map and patch extensions kube publishes for `source`.
    /// For schemas derived from a kube type — another version's copy of `PodSpec` with a field
    /// renamed — so that strategic merge patch, apply and the documents treat its lists as they
    /// treat the original's. Properties the derived schema lacks are simply not annotated.
    #[must_use]
    pub fn extensions_like(mut self, name: &str, source: &str) -> Self {
        self.extension_sources
            .insert(name.to_string(), source.to_string());
        self
    }

    /// Registers a definition that is not a kind of its own (it is reachable by name).
    #[must_use]
    pub fn add_type<T: JsonSchema + ?Sized>(mut self) -> Self {
        self.generator.subschema_for::<T>();
        self
    }

    /// Builds the model.
    pub fn build(mut self) -> SchemaModel {
        // apiVersion, kind and metadata exactly as k8s-openapi describes them on a Pod.
        let envelope = self.envelope_properties();
        let raw = self.generator.take_definitions(false);

        let mut renames = BTreeMap::new();
        let mut inline_roots = BTreeMap::new();
        let mut roots = Vec::new();
        for pending in &self.kinds {
            let kube_name = custom_kind_name(&pending.group, &pending.version, &pending.kind);
            let name = match raw_ref_target(&pending.root) {
                Some(name) if name.contains('.') => name,
                Some(name) => {
                    renames.insert(name, kube_name.clone());
                    kube_name
                }
                None => {
                    inline_roots.insert(kube_name.clone(), pending.root.clone());
                    kube_name
                }
            };
            roots.push((
                (
                    pending.group.clone(),
                    pending.version.clone(),
                    pending.kind.clone(),
                ),
                name,
            ));
        }

        let rename = |name: &str| {
            renames
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_string())
        };
        let mut definitions: BTreeMap<String, Value> = raw
            .into_iter()
            .chain(inline_roots)
            .map(|(name, mut schema)| {
                normalize(&mut schema, &rename);
                (rename(&name), schema)
            })
            .collect();
        let aliases = aliases(&definitions);
        definitions.retain(|name, _| !aliases.contains_key(name));
        definitions
            .values_mut()
            .for_each(|schema| resolve_aliases(schema, &aliases));

        let mut kinds = BTreeMap::new();
        for (gvk, name) in roots {
            let name = aliases.get(&name).cloned().unwrap_or(name);
            if let Some(schema) = definitions.get_mut(&name) {
                complete_root(schema, &envelope);
            }
            kinds.insert(gvk, name);
        }
        let sources = self.extension_sources;
        for (name, schema) in &mut definitions {
            add_extensions(extension_source(&sources, name), schema);
        }
        let structurer = Structurer {
            sources,
            out: BTreeMap::new(),
        };
        SchemaModel {
            definitions: structurer.run(definitions),
            kinds,
        }
    }

    fn envelope_properties(&mut self) -> Map<String, Value> {
        let mut pod = <Pod as JsonSchema>::json_schema(&mut self.generator).to_value();
        normalize(&mut pod, &|name| name.to_string());
        let mut properties = match pod.get_mut("properties").map(Value::take) {
            Some(Value::Object(properties)) => properties,
            _ => Map::new(),
        };
        properties.retain(|name, _| matches!(name.as_str(), "apiVersion" | "kind" | "metadata"));
        properties
    }
}

/// kube's definition name for a kind that has none of its own: `capstan.dev`, `v1`, `Pod` →
/// `dev.capstan.v1.Pod` (as for custom resources).
fn custom_kind_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').filter(|p| !p.is_empty()).rev().collect();
    if parts.is_empty() {
        parts.push("core");
    }
    format!("{}.{version}.{kind}", parts.join("."))
}

/// The definition name a schemars `$ref` (before normalisation) points at.
fn raw_ref_target(schema: &Value) -> Option<String> {
    let reference = schema.get("$ref")?.as_str()?;
    let name = reference.strip_prefix(REF_PREFIX)?;
    Some(name.replace("~1", "/").replace("~0", "~"))
}

/// Gives a kind's root the envelope properties it lacks, and drops them (and `spec`) from
/// `required`: kube's published roots require none of them, and an absent `spec` decodes to the
/// empty spec.
fn complete_root(schema: &mut Value, envelope: &Map<String, Value>) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    obj.entry("type").or_insert_with(|| "object".into());
    if let Value::Object(properties) = obj
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()))
    {
        for (name, property) in envelope {
            properties
                .entry(name.clone())
                .or_insert_with(|| property.clone());
        }
    }
    if let Some(Value::Array(required)) = obj.get_mut("required") {
        required.retain(|r| {
            !matches!(
                r.as_str(),
                Some("apiVersion" | "kind" | "metadata" | "spec")
            )
        });
        if required.is_empty() {
            obj.remove("required");
        }
    }
}

/// The table entry whose extensions definition `name` carries: its own, or the one
/// [`SchemaModelBuilder::extensions_like`] named.
fn extension_source<'a>(sources: &'a BTreeMap<String, String>, name: &'a str) -> &'a str {
    sources.get(name).map_or(name, String::as_str)
}

/// Writes kube's extensions (and `required` list) for definition `name` into its schema, as kube's
/// documents carry them.
fn add_extensions(name: &str, schema: &mut Value) {
    let Some(ext) = extensions::for_definition(name) else {
        return;
    };
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(map_type) = ext.map_type {
        obj.insert(
            "x-kubernetes-map-type".into(),
            extensions::map_type_name(map_type).into(),
        );
    }
    match ext.required.as_deref() {
        Some([]) => {
            obj.remove("required");
        }
        Some(required) => {
            obj.insert("required".into(), required.to_vec().into());
        }
        None => {}
    }
    let Some(Value::Object(properties)) = obj.get_mut("properties") else {
        return;
    };
    for (prop, field_ext) in &ext.properties {
        if let Some(Value::Object(property)) = properties.get_mut(prop) {
            property.extend(to_openapi(field_ext));
        }
    }
    for (prop, values) in &ext.enums {
        if let Some(Value::Object(property)) = properties.get_mut(prop) {
            property.insert("enum".into(), values.clone().into());
            if let Some(description) = ext.descriptions.get(prop) {
                property.insert("description".into(), description.clone().into());
            }
        }
    }
    for (prop, values) in &ext.item_enums {
        if let Some(Value::Object(items)) =
            properties.get_mut(prop).and_then(|p| p.get_mut("items"))
        {
            items.insert("enum".into(), values.clone().into());
        }
    }
}

/// Walks normalised schemas into [`Definition`]s, naming every position (see the module docs of
/// [`super`] for the synthetic names).
struct Structurer {
    /// See [`SchemaModelBuilder::extensions_like`].
    sources: BTreeMap<String, String>,
    out: BTreeMap<String, Definition>,
}

/// What a schema describes, for the model.
enum Class<'a> {
    Object(&'a Map<String, Value>),
    List(&'a Value),
    Map(&'a Value),
    Scalar(&'static str),
    Untyped,
}

fn classify(schema: &Value) -> Class<'_> {
    static EMPTY: Value = Value::Null;
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return Class::Scalar("#int-or-string");
    }
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return Class::Untyped;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => match (schema.get("properties"), schema.get("additionalProperties")) {
            (Some(Value::Object(properties)), _) if !properties.is_empty() => {
                Class::Object(properties)
            }
            (_, Some(values @ Value::Object(_))) => Class::Map(values),
            (_, Some(Value::Bool(true))) => Class::Map(&EMPTY),
            // An object with neither (RawExtension, FieldsV1, Patch) holds anything.
            _ => Class::Untyped,
        },
        Some("array") => Class::List(schema.get("items").unwrap_or(&EMPTY)),
        Some("string") => Class::Scalar("#string"),
        Some("integer") => Class::Scalar("#integer"),
        Some("number") => Class::Scalar("#number"),
        Some("boolean") => Class::Scalar("#boolean"),
        _ => Class::Untyped,
    }
}

impl Structurer {
    fn run(mut self, definitions: BTreeMap<String, Value>) -> BTreeMap<String, Definition> {
        for (name, schema) in &definitions {
            let mut def = self.describe(name, schema);
            def.schema = Some(schema.clone());
            self.out.insert(name.clone(), def);
        }
        self.out
    }

    /// The definition of the position `ctx` holding `schema`.
    fn describe(&mut self, ctx: &str, schema: &Value) -> Definition {
        let mut def = Definition::default();
        match classify(schema) {
            Class::Object(properties) => {
                def.shape = Some(Shape::Object);
                let ext = extensions::for_definition(extension_source(&self.sources, ctx));
                for (prop, sub) in properties {
                    let ty = self.type_name(&format!("{ctx}/{prop}"), sub);
                    let field_ext = ext
                        .and_then(|e| e.properties.get(prop))
                        .cloned()
                        .unwrap_or_else(FieldExtensions::default);
                    def.properties.insert(prop.clone(), (ty, field_ext));
                }
                def.required = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
            }
            Class::List(items) => {
                def.shape = Some(Shape::List);
                def.element = Some(self.type_name(&format!("{ctx}[]"), items));
            }
            Class::Map(values) => {
                def.shape = Some(Shape::Map);
                def.element = Some(self.type_name(&format!("{ctx}{{}}"), values));
            }
            Class::Scalar(_) => def.shape = Some(Shape::Scalar),
            Class::Untyped => def.shape = Some(Shape::Untyped),
        }
        def.map_type = extensions::for_definition(extension_source(&self.sources, ctx))
            .and_then(|e| e.map_type);
        def
    }

    /// The type name of the schema at position `ctx`, defining synthetic names on first use.
    fn type_name(&mut self, ctx: &str, schema: &Value) -> String {
        if let Some(target) = ref_target(schema) {
            return target.to_string();
        }
        let name = match classify(schema) {
            Class::Scalar(name) => name.to_string(),
            Class::Untyped => "#untyped".to_string(),
            Class::List(items) => format!("[]{}", self.type_name(&format!("{ctx}[]"), items)),
            Class::Map(values) => {
                format!(
                    "map[string]{}",
                    self.type_name(&format!("{ctx}{{}}"), values)
                )
            }
            Class::Object(_) => ctx.to_string(),
        };
        if !self.out.contains_key(&name) {
            let def = self.describe(ctx, schema);
            self.out.insert(name.clone(), def);
        }
        name
    }
}
