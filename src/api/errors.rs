//! The one error type of the API layers, and its conversion to a `Status`.
//!
//! Every failure a client can see is an [`ApiError`]. Storage errors become `ApiError`s in the
//! registry (which knows the resource and name); handlers use `?`; [`ApiError::to_status`] is the
//! only place that picks a reason, code, message and details, following DECISIONS.md and
//! k8s.io/apimachinery's `pkg/api/errors`. The HTTP response is built from it in
//! `endpoints::status`.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    ListMeta, Status, StatusCause, StatusDetails,
};

use super::field::FieldError;
use super::patch::ApplyConflicts;

/// A resource qualified by its group, printed `pods` (core) or `pods.capstan.dev`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// A kind qualified by its group, printed `Pod` (core) or `Pod.capstan.dev`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GroupKind {
    pub group: String,
    pub kind: String,
}

impl GroupKind {
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
        }
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// Everything that can go wrong for a client, one variant per Status reason.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed input, mismatched kind/name/namespace, bad query parameters.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no acceptable credentials.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403 on a resource: `<res> "<name>" is forbidden: <reason>` (kube's `NewForbidden`, which
    /// drops the name when empty and the resource too for non-resource paths).
    #[error("{}", forbidden_message(resource, name, reason))]
    Forbidden {
        resource: GroupResource,
        name: String,
        reason: String,
    },
    /// 403 for a create in a namespace being deleted (NamespaceLifecycle admission). Its
    /// `NamespaceTerminating` cause is how client-go's event recorder and controllers recognise
    /// the refusal and stop retrying, so it is a variant of its own rather than a `Forbidden`.
    #[error("{}", forbidden_message(resource, name, &terminating_reason(namespace)))]
    NamespaceTerminating {
        resource: GroupResource,
        name: String,
        namespace: String,
    },
    /// 403 from the authorizer, whose message names the user and verb.
    #[error("{0}")]
    ForbiddenMessage(String),
    /// 404: `<res> "<name>" not found`.
    #[error("{resource} {name:?} not found")]
    NotFound {
        resource: GroupResource,
        name: String,
    },
    /// 404 for a path that is not served at all.
    #[error("the server could not find the requested resource")]
    NotFoundPath,
    /// 405 from a handler: the resource is served but not with this verb (kube's
    /// `NewMethodNotSupported`, which kube raises for a watch of a resource that only lists).
    #[error("{verb} is not supported on resources of kind \"{resource}\"")]
    MethodNotSupported {
        resource: GroupResource,
        verb: String,
    },
    /// 405 from the router: no route takes this method on this path (a GET of `pods/binding`, a
    /// PUT on a collection). kube's REST container answers these with a generic Status and empty
    /// details, so kubectl prints "the server does not allow this method on the requested
    /// resource".
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 406: no offered media type can be produced.
    #[error("{0}")]
    NotAcceptable(String),
    /// 409: create of an existing object.
    #[error("{resource} {name:?} already exists")]
    AlreadyExists {
        resource: GroupResource,
        name: String,
    },
    /// 409 from server-side apply: fields the configuration changes belong to other managers.
    /// kube's `NewApplyConflict`: the message lists the managers and fields, and `details`
    /// carries only one `FieldManagerConflict` cause per field (no name, group or kind).
    #[error("{}", .0.message())]
    ApplyConflict(ApplyConflicts),
    /// 409: optimistic-lock failure or a precondition that does not hold.
    #[error("Operation cannot be fulfilled on {resource} {name:?}: {reason}")]
    Conflict {
        resource: GroupResource,
        name: String,
        reason: String,
    },
    /// 410: the requested revision was compacted (or a continue token expired).
    #[error("{message}")]
    Expired { message: String },
    /// 410 for a `continue` token whose revision was compacted: kube's "inconsistent continue"
    /// text, with a fresh token (continuing at the latest revision) in the Status's
    /// `metadata.continue`.
    #[error("{}", INCONSISTENT_CONTINUE)]
    ExpiredContinue { continue_token: String },
    /// 413: the body is over the limit.
    #[error("{0}")]
    RequestEntityTooLarge(String),
    /// 415: the body's content type is not one we decode.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: field validation failed.
    #[error("{}", invalid_message(kind, name, causes))]
    Invalid {
        kind: GroupKind,
        name: String,
        causes: Vec<FieldError>,
    },
    /// 422 with kube's generic text, reason Invalid and empty details: what kube answers (through
    /// `NewGenericServerResponse`) when a JSON patch or a strategic merge patch cannot be applied
    /// to the object. The patch library's own reason is not sent, as kube does not send it.
    #[error("the server rejected our request due to an error in our request")]
    PatchNotApplicable,
    /// 429: too many requests in flight.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_seconds: i32,
    },
    /// 500: an unexpected failure, never a client mistake.
    #[error("Internal error occurred: {0}")]
    Internal(String),
    /// 500 with no reason: an error kube hands to the client as it is, without a Status of its
    /// own (its `StatusReasonUnknown`), such as a strategic merge patch that names no merge key
    /// or an apply configuration that does not fit the schema. The message is not prefixed.
    #[error("{0}")]
    Unknown(String),
    /// 503: storage or a dependency is unavailable.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// 504 for a read at a revision the store has not reached yet; the cause
    /// `ResourceVersionTooLarge` tells client-go reflectors to relist, and the one-second
    /// `retryAfterSeconds` (kube's `resourceVersionTooHighRetrySeconds`, also sent as
    /// `Retry-After`) makes client-go's REST client retry the read by itself.
    #[error("Timeout: Too large resource version: {requested}, current: {current}")]
    TooLargeResourceVersion { requested: i64, current: i64 },
    /// 504: the request ran out of time (`Timeout` reason).
    #[error("{message}")]
    Timeout {
        message: String,
        retry_after_seconds: i32,
    },
}

/// How long a client should wait before asking again for a revision the store has not reached
/// (kube's cacher waits for it, then answers with this hint).
const TOO_LARGE_RESOURCE_VERSION_RETRY_SECONDS: i32 = 1;
/// kube's message for an expired continue token when a fresh one can be given.
const INCONSISTENT_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
/// kube's `NewForbidden` message: `forbidden: r`, `<res> is forbidden: r` or
/// `<res> "<name>" is forbidden: r`.
fn forbidden_message(resource: &GroupResource, name: &str, reason: &str) -> String {
    if resource.group.is_empty() && resource.resource.is_empty() {
        format!("forbidden: {reason}")
    } else if name.is_empty() {
        format!("{resource} is forbidden: {reason}")
    } else {
        format!("{resource} {name:?} is forbidden: {reason}")
    }
}

/// NamespaceLifecycle's reason for refusing a create in a terminating namespace.
fn terminating_reason(namespace: &str) -> String {
    format!("unable to create new content in namespace {namespace} because it is being terminated")
}

/// kube's `NewInvalid` text: the causes as `ErrorList.ToAggregate` prints them, which drops
/// repeated messages (kinds whose update validation runs the metadata checks twice, such as
/// configmaps, report each metadata error twice in `causes` but once in the message); no causes
/// leave the bare "is invalid".
fn invalid_message(kind: &GroupKind, name: &str, causes: &[FieldError]) -> String {
    let mut seen = std::collections::HashSet::new();
    let parts: Vec<String> = causes
        .iter()
        .map(ToString::to_string)
        .filter(|msg| seen.insert(msg.clone()))
        .collect();
    match parts.as_slice() {
        [] => format!("{kind} {name:?} is invalid"),
        [one] => format!("{kind} {name:?} is invalid: {one}"),
        many => format!("{kind} {name:?} is invalid: [{}]", many.join(", ")),
    }
}

impl ApiError {
    /// 422 for `kind`/`name` with these causes.
    pub fn invalid(kind: GroupKind, name: impl Into<String>, causes: Vec<FieldError>) -> Self {
        Self::Invalid {
            kind,
            name: name.into(),
            causes,
        }
    }

    /// 500 from anything printable.
    pub fn internal(err: impl fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    /// The optimistic-lock conflict message every client knows.
    pub fn conflict_modified(resource: GroupResource, name: impl Into<String>) -> Self {
        Self::Conflict {
            resource,
            name: name.into(),
            reason: "the object has been modified; please apply your changes to the latest version and try again".into(),
        }
    }

    /// The HTTP status code, which is also the Status `code`.
    pub fn code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthorized => 401,
            Self::Forbidden { .. }
            | Self::NamespaceTerminating { .. }
            | Self::ForbiddenMessage(_) => 403,
            Self::NotFound { .. } | Self::NotFoundPath => 404,
            Self::MethodNotSupported { .. } | Self::MethodNotAllowed => 405,
            Self::NotAcceptable(_) => 406,
            Self::AlreadyExists { .. } | Self::Conflict { .. } | Self::ApplyConflict(_) => 409,
            Self::Expired { .. } | Self::ExpiredContinue { .. } => 410,
            Self::RequestEntityTooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Invalid { .. } | Self::PatchNotApplicable => 422,
            Self::TooManyRequests { .. } => 429,
            Self::Internal(_) | Self::Unknown(_) => 500,
            Self::ServiceUnavailable(_) => 503,
            Self::Timeout { .. } | Self::TooLargeResourceVersion { .. } => 504,
        }
    }

    /// The Status `reason` (empty for [`ApiError::Unknown`], which kube sends without one).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequest",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden { .. }
            | Self::NamespaceTerminating { .. }
            | Self::ForbiddenMessage(_) => "Forbidden",
            Self::NotFound { .. } | Self::NotFoundPath => "NotFound",
            Self::MethodNotSupported { .. } | Self::MethodNotAllowed => "MethodNotAllowed",
            Self::NotAcceptable(_) => "NotAcceptable",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } | Self::ApplyConflict(_) => "Conflict",
            Self::Expired { .. } | Self::ExpiredContinue { .. } => "Expired",
            Self::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::Invalid { .. } | Self::PatchNotApplicable => "Invalid",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::Internal(_) => "InternalError",
            Self::Unknown(_) => "",
            Self::ServiceUnavailable(_) => "ServiceUnavailable",
            Self::Timeout { .. } | Self::TooLargeResourceVersion { .. } => "Timeout",
        }
    }

    /// Seconds a client should wait before retrying, when the error says so.
    pub fn retry_after_seconds(&self) -> Option<i32> {
        match self {
            Self::TooManyRequests {
                retry_after_seconds,
                ..
            }
            | Self::Timeout {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            Self::TooLargeResourceVersion { .. } => Some(TOO_LARGE_RESOURCE_VERSION_RETRY_SECONDS),
            _ => None,
        }
    }

    /// The wire `Status` (kind Status, apiVersion v1, status Failure), details as DECISIONS.md.
    pub fn to_status(&self) -> Status {
        let details = match self {
            Self::NotFound { resource, name }
            | Self::AlreadyExists { resource, name }
            | Self::Conflict { resource, name, .. }
            | Self::Forbidden { resource, name, .. } => Some(resource_details(resource, name)),
            Self::NamespaceTerminating {
                resource,
                name,
                namespace,
            } => Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("NamespaceTerminating".into()),
                    message: Some(format!("namespace {namespace} is being terminated")),
                    field: Some("metadata.namespace".into()),
                }]),
                ..resource_details(resource, name)
            }),
            Self::MethodNotSupported { resource, .. } => Some(resource_details(resource, "")),
            // kube's generic answers for paths and methods it has no route for carry `details: {}`.
            Self::NotFoundPath | Self::MethodNotAllowed => Some(StatusDetails::default()),
            Self::Invalid { kind, name, causes } => Some(StatusDetails {
                name: non_empty(name),
                group: non_empty(&kind.group),
                kind: non_empty(&kind.kind),
                causes: Some(
                    causes
                        .iter()
                        .map(|c| StatusCause {
                            reason: Some(c.error_type.cause_type().to_string()),
                            message: Some(c.body()),
                            field: Some(c.field.clone()),
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            Self::PatchNotApplicable => Some(StatusDetails::default()),
            Self::TooManyRequests {
                retry_after_seconds,
                ..
            } => Some(StatusDetails {
                retry_after_seconds: Some(*retry_after_seconds),
                ..Default::default()
            }),
            Self::Timeout {
                retry_after_seconds,
                ..
            } if *retry_after_seconds > 0 => Some(StatusDetails {
                retry_after_seconds: Some(*retry_after_seconds),
                ..Default::default()
            }),
            Self::TooLargeResourceVersion { .. } => Some(StatusDetails {
                retry_after_seconds: Some(TOO_LARGE_RESOURCE_VERSION_RETRY_SECONDS),
                causes: Some(vec![StatusCause {
                    reason: Some("ResourceVersionTooLarge".into()),
                    message: Some("Too large resource version".into()),
                    field: None,
                }]),
                ..Default::default()
            }),
            Self::ApplyConflict(conflicts) => Some(StatusDetails {
                causes: Some(conflicts.causes()),
                ..Default::default()
            }),
            Self::Internal(message) => Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    message: Some(message.clone()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            _ => None,
        };
        let mut metadata = ListMeta::default();
        if let Self::ExpiredContinue { continue_token } = self {
            metadata.continue_ = Some(continue_token.clone());
        }
        Status {
            metadata,
            status: Some("Failure".into()),
            message: Some(self.to_string()),
            reason: non_empty(self.reason()),
            code: Some(i32::from(self.code())),
            details,
        }
    }
}

fn resource_details(resource: &GroupResource, name: &str) -> StatusDetails {
    StatusDetails {
        name: non_empty(name),
        group: non_empty(&resource.group),
        kind: non_empty(&resource.resource),
        ..Default::default()
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
#[path = "errors_tests.rs"]
mod tests;
