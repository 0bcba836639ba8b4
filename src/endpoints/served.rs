//! What the installer serves, described for the OpenAPI documents.
//!
//! The documents are built from the same storage maps the router is, so a resource, verb or
//! subresource is advertised exactly when it is served (connect-style subresources aside, which
//! the documents leave out).

use std::collections::BTreeMap;

use super::{ApiGroupInfo, Installer};
use crate::api::openapi::{ServedResource, ServedSubresource};
use crate::registry::Rest;

impl Installer {
    /// Every installed resource with its verbs and subresources, in the form
    /// [`crate::api::openapi::OpenApiDocs::build`] takes. Call it before
    /// [`Installer::into_router`].
    pub fn served_resources(&self) -> Vec<ServedResource> {
        self.legacy
            .iter()
            .chain(&self.groups)
            .flat_map(served_in_group)
            .collect()
    }
}

fn verbs(rest: &dyn Rest) -> Vec<String> {
    rest.verbs()
        .into_iter()
        .map(|v| v.as_str().to_string())
        .collect()
}

fn served_in_group(info: &ApiGroupInfo) -> Vec<ServedResource> {
    let mut out = Vec::new();
    for version in &info.versions {
        let mut resources: BTreeMap<&str, ServedResource> = version
            .resources
            .iter()
            .filter(|(path, _)| !path.contains('/'))
            .map(|(path, rest)| {
                let descriptor = rest.descriptor();
                let resource = ServedResource {
                    group: info.group.clone(),
                    version: version.version.clone(),
                    plural: path.clone(),
                    kind: descriptor.kind.clone(),
                    namespaced: descriptor.namespaced,
                    verbs: verbs(rest.as_ref()),
                    subresources: Vec::new(),
                };
                (path.as_str(), resource)
            })
            .collect();
        for (path, rest) in &version.resources {
            let Some((parent, name)) = path.split_once('/') else {
                continue;
            };
            // Connect-style subresources (`pods/log`, `pods/exec`) answer with bytes, not objects;
            // the documents do not describe them yet (kube lists `connect` operations returning
            // strings).
            if rest.is_connect() {
                continue;
            }
            if let Some(resource) = resources.get_mut(parent) {
                // A subresource's descriptor names the kind of its body (`Binding`, `Eviction`).
                let descriptor = rest.descriptor();
                resource.subresources.push(ServedSubresource {
                    name: name.to_string(),
                    group: descriptor.group.clone(),
                    version: descriptor.version.clone(),
                    kind: descriptor.kind.clone(),
                    verbs: verbs(rest.as_ref()),
                });
            }
        }
        out.extend(resources.into_values());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::api::ResourceDescriptor;
    use crate::api::openapi::OpenApiDocs;
    use crate::api::schema::SchemaModelBuilder;
    use crate::auth::admission::AdmissionChain;
    use crate::endpoints::ApiVersionInfo;
    use crate::registry::Verb;

    /// Only what discovery and the documents read: a descriptor and verbs.
    struct Described(ResourceDescriptor, BTreeSet<Verb>);

    #[async_trait]
    impl Rest for Described {
        fn descriptor(&self) -> &ResourceDescriptor {
            &self.0
        }
        fn verbs(&self) -> BTreeSet<Verb> {
            self.1.clone()
        }
    }

    fn rest(group: &str, kind: &str, plural: &str, verbs: &[Verb]) -> Arc<dyn Rest> {
        let descriptor = ResourceDescriptor {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced: true,
            ..Default::default()
        };
        Arc::new(Described(descriptor, verbs.iter().copied().collect()))
    }

    #[test]
    fn storage_maps_become_documented_resources() {
        let mut installer = Installer::new(Arc::new(AdmissionChain::default()));
        let resources = BTreeMap::from([
            (
                "pods".into(),
                rest("", "Pod", "pods", &[Verb::Get, Verb::Patch]),
            ),
            (
                "pods/status".into(),
                rest("", "Pod", "pods/status", &[Verb::Get]),
            ),
            (
                "pods/eviction".into(),
                rest("policy", "Eviction", "pods/eviction", &[Verb::Create]),
            ),
        ]);
        installer.install_legacy_group(ApiGroupInfo {
            group: String::new(),
            versions: vec![ApiVersionInfo {
                version: "v1".into(),
                resources,
            }],
        });
        let served = installer.served_resources();
        assert_eq!(served.len(), 1);
        let pods = &served[0];
        assert_eq!((pods.plural.as_str(), pods.kind.as_str()), ("pods", "Pod"));
        assert_eq!(pods.verbs, ["get", "patch"]);
        let subs: Vec<(&str, &str, &str)> = pods
            .subresources
            .iter()
            .map(|s| (s.name.as_str(), s.group.as_str(), s.kind.as_str()))
            .collect();
        assert_eq!(
            subs,
            [("eviction", "policy", "Eviction"), ("status", "", "Pod")]
        );

        let model = SchemaModelBuilder::with_core_kinds().build();
        let docs = OpenApiDocs::build(&model, &served).unwrap();
        let v2: serde_json::Value = serde_json::from_slice(docs.v2().json()).unwrap();
        let eviction = &v2["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"];
        assert_eq!(
            eviction["post"]["operationId"],
            "createCoreV1NamespacedPodEviction"
        );
        assert!(
            v2["paths"]["/api/v1/namespaces/{namespace}/pods"]
                .get("post")
                .is_none()
        );
    }
}
