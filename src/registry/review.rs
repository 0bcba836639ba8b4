//! What the self reviews of `authentication.k8s.io` and `authorization.k8s.io` share: they are
//! virtual resources that answer a create with a computed object and store nothing (kube's
//! `selfsubjectreview`, `selfsubjectaccessreview` and `selfsubjectrulesreview` REST types).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{ApiError, ResourceDescriptor};
use crate::auth::{AdmissionRequest, Operation};
use crate::registry::RequestContext;

/// The descriptor of a cluster-scoped review resource: no short names or categories, as kube's.
pub fn descriptor(group: &str, kind: &str, plural: &str, singular: &str) -> ResourceDescriptor {
    ResourceDescriptor {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: singular.into(),
        namespaced: false,
        short_names: Vec::new(),
        categories: Vec::new(),
    }
}

/// Reads `field` of a review body as `T`; a missing or null field is `T`'s zero value, as Go's
/// decoder leaves a struct it does not find. A body of the wrong shape is 400, as kube's decoder
/// refuses it before the registry runs.
pub fn decode_field<T: DeserializeOwned + Default>(
    object: &Value,
    field: &str,
    kind: &str,
) -> Result<T, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
            ApiError::BadRequest(format!(
                "{kind} in version \"v1\" cannot be handled as a {kind}: {e}"
            ))
        }),
    }
}

/// Runs validating admission on a review, as kube's review REST types call `createValidation`.
pub async fn admit(
    ctx: &RequestContext,
    descriptor: &ResourceDescriptor,
    object: &Value,
) -> Result<(), ApiError> {
    ctx.admission
        .admit(&AdmissionRequest {
            operation: Operation::Create,
            group: &descriptor.group,
            version: &descriptor.version,
            resource: &descriptor.plural,
            subresource: "",
            namespace: None,
            name: "",
            user: &ctx.user,
            object: Some(object),
        })
        .await
}

/// Now, to the second, as kube's `metav1.Now()` serialises it.
pub fn now() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}
