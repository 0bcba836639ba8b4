//! Content negotiation: what the response is written as (`Accept`, with kube's `as`/`g`/`v`
//! conversion parameters), and how a request body is read (`Content-Type`, patch types).
//!
//! Only this module looks at those headers (ARCHITECTURE: "only endpoints negotiates content").
//! The rules follow k8s.io/apiserver's `negotiation` package: clauses are tried in order of
//! preference; a clause naming a conversion (`as=Table;g=meta.k8s.io;v=v1`) is skipped when the
//! endpoint cannot produce it, so kubectl's
//! `application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json`
//! gets a Table and a client asking only for protobuf gets 406.

use crate::api::ApiError;

/// A serialisation Capstan writes and reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json`, the default and the only watch framing.
    Json,
    /// `application/yaml`, for humans and `kubectl create -f` style bodies.
    Yaml,
}

impl Format {
    /// The media type written in `Content-Type`.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Yaml => "application/yaml",
        }
    }
}

/// The `meta.k8s.io` version a conversion was asked in; it becomes the `apiVersion` of the Table
/// or PartialObjectMetadata written back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaVersion {
    /// `meta.k8s.io/v1`, what kubectl asks for first.
    V1,
    /// `meta.k8s.io/v1beta1`, which older clients ask for.
    V1beta1,
}

impl MetaVersion {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Self::V1 => "meta.k8s.io/v1",
            Self::V1beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// What the client asked the response to be turned into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// The object or `<Kind>List` itself.
    None,
    /// A `Table` (kubectl get).
    Table(MetaVersion),
    /// Only the metadata of one object (metadata informers, kube-rs `PartialObjectMeta`).
    PartialObjectMetadata(MetaVersion),
    /// Only the metadata of each item of a list.
    PartialObjectMetadataList(MetaVersion),
}

/// The outcome of `Accept` negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputMedia {
    /// The serialisation to write.
    pub format: Format,
    /// What the result is turned into before it is written.
    pub conversion: Conversion,
    /// `pretty=1` in the media type; the query and User-Agent rules live with the encoder.
    pub pretty: bool,
}

impl Default for OutputMedia {
    fn default() -> Self {
        Self {
            format: Format::Json,
            conversion: Conversion::None,
            pretty: false,
        }
    }
}

/// What an endpoint can produce, kube's `EndpointRestrictions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restrictions {
    /// Table and PartialObjectMetadata conversions (resource endpoints yes, discovery no).
    pub conversions: bool,
    /// A watch: only formats with a stream framing (JSON) qualify.
    pub stream: bool,
    /// Whether YAML may be written (it has no watch framing; discovery is precomputed JSON).
    pub yaml: bool,
}

impl Restrictions {
    /// A resource endpoint answering with one object or list.
    pub const RESOURCE: Self = Self {
        conversions: true,
        stream: false,
        yaml: true,
    };
    /// A resource endpoint answering with a watch stream.
    pub const WATCH: Self = Self {
        conversions: true,
        stream: true,
        yaml: false,
    };
    /// A discovery document.
    pub const DISCOVERY: Self = Self {
        conversions: false,
        stream: false,
        yaml: false,
    };
}

/// One clause of an `Accept` header.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AcceptClause {
    /// `application` in `application/json`, `*` for a wildcard.
    pub(crate) type_: String,
    /// `json` in `application/json`, `*` for a wildcard.
    pub(crate) subtype: String,
    q: f32,
    /// Parameters other than `q`, keys lower-cased, in header order.
    pub(crate) params: Vec<(String, String)>,
}

/// Parses `Accept` into clauses ordered by preference: higher `q` first, then concrete types
/// before wildcards, otherwise in header order (goautoneg's order). Hand-written because kube's
/// parameters (`as`, `g`, `v`, `stream`) must survive and no dependency parses Accept lists.
pub(crate) fn parse_accept(header: &str) -> Vec<AcceptClause> {
    let mut clauses: Vec<AcceptClause> = header
        .split(',')
        .filter_map(|raw| {
            let mut pieces = raw.split(';');
            let media = pieces.next()?.trim().to_ascii_lowercase();
            let (type_, subtype) = match media.split_once('/') {
                Some((t, s)) => (t.trim().to_string(), s.trim().to_string()),
                None if media == "*" => ("*".to_string(), "*".to_string()),
                None => return None,
            };
            let mut q = 1.0_f32;
            let mut params = Vec::new();
            for param in pieces {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let key = key.trim().to_ascii_lowercase();
                let value = value.trim().trim_matches('"').to_string();
                if key == "q" {
                    q = value.parse().unwrap_or(0.0);
                } else {
                    params.push((key, value));
                }
            }
            (q > 0.0).then_some(AcceptClause {
                type_,
                subtype,
                q,
                params,
            })
        })
        .collect();
    clauses.sort_by(|a, b| {
        b.q.total_cmp(&a.q)
            .then((a.type_ == "*").cmp(&(b.type_ == "*")))
            .then((a.subtype == "*").cmp(&(b.subtype == "*")))
    });
    clauses
}

/// Picks the response media for `accept` (absent or empty means JSON) under `restrictions`;
/// nothing acceptable is 406 NotAcceptable listing what could be served.
///
/// ```
/// use capstan::endpoints::negotiation::{negotiate_output, Conversion, MetaVersion, Restrictions};
/// let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
/// let media = negotiate_output(Some(kubectl), Restrictions::RESOURCE).unwrap();
/// assert_eq!(media.conversion, Conversion::Table(MetaVersion::V1));
/// let media = negotiate_output(Some(kubectl), Restrictions::DISCOVERY).unwrap();
/// assert_eq!(media.conversion, Conversion::None);
/// assert_eq!(negotiate_output(Some("application/vnd.kubernetes.protobuf"), Restrictions::RESOURCE).unwrap_err().code(), 406);
/// ```
pub fn negotiate_output(
    accept: Option<&str>,
    restrictions: Restrictions,
) -> Result<OutputMedia, ApiError> {
    let header = accept.map(str::trim).unwrap_or("");
    if header.is_empty() {
        return Ok(OutputMedia::default());
    }
    let formats: &[Format] = if restrictions.yaml {
        &[Format::Json, Format::Yaml]
    } else {
        &[Format::Json]
    };
    for clause in parse_accept(header) {
        for &format in formats {
            let (type_, subtype) = match format {
                Format::Json => ("application", "json"),
                Format::Yaml => ("application", "yaml"),
            };
            let matches = (clause.type_ == type_
                && (clause.subtype == subtype || clause.subtype == "*"))
                || (clause.type_ == "*" && clause.subtype == "*");
            if matches && let Some(media) = accept_clause(&clause, format, restrictions) {
                return Ok(media);
            }
        }
    }
    Err(not_acceptable(formats, restrictions.stream))
}

/// The media a matching clause yields, or `None` when its parameters ask for something this
/// endpoint cannot produce (kube's `acceptMediaTypeOptions`).
fn accept_clause(
    clause: &AcceptClause,
    format: Format,
    restrictions: Restrictions,
) -> Option<OutputMedia> {
    let (mut kind, mut group, mut version) = (None, None, None);
    let mut pretty = false;
    for (key, value) in &clause.params {
        match key.as_str() {
            "as" => kind = Some(value.as_str()),
            "g" => group = Some(value.as_str()),
            "v" => version = Some(value.as_str()),
            // Only JSON has a watch framing; a non-watch response ignores `stream=watch` as kube's
            // JSON serializer (which has a stream serializer) does.
            "stream" if !value.is_empty() && (value != "watch" || format != Format::Json) => {
                return None;
            }
            // The server version of the meta group: only `v1` exists.
            "sv" if !value.is_empty() && value != "v1" => return None,
            "pretty" => pretty = value == "1",
            _ => {}
        }
    }
    let conversion = if kind.is_none() && group.is_none() && version.is_none() {
        Conversion::None
    } else {
        if !restrictions.conversions || group != Some("meta.k8s.io") {
            return None;
        }
        let meta = match version {
            Some("v1") => MetaVersion::V1,
            Some("v1beta1") => MetaVersion::V1beta1,
            _ => return None,
        };
        match kind {
            Some("Table") => Conversion::Table(meta),
            Some("PartialObjectMetadata") => Conversion::PartialObjectMetadata(meta),
            Some("PartialObjectMetadataList") => Conversion::PartialObjectMetadataList(meta),
            _ => return None,
        }
    };
    Some(OutputMedia {
        format,
        conversion,
        pretty,
    })
}

/// kube's NotAcceptable text: `only the following media types are accepted: …`.
fn not_acceptable(formats: &[Format], stream: bool) -> ApiError {
    let listed: Vec<String> = formats
        .iter()
        .map(|f| {
            if stream {
                format!("{};stream=watch", f.media_type())
            } else {
                f.media_type().to_string()
            }
        })
        .collect();
    ApiError::NotAcceptable(format!(
        "only the following media types are accepted: {}",
        listed.join(", ")
    ))
}

/// kube's UnsupportedMediaType text listing what a body may be sent as.
fn unsupported_media_type(accepted: &[&str]) -> ApiError {
    ApiError::UnsupportedMediaType(format!(
        "the body of the request was in an unknown format - accepted media types include: {}",
        accepted.join(", ")
    ))
}

/// The media type of a `Content-Type` value without parameters (`; charset=utf-8`).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A serialisation Capstan reads request bodies in: what it writes, plus Kubernetes protobuf,
/// which client-go's typed clients send (and which Capstan never writes back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`.
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`, decoded by [`crate::api::protobuf`].
    Protobuf,
}

impl BodyFormat {
    /// The media type naming this format in `Content-Type`.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => Format::Json.media_type(),
            Self::Yaml => Format::Yaml.media_type(),
            Self::Protobuf => crate::api::protobuf::MEDIA_TYPE,
        }
    }
}

/// How to read a create/update (or DeleteOptions) body: JSON when no `Content-Type` is given, as
/// kube defaults to its first serializer. Protobuf is accepted where the body's kind has a
/// protobuf message (`protobuf`), as for kube's built-in kinds; custom-resource-like kinds take
/// only JSON and YAML. Anything else is 415 listing what would have been read, in kube's order.
pub fn negotiate_input(content_type: Option<&str>, protobuf: bool) -> Result<BodyFormat, ApiError> {
    match content_type.map(essence).as_deref() {
        None | Some("") | Some("application/json") => Ok(BodyFormat::Json),
        Some("application/yaml") => Ok(BodyFormat::Yaml),
        Some(crate::api::protobuf::MEDIA_TYPE) if protobuf => Ok(BodyFormat::Protobuf),
        Some(_) => {
            let mut accepted = vec![BodyFormat::Json.media_type(), BodyFormat::Yaml.media_type()];
            if protobuf {
                accepted.push(BodyFormat::Protobuf.media_type());
            }
            Err(unsupported_media_type(&accepted))
        }
    }
}

/// The patch formats kube knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 6902, `application/json-patch+json`.
    Json,
    /// RFC 7386, `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// Server-side apply, `application/apply-patch+yaml`.
    Apply,
}

impl PatchType {
    /// The `Content-Type` naming this patch type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json-patch+json",
            Self::Merge => "application/merge-patch+json",
            Self::StrategicMerge => "application/strategic-merge-patch+json",
            Self::Apply => "application/apply-patch+yaml",
        }
    }
}

/// The patch types of a kind with a schema, in the order kube's 415 message lists them.
pub const PATCH_TYPES: &[PatchType] = &[
    PatchType::Json,
    PatchType::Merge,
    PatchType::StrategicMerge,
    PatchType::Apply,
];

/// The patch types of a kind without a schema: strategic merge patch and apply need the kind's
/// merge keys and list types, so only the schemaless JSON and merge patches remain.
pub const SCHEMALESS_PATCH_TYPES: &[PatchType] = &[PatchType::Json, PatchType::Merge];

/// The patch type named by a PATCH request's `Content-Type`, among those the endpoint
/// `supports` ([`PATCH_TYPES`] or [`SCHEMALESS_PATCH_TYPES`]); anything else is 415 listing them.
pub fn negotiate_patch(
    content_type: Option<&str>,
    supports: &[PatchType],
) -> Result<PatchType, ApiError> {
    let essence = content_type.map(essence).unwrap_or_default();
    supports
        .iter()
        .copied()
        .find(|t| t.media_type() == essence)
        .ok_or_else(|| {
            let accepted: Vec<&str> = supports.iter().map(|t| t.media_type()).collect();
            unsupported_media_type(&accepted)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    fn out(accept: &str) -> Result<OutputMedia, ApiError> {
        negotiate_output(Some(accept), Restrictions::RESOURCE)
    }

    #[test]
    fn json_and_wildcards() {
        for accept in [
            "application/json",
            "*/*",
            "application/*",
            "*",
            "application/json; charset=utf-8",
            "",
        ] {
            let media = out(accept).unwrap();
            assert_eq!(
                (media.format, media.conversion),
                (Format::Json, Conversion::None),
                "{accept}"
            );
        }
        assert_eq!(
            negotiate_output(None, Restrictions::RESOURCE).unwrap(),
            OutputMedia::default()
        );
        assert_eq!(out("application/yaml").unwrap().format, Format::Yaml);
    }

    #[test]
    fn kubectl_gets_a_v1_table_and_discovery_plain_json() {
        assert_eq!(
            out(KUBECTL).unwrap().conversion,
            Conversion::Table(MetaVersion::V1)
        );
        let beta = "application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json";
        assert_eq!(
            out(beta).unwrap().conversion,
            Conversion::Table(MetaVersion::V1beta1)
        );
        let discovery = negotiate_output(Some(KUBECTL), Restrictions::DISCOVERY).unwrap();
        assert_eq!(discovery.conversion, Conversion::None);
    }

    #[test]
    fn metadata_clients_get_partial_object_metadata() {
        let accept = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        assert_eq!(
            out(accept).unwrap().conversion,
            Conversion::PartialObjectMetadataList(MetaVersion::V1)
        );
        let kube_rs = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        assert_eq!(
            out(kube_rs).unwrap().conversion,
            Conversion::PartialObjectMetadata(MetaVersion::V1)
        );
    }

    #[test]
    fn unknown_conversions_are_skipped_then_rejected() {
        // Aggregated discovery v2 is not served: fall through to plain JSON, or 406 alone.
        let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
        assert_eq!(
            out(&format!("{v2},application/json")).unwrap().conversion,
            Conversion::None
        );
        let err = out(v2).unwrap_err();
        assert_eq!(err.code(), 406);
        assert_eq!(
            err.to_string(),
            "only the following media types are accepted: application/json, application/yaml"
        );
        assert_eq!(out("application/json;as=Table").unwrap_err().code(), 406);
        assert_eq!(
            out("application/vnd.kubernetes.protobuf")
                .unwrap_err()
                .code(),
            406
        );
        assert_eq!(out("text/html").unwrap_err().code(), 406);
    }

    #[test]
    fn q_values_order_the_clauses() {
        let media = out("application/yaml;q=0.5, application/json").unwrap();
        assert_eq!(media.format, Format::Json);
        let media = out("application/json;q=0.1, application/yaml;q=0.9").unwrap();
        assert_eq!(media.format, Format::Yaml);
        assert_eq!(out("application/json;q=0").unwrap_err().code(), 406);
        // Concrete types win over wildcards at equal q.
        assert_eq!(out("*/*, application/yaml").unwrap().format, Format::Yaml);
    }

    #[test]
    fn watches_need_a_stream_framing() {
        let media = negotiate_output(
            Some("application/yaml, application/json"),
            Restrictions::WATCH,
        )
        .unwrap();
        assert_eq!(media.format, Format::Json);
        let err = negotiate_output(Some("application/yaml"), Restrictions::WATCH).unwrap_err();
        assert_eq!(
            err.to_string(),
            "only the following media types are accepted: application/json;stream=watch"
        );
        let media =
            negotiate_output(Some("application/json;stream=watch"), Restrictions::WATCH).unwrap();
        assert_eq!(media.format, Format::Json);
        assert_eq!(
            negotiate_output(Some(KUBECTL), Restrictions::WATCH)
                .unwrap()
                .conversion,
            Conversion::Table(MetaVersion::V1)
        );
    }

    #[test]
    fn pretty_parameter() {
        assert!(out("application/json;pretty=1").unwrap().pretty);
        assert!(!out("application/json").unwrap().pretty);
    }

    #[test]
    fn request_bodies() {
        for protobuf in [true, false] {
            assert_eq!(negotiate_input(None, protobuf).unwrap(), BodyFormat::Json);
            assert_eq!(
                negotiate_input(Some("application/json; charset=utf-8"), protobuf).unwrap(),
                BodyFormat::Json
            );
            assert_eq!(
                negotiate_input(Some("application/yaml"), protobuf).unwrap(),
                BodyFormat::Yaml
            );
        }
        assert_eq!(
            negotiate_input(Some("application/vnd.kubernetes.protobuf"), true).unwrap(),
            BodyFormat::Protobuf
        );
        // Kinds without a protobuf message (custom-resource-like groups) refuse it, as kube's
        // CRD handler does.
        let err = negotiate_input(Some("application/vnd.kubernetes.protobuf"), false).unwrap_err();
        assert_eq!(err.code(), 415);
        assert_eq!(err.reason(), "UnsupportedMediaType");
        assert_eq!(
            err.to_string(),
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"
        );
        let err = negotiate_input(Some("text/plain"), true).unwrap_err();
        assert_eq!(err.code(), 415);
        assert_eq!(
            err.to_string(),
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        );
    }

    #[test]
    fn patch_types() {
        assert_eq!(
            negotiate_patch(Some("application/json-patch+json"), PATCH_TYPES).unwrap(),
            PatchType::Json
        );
        assert_eq!(
            negotiate_patch(
                Some("application/merge-patch+json; charset=UTF-8"),
                PATCH_TYPES
            )
            .unwrap(),
            PatchType::Merge
        );
        assert_eq!(
            negotiate_patch(Some("application/strategic-merge-patch+json"), PATCH_TYPES).unwrap(),
            PatchType::StrategicMerge
        );
        assert_eq!(
            negotiate_patch(Some("application/apply-patch+yaml"), PATCH_TYPES).unwrap(),
            PatchType::Apply
        );
        for unsupported in [Some("application/json"), Some("text/plain"), None] {
            let err = negotiate_patch(unsupported, PATCH_TYPES).unwrap_err();
            assert_eq!(err.code(), 415, "{unsupported:?}");
            assert_eq!(
                err.to_string(),
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
            );
        }
        let err = negotiate_patch(
            Some("application/strategic-merge-patch+json"),
            SCHEMALESS_PATCH_TYPES,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json"
        );
    }
}
