//! A decoded message → the JSON encoding/json writes for the same Go value, which is what a JSON
//! client would have sent and what the handlers expect.
//!
//! prost-reflect's own serde support follows the proto3 JSON mapping (int64 as strings, proto
//! field presence, `Timestamp` as a fraction-carrying string), which is not kube's JSON, so the
//! walk is ours: field inclusion follows the Go struct ([`FieldMode`]), and the apimachinery types
//! with hand-written JSON (`Time`, `MicroTime`, `Duration`, `Quantity`, `IntOrString`,
//! `RawExtension`, `FieldsV1`, `Verbs`) are converted as their `MarshalJSON` does.

use std::borrow::Cow;

use base64::Engine;
use prost_reflect::{DynamicMessage, MapKey, ReflectMessage, Value as Pb};
use serde_json::{Map, Number, Value};

use super::schema::{FieldMode, Schema};
use super::{MAGIC, ProtobufError, gotime};

pub(super) const TIME: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Time";
pub(super) const MICRO_TIME: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime";
pub(super) const DURATION: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Duration";
pub(super) const FIELDS_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1";
pub(super) const VERBS: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Verbs";
pub(super) const QUANTITY: &str = "k8s.io.apimachinery.pkg.api.resource.Quantity";
pub(super) const QUANTITY_VALUE: &str = "k8s.io.apimachinery.pkg.api.resource.QuantityValue";
pub(super) const INT_OR_STRING: &str = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";
pub(super) const RAW_EXTENSION: &str = "k8s.io.apimachinery.pkg.runtime.RawExtension";

/// Converts one message. `depth` counts protobuf objects embedded in `RawExtension`s above this
/// one, which [`super::decode_embedded`] bounds.
pub fn message_json(
    schema: &Schema,
    message: &DynamicMessage,
    depth: u8,
) -> Result<Value, ProtobufError> {
    match message.descriptor().full_name() {
        TIME => {
            if is_empty_message(message) {
                return Ok(Value::Null);
            }
            gotime::time_json(int_field(message, 1))
        }
        MICRO_TIME => {
            if is_empty_message(message) {
                return Ok(Value::Null);
            }
            let nanos = i32::try_from(int_field(message, 2))
                .map_err(|_| ProtobufError::Malformed("MicroTime nanos out of range".into()))?;
            gotime::micro_time_json(int_field(message, 1), nanos)
        }
        DURATION => Ok(Value::String(gotime::go_duration(int_field(message, 1)))),
        // An unset Quantity is Go's zero Quantity, written as "0".
        QUANTITY | QUANTITY_VALUE => Ok(Value::String(
            string_field(message, 1).unwrap_or_else(|| "0".into()),
        )),
        INT_OR_STRING => match int_field(message, 1) {
            0 => Ok(Value::from(int_field(message, 2))),
            1 => Ok(Value::String(string_field(message, 3).unwrap_or_default())),
            _ => Err(ProtobufError::Malformed(
                "impossible IntOrString.Type".into(),
            )),
        },
        RAW_EXTENSION => raw_extension(bytes_field(message, 1), depth),
        FIELDS_V1 => embedded_json(bytes_field(message, 1), "FieldsV1"),
        VERBS => match message.get_field_by_number(1).as_deref() {
            Some(Pb::List(items)) => items.iter().map(|v| value_json(schema, v, depth)).collect(),
            _ => Ok(Value::Array(Vec::new())),
        },
        name => struct_json(schema, name, message, depth),
    }
}

/// A message generated from a Go struct: each field present on the wire, kept or dropped as
/// encoding/json would for that Go field.
fn struct_json(
    schema: &Schema,
    name: &str,
    message: &DynamicMessage,
    depth: u8,
) -> Result<Value, ProtobufError> {
    let mut out = Map::new();
    for (field, value) in message.fields() {
        let json = value_json(schema, value, depth)?;
        let mode = schema.mode(name, field.number());
        if mode == FieldMode::Inline {
            // encoding/json lets the enclosing struct's own fields win a name clash.
            if let Value::Object(inner) = json {
                for (key, v) in inner {
                    out.entry(key).or_insert(v);
                }
            }
            continue;
        }
        let keep = if field.is_list() || field.is_map() {
            // A nil and an empty slice look alike on the wire; dropping both is what a JSON
            // client sends for the `omitempty` fields nearly all repeated fields are.
            !is_empty(&json)
        } else {
            match mode {
                FieldMode::Pointer | FieldMode::Always | FieldMode::Inline => true,
                FieldMode::OmitEmpty | FieldMode::OmitZero => !is_empty(&json),
            }
        };
        if keep {
            out.insert(field.name().to_string(), json);
        }
    }
    Ok(Value::Object(out))
}

/// One field value.
fn value_json(schema: &Schema, value: &Pb, depth: u8) -> Result<Value, ProtobufError> {
    Ok(match value {
        Pb::Bool(b) => Value::Bool(*b),
        Pb::I32(n) => Value::from(*n),
        Pb::I64(n) => Value::from(*n),
        Pb::U32(n) => Value::from(*n),
        Pb::U64(n) => Value::from(*n),
        Pb::EnumNumber(n) => Value::from(*n),
        Pb::F32(n) => float(f64::from(*n))?,
        Pb::F64(n) => float(*n)?,
        Pb::String(s) => Value::String(s.clone()),
        // encoding/json writes []byte as standard, padded base64 (Secret.data, binaryData).
        Pb::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Pb::Message(m) => message_json(schema, m, depth)?,
        Pb::List(items) => Value::Array(
            items
                .iter()
                .map(|v| value_json(schema, v, depth))
                .collect::<Result<_, _>>()?,
        ),
        Pb::Map(entries) => {
            let mut out = Map::new();
            for (key, v) in entries {
                out.insert(map_key(key), value_json(schema, v, depth)?);
            }
            Value::Object(out)
        }
    })
}

fn float(n: f64) -> Result<Value, ProtobufError> {
    Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(|| ProtobufError::Malformed(format!("unsupported value: {n}")))
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::String(s) => s.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}

/// Go's zero value as encoding/json writes it, which `omitempty` and `omitzero` leave out
/// (`omitzero` only ever tags `Time`s here, whose zero is `null`).
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// No field was on the wire: apimachinery's zero-length `Time`/`MicroTime`.
fn is_empty_message(message: &DynamicMessage) -> bool {
    message.fields().next().is_none()
}

fn int_field(message: &DynamicMessage, number: u32) -> i64 {
    match message.get_field_by_number(number).as_deref() {
        Some(Pb::I64(n)) => *n,
        Some(Pb::I32(n)) => i64::from(*n),
        Some(Pb::U32(n)) => i64::from(*n),
        _ => 0,
    }
}

fn string_field(message: &DynamicMessage, number: u32) -> Option<String> {
    if !message.has_field_by_number(number) {
        return None;
    }
    match message.get_field_by_number(number).as_deref() {
        Some(Pb::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn bytes_field(message: &DynamicMessage, number: u32) -> Vec<u8> {
    match message.get_field_by_number(number) {
        Some(Cow::Borrowed(Pb::Bytes(b))) => b.to_vec(),
        Some(Cow::Owned(Pb::Bytes(b))) => b.to_vec(),
        _ => Vec::new(),
    }
}

/// `RawExtension`: the embedded object's own bytes, JSON as `MarshalJSON` copies them, or a
/// protobuf-encoded object (what protobuf clients embed) decoded in turn.
fn raw_extension(raw: Vec<u8>, depth: u8) -> Result<Value, ProtobufError> {
    if raw.starts_with(&MAGIC) {
        return super::decode_embedded(&raw, depth + 1);
    }
    embedded_json(raw, "RawExtension")
}

/// Raw JSON carried in a bytes field; none is `null`, as apimachinery writes it.
fn embedded_json(raw: Vec<u8>, what: &str) -> Result<Value, ProtobufError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&raw)
        .map_err(|e| ProtobufError::Malformed(format!("{what} does not hold JSON: {e}")))
}
