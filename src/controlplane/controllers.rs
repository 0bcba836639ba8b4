//! The built-in controllers of standalone Capstan: which resources they act on (the one place
//! that says "pods"), and the post-start hooks that start them.

use std::sync::Arc;

use crate::auth::Admit;
use crate::controllers::deletable_namespaced;
use crate::controllers::namespace::{NamespaceEndpoints, NamespaceFinalizer};
use crate::controllers::pod_finisher::PodFinisher;
use crate::registry::Rest;
use crate::registry::converting::StorageMap;
use crate::server::GenericApiServer;
use crate::server::config::ControllersConfig;

/// The namespace finalizer, and the pod finisher unless turned off.
pub(super) struct BuiltinControllers {
    namespace_finalizer: NamespaceFinalizer,
    pod_finisher: Option<PodFinisher>,
}

impl BuiltinControllers {
    /// Controllers over the storage maps of the core group and of the named groups' storage
    /// versions, acting through `admission`.
    pub(super) fn new(
        core: &StorageMap,
        named: &[StorageMap],
        admission: Arc<dyn Admit>,
        config: &ControllersConfig,
    ) -> Self {
        let namespace_finalizer = NamespaceFinalizer::new(
            NamespaceEndpoints {
                namespaces: core["namespaces"].clone(),
                status: core["namespaces/status"].clone(),
                finalize: core["namespaces/finalize"].clone(),
            },
            namespace_content(core, named),
            admission.clone(),
        );
        let pod_finisher = config.pod_finisher.then(|| {
            // every group's pods (core/v1 and capstan.dev)
            let pods = std::iter::once(core)
                .chain(named)
                .filter_map(|group| group.get("pods").cloned())
                .collect();
            PodFinisher::new(pods, admission)
        });
        Self {
            namespace_finalizer,
            pod_finisher,
        }
    }

    /// Registers a post-start hook per controller; each runs until shutdown begins.
    pub(super) fn start_with(self, server: &mut GenericApiServer) {
        let finalizer = self.namespace_finalizer;
        server.add_post_start_hook("start-namespace-finalizer", move |ctx| async move {
            spawn_until(finalizer.run(), ctx.shutdown_initiated.fired());
            Ok(())
        });
        if let Some(finisher) = self.pod_finisher {
            server.add_post_start_hook("start-pod-finisher", move |ctx| async move {
                spawn_until(finisher.run(), ctx.shutdown_initiated.fired());
                Ok(())
            });
        }
    }
}

/// What deleting a namespace empties, in order: pods first, then every other namespaced
/// resource the groups serve (kube's OrderedNamespaceDeletion: pods go before what they use).
/// A resource served in two groups over one storage (core/v1 and events.k8s.io/v1 events) is
/// emptied once, through the first group that serves it.
pub(crate) fn namespace_content(
    core: &StorageMap,
    named: &[StorageMap],
) -> Vec<Vec<Arc<dyn Rest>>> {
    let mut stored = std::collections::BTreeSet::new();
    let (pods, rest) = deletable_namespaced(core.iter().chain(named.iter().flatten()))
        .into_iter()
        .filter(|r| {
            let storage = r.storage_descriptor();
            stored.insert((storage.group.clone(), storage.plural.clone()))
        })
        .partition(|r| r.descriptor().plural == "pods");
    vec![pods, rest]
}

/// Runs a controller in the background until `stop` resolves.
fn spawn_until(
    controller: impl Future<Output = ()> + Send + 'static,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    tokio::spawn(async move {
        tokio::select! {
            () = controller => {}
            () = stop => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::registry::{core, events};
    use crate::storage::SharedStorage;
    use crate::storage::embedded::EmbeddedStorage;

    /// core/v1 and events.k8s.io/v1 events are one storage: a namespace's deletion lists and
    /// deletes them once, through core/v1.
    #[tokio::test]
    async fn shared_storage_is_emptied_once() {
        let dir = tempfile::tempdir().unwrap();
        let storage: SharedStorage = Arc::new(
            EmbeddedStorage::open(dir.path().join("capstan.redb"))
                .await
                .unwrap(),
        );
        let hour = Duration::from_secs(3600);
        let core = StorageMap::from([(
            "events".to_string(),
            core::event_storage(storage.clone(), "/p", hour),
        )]);
        let named = events::versions(storage, "/p", hour)
            .into_iter()
            .map(|(_, map)| map)
            .collect::<Vec<_>>();
        let content = namespace_content(&core, &named);
        let groups: Vec<Vec<String>> = content
            .iter()
            .map(|step| step.iter().map(|r| r.descriptor().api_version()).collect())
            .collect();
        assert_eq!(groups, [Vec::<String>::new(), vec!["v1".to_string()]]);
    }
}
