//! Splitting a request path into API prefix, group, version, namespace, resource, name and
//! subresource, and deriving the verb: kube's `RequestInfoFactory`.
//!
//! The request-info filter computes this once and stores it in the request extensions; the
//! timeout, in-flight, authorization filters and the API handlers all read it from there.

use http::Method;

/// What a request is about. For non-resource requests only `path` and `verb` are meaningful.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Whether the path names a resource (`/api/v1/pods`) rather than discovery or a non-API path.
    pub is_resource_request: bool,
    /// The request path as received.
    pub path: String,
    /// `get list watch create update patch delete deletecollection`, or the lower-case HTTP
    /// method for non-resource requests.
    pub verb: String,
    /// `api` or `apis`.
    pub api_prefix: String,
    /// The group; empty for the core group under `/api`.
    pub api_group: String,
    /// The version (`v1`).
    pub api_version: String,
    /// The namespace in the path; for `namespaces/{name}` itself, that name.
    pub namespace: String,
    /// The resource plural (`pods`).
    pub resource: String,
    /// The subresource (`status`), empty for the resource itself.
    pub subresource: String,
    /// The object name; for a list whose field selector pins `metadata.name`, that name (for
    /// authorization only; handlers dispatch on `verb`).
    pub name: String,
    /// Path segments after the group-version (and namespace), for diagnostics.
    pub parts: Vec<String>,
}

/// Subresources of `namespaces/{name}` that are not nested resources.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

impl RequestInfo {
    /// Parses a request line. `query` is the raw query string (without `?`).
    ///
    /// ```
    /// use capstan::endpoints::request_info::RequestInfo;
    /// use http::Method;
    /// let ri = RequestInfo::parse(&Method::GET, "/api/v1/namespaces/default/pods", Some("watch=1"));
    /// assert_eq!((ri.verb.as_str(), ri.namespace.as_str(), ri.resource.as_str()), ("watch", "default", "pods"));
    /// let ri = RequestInfo::parse(&Method::POST, "/apis/capstan.dev/v1/namespaces/d/pods/p/binding", None);
    /// assert_eq!((ri.verb.as_str(), ri.name.as_str(), ri.subresource.as_str()), ("create", "p", "binding"));
    /// ```
    pub fn parse(method: &Method, path: &str, query: Option<&str>) -> Self {
        let mut info = Self {
            path: path.to_string(),
            verb: method.as_str().to_ascii_lowercase(),
            ..Default::default()
        };
        let mut parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        if parts.len() < 2 || !matches!(parts[0], "api" | "apis") {
            return info;
        }
        info.api_prefix = parts[0].to_string();
        parts.remove(0);
        if info.api_prefix == "apis" {
            if parts.len() < 2 {
                return info;
            }
            info.api_group = parts.remove(0).to_string();
        }
        info.api_version = parts.remove(0).to_string();
        if parts.is_empty() || parts[0].is_empty() {
            return info;
        }
        info.is_resource_request = true;
        info.verb = match *method {
            Method::POST => "create",
            Method::GET | Method::HEAD => "get",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "",
        }
        .to_string();
        if parts[0] == "watch" {
            parts.remove(0);
            info.verb = "watch".into();
            if parts.is_empty() {
                info.is_resource_request = false;
                return info;
            }
        }
        if parts[0] == "namespaces" && parts.len() > 1 {
            info.namespace = parts[1].to_string();
            if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
                parts.drain(..2);
            }
        }
        if parts.len() >= 3 {
            info.subresource = parts[2].to_string();
        }
        if parts.len() >= 2 {
            info.name = parts[1].to_string();
        }
        info.resource = parts[0].to_string();
        info.parts = parts.iter().map(|s| s.to_string()).collect();

        if info.name.is_empty() && info.verb == "get" {
            info.verb = if query_flag(query, "watch") {
                "watch"
            } else {
                "list"
            }
            .into();
            if let Some(name) = field_selector_name(query) {
                info.name = name;
            }
        }
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".into();
        }
        info
    }

    /// Whether the request streams for a long time and is exempt from the request timeout and
    /// the in-flight limits (`watch`, and kube-apiserver's connect subresources on pods).
    pub fn is_long_running(&self) -> bool {
        self.verb == "watch"
            || self.verb == "proxy"
            || matches!(
                self.subresource.as_str(),
                "attach" | "exec" | "proxy" | "log" | "portforward"
            )
    }

    /// Whether the request only reads (get, list, watch; or a GET on a non-resource path).
    pub fn is_read_only(&self) -> bool {
        matches!(self.verb.as_str(), "get" | "list" | "watch" | "head")
    }
}

/// Go's `strconv.ParseBool` truth values, as the parameter codec reads `watch`.
pub fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A boolean query parameter as kube's parameter codec reads it (`Convert_Slice_string_To_bool`):
/// the first value counts, and anything but `0` or `false` (any case) is true — `?watch` and
/// `?watch=yes` watch too. `endpoints::query` reads options the same way, so the verb here and
/// the options a handler sees always agree.
fn query_flag(query: Option<&str>, key: &str) -> bool {
    query
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == key))
        .is_some_and(|(_, v)| !(v == "0" || v.eq_ignore_ascii_case("false")))
}

/// `metadata.name=x` (or `==`) in a field selector, as kube uses it to name a list for authz.
fn field_selector_name(query: Option<&str>) -> Option<String> {
    let q = query?;
    let selector = form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "fieldSelector")
        .map(|(_, v)| v.into_owned())?;
    selector.split(',').find_map(|term| {
        let (field, value) = term.split_once("==").or_else(|| term.split_once('='))?;
        (field.trim() == "metadata.name"
            && !value.contains('!')
            && !value.is_empty()
            && !value.contains('/'))
        .then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, path: &str, q: Option<&str>) -> RequestInfo {
        RequestInfo::parse(&method, path, q)
    }

    #[test]
    fn collection_verbs() {
        assert_eq!(parse(Method::GET, "/api/v1/pods", None).verb, "list");
        assert_eq!(
            parse(Method::GET, "/api/v1/pods", Some("watch=True")).verb,
            "watch"
        );
        assert_eq!(parse(Method::GET, "/api/v1/watch/pods", None).verb, "watch");
        for lenient in ["watch", "watch=", "watch=yes", "watch=1&watch=0"] {
            assert_eq!(
                parse(Method::GET, "/api/v1/pods", Some(lenient)).verb,
                "watch",
                "{lenient}"
            );
        }
        for off in ["watch=false", "watch=FALSE", "watch=0", "watch=0&watch=1"] {
            assert_eq!(
                parse(Method::GET, "/api/v1/pods", Some(off)).verb,
                "list",
                "{off}"
            );
        }
        assert_eq!(
            parse(Method::DELETE, "/api/v1/namespaces/a/pods", None).verb,
            "deletecollection"
        );
        assert_eq!(
            parse(Method::POST, "/api/v1/namespaces/a/pods", None).verb,
            "create"
        );
    }

    #[test]
    fn namespaces_are_resources_too() {
        let ri = parse(Method::GET, "/api/v1/namespaces/a", None);
        assert_eq!(
            (
                ri.resource.as_str(),
                ri.name.as_str(),
                ri.namespace.as_str()
            ),
            ("namespaces", "a", "a")
        );
        let ri = parse(Method::PUT, "/api/v1/namespaces/a/finalize", None);
        assert_eq!(
            (ri.resource.as_str(), ri.subresource.as_str()),
            ("namespaces", "finalize")
        );
        let ri = parse(Method::GET, "/api/v1/namespaces", None);
        assert_eq!(
            (ri.resource.as_str(), ri.verb.as_str()),
            ("namespaces", "list")
        );
    }

    #[test]
    fn discovery_is_not_a_resource_request() {
        for p in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/capstan.dev",
            "/apis/capstan.dev/v1",
            "/healthz",
        ] {
            let ri = parse(Method::GET, p, None);
            assert!(!ri.is_resource_request, "{p}");
            assert_eq!(ri.verb, "get");
        }
    }

    #[test]
    fn grouped_paths() {
        let ri = parse(
            Method::PATCH,
            "/apis/capstan.dev/v1/namespaces/d/pods/p/status",
            None,
        );
        assert_eq!(ri.api_group, "capstan.dev");
        assert_eq!(ri.api_version, "v1");
        assert_eq!(
            (
                ri.verb.as_str(),
                ri.resource.as_str(),
                ri.name.as_str(),
                ri.subresource.as_str()
            ),
            ("patch", "pods", "p", "status")
        );
    }

    #[test]
    fn list_with_name_selector_is_still_a_list() {
        let ri = parse(
            Method::GET,
            "/api/v1/namespaces/d/pods",
            Some("fieldSelector=metadata.name%3Dweb"),
        );
        assert_eq!((ri.verb.as_str(), ri.name.as_str()), ("list", "web"));
    }

    #[test]
    fn long_running() {
        assert!(parse(Method::GET, "/api/v1/pods", Some("watch=1")).is_long_running());
        assert!(!parse(Method::GET, "/api/v1/pods", None).is_long_running());
        assert!(parse(Method::GET, "/api/v1/namespaces/a/pods/p/log", None).is_long_running());
    }
}
