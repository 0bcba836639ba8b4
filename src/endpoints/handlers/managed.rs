//! managedFields in the handlers, where kube keeps them (handlers/create.go, update.go,
//! patch.go call the field manager before the registry sees the object).
//!
//! Every create, update and non-apply patch is recorded as an `Update` by the request's manager:
//! `fieldManager`, else the User-Agent's product (`kubectl`, `kube-rs`). Writes to a subresource
//! are recorded with `subresource` set, and the fields the endpoint's strategy resets (`status`
//! on pods, `spec` on `pods/status`) are never owned. Server-side apply merges the configuration
//! and records an `Apply`. The bookkeeping itself is [`crate::api::patch`]; this module only
//! gathers what it needs from the request.

use std::sync::Arc;

use serde_json::Value;

use super::Scope;
use crate::api::ApiError;
use crate::api::options::WriteOptions;
use crate::api::patch::{ManagedFieldsScope, apply, manager_or_user_agent, record_update};
use crate::api::schema::{SchemaModel, omit_empty};

/// What recording managedFields needs, owned, so that update closures (which may run again
/// after a conflict) can carry it.
#[derive(Clone, Debug)]
pub struct FieldManager {
    schema: Arc<SchemaModel>,
    group: String,
    version: String,
    kind: String,
    api_version: String,
    subresource: String,
    reset_fields: &'static [&'static [&'static str]],
    manager: String,
}

impl FieldManager {
    /// The field manager of a write to `scope`'s endpoint with `opts`.
    pub fn new(scope: &Scope, opts: &WriteOptions) -> Self {
        let descriptor = scope.descriptor();
        Self {
            schema: scope.config.schema.clone(),
            group: descriptor.group.clone(),
            version: descriptor.version.clone(),
            kind: descriptor.kind.clone(),
            api_version: descriptor.api_version(),
            subresource: scope.info.subresource.clone(),
            reset_fields: scope.rest.reset_fields(),
            manager: manager_or_user_agent(opts.field_manager.as_deref(), scope.user_agent()),
        }
    }

    /// Runs `f` with the bookkeeping scope of this write, stamped now; `None` when the kind has
    /// no schema (its objects are not tracked, as kube's unstructured kinds without a model).
    fn with_scope<R>(&self, f: impl FnOnce(&ManagedFieldsScope<'_>) -> R) -> Option<R> {
        let ty = self
            .schema
            .for_kind(&self.group, &self.version, &self.kind)?;
        let scope = ManagedFieldsScope {
            ty,
            api_version: &self.api_version,
            kind: &self.kind,
            subresource: &self.subresource,
            reset_fields: self.reset_fields,
            now: now(),
        };
        Some(f(&scope))
    }

    /// kube's `UpdateNoErrors`: `new` with managedFields recording this write over `live` (`None`
    /// on create). Never fails; an untracked kind's object is returned as it is.
    ///
    /// Like kube, which records fields from the decoded object and stores it through Go's
    /// encoder, the fields are those of `new` without its empty optional lists and maps
    /// ([`omit_empty`]), and that is also the object returned.
    pub fn update(&self, live: Option<&Value>, mut new: Value) -> Value {
        let recorded = self.with_scope(|scope| {
            omit_empty(scope.ty, &mut new);
            record_update(live, &new, &self.manager, scope)
        });
        recorded.unwrap_or(new)
    }

    /// Server-side apply of `config` onto `live` (`None`: the object is created) by the
    /// `fieldManager` of the request, taking fields from other managers when `force`.
    pub fn apply(
        &self,
        live: Option<&Value>,
        config: &Value,
        force: bool,
    ) -> Result<Value, ApiError> {
        let applied = self
            .with_scope(|scope| apply(live, config, &self.manager, force, scope))
            .ok_or_else(|| {
                ApiError::Unknown(format!(
                    "no schema is known for {}, Kind={}",
                    self.api_version, self.kind
                ))
            })?;
        let mut object = applied.map_err(|e| e.into_api_error())?.object;
        // The configuration's fields are recorded as sent; the object is stored as Go writes it.
        if let Some(ty) = self.schema.for_kind(&self.group, &self.version, &self.kind) {
            omit_empty(ty, &mut object);
        }
        Ok(object)
    }
}

/// Now, to the second, as kube's `metav1.Time` keeps it.
fn now() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second()).unwrap_or(now)
}
