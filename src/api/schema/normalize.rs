//! Rewrites schemas as schemars produces them into the form kube publishes.
//!
//! k8s-openapi's hand-written impls are already close to kube's spec; what differs comes from
//! `#[derive(JsonSchema)]` types (Capstan's own kinds): `Option<T>` becomes `anyOf [T, null]` or
//! `type: [T, "null"]`, newtypes become definitions that only `$ref` another, and `$ref`s point at
//! schemars' definitions path. kube never marks fields nullable — absence is how an optional field
//! is written — so nullability is dropped, aliases are followed, and every `$ref` is rewritten to
//! `#/definitions/<name>`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Where the model's `$ref`s point (the Swagger 2.0 form; OpenAPI 3 documents rewrite it).
pub(crate) const REF_PREFIX: &str = "#/definitions/";

/// The definition name a `$ref` schema points at, if `schema` is one.
pub(super) fn ref_target(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix(REF_PREFIX)
}

/// Normalises `schema` in place; `rename` maps a definition name as schemars wrote it to the
/// model's name for it.
pub(super) fn normalize(schema: &mut Value, rename: &dyn Fn(&str) -> String) {
    if let Value::Bool(allow) = schema {
        // `true` accepts anything: an empty schema. `false` never occurs in kube-shaped types.
        *schema = if *allow {
            Value::Object(Map::new())
        } else {
            serde_json::json!({ "not": {} })
        };
        return;
    }
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    obj.remove("$schema");
    obj.remove("nullable");
    if obj.get("default").is_some_and(Value::is_null) {
        obj.remove("default");
    }
    unwrap_single_variant(obj);
    drop_null_type(obj);

    if let Some(Value::String(reference)) = obj.get_mut("$ref") {
        let name = reference.rsplit('/').next().unwrap_or_default();
        *reference = format!("{REF_PREFIX}{}", rename(&decode_pointer(name)));
    }
    // `additionalProperties: false` is schemars' deny_unknown_fields; kube never writes it.
    if obj.get("additionalProperties") == Some(&Value::Bool(false)) {
        obj.remove("additionalProperties");
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = obj.get_mut(key)
            && !sub.is_boolean()
        {
            normalize_each(sub, rename);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(sub) = obj.get_mut(key) {
            normalize_each(sub, rename);
        }
    }
    if let Some(Value::Object(properties)) = obj.get_mut("properties") {
        for sub in properties.values_mut() {
            normalize(sub, rename);
        }
    }
}

/// `items` may be one schema or (tuple form) several.
fn normalize_each(sub: &mut Value, rename: &dyn Fn(&str) -> String) {
    match sub {
        Value::Array(schemas) => schemas.iter_mut().for_each(|s| normalize(s, rename)),
        other => normalize(other, rename),
    }
}

/// `type: ["string", "null"]` → `type: "string"`; `enum` loses its `null`.
fn drop_null_type(obj: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// `anyOf`/`oneOf` of one schema and `null`, or an `allOf` of one schema, is that schema: its
/// keys are merged into the parent (the parent's own keys, such as a description, win).
fn unwrap_single_variant(obj: &mut Map<String, Value>) {
    for key in ["anyOf", "oneOf", "allOf"] {
        let Some(Value::Array(variants)) = obj.get(key) else {
            continue;
        };
        let mut rest: Vec<&Value> = variants.iter().filter(|v| !is_null_schema(v)).collect();
        if rest.len() != 1 || (key == "allOf" && variants.len() != 1) {
            continue;
        }
        let Some(Value::Object(only)) = rest.pop().cloned() else {
            continue;
        };
        obj.remove(key);
        for (k, v) in only {
            obj.entry(k).or_insert(v);
        }
    }
}

/// JSON-pointer unescaping of a definition name (`~1` → `/`, `~0` → `~`).
fn decode_pointer(name: &str) -> String {
    name.replace("~1", "/").replace("~0", "~")
}

/// Definitions that are nothing but a `$ref` to another (a newtype such as a spec wrapper), as
/// alias → final target.
pub(super) fn aliases(definitions: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    let direct: BTreeMap<&str, &str> = definitions
        .iter()
        .filter(|(_, schema)| is_alias(schema))
        .filter_map(|(name, schema)| Some((name.as_str(), ref_target(schema)?)))
        .collect();
    direct
        .keys()
        .filter_map(|&alias| {
            let mut target = direct.get(alias).copied()?;
            // Follow chains; the bound stops a cycle (which no real type has).
            for _ in 0..direct.len() {
                match direct.get(target) {
                    Some(next) => target = next,
                    None => break,
                }
            }
            Some((alias.to_string(), target.to_string()))
        })
        .collect()
}

fn is_alias(schema: &Value) -> bool {
    let Some(obj) = schema.as_object() else {
        return false;
    };
    obj.contains_key("$ref")
        && obj
            .keys()
            .all(|k| matches!(k.as_str(), "$ref" | "description" | "default" | "title"))
}

/// Points every `$ref` to an alias at the alias's target instead.
pub(super) fn resolve_aliases(schema: &mut Value, aliases: &BTreeMap<String, String>) {
    match schema {
        Value::Object(obj) => {
            if let Some(Value::String(reference)) = obj.get_mut("$ref")
                && let Some(target) = reference
                    .strip_prefix(REF_PREFIX)
                    .and_then(|name| aliases.get(name))
            {
                *reference = format!("{REF_PREFIX}{target}");
            }
            obj.values_mut()
                .for_each(|sub| resolve_aliases(sub, aliases));
        }
        Value::Array(items) => items.iter_mut().for_each(|s| resolve_aliases(s, aliases)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn norm(mut schema: Value) -> Value {
        normalize(&mut schema, &|name| name.to_string());
        schema
    }

    #[test]
    fn nullable_forms_become_plain_schemas() {
        assert_eq!(
            norm(json!({"type": ["string", "null"], "description": "d"})),
            json!({"type": "string", "description": "d"})
        );
        assert_eq!(
            norm(json!({"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}], "description": "d"})),
            json!({"$ref": "#/definitions/X", "description": "d"})
        );
        assert_eq!(
            norm(json!({"$ref": "#/components/schemas/X", "nullable": true})),
            json!({"$ref": "#/definitions/X"})
        );
    }

    #[test]
    fn single_all_of_is_unwrapped_but_real_unions_stay() {
        assert_eq!(
            norm(json!({"allOf": [{"$ref": "#/$defs/X"}], "description": "d"})),
            json!({"$ref": "#/definitions/X", "description": "d"})
        );
        let union = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(norm(union.clone()), union);
    }

    #[test]
    fn nested_schemas_and_renames() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "array", "items": {"$ref": "#/$defs/Old"}},
                "m": {"type": "object", "additionalProperties": {"type": ["integer", "null"]}},
                "any": true
            },
            "additionalProperties": false
        });
        normalize(&mut schema, &|name| {
            if name == "Old" {
                "new.Name".into()
            } else {
                name.into()
            }
        });
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": "array", "items": {"$ref": "#/definitions/new.Name"}},
                    "m": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "any": {}
                }
            })
        );
    }

    #[test]
    fn aliases_are_followed_to_their_final_target() {
        let defs: BTreeMap<String, Value> = [
            (
                "A",
                json!({"$ref": "#/definitions/B", "description": "a newtype"}),
            ),
            ("B", json!({"$ref": "#/definitions/C"})),
            (
                "C",
                json!({"type": "object", "properties": {"x": {"$ref": "#/definitions/A"}}}),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let map = aliases(&defs);
        assert_eq!(map.get("A").map(String::as_str), Some("C"));
        assert_eq!(map.get("B").map(String::as_str), Some("C"));
        assert!(!map.contains_key("C"));
        let mut c = defs["C"].clone();
        resolve_aliases(&mut c, &map);
        assert_eq!(c["properties"]["x"]["$ref"], "#/definitions/C");
    }
}
