//! Values seen through the schema, as structured-merge-diff's `typed` package sees them: which
//! positions are leaves, which lists are associative (and by which keys), which maps are granular.
//!
//! Lists: `x-kubernetes-list-type` decides (`atomic`, `set`, `map` with `list-map-keys`); without
//! it, patch strategy `merge` means a map list keyed by the patch merge key (or a set without
//! one), as kube's OpenAPI-to-SMD converter does for core types; anything else is atomic. Maps and
//! structs are granular unless `x-kubernetes-map-type: atomic`. Untyped positions are "deduced":
//! maps granular, lists atomic.

use serde_json::Value;

use super::fieldpath::{FieldSet, PathElement};
use super::go_fmt::go_value;
use crate::api::schema::{FieldExtensions, ListType, MapType, PatchStrategy, Shape, TypeRef};

/// A position in the schema: the type found there and the extensions of the field that led to
/// it (none for list items, map values and the root).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Node<'a> {
    pub(crate) ty: Option<TypeRef<'a>>,
    pub(crate) ext: Option<&'a FieldExtensions>,
}

/// How list items relate.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ListRel<'a> {
    Atomic,
    Set,
    Map(&'a [String]),
}

/// What a node is for merging and ownership.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Atom<'a> {
    Scalar,
    List {
        rel: ListRel<'a>,
        elem: Node<'a>,
    },
    /// A struct (`fields` set) or a map / untyped object (`fields` unset).
    Map {
        atomic: bool,
        fields: Option<TypeRef<'a>>,
        values: Node<'a>,
    },
}

impl Atom<'_> {
    /// Atoms of the same kind are walked together; different kinds mean a type change.
    pub(crate) fn same_kind(&self, other: &Atom<'_>) -> bool {
        matches!(
            (self, other),
            (Atom::Scalar, Atom::Scalar)
                | (Atom::List { .. }, Atom::List { .. })
                | (Atom::Map { .. }, Atom::Map { .. })
        )
    }
}

impl<'a> Node<'a> {
    /// The root of a kind.
    pub(crate) fn root(ty: TypeRef<'a>) -> Self {
        Self {
            ty: Some(ty),
            ext: None,
        }
    }

    fn untyped() -> Self {
        Self::default()
    }

    /// The atom for `value` here (untyped positions are deduced from the value).
    pub(crate) fn atom(&self, value: Option<&Value>) -> Atom<'a> {
        let Some(ty) = self.ty.filter(|t| t.shape() != Shape::Untyped) else {
            return match value {
                Some(Value::Object(_)) | None => Atom::Map {
                    atomic: false,
                    fields: None,
                    values: Node::untyped(),
                },
                Some(Value::Array(_)) => Atom::List {
                    rel: ListRel::Atomic,
                    elem: Node::untyped(),
                },
                Some(_) => Atom::Scalar,
            };
        };
        // `x-kubernetes-map-type: atomic` on the field or on the type itself (`LabelSelector`).
        let atomic_map = self
            .ext
            .is_some_and(|e| e.map_type == Some(MapType::Atomic))
            || ty.map_type() == Some(MapType::Atomic);
        match ty.shape() {
            Shape::Object => Atom::Map {
                atomic: atomic_map,
                fields: Some(ty),
                values: Node::untyped(),
            },
            Shape::Map => Atom::Map {
                atomic: atomic_map,
                fields: None,
                values: Node {
                    ty: ty.values(),
                    ext: None,
                },
            },
            Shape::List => Atom::List {
                rel: self.list_rel(),
                elem: Node {
                    ty: ty.items(),
                    ext: None,
                },
            },
            Shape::Scalar | Shape::Untyped => Atom::Scalar,
        }
    }

    fn list_rel(&self) -> ListRel<'a> {
        let Some(ext) = self.ext else {
            return ListRel::Atomic;
        };
        match ext.list_type {
            Some(ListType::Atomic) => ListRel::Atomic,
            Some(ListType::Set) => ListRel::Set,
            Some(ListType::Map) => ListRel::Map(&ext.list_map_keys),
            None if ext.patch_strategy.contains(&PatchStrategy::Merge) => {
                match &ext.patch_merge_key {
                    Some(key) => ListRel::Map(std::slice::from_ref(key)),
                    None => ListRel::Set,
                }
            }
            None => ListRel::Atomic,
        }
    }

    /// The node of a child of a map atom: a declared struct field, a map value, or untyped.
    pub(crate) fn child(atom: &Atom<'a>, name: &str) -> (Node<'a>, bool) {
        match atom {
            Atom::Map {
                fields: Some(ty), ..
            } => match ty.field(name) {
                Some(f) => (
                    Node {
                        ty: Some(f.ty),
                        ext: Some(f.ext),
                    },
                    true,
                ),
                None => (Node::untyped(), false),
            },
            Atom::Map { values, .. } => (*values, false),
            _ => (Node::untyped(), false),
        }
    }
}

/// Defaults of key fields that clients may omit (kube takes them from the OpenAPI `default`;
/// the shared schema model has no defaults, so the ones that matter are listed here).
fn key_default(elem: Node<'_>, key: &str) -> Option<Value> {
    let name = elem.ty?.name();
    let defaulted = [
        "io.k8s.api.core.v1.ContainerPort",
        "io.k8s.api.core.v1.ServicePort",
        "io.k8s.api.core.v1.EndpointPort",
        "io.k8s.api.discovery.v1.EndpointPort",
    ];
    (key == "protocol" && defaulted.contains(&name)).then(|| Value::String("TCP".into()))
}

/// The path element naming a list item (`k:{...}` or `v:...`).
pub(crate) fn item_element(
    rel: ListRel<'_>,
    elem: Node<'_>,
    item: &Value,
) -> Result<PathElement, String> {
    match rel {
        ListRel::Atomic => Err("invalid indexing of non-associative list".into()),
        ListRel::Set => match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => {
                Err("associative list without keys has an element that's an explicit null".into())
            }
            v => Ok(PathElement::Value(v.clone())),
        },
        ListRel::Map(keys) => {
            let m = match item {
                Value::Null => {
                    return Err("associative list with keys may not have a null element".into());
                }
                Value::Object(m) => m,
                _ => return Err("associative list with keys may not have non-map elements".into()),
            };
            let mut fields: Vec<(String, Value)> = keys
                .iter()
                .filter_map(|k| {
                    m.get(k)
                        .cloned()
                        .or_else(|| key_default(elem, k))
                        .map(|v| (k.clone(), v))
                })
                .collect();
            if !keys.is_empty() && fields.is_empty() {
                let quoted: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
                return Err(format!(
                    "associative list with keys has an element that omits all key fields [{}] (and doesn't have default values for any key fields)",
                    quoted.join(" ")
                ));
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(fields))
        }
    }
}

/// The fields a value sets (structured-merge-diff's `ToFieldSet`): leaves, list items, map
/// entries, and struct fields whose value is null or empty.
pub(crate) fn to_field_set(value: &Value, node: Node<'_>) -> FieldSet {
    let mut out = FieldSet::new();
    field_set_walk(value, node, &mut Vec::new(), &mut out);
    out
}

fn field_set_walk(value: &Value, node: Node<'_>, path: &mut Vec<PathElement>, out: &mut FieldSet) {
    match node.atom(Some(value)) {
        Atom::Scalar => out.insert(path),
        Atom::List { rel, elem } => {
            if matches!(rel, ListRel::Atomic) {
                out.insert(path);
                return;
            }
            let Value::Array(items) = value else {
                return;
            };
            let pes: Vec<Option<PathElement>> = items
                .iter()
                .map(|i| item_element(rel, elem, i).ok())
                .collect();
            let mut seen = Vec::new();
            let mut duplicates = Vec::new();
            for pe in pes.iter().flatten() {
                if seen.contains(pe) {
                    if !duplicates.contains(pe) {
                        path.push(pe.clone());
                        out.insert(path);
                        path.pop();
                        duplicates.push(pe.clone());
                    }
                } else {
                    seen.push(pe.clone());
                }
            }
            for (item, pe) in items.iter().zip(pes) {
                let Some(pe) = pe else { continue };
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe);
                field_set_walk(item, elem, path, out);
                out.insert(path);
                path.pop();
            }
        }
        atom @ Atom::Map { atomic, .. } => {
            if atomic {
                out.insert(path);
                return;
            }
            let Value::Object(map) = value else {
                return;
            };
            for (key, val) in map {
                let (child, declared) = Node::child(&atom, key);
                path.push(PathElement::Field(key.clone()));
                field_set_walk(val, child, path, out);
                let empty = val.is_null() || val.as_object().is_some_and(|m| m.is_empty());
                if empty || !declared {
                    out.insert(path);
                }
                path.pop();
            }
        }
    }
}

/// structured-merge-diff's `EnsureNamedFieldsAreMembers`: a struct field with children is also
/// made a member, so that removing the set removes the field itself.
pub(crate) fn ensure_named_fields_are_members(set: &FieldSet, node: Node<'_>) -> FieldSet {
    let atom = node.atom(None);
    let mut out = FieldSet::new();
    let (members, children) = set.parts();
    for m in members {
        out.add_member(m.clone());
    }
    for (pe, child) in children {
        let child_node = match (pe, &atom) {
            (PathElement::Field(name), Atom::Map { .. }) => {
                let (n, declared) = Node::child(&atom, name);
                if declared {
                    out.add_member(pe.clone());
                }
                n
            }
            (PathElement::Key(_), Atom::List { elem, .. }) => *elem,
            _ => Node::untyped(),
        };
        *out.child_mut(pe.clone()) = ensure_named_fields_are_members(child, child_node);
    }
    out.prune()
}

/// Checks an applied configuration against the schema as kube's typed conversion does:
/// declared struct fields only, lists and maps where the schema says so, associative list items
/// with their keys and without duplicates. Returns kube's error text, if any.
pub(crate) fn validate(value: &Value, node: Node<'_>) -> Option<String> {
    let mut errs = Vec::new();
    validate_walk(value, node, "", &mut errs);
    match errs.len() {
        0 => None,
        1 => errs.pop(),
        _ => Some(format!(
            "errors:\n{}",
            errs.iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
}

fn validate_walk(value: &Value, node: Node<'_>, path: &str, errs: &mut Vec<String>) {
    let at = |msg: String| {
        if path.is_empty() {
            msg
        } else {
            format!("{path}: {msg}")
        }
    };
    if value.is_null() {
        return;
    }
    match node.atom(Some(value)) {
        Atom::Scalar => {}
        Atom::List { rel, elem } => {
            let Value::Array(items) = value else {
                errs.push(at(format!("expected list, got &{{{}}}", go_value(value))));
                return;
            };
            let mut observed = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let pe = if matches!(rel, ListRel::Atomic) {
                    PathElement::Index(i)
                } else {
                    match item_element(rel, elem, item) {
                        Ok(pe) => pe,
                        Err(e) => {
                            errs.push(at(format!("element {i}: {e}")));
                            return;
                        }
                    }
                };
                if !matches!(rel, ListRel::Atomic) {
                    if observed.contains(&pe) {
                        errs.push(at(format!("duplicate entries for key {pe}")));
                    }
                    observed.push(pe.clone());
                }
                validate_walk(item, elem, &format!("{path}{pe}"), errs);
            }
        }
        atom @ Atom::Map { fields, .. } => {
            let Value::Object(map) = value else {
                errs.push(at(format!("expected map, got &{{{}}}", go_value(value))));
                return;
            };
            for (key, val) in map {
                let (child, declared) = Node::child(&atom, key);
                let child_path = format!("{path}.{key}");
                if fields.is_some() && !declared {
                    errs.push(format!("{child_path}: field not declared in schema"));
                    return;
                }
                validate_walk(val, child, &child_path, errs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::patch::test_schema::pod_model;

    #[test]
    fn field_set_marks_items_maps_and_leaves_like_kube() {
        let model = pod_model();
        let root = Node::root(model.for_kind("", "v1", "Pod").unwrap());
        let config = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "nginx",
                      "ports": [{"containerPort": 80}], "args": ["a"]}],
                     "nodeSelector": {"disk": "ssd"}}
        });
        let set = to_field_set(&config, root);
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:apiVersion": {}, "f:kind": {},
                "f:metadata": {"f:labels": {"f:app": {}}, "f:name": {}},
                "f:spec": {
                    "f:containers": {"k:{\"name\":\"main\"}": {
                        ".": {}, "f:args": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}
                        }}
                    }},
                    "f:nodeSelector": {}
                }
            })
        );
    }

    #[test]
    fn validation_reports_kube_messages() {
        let model = pod_model();
        let root = Node::root(model.for_kind("", "v1", "Pod").unwrap());
        let dup = json!({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}});
        assert_eq!(
            validate(&dup, root).as_deref(),
            Some(".spec.containers: duplicate entries for key [name=\"a\"]")
        );
        let unknown = json!({"spec": {"bogus": 1}});
        assert_eq!(
            validate(&unknown, root).as_deref(),
            Some(".spec.bogus: field not declared in schema")
        );
        let keyless = json!({"spec": {"containers": [{"image": "x"}]}});
        assert_eq!(
            validate(&keyless, root).as_deref(),
            Some(
                ".spec.containers: element 0: associative list with keys has an element that omits all key fields [\"name\"] (and doesn't have default values for any key fields)"
            )
        );
        let two = json!({"spec": {"containers": {"a": 1}, "tolerations": 3}});
        assert_eq!(
            validate(&two, root).as_deref(),
            Some(
                "errors:\n  .spec.containers: expected list, got &{map[a:1]}\n  .spec.tolerations: expected list, got &{3}"
            )
        );
        let untyped = json!({"spec": {"extra": {"anything": [1, {"x": 2}]}}});
        assert_eq!(validate(&untyped, root), None);
    }

    #[test]
    fn merge_key_fallback_and_sets() {
        let model = pod_model();
        let root = Node::root(model.for_kind("", "v1", "Pod").unwrap());
        let v = json!({"metadata": {"finalizers": ["x"]}, "spec": {"hostAliases": [{"ip": "1.2.3.4"}]}});
        let set = to_field_set(&v, root);
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:finalizers": {"v:\"x\"": {}}},
                "f:spec": {"f:hostAliases": {"k:{\"ip\":\"1.2.3.4\"}": {".": {}, "f:ip": {}}}}
            })
        );
    }
}
