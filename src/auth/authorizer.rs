//! Authorizers: `system:masters`, always-allowed health paths, and AlwaysAllow for the rest
//! (standalone); the aggregated mode will put delegation to the host last in the same union.

use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::{
    NonResourceRule, ResourceRule, SubjectRulesReviewStatus,
};

use super::{Attributes, Authorizer, Decision, SYSTEM_MASTERS, UserInfo};

/// A rule list that is complete and empty: what an authorizer that kube does not consult for
/// rules (its privileged-group and always-allow-paths authorizers are no rule resolvers)
/// contributes to a rules review.
fn no_rules() -> SubjectRulesReviewStatus {
    SubjectRulesReviewStatus::default()
}

/// Allows everything; the standalone server's last word (kube's `AlwaysAllow` mode).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysAllowAuthorizer;

#[async_trait]
impl Authorizer for AlwaysAllowAuthorizer {
    async fn authorize(&self, _attrs: &Attributes) -> Decision {
        Decision::Allow
    }

    /// Everything: `*` verbs on `*` resources of `*` groups and on every non-resource URL, as
    /// kube's AlwaysAllow rule resolver answers.
    async fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> SubjectRulesReviewStatus {
        let all = || vec!["*".to_string()];
        SubjectRulesReviewStatus {
            resource_rules: vec![ResourceRule {
                verbs: all(),
                api_groups: Some(all()),
                resources: Some(all()),
                resource_names: None,
            }],
            non_resource_rules: vec![NonResourceRule {
                verbs: all(),
                non_resource_urls: Some(all()),
            }],
            incomplete: false,
            evaluation_error: None,
        }
    }
}

/// Allows members of one group outright (kube's privileged-group authorizer for
/// `system:masters`), so the admin never depends on a remote authorizer.
#[derive(Clone, Debug)]
pub struct PrivilegedGroupAuthorizer(pub String);

#[async_trait]
impl Authorizer for PrivilegedGroupAuthorizer {
    async fn authorize(&self, attrs: &Attributes) -> Decision {
        if attrs.user.groups.contains(&self.0) {
            Decision::Allow
        } else {
            Decision::NoOpinion
        }
    }

    async fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> SubjectRulesReviewStatus {
        no_rules()
    }
}

/// Allows non-resource requests to listed paths; a pattern ending in `*` matches any path with
/// that prefix (kube's `--authorization-always-allow-paths`).
#[derive(Clone, Debug)]
pub struct AlwaysAllowPathsAuthorizer(pub Vec<String>);

impl AlwaysAllowPathsAuthorizer {
    /// `/healthz`, `/livez`, `/readyz` and everything under them: probes must work under any
    /// authorization mode (DECISIONS.md).
    pub fn health_paths() -> Self {
        let paths = ["/healthz", "/livez", "/readyz"];
        Self(
            paths
                .iter()
                .flat_map(|p| [p.to_string(), format!("{p}/*")])
                .collect(),
        )
    }
}

#[async_trait]
impl Authorizer for AlwaysAllowPathsAuthorizer {
    async fn authorize(&self, attrs: &Attributes) -> Decision {
        if attrs.resource_request {
            return Decision::NoOpinion;
        }
        let matches = |pattern: &String| match pattern.strip_suffix('*') {
            Some(prefix) => attrs.path.starts_with(prefix),
            None => attrs.path == *pattern,
        };
        if self.0.iter().any(matches) {
            Decision::Allow
        } else {
            Decision::NoOpinion
        }
    }

    async fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> SubjectRulesReviewStatus {
        no_rules()
    }
}

/// Asks each authorizer in turn; the first `Allow` or `Deny` wins, all `NoOpinion` is
/// `NoOpinion` (which the filter treats as a denial).
pub struct UnionAuthorizer(pub Vec<Arc<dyn Authorizer>>);

#[async_trait]
impl Authorizer for UnionAuthorizer {
    async fn authorize(&self, attrs: &Attributes) -> Decision {
        for authorizer in &self.0 {
            match authorizer.authorize(attrs).await {
                Decision::NoOpinion => continue,
                decided => return decided,
            }
        }
        Decision::NoOpinion
    }

    /// Every member's rules in order; incomplete if any member's are; the members' evaluation
    /// errors joined as kube's error aggregate prints them (one alone, several as `[a, b]`).
    async fn rules_for(&self, user: &UserInfo, namespace: &str) -> SubjectRulesReviewStatus {
        let mut all = SubjectRulesReviewStatus::default();
        let mut errors = Vec::new();
        for authorizer in &self.0 {
            let rules = authorizer.rules_for(user, namespace).await;
            all.resource_rules.extend(rules.resource_rules);
            all.non_resource_rules.extend(rules.non_resource_rules);
            all.incomplete |= rules.incomplete;
            errors.extend(rules.evaluation_error.filter(|e| !e.is_empty()));
        }
        all.evaluation_error = match errors.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            many => Some(format!("[{}]", many.join(", "))),
        };
        all
    }
}

/// The standalone chain: `system:masters`, health paths, then allow.
pub fn default_authorizer() -> Arc<dyn Authorizer> {
    Arc::new(UnionAuthorizer(vec![
        Arc::new(PrivilegedGroupAuthorizer(SYSTEM_MASTERS.to_string())),
        Arc::new(AlwaysAllowPathsAuthorizer::health_paths()),
        Arc::new(AlwaysAllowAuthorizer),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::UserInfo;

    struct DenyAll;

    #[async_trait]
    impl Authorizer for DenyAll {
        async fn authorize(&self, _attrs: &Attributes) -> Decision {
            Decision::Deny("no".into())
        }
    }

    fn attrs(path: &str, groups: &[&str]) -> Attributes {
        Attributes {
            user: UserInfo {
                name: "u".into(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
                ..Default::default()
            },
            verb: "get".into(),
            path: path.into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn union_short_circuits_in_order() {
        let union = UnionAuthorizer(vec![
            Arc::new(PrivilegedGroupAuthorizer(SYSTEM_MASTERS.into())),
            Arc::new(AlwaysAllowPathsAuthorizer::health_paths()),
            Arc::new(DenyAll),
        ]);
        assert_eq!(
            union.authorize(&attrs("/api", &["system:masters"])).await,
            Decision::Allow
        );
        assert_eq!(
            union.authorize(&attrs("/readyz/shutdown", &[])).await,
            Decision::Allow
        );
        assert_eq!(
            union.authorize(&attrs("/readyzx", &[])).await,
            Decision::Deny("no".into())
        );
        assert_eq!(
            union.authorize(&attrs("/api", &["dev"])).await,
            Decision::Deny("no".into())
        );
        assert_eq!(
            UnionAuthorizer(vec![]).authorize(&attrs("/", &[])).await,
            Decision::NoOpinion
        );
    }

    #[tokio::test]
    async fn paths_never_allow_resource_requests() {
        let mut a = attrs("/healthz", &[]);
        a.resource_request = true;
        assert_eq!(
            AlwaysAllowPathsAuthorizer::health_paths()
                .authorize(&a)
                .await,
            Decision::NoOpinion
        );
    }
}
