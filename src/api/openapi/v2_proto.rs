//! The `/openapi/v2` document in protobuf: gnostic's `openapi.v2.Document` message
//! (github.com/google/gnostic-models, openapiv2/OpenAPIv2.proto), which kube-apiserver serves
//! for `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` by compiling its JSON
//! document with gnostic (kube-openapi's `ToProtoBinary`).
//!
//! client-go's `OpenAPISchema()` asks for nothing else, and kubectl uses it whenever it validates
//! on the client: always for a `kind: List` file (`kubectl create|apply|replace -f` of
//! `kubectl get -o yaml` output), and for every object when the server has no field validation.
//!
//! The encoding is written here rather than through generated types: the document is our own
//! JSON, and gnostic's mapping is mechanical — camelCase keys become the snake_case fields below
//! (numbers from OpenAPIv2.proto), JSON maps become lists of `Named*` pairs in key order, `x-`
//! keys become `vendor_extension` entries whose value is YAML text (JSON is YAML, which is how
//! kube-openapi's reader parses them), and a parameter, response or `additionalProperties`
//! becomes the `oneof` alternative its contents select. Zero scalars are left out, as proto3
//! encodes them. Keys gnostic would reject are never produced by our documents and are skipped.

use serde_json::{Map, Value};

/// Protobuf wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;

/// A message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn tag(&mut self, field: u64, wire: u64) {
        self.varint((field << 3) | wire);
    }

    fn bytes(&mut self, field: u64, bytes: &[u8]) {
        self.tag(field, LEN);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    /// A non-empty string (proto3 leaves out the empty one).
    fn string(&mut self, field: u64, value: Option<&Value>) {
        if let Some(s) = value.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            self.bytes(field, s.as_bytes());
        }
    }

    /// Each string of a JSON array (or a lone string).
    fn strings(&mut self, field: u64, value: Option<&Value>) {
        match value {
            Some(Value::Array(items)) => items.iter().for_each(|v| self.string(field, Some(v))),
            Some(v @ Value::String(_)) => self.string(field, Some(v)),
            _ => {}
        }
    }

    fn boolean(&mut self, field: u64, value: Option<&Value>) {
        if value.and_then(Value::as_bool) == Some(true) {
            self.tag(field, VARINT);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u64, value: Option<&Value>) {
        if let Some(n) = value.and_then(Value::as_i64).filter(|n| *n != 0) {
            self.tag(field, VARINT);
            // Negative int64s are ten-byte varints of their two's complement.
            self.varint(n as u64);
        }
    }

    fn double(&mut self, field: u64, value: Option<&Value>) {
        if let Some(n) = value.and_then(Value::as_f64).filter(|n| *n != 0.0) {
            self.tag(field, FIXED64);
            self.0.extend_from_slice(&n.to_le_bytes());
        }
    }

    fn message(&mut self, field: u64, inner: Msg) {
        self.bytes(field, &inner.0);
    }

    /// gnostic's `Any` for `default`, `example` and `enum` values: the value as YAML text.
    fn any(&mut self, field: u64, value: &Value) {
        let mut any = Msg::default();
        any.bytes(2, value.to_string().as_bytes());
        self.message(field, any);
    }

    /// `x-` keys of `object` as `NamedAny` entries.
    fn vendor_extensions(&mut self, field: u64, object: &Map<String, Value>) {
        for (name, value) in object.iter().filter(|(k, _)| k.starts_with("x-")) {
            let mut named = Msg::default();
            named.bytes(1, name.as_bytes());
            named.any(2, value);
            self.message(field, named);
        }
    }
}

/// Encodes a Swagger 2.0 document (as [`super::v2`] builds it).
pub fn encode(doc: &Value) -> Vec<u8> {
    let Some(doc) = doc.as_object() else {
        return Vec::new();
    };
    let mut m = Msg::default();
    m.string(1, doc.get("swagger"));
    if let Some(info) = doc.get("info").and_then(Value::as_object) {
        let mut i = Msg::default();
        i.string(1, info.get("title"));
        i.string(2, info.get("version"));
        i.string(3, info.get("description"));
        i.string(4, info.get("termsOfService"));
        i.vendor_extensions(7, info);
        m.message(2, i);
    }
    m.string(3, doc.get("host"));
    m.string(4, doc.get("basePath"));
    m.strings(5, doc.get("schemes"));
    m.strings(6, doc.get("consumes"));
    m.strings(7, doc.get("produces"));
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        let mut p = Msg::default();
        p.vendor_extensions(1, paths);
        for (name, item) in paths.iter().filter(|(k, _)| k.starts_with('/')) {
            p.message(2, named(name, path_item(item)));
        }
        m.message(8, p);
    }
    if let Some(definitions) = doc.get("definitions").and_then(Value::as_object) {
        let mut d = Msg::default();
        for (name, s) in definitions {
            d.message(1, named(name, schema(s)));
        }
        m.message(9, d);
    }
    m.vendor_extensions(16, doc);
    m.0
}

/// A `Named*` pair: the name, then the value message.
fn named(name: &str, value: Msg) -> Msg {
    let mut n = Msg::default();
    n.bytes(1, name.as_bytes());
    n.message(2, value);
    n
}

fn path_item(item: &Value) -> Msg {
    let mut m = Msg::default();
    let Some(item) = item.as_object() else {
        return m;
    };
    m.string(1, item.get("$ref"));
    for (field, method) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (6, "options"),
        (7, "head"),
        (8, "patch"),
    ] {
        if let Some(op) = item.get(method) {
            m.message(field, operation(op));
        }
    }
    for p in item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(9, parameters_item(p));
    }
    m.vendor_extensions(10, item);
    m
}

fn operation(op: &Value) -> Msg {
    let mut m = Msg::default();
    let Some(op) = op.as_object() else {
        return m;
    };
    m.strings(1, op.get("tags"));
    m.string(2, op.get("summary"));
    m.string(3, op.get("description"));
    m.string(5, op.get("operationId"));
    m.strings(6, op.get("produces"));
    m.strings(7, op.get("consumes"));
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(8, parameters_item(p));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        let mut r = Msg::default();
        for (code, value) in responses.iter().filter(|(k, _)| !k.starts_with("x-")) {
            r.message(1, named(code, response_value(value)));
        }
        r.vendor_extensions(2, responses);
        m.message(9, r);
    }
    m.strings(10, op.get("schemes"));
    m.boolean(11, op.get("deprecated"));
    m.vendor_extensions(13, op);
    m
}

fn json_reference(object: &Map<String, Value>) -> Msg {
    let mut r = Msg::default();
    r.string(1, object.get("$ref"));
    r.string(2, object.get("description"));
    r
}

/// `ParametersItem`: a reference, or a parameter (body, or one of the non-body kinds by `in`).
fn parameters_item(p: &Value) -> Msg {
    let mut item = Msg::default();
    let Some(p) = p.as_object() else {
        return item;
    };
    if p.contains_key("$ref") {
        item.message(2, json_reference(p));
        return item;
    }
    let mut parameter = Msg::default();
    let location = p.get("in").and_then(Value::as_str).unwrap_or("");
    if location == "body" {
        let mut b = Msg::default();
        b.string(1, p.get("description"));
        b.string(2, p.get("name"));
        b.string(3, p.get("in"));
        b.boolean(4, p.get("required"));
        if let Some(s) = p.get("schema") {
            b.message(5, schema(s));
        }
        b.vendor_extensions(6, p);
        parameter.message(1, b);
    } else {
        let (choice, allows_empty) = match location {
            "header" => (1, false),
            "formData" => (2, true),
            "path" => (4, false),
            _ => (3, true),
        };
        let mut non_body = Msg::default();
        non_body.message(choice, non_body_parameter(p, allows_empty));
        parameter.message(2, non_body);
    }
    item.message(1, parameter);
    item
}

/// The header, formData, query and path sub-schemas: the same fields, numbered one further on
/// after `name` where `allowEmptyValue` exists (query, formData).
fn non_body_parameter(p: &Map<String, Value>, allows_empty: bool) -> Msg {
    let mut m = Msg::default();
    m.boolean(1, p.get("required"));
    m.string(2, p.get("in"));
    m.string(3, p.get("description"));
    m.string(4, p.get("name"));
    let shift = if allows_empty {
        m.boolean(5, p.get("allowEmptyValue"));
        1
    } else {
        0
    };
    primitive_fields(&mut m, p, 5 + shift);
    m
}

/// The fields a non-body parameter shares with `PrimitivesItems`, numbered from `first` (`type`)
/// on: type, format, items, collectionFormat, default, maximum, exclusiveMaximum, minimum,
/// exclusiveMinimum, maxLength, minLength, pattern, maxItems, minItems, uniqueItems, enum,
/// multipleOf, vendor extensions.
fn primitive_fields(m: &mut Msg, p: &Map<String, Value>, first: u64) {
    m.string(first, p.get("type"));
    m.string(first + 1, p.get("format"));
    if let Some(items) = p.get("items").and_then(Value::as_object) {
        let mut i = Msg::default();
        primitive_fields(&mut i, items, 1);
        m.message(first + 2, i);
    }
    m.string(first + 3, p.get("collectionFormat"));
    if let Some(d) = p.get("default") {
        m.any(first + 4, d);
    }
    m.double(first + 5, p.get("maximum"));
    m.boolean(first + 6, p.get("exclusiveMaximum"));
    m.double(first + 7, p.get("minimum"));
    m.boolean(first + 8, p.get("exclusiveMinimum"));
    m.int64(first + 9, p.get("maxLength"));
    m.int64(first + 10, p.get("minLength"));
    m.string(first + 11, p.get("pattern"));
    m.int64(first + 12, p.get("maxItems"));
    m.int64(first + 13, p.get("minItems"));
    m.boolean(first + 14, p.get("uniqueItems"));
    for e in p
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.any(first + 15, e);
    }
    m.double(first + 16, p.get("multipleOf"));
    m.vendor_extensions(first + 17, p);
}

/// `ResponseValue`: a reference or a response.
fn response_value(value: &Value) -> Msg {
    let mut v = Msg::default();
    let Some(r) = value.as_object() else {
        return v;
    };
    if r.contains_key("$ref") {
        v.message(2, json_reference(r));
        return v;
    }
    let mut response = Msg::default();
    response.string(1, r.get("description"));
    if let Some(s) = r.get("schema") {
        let mut item = Msg::default();
        item.message(1, schema(s));
        response.message(2, item);
    }
    response.vendor_extensions(5, r);
    v.message(1, response);
    v
}

fn schema(s: &Value) -> Msg {
    let mut m = Msg::default();
    let Some(s) = s.as_object() else {
        return m;
    };
    m.string(1, s.get("$ref"));
    m.string(2, s.get("format"));
    m.string(3, s.get("title"));
    m.string(4, s.get("description"));
    if let Some(d) = s.get("default") {
        m.any(5, d);
    }
    m.double(6, s.get("multipleOf"));
    m.double(7, s.get("maximum"));
    m.boolean(8, s.get("exclusiveMaximum"));
    m.double(9, s.get("minimum"));
    m.boolean(10, s.get("exclusiveMinimum"));
    m.int64(11, s.get("maxLength"));
    m.int64(12, s.get("minLength"));
    m.string(13, s.get("pattern"));
    m.int64(14, s.get("maxItems"));
    m.int64(15, s.get("minItems"));
    m.boolean(16, s.get("uniqueItems"));
    m.int64(17, s.get("maxProperties"));
    m.int64(18, s.get("minProperties"));
    m.strings(19, s.get("required"));
    for e in s
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.any(20, e);
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            // A oneof member is written even when it is false.
            let mut item = Msg::default();
            item.tag(2, VARINT);
            item.varint(u64::from(*b));
            m.message(21, item);
        }
        Some(inner @ Value::Object(_)) => {
            let mut item = Msg::default();
            item.message(1, schema(inner));
            m.message(21, item);
        }
        _ => {}
    }
    if s.contains_key("type") {
        let mut t = Msg::default();
        t.strings(1, s.get("type"));
        m.message(22, t);
    }
    match s.get("items") {
        Some(Value::Array(list)) => {
            let mut items = Msg::default();
            list.iter().for_each(|i| items.message(1, schema(i)));
            m.message(23, items);
        }
        Some(one @ Value::Object(_)) => {
            let mut items = Msg::default();
            items.message(1, schema(one));
            m.message(23, items);
        }
        _ => {}
    }
    for a in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.message(24, schema(a));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let mut p = Msg::default();
        for (name, prop) in props {
            p.message(1, named(name, schema(prop)));
        }
        m.message(25, p);
    }
    m.string(26, s.get("discriminator"));
    m.boolean(27, s.get("readOnly"));
    if let Some(e) = s.get("example") {
        m.any(30, e);
    }
    m.vendor_extensions(31, s);
    m
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// One field of a message: number, and its varint value or its bytes.
    #[derive(Debug, PartialEq)]
    enum Field {
        Varint(u64, u64),
        Fixed64(u64, [u8; 8]),
        Bytes(u64, Vec<u8>),
    }

    fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
        let mut value = 0;
        let mut shift = 0;
        loop {
            let b = bytes[*at];
            *at += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return value;
            }
            shift += 7;
        }
    }

    fn fields(bytes: &[u8]) -> Vec<Field> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let tag = read_varint(bytes, &mut at);
            let (number, wire) = (tag >> 3, tag & 7);
            out.push(match wire {
                VARINT => Field::Varint(number, read_varint(bytes, &mut at)),
                FIXED64 => {
                    let v: [u8; 8] = bytes[at..at + 8].try_into().unwrap();
                    at += 8;
                    Field::Fixed64(number, v)
                }
                LEN => {
                    let len = read_varint(bytes, &mut at) as usize;
                    at += len;
                    Field::Bytes(number, bytes[at - len..at].to_vec())
                }
                other => panic!("wire type {other}"),
            });
        }
        out
    }

    fn bytes_of(fields: &[Field], number: u64) -> Vec<&[u8]> {
        fields
            .iter()
            .filter_map(|f| match f {
                Field::Bytes(n, b) if *n == number => Some(b.as_slice()),
                _ => None,
            })
            .collect()
    }

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn definitions_become_named_schemas_with_types_properties_and_extensions() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "Capstan", "version": "unversioned"},
            "definitions": {"io.k8s.api.core.v1.ConfigMap": {
                "type": "object",
                "required": ["a", "b"],
                "properties": {
                    "data": {"type": "object", "additionalProperties": {"type": "string"}},
                    "immutable": {"type": "boolean", "additionalProperties": false},
                    "items": {"type": "array", "items": {"$ref": "#/definitions/x"}}
                },
                "x-kubernetes-group-version-kind": [{"group": "", "kind": "ConfigMap", "version": "v1"}]
            }}
        });
        let top = fields(&encode(&doc));
        assert_eq!(text(bytes_of(&top, 1)[0]), "2.0");
        let info = fields(bytes_of(&top, 2)[0]);
        assert_eq!(text(bytes_of(&info, 1)[0]), "Capstan");

        let definitions = fields(bytes_of(&top, 9)[0]);
        let named = fields(bytes_of(&definitions, 1)[0]);
        assert_eq!(text(bytes_of(&named, 1)[0]), "io.k8s.api.core.v1.ConfigMap");
        let schema = fields(bytes_of(&named, 2)[0]);
        let required: Vec<&str> = bytes_of(&schema, 19).into_iter().map(text).collect();
        assert_eq!(required, ["a", "b"]);
        let ty = fields(bytes_of(&schema, 22)[0]);
        assert_eq!(text(bytes_of(&ty, 1)[0]), "object");
        // The GVK extension: a NamedAny whose Any carries the value as YAML (here JSON) text.
        let ext = fields(bytes_of(&schema, 31)[0]);
        assert_eq!(
            text(bytes_of(&ext, 1)[0]),
            "x-kubernetes-group-version-kind"
        );
        let any = fields(bytes_of(&ext, 2)[0]);
        let yaml: serde_json::Value = serde_json::from_slice(bytes_of(&any, 2)[0]).unwrap();
        assert_eq!(yaml[0]["kind"], "ConfigMap");

        let props = fields(bytes_of(&schema, 25)[0]);
        let names: Vec<String> = bytes_of(&props, 1)
            .into_iter()
            .map(|p| text(bytes_of(&fields(p), 1)[0]).to_string())
            .collect();
        assert_eq!(names, ["data", "immutable", "items"]);
        let prop = |i: usize| fields(bytes_of(&fields(bytes_of(&props, 1)[i]), 2)[0]);
        // additionalProperties: a schema, or a boolean written even when false.
        let data_ap = fields(bytes_of(&prop(0), 21)[0]);
        assert_eq!(bytes_of(&data_ap, 1).len(), 1);
        let immutable_ap = fields(bytes_of(&prop(1), 21)[0]);
        assert_eq!(immutable_ap, [Field::Varint(2, 0)]);
        let items = fields(bytes_of(&prop(2), 23)[0]);
        let item = fields(bytes_of(&items, 1)[0]);
        assert_eq!(text(bytes_of(&item, 1)[0]), "#/definitions/x");
    }

    #[test]
    fn parameters_pick_their_oneof_by_location() {
        let doc = json!({"paths": {"/api/v1/pods": {
            "parameters": [{"in": "query", "name": "pretty", "type": "string", "uniqueItems": true}],
            "post": {"operationId": "createPod",
                     "parameters": [{"in": "body", "name": "body", "required": true,
                                     "schema": {"$ref": "#/definitions/Pod"}},
                                    {"in": "path", "name": "name", "required": true, "type": "string"}],
                     "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/Pod"}}},
                     "x-kubernetes-action": "post"}
        }}});
        let top = fields(&encode(&doc));
        let paths = fields(bytes_of(&top, 8)[0]);
        let named = fields(bytes_of(&paths, 2)[0]);
        assert_eq!(text(bytes_of(&named, 1)[0]), "/api/v1/pods");
        let item = fields(bytes_of(&named, 2)[0]);
        // query: ParametersItem.parameter → Parameter.non_body → NonBody.query (3).
        let query = fields(bytes_of(&item, 9)[0]);
        let parameter = fields(bytes_of(&query, 1)[0]);
        let non_body = fields(bytes_of(&parameter, 2)[0]);
        let sub = fields(bytes_of(&non_body, 3)[0]);
        assert_eq!(text(bytes_of(&sub, 4)[0]), "pretty");
        assert_eq!(text(bytes_of(&sub, 6)[0]), "string");
        assert!(sub.contains(&Field::Varint(20, 1)), "uniqueItems: {sub:?}");

        let post = fields(bytes_of(&item, 4)[0]);
        assert_eq!(text(bytes_of(&post, 5)[0]), "createPod");
        let params = bytes_of(&post, 8);
        let body = fields(bytes_of(&fields(bytes_of(&fields(params[0]), 1)[0]), 1)[0]);
        assert_eq!(text(bytes_of(&body, 2)[0]), "body");
        assert!(body.contains(&Field::Varint(4, 1)));
        let path = fields(bytes_of(&fields(bytes_of(&fields(params[1]), 1)[0]), 2)[0]);
        let path = fields(bytes_of(&path, 4)[0]);
        assert_eq!(
            text(bytes_of(&path, 5)[0]),
            "string",
            "path's type is field 5"
        );
        let responses = fields(bytes_of(&post, 9)[0]);
        let ok = fields(bytes_of(&responses, 1)[0]);
        assert_eq!(text(bytes_of(&ok, 1)[0]), "200");
        assert_eq!(bytes_of(&post, 13).len(), 1, "x-kubernetes-action");
    }
}
