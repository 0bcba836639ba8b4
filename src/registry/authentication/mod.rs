//! The `authentication.k8s.io` group: `selfsubjectreviews`, which tells callers who the server
//! thinks they are (`kubectl auth whoami`). Nothing is stored (kube's
//! pkg/registry/authentication/selfsubjectreview).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::api::options::WriteOptions;
use crate::api::{ApiError, ResourceDescriptor};
use crate::registry::{RequestContext, Rest, Verb, review};

/// The group's name.
pub const GROUP: &str = "authentication.k8s.io";

/// The group's only served version with its storage map, for the installer.
pub fn storage() -> BTreeMap<String, Arc<dyn Rest>> {
    let mut resources: BTreeMap<String, Arc<dyn Rest>> = BTreeMap::new();
    resources.insert(
        "selfsubjectreviews".into(),
        Arc::new(SelfSubjectReviewRest::new()),
    );
    resources
}

/// `selfsubjectreviews`: create answers with the authenticated user of the request.
pub struct SelfSubjectReviewRest {
    descriptor: ResourceDescriptor,
}

impl SelfSubjectReviewRest {
    /// The endpoint; it needs nothing but the request's user.
    pub fn new() -> Self {
        Self {
            descriptor: review::descriptor(
                GROUP,
                "SelfSubjectReview",
                "selfsubjectreviews",
                "selfsubjectreview",
            ),
        }
    }
}

impl Default for SelfSubjectReviewRest {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Rest for SelfSubjectReviewRest {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn verbs(&self) -> BTreeSet<Verb> {
        BTreeSet::from([Verb::Create])
    }

    fn is_stored(&self) -> bool {
        false
    }

    /// A new review (the body is only admitted, not echoed): creation time now, and the user's
    /// name, uid, groups and extra, empty ones left out as kube's `omitempty` does.
    async fn create(
        &self,
        ctx: &RequestContext,
        _parent: Option<&str>,
        object: Value,
        _opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        review::admit(ctx, &self.descriptor, &object).await?;
        let user = &ctx.user;
        let mut info = Map::new();
        if !user.name.is_empty() {
            info.insert("username".into(), json!(user.name));
        }
        if !user.uid.is_empty() {
            info.insert("uid".into(), json!(user.uid));
        }
        if !user.groups.is_empty() {
            info.insert("groups".into(), json!(user.groups));
        }
        if !user.extra.is_empty() {
            info.insert("extra".into(), json!(user.extra));
        }
        Ok(json!({
            "apiVersion": self.descriptor.api_version(),
            "kind": self.descriptor.kind,
            "metadata": {"creationTimestamp": review::now()},
            "status": {"userInfo": info},
        }))
    }
}

#[cfg(test)]
mod tests;
