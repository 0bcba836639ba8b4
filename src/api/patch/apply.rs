//! Server-side apply (`application/apply-patch+yaml`) and the managedFields of every other write,
//! as kube's field manager chain does them (version check, last-applied handling for `kubectl`,
//! "before-first-apply", metadata stripping, capping updaters, conflicts).

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, StatusCause};
use serde_json::{Map, Value};

use super::fieldpath::FieldSet;
use super::managed::{Managed, ManagerId, Operation, set_managed_fields};
use super::typed::{Node, to_field_set, validate};
use super::typed_ops::compare;
use super::updater::{ApplyFailure, Conflict, Updater, cap_update_managers};
use crate::api::ApiError;
use crate::api::protobuf::{go_empty_object, go_json_shape};
use crate::api::schema::TypeRef;

/// The annotation client-side `kubectl apply` keeps its last configuration in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Where a write happens: everything the bookkeeping needs besides the objects.
#[derive(Clone, Copy, Debug)]
pub struct ManagedFieldsScope<'a> {
    /// The kind's schema root (from `SchemaModel::for_kind`).
    pub ty: TypeRef<'a>,
    /// The request's group/version as `apiVersion` spells it: `v1`, `capstan.dev/v1`.
    pub api_version: &'a str,
    /// The kind: `Pod`.
    pub kind: &'a str,
    /// `""` for the main resource, else the subresource (`status`).
    pub subresource: &'a str,
    /// Field paths the strategy resets on this endpoint, which nobody may own: `[["status"]]`
    /// for pods, `[["spec"], ["metadata", "deletionTimestamp"], …]` for pods/status.
    pub reset_fields: &'a [&'a [&'a str]],
    /// The time stamped on entries this write touches.
    pub now: Timestamp,
}

impl ManagedFieldsScope<'_> {
    fn updater(&self) -> Updater<'_> {
        Updater {
            node: Node::root(self.ty),
            reset: FieldSet::from_field_paths(self.reset_fields),
        }
    }

    /// `object` as kube holds it in its Go type, which is what kube compares when it records a
    /// write (zero values of value fields present, empty `omitempty` ones gone); kinds without
    /// a Go type here are compared as they are.
    fn go_shaped(&self, object: &Value) -> Value {
        let mut object = object.clone();
        go_json_shape(&mut object, self.api_version, self.kind);
        object
    }

    /// What kube compares a new object against: an empty Go object of the kind (`{}` for kinds
    /// without a Go type here).
    fn empty_object(&self) -> Value {
        go_empty_object(self.api_version, self.kind).unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// Go's `GroupVersionKind.String()`: `/v1, Kind=Pod`, `capstan.dev/v1, Kind=Pod`.
    fn gvk_string(api_version: &str, kind: &str) -> String {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        format!("{group}/{version}, Kind={kind}")
    }
}

/// The result of an apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// The object to store, with `metadata.managedFields` set.
    pub object: Value,
    /// The entries written into the object.
    pub managed_fields: Vec<ManagedFieldsEntry>,
}

/// Why an apply failed; the variant is the HTTP class kube answers with.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// 400: wrong kind or version in the configuration, managedFields in it.
    #[error("{0}")]
    BadRequest(String),
    /// 409 `Conflict`: fields owned by other managers would change (retry with `force=true`).
    #[error("{}", .0.message())]
    Conflicts(ApplyConflicts),
    /// 500: kube answers these as unstructured errors (the configuration does not fit the schema,
    /// unreadable managedFields).
    #[error("{0}")]
    Internal(String),
}

impl ApplyError {
    /// The HTTP status code kube answers with.
    pub fn code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Conflicts(_) => 409,
            Self::Internal(_) => 500,
        }
    }

    /// The [`ApiError`] kube answers with: 400 as is; conflicts as kube's apply conflict (409
    /// with `FieldManagerConflict` causes); 500 passed through unprefixed, without a reason.
    pub fn into_api_error(self) -> ApiError {
        match self {
            Self::BadRequest(m) => ApiError::BadRequest(m),
            Self::Conflicts(c) => ApiError::ApplyConflict(c),
            Self::Internal(m) => ApiError::Unknown(m),
        }
    }
}

/// Apply conflicts, for a 409 whose message and `details.causes` match kube's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyConflicts {
    conflicts: Vec<Conflict>,
}

impl ApplyConflicts {
    /// `Apply failed with 1 conflict: conflict with "m" using v1: .spec.x`, or for several:
    /// `Apply failed with N conflicts: conflicts with "m":\n- .a\n- .b` grouped by manager.
    pub fn message(&self) -> String {
        if let [one] = self.conflicts.as_slice() {
            return format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                one.manager.describe(),
                one.path
            );
        }
        let mut lines = Vec::new();
        let mut managers: Vec<String> = self
            .conflicts
            .iter()
            .map(|c| c.manager.describe())
            .collect();
        managers.sort();
        managers.dedup();
        for m in managers {
            lines.push(format!("conflicts with {m}:"));
            for c in self.conflicts.iter().filter(|c| c.manager.describe() == m) {
                lines.push(format!("- {}", c.path));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.conflicts.len(),
            lines.join("\n")
        )
    }

    /// One `FieldManagerConflict` cause per conflicting field.
    pub fn causes(&self) -> Vec<StatusCause> {
        self.conflicts
            .iter()
            .map(|c| StatusCause {
                reason: Some("FieldManagerConflict".into()),
                message: Some(format!("conflict with {}", c.manager.describe())),
                field: Some(c.path.to_string()),
            })
            .collect()
    }

    /// The conflicting fields, as kube prints them.
    pub fn fields(&self) -> Vec<String> {
        self.conflicts.iter().map(|c| c.path.to_string()).collect()
    }
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    obj
}

fn text<'v>(obj: &'v Value, pointer: &str) -> &'v str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Server-side apply of `config` by `manager` onto `live` (`None`: the object is being created).
///
/// Fields the configuration sets become the manager's; fields it set last time but no longer
/// sets are removed unless another manager owns them; changing a field another manager owns is a
/// conflict unless `force`, which takes it over.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    scope: &ManagedFieldsScope<'_>,
) -> Result<Applied, ApplyError> {
    let config_version = text(config, "/apiVersion");
    let config_kind = text(config, "/kind");
    if config_version != scope.api_version || config_kind != scope.kind {
        return Err(ApplyError::BadRequest(format!(
            "invalid object type: {}",
            ManagedFieldsScope::gvk_string(config_version, config_kind)
        )));
    }
    let live_obj = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    let managed = Managed::decode_from(&live_obj)
        .map_err(|e| ApplyError::Internal(format!("failed to decode managed fields: {e}")))?;
    let live_obj = without_managed_fields(&live_obj);

    let (object, managed) =
        match apply_once(&live_obj, config, managed.clone(), manager, force, scope) {
            // kubectl moving from client-side to server-side apply may take over the fields its
            // last-applied annotation shows unchanged (kube's `lastAppliedManager`).
            Err(ApplyError::Conflicts(c)) if manager == "kubectl" => {
                match allowed_from_last_applied(&live_obj, scope) {
                    Some(allowed) => {
                        let rest: Vec<Conflict> = c
                            .conflicts
                            .into_iter()
                            .filter(|c| !allowed.has(&c.path.0))
                            .collect();
                        if rest.is_empty() {
                            apply_once(&live_obj, config, managed, manager, true, scope)?
                        } else {
                            return Err(ApplyError::Conflicts(ApplyConflicts { conflicts: rest }));
                        }
                    }
                    None => return Err(ApplyError::Conflicts(c)),
                }
            }
            other => other?,
        };
    let mut object = object;
    if manager == "kubectl" {
        update_last_applied(&mut object, config);
    }
    let managed_fields = managed.encode();
    set_managed_fields(&mut object, &managed_fields);
    Ok(Applied {
        object,
        managed_fields,
    })
}

/// One pass of the apply chain below the last-applied handling.
fn apply_once(
    live: &Value,
    config: &Value,
    mut managed: Managed,
    manager: &str,
    force: bool,
    scope: &ManagedFieldsScope<'_>,
) -> Result<(Value, Managed), ApplyError> {
    let updater = scope.updater();
    if managed.is_empty() {
        // Whatever exists before the first apply belongs to "before-first-apply".
        let id = ManagerId::new(
            "before-first-apply",
            Operation::Update,
            scope.api_version,
            scope.subresource,
        );
        updater.record(
            &scope.empty_object(),
            &scope.go_shaped(live),
            &mut managed.entries,
            &id,
            scope.now,
        );
        cap_update_managers(&mut managed.entries);
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into(),
        ));
    }
    if let Some(errs) = validate(config, Node::root(scope.ty)) {
        return Err(ApplyError::Internal(format!(
            "failed to create typed patch object ({}/{}; {}): {errs}",
            text(config, "/metadata/namespace"),
            text(config, "/metadata/name"),
            ManagedFieldsScope::gvk_string(scope.api_version, scope.kind)
        )));
    }
    let id = ManagerId::new(
        manager,
        Operation::Apply,
        scope.api_version,
        scope.subresource,
    );
    let result = updater.apply(
        live,
        config,
        &mut managed.entries,
        &id,
        scope.api_version,
        force,
    );
    let object = match result {
        Ok(Some(new)) => {
            if let Some(entry) = managed.entries.get_mut(&id) {
                entry.time = Some(scope.now);
            }
            new
        }
        Ok(None) => live.clone(),
        Err(ApplyFailure::Conflicts(conflicts)) => {
            return Err(ApplyError::Conflicts(ApplyConflicts { conflicts }));
        }
        Err(ApplyFailure::Merge(e)) => {
            return Err(ApplyError::Internal(format!("failed to merge config: {e}")));
        }
    };
    Ok((object, managed))
}

/// Fields of the last-applied annotation whose live value still matches: kubectl may take them
/// from `kubectl-client-side-apply` without `force`.
fn allowed_from_last_applied(live: &Value, scope: &ManagedFieldsScope<'_>) -> Option<FieldSet> {
    let raw = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())?;
    let last: Value = serde_json::from_str(raw).ok()?;
    if text(&last, "/apiVersion") != scope.api_version {
        return None;
    }
    let node = Node::root(scope.ty);
    let set = to_field_set(&last, node);
    let cmp = compare(&last, live, node);
    Some(
        set.difference(&cmp.modified)
            .difference(&cmp.added)
            .difference(&cmp.removed),
    )
}

/// kubectl's server-side apply keeps an existing last-applied annotation current, so a later
/// client-side apply still works (kube's `lastAppliedUpdater`).
fn update_last_applied(object: &mut Value, config: &Value) {
    let has_annotation = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !has_annotation {
        return;
    }
    let mut last = config.clone();
    if let Some(meta) = last.get_mut("metadata").and_then(Value::as_object_mut)
        && let Some(Value::Object(annotations)) = meta.get_mut("annotations")
    {
        annotations.remove(LAST_APPLIED_ANNOTATION);
    }
    let encoded = format!("{}\n", go_json(&last));
    if let Some(Value::Object(annotations)) = object.pointer_mut("/metadata/annotations") {
        annotations.insert(LAST_APPLIED_ANNOTATION.into(), Value::String(encoded));
    }
}

/// JSON as Go's encoder writes it (sorted keys, `<`, `>`, `&` and U+2028/9 escaped).
fn go_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Records a create, update or non-apply patch by `manager` (operation `Update`): the fields it
/// changed become its own and are taken from other managers. Returns `new` with
/// `metadata.managedFields` set.
///
/// Like kube: managedFields sent in `new` replace the stored ones (`[]` clears them) unless this
/// is a subresource write; an existing object that has no managedFields stays untracked; and
/// failures never fail the write (the old managedFields are kept).
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    scope: &ManagedFieldsScope<'_>,
) -> Value {
    let stored = || {
        old.map(Managed::decode_from)
            .unwrap_or(Ok(Managed::default()))
    };
    let managed = if !scope.subresource.is_empty() {
        stored().unwrap_or_default()
    } else {
        match new.pointer("/metadata/managedFields") {
            Some(Value::Array(items)) if is_reset(items) => Managed::default(),
            Some(sent @ Value::Array(_)) => match Managed::decode(sent) {
                Ok(m) if !m.is_empty() => m,
                _ => stored().unwrap_or_default(),
            },
            _ => stored().unwrap_or_default(),
        }
    };
    let mut object = without_managed_fields(new);
    let has_uid = old.is_some_and(|o| !text(o, "/metadata/uid").is_empty());
    if managed.is_empty() && has_uid {
        return object;
    }
    let mut managed = managed;
    // kube compares Go objects: a create's "old" object is an empty one of the kind.
    let old_obj = match old {
        Some(o) => scope.go_shaped(&without_managed_fields(o)),
        None => scope.empty_object(),
    };
    let id = ManagerId::new(
        manager,
        Operation::Update,
        scope.api_version,
        scope.subresource,
    );
    scope.updater().record(
        &old_obj,
        &scope.go_shaped(&object),
        &mut managed.entries,
        &id,
        scope.now,
    );
    cap_update_managers(&mut managed.entries);
    set_managed_fields(&mut object, &managed.encode());
    object
}

/// `[]` or `[{}]`: the client asks to clear managedFields.
fn is_reset(items: &[Value]) -> bool {
    match items {
        [] => true,
        [one] => one.as_object().is_some_and(Map::is_empty),
        _ => false,
    }
}
