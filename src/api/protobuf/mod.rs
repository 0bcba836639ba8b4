//! Kubernetes' protobuf wire format (`application/vnd.kubernetes.protobuf`) read into the JSON
//! `Value` every handler already works on, so client-go's typed clients (kubectl create
//! namespace/configmap/secret, controllers) can write to Capstan. Responses stay JSON.
//!
//! A body is the magic `k8s\0` and a `runtime.Unknown` envelope naming the object's
//! `apiVersion`/`kind` and carrying its message bytes (apimachinery's protobuf serializer). The
//! message is decoded with prost-reflect against the descriptors of Kubernetes' own `.proto`
//! files, embedded at build time, and converted to the JSON Go would write for the same object
//! ([`json`]). IO-free.
//!
//! The same knowledge of the Go types brings JSON bodies to the shape kube's decode and encode
//! gives them ([`go_json_shape`]), which the store applies to every object it takes and returns.

mod gotime;
mod json;
mod schema;
mod shape;

pub use shape::{go_empty_object, go_json_shape};

use prost_reflect::{DynamicMessage, Value as Pb};
use serde_json::Value;

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Every protobuf body starts with these four bytes (`k8s` and a NUL).
pub const MAGIC: [u8; 4] = *b"k8s\0";

/// How many objects deep `RawExtension`s may embed protobuf objects: each level is a fresh
/// decode, so the bound keeps a crafted body from exhausting the stack.
const MAX_EMBEDDING: u8 = 8;

const UNKNOWN: &str = "k8s.io.apimachinery.pkg.runtime.Unknown";

/// Why a body could not be decoded. All but [`ProtobufError::Internal`] are the client's fault
/// (400 in the handlers, as kube's decoder errors are).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// No bytes, or only the magic (apimachinery's "empty data" / "empty body").
    #[error("{0}")]
    Empty(&'static str),
    /// The magic prefix is missing.
    #[error(
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    )]
    NotProtobuf,
    /// The envelope names no kind and none was defaulted.
    #[error("Object 'Kind' is missing in '{0}'")]
    MissingKind(String),
    /// The envelope names no version and none was defaulted.
    #[error("Object 'apiVersion' is missing in '{0}'")]
    MissingVersion(String),
    /// The envelope names a kind no served group registers.
    #[error("no kind {kind:?} is registered for version {api_version:?}")]
    UnknownKind {
        /// `apiVersion` from the envelope.
        api_version: String,
        /// `kind` from the envelope.
        kind: String,
    },
    /// Bytes that are not the message they claim to be, or values Go could not write as JSON.
    #[error("{0}")]
    Malformed(String),
    /// The embedded schema is unusable (a build defect, not the request's fault).
    #[error("protobuf schema: {0}")]
    Internal(String),
}

/// The `runtime.Unknown` envelope of a body, with the type defaulted as kube's decoder does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The object's `apiVersion` (`v1`, `policy/v1`), possibly defaulted.
    pub api_version: String,
    /// The object's `kind`, possibly defaulted.
    pub kind: String,
    /// The object's own message bytes.
    pub raw: Vec<u8>,
}

impl Envelope {
    /// Reads the envelope. `defaults` (`apiVersion`, `kind`) fill what the envelope leaves empty,
    /// as apimachinery's `copyKindDefaults` does with the endpoint's kind: an empty kind takes the
    /// default kind, an envelope without a version takes the default `apiVersion`.
    pub fn parse(bytes: &[u8], defaults: Option<(&str, &str)>) -> Result<Self, ProtobufError> {
        if bytes.is_empty() {
            return Err(ProtobufError::Empty("empty data"));
        }
        let Some(body) = bytes.strip_prefix(&MAGIC) else {
            return Err(ProtobufError::NotProtobuf);
        };
        if body.is_empty() {
            return Err(ProtobufError::Empty("empty body"));
        }
        let schema = schema::schema()?;
        let descriptor = schema
            .pool
            .get_message_by_name(UNKNOWN)
            .ok_or_else(|| ProtobufError::Internal(format!("no message {UNKNOWN}")))?;
        let unknown = DynamicMessage::decode(descriptor, body)
            .map_err(|e| ProtobufError::Malformed(e.to_string()))?;
        let (mut api_version, mut kind) = match unknown.get_field_by_number(1).as_deref() {
            Some(Pb::Message(type_meta)) => (string(type_meta, 1), string(type_meta, 2)),
            _ => (String::new(), String::new()),
        };
        let raw = match unknown.get_field_by_number(2).as_deref() {
            Some(Pb::Bytes(raw)) => raw.to_vec(),
            _ => Vec::new(),
        };
        if let Some((default_api_version, default_kind)) = defaults {
            if kind.is_empty() {
                kind = default_kind.to_string();
            }
            if version_of(&api_version).is_empty() && !version_of(default_api_version).is_empty() {
                api_version = default_api_version.to_string();
            }
        }
        Ok(Self {
            api_version,
            kind,
            raw,
        })
    }

    /// Decodes the object into kube's JSON, `apiVersion` and `kind` included.
    pub fn decode(&self) -> Result<Value, ProtobufError> {
        self.decode_at(0)
    }

    fn decode_at(&self, depth: u8) -> Result<Value, ProtobufError> {
        let type_meta = || {
            format!(
                "runtime.TypeMeta{{APIVersion:{:?}, Kind:{:?}}}",
                self.api_version, self.kind
            )
        };
        if self.kind.is_empty() {
            return Err(ProtobufError::MissingKind(type_meta()));
        }
        if version_of(&self.api_version).is_empty() {
            return Err(ProtobufError::MissingVersion(type_meta()));
        }
        let schema = schema::schema()?;
        let descriptor = schema
            .message_for(&self.api_version, &self.kind)
            .and_then(|name| schema.pool.get_message_by_name(name))
            .ok_or_else(|| ProtobufError::UnknownKind {
                api_version: self.api_version.clone(),
                kind: self.kind.clone(),
            })?;
        let message = DynamicMessage::decode(descriptor, self.raw.as_slice())
            .map_err(|e| ProtobufError::Malformed(e.to_string()))?;
        let mut value = json::message_json(schema, &message, depth)?;
        if let Value::Object(map) = &mut value {
            map.insert("apiVersion".into(), Value::String(self.api_version.clone()));
            map.insert("kind".into(), Value::String(self.kind.clone()));
        }
        Ok(value)
    }
}

/// Decodes a whole protobuf body into the object's JSON, with `apiVersion`/`kind` from the
/// envelope.
///
/// ```
/// let body = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09Namespace\x12\x08\x0a\x06\x0a\x04demo";
/// let object = capstan::api::protobuf::decode(body).unwrap();
/// assert_eq!(object, serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}));
/// ```
pub fn decode(bytes: &[u8]) -> Result<Value, ProtobufError> {
    Envelope::parse(bytes, None)?.decode()
}

/// Whether a kind of this `apiVersion` has a protobuf message, i.e. whether kube would accept a
/// protobuf body for it (custom-resource-like groups such as `capstan.dev` have none).
pub fn has_kind(api_version: &str, kind: &str) -> bool {
    schema::schema().is_ok_and(|s| s.message_for(api_version, kind).is_some())
}

/// A protobuf object embedded in a `RawExtension`, decoded with its own envelope.
fn decode_embedded(bytes: &[u8], depth: u8) -> Result<Value, ProtobufError> {
    if depth > MAX_EMBEDDING {
        return Err(ProtobufError::Malformed(format!(
            "objects embedded more than {MAX_EMBEDDING} deep"
        )));
    }
    Envelope::parse(bytes, None)?.decode_at(depth)
}

/// The version part of an `apiVersion` (`v1` of `policy/v1`); empty when there is none or the
/// value is not a group version at all, as apimachinery's parser treats it.
fn version_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        None => api_version,
        Some((_, version)) if !version.contains('/') => version,
        Some(_) => "",
    }
}

fn string(message: &DynamicMessage, number: u32) -> String {
    match message.get_field_by_number(number).as_deref() {
        Some(Pb::String(s)) => s.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
