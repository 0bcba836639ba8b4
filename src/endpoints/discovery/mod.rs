//! Discovery: the legacy documents — `/api` (APIVersions), `/apis` (APIGroupList), `/apis/<g>`
//! (APIGroup) and `/api/v1`, `/apis/<g>/<v>` (APIResourceList) — and, in [`aggregated`], the
//! aggregated `APIGroupDiscoveryList` that `/api` and `/apis` answer when Accept asks for it.
//!
//! Everything is derived from the installed [`ApiGroupInfo`]s and serialised once when the router
//! is built: kube-aggregator probes `/apis/<g>/<v>` with a 5 s budget and clients fetch discovery
//! constantly, so answering is a copy of bytes. Only `/api` is built per request, because it echoes
//! the address the client used. [`serve`] negotiates which form to write and answers
//! `If-None-Match` from the ETags computed here. k8s-openapi's `meta/v1` types give kube's exact
//! JSON.

pub mod aggregated;
pub mod negotiation;
pub mod serve;

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions, GroupVersionForDiscovery,
    ServerAddressByClientCIDR,
};
use sha2::{Digest, Sha256, Sha512};

use crate::endpoints::{ApiGroupInfo, ApiVersionInfo};
use aggregated::AggregatedDocument;

/// A serialised legacy document with its ETag.
#[derive(Clone, Debug, Default)]
pub struct Document {
    /// The JSON body.
    pub body: Bytes,
    /// The quoted ETag of `body`.
    pub etag: String,
}

impl Document {
    /// `value` serialised, with the ETag of the bytes.
    pub fn new(value: &impl serde::Serialize) -> Self {
        let body = to_bytes(value);
        Self {
            etag: etag_of(&body),
            body,
        }
    }
}

/// Discovery documents, serialised at router build.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// Versions served under `/api`, in preference order.
    pub legacy_versions: Vec<String>,
    /// `/api` as aggregated discovery: the core group alone.
    pub legacy_aggregated: AggregatedDocument,
    /// `/apis` as aggregated discovery: every named group.
    pub aggregated: AggregatedDocument,
    /// `/apis`.
    pub group_list: Document,
    /// `/apis/<g>` by group name.
    pub groups: BTreeMap<String, Document>,
    /// `/api/<v>` and `/apis/<g>/<v>` by group-version (`v1`, `capstan.dev/v1`).
    pub resource_lists: BTreeMap<String, Document>,
}

impl Discovery {
    /// Builds every document for `legacy` (served under `/api`) and `groups` (under `/apis`).
    pub fn new(legacy: &[ApiGroupInfo], groups: &[ApiGroupInfo]) -> Self {
        let mut discovery = Self {
            legacy_versions: legacy
                .iter()
                .flat_map(|g| g.versions.iter().map(|v| v.version.clone()))
                .collect(),
            legacy_aggregated: AggregatedDocument::new(legacy),
            aggregated: AggregatedDocument::new(groups),
            group_list: Document::new(&APIGroupList {
                groups: groups.iter().map(api_group).collect(),
            }),
            ..Default::default()
        };
        for group in groups {
            discovery
                .groups
                .insert(group.group.clone(), Document::new(&api_group(group)));
        }
        for group in legacy.iter().chain(groups) {
            for version in &group.versions {
                let list = resource_list(&group.group, version);
                discovery
                    .resource_lists
                    .insert(list.group_version.clone(), Document::new(&list));
            }
        }
        discovery
    }
}

/// A strong, quoted ETag for `bytes`: SHA-512 in upper-case hex, as kube's discovery ETags.
pub fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha512::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
    format!("\"{hex}\"")
}

fn to_bytes(value: &impl serde::Serialize) -> Bytes {
    // Discovery types are strings, booleans and lists; serialisation cannot fail.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// `v1` for the core group, `<group>/<version>` otherwise.
pub fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `/api`: the core group's versions and the address clients should use, which kube derives
/// from the request for the catch-all CIDR.
pub fn api_versions(versions: &[String], server_address: &str) -> APIVersions {
    APIVersions {
        versions: versions.to_vec(),
        server_address_by_client_cidrs: vec![ServerAddressByClientCIDR {
            client_cidr: "0.0.0.0/0".into(),
            server_address: server_address.into(),
        }],
    }
}

/// `/apis/<g>`: versions in preference order, the first preferred.
pub fn api_group(info: &ApiGroupInfo) -> APIGroup {
    let versions: Vec<GroupVersionForDiscovery> = info
        .versions
        .iter()
        .map(|v| GroupVersionForDiscovery {
            group_version: group_version(&info.group, &v.version),
            version: v.version.clone(),
        })
        .collect();
    APIGroup {
        name: info.group.clone(),
        preferred_version: versions.first().cloned(),
        versions,
        server_address_by_client_cidrs: None,
    }
}

/// `/apis/<g>/<v>`: one APIResource per storage-map entry (subresources as `pods/status`), in
/// path order as kube's installer sorts them.
pub fn resource_list(group: &str, version: &ApiVersionInfo) -> APIResourceList {
    let resources = version
        .resources
        .iter()
        .map(|(path, rest)| {
            let descriptor = rest.descriptor();
            let is_subresource = path.contains('/');
            let mut verbs: Vec<String> = rest
                .verbs()
                .iter()
                .map(|v| v.as_str().to_string())
                .collect();
            verbs.sort();
            // kube names the group/version of an entry only when it differs from the list's
            // (pods/eviction is policy/v1 Eviction).
            let foreign = descriptor.group != group || descriptor.version != version.version;
            APIResource {
                name: path.clone(),
                singular_name: if is_subresource {
                    String::new()
                } else {
                    descriptor.singular.clone()
                },
                namespaced: descriptor.namespaced,
                group: foreign.then(|| descriptor.group.clone()),
                version: foreign.then(|| descriptor.version.clone()),
                kind: descriptor.kind.clone(),
                verbs,
                short_names: non_empty(&descriptor.short_names),
                categories: non_empty(&descriptor.categories),
                storage_version_hash: (!is_subresource && rest.is_stored()).then(|| {
                    let stored = rest.storage_descriptor();
                    storage_version_hash(&stored.group, &stored.version, &stored.kind)
                }),
            }
        })
        .collect();
    APIResourceList {
        group_version: group_version(group, &version.version),
        resources,
    }
}

fn non_empty(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

/// kube's `StorageVersionHash`: base64 of the first 8 bytes of sha256(`<group>/<version>/<kind>`)
/// of the storage version. Clients (the storage-version migrator, GC) compare it for equality.
///
/// ```
/// use capstan::endpoints::discovery::storage_version_hash;
/// assert_eq!(storage_version_hash("", "v1", "Pod"), "xPOwRZ+Yhw8=");
/// ```
pub fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    let digest = Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::ResourceDescriptor;
    use crate::registry::{Rest, Verb};
    use serde_json::json;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    pub(crate) struct Endpoint(ResourceDescriptor, BTreeSet<Verb>);

    #[async_trait::async_trait]
    impl Rest for Endpoint {
        fn descriptor(&self) -> &ResourceDescriptor {
            &self.0
        }
        fn verbs(&self) -> BTreeSet<Verb> {
            self.1.clone()
        }
    }

    fn descriptor(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        singular: &str,
    ) -> ResourceDescriptor {
        ResourceDescriptor {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: singular.into(),
            namespaced: true,
            ..Default::default()
        }
    }

    pub(crate) fn pods_version() -> ApiVersionInfo {
        let mut pods = descriptor("capstan.dev", "v1", "Pod", "pods", "pod");
        pods.short_names = vec!["po".into()];
        pods.categories = vec!["all".into()];
        let all = [
            Verb::Watch,
            Verb::Create,
            Verb::Get,
            Verb::List,
            Verb::Delete,
            Verb::DeleteCollection,
            Verb::Patch,
            Verb::Update,
        ];
        let mut resources: BTreeMap<String, Arc<dyn Rest>> = BTreeMap::new();
        resources.insert(
            "pods".into(),
            Arc::new(Endpoint(pods.clone(), all.into_iter().collect())),
        );
        resources.insert(
            "pods/status".into(),
            Arc::new(Endpoint(
                pods,
                [Verb::Get, Verb::Update, Verb::Patch].into_iter().collect(),
            )),
        );
        resources.insert(
            "pods/eviction".into(),
            Arc::new(Endpoint(
                descriptor("policy", "v1", "Eviction", "pods", ""),
                [Verb::Create].into_iter().collect(),
            )),
        );
        ApiVersionInfo {
            version: "v1".into(),
            resources,
        }
    }

    #[test]
    fn storage_version_hash_matches_kube() {
        // Values served by kube-apiserver for core/v1 Pod and apps/v1 Deployment.
        assert_eq!(storage_version_hash("", "v1", "Pod"), "xPOwRZ+Yhw8=");
        assert_eq!(
            storage_version_hash("apps", "v1", "Deployment"),
            "8aSe+NMegvE="
        );
    }

    #[test]
    fn resource_list_shape() {
        let list = serde_json::to_value(resource_list("capstan.dev", &pods_version())).unwrap();
        assert_eq!(list["kind"], "APIResourceList");
        assert_eq!(list["apiVersion"], "v1");
        assert_eq!(list["groupVersion"], "capstan.dev/v1");
        let resources = list["resources"].as_array().unwrap();
        let names: Vec<&str> = resources
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["pods", "pods/eviction", "pods/status"]);
        assert_eq!(
            resources[0],
            json!({
                "name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "shortNames": ["po"], "categories": ["all"],
                "storageVersionHash": storage_version_hash("capstan.dev", "v1", "Pod"),
            })
        );
        assert_eq!(
            resources[1],
            json!({"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy",
                   "version": "v1", "kind": "Eviction", "verbs": ["create"]})
        );
        assert_eq!(resources[2]["verbs"], json!(["get", "patch", "update"]));
        assert!(resources[2].get("storageVersionHash").is_none());
        assert!(resources[2].get("group").is_none());
    }

    #[test]
    fn group_documents() {
        let group = ApiGroupInfo {
            group: "capstan.dev".into(),
            versions: vec![
                pods_version(),
                ApiVersionInfo {
                    version: "v1beta1".into(),
                    resources: BTreeMap::new(),
                },
            ],
        };
        assert_eq!(
            serde_json::to_value(api_group(&group)).unwrap(),
            json!({
                "kind": "APIGroup", "apiVersion": "v1", "name": "capstan.dev",
                "versions": [{"groupVersion": "capstan.dev/v1", "version": "v1"},
                             {"groupVersion": "capstan.dev/v1beta1", "version": "v1beta1"}],
                "preferredVersion": {"groupVersion": "capstan.dev/v1", "version": "v1"}
            })
        );
        let discovery = Discovery::new(&[], &[group]);
        let list: serde_json::Value = serde_json::from_slice(&discovery.group_list.body).unwrap();
        assert_eq!(list["kind"], "APIGroupList");
        assert_eq!(list["groups"][0]["name"], "capstan.dev");
        assert!(discovery.resource_lists.contains_key("capstan.dev/v1beta1"));
    }

    #[test]
    fn api_versions_echo_the_address() {
        assert_eq!(
            serde_json::to_value(api_versions(&["v1".into()], "127.0.0.1:6443")).unwrap(),
            json!({"kind": "APIVersions", "apiVersion": "v1", "versions": ["v1"],
                   "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]})
        );
    }
}
