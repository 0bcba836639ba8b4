//! Contexts and authorizers the review tests share.

use std::sync::Arc;

use async_trait::async_trait;

use crate::api::ApiError;
use crate::auth::{AdmissionRequest, Admit, Attributes, Authorizer, Decision, UserInfo};
use crate::registry::RequestContext;

struct AllowAll;

#[async_trait]
impl Admit for AllowAll {
    async fn admit(&self, _req: &AdmissionRequest<'_>) -> Result<(), ApiError> {
        Ok(())
    }
}

/// A cluster-scoped request context for `user` with admission that lets everything through.
pub(crate) fn ctx_for(user: UserInfo) -> RequestContext {
    RequestContext {
        namespace: None,
        user,
        admission: Arc::new(AllowAll),
        warnings: Default::default(),
    }
}

/// Denies deleting secrets, with a reason, and has no opinion on anything else; records what
/// it was asked.
#[derive(Default)]
pub(crate) struct DenySecretDeletes {
    pub(crate) asked: std::sync::Mutex<Vec<Attributes>>,
}

#[async_trait]
impl Authorizer for DenySecretDeletes {
    async fn authorize(&self, attrs: &Attributes) -> Decision {
        self.asked.lock().unwrap().push(attrs.clone());
        if attrs.resource == "secrets" && attrs.verb == "delete" {
            Decision::Deny("secrets are forever".into())
        } else {
            Decision::NoOpinion
        }
    }
}
