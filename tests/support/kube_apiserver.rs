//! A real kube-apiserver (built by `scripts/tools.sh kube-apiserver`) on a free loopback port,
//! storing under its own etcd prefix so it can share an etcd with Capstan: the reference the
//! benchmark compares against, and the front end of aggregation tests.
//!
//! Everything it needs is generated into a temporary directory: a CA that signs its serving
//! certificate (127.0.0.1, localhost) and an admin client certificate in `system:masters` (so
//! RBAC lets it do anything), a service-account signing key pair, and a kubeconfig. The admission
//! plugins that need a controller-manager to be useful are off (ServiceAccount would refuse pods
//! until the token controller made a default service account).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use capstan::server::certs::{CertificateAuthority, KeyedCert};
use capstan::server::kubeconfig::{kubeconfig_yaml, write_kubeconfig};

use super::{free_port, tool};

/// The admin identity written into the kubeconfig.
pub const ADMIN_USER: &str = "kube-admin";

/// How to start kube-apiserver.
#[derive(Clone, Debug)]
pub struct Start {
    /// The etcd endpoint (`http://127.0.0.1:port`).
    pub etcd: String,
    /// `--etcd-prefix`; kube-apiserver's own default keeps it apart from Capstan's `/capstan`.
    pub etcd_prefix: String,
    /// `--disable-admission-plugins`: ServiceAccount by default (it refuses pods until a
    /// controller-manager has made the namespace's default service account).
    pub disable_admission: Vec<String>,
    /// Extra flags, appended last.
    pub args: Vec<String>,
}

impl Start {
    /// Defaults for a server on `etcd`.
    pub fn on(etcd: &str) -> Self {
        Self {
            etcd: etcd.to_string(),
            etcd_prefix: "/registry".to_string(),
            disable_admission: vec!["ServiceAccount".to_string()],
            args: Vec::new(),
        }
    }
}

/// A running kube-apiserver; killed (and its files removed) on drop.
pub struct KubeApiserver {
    /// The secure port on 127.0.0.1.
    pub port: u16,
    /// Admin kubeconfig (client certificate in `system:masters`).
    pub kubeconfig: PathBuf,
    /// The directory holding the certificates, keys and log.
    pub dir: PathBuf,
    /// The CA that signed the serving certificate and that kube-apiserver trusts for client
    /// certificates (`--client-ca-file`), PEM.
    pub ca_cert_pem: String,
    ca_key_pem: String,
    child: Child,
    log: PathBuf,
    _owned_dir: tempfile::TempDir,
}

impl KubeApiserver {
    /// Starts on `etcd` with the defaults of [`Start::on`].
    pub fn start(etcd: &str) -> Self {
        Self::start_with(Start::on(etcd))
    }

    /// Starts and waits (up to two minutes: start-up hooks bootstrap RBAC and priority classes
    /// into etcd) until `/readyz` answers 200.
    pub fn start_with(start: Start) -> Self {
        let bin = tool("kube-apiserver");
        let owned = tempfile::tempdir().expect("tempdir");
        let dir = owned.path().to_path_buf();
        let files = Files::generate(&dir);
        let log = dir.join("kube-apiserver.log");
        for _attempt in 0..5 {
            let port = free_port();
            write_kubeconfig(
                &files.kubeconfig,
                &format!("https://127.0.0.1:{port}"),
                Some(&files.ca_pem),
                &files.admin,
            )
            .expect("write kubeconfig");
            let log_file = std::fs::File::create(&log).expect("log file");
            let mut child = Command::new(&bin)
                .args(flags(&start, &files, port))
                .args(&start.args)
                .stdout(Stdio::from(log_file.try_clone().expect("clone log")))
                .stderr(Stdio::from(log_file))
                .spawn()
                .expect("spawn kube-apiserver");
            if wait_ready(&mut child, &files.kubeconfig, Duration::from_secs(120)) {
                return Self {
                    port,
                    kubeconfig: files.kubeconfig,
                    dir,
                    ca_cert_pem: files.ca_pem,
                    ca_key_pem: files.ca_key_pem,
                    child,
                    log,
                    _owned_dir: owned,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            // a port taken between free_port() and bind: try another; anything else is fatal
            if !text.contains("address already in use") {
                panic!(
                    "kube-apiserver did not become ready; log tail:\n{}",
                    super::capstan::tail(&text, 40)
                );
            }
        }
        panic!("kube-apiserver found no free port");
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A client certificate kube-apiserver accepts: CN is the user, O the group (RBAC decides
    /// what it may do; `system:masters` may do anything).
    pub fn issue_client_cert(&self, user: &str, group: Option<&str>) -> KeyedCert {
        CertificateAuthority::from_pem(&self.ca_cert_pem, &self.ca_key_pem)
            .and_then(|ca| ca.issue_client_cert(user, group))
            .expect("client certificate")
    }

    /// The base URL, `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The process id (for resource measurements).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs kubectl against this server as the admin.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl(&self.kubeconfig, args)
    }

    /// A kube-rs client authenticated as the admin.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        client_from(kubeconfig).await
    }

    /// A kube-rs client with a fresh client certificate for `user` in `group` (RBAC applies).
    pub async fn client_as(&self, user: &str, group: Option<&str>) -> kube::Client {
        let cert = self.issue_client_cert(user, group);
        let yaml = kubeconfig_yaml(&self.url(), Some(&self.ca_cert_pem), &cert).expect("yaml");
        client_from(kube::config::Kubeconfig::from_yaml(&yaml).expect("kubeconfig")).await
    }
}

impl Drop for KubeApiserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn client_from(kubeconfig: kube::config::Kubeconfig) -> kube::Client {
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("client config");
    kube::Client::try_from(config).expect("client")
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--request-timeout=10s")
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("spawn kubectl")
}

fn wait_ready(child: &mut Child, kubeconfig: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if kubectl(kubeconfig, &["get", "--raw", "/readyz"])
            .status
            .success()
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

/// What kube-apiserver is started with, generated once per server.
struct Files {
    ca_pem: String,
    ca_key_pem: String,
    ca_cert: PathBuf,
    serving_cert: PathBuf,
    serving_key: PathBuf,
    sa_public: PathBuf,
    sa_private: PathBuf,
    admin: KeyedCert,
    kubeconfig: PathBuf,
}

impl Files {
    fn generate(dir: &Path) -> Self {
        let (ca, ca_key_pem) = CertificateAuthority::generate().expect("CA");
        let serving = ca
            .issue_serving_cert(&["127.0.0.1".into(), "localhost".into()])
            .expect("serving cert");
        let admin = ca
            .issue_client_cert(ADMIN_USER, Some("system:masters"))
            .expect("admin cert");
        // ECDSA P-256: kube-apiserver signs service-account tokens with ES256 from a PKCS#8 key
        let sa = rcgen::KeyPair::generate().expect("service-account key");
        let write = |name: &str, contents: &str| {
            let path = dir.join(name);
            std::fs::write(&path, contents).expect("write pki file");
            path
        };
        Self {
            ca_cert: write("ca.crt", ca.cert_pem()),
            serving_cert: write("apiserver.crt", &serving.cert_pem),
            serving_key: write("apiserver.key", &serving.key_pem),
            sa_public: write("sa.pub", &sa.public_key_pem()),
            sa_private: write("sa.key", &sa.serialize_pem()),
            ca_pem: ca.cert_pem().to_string(),
            ca_key_pem,
            admin,
            kubeconfig: dir.join("kubeconfig"),
        }
    }
}

fn flags(start: &Start, files: &Files, port: u16) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    vec![
        format!("--etcd-servers={}", start.etcd),
        format!("--etcd-prefix={}", start.etcd_prefix),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={port}"),
        format!("--tls-cert-file={}", path(&files.serving_cert)),
        format!("--tls-private-key-file={}", path(&files.serving_key)),
        format!("--client-ca-file={}", path(&files.ca_cert)),
        "--authorization-mode=RBAC".into(),
        format!(
            "--disable-admission-plugins={}",
            start.disable_admission.join(",")
        ),
        format!("--service-account-key-file={}", path(&files.sa_public)),
        format!(
            "--service-account-signing-key-file={}",
            path(&files.sa_private)
        ),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        // a range is required for the `kubernetes` Service; nothing is ever routed to it
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        // the endpoint reconciler would publish 127.0.0.1 into Endpoints, which validation
        // refuses (loopback); nothing here needs the `kubernetes` Service to have endpoints
        "--endpoint-reconciler-type=none".into(),
        format!(
            "--cert-dir={}",
            path(&files.ca_cert.with_file_name("certs"))
        ),
    ]
}
