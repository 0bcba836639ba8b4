//! The one place storage keys are built: `<prefix>/<group>/<resource>/<namespace>/<name>`.
//!
//! The legacy group is written `core`; cluster-scoped kinds drop the namespace. Collection
//! prefixes always end in `/` so that listing `ns1` never returns objects of `ns10`.

/// The layout of one resource's keys under a storage prefix (`/capstan` by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    base: String,
}

impl KeyLayout {
    /// `prefix` is `--etcd-prefix`; `group` is `core` for the legacy group.
    ///
    /// ```
    /// use capstan::storage::keys::KeyLayout;
    /// let pods = KeyLayout::new("/capstan", "core", "pods");
    /// assert_eq!(pods.object(Some("default"), "web"), "/capstan/core/pods/default/web");
    /// assert_eq!(pods.collection(Some("ns1")), "/capstan/core/pods/ns1/");
    /// assert_eq!(pods.collection(None), "/capstan/core/pods/");
    /// let ns = KeyLayout::new("/capstan/", "core", "namespaces");
    /// assert_eq!(ns.object(None, "default"), "/capstan/core/namespaces/default");
    /// ```
    pub fn new(prefix: &str, group: &str, resource: &str) -> Self {
        let prefix = prefix.trim_end_matches('/');
        Self {
            base: format!("{prefix}/{group}/{resource}/"),
        }
    }

    /// The key of one object.
    pub fn object(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) => format!("{}{ns}/{name}", self.base),
            None => format!("{}{name}", self.base),
        }
    }

    /// The prefix of a namespace's objects, or of all objects when `namespace` is `None`.
    pub fn collection(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) => format!("{}{ns}/", self.base),
            None => self.base.clone(),
        }
    }
}
