//! Aggregated discovery (`apidiscovery.k8s.io/v2`, and v2beta1 for older clients): every group,
//! version and resource of `/api` or `/apis` in one `APIGroupDiscoveryList`, which client-go,
//! kubectl, kube-rs and kube-aggregator ask for before falling back to the per-version walk.
//!
//! The document is derived from the same `APIResourceList`s the legacy endpoints serve, as kube's
//! `ConvertGroupVersionIntoToDiscovery` does, so the two forms never disagree. kube-core's
//! `discovery::v2` types give the shape; they carry no `apiVersion`/`kind`, so [`WireList`] adds
//! them.

use bytes::Bytes;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIResource, ListMeta, ObjectMeta};
use kube::core::TypeMeta;
use kube::core::discovery::v2::{
    APIGroupDiscovery, APIGroupDiscoveryList, APIResourceDiscovery, APISubresourceDiscovery,
    APIVersionDiscovery, GroupVersionKind,
};
use serde::Serialize;

use super::negotiation::AggregatedDiscovery;
use super::{etag_of, resource_list, to_bytes};
use crate::endpoints::ApiGroupInfo;

/// kube's `DiscoveryFreshnessCurrent`: a locally served version is always up to date (only an
/// aggregator marks a backend it cannot reach `Stale`).
const FRESHNESS_CURRENT: &str = "Current";

/// One aggregated document, serialised in each served version, with its ETag.
#[derive(Clone, Debug, Default)]
pub struct AggregatedDocument {
    /// The `apidiscovery.k8s.io/v2` body.
    pub v2: Bytes,
    /// The same list as `apidiscovery.k8s.io/v2beta1` (the shapes are identical).
    pub v2beta1: Bytes,
    /// The quoted ETag, shared by both versions as kube's is: it hashes the list without its
    /// type, and `Vary: Accept` keeps caches from mixing the two bodies.
    pub etag: String,
}

impl AggregatedDocument {
    /// Builds the document of `groups` (the core group alone for `/api`).
    pub fn new(groups: &[ApiGroupInfo]) -> Self {
        let list = group_discovery_list(groups);
        Self {
            v2: to_bytes(&WireList::new(AggregatedDiscovery::V2, &list)),
            v2beta1: to_bytes(&WireList::new(AggregatedDiscovery::V2beta1, &list)),
            etag: etag_of(&to_bytes(&list)),
        }
    }

    /// The body for `version`.
    pub fn body(&self, version: AggregatedDiscovery) -> Bytes {
        match version {
            AggregatedDiscovery::V2 => self.v2.clone(),
            AggregatedDiscovery::V2beta1 => self.v2beta1.clone(),
        }
    }
}

/// `APIGroupDiscoveryList` with its `apiVersion` and `kind`.
#[derive(Serialize)]
struct WireList<'a> {
    #[serde(flatten)]
    types: TypeMeta,
    #[serde(flatten)]
    list: &'a APIGroupDiscoveryList,
}

impl<'a> WireList<'a> {
    fn new(version: AggregatedDiscovery, list: &'a APIGroupDiscoveryList) -> Self {
        Self {
            types: TypeMeta {
                api_version: version.api_version().into(),
                kind: "APIGroupDiscoveryList".into(),
            },
            list,
        }
    }
}

/// The list of `groups` in the order given (the installer's order: kube sorts local groups by
/// priority, which the order of installation stands for here), versions in preference order.
pub fn group_discovery_list(groups: &[ApiGroupInfo]) -> APIGroupDiscoveryList {
    let items = groups
        .iter()
        .map(|group| APIGroupDiscovery {
            // The core group has no name; kube leaves it out.
            metadata: Some(ObjectMeta {
                name: (!group.group.is_empty()).then(|| group.group.clone()),
                ..Default::default()
            }),
            versions: group
                .versions
                .iter()
                .map(|version| APIVersionDiscovery {
                    version: Some(version.version.clone()),
                    resources: resources_discovery(&resource_list(&group.group, version).resources),
                    freshness: Some(FRESHNESS_CURRENT.into()),
                })
                .collect(),
        })
        .collect();
    APIGroupDiscoveryList {
        metadata: Some(ListMeta::default()),
        items,
    }
}

/// kube's `ConvertGroupVersionIntoToDiscovery`: top-level resources in list order, each
/// subresource folded into its parent. `responseKind` is always set (kube-aggregator replaces a
/// missing one and client-go v0.26.0–3 crashed without it); its group and version are those of
/// the `APIResource`, empty unless the kind lives in another group-version, exactly as kube
/// serves them.
pub fn resources_discovery(list: &[APIResource]) -> Vec<APIResourceDiscovery> {
    let mut resources: Vec<APIResourceDiscovery> = list
        .iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| APIResourceDiscovery {
            resource: Some(r.name.clone()),
            response_kind: Some(response_kind(r)),
            scope: Some(scope(r.namespaced).into()),
            singular_resource: Some(r.singular_name.clone()),
            verbs: r.verbs.clone(),
            short_names: r.short_names.clone().unwrap_or_default(),
            categories: r.categories.clone().unwrap_or_default(),
            subresources: Vec::new(),
        })
        .collect();
    for r in list {
        let Some((parent, subresource)) = r.name.split_once('/') else {
            continue;
        };
        let index = match resources
            .iter()
            .position(|p| p.resource.as_deref() == Some(parent))
        {
            Some(index) => index,
            // A subresource without its parent still gets a parent entry, as kube's does.
            None => {
                resources.push(APIResourceDiscovery {
                    resource: Some(parent.into()),
                    response_kind: Some(empty_kind()),
                    scope: Some(scope(r.namespaced).into()),
                    ..Default::default()
                });
                resources.len() - 1
            }
        };
        resources[index].subresources.push(APISubresourceDiscovery {
            subresource: Some(subresource.into()),
            response_kind: Some(if r.kind.is_empty() {
                empty_kind()
            } else {
                response_kind(r)
            }),
            accepted_types: Vec::new(),
            verbs: r.verbs.clone(),
        });
    }
    resources
}

fn response_kind(r: &APIResource) -> GroupVersionKind {
    GroupVersionKind {
        group: Some(r.group.clone().unwrap_or_default()),
        version: Some(r.version.clone().unwrap_or_default()),
        kind: Some(r.kind.clone()),
    }
}

fn empty_kind() -> GroupVersionKind {
    GroupVersionKind {
        group: Some(String::new()),
        version: Some(String::new()),
        kind: Some(String::new()),
    }
}

fn scope(namespaced: bool) -> &'static str {
    if namespaced { "Namespaced" } else { "Cluster" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::ApiVersionInfo;
    use crate::endpoints::discovery::tests::pods_version;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    fn groups() -> Vec<ApiGroupInfo> {
        vec![ApiGroupInfo {
            group: "capstan.dev".into(),
            versions: vec![
                pods_version(),
                ApiVersionInfo {
                    version: "v1beta1".into(),
                    resources: BTreeMap::new(),
                },
            ],
        }]
    }

    #[test]
    fn the_list_carries_its_type_and_every_version_in_order() {
        let doc = AggregatedDocument::new(&groups());
        let v2: Value = serde_json::from_slice(&doc.v2).unwrap();
        assert_eq!(v2["kind"], "APIGroupDiscoveryList");
        assert_eq!(v2["apiVersion"], "apidiscovery.k8s.io/v2");
        assert_eq!(v2["metadata"], json!({}));
        let group = &v2["items"][0];
        assert_eq!(group["metadata"], json!({"name": "capstan.dev"}));
        let versions: Vec<(&str, &str)> = group["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_str().unwrap(),
                    v["freshness"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(versions, [("v1", "Current"), ("v1beta1", "Current")]);

        let beta: Value = serde_json::from_slice(&doc.v2beta1).unwrap();
        assert_eq!(beta["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        assert_eq!(beta["items"], v2["items"]);
        assert!(doc.etag.starts_with('"') && doc.etag.ends_with('"'));
    }

    #[test]
    fn resources_fold_their_subresources() {
        let list = group_discovery_list(&groups());
        let value = serde_json::to_value(&list.items[0].versions[0].resources).unwrap();
        assert_eq!(
            value,
            json!([{
                "resource": "pods",
                "responseKind": {"group": "", "version": "", "kind": "Pod"},
                "scope": "Namespaced",
                "singularResource": "pod",
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "shortNames": ["po"],
                "categories": ["all"],
                "subresources": [
                    {"subresource": "eviction",
                     "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"},
                     "acceptedTypes": [], "verbs": ["create"]},
                    {"subresource": "status",
                     "responseKind": {"group": "", "version": "", "kind": "Pod"},
                     "acceptedTypes": [], "verbs": ["get", "patch", "update"]},
                ],
            }])
        );
    }

    #[test]
    fn the_core_group_is_nameless_and_an_orphan_subresource_gets_a_parent() {
        let core = ApiGroupInfo {
            group: String::new(),
            versions: vec![pods_version()],
        };
        let list = group_discovery_list(&[core]);
        assert_eq!(
            serde_json::to_value(&list.items[0].metadata).unwrap(),
            json!({})
        );

        let orphan = APIResource {
            name: "widgets/scale".into(),
            namespaced: false,
            kind: String::new(),
            verbs: vec!["get".into()],
            ..Default::default()
        };
        let resources = serde_json::to_value(resources_discovery(&[orphan])).unwrap();
        assert_eq!(resources[0]["resource"], "widgets");
        assert_eq!(resources[0]["scope"], "Cluster");
        assert_eq!(
            resources[0]["responseKind"],
            json!({"group": "", "version": "", "kind": ""})
        );
        assert_eq!(resources[0]["subresources"][0]["subresource"], "scale");
    }
}
