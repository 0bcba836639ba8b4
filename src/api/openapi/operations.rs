//! The paths and operations of served resources, independent of the OpenAPI version that renders
//! them.
//!
//! Names follow kube-apiserver so that clients keyed on them keep working: operation IDs as
//! k8s.io/apiserver's `GetOperationIDAndTags` builds them (`patchCoreV1NamespacedPod`,
//! `listCapstanDevV1PodForAllNamespaces`), `x-kubernetes-action` as its installer sets it, and
//! every PATCH operation lists `fieldValidation` (kubectl's `query_param_verifier_v3` looks for
//! exactly that to decide on server-side field validation).

use super::params::{delete_params, list_params, path_param, pretty, write_params};
use super::{ServedResource, ServedSubresource};

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum In {
    Path,
    Query,
}

/// One path or query parameter.
#[derive(Clone, Debug)]
pub(super) struct Param {
    pub name: &'static str,
    pub location: In,
    pub description: String,
    /// `string`, `boolean` or `integer`.
    pub ty: &'static str,
}

/// What an operation's body is.
#[derive(Clone, Debug)]
pub(super) enum Body {
    /// An object of the named definition, any content type.
    Object { schema: String, required: bool },
    /// A patch: json-patch, merge-patch, strategic-merge-patch or apply-patch+yaml.
    Patch,
}

/// What a successful response may be encoded as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Produces {
    Object,
    /// Also the watch stream framing.
    Stream,
}

/// One operation on a path.
#[derive(Clone, Debug)]
pub(super) struct Operation {
    /// Lower-case HTTP method.
    pub method: &'static str,
    pub id: String,
    pub description: String,
    pub action: &'static str,
    /// The kind this operation is about (for a subresource, the kind of its body).
    pub gvk: (String, String, String),
    pub tag: String,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    /// (status code, description, definition of the body if any).
    pub responses: Vec<(u16, &'static str, Option<String>)>,
    pub produces: Produces,
}

/// The parts of an operation that differ from one to the next.
struct Spec {
    method: &'static str,
    /// kube's verb prefix of the operation ID (`read`, `replace`, `watch`, …).
    verb: &'static str,
    /// The rest of the operation ID after the group-version (`NamespacedPod`).
    rest: String,
    action: &'static str,
    description: String,
    params: Vec<Param>,
    body: Option<Body>,
    responses: Vec<(u16, &'static str, Option<String>)>,
}

/// One path and its operations.
#[derive(Clone, Debug)]
pub(super) struct PathItem {
    pub path: String,
    /// The document the path belongs to: `api/v1`, `apis/capstan.dev/v1`.
    pub gv_path: String,
    /// Parameters shared by every operation: path parameters and `pretty`.
    pub params: Vec<Param>,
    pub operations: Vec<Operation>,
}

/// Definition names every group's operations use.
pub(super) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(super) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(super) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(super) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(super) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

/// The patch content types kube accepts (CBOR apply aside), in kube's order.
pub(super) const PATCH_TYPES: [&str; 4] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// kube's `ToValidOperationID`: drops punctuation, capitalising the letter after it (and the
/// first letter when asked).
pub(super) fn to_operation_id(s: &str, capitalize_first: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut capitalize = capitalize_first;
    for (i, c) in s.char_indices() {
        if c.is_alphabetic() || c == '_' || (i != 0 && c.is_ascii_digit()) {
            if capitalize {
                out.extend(c.to_uppercase());
                capitalize = false;
            } else {
                out.push(c);
            }
        } else {
            capitalize = true;
        }
    }
    out
}

/// `capstan.dev` → `capstanDev`; the core group is `core`; `.k8s.io` is dropped as kube does.
fn group_word(group: &str) -> &str {
    if group.is_empty() {
        "core"
    } else {
        group.strip_suffix(".k8s.io").unwrap_or(group)
    }
}

/// The paths of one served resource, its subresources included.
pub(super) fn paths_of(
    resource: &ServedResource,
    schema_of: &dyn Fn(&str, &str, &str) -> String,
) -> Vec<PathItem> {
    let ctx = Ctx::new(resource, schema_of);
    let mut items = Vec::new();
    items.push(ctx.collection());
    items.push(ctx.item());
    for sub in &resource.subresources {
        items.push(ctx.subresource(sub));
    }
    items.extend(ctx.watch_paths());
    items.extend(ctx.all_namespaces());
    items.retain(|item| !item.operations.is_empty());
    items
}

/// What every path of one resource shares.
struct Ctx<'a> {
    r: &'a ServedResource,
    schema_of: &'a dyn Fn(&str, &str, &str) -> String,
    prefix: String,
    gv_path: String,
    /// `CoreV1`, `CapstanDevV1`.
    gv_word: String,
    tag: String,
    gvk: (String, String, String),
    schema: String,
}

impl<'a> Ctx<'a> {
    fn new(r: &'a ServedResource, schema_of: &'a dyn Fn(&str, &str, &str) -> String) -> Self {
        let gv_path = if r.group.is_empty() {
            format!("api/{}", r.version)
        } else {
            format!("apis/{}/{}", r.group, r.version)
        };
        let group = group_word(&r.group);
        Self {
            r,
            schema_of,
            prefix: format!("/{gv_path}"),
            gv_path,
            gv_word: format!(
                "{}{}",
                to_operation_id(group, true),
                to_operation_id(&r.version, true)
            ),
            tag: format!(
                "{}_{}",
                to_operation_id(group, false),
                to_operation_id(&r.version, false)
            ),
            gvk: (r.group.clone(), r.version.clone(), r.kind.clone()),
            schema: schema_of(&r.group, &r.version, &r.kind),
        }
    }

    fn has(&self, verb: &str) -> bool {
        self.r.verbs.iter().any(|v| v == verb)
    }

    fn scope(&self) -> &'static str {
        if self.r.namespaced { "Namespaced" } else { "" }
    }

    fn collection_path(&self) -> String {
        if self.r.namespaced {
            format!("{}/namespaces/{{namespace}}/{}", self.prefix, self.r.plural)
        } else {
            format!("{}/{}", self.prefix, self.r.plural)
        }
    }

    fn list_schema(&self) -> String {
        format!("{}List", self.schema)
    }

    fn namespace_param(&self) -> Option<Param> {
        self.r
            .namespaced
            .then(|| path_param("namespace", "the namespace of the object"))
    }

    fn name_param(&self) -> Param {
        path_param("name", &format!("name of the {}", self.r.kind))
    }

    /// An operation about this resource's own kind.
    fn op(&self, spec: Spec) -> Operation {
        self.op_for(self.gvk.clone(), spec)
    }

    /// An operation about `gvk` (a subresource's body kind).
    fn op_for(&self, gvk: (String, String, String), spec: Spec) -> Operation {
        let Spec {
            method,
            verb,
            rest,
            action,
            description,
            mut params,
            body,
            mut responses,
        } = spec;
        params.sort_by_key(|p| p.name);
        responses.push((401, "Unauthorized", None));
        let produces = match action {
            "list" | "watch" | "watchlist" => Produces::Stream,
            _ => Produces::Object,
        };
        Operation {
            method,
            id: format!("{verb}{}{rest}", self.gv_word),
            description,
            action,
            gvk,
            tag: self.tag.clone(),
            params,
            body,
            responses,
            produces,
        }
    }

    fn collection(&self) -> PathItem {
        let (k, scope) = (&self.r.kind, self.scope());
        let mut ops = Vec::new();
        if self.has("list") {
            ops.push(self.op(Spec {
                method: "get",
                verb: "list",
                rest: format!("{scope}{k}"),
                action: "list",
                description: format!("list or watch objects of kind {k}"),
                params: list_params(),
                body: None,
                responses: vec![(200, "OK", Some(self.list_schema()))],
            }));
        }
        if self.has("create") {
            ops.push(self.op(Spec {
                method: "post",
                verb: "create",
                rest: format!("{scope}{k}"),
                action: "post",
                description: format!("create a {k}"),
                params: write_params(false),
                body: Some(self.body(&self.schema)),
                responses: created_responses(&self.schema, true),
            }));
        }
        if self.has("deletecollection") {
            let mut params = list_params();
            params.retain(|p| !matches!(p.name, "watch" | "allowWatchBookmarks"));
            params.extend(delete_params());
            ops.push(self.op(Spec {
                method: "delete",
                verb: "delete",
                rest: format!("Collection{scope}{k}"),
                action: "deletecollection",
                description: format!("delete a collection of {k}"),
                params,
                body: Some(Body::Object {
                    schema: DELETE_OPTIONS.into(),
                    required: false,
                }),
                responses: vec![(200, "OK", Some(STATUS.into()))],
            }));
        }
        self.path_item(self.collection_path(), false, ops)
    }

    fn item(&self) -> PathItem {
        let (k, scope) = (&self.r.kind, self.scope());
        let mut ops = Vec::new();
        if self.has("get") {
            ops.push(self.op(Spec {
                method: "get",
                verb: "read",
                rest: format!("{scope}{k}"),
                action: "get",
                description: format!("read the specified {k}"),
                params: Vec::new(),
                body: None,
                responses: vec![(200, "OK", Some(self.schema.clone()))],
            }));
        }
        if self.has("update") {
            ops.push(self.op(Spec {
                method: "put",
                verb: "replace",
                rest: format!("{scope}{k}"),
                action: "put",
                description: format!("replace the specified {k}"),
                params: write_params(false),
                body: Some(self.body(&self.schema)),
                responses: created_responses(&self.schema, false),
            }));
        }
        if self.has("patch") {
            ops.push(self.op(Spec {
                method: "patch",
                verb: "patch",
                rest: format!("{scope}{k}"),
                action: "patch",
                description: format!("partially update the specified {k}"),
                params: write_params(true),
                body: Some(Body::Patch),
                responses: created_responses(&self.schema, false),
            }));
        }
        if self.has("delete") {
            ops.push(self.op(Spec {
                method: "delete",
                verb: "delete",
                rest: format!("{scope}{k}"),
                action: "delete",
                description: format!("delete a {k}"),
                params: delete_params(),
                body: Some(Body::Object {
                    schema: DELETE_OPTIONS.into(),
                    required: false,
                }),
                responses: vec![
                    (200, "OK", Some(STATUS.into())),
                    (202, "Accepted", Some(STATUS.into())),
                ],
            }));
        }
        self.path_item(format!("{}/{{name}}", self.collection_path()), true, ops)
    }

    fn subresource(&self, sub: &ServedSubresource) -> PathItem {
        let (k, scope, name) = (&self.r.kind, self.scope(), &sub.name);
        let title = to_operation_id(name, true);
        let gvk = (sub.group.clone(), sub.version.clone(), sub.kind.clone());
        let schema = (self.schema_of)(&sub.group, &sub.version, &sub.kind);
        let has = |verb: &str| sub.verbs.iter().any(|v| v == verb);
        let mut ops = Vec::new();
        if has("get") {
            ops.push(self.op_for(
                gvk.clone(),
                Spec {
                    method: "get",
                    verb: "read",
                    rest: format!("{scope}{k}{title}"),
                    action: "get",
                    description: format!("read {name} of the specified {k}"),
                    params: Vec::new(),
                    body: None,
                    responses: vec![(200, "OK", Some(schema.clone()))],
                },
            ));
        }
        if has("create") {
            ops.push(self.op_for(
                gvk.clone(),
                Spec {
                    method: "post",
                    verb: "create",
                    rest: format!("{scope}{k}{title}"),
                    action: "post",
                    description: format!("create {name} of a {k}"),
                    params: write_params(false),
                    body: Some(self.body(&schema)),
                    responses: created_responses(&schema, true),
                },
            ));
        }
        if has("update") {
            ops.push(self.op_for(
                gvk.clone(),
                Spec {
                    method: "put",
                    verb: "replace",
                    rest: format!("{scope}{k}{title}"),
                    action: "put",
                    description: format!("replace {name} of the specified {k}"),
                    params: write_params(false),
                    body: Some(self.body(&schema)),
                    responses: created_responses(&schema, false),
                },
            ));
        }
        if has("patch") {
            ops.push(self.op_for(
                gvk,
                Spec {
                    method: "patch",
                    verb: "patch",
                    rest: format!("{scope}{k}{title}"),
                    action: "patch",
                    description: format!("partially update {name} of the specified {k}"),
                    params: write_params(true),
                    body: Some(Body::Patch),
                    responses: created_responses(&schema, false),
                },
            ));
        }
        let path = format!("{}/{{name}}/{name}", self.collection_path());
        self.path_item(path, true, ops)
    }

    /// The deprecated `/watch/` paths, which Capstan serves like kube.
    fn watch_paths(&self) -> Vec<PathItem> {
        if !self.has("watch") {
            return Vec::new();
        }
        let (k, scope) = (&self.r.kind, self.scope());
        let base = if self.r.namespaced {
            format!(
                "{}/watch/namespaces/{{namespace}}/{}",
                self.prefix, self.r.plural
            )
        } else {
            format!("{}/watch/{}", self.prefix, self.r.plural)
        };
        let watch_event = || vec![(200, "OK", Some(WATCH_EVENT.to_string()))];
        let mut items = Vec::new();
        if self.has("get") {
            let op = self.op(Spec {
                method: "get",
                verb: "watch",
                rest: format!("{scope}{k}"),
                action: "watch",
                description: format!(
                    "watch changes to an object of kind {k} (deprecated: use the 'watch' \
                     parameter with a list operation, filtered to the object by fieldSelector)"
                ),
                params: list_params(),
                body: None,
                responses: watch_event(),
            });
            items.push(self.path_item(format!("{base}/{{name}}"), true, vec![op]));
        }
        if self.has("list") {
            let op = self.op(Spec {
                method: "get",
                verb: "watch",
                rest: format!("{scope}{k}List"),
                action: "watchlist",
                description: format!(
                    "watch individual changes to a list of {k} (deprecated: use the 'watch' \
                     parameter with a list operation)"
                ),
                params: list_params(),
                body: None,
                responses: watch_event(),
            });
            items.push(self.path_item(base, false, vec![op]));
        }
        items
    }

    /// Lists (and watches) across namespaces, for namespaced resources.
    fn all_namespaces(&self) -> Vec<PathItem> {
        if !self.r.namespaced || !self.has("list") {
            return Vec::new();
        }
        let k = &self.r.kind;
        let list = self.op(Spec {
            method: "get",
            verb: "list",
            rest: format!("{k}ForAllNamespaces"),
            action: "list",
            description: format!("list or watch objects of kind {k}"),
            params: list_params(),
            body: None,
            responses: vec![(200, "OK", Some(self.list_schema()))],
        });
        let mut items = vec![PathItem {
            path: format!("{}/{}", self.prefix, self.r.plural),
            gv_path: self.gv_path.clone(),
            params: vec![pretty()],
            operations: vec![list],
        }];
        if self.has("watch") {
            let watch = self.op(Spec {
                method: "get",
                verb: "watch",
                rest: format!("{k}ListForAllNamespaces"),
                action: "watchlist",
                description: format!(
                    "watch individual changes to a list of {k} (deprecated: use the 'watch' \
                     parameter with a list operation)"
                ),
                params: list_params(),
                body: None,
                responses: vec![(200, "OK", Some(WATCH_EVENT.to_string()))],
            });
            items.push(PathItem {
                path: format!("{}/watch/{}", self.prefix, self.r.plural),
                gv_path: self.gv_path.clone(),
                params: vec![pretty()],
                operations: vec![watch],
            });
        }
        items
    }

    fn body(&self, schema: &str) -> Body {
        Body::Object {
            schema: schema.to_string(),
            required: true,
        }
    }

    fn path_item(&self, path: String, named: bool, operations: Vec<Operation>) -> PathItem {
        let mut params: Vec<Param> = Vec::new();
        if named {
            params.push(self.name_param());
        }
        params.extend(self.namespace_param());
        params.push(pretty());
        PathItem {
            path,
            gv_path: self.gv_path.clone(),
            params,
            operations,
        }
    }
}

fn created_responses(schema: &str, accepted: bool) -> Vec<(u16, &'static str, Option<String>)> {
    let mut out = vec![
        (200, "OK", Some(schema.to_string())),
        (201, "Created", Some(schema.to_string())),
    ];
    if accepted {
        out.push((202, "Accepted", Some(schema.to_string())));
    }
    out
}
