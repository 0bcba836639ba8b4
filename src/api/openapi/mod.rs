//! The OpenAPI documents Capstan serves at `/openapi/v2` and `/openapi/v3`, assembled once at
//! start from the schema model and a description of what is installed.
//!
//! kubectl reads them for `explain`, for choosing strategic merge patch in client-side apply, and
//! for deciding whether the server validates fields (a PATCH operation with a `fieldValidation`
//! parameter); the aggregator downloads both to merge into the host's. Everything here is plain
//! data: the documents are computed once as JSON bytes with their ETags (quoted SHA-512 hex, as
//! kube-openapi computes them), and `server::openapi` only serves them.

mod operations;
mod params;
mod v2;
mod v2_proto;
mod v3;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::api::schema::SchemaModel;
use operations::{LIST_META, PathItem};

/// One installed resource, as the installer knows it. Feed one per top-level resource (`pods`),
/// with its subresources (`pods/status`, `pods/binding`) inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedResource {
    /// The URL's group; empty for the legacy core group.
    pub group: String,
    pub version: String,
    /// The URL segment (`pods`).
    pub plural: String,
    /// The kind of the objects (`Pod`); its schema must be registered in the model.
    pub kind: String,
    pub namespaced: bool,
    /// Discovery verb names: get, list, watch, create, update, patch, delete, deletecollection.
    pub verbs: Vec<String>,
    pub subresources: Vec<ServedSubresource>,
}

/// A subresource: its name and the kind its body is (`binding` takes a core/v1 `Binding`,
/// `eviction` a policy/v1 `Eviction`, `status` the resource's own kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedSubresource {
    /// The path segment after the name (`status`).
    pub name: String,
    pub group: String,
    pub version: String,
    pub kind: String,
    /// Discovery verb names (get, update, patch for status; create for binding).
    pub verbs: Vec<String>,
}

/// A document ready to serve: its bytes (JSON, or the protobuf form of `/openapi/v2`) and ETag.
#[derive(Clone, Debug)]
pub struct OpenApiDocument {
    json: Bytes,
    etag: String,
}

impl OpenApiDocument {
    fn new(value: &Value) -> Self {
        // Serialising a Value cannot fail (string keys only).
        Self::from_bytes(serde_json::to_vec(value).unwrap_or_default())
    }

    fn from_bytes(bytes: Vec<u8>) -> Self {
        let json = Bytes::from(bytes);
        let digest = Sha512::digest(&json);
        let etag = digest.iter().map(|b| format!("{b:02X}")).collect();
        Self { json, etag }
    }

    /// The document as served: compact JSON (protobuf for [`OpenApiDocs::v2_protobuf`]).
    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// Upper-case hex SHA-512 of the served bytes, unquoted: the `hash` query value of
    /// `/openapi/v3` URLs; the `ETag` header is this, quoted.
    pub fn etag(&self) -> &str {
        &self.etag
    }
}

/// kube's published form of the apimachinery types that marshal themselves as scalars. The model
/// describes both with `x-kubernetes-int-or-string` (the structural-schema form, which the patch
/// and validation code reads); kube's documents give them types instead, differently in v2 (a
/// string, IntOrString formatted `int-or-string`) and v3 (`oneOf` the JSON types they take).
/// Returns the replacement of every key but `description`.
fn kube_scalar_form(name: &str, v3: bool) -> Option<Value> {
    Some(match (name, v3) {
        ("io.k8s.apimachinery.pkg.util.intstr.IntOrString", false) => {
            json!({"type": "string", "format": "int-or-string"})
        }
        ("io.k8s.apimachinery.pkg.util.intstr.IntOrString", true) => {
            json!({"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]})
        }
        ("io.k8s.apimachinery.pkg.api.resource.Quantity", false) => json!({"type": "string"}),
        ("io.k8s.apimachinery.pkg.api.resource.Quantity", true) => {
            json!({"oneOf": [{"type": "string"}, {"type": "number"}]})
        }
        _ => return None,
    })
}

/// Applies [`kube_scalar_form`] to a document's definitions.
fn use_kube_scalar_forms<'a>(schemas: impl Iterator<Item = (&'a String, &'a mut Value)>, v3: bool) {
    for (name, schema) in schemas {
        let (Some(Value::Object(form)), Value::Object(obj)) = (kube_scalar_form(name, v3), schema)
        else {
            continue;
        };
        obj.retain(|k, _| k == "description");
        obj.extend(form);
    }
}

/// Why the documents could not be assembled (a wiring error at start).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// A served kind has no schema in the model; register it with `SchemaModelBuilder::add_kind`.
    #[error("no schema registered for {group}/{version} {kind}")]
    MissingKind {
        group: String,
        version: String,
        kind: String,
    },
}

/// Every OpenAPI document, computed once.
#[derive(Clone, Debug)]
pub struct OpenApiDocs {
    v2: OpenApiDocument,
    v2_protobuf: OpenApiDocument,
    v3_index: OpenApiDocument,
    v3: BTreeMap<String, OpenApiDocument>,
}

impl OpenApiDocs {
    /// Assembles the documents for `resources` from `model`.
    ///
    /// ```
    /// use capstan::api::openapi::{OpenApiDocs, ServedResource};
    /// use capstan::api::schema::SchemaModelBuilder;
    /// let model = SchemaModelBuilder::with_core_kinds().build();
    /// let configmaps = ServedResource {
    ///     group: String::new(), version: "v1".into(), plural: "configmaps".into(),
    ///     kind: "ConfigMap".into(), namespaced: true,
    ///     verbs: vec!["get".into(), "patch".into()], subresources: vec![],
    /// };
    /// let docs = OpenApiDocs::build(&model, &[configmaps]).unwrap();
    /// assert!(docs.v3("api/v1").is_some());
    /// assert!(docs.v3("apis/capstan.dev/v1").is_none());
    /// ```
    pub fn build(model: &SchemaModel, resources: &[ServedResource]) -> Result<Self, OpenApiError> {
        let schema_names = kind_schema_names(model, resources)?;
        let schema_of = |g: &str, v: &str, k: &str| {
            schema_names
                .get(&(g.to_string(), v.to_string(), k.to_string()))
                .cloned()
                .unwrap_or_default()
        };
        let paths: Vec<PathItem> = resources
            .iter()
            .flat_map(|r| operations::paths_of(r, &schema_of))
            .collect();
        let definitions = definitions(model, resources, &schema_of);

        let v2_json = v2::document(&paths, &definitions);
        let v2_protobuf = OpenApiDocument::from_bytes(v2_proto::encode(&v2_json));
        let v2 = OpenApiDocument::new(&v2_json);
        let mut v3 = BTreeMap::new();
        let gv_paths: BTreeSet<&str> = paths.iter().map(|p| p.gv_path.as_str()).collect();
        for gv_path in gv_paths {
            let gv_items: Vec<&PathItem> = paths.iter().filter(|p| p.gv_path == gv_path).collect();
            let doc = v3::document(&gv_items, &definitions);
            v3.insert(gv_path.to_string(), OpenApiDocument::new(&doc));
        }
        let index: serde_json::Map<String, Value> = v3
            .iter()
            .map(|(gv_path, doc)| {
                let url = format!("/openapi/v3/{gv_path}?hash={}", doc.etag());
                (gv_path.clone(), json!({ "serverRelativeURL": url }))
            })
            .collect();
        let v3_index = OpenApiDocument::new(&json!({ "paths": index }));
        Ok(Self {
            v2,
            v2_protobuf,
            v3_index,
            v3,
        })
    }

    /// `/openapi/v2`: Swagger 2.0 with every path and definition.
    pub fn v2(&self) -> &OpenApiDocument {
        &self.v2
    }

    /// `/openapi/v2` as gnostic's `openapi.v2.Document` protobuf message, which client-go's
    /// `OpenAPISchema()` (kubectl's client-side validation) asks for.
    pub fn v2_protobuf(&self) -> &OpenApiDocument {
        &self.v2_protobuf
    }

    /// `/openapi/v3`: the index of per-group-version documents with their hashes.
    pub fn v3_index(&self) -> &OpenApiDocument {
        &self.v3_index
    }

    /// `/openapi/v3/<gv_path>` (`api/v1`, `apis/capstan.dev/v1`): OpenAPI 3.0.
    pub fn v3(&self, gv_path: &str) -> Option<&OpenApiDocument> {
        self.v3.get(gv_path)
    }
}

/// The definition name of every kind an operation names, checking each is registered.
fn kind_schema_names(
    model: &SchemaModel,
    resources: &[ServedResource],
) -> Result<BTreeMap<(String, String, String), String>, OpenApiError> {
    let mut names = BTreeMap::new();
    let gvks = resources.iter().flat_map(|r| {
        std::iter::once((&r.group, &r.version, &r.kind)).chain(
            r.subresources
                .iter()
                .map(|s| (&s.group, &s.version, &s.kind)),
        )
    });
    for (group, version, kind) in gvks {
        let ty = model
            .for_kind(group, version, kind)
            .ok_or_else(|| OpenApiError::MissingKind {
                group: group.clone(),
                version: version.clone(),
                kind: kind.clone(),
            })?;
        names.insert(
            (group.clone(), version.clone(), kind.clone()),
            ty.name().to_string(),
        );
    }
    Ok(names)
}

/// Every named definition (refs in the `#/definitions/` form) with its group-version-kinds, plus
/// a `<Kind>List` for each listable resource.
fn definitions(
    model: &SchemaModel,
    resources: &[ServedResource],
    schema_of: &dyn Fn(&str, &str, &str) -> String,
) -> BTreeMap<String, Value> {
    let mut gvks: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for ((group, version, kind), ty) in model.kinds() {
        gvks.entry(ty.name())
            .or_default()
            .push(json!({ "group": group, "version": version, "kind": kind }));
    }
    let mut out = BTreeMap::new();
    let named = model.kinds().map(|(_, ty)| ty.name().to_string());
    let mut pending: Vec<String> = named.collect();
    pending.extend(operations_definitions());
    while let Some(name) = pending.pop() {
        if out.contains_key(&name) {
            continue;
        }
        let Some(schema) = model.definition(&name).and_then(|t| t.openapi_schema()) else {
            continue;
        };
        let mut schema = schema.clone();
        if let (Some(list), Value::Object(obj)) = (gvks.get(name.as_str()), &mut schema) {
            obj.insert(
                "x-kubernetes-group-version-kind".into(),
                list.clone().into(),
            );
        }
        collect_refs(&schema, &mut pending);
        out.insert(name, schema);
    }
    for r in resources
        .iter()
        .filter(|r| r.verbs.iter().any(|v| v == "list"))
    {
        let item = schema_of(&r.group, &r.version, &r.kind);
        out.insert(format!("{item}List"), list_schema(r, &item));
    }
    out
}

fn operations_definitions() -> impl Iterator<Item = String> {
    [
        operations::STATUS,
        operations::DELETE_OPTIONS,
        operations::WATCH_EVENT,
        operations::PATCH,
        LIST_META,
    ]
    .into_iter()
    .map(String::from)
}

/// `<Kind>List`: what a list operation returns.
fn list_schema(r: &ServedResource, item: &str) -> Value {
    let ref_to = |name: &str| format!("#/definitions/{name}");
    json!({
        "description": format!("{}List is a list of {}.", r.kind, r.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {
                "description": "The versioned schema of this representation of the list.",
                "type": "string"
            },
            "items": {
                "description": format!("The {} objects.", r.kind),
                "type": "array",
                "items": { "$ref": ref_to(item) }
            },
            "kind": {
                "description": "The REST resource this object represents, in CamelCase.",
                "type": "string"
            },
            "metadata": {
                "$ref": ref_to(LIST_META),
                "description": "Standard list metadata: resourceVersion, continue, remainingItemCount."
            }
        },
        "x-kubernetes-group-version-kind": [{
            "group": r.group,
            "version": r.version,
            "kind": format!("{}List", r.kind)
        }]
    })
}

/// Appends every definition `schema` refers to.
fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(obj) => {
            if let Some(name) = obj
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/definitions/"))
            {
                out.push(name.to_string());
            }
            obj.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The definitions reachable from `roots` (for a per-group-version v3 document).
fn reachable(
    roots: impl IntoIterator<Item = String>,
    all: &BTreeMap<String, Value>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut pending: Vec<String> = roots.into_iter().collect();
    while let Some(name) = pending.pop() {
        if let Some(schema) = all.get(&name)
            && seen.insert(name)
        {
            collect_refs(schema, &mut pending);
        }
    }
    seen
}
