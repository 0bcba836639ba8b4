//! Authorizers: `system:masters`, always-allowed health paths, and AlwaysAllow for the rest
//! (standalone); the aggregated mode will put delegation to the host last in the same union.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Attributes, Authorizer, Decision, SYSTEM_MASTERS};

/// Allows everything; the standalone server's last word (kube's `AlwaysAllow` mode).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysAllowAuthorizer;

#[async_trait]
impl Authorizer for AlwaysAllowAuthorizer {
    async fn authorize(&self, _attrs: &Attributes) -> Decision {
        Decision::Allow
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
