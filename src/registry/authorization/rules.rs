//! `selfsubjectrulesreviews` (kube's pkg/registry/authorization/selfsubjectrulesreview).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::SelfSubjectRulesReviewSpec;
use serde_json::{Value, json};

use super::GROUP;
use crate::api::options::WriteOptions;
use crate::api::{ApiError, ResourceDescriptor};
use crate::auth::Authorizer;
use crate::registry::{RequestContext, Rest, Verb, review};

/// Answers a create with the rules the authorizer lists for the requesting user in
/// `spec.namespace`.
pub struct SelfSubjectRulesReviewRest {
    descriptor: ResourceDescriptor,
    authorizer: Arc<dyn Authorizer>,
}

impl SelfSubjectRulesReviewRest {
    /// The endpoint over the server's authorizer.
    pub fn new(authorizer: Arc<dyn Authorizer>) -> Self {
        Self {
            descriptor: review::descriptor(
                GROUP,
                "SelfSubjectRulesReview",
                "selfsubjectrulesreviews",
                "selfsubjectrulesreview",
            ),
            authorizer,
        }
    }
}

#[async_trait]
impl Rest for SelfSubjectRulesReviewRest {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        BTreeSet::from([Verb::Create])
    }

    fn is_stored(&self) -> bool {
        false
    }

    /// A new review with empty metadata and spec (kube answers with a fresh object, not the
    /// request's) and the rules in `status`; a missing namespace is 400 as in kube. kube's REST
    /// type runs no admission for this kind.
    async fn create(
        &self,
        ctx: &RequestContext,
        _parent: Option<&str>,
        object: Value,
        _opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let spec: SelfSubjectRulesReviewSpec =
            review::decode_field(&object, "spec", &self.descriptor.kind)?;
        let namespace = spec.namespace.unwrap_or_default();
        if namespace.is_empty() {
            return Err(ApiError::BadRequest("no namespace on request".into()));
        }
        let status = self.authorizer.rules_for(&ctx.user, &namespace).await;
        Ok(json!({
            "apiVersion": self.descriptor.api_version(),
            "kind": self.descriptor.kind,
            "metadata": {},
            "spec": {},
            "status": serde_json::to_value(status).map_err(ApiError::internal)?,
        }))
    }
}
