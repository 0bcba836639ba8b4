//! The kubelet-facing subresources `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward`
//! (kube's `LogREST`, `ExecREST`, `AttachREST` and `PortForwardREST`, with `LogLocation` and
//! `streamLocation` of pkg/registry/core/pod/strategy.go).
//!
//! kube-apiserver answers these by proxying to the kubelet of the pod's node, after checks of its
//! own; Capstan has no kubelets and no Node objects, so it gives the answers kube-apiserver gives
//! before it would proxy, which are what a user of a cluster without running nodes sees:
//!
//! * the pod must exist (404 on the pods resource) and a container it names must be one of the
//!   pod's init, regular or ephemeral containers; with no name, a pod with several containers is
//!   400 listing them;
//! * a pod no scheduler has placed (`spec.nodeName` empty) has an empty log (200, `text/plain`,
//!   no bytes — `kubectl logs` prints nothing), and cannot be exec'd, attached or port-forwarded
//!   (400 "pod <name> does not have a host assigned");
//! * a pod bound to a node is answered as kube answers when that node has no Node object: 404
//!   for the node's name — reported, as kube's generic store does, under the resource of the
//!   request: `pods "<node>" not found`.
//!
//! Log options are read and validated first, as kube's parameter codec and
//! `ValidatePodLogOptions` do (the alpha `stream` option is off, as by default in kube).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::api::field::{FieldError, FieldErrors};
use crate::api::options::GetOptions;
use crate::api::{ApiError, GroupKind, GroupResource, ResourceDescriptor};
use crate::registry::{RawResponse, RequestContext, Rest, Verb};

/// Which kubelet-facing subresource an endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectKind {
    /// `pods/log`: a getter streaming the container's log.
    Log,
    /// `pods/exec`: runs a command in a container.
    Exec,
    /// `pods/attach`: attaches to a container's process.
    Attach,
    /// `pods/portforward`: forwards ports of the pod.
    PortForward,
}

impl ConnectKind {
    /// Every kind, in path order.
    pub const ALL: [ConnectKind; 4] = [Self::Attach, Self::Exec, Self::Log, Self::PortForward];

    /// The subresource's path segment.
    pub fn subresource(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Exec => "exec",
            Self::Attach => "attach",
            Self::PortForward => "portforward",
        }
    }
}

/// One kubelet-facing subresource of the pods served by `pods`.
pub struct PodConnectRest {
    descriptor: ResourceDescriptor,
    kind: ConnectKind,
    pods: Arc<dyn Rest>,
}

impl PodConnectRest {
    /// The `kind` subresource of the pods `pods` serves. Discovery names the kind kube does:
    /// `Pod` for the log, core/v1's `Pod<Exec|Attach|PortForward>Options` for the others.
    pub fn new(kind: ConnectKind, pods: Arc<dyn Rest>) -> Self {
        let parent = pods.descriptor();
        let (group, version, kind_name) = match kind {
            ConnectKind::Log => (parent.group.clone(), parent.version.clone(), "Pod"),
            ConnectKind::Exec => (String::new(), "v1".into(), "PodExecOptions"),
            ConnectKind::Attach => (String::new(), "v1".into(), "PodAttachOptions"),
            ConnectKind::PortForward => (String::new(), "v1".into(), "PodPortForwardOptions"),
        };
        let descriptor = ResourceDescriptor {
            group,
            version,
            kind: kind_name.into(),
            plural: format!("pods/{}", kind.subresource()),
            singular: String::new(),
            namespaced: true,
            short_names: Vec::new(),
            categories: Vec::new(),
        };
        Self {
            descriptor,
            kind,
            pods,
        }
    }

    async fn pod(&self, ctx: &RequestContext, name: &str) -> Result<Value, ApiError> {
        self.pods.get(ctx, name, &GetOptions::default()).await
    }
}

#[async_trait]
impl Rest for PodConnectRest {
    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    /// kube lists the log as `get` and the upgradeable ones as `create` and `get` (POST, GET).
    fn verbs(&self) -> BTreeSet<Verb> {
        match self.kind {
            ConnectKind::Log => BTreeSet::from([Verb::Get]),
            _ => BTreeSet::from([Verb::Create, Verb::Get]),
        }
    }

    fn is_connect(&self) -> bool {
        true
    }

    async fn connect(
        &self,
        ctx: &RequestContext,
        name: &str,
        params: &[(String, String)],
    ) -> Result<RawResponse, ApiError> {
        let param = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        if self.kind != ConnectKind::Log && params.iter().any(|(k, _)| k == "dryRun") {
            // kube's ConnectResource handler refuses dry runs before anything else.
            return Err(ApiError::BadRequest("dryRun is not supported".into()));
        }
        if self.kind == ConnectKind::Log {
            let errs = validate_log_options(params)?;
            if !errs.is_empty() {
                return Err(ApiError::invalid(
                    GroupKind::new("", "PodLogOptions"),
                    name,
                    errs,
                ));
            }
        }
        let pod = self.pod(ctx, name).await?;
        if self.kind != ConnectKind::PortForward {
            check_container(&pod, name, param("container").unwrap_or(""))?;
        }
        let node = pod["spec"]["nodeName"].as_str().unwrap_or("");
        if node.is_empty() {
            return match self.kind {
                ConnectKind::Log => Ok(RawResponse {
                    content_type: "text/plain".into(),
                    body: Vec::new(),
                }),
                _ => Err(ApiError::BadRequest(format!(
                    "pod {name} does not have a host assigned"
                ))),
            };
        }
        // kube looks the node up for its kubelet's address, through the node store with the
        // pod request's context, whose resource its NotFound names (`qualifiedResourceFromContext`);
        // Capstan serves no Node objects.
        Err(ApiError::NotFound {
            resource: GroupResource::new(self.pods.descriptor().group.clone(), "pods"),
            name: node.to_string(),
        })
    }
}

/// kube's `validateContainer`: a named container must be one of the pod's; an unnamed one is
/// the only container, else a 400 listing them all (init, regular, ephemeral).
fn check_container(pod: &Value, name: &str, container: &str) -> Result<(), ApiError> {
    let spec = &pod["spec"];
    let names: Vec<&str> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| spec[*list].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str())
        .collect();
    if !container.is_empty() {
        if names.contains(&container) {
            return Ok(());
        }
        return Err(ApiError::BadRequest(format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    let regular = spec["containers"].as_array().map_or(0, Vec::len);
    match regular {
        1 => Ok(()),
        0 => Err(ApiError::BadRequest(format!(
            "a container name must be specified for pod {name}"
        ))),
        // Go prints the []string with %s: `[a b c]`.
        _ => Err(ApiError::BadRequest(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            names.join(" ")
        ))),
    }
}

/// Reads `PodLogOptions` from the query as kube's parameter codec does (a malformed number or
/// time is 400 with Go's conversion text) and returns what `ValidatePodLogOptions` finds wrong.
fn validate_log_options(params: &[(String, String)]) -> Result<FieldErrors, ApiError> {
    let first = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let tail_lines = first("tailLines").map(parse_int64).transpose()?;
    let limit_bytes = first("limitBytes").map(parse_int64).transpose()?;
    let since_seconds = first("sinceSeconds").map(parse_int64).transpose()?;
    let since_time = first("sinceTime").map(check_time).transpose()?;
    let mut errs = FieldErrors::new();
    if let Some(n) = tail_lines.filter(|n| *n < 0) {
        errs.push(FieldError::invalid(
            "tailLines",
            n,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(n) = limit_bytes.filter(|n| *n < 1) {
        errs.push(FieldError::invalid(
            "limitBytes",
            n,
            "must be greater than 0",
        ));
    }
    match (since_seconds, since_time) {
        (Some(_), Some(_)) => errs.push(FieldError::forbidden(
            "",
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        )),
        (Some(n), None) if n < 1 => errs.push(FieldError::invalid(
            "sinceSeconds",
            n,
            "must be greater than 0",
        )),
        _ => {}
    }
    // Choosing a stream is the alpha PodLogsQuerySplitStreams, off by default.
    if first("stream").is_some() {
        errs.push(FieldError::forbidden("stream", "may not be specified"));
    }
    Ok(errs)
}

/// `strconv.ParseInt(s, 10, 64)` with Go's error text, as the parameter codec reports it.
fn parse_int64(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        ApiError::BadRequest(format!("strconv.ParseInt: parsing {s:?}: {why}"))
    })
}

/// `metav1.Time.UnmarshalQueryParameter`: empty and `null` are the zero time; anything else must
/// be RFC 3339. The error names the layout as Go's `time.Parse` does (the detail after it is
/// ours).
fn check_time(s: &str) -> Result<(), ApiError> {
    if s.is_empty() || s == "null" || s.parse::<jiff::Timestamp>().is_ok() {
        return Ok(());
    }
    Err(ApiError::BadRequest(format!(
        "parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {s:?} as an RFC 3339 time"
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn log_options_are_validated_as_kube_does() {
        let messages = |list: &[(&str, &str)]| -> Vec<String> {
            validate_log_options(&pairs(list))
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert!(messages(&[("tailLines", "0"), ("sinceSeconds", "5")]).is_empty());
        assert_eq!(
            messages(&[("tailLines", "-1"), ("limitBytes", "0")]),
            [
                "tailLines: Invalid value: -1: must be greater than or equal to 0",
                "limitBytes: Invalid value: 0: must be greater than 0"
            ]
        );
        assert_eq!(
            messages(&[("sinceSeconds", "0"), ("sinceTime", "2024-01-01T00:00:00Z")]),
            // kube's empty field path still prints its colon.
            [": Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"]
        );
        assert_eq!(
            messages(&[("stream", "Stdout")]),
            ["stream: Forbidden: may not be specified"]
        );
        let err = validate_log_options(&pairs(&[("tailLines", "ten")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "strconv.ParseInt: parsing \"ten\": invalid syntax"
        );
        assert!(validate_log_options(&pairs(&[("sinceTime", "yesterday")])).is_err());
    }

    #[test]
    fn containers_are_checked_as_kube_does() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "a"}, {"name": "b"}],
            "ephemeralContainers": [{"name": "debug"}]
        }});
        assert!(check_container(&pod, "p", "debug").is_ok());
        assert_eq!(
            check_container(&pod, "p", "c").unwrap_err().to_string(),
            "container c is not valid for pod p"
        );
        assert_eq!(
            check_container(&pod, "p", "").unwrap_err().to_string(),
            "a container name must be specified for pod p, choose one of: [init a b debug]"
        );
        let single = json!({"spec": {"containers": [{"name": "only"}]}});
        assert!(check_container(&single, "p", "").is_ok());
    }
}
