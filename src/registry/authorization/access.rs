//! `selfsubjectaccessreviews` (kube's pkg/registry/authorization/selfsubjectaccessreview, with
//! the validation of pkg/apis/authorization/validation and the attributes of
//! pkg/registry/authorization/util).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SelfSubjectAccessReviewSpec,
};
use serde_json::{Map, Value, json};

use super::{GROUP, selectors};
use crate::api::field::{FieldError, FieldErrorType, FieldErrors, Path};
use crate::api::options::WriteOptions;
use crate::api::{ApiError, GroupKind, ResourceDescriptor};
use crate::auth::{Attributes, Authorizer, Decision, UserInfo};
use crate::registry::{RequestContext, Rest, Verb, review};

/// What kube says when a review names neither or both kinds of attributes.
const EXACTLY_ONE: &str =
    "exactly one of nonResourceAttributes or resourceAttributes must be specified";

/// Answers a create with whether the server's authorizer lets the requesting user do what the
/// spec describes.
pub struct SelfSubjectAccessReviewRest {
    descriptor: ResourceDescriptor,
    authorizer: Arc<dyn Authorizer>,
}

impl SelfSubjectAccessReviewRest {
    /// The endpoint over the server's authorizer.
    pub fn new(authorizer: Arc<dyn Authorizer>) -> Self {
        Self {
            descriptor: review::descriptor(
                GROUP,
                "SelfSubjectAccessReview",
                "selfsubjectaccessreviews",
                "selfsubjectaccessreview",
            ),
            authorizer,
        }
    }
}

#[async_trait]
impl Rest for SelfSubjectAccessReviewRest {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        BTreeSet::from([Verb::Create])
    }

    fn is_stored(&self) -> bool {
        false
    }

    /// The request's review with `status` replaced by the authorizer's answer; the rest of the
    /// object (its managedFields included) is answered as sent, as kube does.
    async fn create(
        &self,
        ctx: &RequestContext,
        _parent: Option<&str>,
        mut object: Value,
        _opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let spec: SelfSubjectAccessReviewSpec =
            review::decode_field(&object, "spec", &self.descriptor.kind)?;
        let errs = validate(&spec, object.get("metadata"));
        if !errs.is_empty() {
            // kube names the kind of the decoded internal object, whose kind is empty.
            return Err(ApiError::invalid(GroupKind::new(GROUP, ""), "", errs));
        }
        review::admit(ctx, &self.descriptor, &object).await?;
        let (attrs, evaluation_errors) =
            match (&spec.resource_attributes, &spec.non_resource_attributes) {
                (Some(resource), _) => (
                    resource_attributes(&ctx.user, resource),
                    selectors::evaluation_errors(resource),
                ),
                (None, Some(non_resource)) => {
                    (non_resource_attributes(&ctx.user, non_resource), Vec::new())
                }
                // validation refused this
                (None, None) => return Err(ApiError::internal("a review without attributes")),
            };
        let mut status = Map::new();
        let decision = self.authorizer.authorize(&attrs).await;
        status.insert("allowed".into(), json!(decision == Decision::Allow));
        if let Decision::Deny(reason) = &decision {
            status.insert("denied".into(), json!(true));
            if !reason.is_empty() {
                status.insert("reason".into(), json!(reason));
            }
        }
        if !evaluation_errors.is_empty() {
            status.insert(
                "evaluationError".into(),
                json!(evaluation_errors.join("; ")),
            );
        }
        match object.as_object_mut() {
            Some(map) => map.insert("status".into(), Value::Object(status)),
            None => return Err(ApiError::internal("a review body that is not an object")),
        };
        Ok(object)
    }
}

/// kube's `ValidateSelfSubjectAccessReview` as kube-apiserver 1.37 answers it: exactly one kind
/// of attributes (reported at `spec`), readable selectors, and metadata empty but for
/// managedFields.
pub fn validate(spec: &SelfSubjectAccessReviewSpec, metadata: Option<&Value>) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let spec_path = Path::new("spec");
    match (&spec.resource_attributes, &spec.non_resource_attributes) {
        (Some(_), Some(non_resource)) => {
            // kube shows the internal NonResourceAttributes, whose fields have no JSON names.
            let value = json!({
                "Path": non_resource.path.as_deref().unwrap_or(""),
                "Verb": non_resource.verb.as_deref().unwrap_or(""),
            });
            errs.push(FieldError::invalid(
                spec_path.to_string(),
                value,
                EXACTLY_ONE,
            ));
        }
        (None, None) => {
            // The offending value is a nil pointer, which kube prints as a bare `null`;
            // `FieldError` quotes a JSON null (Go's untyped nil), so the text carries it.
            errs.push(FieldError::new(
                FieldErrorType::Invalid,
                spec_path.to_string(),
                None,
                format!("null: {EXACTLY_ONE}"),
            ));
        }
        _ => {}
    }
    if let Some(resource) = &spec.resource_attributes {
        errs.extend(selectors::validate(
            resource,
            &spec_path.child("resourceAttributes"),
        ));
    }
    if let Some(metadata) = metadata.filter(|m| !metadata_is_empty(m)) {
        errs.push(FieldError::invalid(
            "metadata",
            metadata.clone(),
            "must be empty",
        ));
    }
    errs
}

/// Whether metadata holds nothing but managedFields, zero values counting as absent (kube
/// compares with semantic equality, under which empty and missing maps are equal).
fn metadata_is_empty(metadata: &Value) -> bool {
    let Some(map) = metadata.as_object() else {
        return metadata.is_null();
    };
    map.iter()
        .filter(|(key, _)| *key != "managedFields")
        .all(|(_, value)| is_zero(value))
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// kube's `ResourceAttributesFrom`: an empty version means every version.
fn resource_attributes(user: &UserInfo, attrs: &ResourceAttributes) -> Attributes {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let version = text(&attrs.version);
    Attributes {
        user: user.clone(),
        verb: text(&attrs.verb),
        resource_request: true,
        path: String::new(),
        api_group: text(&attrs.group),
        api_version: if version.is_empty() {
            "*".into()
        } else {
            version
        },
        namespace: text(&attrs.namespace),
        resource: text(&attrs.resource),
        subresource: text(&attrs.subresource),
        name: text(&attrs.name),
    }
}

/// kube's `NonResourceAttributesFrom`.
fn non_resource_attributes(user: &UserInfo, attrs: &NonResourceAttributes) -> Attributes {
    Attributes {
        user: user.clone(),
        verb: attrs.verb.clone().unwrap_or_default(),
        resource_request: false,
        path: attrs.path.clone().unwrap_or_default(),
        ..Default::default()
    }
}
