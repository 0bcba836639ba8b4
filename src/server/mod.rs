//! The generic API server: configuration, filter chain, non-API routes, hooks, TLS serving —
//! kube's `GenericAPIServer`, to which the API router (discovery and resources) is handed.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use capstan::server::{GenericApiServer, config::Config, shutdown_signal};
//! let config = tokio::task::spawn_blocking(|| Config::default().complete()).await??;
//! let mut server = GenericApiServer::new(config, axum::Router::new());
//! server.add_health_check("etcd", || async { anyhow::Ok(()) });
//! server.add_post_start_hook("bootstrap", |_ctx| async { anyhow::Ok(()) });
//! server.run(shutdown_signal()).await
//! # }
//! ```

pub mod certs;
pub mod config;
pub mod duration;
pub mod filters;
pub mod health;
pub mod hooks;
pub mod kubeconfig;
pub mod lifecycle;
pub mod openapi;
pub mod options;
pub mod routes;
mod serve;
mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use config::CompletedConfig;
use health::{HealthCheck, HealthEndpoint};
use hooks::{PostStartHook, PostStartHookContext};

/// How long in-flight requests get to finish after the listener closes, beyond the request
/// timeout that already bounds them.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// A server assembled from a [`CompletedConfig`] and the API router; add checks and hooks, then
/// [`run`](Self::run) it (or [`bind`](Self::bind) first to learn the address).
pub struct GenericApiServer {
    config: CompletedConfig,
    api: axum::Router,
    health_checks: Vec<HealthCheck>,
    readiness_checks: Vec<HealthCheck>,
    hooks: Vec<PostStartHook>,
    index_paths: Vec<String>,
}

impl GenericApiServer {
    /// A server that serves `api` (discovery and resources) behind the filter chain, next to
    /// the index, `/version` and the health endpoints. `api` must not set a fallback of its own;
    /// unknown paths get kube's plain-text 404.
    pub fn new(config: CompletedConfig, api: axum::Router) -> Self {
        Self {
            config,
            api,
            health_checks: Vec::new(),
            readiness_checks: Vec::new(),
            hooks: Vec::new(),
            index_paths: Vec::new(),
        }
    }

    /// The configuration the server was built from (storage settings, limits, data dir).
    pub fn config(&self) -> &CompletedConfig {
        &self.config
    }

    /// A named check on `/healthz`, `/livez` and `/readyz` (kube's `AddHealthChecks`), e.g. the
    /// storage check named `etcd`. Names must be unique: a duplicate is a wiring error and panics.
    pub fn add_health_check<F, Fut>(&mut self, name: impl Into<String>, check: F) -> &mut Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let check = HealthCheck::new(name, check);
        self.assert_unique(check.name());
        self.health_checks.push(check);
        self
    }

    /// A named check on `/readyz` only (kube's `AddReadyzChecks`), for conditions that should
    /// take the server out of load balancing without restarting it.
    pub fn add_readiness_check<F, Fut>(&mut self, name: impl Into<String>, check: F) -> &mut Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let check = HealthCheck::new(name, check);
        self.assert_unique(check.name());
        self.readiness_checks.push(check);
        self
    }

    /// A named async hook run once the server listens; `/readyz` (and `/healthz`, `/livez`)
    /// report `poststarthook/<name>` failed until it returns. A hook error stops the server.
    pub fn add_post_start_hook<F, Fut>(&mut self, name: impl Into<String>, hook: F) -> &mut Self
    where
        F: FnOnce(PostStartHookContext) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let hook = PostStartHook::new(name.into(), hook);
        self.assert_unique(&format!("poststarthook/{}", hook.name()));
        self.hooks.push(hook);
        self
    }

    /// Paths the API router serves (`/api`, `/api/v1`, `/apis`, …), listed by `/`; axum cannot
    /// enumerate a router's routes, so the installer reports them here.
    pub fn add_index_paths(&mut self, paths: impl IntoIterator<Item = String>) -> &mut Self {
        self.index_paths.extend(paths);
        self
    }

    fn assert_unique(&self, name: &str) {
        let taken = ["ping", "log", "shutdown"].contains(&name)
            || self
                .health_checks
                .iter()
                .chain(&self.readiness_checks)
                .any(|c| c.name() == name)
            || self
                .hooks
                .iter()
                .any(|h| format!("poststarthook/{}", h.name()) == name);
        assert!(!taken, "health check {name:?} is registered twice");
    }

    /// Binds the listener and writes the admin kubeconfig with the real address (port 0 picks a
    /// free port).
    pub async fn bind(self) -> anyhow::Result<PreparedServer> {
        let serving = self.config.serving();
        let requested = SocketAddr::new(serving.bind_address, serving.secure_port);
        let listener = TcpListener::bind(requested)
            .await
            .with_context(|| format!("binding {requested}"))?;
        let local_addr = listener.local_addr()?;
        let host = if local_addr.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            local_addr.ip()
        };
        let server_url = format!("https://{}", SocketAddr::new(host, local_addr.port()));
        let path = self.config.kubeconfig_path();
        let (ca, admin) = (
            self.config.tls().serving_ca_pem.clone(),
            self.config.tls().admin.clone(),
        );
        let url = server_url.clone();
        let kubeconfig_path = path.clone();
        tokio::task::spawn_blocking(move || {
            kubeconfig::write_kubeconfig(&path, &url, ca.as_deref(), &admin)
        })
        .await
        .context("writing the kubeconfig")??;
        Ok(PreparedServer {
            server: self,
            listener,
            local_addr,
            server_url,
            kubeconfig_path,
        })
    }

    /// Binds, serves until `shutdown` resolves, then shuts down gracefully (see
    /// [`PreparedServer::run`]).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        self.bind().await?.run(shutdown).await
    }
}

/// A bound server, not yet serving.
pub struct PreparedServer {
    server: GenericApiServer,
    listener: TcpListener,
    local_addr: SocketAddr,
    server_url: String,
    kubeconfig_path: PathBuf,
}

impl PreparedServer {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The admin kubeconfig, pointing at [`Self::local_addr`].
    pub fn kubeconfig_path(&self) -> &std::path::Path {
        &self.kubeconfig_path
    }

    /// Serves until `shutdown` resolves (or a post-start hook fails), then: `/readyz` reports
    /// `shutdown` failed, requests are still served for `--shutdown-delay-duration`, the
    /// listener closes, watches end, in-flight requests finish, and this returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self {
            server,
            listener,
            local_addr,
            server_url,
            kubeconfig_path,
        } = self;
        let lifecycle = server.config.lifecycle().clone();
        let hook_checks: Vec<HealthCheck> = server
            .hooks
            .iter()
            .map(PostStartHook::health_check)
            .collect();
        let shutdown_check = {
            let initiated = lifecycle.shutdown_initiated.clone();
            HealthCheck::new("shutdown", move || {
                let stopping = initiated.has_fired();
                async move {
                    anyhow::ensure!(!stopping, "process is shutting down");
                    Ok(())
                }
            })
        };
        let mut common = vec![HealthCheck::ping(), HealthCheck::log()];
        common.extend(server.health_checks.iter().cloned());
        common.extend(hook_checks);
        let mut ready = common.clone();
        ready.extend(server.readiness_checks.iter().cloned());
        ready.push(shutdown_check);
        let endpoints = [
            HealthEndpoint::new("healthz", common.clone()),
            HealthEndpoint::new("livez", common),
            HealthEndpoint::new("readyz", ready),
        ];
        let mut index_paths = server.index_paths.clone();
        let mut routes = axum::Router::new();
        for endpoint in endpoints {
            index_paths.extend(endpoint.paths());
            routes = routes.merge(endpoint.router());
        }
        let routes = routes
            .merge(routes::index_and_version(index_paths))
            .merge(server.api)
            .fallback(routes::not_found);

        let chain = filters::build_handler_chain(&server.config, routes);
        let drain_timeout = server.config.limits().request_timeout + DRAIN_GRACE;
        let tls = server.config.tls().server_config.clone();
        let serving = tokio::spawn(serve::serve(
            listener,
            tls,
            chain,
            lifecycle.draining.clone(),
            drain_timeout,
        ));

        let kubeconfig = tokio::fs::canonicalize(&kubeconfig_path)
            .await
            .unwrap_or(kubeconfig_path);
        println!(
            "Capstan is serving on {server_url} — export KUBECONFIG={}",
            kubeconfig.display()
        );

        let ctx = PostStartHookContext {
            local_addr,
            shutdown_initiated: lifecycle.shutdown_initiated.clone(),
        };
        let mut hooks = hooks::start_hooks(server.hooks, &ctx);
        let hook_failure = async {
            while let Some(joined) = hooks.join_next().await {
                match joined {
                    Ok(Ok(())) => continue,
                    Ok(Err(err)) => return err,
                    Err(join_err) => {
                        return anyhow::anyhow!("a post-start hook panicked: {join_err}");
                    }
                }
            }
            std::future::pending().await
        };
        let outcome = tokio::select! {
            () = shutdown => Ok(()),
            err = hook_failure => Err(err),
        };

        lifecycle.shutdown_initiated.fire();
        match &outcome {
            Ok(()) => {
                let delay = server.config.serving().shutdown_delay;
                tracing::info!(
                    ?delay,
                    "shutting down: /readyz now fails; still serving during the delay"
                );
                tokio::time::sleep(delay).await;
            }
            Err(err) => tracing::error!("{err:#}"),
        }
        lifecycle.draining.fire();
        serving.await.context("the serving loop panicked")?;
        hooks.shutdown().await;
        tracing::info!("server stopped");
        outcome
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C): pass it to [`GenericApiServer::run`].
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
