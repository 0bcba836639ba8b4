//! The built-in controllers of standalone Capstan: which resources they act on (the one place
//! that says "pods"), and the post-start hooks that start them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::auth::Admit;
use crate::controllers::deletable_namespaced;
use crate::controllers::namespace::{NamespaceEndpoints, NamespaceFinalizer};
use crate::controllers::pod_finisher::PodFinisher;
use crate::registry::Rest;
use crate::server::GenericApiServer;
use crate::server::config::ControllersConfig;

/// The namespace finalizer, and the pod finisher unless turned off.
pub(super) struct BuiltinControllers {
    namespace_finalizer: NamespaceFinalizer,
    pod_finisher: Option<PodFinisher>,
}

impl BuiltinControllers {
    /// Controllers over the storage maps of the core and capstan.dev groups, acting through
    /// `admission`.
    pub(super) fn new(
        core: &BTreeMap<String, Arc<dyn Rest>>,
        capstan: &BTreeMap<String, Arc<dyn Rest>>,
        admission: Arc<dyn Admit>,
        config: &ControllersConfig,
    ) -> Self {
        let namespace_finalizer = NamespaceFinalizer::new(
            NamespaceEndpoints {
                namespaces: core["namespaces"].clone(),
                status: core["namespaces/status"].clone(),
                finalize: core["namespaces/finalize"].clone(),
            },
            namespace_content(core, capstan),
            admission.clone(),
        );
        let pod_finisher = config.pod_finisher.then(|| {
            let pods = [core, capstan].map(|group| group["pods"].clone());
            PodFinisher::new(pods.to_vec(), admission)
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
/// resource both groups serve (kube's OrderedNamespaceDeletion: pods go before what they use).
pub(crate) fn namespace_content(
    core: &BTreeMap<String, Arc<dyn Rest>>,
    capstan: &BTreeMap<String, Arc<dyn Rest>>,
) -> Vec<Vec<Arc<dyn Rest>>> {
    let (pods, rest) = deletable_namespaced(core.iter().chain(capstan))
        .into_iter()
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
