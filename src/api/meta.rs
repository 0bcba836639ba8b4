//! What the installers and discovery need to know about a served resource.

use super::errors::{GroupKind, GroupResource};

/// Static facts about one resource (or subresource) in one group-version.
///
/// The installer routes by `plural`; discovery lists every field; Status errors use
/// [`ResourceDescriptor::group_resource`] and [`ResourceDescriptor::group_kind`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceDescriptor {
    /// API group; empty for the legacy core group.
    pub group: String,
    /// Version within the group (`v1`).
    pub version: String,
    /// Kind of the objects this endpoint returns (`Pod`; `Binding` for `pods/binding`).
    pub kind: String,
    /// Lower-case plural (`pods`); the URL segment.
    pub plural: String,
    /// Lower-case singular (`pod`); empty on subresources.
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// kubectl short names (`po`).
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    pub categories: Vec<String>,
}

impl ResourceDescriptor {
    /// `apiVersion` as written in objects: `v1` or `capstan.dev/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The resource for NotFound/AlreadyExists/Conflict messages.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.group.clone(), self.plural.clone())
    }

    /// The kind for Invalid messages.
    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.group.clone(), self.kind.clone())
    }

    /// Kind of the list type (`PodList`).
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The group name used in storage keys: the legacy group is written `core`.
    pub fn storage_group(&self) -> &str {
        if self.group.is_empty() {
            "core"
        } else {
            &self.group
        }
    }
}
