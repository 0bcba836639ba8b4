//! Query strings (and the DeleteOptions body) into the typed options of [`crate::api::options`].
//!
//! kube decodes query parameters with its parameter codec and then validates the options; the two
//! kinds of failure answer differently and clients see both, so both are kept apart here:
//! a value that cannot be converted (`limit=abc`, a malformed selector) is 400 BadRequest with
//! Go's conversion text; a well-formed value that is not allowed (`dryRun=Some`,
//! `resourceVersionMatch` without `resourceVersion`) is 422 Invalid on `<X>Options.meta.k8s.io`.
//!
//! The string forms are what kube accepts, including what real clients send: kube-rs's
//! `?&labelSelector=…` and bare `?`, Python's `watch=True`, and Go's lenient booleans (anything but
//! `0`/`false` is true).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions;
use serde_json::Value;

use crate::api::options::{
    FieldValidation, GetOptions, ListOptions, ResourceVersionMatch, WriteOptions,
};
use crate::api::protobuf::{self, ProtobufError};
use crate::api::selectors::fields::FieldSelector;
use crate::api::selectors::labels::LabelSelector;
use crate::api::table::IncludeObject;
use crate::api::{ApiError, FieldError, GroupKind};
use crate::endpoints::negotiation::{BodyFormat, PatchType};

/// The decoded pairs of a query string, in order, with empty keys dropped (`?&a=b` is `a=b`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Decodes `raw` (without the `?`) as Go's `url.ParseQuery` does.
    ///
    /// ```
    /// use capstan::endpoints::query::QueryParams;
    /// let q = QueryParams::parse(Some("&labelSelector=app%3Dweb&limit=5"));
    /// assert_eq!(q.get("labelSelector"), Some("app=web"));
    /// assert_eq!(QueryParams::parse(Some("")), QueryParams::default());
    /// ```
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self(pairs)
    }

    /// The first value of `key`, as `url.Values.Get`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, for repeatable parameters such as `dryRun`.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key` unless it is absent or empty (Go strings cannot tell those apart).
    fn string(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// kube's `Convert_Slice_string_To_bool`: absent, `0` and `false` (any case) are false;
    /// anything else, the empty string included, is true.
    pub fn flag(&self, key: &str) -> bool {
        self.optional_flag(key).unwrap_or(false)
    }

    /// Like [`QueryParams::flag`], but `None` when the parameter is absent (`*bool` fields).
    pub fn optional_flag(&self, key: &str) -> Option<bool> {
        self.get(key)
            .map(|v| !(v == "0" || v.eq_ignore_ascii_case("false")))
    }

    /// Every parameter in order, for endpoints that read their own options
    /// ([`crate::registry::Rest::connect`]).
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// An `int64` parameter; a value Go's `strconv.ParseInt` rejects is 400.
    fn int64(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key).map(parse_int64).transpose()
    }
}

/// `strconv.ParseInt(s, 10, 64)` with Go's error text, which the parameter codec returns verbatim.
fn parse_int64(s: &str) -> Result<i64, ApiError> {
    use std::num::IntErrorKind;
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => "value out of range",
            _ => "invalid syntax",
        };
        ApiError::BadRequest(format!("strconv.ParseInt: parsing {s:?}: {why}"))
    })
}

/// 422 on `<kind>.meta.k8s.io ""`, as kube reports invalid request options.
fn invalid_options(kind: &str, causes: Vec<FieldError>) -> ApiError {
    ApiError::invalid(GroupKind::new("meta.k8s.io", kind), "", causes)
}

/// Options of a list or watch. `watch` is the verb's decision (the `watch` parameter or the
/// `/watch/` prefix), so validation and defaults follow what the request actually does.
///
/// For a watch from `""` or `"0"` without explicit choices, kube's WatchList defaulting (on since
/// 1.34) turns on `sendInitialEvents` with `resourceVersionMatch=NotOlderThan`.
pub fn list_options(q: &QueryParams, watch: bool) -> Result<ListOptions, ApiError> {
    let label_selector = match q.get("labelSelector").filter(|s| !s.is_empty()) {
        Some(s) => LabelSelector::parse(s).map_err(ApiError::BadRequest)?,
        None => LabelSelector::default(),
    };
    let field_selector = match q.get("fieldSelector").filter(|s| !s.is_empty()) {
        Some(s) => FieldSelector::parse(s).map_err(ApiError::BadRequest)?,
        None => FieldSelector::default(),
    };
    let mut opts = ListOptions {
        label_selector,
        field_selector,
        resource_version: q.string("resourceVersion"),
        resource_version_match: None,
        limit: q.int64("limit")?.filter(|l| *l > 0),
        continue_token: q.string("continue"),
        timeout_seconds: q.int64("timeoutSeconds")?,
        allow_watch_bookmarks: q.flag("allowWatchBookmarks"),
        send_initial_events: q.optional_flag("sendInitialEvents"),
        watch,
    };
    let raw_match = q.get("resourceVersionMatch").unwrap_or("");
    let causes = if watch {
        validate_watch(&mut opts, raw_match)
    } else {
        validate_list(&mut opts, raw_match)
    };
    if causes.is_empty() {
        Ok(opts)
    } else {
        Err(invalid_options("ListOptions", causes))
    }
}

fn parse_match(raw: &str) -> Option<ResourceVersionMatch> {
    match raw {
        "NotOlderThan" => Some(ResourceVersionMatch::NotOlderThan),
        "Exact" => Some(ResourceVersionMatch::Exact),
        _ => None,
    }
}

/// kube's `ValidateListOptions` for a list.
fn validate_list(opts: &mut ListOptions, raw_match: &str) -> Vec<FieldError> {
    let mut causes = Vec::new();
    if !raw_match.is_empty() {
        if opts.resource_version.is_none() {
            causes.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if opts.continue_token.is_some() {
            causes.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        opts.resource_version_match = parse_match(raw_match);
        if opts.resource_version_match.is_none() {
            causes.push(FieldError::not_supported(
                "resourceVersionMatch",
                raw_match,
                &["Exact", "NotOlderThan", ""],
            ));
        }
        if opts.resource_version_match == Some(ResourceVersionMatch::Exact)
            && opts.resource_version.as_deref() == Some("0")
        {
            causes.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if opts.send_initial_events.is_some() {
        causes.push(FieldError::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    causes
}

/// kube's WatchList defaulting, then its `validateWatchOptions`.
fn validate_watch(opts: &mut ListOptions, raw_match: &str) -> Vec<FieldError> {
    let mut raw_match = raw_match.to_string();
    let legacy = matches!(opts.resource_version.as_deref(), None | Some("0"));
    if opts.send_initial_events.is_none() && raw_match.is_empty() && legacy {
        opts.send_initial_events = Some(true);
        raw_match = "NotOlderThan".into();
    }
    opts.resource_version_match = parse_match(&raw_match);
    let mut causes = Vec::new();
    let not_older_than = opts.resource_version_match == Some(ResourceVersionMatch::NotOlderThan);
    if opts.send_initial_events.is_some() && !not_older_than {
        causes.push(FieldError::forbidden(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if !raw_match.is_empty() {
        if opts.send_initial_events.is_none() {
            causes.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if !not_older_than {
            causes.push(FieldError::not_supported(
                "resourceVersionMatch",
                raw_match.as_str(),
                &["NotOlderThan"],
            ));
        }
        if opts.continue_token.is_some() {
            causes.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
    }
    causes
}

/// Options of a get. `export=true` is refused as kube has since 1.18.
pub fn get_options(q: &QueryParams) -> Result<GetOptions, ApiError> {
    if q.flag("export") {
        return Err(ApiError::BadRequest(
            "the export parameter, deprecated since v1.14, is no longer supported".into(),
        ));
    }
    Ok(GetOptions {
        resource_version: q.string("resourceVersion"),
    })
}

/// Which write a [`WriteOptions`] is for: it names the options kind in errors and decides the
/// patch-only rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// `CreateOptions`.
    Create,
    /// `UpdateOptions`.
    Update,
    /// `PatchOptions` for a patch of this type (`force` and the apply rules depend on it).
    Patch(PatchType),
}

/// `fieldManager` may be at most this long (kube's `FieldManagerMaxLength`).
const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// Options of create, update and patch: `dryRun`, `fieldManager`, `fieldValidation`, `force`,
/// validated as kube's `Validate{Create,Update,Patch}Options`.
pub fn write_options(q: &QueryParams, kind: WriteKind) -> Result<WriteOptions, ApiError> {
    let mut causes = Vec::new();
    let field_manager = q.string("fieldManager");
    if let WriteKind::Patch(patch) = kind {
        if patch == PatchType::Apply {
            if field_manager.is_none() {
                causes.push(FieldError::required(
                    "fieldManager",
                    "is required for apply patch",
                ));
            }
        } else if q.get("force").is_some() {
            causes.push(FieldError::forbidden(
                "force",
                "may not be specified for non-apply patch",
            ));
        }
    }
    if let Some(manager) = &field_manager {
        causes.extend(validate_field_manager(manager));
    }
    let dry_run = dry_run(q.all("dryRun").collect(), &mut causes);
    let field_validation = match q.get("fieldValidation").unwrap_or("") {
        "" => None,
        "Ignore" => Some(FieldValidation::Ignore),
        "Warn" => Some(FieldValidation::Warn),
        "Strict" => Some(FieldValidation::Strict),
        other => {
            causes.push(FieldError::not_supported(
                "fieldValidation",
                other,
                &["", "Ignore", "Strict", "Warn"],
            ));
            None
        }
    };
    if !causes.is_empty() {
        let options_kind = match kind {
            WriteKind::Create => "CreateOptions",
            WriteKind::Update => "UpdateOptions",
            WriteKind::Patch(_) => "PatchOptions",
        };
        return Err(invalid_options(options_kind, causes));
    }
    Ok(WriteOptions {
        dry_run,
        field_manager,
        field_validation,
        force: q.flag("force"),
        force_allow_create: false,
    })
}

/// kube's `ValidateFieldManager`: a length limit and printable characters only.
fn validate_field_manager(manager: &str) -> Vec<FieldError> {
    let mut causes = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        causes.push(FieldError::too_long(
            "fieldManager",
            FIELD_MANAGER_MAX_LENGTH,
        ));
    }
    for (i, c) in manager.char_indices() {
        if c.is_control() {
            causes.push(FieldError::invalid(
                "fieldManager",
                manager,
                format!("invalid character U+{:04X} (at position {i})", u32::from(c)),
            ));
        }
    }
    causes
}

/// `dryRun` values: only `All` exists; any other value is NotSupported.
fn dry_run(values: Vec<&str>, causes: &mut Vec<FieldError>) -> bool {
    if values.iter().any(|v| *v != "All") {
        let shown: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
        causes.push(FieldError::not_supported(
            "dryRun",
            Value::Array(shown),
            &["All"],
        ));
    }
    !values.is_empty()
}

/// DeleteOptions from the query merged with a body (JSON, YAML or protobuf `DeleteOptions`); a
/// field set in the body wins. Validated as kube's `ValidateDeleteOptions`.
pub fn delete_options(
    q: &QueryParams,
    body: Option<(&[u8], BodyFormat)>,
) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        dry_run: q
            .get("dryRun")
            .is_some()
            .then(|| q.all("dryRun").map(str::to_string).collect()),
        grace_period_seconds: q.int64("gracePeriodSeconds")?,
        orphan_dependents: q.optional_flag("orphanDependents"),
        propagation_policy: q.string("propagationPolicy"),
        ..Default::default()
    };
    if let Some((bytes, format)) = body.filter(|(b, _)| !b.iter().all(u8::is_ascii_whitespace)) {
        let from_body = decode_delete_options(bytes, format)?;
        opts.dry_run = from_body.dry_run.or(opts.dry_run);
        opts.grace_period_seconds = from_body.grace_period_seconds.or(opts.grace_period_seconds);
        opts.orphan_dependents = from_body.orphan_dependents.or(opts.orphan_dependents);
        opts.propagation_policy = from_body.propagation_policy.or(opts.propagation_policy);
        opts.preconditions = from_body.preconditions;
        opts.ignore_store_read_error_with_cluster_breaking_potential =
            from_body.ignore_store_read_error_with_cluster_breaking_potential;
    }
    let mut causes = Vec::new();
    if let (Some(_), Some(policy)) = (opts.orphan_dependents, &opts.propagation_policy) {
        causes.push(FieldError::invalid(
            "propagationPolicy",
            policy.as_str(),
            "orphanDependents and deletionPropagation cannot be both set",
        ));
    }
    if let Some(policy) = &opts.propagation_policy
        && !matches!(policy.as_str(), "Foreground" | "Background" | "Orphan")
    {
        causes.push(FieldError::not_supported(
            "propagationPolicy",
            policy.as_str(),
            &["Foreground", "Background", "Orphan", "nil"],
        ));
    }
    if let Some(values) = &opts.dry_run {
        dry_run(values.iter().map(String::as_str).collect(), &mut causes);
    }
    if causes.is_empty() {
        Ok(opts)
    } else {
        Err(invalid_options("DeleteOptions", causes))
    }
}

/// Reads a `DeleteOptions` body; another kind, or bytes that are not one, is 400.
fn decode_delete_options(bytes: &[u8], format: BodyFormat) -> Result<DeleteOptions, ApiError> {
    let mut value: Value = match format {
        BodyFormat::Json => {
            serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(e.to_string()))?
        }
        BodyFormat::Yaml => {
            serde_saphyr::from_slice(bytes).map_err(|e| ApiError::BadRequest(e.to_string()))?
        }
        // client-go names its own group version in the envelope (`v1`, `policy/v1`); kube
        // defaults an untyped one to the meta group.
        BodyFormat::Protobuf => {
            protobuf::Envelope::parse(bytes, Some(("meta.k8s.io/v1", "DeleteOptions")))
                .and_then(|envelope| envelope.decode())
                .map_err(|e| match e {
                    ProtobufError::Internal(_) => ApiError::internal(e),
                    e => ApiError::BadRequest(e.to_string()),
                })?
        }
    };
    let Some(map) = value.as_object_mut() else {
        return Err(ApiError::BadRequest(
            "decoded object cannot be converted to DeleteOptions".into(),
        ));
    };
    if let Some(kind) = map.remove("kind")
        && kind
            .as_str()
            .is_some_and(|k| !k.is_empty() && k != "DeleteOptions")
    {
        return Err(ApiError::BadRequest(
            "decoded object cannot be converted to DeleteOptions".into(),
        ));
    }
    map.remove("apiVersion");
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `includeObject` of TableOptions; anything else is 400 as kube's Table conversion reports it.
pub fn include_object(q: &QueryParams) -> Result<IncludeObject, ApiError> {
    match q.get("includeObject").unwrap_or("") {
        "" | "Metadata" => Ok(IncludeObject::Metadata),
        "None" => Ok(IncludeObject::None),
        "Object" => Ok(IncludeObject::Object),
        other => Err(ApiError::BadRequest(format!(
            "Unable to convert to Table as requested: {}",
            FieldError::invalid(
                "includeObject",
                other,
                "must be 'Metadata', 'Object', 'None', or empty"
            )
        ))),
    }
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
