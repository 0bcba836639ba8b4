//! `/openapi/v2`: one Swagger 2.0 document with every path and definition.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::operations::{Body, In, Operation, PATCH, PATCH_TYPES, Param, PathItem, Produces};

/// Content types of responses; `;stream=watch` is the watch framing of list and watch calls.
fn produces(kind: Produces) -> Vec<&'static str> {
    match kind {
        Produces::Object => vec!["application/json", "application/yaml"],
        Produces::Stream => vec![
            "application/json",
            "application/yaml",
            "application/json;stream=watch",
        ],
    }
}

pub(super) fn document(paths: &[PathItem], definitions: &BTreeMap<String, Value>) -> Value {
    let paths: Map<String, Value> = paths
        .iter()
        .map(|item| (item.path.clone(), path_item(item)))
        .collect();
    let mut definitions = definitions.clone();
    super::use_kube_scalar_forms(definitions.iter_mut(), false);
    json!({
        "swagger": "2.0",
        "info": { "title": "Capstan", "version": "unversioned" },
        "paths": paths,
        "definitions": definitions,
    })
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
    let mut params: Vec<Value> = Vec::new();
    let consumes: Vec<&str> = match &op.body {
        Some(Body::Object { schema, required }) => {
            params.push(body_param(schema, *required));
            vec!["*/*"]
        }
        Some(Body::Patch) => {
            params.push(body_param(PATCH, true));
            PATCH_TYPES.to_vec()
        }
        None => vec!["*/*"],
    };
    params.extend(op.params.iter().map(param));
    let responses: Map<String, Value> = op
        .responses
        .iter()
        .map(|(code, description, schema)| {
            let mut response = json!({ "description": description });
            if let Some(schema) = schema {
                response["schema"] = json!({ "$ref": format!("#/definitions/{schema}") });
            }
            (code.to_string(), response)
        })
        .collect();
    let (group, version, kind) = &op.gvk;
    json!({
        "description": op.description,
        "operationId": op.id,
        "consumes": consumes,
        "produces": produces(op.produces),
        "schemes": ["https"],
        "tags": [op.tag],
        "parameters": params,
        "responses": responses,
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": { "group": group, "version": version, "kind": kind },
    })
}

fn body_param(schema: &str, required: bool) -> Value {
    let mut p = json!({
        "in": "body",
        "name": "body",
        "schema": { "$ref": format!("#/definitions/{schema}") },
    });
    if required {
        p["required"] = true.into();
    }
    p
}

fn param(p: &Param) -> Value {
    let mut out = json!({
        "description": p.description,
        "in": match p.location { In::Path => "path", In::Query => "query" },
        "name": p.name,
        "type": p.ty,
        "uniqueItems": true,
    });
    if p.location == In::Path {
        out["required"] = true.into();
    }
    out
}
