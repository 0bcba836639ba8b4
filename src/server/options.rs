//! Command-line flags, named after kube-apiserver's wherever the meaning is the same, so that
//! anyone who has run kube-apiserver can run Capstan without a manual.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

use super::config::{
    AuthnConfig, Config, ControllersConfig, LimitsConfig, ServingConfig, StorageConfig, defaults,
};
use super::duration::GoDuration;

/// Capstan's flags. Parse with `Options::parse()`, then turn into a [`Config`] with
/// [`Options::into_config`]; every default lives in [`defaults`].
///
/// ```
/// use clap::Parser;
/// use capstan::server::options::Options;
/// let opts = Options::try_parse_from(["capstan", "--secure-port=8443", "--request-timeout=30s"]).unwrap();
/// let config = opts.into_config();
/// assert_eq!(config.serving.secure_port, 8443);
/// assert_eq!(config.limits.request_timeout.as_secs(), 30);
/// ```
#[derive(Clone, Debug, Parser)]
#[command(name = "capstan", version, about = "A Kubernetes API server", long_about = None)]
pub struct Options {
    /// HTTPS port for the API (0 picks a free one).
    #[arg(long, default_value_t = defaults::SECURE_PORT)]
    pub secure_port: u16,

    /// Address to listen on; the default keeps the server on this machine.
    #[arg(long, default_value_t = defaults::BIND_ADDRESS)]
    pub bind_address: IpAddr,

    /// PEM serving certificate (chain: leaf first). Without it Capstan issues one from its own
    /// CA under `--data-dir`/pki.
    #[arg(long, requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,

    /// PEM private key for --tls-cert-file.
    #[arg(long, requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,

    /// PEM bundle of extra CAs for client certificates (Capstan's own CA is always trusted); a
    /// verified certificate's CN is the user name and each O a group.
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,

    /// Comma-separated etcd endpoints (http://host:port). Empty: the embedded store in
    /// --data-dir.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,

    /// Key prefix for everything Capstan writes to etcd.
    #[arg(long, default_value = defaults::ETCD_PREFIX)]
    pub etcd_prefix: String,

    /// How often old revisions are compacted away; 0 turns compaction off.
    #[arg(long, default_value_t = GoDuration(defaults::COMPACTION_INTERVAL))]
    pub etcd_compaction_interval: GoDuration,

    /// How long events are kept after their last write (0 keeps them for ever).
    #[arg(long, default_value_t = GoDuration(defaults::EVENT_TTL))]
    pub event_ttl: GoDuration,

    /// Serve watches and lists of namespaces, pods, configmaps and secrets from an in-memory
    /// cache kept current by one storage watch per resource (kube's watch cache); =false sends
    /// every read to storage.
    #[arg(
        long,
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub watch_cache: bool,

    /// Read-only requests served at once before new ones get 429; 0 means unlimited.
    #[arg(long, default_value_t = defaults::MAX_REQUESTS_INFLIGHT)]
    pub max_requests_inflight: usize,

    /// Writes served at once before new ones get 429; 0 means unlimited.
    #[arg(long, default_value_t = defaults::MAX_MUTATING_REQUESTS_INFLIGHT)]
    pub max_mutating_requests_inflight: usize,

    /// Longest time a non-watch request may take (`?timeout=` can only shorten it); then 504.
    #[arg(long, default_value_t = GoDuration(defaults::REQUEST_TIMEOUT))]
    pub request_timeout: GoDuration,

    /// After SIGTERM, how long /readyz fails while requests are still served, so load balancers
    /// move traffic away before the listener closes.
    #[arg(long, default_value_t = GoDuration(defaults::SHUTDOWN_DELAY))]
    pub shutdown_delay_duration: GoDuration,

    /// Capstan's state: certificates (pki/), the admin kubeconfig, the embedded database.
    #[arg(long, default_value = defaults::DATA_DIR)]
    pub data_dir: PathBuf,

    /// Complete the graceful deletion of pods at once, as a kubelet does once their containers
    /// stopped (there are no kubelets here); =false leaves deleted scheduled pods Terminating
    /// until something else deletes them with grace period 0.
    #[arg(
        long,
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub enable_pod_finisher: bool,
}

impl Options {
    /// Groups the flags by concern. Nothing can fail here: clap already checked types and the
    /// cert/key pairing; file contents are read by [`Config::complete`].
    pub fn into_config(self) -> Config {
        Config {
            data_dir: self.data_dir,
            serving: ServingConfig {
                bind_address: self.bind_address,
                secure_port: self.secure_port,
                tls_cert_file: self.tls_cert_file,
                tls_private_key_file: self.tls_private_key_file,
                shutdown_delay: self.shutdown_delay_duration.0,
            },
            authn: AuthnConfig {
                client_ca_file: self.client_ca_file,
            },
            storage: StorageConfig {
                etcd_servers: self.etcd_servers,
                etcd_prefix: self.etcd_prefix,
                compaction_interval: self.etcd_compaction_interval.0,
                event_ttl: self.event_ttl.0,
                watch_cache: self.watch_cache,
            },
            limits: LimitsConfig {
                max_requests_inflight: self.max_requests_inflight,
                max_mutating_requests_inflight: self.max_mutating_requests_inflight,
                request_timeout: self.request_timeout.0,
                ..LimitsConfig::default()
            },
            controllers: ControllersConfig {
                pod_finisher: self.enable_pod_finisher,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_match_kube_apiserver_and_decisions() {
        let config = Options::try_parse_from(["capstan"]).unwrap().into_config();
        assert_eq!(config.serving.secure_port, 6443);
        assert_eq!(config.serving.bind_address.to_string(), "127.0.0.1");
        assert_eq!(config.storage.etcd_prefix, "/capstan");
        assert_eq!(config.storage.compaction_interval, Duration::from_secs(300));
        assert_eq!(config.storage.event_ttl, Duration::from_secs(3600));
        assert_eq!(config.limits.max_requests_inflight, 400);
        assert_eq!(config.limits.max_mutating_requests_inflight, 200);
        assert_eq!(config.limits.request_timeout, Duration::from_secs(60));
        assert_eq!(config.data_dir, PathBuf::from("./capstan-data"));
        assert!(config.storage.etcd_servers.is_empty());
        // The flag defaults and Config::default() are the same values.
        assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn parses_kube_style_values() {
        let opts = Options::try_parse_from([
            "capstan",
            "--etcd-servers=http://127.0.0.1:2379,http://127.0.0.1:22379",
            "--etcd-compaction-interval=1h30m",
            "--event-ttl=90s",
            "--shutdown-delay-duration=2.5s",
            "--bind-address=0.0.0.0",
        ])
        .unwrap();
        assert_eq!(
            opts.etcd_servers,
            ["http://127.0.0.1:2379", "http://127.0.0.1:22379"]
        );
        let config = opts.into_config();
        assert_eq!(
            config.storage.compaction_interval,
            Duration::from_secs(5400)
        );
        assert_eq!(config.serving.shutdown_delay, Duration::from_millis(2500));
        assert_eq!(config.storage.event_ttl, Duration::from_secs(90));
    }

    /// The configuration `capstan <args>` would run with.
    fn config_from(args: &[&str]) -> Config {
        let mut all = vec!["capstan"];
        all.extend(args);
        Options::try_parse_from(all).unwrap().into_config()
    }

    #[test]
    fn the_watch_cache_is_on_unless_turned_off() {
        let parse = |args: &[&str]| config_from(args).storage.watch_cache;
        assert!(parse(&[]));
        assert!(parse(&["--watch-cache"]));
        assert!(!parse(&["--watch-cache=false"]));
    }

    #[test]
    fn the_pod_finisher_is_on_unless_turned_off() {
        let parse = |args: &[&str]| config_from(args).controllers.pod_finisher;
        assert!(parse(&[]));
        assert!(parse(&["--enable-pod-finisher"]));
        assert!(parse(&["--enable-pod-finisher=true"]));
        assert!(!parse(&["--enable-pod-finisher=false"]));
        assert!(Options::try_parse_from(["capstan", "--enable-pod-finisher=maybe"]).is_err());
    }

    #[test]
    fn rejects_a_cert_without_its_key_and_bad_durations() {
        assert!(Options::try_parse_from(["capstan", "--tls-cert-file=a.crt"]).is_err());
        assert!(Options::try_parse_from(["capstan", "--request-timeout=60"]).is_err());
        assert!(
            Options::try_parse_from(["capstan", "--tls-cert-file=a", "--tls-private-key-file=b"])
                .is_ok()
        );
    }
}
