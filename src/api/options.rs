//! Request options as the registry sees them, already parsed from the query string (and, for
//! delete, the body) by `endpoints`.
//!
//! kube-core's `params::*` are client builders without `Deserialize`, so these are Capstan's own.

use base64::Engine as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions;
use serde::{Deserialize, Serialize};

use super::errors::{ApiError, GroupKind};
use super::field::{FieldError, FieldErrors, Path};
use super::selectors::{fields::FieldSelector, labels::LabelSelector};

/// `resourceVersionMatch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceVersionMatch {
    NotOlderThan,
    Exact,
}

/// Options of list and watch (`ListOptions` in meta/v1).
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
    /// `resourceVersion` exactly as sent (`""` is kept distinct from absent only where kube does).
    pub resource_version: Option<String>,
    pub resource_version_match: Option<ResourceVersionMatch>,
    pub limit: Option<i64>,
    pub continue_token: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    /// `watch=true|1|True` or the `/watch/` path prefix.
    pub watch: bool,
}

/// Options of get.
#[derive(Clone, Debug, Default)]
pub struct GetOptions {
    pub resource_version: Option<String>,
}

/// `fieldValidation`: what to do with unknown or duplicate fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    #[default]
    Strict,
}

/// Options shared by create, update and patch.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub field_validation: Option<FieldValidation>,
    /// `force` (apply patches only).
    pub force: bool,
    /// Create the object if it does not exist even where the strategy forbids create on update
    /// (kube's `forceAllowCreate`): set by the handler for apply patches, never by a parameter.
    pub force_allow_create: bool,
}

/// Options of delete and deletecollection: the body's `DeleteOptions` merged with the query.
pub type DeleteOpts = DeleteOptions;

// ---------------------------------------------------------------------------------------------
// Semantics of list and watch options (IO-free; the store calls these before touching storage).
// ---------------------------------------------------------------------------------------------

/// The kind list-option validation errors are reported against (`ListOptions.meta.k8s.io`).
pub fn list_options_kind() -> GroupKind {
    GroupKind::new("meta.k8s.io", "ListOptions")
}

impl ResourceVersionMatch {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotOlderThan => "NotOlderThan",
            Self::Exact => "Exact",
        }
    }

    /// Parses `resourceVersionMatch`; an unknown value is kube's 422 `Unsupported value` (whose
    /// list of supported values differs between list and watch). Empty means absent.
    pub fn parse(value: &str, watch: bool) -> Result<Option<Self>, ApiError> {
        match value {
            "" => Ok(None),
            "NotOlderThan" => Ok(Some(Self::NotOlderThan)),
            "Exact" => Ok(Some(Self::Exact)),
            other => {
                let supported: &[&str] = if watch {
                    &["NotOlderThan"]
                } else {
                    &["Exact", "NotOlderThan", ""]
                };
                let err = FieldError::not_supported("resourceVersionMatch", other, supported);
                Err(ApiError::invalid(list_options_kind(), "", vec![err]))
            }
        }
    }
}

/// kube's internalversion `ValidateListOptions` (watch-list enabled), as field errors; the caller
/// reports them with [`validate_list_options`].
pub fn list_options_errors(opts: &ListOptions) -> FieldErrors {
    let rv = opts.resource_version.as_deref().unwrap_or("");
    let has_continue = opts
        .continue_token
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    let path = Path::new("resourceVersionMatch");
    let mut errs = FieldErrors::new();
    if opts.watch {
        if opts.send_initial_events.is_some()
            && opts.resource_version_match != Some(ResourceVersionMatch::NotOlderThan)
        {
            errs.push(FieldError::forbidden(
                &path,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if opts.resource_version_match.is_some() {
            if opts.send_initial_events.is_none() {
                errs.push(FieldError::forbidden(
                    &path,
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if opts.resource_version_match == Some(ResourceVersionMatch::Exact) {
                errs.push(FieldError::not_supported(&path, "Exact", &["NotOlderThan"]));
            }
            if has_continue {
                errs.push(FieldError::forbidden(
                    &path,
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
        }
        return errs;
    }
    if let Some(m) = opts.resource_version_match {
        if rv.is_empty() {
            errs.push(FieldError::forbidden(
                &path,
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if has_continue {
            errs.push(FieldError::forbidden(
                &path,
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if m == ResourceVersionMatch::Exact && rv == "0" {
            errs.push(FieldError::forbidden(
                &path,
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if opts.send_initial_events.is_some() {
        errs.push(FieldError::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    errs
}

/// [`list_options_errors`] as kube's 422 (`ListOptions.meta.k8s.io "" is invalid: …`).
pub fn validate_list_options(opts: &ListOptions) -> Result<(), ApiError> {
    let errs = list_options_errors(opts);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(list_options_kind(), "", errs))
    }
}

/// Parses a `resourceVersion`: `""` and `"0"` are 0, anything else must be a decimal revision.
/// A malformed one is kube's 400 (`invalid resource version: resourceVersion: Invalid value: …`,
/// with Go's `strconv` wording).
///
/// ```
/// use capstan::api::options::parse_resource_version;
/// assert_eq!(parse_resource_version("").unwrap(), 0);
/// assert_eq!(parse_resource_version("42").unwrap(), 42);
/// assert_eq!(parse_resource_version("x").unwrap_err().code(), 400);
/// ```
pub fn parse_resource_version(rv: &str) -> Result<i64, ApiError> {
    if rv.is_empty() || rv == "0" {
        return Ok(0);
    }
    let parsed = if rv.bytes().all(|b| b.is_ascii_digit()) {
        rv.parse::<u64>()
            .ok()
            .and_then(|v| i64::try_from(v).ok())
            .ok_or("value out of range")
    } else {
        Err("invalid syntax")
    };
    parsed.map_err(|why| {
        let detail = format!("strconv.ParseUint: parsing {rv:?}: {why}");
        let field = FieldError::invalid("resourceVersion", rv, detail);
        ApiError::BadRequest(format!("invalid resource version: {field}"))
    })
}

/// What revision a list (or get) reads at: the one enum for kube's resourceVersion rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAt {
    /// No resourceVersion: the latest state (a consistent read).
    Latest,
    /// `"0"`: any state is fine; Capstan serves the latest.
    Any,
    /// At least this revision: the latest state, or 504 "Too large resource version" if the store
    /// has not reached it.
    NotOlderThan(i64),
    /// Exactly this revision (410 if compacted).
    Exact(i64),
}

impl ReadAt {
    /// The list semantics of `opts` (validated first): `Exact`, or a legacy revision together with
    /// `limit`, reads at that revision; `NotOlderThan` or a legacy revision without `limit` reads
    /// the latest state no older than it.
    pub fn for_list(opts: &ListOptions) -> Result<Self, ApiError> {
        let rv = opts.resource_version.as_deref().unwrap_or("");
        if rv.is_empty() {
            return Ok(Self::Latest);
        }
        let n = parse_resource_version(rv)?;
        if n == 0 {
            return Ok(Self::Any);
        }
        Ok(match opts.resource_version_match {
            Some(ResourceVersionMatch::Exact) => Self::Exact(n),
            Some(ResourceVersionMatch::NotOlderThan) => Self::NotOlderThan(n),
            None if opts.limit.unwrap_or(0) > 0 => Self::Exact(n),
            None => Self::NotOlderThan(n),
        })
    }

    /// The semantics of a get's `resourceVersion`.
    pub fn for_get(opts: &GetOptions) -> Result<Self, ApiError> {
        let rv = opts.resource_version.as_deref().unwrap_or("");
        if rv.is_empty() {
            return Ok(Self::Latest);
        }
        Ok(match parse_resource_version(rv)? {
            0 => Self::Any,
            n => Self::NotOlderThan(n),
        })
    }
}

/// The only continue-token version kube (and Capstan) understands.
const CONTINUE_VERSION: &str = "meta.k8s.io/v1";

/// The JSON inside a continue token, as kube's `pkg/storage/continue.go` writes it.
#[derive(Debug, Serialize, Deserialize)]
struct ContinueToken {
    #[serde(rename = "v")]
    api_version: String,
    #[serde(rename = "rv")]
    resource_version: i64,
    #[serde(rename = "start")]
    start_key: String,
}

/// Encodes where the next page starts: `key` (under `prefix`) and the revision the first page was
/// read at (`-1` means "continue at the latest revision", used after compaction).
pub fn encode_continue(key: &str, prefix: &str, revision: i64) -> Result<String, ApiError> {
    let Some(start_key) = key.strip_prefix(prefix) else {
        return Err(ApiError::internal(
            "unable to encode next field: the key and key prefix do not match",
        ));
    };
    let token = ContinueToken {
        api_version: CONTINUE_VERSION.into(),
        resource_version: revision,
        start_key: start_key.into(),
    };
    let json = serde_json::to_vec(&token).map_err(ApiError::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a continue token into the absolute start key (under `prefix`) and its revision
/// (negative: the latest). Tokens that do not decode, or whose key would leave `prefix`
/// (`../`), are kube's 400 `invalid continue token: …`.
pub fn decode_continue(token: &str, prefix: &str) -> Result<(String, i64), ApiError> {
    decode_continue_inner(token, prefix)
        .map_err(|e| ApiError::BadRequest(format!("invalid continue token: {e}")))
}

fn decode_continue_inner(token: &str, prefix: &str) -> Result<(String, i64), String> {
    const INVALID: &str = "continue key is not valid";
    let data = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => {
                format!("{INVALID}: illegal base64 data at input byte {at}")
            }
            other => format!("{INVALID}: {other}"),
        })?;
    let c: ContinueToken = serde_json::from_slice(&data).map_err(|e| format!("{INVALID}: {e}"))?;
    if c.api_version != CONTINUE_VERSION {
        return Err(format!(
            "{INVALID}: server does not recognize this encoded version {}",
            c.api_version
        ));
    }
    if c.resource_version == 0 {
        return Err(format!(
            "{INVALID}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        ));
    }
    if c.start_key.is_empty() {
        return Err(format!(
            "{INVALID}: encoded start key empty (version meta.k8s.io/v1)"
        ));
    }
    let key = if c.start_key.starts_with('/') {
        c.start_key.clone()
    } else {
        format!("/{}", c.start_key)
    };
    if clean_absolute_path(&key) != key {
        return Err(format!("{INVALID}: {}", c.start_key));
    }
    Ok((format!("{prefix}{}", &key[1..]), c.resource_version))
}

/// Go's `path.Clean` for absolute paths: drops empty and `.` segments, resolves `..` (never above
/// the root), no trailing slash.
fn clean_absolute_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
