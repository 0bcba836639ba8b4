//! Who is calling ([`Authenticator`]), may they ([`Authorizer`]), and should this write go through
//! ([`Admit`]).
//!
//! Standalone Capstan authenticates x509 client certificates against its client CA and allows
//! every authenticated request; the aggregated mode (a later item) adds request-header and
//! delegated TokenReview/SubjectAccessReview implementations of the same traits.

pub mod admission;
pub mod authenticator;
pub mod authorizer;

use std::collections::BTreeMap;

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::SubjectRulesReviewStatus;

use crate::api::ApiError;

/// The group every member of which is allowed everything, without asking anyone.
pub const SYSTEM_MASTERS: &str = "system:masters";
/// Added to every authenticated user.
pub const SYSTEM_AUTHENTICATED: &str = "system:authenticated";
/// The anonymous user's name.
pub const ANONYMOUS_USER: &str = "system:anonymous";
/// The anonymous user's group.
pub const SYSTEM_UNAUTHENTICATED: &str = "system:unauthenticated";

/// An authenticated (or anonymous) caller; stored in request extensions by the authentication
/// filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// The identity of unauthenticated callers.
    pub fn anonymous() -> Self {
        Self {
            name: ANONYMOUS_USER.into(),
            groups: vec![SYSTEM_UNAUTHENTICATED.into()],
            ..Default::default()
        }
    }

    /// Whether the caller is in `system:masters`.
    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == SYSTEM_MASTERS)
    }

    /// Whether the caller is the anonymous user.
    pub fn is_anonymous(&self) -> bool {
        self.name == ANONYMOUS_USER
    }
}

/// The DER certificates the TLS client presented (leaf first), already verified by rustls against
/// the client CA. The serving loop puts this into every request's extensions.
#[derive(Clone, Debug, Default)]
pub struct PeerCertificates(pub Vec<Vec<u8>>);

/// What an authenticator may look at: the head of the request and the TLS peer.
pub struct AuthRequest<'a> {
    pub headers: &'a http::HeaderMap,
    pub peer_certificates: Option<&'a PeerCertificates>,
}

/// Turns credentials into a user. `Ok(None)` means "no credentials I understand" (the chain tries
/// the next one, then anonymous); `Err` means credentials were presented and are bad (401).
#[async_trait]
pub trait Authenticator: Send + Sync {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Option<UserInfo>, ApiError>;
}

/// The attributes of a request the authorizer decides on (kube's `authorizer.Attributes`).
#[derive(Clone, Debug, Default)]
pub struct Attributes {
    pub user: UserInfo,
    pub verb: String,
    pub resource_request: bool,
    pub path: String,
    pub api_group: String,
    pub api_version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

/// An authorizer's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(String),
    NoOpinion,
}

/// Decides whether a user may do something.
#[async_trait]
pub trait Authorizer: Send + Sync {
    async fn authorize(&self, attrs: &Attributes) -> Decision;

    /// What `user` may do in `namespace`, as far as this authorizer can list it (kube's
    /// `RuleResolver.RulesFor`), for `selfsubjectrulesreviews` and `kubectl auth can-i --list`.
    /// The default lists nothing and says the list is incomplete: an authorizer that cannot
    /// enumerate its rules must not let the review look complete.
    async fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> SubjectRulesReviewStatus {
        SubjectRulesReviewStatus {
            incomplete: true,
            ..Default::default()
        }
    }
}

/// The operation an admission plugin sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

/// What admission plugins see of a write.
pub struct AdmissionRequest<'a> {
    pub operation: Operation,
    pub group: &'a str,
    pub version: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub user: &'a UserInfo,
    /// The object to be written (create/update), as JSON.
    pub object: Option<&'a serde_json::Value>,
}

/// A validating admission plugin: accept the write, or refuse it with an `ApiError`.
#[async_trait]
pub trait Admit: Send + Sync {
    async fn admit(&self, req: &AdmissionRequest<'_>) -> Result<(), ApiError>;
}
