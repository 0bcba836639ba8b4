//! One handler per verb, each a short async function over a resolved [`Scope`]: negotiate the
//! response, parse options, read and check the body, call the [`Rest`], write the result. Errors
//! travel with `?` and become Status responses in `endpoints::status`.
//!
//! The checks kube's handlers make on bodies before the registry sees them live here too
//! ([`check_type`], [`ensure_namespace`], [`check_name`]), so every `Rest` gets an object of its own
//! kind, in its own namespace, under the name in the URL.

pub mod connect;
pub mod create;
pub mod delete;
pub mod fields;
pub mod get;
pub mod list;
pub mod managed;
pub mod patch;
pub mod update;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, header};
use serde_json::Value;

use crate::api::protobuf::{self, ProtobufError};
use crate::api::schema::{SchemaModel, TypeRef};
use crate::api::{ApiError, ResourceDescriptor};
use crate::endpoints::negotiation::{BodyFormat, Restrictions, negotiate_output};
use crate::endpoints::query::QueryParams;
use crate::endpoints::request_info::RequestInfo;
use crate::endpoints::response::Writer;
use crate::registry::{RequestContext, Rest};

/// Settings every handler shares, fixed when the router is built.
#[derive(Clone, Debug)]
pub struct HandlerConfig {
    /// kube's MinRequestTimeout: a watch without `timeoutSeconds` ends after a random duration in
    /// `[min, 2*min)` so that clients re-balance across servers.
    pub min_request_timeout: Duration,
    /// The served kinds' schemas: strategic merge patch, server-side apply, managedFields and
    /// field validation look kinds up here. A kind without a schema is handled like kube handles
    /// an unstructured one: no unknown-field checks, no managedFields, no strategic merge patch.
    pub schema: Arc<SchemaModel>,
}

impl Default for HandlerConfig {
    fn default() -> Self {
        Self {
            min_request_timeout: Duration::from_secs(1800),
            schema: Arc::default(),
        }
    }
}

/// A request resolved to one resource: everything a verb handler needs.
pub struct Scope {
    /// The resource or subresource the path names.
    pub rest: Arc<dyn Rest>,
    /// Namespace, user and admission for the registry, and the request's warnings (sent as
    /// `Warning` headers whatever the outcome).
    pub ctx: RequestContext,
    /// The parsed path and verb.
    pub info: RequestInfo,
    /// The object name in the URL path; `None` on collection paths (a list's `info.name` may come
    /// from its field selector and is not a path name).
    pub name: Option<String>,
    /// The decoded query string.
    pub query: QueryParams,
    /// Request headers (Accept, Content-Type, User-Agent).
    pub headers: HeaderMap,
    /// Router-wide settings.
    pub config: Arc<HandlerConfig>,
}

impl Scope {
    /// The resource (or subresource) being served.
    pub fn descriptor(&self) -> &ResourceDescriptor {
        self.rest.descriptor()
    }

    /// The name in the path, which the router guarantees for item verbs.
    pub fn require_name(&self) -> Result<&str, ApiError> {
        self.name.as_deref().ok_or(ApiError::NotFoundPath)
    }

    /// Negotiates the response under `restrictions` and reads the conversion's options.
    pub fn writer(&self, restrictions: Restrictions) -> Result<Writer, ApiError> {
        let accept = self
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        Writer::new(
            negotiate_output(accept, restrictions)?,
            &self.query,
            &self.headers,
        )
    }

    /// The namespace objects of this request must be in: the URL's for namespaced resources,
    /// none for cluster-scoped ones.
    pub fn expected_namespace(&self) -> Option<&str> {
        if self.descriptor().namespaced {
            self.ctx.namespace.as_deref()
        } else {
            None
        }
    }

    /// The schema of the kind this endpoint takes, if the model has it.
    pub fn schema_type(&self) -> Option<TypeRef<'_>> {
        let d = self.descriptor();
        self.config.schema.for_kind(&d.group, &d.version, &d.kind)
    }

    /// The request's `User-Agent`, which names the field manager of writes without
    /// `fieldManager`.
    pub fn user_agent(&self) -> &str {
        self.headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The request's `Content-Type`, if readable.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }
}

/// Reads the whole body. Its size is capped by the body-limit filter; hitting that cap is 413.
pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, usize::MAX).await.map_err(|err| {
        let inner = err.into_inner();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
        while let Some(e) = source {
            if e.is::<http_body_util::LengthLimitError>() {
                return ApiError::RequestEntityTooLarge(
                    "Request entity too large: the request body exceeds the server's limit".into(),
                );
            }
            source = e.source();
        }
        ApiError::BadRequest(format!("unable to read the request body: {inner}"))
    })
}

/// Whether the endpoint's kind can be sent as protobuf (kube's built-in kinds can; kinds of
/// custom-resource-like groups cannot).
pub fn accepts_protobuf(descriptor: &ResourceDescriptor) -> bool {
    protobuf::has_kind(&descriptor.api_version(), &descriptor.kind)
}

/// Decodes a JSON, YAML or protobuf body for the endpoint `rest` serves; anything but an object
/// is 400.
pub fn decode_object(bytes: &[u8], format: BodyFormat, rest: &dyn Rest) -> Result<Value, ApiError> {
    let descriptor = rest.descriptor();
    let kind = &descriptor.kind;
    let value: Value = match format {
        BodyFormat::Json => {
            // Go's encoding/json reads invalid UTF-8 as U+FFFD instead of refusing the body, so
            // such bytes reach validation (422 naming the field) as in kube.
            let text = String::from_utf8_lossy(bytes);
            let value: Value = serde_json::from_str(&text).map_err(|e| {
                ApiError::BadRequest(format!("couldn't get version/kind; json parse error: {e}"))
            })?;
            check_type_meta_types(&value, bytes, kind)?;
            // `null` decodes into an empty object in Go; validation then names what is missing.
            if value.is_null() {
                Value::Object(Default::default())
            } else {
                value
            }
        }
        BodyFormat::Yaml => serde_saphyr::from_slice(bytes)
            .map_err(|e| ApiError::BadRequest(format!("error converting YAML to JSON: {e}")))?,
        BodyFormat::Protobuf => decode_protobuf(bytes, rest)?,
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err(ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {kind}): the body is not a JSON object"
        )))
    }
}

/// A protobuf body, its type defaulted to the endpoint's as kube's decoder does. Failures are
/// 400 worded as kube's `transformDecodeError`: naming the body's kind once the envelope was
/// read, else summarising the bytes.
fn decode_protobuf(bytes: &[u8], rest: &dyn Rest) -> Result<Value, ApiError> {
    let descriptor = rest.descriptor();
    let api_version = descriptor.api_version();
    let failed = |typed: Option<&protobuf::Envelope>, err: ProtobufError| match (typed, err) {
        (_, err @ ProtobufError::Internal(_)) => ApiError::internal(err),
        (Some(envelope), err) if !envelope.kind.is_empty() => {
            let version = envelope.api_version.rsplit('/').next().unwrap_or("");
            ApiError::BadRequest(format!(
                "{} in version {version:?} cannot be handled as a {}: {err}",
                envelope.kind, descriptor.kind
            ))
        }
        (_, err) => ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {}): {err} ({})",
            descriptor.kind,
            summarize(bytes)
        )),
    };
    let mut envelope = protobuf::Envelope::parse(bytes, Some((&api_version, &descriptor.kind)))
        .map_err(|e| failed(None, e))?;
    // Another version the endpoint accepts has the same message (see `Rest::accepts_api_version`);
    // the descriptor set need not hold it.
    if envelope.api_version != api_version
        && envelope.kind == descriptor.kind
        && rest.accepts_api_version(&envelope.api_version)
    {
        envelope.api_version = api_version;
    }
    envelope.decode().map_err(|e| failed(Some(&envelope), e))
}

/// kube reads `apiVersion` and `kind` into Go strings before anything else, so a body where
/// either is neither a string nor null is 400, worded as that decoder's error.
fn check_type_meta_types(value: &Value, bytes: &[u8], kind: &str) -> Result<(), ApiError> {
    for field in ["apiVersion", "kind"] {
        let go_type = match value.get(field) {
            None | Some(Value::Null | Value::String(_)) => continue,
            Some(Value::Bool(_)) => "bool",
            Some(Value::Number(_)) => "number",
            Some(Value::Array(_)) => "array",
            Some(Value::Object(_)) => "object",
        };
        return Err(ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; json parse error: json: cannot unmarshal {go_type} into Go struct field .{field} of type string ({})",
            summarize_text(bytes)
        )));
    }
    Ok(())
}

/// kube's `summarizeData` for a text body: at most 30 bytes, then ` ...`.
fn summarize_text(bytes: &[u8]) -> String {
    const MAX: usize = 30;
    if bytes.len() > MAX {
        format!("{} ...", String::from_utf8_lossy(&bytes[..MAX]))
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// kube's `summarizeData` for a body that is not JSON: at most 30 bytes, in hex.
fn summarize(bytes: &[u8]) -> String {
    const MAX: usize = 30;
    if bytes.is_empty() {
        return "<empty>".into();
    }
    let hex: String = bytes.iter().take(MAX).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > MAX {
        format!("{hex} ...")
    } else {
        hex
    }
}

/// Defaults a missing `apiVersion`/`kind` to the endpoint's (kube decodes with the URL's kind as
/// default) and refuses a body of another kind or version with 400, as kube's decoder does.
pub fn check_type(object: &mut Value, descriptor: &ResourceDescriptor) -> Result<(), ApiError> {
    check_type_accepting(object, descriptor, |v| v == descriptor.api_version())
}

/// [`check_type`] for a create or update body, which may also name another apiVersion the
/// `Rest` accepts ([`Rest::accepts_api_version`]); the body leaves in the endpoint's own.
pub fn check_body_type(object: &mut Value, rest: &dyn Rest) -> Result<(), ApiError> {
    check_type_accepting(object, rest.descriptor(), |v| rest.accepts_api_version(v))
}

fn check_type_accepting(
    object: &mut Value,
    descriptor: &ResourceDescriptor,
    accepts: impl Fn(&str) -> bool,
) -> Result<(), ApiError> {
    let expected_version = descriptor.api_version();
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::BadRequest("the body is not a JSON object".into()));
    };
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !kind.is_empty() && kind != descriptor.kind {
        let version = api_version.rsplit('/').next().unwrap_or("");
        return Err(ApiError::BadRequest(format!(
            "{kind} in version {version:?} cannot be handled as a {}: no kind {kind:?} is registered for version {:?}",
            descriptor.kind,
            if api_version.is_empty() {
                expected_version.as_str()
            } else {
                api_version.as_str()
            },
        )));
    }
    if !api_version.is_empty() && !accepts(&api_version) {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected_version})"
        )));
    }
    map.insert("apiVersion".into(), Value::String(expected_version));
    map.insert("kind".into(), Value::String(descriptor.kind.clone()));
    Ok(())
}

/// kube's `EnsureObjectNamespaceMatchesRequestNamespace`: a namespaced object takes the URL's
/// namespace (`expected`) when it names none and must not name another; a cluster-scoped object
/// (`expected` is `None`) names none.
pub fn ensure_namespace(object: &mut Value, expected: Option<&str>) -> Result<(), ApiError> {
    let Some(metadata) = metadata_mut(object) else {
        return Ok(());
    };
    let current = match metadata.get("namespace") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(ns)) => ns.clone(),
        // Not a string: left for the kind's typed decoder to refuse with 400, as kube's does;
        // overwriting it with the URL's namespace would accept a body kube refuses.
        Some(_) => return Ok(()),
    };
    match expected {
        None => {
            metadata.remove("namespace");
            Ok(())
        }
        Some(ns) if current.is_empty() => {
            metadata.insert("namespace".into(), Value::String(ns.to_string()));
            Ok(())
        }
        Some(ns) if current == ns => Ok(()),
        Some(_) => Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        )),
    }
}

/// kube's `checkName`: the object must carry the name in the URL.
pub fn check_name(object: &Value, name: &str) -> Result<(), ApiError> {
    let object_name = object["metadata"]["name"].as_str().unwrap_or("");
    if object_name == name {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "the name of the object ({object_name}) does not match the name on the URL ({name})"
        )))
    }
}

/// kube's `WipeObjectMetaSystemFields` on create: fields only the server sets.
pub fn wipe_system_fields(object: &mut Value) {
    if let Some(metadata) = metadata_mut(object) {
        for field in [
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "uid",
            "selfLink",
        ] {
            metadata.remove(field);
        }
    }
}

/// The object's `metadata` map, created empty when missing.
fn metadata_mut(object: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    let map = object.as_object_mut()?;
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    if metadata.is_null() {
        *metadata = Value::Object(Default::default());
    }
    // A non-object `metadata` is left for the registry's decoder to reject.
    metadata.as_object_mut()
}

#[cfg(test)]
mod tests;
