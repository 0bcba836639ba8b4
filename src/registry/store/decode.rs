//! Request bodies into typed objects, and the namespace and name checks kube's handlers and
//! `BeforeCreate`/`BeforeUpdate` make. Every failure here is a 400 BadRequest.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::Store;
use crate::api::{ApiError, protobuf};
use crate::registry::{RequestContext, Strategy};

impl<S: Strategy> Store<S> {
    /// Decodes a body sent to this endpoint, in the shape kube's decoding into the Go type gives
    /// it. A missing `apiVersion` or `kind` is filled in; one that names another version or kind,
    /// a body that is not an object, or JSON that does not fit the type is a 400.
    pub(super) fn decode_body(&self, mut body: Value) -> Result<S::Object, ApiError> {
        let expected_version = self.descriptor.api_version();
        let expected_kind = self.descriptor.kind.clone();
        let Some(map) = body.as_object_mut() else {
            return Err(ApiError::BadRequest(format!(
                "the object provided is unrecognized (must be of type {expected_kind}): body is not a JSON object"
            )));
        };
        let version = string_field(map.get("apiVersion"));
        let kind = string_field(map.get("kind"));
        let version = version.unwrap_or_else(|| expected_version.clone());
        let kind = kind.unwrap_or_else(|| expected_kind.clone());
        if kind != expected_kind {
            return Err(ApiError::BadRequest(format!(
                "{kind} in version {:?} cannot be handled as a {expected_kind}: no kind {kind:?} is served at this endpoint",
                version_part(&version)
            )));
        }
        if version != expected_version {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({version}) does not match the expected API version ({expected_version})"
            )));
        }
        map.insert("apiVersion".into(), Value::String(version));
        map.insert("kind".into(), Value::String(kind));
        // What kube's decode into the Go type keeps (and adds): see `go_json_shape`.
        protobuf::go_json_shape(&mut body, &expected_version, &expected_kind);
        serde_json::from_value(body).map_err(|e| {
            ApiError::BadRequest(format!(
                "{expected_kind} in version {:?} cannot be handled as a {expected_kind}: {e}",
                self.descriptor.version
            ))
        })
    }

    /// kube's `EnsureObjectNamespaceMatchesRequestNamespace`: an empty namespace takes the
    /// request's, a different one is a 400; cluster-scoped objects lose any namespace.
    pub(super) fn ensure_namespace(
        &self,
        ctx: &RequestContext,
        meta: &mut ObjectMeta,
    ) -> Result<(), ApiError> {
        let requested = self.request_namespace(ctx)?;
        let current = meta.namespace.as_deref().unwrap_or("");
        match requested {
            None => meta.namespace = None,
            Some(ns) if current.is_empty() => meta.namespace = Some(ns.to_string()),
            Some(ns) if current == ns => {}
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
        }
        Ok(())
    }

    /// kube's update handler `checkName`: the body must name the object in the URL.
    pub(super) fn check_name(&self, meta: &ObjectMeta, name: &str) -> Result<(), ApiError> {
        let body_name = meta.name.as_deref().unwrap_or("");
        if body_name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        Ok(())
    }
}

/// A non-empty string field, if present.
fn string_field(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `v1` of `capstan.dev/v1`.
fn version_part(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or(api_version, |(_, v)| v)
}
