//! `/openapi/v3/<gv>`: one OpenAPI 3.0 document per group-version, with the definitions its
//! paths reach under `components.schemas`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::operations::{Body, In, Operation, PATCH, PATCH_TYPES, Param, PathItem, Produces};
use super::reachable;

const REF_PREFIX: &str = "#/components/schemas/";

pub(super) fn document(paths: &[&PathItem], definitions: &BTreeMap<String, Value>) -> Value {
    let roots = paths.iter().flat_map(|item| {
        item.operations.iter().flat_map(|op| {
            let body = match &op.body {
                Some(Body::Object { schema, .. }) => Some(schema.clone()),
                Some(Body::Patch) => Some(PATCH.to_string()),
                None => None,
            };
            op.responses
                .iter()
                .filter_map(|(_, _, schema)| schema.clone())
                .chain(body)
        })
    });
    let mut schemas: Map<String, Value> = reachable(roots, definitions)
        .into_iter()
        .filter_map(|name| {
            let schema = definitions.get(&name)?;
            Some((name, to_v3(schema)))
        })
        .collect();
    super::use_kube_scalar_forms(schemas.iter_mut(), true);
    let paths: Map<String, Value> = paths
        .iter()
        .map(|item| (item.path.clone(), path_item(item)))
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Capstan", "version": "unversioned" },
        "paths": paths,
        "components": { "schemas": schemas },
    })
}

/// A model schema (Swagger 2.0 form) in OpenAPI 3.0 form: `$ref`s point into
/// `components.schemas`, and a `$ref` with siblings (a description) becomes `allOf: [$ref]` with
/// those siblings, since OpenAPI 3.0 ignores a `$ref`'s siblings. This is the form kube serves.
fn to_v3(schema: &Value) -> Value {
    match schema {
        Value::Object(obj) => {
            let mut out: Map<String, Value> =
                obj.iter().map(|(k, v)| (k.clone(), to_v3(v))).collect();
            if let Some(Value::String(reference)) = out.get_mut("$ref")
                && let Some(name) = reference.strip_prefix("#/definitions/")
            {
                *reference = format!("{REF_PREFIX}{name}");
            }
            if out.len() > 1
                && let Some(reference) = out.remove("$ref")
            {
                out.insert("allOf".into(), json!([{ "$ref": reference }]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_v3).collect()),
        other => other.clone(),
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

fn path_item(item: &PathItem) -> Value {
    let mut out = Map::new();
    for op in &item.operations {
        out.insert(op.method.into(), operation(op));
    }
    out.insert(
        "parameters".into(),
        item.params.iter().map(param).collect::<Vec<_>>().into(),
    );
    Value::Object(out)
}

fn operation(op: &Operation) -> Value {
    let responses: Map<String, Value> = op
        .responses
        .iter()
        .map(|(code, description, schema)| {
            let mut response = json!({ "description": description });
            if let Some(schema) = schema {
                let content: Map<String, Value> = media_types(op.produces)
                    .into_iter()
                    .map(|media| (media.to_string(), json!({ "schema": schema_ref(schema) })))
                    .collect();
                response["content"] = content.into();
            }
            (code.to_string(), response)
        })
        .collect();
    let (group, version, kind) = &op.gvk;
    let mut out = json!({
        "description": op.description,
        "operationId": op.id,
        "tags": [op.tag],
        "responses": responses,
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": { "group": group, "version": version, "kind": kind },
    });
    if !op.params.is_empty() {
        out["parameters"] = op.params.iter().map(param).collect::<Vec<_>>().into();
    }
    match &op.body {
        Some(Body::Object { schema, required }) => {
            out["requestBody"] = json!({
                "content": { "*/*": { "schema": schema_ref(schema) } },
                "required": required,
            });
        }
        Some(Body::Patch) => {
            let content: Map<String, Value> = PATCH_TYPES
                .iter()
                .map(|media| (media.to_string(), json!({ "schema": schema_ref(PATCH) })))
                .collect();
            out["requestBody"] = json!({ "content": content, "required": true });
        }
        None => {}
    }
    out
}

fn media_types(kind: Produces) -> Vec<&'static str> {
    match kind {
        Produces::Object => vec!["application/json", "application/yaml"],
        Produces::Stream => vec![
            "application/json",
            "application/json;stream=watch",
            "application/yaml",
        ],
    }
}

fn param(p: &Param) -> Value {
    let mut out = json!({
        "description": p.description,
        "in": match p.location { In::Path => "path", In::Query => "query" },
        "name": p.name,
        "schema": { "type": p.ty, "uniqueItems": true },
    });
    if p.location == In::Path {
        out["required"] = true.into();
    }
    out
}
