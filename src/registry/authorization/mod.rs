//! The `authorization.k8s.io` group: `selfsubjectaccessreviews` (may I do this?, `kubectl auth
//! can-i`) and `selfsubjectrulesreviews` (what may I do?, `kubectl auth can-i --list`). Both ask
//! the server's own authorizer, the one the filter chain uses, about the requesting user and store
//! nothing (kube's pkg/registry/authorization).

mod access;
mod rules;
mod selectors;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::auth::Authorizer;
use crate::registry::Rest;

pub use access::SelfSubjectAccessReviewRest;
pub use rules::SelfSubjectRulesReviewRest;

/// The group's name.
pub const GROUP: &str = "authorization.k8s.io";

/// The group's only served version's storage map, both reviews asking `authorizer`.
pub fn storage(authorizer: Arc<dyn Authorizer>) -> BTreeMap<String, Arc<dyn Rest>> {
    let mut resources: BTreeMap<String, Arc<dyn Rest>> = BTreeMap::new();
    resources.insert(
        "selfsubjectaccessreviews".into(),
        Arc::new(SelfSubjectAccessReviewRest::new(authorizer.clone())),
    );
    resources.insert(
        "selfsubjectrulesreviews".into(),
        Arc::new(SelfSubjectRulesReviewRest::new(authorizer)),
    );
    resources
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests_support;
