//! Standalone Capstan, assembled from the generic pieces (kube's `pkg/controlplane`): the storage
//! backend (behind the watch cache), the core/v1 (namespaces, pods, configmaps, secrets, events
//! with `--event-ttl`), events.k8s.io (v1 events over the core events' storage),
//! authentication.k8s.io and authorization.k8s.io (the self reviews),
//! coordination.k8s.io (v1 leases) and capstan.dev (v1, v1beta1) groups, admission, and the
//! post-start hooks that bootstrap namespaces, compact history and start the built-in controllers
//! (the namespace finalizer and the pod finisher).
//!
//! This is the one place that names concrete kinds; the server, endpoints, store and storage
//! below it are generic.

use std::sync::Arc;

pub(crate) mod controllers;

use anyhow::Context;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{SelfSubjectAccessReview, SelfSubjectRulesReview};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Binding;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use serde_json::json;

use crate::api::ApiError;
use crate::api::openapi::OpenApiDocs;
use crate::api::options::WriteOptions;
use crate::api::schema::{SchemaModel, SchemaModelBuilder};
use crate::api::types::CapstanPod;
use crate::auth::admission::{AdmissionChain, NamespaceLifecycle};
use crate::auth::{Admit, UserInfo};
use crate::endpoints::{ApiGroupInfo, ApiVersionInfo, Installer};
use crate::registry::converting::StorageMap;
use crate::registry::{
    RequestContext, Rest, authentication, authorization, capstan, coordination, core, events,
};
use crate::server::config::CompletedConfig;
use crate::server::openapi::openapi_router;
use crate::server::options::Options;
use crate::server::{GenericApiServer, shutdown_signal};
use crate::storage::SharedStorage;
use crate::storage::backend::{self, Backend};
use crate::storage::cacher::Cacher;
use crate::storage::compactor::spawn_compactor;
use crate::storage::keys::KeyLayout;
use controllers::BuiltinControllers;

/// Namespaces that exist from the first start (DECISIONS.md), as kube's system namespaces
/// controller creates them.
pub const SYSTEM_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// The resources (storage group, resource) whose watches and lists the watch cache serves:
/// every listed and watched resource but events (core/v1 and events.k8s.io/v1 alike, one
/// storage), which kube-apiserver does not cache either (many, written often, rarely watched).
pub const WATCH_CACHED: [(&str, &str); 6] = [
    ("core", "namespaces"),
    ("core", "pods"),
    ("core", "configmaps"),
    ("core", "secrets"),
    (coordination::GROUP, "leases"),
    (capstan::GROUP, "pods"),
];

/// The embedded store's file under `--data-dir`.
const EMBEDDED_FILE: &str = "capstan.redb";

/// Runs Capstan from command-line options until SIGTERM/SIGINT.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let config = tokio::task::spawn_blocking(move || options.into_config().complete())
        .await
        .context("completing the configuration")??;
    let storage = open_storage(&config).await?;
    build(config, storage).run(shutdown_signal()).await
}

/// Opens the backend the flags ask for: etcd with `--etcd-servers`, else the embedded store.
pub async fn open_storage(config: &CompletedConfig) -> anyhow::Result<SharedStorage> {
    let servers = &config.storage().etcd_servers;
    let backend = if servers.is_empty() {
        Backend::Embedded {
            path: config.data_dir().join(EMBEDDED_FILE),
        }
    } else {
        Backend::Etcd {
            endpoints: servers.clone(),
        }
    };
    backend::open(backend.clone())
        .await
        .with_context(|| format!("opening storage ({backend:?})"))
}

/// The schemas of every kind the standalone server serves: the core kinds, events.k8s.io's Event,
/// coordination.k8s.io's Lease, capstan.dev's Pod and the Binding its `pods/binding` takes, and the self reviews.
/// Handlers (strategic merge patch, apply, managedFields, field validation) and the OpenAPI
/// documents read this one model.
pub fn schema_model() -> SchemaModel {
    crate::api::scheme::capstan::schema::add_v1beta1_schemas(
        SchemaModelBuilder::with_core_kinds()
            .add_kind::<EventsEvent>(events::GROUP, events::VERSION, "Event")
            .add_kind::<Lease>(coordination::GROUP, coordination::VERSION, "Lease")
            .add_kind::<CapstanPod>(capstan::GROUP, "v1", "Pod")
            .add_kind::<Binding>(capstan::GROUP, "v1", "Binding")
            .add_kind::<SelfSubjectReview>(authentication::GROUP, "v1", "SelfSubjectReview")
            .add_kind::<SelfSubjectAccessReview>(
                authorization::GROUP,
                "v1",
                "SelfSubjectAccessReview",
            )
            .add_kind::<SelfSubjectRulesReview>(
                authorization::GROUP,
                "v1",
                "SelfSubjectRulesReview",
            ),
    )
    .build()
}

/// The standalone server over `storage`: every API group, NamespaceLifecycle admission, the
/// OpenAPI documents, the `etcd` health check, the bootstrap and compaction hooks, and the
/// built-in controllers.
///
/// Panics if a served kind has no schema in [`schema_model`] (a wiring error).
///
/// With `--watch-cache` (the default) the resources of [`WATCH_CACHED`] are read through a
/// [`Cacher`], which starts its tasks here, so this must run within a Tokio runtime.
pub fn build(config: CompletedConfig, storage: SharedStorage) -> GenericApiServer {
    let prefix = config.storage().etcd_prefix.clone();
    let cacher = config.storage().watch_cache.then(|| {
        let collections = WATCH_CACHED
            .map(|(group, resource)| KeyLayout::new(&prefix, group, resource).collection(None));
        Arc::new(Cacher::new(storage.clone(), collections))
    });
    let storage: SharedStorage = match &cacher {
        Some(cacher) => cacher.clone(),
        None => storage,
    };
    let admission: Arc<dyn Admit> = Arc::new(AdmissionChain::new(vec![Arc::new(
        NamespaceLifecycle::new(storage.clone(), &prefix),
    )]));

    let event_ttl = config.storage().event_ttl;
    let mut core_resources = core::namespace::namespace_storage(storage.clone(), &prefix);
    let namespaces = core_resources["namespaces"].clone();
    core_resources.insert(
        "configmaps".into(),
        core::configmap::configmap_storage(storage.clone(), &prefix),
    );
    core_resources.insert(
        "secrets".into(),
        core::secret::secret_storage(storage.clone(), &prefix),
    );
    core_resources.insert(
        "events".into(),
        core::event::event_storage(storage.clone(), &prefix, event_ttl),
    );
    core_resources.extend(core::pod::pod_storage(storage.clone(), &prefix));

    // The named groups, in the order /apis lists them, each with its storage version (the one
    // the controllers act on: every served version of a group shares its keys). kube lists its
    // built-in groups first, in its aggregator's priority order (events.k8s.io before the self
    // reviews); the self reviews ask the authorizer the filter chain asks.
    let (groups, stored): (Vec<ApiGroupInfo>, Vec<StorageMap>) = [
        (
            events::GROUP,
            events::VERSION,
            events::versions(storage.clone(), &prefix, event_ttl),
        ),
        (
            authentication::GROUP,
            "v1",
            vec![("v1".to_string(), authentication::storage())],
        ),
        (
            authorization::GROUP,
            "v1",
            vec![(
                "v1".to_string(),
                authorization::storage(config.authorizer()),
            )],
        ),
        (
            coordination::GROUP,
            coordination::VERSION,
            coordination::versions(storage.clone(), &prefix),
        ),
        (
            capstan::GROUP,
            crate::api::scheme::capstan::STORAGE_VERSION,
            capstan::versions(storage.clone(), &prefix),
        ),
    ]
    .into_iter()
    .map(|(group, storage_version, versions)| named_group(group, storage_version, versions))
    .unzip();
    let controllers = BuiltinControllers::new(
        &core_resources,
        &stored,
        admission.clone(),
        config.controllers(),
    );

    let schema = Arc::new(schema_model());
    let mut installer = Installer::new(admission.clone()).with_schema(schema.clone());
    installer.install_legacy_group(ApiGroupInfo {
        group: String::new(),
        versions: vec![ApiVersionInfo {
            version: "v1".into(),
            resources: core_resources,
        }],
    });
    let mut index_paths: Vec<String> = ["/api", "/api/v1", "/apis"].map(String::from).into();
    for group in groups {
        index_paths.push(format!("/apis/{}", group.group));
        index_paths.extend(
            group
                .versions
                .iter()
                .map(|v| format!("/apis/{}/{}", group.group, v.version)),
        );
        installer.install_group(group);
    }

    let docs = match OpenApiDocs::build(&schema, &installer.served_resources()) {
        Ok(docs) => docs,
        Err(err) => panic!("a served kind has no schema: {err}"),
    };
    let api = installer
        .into_router()
        .merge(openapi_router(Arc::new(docs)));

    let compaction_interval = config.storage().compaction_interval;
    let mut server = GenericApiServer::new(config, api);
    index_paths.extend(["/openapi/v2", "/openapi/v3"].map(String::from));
    server.add_index_paths(index_paths);
    let health_storage = storage.clone();
    server.add_health_check("etcd", move || {
        let storage = health_storage.clone();
        async move { storage.health().await.map_err(anyhow::Error::from) }
    });
    if let Some(cacher) = cacher {
        server.add_readiness_check("watch-cache", move || {
            let ready = cacher.is_ready();
            async move {
                anyhow::ensure!(ready, "the watch cache is still listing");
                Ok(())
            }
        });
    }
    server.add_post_start_hook("start-system-namespaces-controller", move |_| async move {
        ensure_system_namespaces(namespaces.as_ref(), admission).await
    });
    controllers.start_with(&mut server);
    server.add_post_start_hook("start-storage-compactor", move |_| async move {
        // runs for the life of the process; the hook itself is done once it is started
        drop(spawn_compactor(storage, compaction_interval));
        Ok(())
    });
    server
}

/// A named group's [`ApiGroupInfo`] from its versions' storage maps, with the map of
/// `storage_version` (the one the controllers act on).
fn named_group(
    group: &str,
    storage_version: &str,
    versions: Vec<(String, StorageMap)>,
) -> (ApiGroupInfo, StorageMap) {
    let versions: Vec<ApiVersionInfo> = versions
        .into_iter()
        .map(|(version, resources)| ApiVersionInfo { version, resources })
        .collect();
    let stored = versions
        .iter()
        .find(|v| v.version == storage_version)
        .map(|v| v.resources.clone())
        .unwrap_or_default();
    let info = ApiGroupInfo {
        group: group.into(),
        versions,
    };
    (info, stored)
}

/// Creates the system namespaces that do not exist yet.
async fn ensure_system_namespaces(
    namespaces: &dyn Rest,
    admission: Arc<dyn Admit>,
) -> anyhow::Result<()> {
    let ctx = RequestContext {
        namespace: None,
        user: UserInfo {
            name: "system:apiserver".into(),
            groups: vec![crate::auth::SYSTEM_MASTERS.into()],
            ..Default::default()
        },
        admission,
        warnings: Default::default(),
    };
    for name in SYSTEM_NAMESPACES {
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match namespaces
            .create(&ctx, None, object, &WriteOptions::default())
            .await
        {
            Ok(_) | Err(ApiError::AlreadyExists { .. }) => {}
            Err(err) => anyhow::bail!("creating namespace {name}: {err}"),
        }
    }
    Ok(())
}
