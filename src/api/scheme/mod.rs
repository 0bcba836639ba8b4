//! The Scheme: which kinds each group-version serves, how each served version converts to and
//! from its storage version, its defaults, and its field labels (kube's `runtime.Scheme`, without
//! reflection).
//!
//! Objects travel through the API layers as JSON (`serde_json::Value`), so a registration is data:
//! a [`GroupVersionKind`] plus plain functions over the object's JSON map. Every kind has one
//! storage version (the hub, kube's internal version plays that role there); every other served
//! version of the kind registers a [`Conversion`] pair — to the storage version and back — so any
//! two versions convert through the hub and no version needs to know another. Adding a version is
//! one [`Scheme::add_kind`] call per kind and an entry in [`Scheme::set_version_priority`];
//! `registry::converting` then serves it without new routing code.
//!
//! Conversions must be lossless through the hub: storage → version → storage gives back the
//! stored object. A version that cannot hold a field keeps it in an annotation, as kube's
//! autoscaling/v1 keeps v2's metrics.
//!
//! ```
//! use capstan::api::scheme::{Conversion, GroupVersionKind, Scheme};
//! use serde_json::json;
//!
//! let mut scheme = Scheme::new();
//! scheme.add_storage_kind(GroupVersionKind::new("example.dev", "v1", "Widget"));
//! scheme.add_kind(
//!     GroupVersionKind::new("example.dev", "v1alpha1", "Widget"),
//!     Conversion {
//!         to_storage: |obj| {
//!             if let Some(size) = obj.remove("size") {
//!                 obj.insert("replicas".into(), size);
//!             }
//!             Ok(())
//!         },
//!         from_storage: |obj| {
//!             if let Some(replicas) = obj.remove("replicas") {
//!                 obj.insert("size".into(), replicas);
//!             }
//!             Ok(())
//!         },
//!     },
//! );
//! let old = json!({"apiVersion": "example.dev/v1alpha1", "kind": "Widget", "size": 3});
//! let stored = scheme.convert(old.clone(), "v1").unwrap();
//! assert_eq!(stored, json!({"apiVersion": "example.dev/v1", "kind": "Widget", "replicas": 3}));
//! assert_eq!(scheme.convert(stored, "v1alpha1").unwrap(), old);
//! ```

pub mod capstan;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// A kind in one group-version: what `apiVersion` and `kind` name together.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupVersionKind {
    /// The group; empty for the legacy core group.
    pub group: String,
    /// The version within the group (`v1beta1`).
    pub version: String,
    /// The kind (`Pod`).
    pub kind: String,
}

impl GroupVersionKind {
    /// `group`/`version` `kind`.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        }
    }

    /// Splits an object's `apiVersion` (`v1`, `capstan.dev/v1beta1`) and pairs it with `kind`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        Self::new(group, version, kind)
    }

    /// The same kind in another version of its group.
    #[must_use]
    pub fn with_version(&self, version: &str) -> Self {
        Self::new(self.group.clone(), version, self.kind.clone())
    }

    /// `apiVersion` as objects carry it.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for GroupVersionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, Kind={}", self.api_version(), self.kind)
    }
}

/// Why an object could not be converted. Request bodies that fail become 400 BadRequest (kube's
/// decoder does the same); stored objects that fail are a server defect (500).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// The object names a kind this Scheme does not serve in that version.
    #[error("no kind {kind:?} is registered for version {api_version:?}")]
    NotRegistered { api_version: String, kind: String },
    /// The object is not a JSON object with `apiVersion` and `kind`.
    #[error("{0}")]
    NotAnObject(String),
    /// A conversion function refused the object's content.
    #[error("{0}")]
    Invalid(String),
}

/// An object's JSON map, which conversion and defaulting functions edit in place.
pub type Object = Map<String, Value>;

/// Rewrites an object between two versions of its kind, in place. The Scheme sets `apiVersion`
/// afterwards, so the function only moves fields.
pub type ConvertFn = fn(&mut Object) -> Result<(), ConversionError>;

/// Sets the defaults of one version on a decoded request body (kube's `SetDefaults_*` of an
/// external version), before it converts to the storage version.
pub type DefaultFn = fn(&mut Object);

/// Maps a field selector label and value of one version to the storage version's, or refuses it
/// with kube's `field label not supported: <label>`.
pub type FieldLabelFn = fn(&str, &str) -> Result<(String, String), String>;

/// Names a field path of the storage version (`spec.nodeName`, `spec.schedulingGates[0].name`,
/// as validation reports it) in one version's terms, so that a 422's causes name fields the
/// client can see; paths that are the same in both versions come back unchanged.
pub type FieldPathFn = fn(&str) -> String;

/// How a served version of a kind converts to its storage version and back.
#[derive(Clone, Copy, Debug)]
pub struct Conversion {
    /// This version → the storage version.
    pub to_storage: ConvertFn,
    /// The storage version → this version.
    pub from_storage: ConvertFn,
}

impl Conversion {
    /// For a version with exactly the storage version's fields: only `apiVersion` changes.
    pub const IDENTICAL: Self = Self {
        to_storage: |_| Ok(()),
        from_storage: |_| Ok(()),
    };
}

/// What the Scheme knows about one kind in one version.
#[derive(Clone, Copy, Debug)]
struct Registration {
    /// `None` for the storage version itself.
    conversion: Option<Conversion>,
    defaulter: Option<DefaultFn>,
    field_labels: Option<FieldLabelFn>,
    field_paths: Option<FieldPathFn>,
}

impl Registration {
    const EMPTY: Self = Self {
        conversion: None,
        defaulter: None,
        field_labels: None,
        field_paths: None,
    };
}

/// Kinds per group-version, their storage versions, conversions, defaults and field labels.
#[derive(Clone, Debug, Default)]
pub struct Scheme {
    kinds: BTreeMap<GroupVersionKind, Registration>,
    /// The storage version of each (group, kind).
    storage: BTreeMap<(String, String), String>,
    /// Served versions per group, most preferred first.
    priorities: BTreeMap<String, Vec<String>>,
}

impl Scheme {
    /// An empty Scheme.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `gvk` as the version its kind is stored in: the hub every other version of the
    /// kind converts through.
    pub fn add_storage_kind(&mut self, gvk: GroupVersionKind) -> &mut Self {
        self.storage
            .insert((gvk.group.clone(), gvk.kind.clone()), gvk.version.clone());
        self.kinds.insert(gvk, Registration::EMPTY);
        self
    }

    /// Registers `gvk`, served through `conversion` from its kind's storage version.
    pub fn add_kind(&mut self, gvk: GroupVersionKind, conversion: Conversion) -> &mut Self {
        let entry = self.kinds.entry(gvk).or_insert(Registration::EMPTY);
        entry.conversion = Some(conversion);
        self
    }

    /// Registers the defaults of `gvk`, applied to request bodies in that version.
    /// Register `gvk` first: for a kind the Scheme does not know, nothing is recorded.
    pub fn add_defaulter(&mut self, gvk: &GroupVersionKind, defaulter: DefaultFn) -> &mut Self {
        if let Some(entry) = self.kinds.get_mut(gvk) {
            entry.defaulter = Some(defaulter);
        }
        self
    }

    /// Registers how field selectors of `gvk` name the storage version's fields.
    /// Register `gvk` first: for a kind the Scheme does not know, nothing is recorded.
    pub fn add_field_label_conversion(
        &mut self,
        gvk: &GroupVersionKind,
        convert: FieldLabelFn,
    ) -> &mut Self {
        if let Some(entry) = self.kinds.get_mut(gvk) {
            entry.field_labels = Some(convert);
        }
        self
    }

    /// Registers how `gvk` names the storage version's field paths in validation errors.
    /// Register `gvk` first: for a kind the Scheme does not know, nothing is recorded.
    pub fn add_field_path_conversion(
        &mut self,
        gvk: &GroupVersionKind,
        convert: FieldPathFn,
    ) -> &mut Self {
        if let Some(entry) = self.kinds.get_mut(gvk) {
            entry.field_paths = Some(convert);
        }
        self
    }

    /// The versions `group` serves, most preferred first (kube's `SetVersionPriority`); discovery
    /// names the first as the preferred version.
    pub fn set_version_priority(&mut self, group: &str, versions: &[&str]) -> &mut Self {
        self.priorities.insert(
            group.to_string(),
            versions.iter().map(|v| v.to_string()).collect(),
        );
        self
    }

    /// The versions `group` serves, most preferred first: the set priority, else storage versions
    /// first and then the others, each in name order.
    pub fn prioritized_versions(&self, group: &str) -> Vec<String> {
        if let Some(versions) = self.priorities.get(group) {
            return versions.clone();
        }
        let mut storage: Vec<String> = Vec::new();
        let mut others: Vec<String> = Vec::new();
        for gvk in self.kinds.keys().filter(|k| k.group == group) {
            let is_storage = self.storage_version(&gvk.group, &gvk.kind) == Some(&gvk.version);
            let list = if is_storage {
                &mut storage
            } else {
                &mut others
            };
            if !list.contains(&gvk.version) {
                list.push(gvk.version.clone());
            }
        }
        others.retain(|v| !storage.contains(v));
        storage.extend(others);
        storage
    }

    /// Whether `gvk` is served.
    pub fn is_registered(&self, gvk: &GroupVersionKind) -> bool {
        self.kinds.contains_key(gvk)
    }

    /// The version `kind` of `group` is stored in, if registered.
    pub fn storage_version(&self, group: &str, kind: &str) -> Option<&String> {
        self.storage.get(&(group.to_string(), kind.to_string()))
    }

    /// Converts `object` (any registered version of its kind, named by its `apiVersion` and
    /// `kind`) to `version` of the same group and kind, through the storage version. Status
    /// objects pass unchanged: they are not versioned with the resource.
    pub fn convert(&self, mut object: Value, version: &str) -> Result<Value, ConversionError> {
        let source = object_gvk(&object)?;
        if source.group.is_empty() && source.version == "v1" && source.kind == "Status" {
            return Ok(object);
        }
        let target = source.with_version(version);
        let from = self.registration(&source)?;
        let to = self.registration(&target)?;
        if source == target {
            return Ok(object);
        }
        let hub = self
            .storage_version(&source.group, &source.kind)
            .ok_or_else(|| not_registered(&source))?
            .clone();
        let map = as_map(&mut object)?;
        if let Some(conversion) = from.conversion {
            (conversion.to_storage)(map)?;
        }
        set_api_version(map, &source.with_version(&hub));
        if let Some(conversion) = to.conversion {
            (conversion.from_storage)(map)?;
        }
        set_api_version(map, &target);
        Ok(object)
    }

    /// Applies the defaults registered for the object's own version.
    pub fn apply_defaults(&self, object: &mut Value) -> Result<(), ConversionError> {
        let gvk = object_gvk(object)?;
        if let Some(defaulter) = self.registration(&gvk)?.defaulter {
            defaulter(as_map(object)?);
        }
        Ok(())
    }

    /// A field selector `label=value` of `gvk` in the storage version's terms; labels of a version
    /// with no conversion registered pass unchanged.
    pub fn convert_field_label(
        &self,
        gvk: &GroupVersionKind,
        label: &str,
        value: &str,
    ) -> Result<(String, String), ConversionError> {
        match self.registration(gvk)?.field_labels {
            Some(convert) => convert(label, value).map_err(ConversionError::Invalid),
            None => Ok((label.to_string(), value.to_string())),
        }
    }

    /// A storage-version field path in `gvk`'s terms; unchanged when `gvk` registers no mapping.
    pub fn field_path_for(&self, gvk: &GroupVersionKind, path: &str) -> String {
        match self.kinds.get(gvk).and_then(|r| r.field_paths) {
            Some(convert) => convert(path),
            None => path.to_string(),
        }
    }

    fn registration(&self, gvk: &GroupVersionKind) -> Result<&Registration, ConversionError> {
        self.kinds.get(gvk).ok_or_else(|| not_registered(gvk))
    }
}

fn not_registered(gvk: &GroupVersionKind) -> ConversionError {
    ConversionError::NotRegistered {
        api_version: gvk.api_version(),
        kind: gvk.kind.clone(),
    }
}

/// The group-version-kind an object names.
fn object_gvk(object: &Value) -> Result<GroupVersionKind, ConversionError> {
    let field = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or("");
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if !object.is_object() || api_version.is_empty() || kind.is_empty() {
        return Err(ConversionError::NotAnObject(
            "the object has no apiVersion and kind to convert from".into(),
        ));
    }
    Ok(GroupVersionKind::from_api_version(api_version, kind))
}

fn as_map(object: &mut Value) -> Result<&mut Object, ConversionError> {
    object
        .as_object_mut()
        .ok_or_else(|| ConversionError::NotAnObject("the object is not a JSON object".into()))
}

fn set_api_version(map: &mut Object, gvk: &GroupVersionKind) {
    map.insert("apiVersion".into(), Value::String(gvk.api_version()));
}
