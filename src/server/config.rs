//! `Config` (what the user asked for, grouped by concern) and `CompletedConfig` (the same after
//! defaulting, reading files and generating certificates): the only way to build a
//! [`GenericApiServer`](super::GenericApiServer).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use capstan::server::config::Config;
//! let mut config = Config::default();
//! config.data_dir = "/tmp/capstan-example".into();
//! config.serving.secure_port = 0; // any free port; see PreparedServer::local_addr
//! let completed = config.complete()?;
//! assert_eq!(completed.limits().max_requests_inflight, 400);
//! # Ok(()) }
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::authenticator::X509Authenticator;
use crate::auth::authorizer::default_authorizer;
use crate::auth::{Authenticator, Authorizer};

use super::lifecycle::LifecycleSignals;
use super::tls::ServingTls;

/// Every default, in one place; the flags in [`super::options`] and [`Config::default`] both
/// read them.
pub mod defaults {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    /// kube-apiserver's `--secure-port`.
    pub const SECURE_PORT: u16 = 6443;
    /// Loopback: a laptop server should not be reachable from the network unless asked.
    pub const BIND_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    /// Not `/registry`, so Capstan can share an etcd with kube-apiserver (DECISIONS.md).
    pub const ETCD_PREFIX: &str = "/capstan";
    /// kube-apiserver's `--etcd-compaction-interval`.
    pub const COMPACTION_INTERVAL: Duration = Duration::from_secs(5 * 60);
    /// kube-apiserver's `--event-ttl`.
    pub const EVENT_TTL: Duration = Duration::from_secs(60 * 60);
    /// kube-apiserver's `--max-requests-inflight`.
    pub const MAX_REQUESTS_INFLIGHT: usize = 400;
    /// kube-apiserver's `--max-mutating-requests-inflight`.
    pub const MAX_MUTATING_REQUESTS_INFLIGHT: usize = 200;
    /// kube-apiserver's `--request-timeout`.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
    /// kube-apiserver's `--shutdown-delay-duration`.
    pub const SHUTDOWN_DELAY: Duration = Duration::ZERO;
    /// Relative, so `capstan` run from a checkout keeps its state next to it.
    pub const DATA_DIR: &str = "./capstan-data";
    /// kube-apiserver's `MaxRequestBodyBytes` (3 MiB).
    pub const MAX_REQUEST_BODY_BYTES: u64 = 3 * 1024 * 1024;
}

/// What the user asked for, grouped by concern. Fields are public so embedders and tests can
/// adjust them before [`Config::complete`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Capstan's own state: `pki/`, `kubeconfig`, the embedded database.
    pub data_dir: PathBuf,
    /// Listening and TLS.
    pub serving: ServingConfig,
    /// Client certificate trust.
    pub authn: AuthnConfig,
    /// Where the storage backend connects.
    pub storage: StorageConfig,
    /// In-flight, timeout and body limits.
    pub limits: LimitsConfig,
    /// Which built-in controllers the control plane starts.
    pub controllers: ControllersConfig,
}

/// Built-in controllers that can be turned off (read by `controlplane`; the generic server
/// starts none itself).
#[derive(Clone, Debug)]
pub struct ControllersConfig {
    /// The pod finisher completes graceful pod deletions, as kubelets would; off when real
    /// kubelets (or a test) do it.
    pub pod_finisher: bool,
}

impl Default for ControllersConfig {
    fn default() -> Self {
        Self { pod_finisher: true }
    }
}

/// Where and how to listen.
#[derive(Clone, Debug)]
pub struct ServingConfig {
    /// The address to listen on; also a name in the generated serving certificate.
    pub bind_address: IpAddr,
    /// 0 picks a free port (tests); the real one is known after binding.
    pub secure_port: u16,
    /// With `tls_private_key_file`: serve this certificate instead of generating one.
    pub tls_cert_file: Option<PathBuf>,
    /// The key for `tls_cert_file`.
    pub tls_private_key_file: Option<PathBuf>,
    /// How long `/readyz` fails before the server stops accepting connections.
    pub shutdown_delay: Duration,
}

/// Who may call.
#[derive(Clone, Debug, Default)]
pub struct AuthnConfig {
    /// Client CAs trusted in addition to Capstan's generated CA.
    pub client_ca_file: Option<PathBuf>,
}

/// Where objects live; read by whoever builds the storage backend (the generic server itself
/// never opens it).
#[derive(Clone, Debug)]
pub struct StorageConfig {
    /// Empty: the embedded store under `data_dir`.
    pub etcd_servers: Vec<String>,
    /// Prefix of every key Capstan writes (`/capstan`).
    pub etcd_prefix: String,
    /// How often old revisions are compacted; zero disables compaction.
    pub compaction_interval: Duration,
    /// How long an event lives after its last write; zero keeps events for ever.
    pub event_ttl: Duration,
    /// Whether resources that are listed and watched are served through the watch cache
    /// (`storage::cacher`), as kube-apiserver's `--watch-cache`.
    pub watch_cache: bool,
}

/// How much work the server takes on at once, and for how long.
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// 0 disables the read-only limit.
    pub max_requests_inflight: usize,
    /// 0 disables the mutating limit.
    pub max_mutating_requests_inflight: usize,
    /// The longest a non-long-running request may take; `?timeout=` may only shorten it.
    pub request_timeout: Duration,
    /// Larger request bodies get 413.
    pub max_request_body_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(defaults::DATA_DIR),
            serving: ServingConfig {
                bind_address: defaults::BIND_ADDRESS,
                secure_port: defaults::SECURE_PORT,
                tls_cert_file: None,
                tls_private_key_file: None,
                shutdown_delay: defaults::SHUTDOWN_DELAY,
            },
            authn: AuthnConfig::default(),
            storage: StorageConfig {
                etcd_servers: Vec::new(),
                etcd_prefix: defaults::ETCD_PREFIX.to_string(),
                compaction_interval: defaults::COMPACTION_INTERVAL,
                event_ttl: defaults::EVENT_TTL,
                watch_cache: true,
            },
            limits: LimitsConfig::default(),
            controllers: ControllersConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_requests_inflight: defaults::MAX_REQUESTS_INFLIGHT,
            max_mutating_requests_inflight: defaults::MAX_MUTATING_REQUESTS_INFLIGHT,
            request_timeout: defaults::REQUEST_TIMEOUT,
            max_request_body_bytes: defaults::MAX_REQUEST_BODY_BYTES,
        }
    }
}

impl Config {
    /// Reads certificate files, generates the CA, serving and admin certificates on first start
    /// (reusing them afterwards), and builds the authenticator and authorizer. Blocking file IO:
    /// call it at start-up, before serving (from async code, inside `spawn_blocking`).
    pub fn complete(self) -> anyhow::Result<CompletedConfig> {
        let tls = ServingTls::load(&self.data_dir, &self.serving, &self.authn)?;
        Ok(CompletedConfig {
            data_dir: self.data_dir,
            serving: self.serving,
            tls,
            authenticator: Arc::new(X509Authenticator),
            authorizer: default_authorizer(),
            storage: self.storage,
            limits: self.limits,
            controllers: self.controllers,
            lifecycle: LifecycleSignals::default(),
        })
    }
}

/// A configuration that is ready to serve: certificates loaded, authn/authz chosen. Only
/// [`Config::complete`] makes one.
pub struct CompletedConfig {
    data_dir: PathBuf,
    serving: ServingConfig,
    tls: ServingTls,
    authenticator: Arc<dyn Authenticator>,
    authorizer: Arc<dyn Authorizer>,
    storage: StorageConfig,
    limits: LimitsConfig,
    controllers: ControllersConfig,
    lifecycle: LifecycleSignals,
}

impl CompletedConfig {
    /// Replaces the authorizer (standalone default: `system:masters`, health paths, then
    /// always-allow); the aggregated mode plugs in delegation to the host here.
    #[must_use]
    pub fn with_authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authorizer = authorizer;
        self
    }

    /// Replaces the authenticator (standalone default: x509 client certificates).
    #[must_use]
    pub fn with_authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticator = authenticator;
        self
    }

    /// Capstan's state directory (the embedded store lives under it).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The listening address and shutdown timing.
    pub fn serving(&self) -> &ServingConfig {
        &self.serving
    }

    /// Where the storage backend should connect.
    pub fn storage(&self) -> &StorageConfig {
        &self.storage
    }

    /// In-flight, timeout and body limits.
    pub fn limits(&self) -> &LimitsConfig {
        &self.limits
    }

    /// Which built-in controllers to start.
    pub fn controllers(&self) -> &ControllersConfig {
        &self.controllers
    }

    /// The path of the admin kubeconfig written when the server binds.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.data_dir.join("kubeconfig")
    }

    pub(crate) fn tls(&self) -> &ServingTls {
        &self.tls
    }

    pub(crate) fn authenticator(&self) -> Arc<dyn Authenticator> {
        self.authenticator.clone()
    }

    pub(crate) fn authorizer(&self) -> Arc<dyn Authorizer> {
        self.authorizer.clone()
    }

    pub(crate) fn lifecycle(&self) -> &LifecycleSignals {
        &self.lifecycle
    }
}
