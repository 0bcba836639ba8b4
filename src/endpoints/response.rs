//! Writing a handler's result: the negotiated conversion (object, `<Kind>List`, Table,
//! PartialObjectMetadata) and serialisation (JSON, pretty JSON, YAML) — kube's
//! `transformResponseObject`.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use serde_json::Value;

use crate::api::ApiError;
use crate::api::table::IncludeObject;
use crate::endpoints::handlers::accepts_protobuf;
use crate::endpoints::negotiation::{Conversion, Format, OutputMedia};
use crate::endpoints::query::QueryParams;
use crate::endpoints::request_info::parse_go_bool;
use crate::endpoints::status::is_status;
use crate::endpoints::table;
use crate::registry::{JsonItem, ListResult, Rest};

/// How one response is written, decided before the `Rest` is called so that a request the server
/// could not answer fails before it changes anything (kube negotiates first, too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Writer {
    /// The negotiated format and conversion.
    pub media: OutputMedia,
    /// `includeObject` of a Table conversion.
    pub include: IncludeObject,
    /// Indented JSON for humans.
    pub pretty: bool,
}

impl Writer {
    /// A writer for `media`, reading `includeObject` (only for Tables, as kube) and the pretty
    /// printing rules: `pretty=true`, `pretty=1` in the media type, or a browser or curl/wget
    /// User-Agent.
    pub fn new(
        media: OutputMedia,
        query: &QueryParams,
        headers: &HeaderMap,
    ) -> Result<Self, ApiError> {
        let include = match media.conversion {
            Conversion::Table(_) => crate::endpoints::query::include_object(query)?,
            _ => IncludeObject::default(),
        };
        let pretty = media.pretty || is_pretty(query, headers);
        Ok(Self {
            media,
            include,
            pretty,
        })
    }

    /// Writes one object (or a Status a `Rest` returned) with `code`.
    pub fn object(
        &self,
        rest: &dyn Rest,
        code: StatusCode,
        object: Value,
    ) -> Result<Response, ApiError> {
        if is_status(&object) {
            return self.encode(code, &object);
        }
        match self.media.conversion {
            Conversion::None => self.encode(code, &object),
            Conversion::Table(version) => self.encode(
                code,
                &table::object_table(rest, &object, version, self.include, true),
            ),
            Conversion::PartialObjectMetadata(version) => {
                self.encode(code, &table::partial_object_metadata(&object, version))
            }
            Conversion::PartialObjectMetadataList(_) => Err(ApiError::NotAcceptable(
                "you requested PartialObjectMetadataList, but the requested object is not a list"
                    .into(),
            )),
        }
    }

    /// Writes a list page as `<Kind>List` (items never `null`), or its Table or metadata list.
    pub fn list(
        &self,
        rest: &dyn Rest,
        code: StatusCode,
        list: ListResult,
    ) -> Result<Response, ApiError> {
        match self.media.conversion {
            Conversion::None => {
                let descriptor = rest.descriptor();
                let envelope = ListEnvelope {
                    kind: descriptor.list_kind(),
                    api_version: descriptor.api_version(),
                    metadata: table::list_meta(&list),
                    items: ListItems {
                        items: &list.items,
                        type_meta: !accepts_protobuf(descriptor),
                    },
                };
                self.encode(code, &envelope)
            }
            Conversion::Table(version) => {
                self.encode(code, &table::list_table(rest, &list, version, self.include))
            }
            Conversion::PartialObjectMetadataList(version) => {
                self.encode(code, &table::partial_object_metadata_list(&list, version))
            }
            Conversion::PartialObjectMetadata(_) => Err(ApiError::NotAcceptable(
                "you requested PartialObjectMetadata, but the requested object is a list".into(),
            )),
        }
    }

    /// Whether list items go out as the JSON text a `Rest` gives ([`Rest::list_json`]): plain,
    /// compact JSON of the objects themselves, with no conversion to apply.
    pub fn writes_json_items(&self) -> bool {
        self.media.conversion == Conversion::None
            && self.media.format == Format::Json
            && !self.pretty
    }

    /// Writes a page of JSON text items as `<Kind>List`, byte for byte what [`Writer::list`]
    /// writes from the same items as values (a built-in kind's items without TypeMeta), into one
    /// buffer sized for it up front.
    pub fn json_list(
        &self,
        rest: &dyn Rest,
        code: StatusCode,
        list: ListResult<JsonItem>,
    ) -> Result<Response, ApiError> {
        let descriptor = rest.descriptor();
        let items: usize = list.items.iter().map(|item| item.as_str().len() + 1).sum();
        let mut body = Vec::with_capacity(items + ENVELOPE_ROOM);
        // `ListEnvelope`'s fields, in its order, with the items copied in as they are
        body.extend_from_slice(b"{\"kind\":");
        serde_json::to_writer(&mut body, &descriptor.list_kind()).map_err(ApiError::internal)?;
        body.extend_from_slice(b",\"apiVersion\":");
        serde_json::to_writer(&mut body, &descriptor.api_version()).map_err(ApiError::internal)?;
        body.extend_from_slice(b",\"metadata\":");
        serde_json::to_writer(&mut body, &table::list_meta(&list)).map_err(ApiError::internal)?;
        body.extend_from_slice(b",\"items\":[");
        let type_meta = !accepts_protobuf(descriptor);
        for (i, item) in list.items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            item.write_to(&mut body, type_meta);
        }
        body.extend_from_slice(b"]}");
        Ok((
            code,
            [(header::CONTENT_TYPE, Format::Json.media_type())],
            body,
        )
            .into_response())
    }

    /// Serialises `value` in the negotiated format.
    pub fn encode(&self, code: StatusCode, value: &impl Serialize) -> Result<Response, ApiError> {
        let body = match (self.media.format, self.pretty) {
            (Format::Json, false) => serde_json::to_vec(value).map_err(ApiError::internal)?,
            (Format::Json, true) => {
                let mut body = serde_json::to_vec_pretty(value).map_err(ApiError::internal)?;
                body.push(b'\n');
                body
            }
            (Format::Yaml, _) => serde_saphyr::to_string(value)
                .map_err(ApiError::internal)?
                .into_bytes(),
        };
        Ok((
            code,
            [(header::CONTENT_TYPE, self.media.format.media_type())],
            body,
        )
            .into_response())
    }
}

/// `<Kind>List` in kube's field order (which [`Writer::json_list`] writes by hand).
#[derive(Serialize)]
struct ListEnvelope<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta,
    items: ListItems<'a>,
}

/// A list's items. kube writes the items of a built-in kind's list without `kind` and
/// `apiVersion` (its typed lists hold items whose TypeMeta is empty), while custom resources'
/// items keep theirs. Clients see the difference: a typed client-go list then differs from the
/// same objects read by a watch, which client-go's watch-list consistency check reports.
struct ListItems<'a> {
    items: &'a [Value],
    /// Whether each item keeps `kind` and `apiVersion`.
    type_meta: bool,
}

impl Serialize for ListItems<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};

        /// One item without its TypeMeta, written without copying it.
        struct Untyped<'a>(&'a serde_json::Map<String, Value>);
        impl Serialize for Untyped<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let fields = self
                    .0
                    .iter()
                    .filter(|(k, _)| k.as_str() != "kind" && k.as_str() != "apiVersion");
                let mut map = serializer.serialize_map(None)?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }

        let mut seq = serializer.serialize_seq(Some(self.items.len()))?;
        for item in self.items {
            match item {
                Value::Object(fields) if !self.type_meta => {
                    seq.serialize_element(&Untyped(fields))?
                }
                other => seq.serialize_element(other)?,
            }
        }
        seq.end()
    }
}

/// Room for a list's kind, apiVersion, metadata and brackets around its items.
const ENVELOPE_ROOM: usize = 512;

/// kube's `isPrettyPrint`: `?pretty=` as Go's `ParseBool` reads it, else human user agents.
fn is_pretty(query: &QueryParams, headers: &HeaderMap) -> bool {
    if let Some(value) = query.get("pretty").filter(|v| !v.is_empty()) {
        return parse_go_bool(value).unwrap_or(false);
    }
    headers
        .get(header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok())
        .is_some_and(|ua| {
            ua.starts_with("curl") || ua.starts_with("Wget") || ua.starts_with("Mozilla/5.0")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ResourceDescriptor;
    use crate::endpoints::negotiation::MetaVersion;
    use http_body_util::BodyExt;
    use serde_json::json;
    use std::collections::BTreeSet;

    struct Widgets(ResourceDescriptor);

    #[async_trait::async_trait]
    impl Rest for Widgets {
        fn descriptor(&self) -> &ResourceDescriptor {
            &self.0
        }
        fn verbs(&self) -> BTreeSet<crate::registry::Verb> {
            BTreeSet::new()
        }
    }

    fn widgets() -> Widgets {
        Widgets(ResourceDescriptor {
            group: "capstan.dev".into(),
            version: "v1".into(),
            kind: "Widget".into(),
            plural: "widgets".into(),
            ..Default::default()
        })
    }

    fn writer(conversion: Conversion) -> Writer {
        Writer {
            media: OutputMedia {
                conversion,
                ..Default::default()
            },
            include: IncludeObject::Metadata,
            pretty: false,
        }
    }

    async fn body(response: Response) -> (StatusCode, String, Vec<u8>) {
        let (parts, body) = response.into_parts();
        let content_type = parts.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        (
            parts.status,
            content_type,
            body.collect().await.unwrap().to_bytes().to_vec(),
        )
    }

    #[tokio::test]
    async fn empty_lists_have_an_empty_items_array() {
        let response = writer(Conversion::None)
            .list(
                &widgets(),
                StatusCode::OK,
                ListResult {
                    resource_version: "3".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let (code, content_type, bytes) = body(response).await;
        assert_eq!(
            (code, content_type.as_str()),
            (StatusCode::OK, "application/json")
        );
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"kind":"WidgetList","apiVersion":"capstan.dev/v1","metadata":{"resourceVersion":"3"},"items":[]}"#
        );
    }

    #[tokio::test]
    async fn built_in_list_items_have_no_type_meta() {
        struct Pods(ResourceDescriptor);
        #[async_trait::async_trait]
        impl Rest for Pods {
            fn descriptor(&self) -> &ResourceDescriptor {
                &self.0
            }
            fn verbs(&self) -> BTreeSet<crate::registry::Verb> {
                BTreeSet::new()
            }
        }
        let pods = Pods(ResourceDescriptor {
            version: "v1".into(),
            kind: "Pod".into(),
            plural: "pods".into(),
            ..Default::default()
        });
        let page = || ListResult {
            resource_version: "3".into(),
            items: vec![json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"}})],
            ..Default::default()
        };
        let (_, _, bytes) = body(
            writer(Conversion::None)
                .list(&pods, StatusCode::OK, page())
                .unwrap(),
        )
        .await;
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"3"},"items":[{"metadata":{"name":"a"}}]}"#
        );
        // Custom-resource-like kinds keep them, as kube's custom resources do.
        let (_, _, bytes) = body(
            writer(Conversion::None)
                .list(&widgets(), StatusCode::OK, page())
                .unwrap(),
        )
        .await;
        let list: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(list["items"][0]["kind"], "Pod");
        assert_eq!(list["items"][0]["apiVersion"], "v1");

        // The JSON text path writes the same, for both.
        for rest in [&pods as &dyn Rest, &widgets()] {
            let w = writer(Conversion::None);
            let (_, _, from_values) = body(w.list(rest, StatusCode::OK, page()).unwrap()).await;
            let page = page();
            let json_page = ListResult {
                items: page
                    .items
                    .iter()
                    .map(|v| JsonItem::from_value(v).unwrap())
                    .collect(),
                resource_version: page.resource_version,
                ..Default::default()
            };
            let (_, _, from_text) =
                body(w.json_list(rest, StatusCode::OK, json_page).unwrap()).await;
            assert_eq!(
                std::str::from_utf8(&from_text).unwrap(),
                std::str::from_utf8(&from_values).unwrap()
            );
        }
    }

    #[tokio::test]
    async fn json_item_lists_are_written_as_value_lists_are() {
        let items = vec![
            json!({"kind": "Widget", "metadata": {"name": "a", "resourceVersion": "4"}}),
            json!({"kind": "Widget", "metadata": {"name": "é\"b\""}, "spec": {"n": [1, 2.5]}}),
        ];
        let page = ListResult {
            items: items.clone(),
            resource_version: "9".into(),
            continue_token: Some("next".into()),
            remaining_item_count: Some(3),
        };
        let json_page = ListResult {
            items: items
                .iter()
                .map(|v| JsonItem::from_value(v).unwrap())
                .collect(),
            resource_version: page.resource_version.clone(),
            continue_token: page.continue_token.clone(),
            remaining_item_count: page.remaining_item_count,
        };
        let w = writer(Conversion::None);
        assert!(w.writes_json_items());
        let (_, _, from_values) = body(w.list(&widgets(), StatusCode::OK, page).unwrap()).await;
        let (code, content_type, from_text) =
            body(w.json_list(&widgets(), StatusCode::OK, json_page).unwrap()).await;
        assert_eq!(
            (code, content_type.as_str()),
            (StatusCode::OK, "application/json")
        );
        assert_eq!(
            std::str::from_utf8(&from_text).unwrap(),
            std::str::from_utf8(&from_values).unwrap()
        );

        // Conversions, YAML and pretty printing need values.
        assert!(!writer(Conversion::Table(MetaVersion::V1)).writes_json_items());
        assert!(!Writer { pretty: true, ..w }.writes_json_items());
        let yaml = Writer {
            media: OutputMedia {
                format: Format::Yaml,
                ..Default::default()
            },
            ..w
        };
        assert!(!yaml.writes_json_items());
    }

    #[tokio::test]
    async fn status_values_pass_through_conversions() {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Success"});
        let response = writer(Conversion::Table(MetaVersion::V1))
            .object(&widgets(), StatusCode::OK, status.clone())
            .unwrap();
        let (_, _, bytes) = body(response).await;
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), status);
    }

    #[tokio::test]
    async fn partial_metadata_of_the_wrong_shape_is_406() {
        let w = widgets();
        let err = writer(Conversion::PartialObjectMetadata(MetaVersion::V1))
            .list(&w, StatusCode::OK, ListResult::default())
            .unwrap_err();
        assert_eq!(err.code(), 406);
        let err = writer(Conversion::PartialObjectMetadataList(MetaVersion::V1))
            .object(&w, StatusCode::OK, json!({"metadata": {}}))
            .unwrap_err();
        assert_eq!(err.code(), 406);
    }

    #[tokio::test]
    async fn yaml_and_pretty_output() {
        let object = json!({"kind": "Widget", "metadata": {"name": "w"}});
        let yaml = Writer {
            media: OutputMedia {
                format: Format::Yaml,
                ..Default::default()
            },
            include: IncludeObject::Metadata,
            pretty: false,
        };
        let (_, content_type, bytes) = body(
            yaml.object(&widgets(), StatusCode::OK, object.clone())
                .unwrap(),
        )
        .await;
        assert_eq!(content_type, "application/yaml");
        let back: Value = serde_saphyr::from_slice(&bytes).unwrap();
        assert_eq!(back, object);

        let pretty = Writer {
            pretty: true,
            ..writer(Conversion::None)
        };
        let (_, _, bytes) = body(pretty.object(&widgets(), StatusCode::OK, object).unwrap()).await;
        assert!(
            std::str::from_utf8(&bytes)
                .unwrap()
                .contains("\n  \"kind\": \"Widget\"")
        );
    }

    #[test]
    fn pretty_rules() {
        let none = HeaderMap::new();
        assert!(is_pretty(&QueryParams::parse(Some("pretty=true")), &none));
        assert!(!is_pretty(&QueryParams::parse(Some("pretty=false")), &none));
        assert!(!is_pretty(&QueryParams::parse(None), &none));
        let mut curl = HeaderMap::new();
        curl.insert(header::USER_AGENT, "curl/8.5.0".parse().unwrap());
        assert!(is_pretty(&QueryParams::parse(None), &curl));
        let mut kubectl = HeaderMap::new();
        kubectl.insert(
            header::USER_AGENT,
            "kubectl/v1.32.0 (linux/amd64)".parse().unwrap(),
        );
        assert!(!is_pretty(&QueryParams::parse(None), &kubectl));
    }
}
