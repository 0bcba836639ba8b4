//! A JSON object brought to the shape encoding/json gives the same object after kube decodes it
//! into its Go type: what kube-apiserver stores and answers, whatever the client sent.
//!
//! kube never keeps a client's JSON as it is: it decodes into the Go struct and encodes that.
//! So an `omitempty` field that is empty (`annotations: {}`, `args: []`, `hostNetwork: false`)
//! disappears, a nil pointer sent as `null` disappears, and a non-pointer struct is always written
//! (`resources: {}` in every container, `status: {}`, an Event's `source: {}` and
//! `eventTime: null`) as are non-`omitempty` scalars (`reportingInstance: ""`). Capstan decodes
//! into k8s-openapi types, which keep `Some(empty)` and skip `None`, so the store applies this
//! on the way in (validation compares what kube compares: a pod update that only drops an empty
//! `env: []` changes nothing) and on the way out (clients see kube's JSON: `kubectl diff` shows
//! no `annotations: {}` that kube would not have, `kubectl replace` of a manifest without
//! `resources` matches the stored `resources: {}`).
//!
//! The Go facts come from the same embedded data the protobuf decoder reads: the message
//! descriptors name each field and its type, `gotypes.txt` says how encoding/json writes it
//! ([`FieldMode`]). Lists and maps are dropped when empty, as the `omitempty` that nearly all of
//! them carry does (the few without it, such as `containers`, which validation requires to be
//! non-empty anyway, only matter in [`go_empty_object`]). Keys the Go type does not know are
//! left alone.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use super::json::{
    DURATION, FIELDS_V1, INT_OR_STRING, MICRO_TIME, QUANTITY, QUANTITY_VALUE, RAW_EXTENSION, TIME,
    VERBS,
};
use super::schema::{FieldMode, Schema, schema};

/// An `(apiVersion, kind)` pair.
type TypeMeta = (&'static str, &'static str);

/// Capstan's own kinds that have exactly a core type's shape (`api::types::CapstanPod` is a
/// core/v1 Pod in the capstan.dev group), by `(apiVersion, kind)`.
const SAME_SHAPE: [(TypeMeta, TypeMeta); 1] = [(("capstan.dev/v1", "Pod"), ("v1", "Pod"))];

/// Brings `object`, of `api_version`/`kind`, to the JSON kube-apiserver would hold for it.
/// Returns false (leaving `object` as it is) for kinds without a Go type here.
pub fn go_json_shape(object: &mut Value, api_version: &str, kind: &str) -> bool {
    let (api_version, kind) = core_shape(api_version, kind);
    let Ok(schema) = schema() else {
        return false;
    };
    let Some(message) = schema
        .message_for(api_version, kind)
        .and_then(|name| schema.pool.get_message_by_name(name))
    else {
        return false;
    };
    shape_message(schema, object, &message);
    true
}

/// An empty Go object of `api_version`/`kind` as kube's unstructured converter writes it: the
/// "old" object kube compares a create against when it records managedFields. Value structs
/// and non-`omitempty` scalars hold their zero values and a non-`omitempty` list or map is
/// `null` (`{"metadata": {}, "spec": {"containers": null}, "status": {}}` for a Pod), so none of
/// them counts as added by the create. `None` for kinds without a Go type here.
pub fn go_empty_object(api_version: &str, kind: &str) -> Option<Value> {
    let mut object = Value::Object(Map::new());
    if !go_json_shape(&mut object, api_version, kind) {
        return None;
    }
    let (api_version, kind) = core_shape(api_version, kind);
    let schema = schema().ok()?;
    let message = schema
        .message_for(api_version, kind)
        .and_then(|name| schema.pool.get_message_by_name(name))?;
    add_nil_collections(schema, &mut object, &message);
    Some(object)
}

/// The core kind a Capstan kind shares its shape with, or the kind itself.
fn core_shape<'a>(api_version: &'a str, kind: &'a str) -> (&'a str, &'a str) {
    SAME_SHAPE
        .iter()
        .find(|(own, _)| *own == (api_version, kind))
        .map_or((api_version, kind), |(_, core)| *core)
}

/// Writes `null` for the absent non-`omitempty` lists and maps of the structs in `value`.
fn add_nil_collections(schema: &Schema, value: &mut Value, message: &MessageDescriptor) {
    if is_opaque(message) {
        return;
    }
    let Value::Object(map) = value else {
        return;
    };
    let mut fields = Vec::new();
    json_fields(schema, message, &mut fields);
    for (field, mode) in fields {
        if field.is_list() || field.is_map() {
            if mode == FieldMode::Always && !map.contains_key(field.name()) {
                map.insert(field.name().to_string(), Value::Null);
            }
        } else if let (Kind::Message(inner), Some(child)) =
            (field.kind(), map.get_mut(field.name()))
        {
            add_nil_collections(schema, child, &inner);
        }
    }
}

/// Types with a hand-written JSON form (a string, a number, opaque JSON): kept as sent.
fn is_opaque(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        TIME | MICRO_TIME
            | DURATION
            | FIELDS_V1
            | VERBS
            | QUANTITY
            | QUANTITY_VALUE
            | INT_OR_STRING
            | RAW_EXTENSION
    )
}

/// The JSON fields of `message` with the message whose `gotypes.txt` entry rules each: embedded
/// (inline) structs contribute their own fields, as encoding/json flattens them.
fn json_fields(
    schema: &Schema,
    message: &MessageDescriptor,
    out: &mut Vec<(FieldDescriptor, FieldMode)>,
) {
    for field in message.fields() {
        let mode = schema.mode(message.full_name(), field.number());
        match (mode, field.kind()) {
            (FieldMode::Inline, Kind::Message(inner)) => json_fields(schema, &inner, out),
            _ => out.push((field, mode)),
        }
    }
}

fn shape_message(schema: &Schema, value: &mut Value, message: &MessageDescriptor) {
    if is_opaque(message) {
        return;
    }
    let Value::Object(map) = value else {
        return;
    };
    let mut fields = Vec::new();
    json_fields(schema, message, &mut fields);
    for (field, mode) in fields {
        shape_field(schema, map, &field, mode);
    }
}

fn shape_field(
    schema: &Schema,
    map: &mut Map<String, Value>,
    field: &FieldDescriptor,
    mode: FieldMode,
) {
    let name = field.name();
    let Some(value) = map.get_mut(name) else {
        if mode == FieldMode::Always
            && !field.is_list()
            && !field.is_map()
            && let Some(mut zero) = zero_value(&field.kind())
        {
            if let Kind::Message(inner) = field.kind() {
                shape_message(schema, &mut zero, &inner);
            }
            map.insert(name.to_string(), zero);
        }
        return;
    };
    if field.is_map() {
        if let Kind::Message(entry) = field.kind()
            && let Kind::Message(inner) = entry.map_entry_value_field().kind()
            && let Value::Object(entries) = value
        {
            entries
                .values_mut()
                .for_each(|v| shape_message(schema, v, &inner));
        }
    } else if field.is_list() {
        if let (Kind::Message(inner), Value::Array(items)) = (field.kind(), &mut *value) {
            items
                .iter_mut()
                .for_each(|v| shape_message(schema, v, &inner));
        }
    } else if value.is_null() && mode == FieldMode::Always {
        // `null` decodes to nothing in Go: the field keeps its zero value.
        if let Some(zero) = zero_value(&field.kind()) {
            *value = zero;
        }
    }
    if let Kind::Message(inner) = field.kind()
        && !field.is_list()
        && !field.is_map()
    {
        shape_message(schema, value, &inner);
    }
    let drop = if field.is_list() || field.is_map() {
        is_empty(value)
    } else {
        match mode {
            FieldMode::OmitEmpty | FieldMode::OmitZero => is_empty(value),
            FieldMode::Pointer => value.is_null(),
            FieldMode::Always | FieldMode::Inline => false,
        }
    };
    if drop {
        map.remove(name);
    }
}

/// Go's zero value of a field's type as encoding/json writes it, for the types that have a
/// plain one (bytes, enums and opaque types without one are not invented).
fn zero_value(kind: &Kind) -> Option<Value> {
    Some(match kind {
        Kind::Message(message) => match message.full_name() {
            TIME | MICRO_TIME => Value::Null,
            INT_OR_STRING => Value::from(0),
            QUANTITY => Value::String("0".into()),
            _ if is_opaque(message) => return None,
            _ => Value::Object(Map::new()),
        },
        Kind::String => Value::String(String::new()),
        Kind::Bool => Value::Bool(false),
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Fixed32
        | Kind::Fixed64
        | Kind::Sfixed32
        | Kind::Sfixed64
        | Kind::Float
        | Kind::Double => Value::from(0),
        Kind::Bytes | Kind::Enum(_) => return None,
    })
}

/// What `omitempty` leaves out: null, false, 0, "", and empty lists and maps.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shaped(api_version: &str, kind: &str, mut v: Value) -> Value {
        assert!(go_json_shape(&mut v, api_version, kind));
        v
    }

    #[test]
    fn empty_omitempty_fields_go_and_zero_structs_come() {
        let pod = shaped(
            "v1",
            "Pod",
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "annotations": {}, "labels": {}, "finalizers": [],
                             "creationTimestamp": null, "deletionTimestamp": null},
                "spec": {
                    "nodeSelector": {}, "volumes": [], "hostNetwork": false,
                    "terminationGracePeriodSeconds": 0, "nodeName": "",
                    "containers": [{"name": "a", "image": "x", "args": [], "env": [],
                                    "ports": [{"containerPort": 80, "hostPort": 0}],
                                    "securityContext": null}]
                }
            }),
        );
        assert_eq!(
            pod,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {
                    // a pointer keeps its zero
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "a", "image": "x", "resources": {},
                                    "ports": [{"containerPort": 80}]}]
                },
                "status": {}
            })
        );
    }

    #[test]
    fn non_omitempty_scalars_and_times_are_written() {
        let event = shaped(
            "v1",
            "Event",
            json!({"metadata": {"name": "e"}, "reason": "R", "involvedObject": {"kind": "Pod"}}),
        );
        assert_eq!(
            event,
            json!({
                "metadata": {"name": "e"}, "reason": "R", "involvedObject": {"kind": "Pod"},
                "source": {}, "firstTimestamp": null, "lastTimestamp": null, "eventTime": null,
                "reportingComponent": "", "reportingInstance": ""
            })
        );
    }

    #[test]
    fn inline_structs_and_maps_of_structs_are_walked() {
        let pod = shaped(
            "capstan.dev/v1",
            "Pod",
            json!({"spec": {"containers": [{"name": "a", "readinessProbe": {
                        "httpGet": {"path": "/"}, "timeoutSeconds": 0}}],
                    "volumes": [{"name": "v", "emptyDir": {}, "configMap": {"items": []}}]},
                   "status": {"phase": "Pending"}}),
        );
        assert_eq!(
            pod["spec"]["containers"][0]["readinessProbe"],
            json!({"httpGet": {"path": "/", "port": 0}})
        );
        assert_eq!(
            pod["spec"]["volumes"][0],
            json!({"name": "v", "emptyDir": {}, "configMap": {}})
        );
        assert_eq!(pod["status"], json!({"phase": "Pending"}));
    }

    #[test]
    fn empty_objects_hold_go_zero_values() {
        let pod = json!({"metadata": {}, "spec": {"containers": null}, "status": {}});
        assert_eq!(go_empty_object("v1", "Pod"), Some(pod.clone()));
        assert_eq!(go_empty_object("capstan.dev/v1", "Pod"), Some(pod));
        assert_eq!(
            go_empty_object("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
            Some(json!({"metadata": {}, "spec": {}, "status": {"allowed": false}}))
        );
        assert_eq!(go_empty_object("example.com/v1", "Widget"), None);
    }

    #[test]
    fn unknown_kinds_and_keys_are_left_alone() {
        let mut v = json!({"spec": {"x": []}});
        assert!(!go_json_shape(&mut v, "example.com/v1", "Widget"));
        assert_eq!(v, json!({"spec": {"x": []}}));
        let cm = shaped(
            "v1",
            "ConfigMap",
            json!({"data": {}, "binaryData": {}, "extra": [], "immutable": false}),
        );
        // `immutable` is a pointer: false stays.
        assert_eq!(cm, json!({"metadata": {}, "extra": [], "immutable": false}));
    }
}
