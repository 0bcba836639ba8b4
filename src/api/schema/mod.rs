//! The schema model: one source for OpenAPI documents, strategic merge patch, server-side apply
//! and field validation.
//!
//! Structure (properties, items, `$ref`s) comes from the schemas the crates carry: k8s-openapi's
//! `schemars` impls (named with kube's definition names, e.g. `io.k8s.api.core.v1.PodSpec`) and
//! kube-derive for Capstan's own types. Those lack kube's extensions (patch strategy, merge key,
//! list type, map keys), which come from [`extensions`]: a table generated from Kubernetes'
//! published OpenAPI spec for v1.37.
//!
//! The model is built once at start and shared (`Arc<SchemaModel>`); lookups are cheap and never
//! allocate on the hot path. [`SchemaModelBuilder`] builds it; [`validate`] finds unknown and
//! duplicate fields in request bodies.
//!
//! Every position has a type name: named definitions keep kube's names, and everything else gets
//! a synthetic one — `#string`, `#integer`, `#number`, `#boolean`, `#int-or-string`, `#untyped`
//! for scalars and untyped values, `[]<item>` for lists, `map[string]<value>` for maps and
//! `<parent>/<property>` for inline objects.

mod builder;
mod extensions;
mod normalize;
mod omit_empty;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use builder::SchemaModelBuilder;
pub use omit_empty::omit_empty;

pub mod validate;

/// The core kinds plus Capstan's own `capstan.dev/v1` Pod, for the tests of modules built on the
/// model.
#[cfg(test)]
pub(crate) use tests::model as test_model;

/// `x-kubernetes-patch-strategy` values (comma-separated in the spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchStrategy {
    Merge,
    RetainKeys,
    Replace,
}

/// `x-kubernetes-list-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map,
}

/// `x-kubernetes-map-type` (also used on structs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    Atomic,
    Granular,
}

/// kube's extensions on one field (a property of a definition).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldExtensions {
    pub patch_strategy: Vec<PatchStrategy>,
    pub patch_merge_key: Option<String>,
    pub list_type: Option<ListType>,
    pub list_map_keys: Vec<String>,
    pub map_type: Option<MapType>,
}

/// The shape of a position in an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A struct with named properties.
    Object,
    /// An array; [`TypeRef::items`] gives the element type.
    List,
    /// A string-keyed map; [`TypeRef::values`] gives the value type.
    Map,
    /// A string, number, boolean, or a special type (Quantity, Time, IntOrString).
    Scalar,
    /// Anything (`x-kubernetes-preserve-unknown-fields`, RawExtension).
    Untyped,
}

/// Everything known about the served kinds' schemas.
#[derive(Debug, Default)]
pub struct SchemaModel {
    /// Definitions by kube's name (`io.k8s.api.core.v1.PodSpec`).
    definitions: BTreeMap<String, Definition>,
    /// (group, version, kind) → definition name.
    kinds: BTreeMap<(String, String, String), String>,
}

/// One named definition (or an inline schema given a synthetic name).
#[derive(Debug, Default)]
struct Definition {
    shape: Option<Shape>,
    /// property → (type name, extensions)
    properties: BTreeMap<String, (String, FieldExtensions)>,
    /// The properties the schema lists as `required` (Go fields without `omitempty`).
    required: std::collections::BTreeSet<String>,
    /// element (list) or value (map) type name
    element: Option<String>,
    /// `x-kubernetes-map-type` on the definition itself (atomic structs such as
    /// `LocalObjectReference`).
    map_type: Option<MapType>,
    /// The OpenAPI schema of a named definition (`$ref`s read `#/definitions/<name>`, kube's
    /// extensions included); `None` for synthetic names.
    schema: Option<serde_json::Value>,
}

/// A position in the model: a type, by name.
#[derive(Clone, Copy, Debug)]
pub struct TypeRef<'a> {
    model: &'a SchemaModel,
    name: &'a str,
}

/// A property of an object type: its type and kube's extensions on it.
#[derive(Clone, Copy, Debug)]
pub struct FieldRef<'a> {
    pub ty: TypeRef<'a>,
    pub ext: &'a FieldExtensions,
}

impl SchemaModel {
    /// The root type of a served kind.
    pub fn for_kind(&self, group: &str, version: &str, kind: &str) -> Option<TypeRef<'_>> {
        let name = self
            .kinds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))?;
        Some(TypeRef { model: self, name })
    }

    /// A type by its definition name.
    pub fn definition(&self, name: &str) -> Option<TypeRef<'_>> {
        let (name, _) = self.definitions.get_key_value(name)?;
        Some(TypeRef { model: self, name })
    }

    /// Every registered kind as ((group, version, kind), root type), sorted; the OpenAPI documents
    /// put `x-kubernetes-group-version-kind` on these roots.
    pub fn kinds(&self) -> impl Iterator<Item = ((&str, &str, &str), TypeRef<'_>)> + '_ {
        self.kinds.iter().filter_map(|((g, v, k), name)| {
            let ty = self.definition(name)?;
            Some(((g.as_str(), v.as_str(), k.as_str()), ty))
        })
    }
}

impl<'a> TypeRef<'a> {
    /// The definition name (`io.k8s.api.core.v1.PodSpec`).
    pub fn name(&self) -> &'a str {
        self.name
    }

    fn def(&self) -> Option<&'a Definition> {
        self.model.definitions.get(self.name)
    }

    /// What kind of value lives here.
    pub fn shape(&self) -> Shape {
        self.def().and_then(|d| d.shape).unwrap_or(Shape::Untyped)
    }

    /// `x-kubernetes-map-type` declared on the type itself: `Atomic` structs (`ObjectReference`,
    /// `LabelSelector`, …) are replaced whole by apply and strategic merge patch wherever they
    /// appear. Property-level map types are in [`FieldRef::ext`].
    pub fn map_type(&self) -> Option<MapType> {
        self.def().and_then(|d| d.map_type)
    }

    /// The OpenAPI schema of a named definition, as the documents serve it (`$ref`s read
    /// `#/definitions/<name>`); `None` for synthetic types.
    pub fn openapi_schema(&self) -> Option<&'a serde_json::Value> {
        self.def().and_then(|d| d.schema.as_ref())
    }

    /// A property of an object type.
    pub fn field(&self, name: &str) -> Option<FieldRef<'a>> {
        let (ty, ext) = self.def()?.properties.get(name)?;
        let (ty, _) = self.model.definitions.get_key_value(ty.as_str())?;
        Some(FieldRef {
            ty: TypeRef {
                model: self.model,
                name: ty,
            },
            ext,
        })
    }

    /// Whether the object type's schema lists `name` as required: in kube's types, a field
    /// without `omitempty`, which Go writes even when it is empty.
    pub fn is_required(&self, name: &str) -> bool {
        self.def().is_some_and(|d| d.required.contains(name))
    }

    /// The property names of an object type (for unknown-field detection and `explain`).
    pub fn field_names(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.def()
            .into_iter()
            .flat_map(|d| d.properties.keys().map(String::as_str))
    }

    /// The element type of a list.
    pub fn items(&self) -> Option<TypeRef<'a>> {
        self.element(Shape::List)
    }

    /// The value type of a map.
    pub fn values(&self) -> Option<TypeRef<'a>> {
        self.element(Shape::Map)
    }

    fn element(&self, shape: Shape) -> Option<TypeRef<'a>> {
        let def = self.def()?;
        if def.shape != Some(shape) {
            return None;
        }
        let name = def.element.as_deref()?;
        let (name, _) = self.model.definitions.get_key_value(name)?;
        Some(TypeRef {
            model: self.model,
            name,
        })
    }
}
