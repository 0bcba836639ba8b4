//! Capstan itself, started as a real process (the `capstan` binary cargo built for the tests) on a
//! free loopback port, plus helpers to drive it with real kubectl and a real kube-rs client.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// A running Capstan; stopped with SIGTERM (then killed) on drop.
pub struct Capstan {
    pub port: u16,
    pub data_dir: PathBuf,
    pub kubeconfig: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
    _owned_dir: Option<tempfile::TempDir>,
}

/// How to start Capstan.
#[derive(Clone, Debug, Default)]
pub struct Start {
    /// `--etcd-servers`; embedded storage when `None`.
    pub etcd: Option<String>,
    /// Extra flags.
    pub args: Vec<String>,
}

impl Capstan {
    /// Starts on embedded storage in a fresh data directory.
    pub fn start() -> Self {
        Self::start_with(Start::default())
    }

    /// Starts with the given options in a fresh data directory.
    pub fn start_with(start: Start) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let mut args = Vec::new();
        if let Some(etcd) = &start.etcd {
            args.push(format!("--etcd-servers={etcd}"));
            // a unique prefix keeps tests sharing one etcd apart
            args.push(format!("--etcd-prefix=/capstan-test-{}", free_port()));
        }
        args.extend(start.args);
        let mut c = Self {
            port: 0,
            kubeconfig: data_dir.join("kubeconfig"),
            log: dir.path().join("capstan.log"),
            data_dir,
            args,
            child: None,
            _owned_dir: Some(dir),
        };
        c.spawn();
        c
    }

    fn spawn(&mut self) {
        self.spawn_on(None);
    }

    /// Starts the process on `port`, or on a fresh free port (retried if a race steals it).
    fn spawn_on(&mut self, port: Option<u16>) {
        for attempt in 0..5 {
            self.port = port.unwrap_or_else(free_port);
            if port.is_some() && attempt > 0 {
                std::thread::sleep(Duration::from_millis(500));
            }
            let log = std::fs::File::create(&self.log).expect("log file");
            let child = Command::new(env!("CARGO_BIN_EXE_capstan"))
                .arg(format!("--data-dir={}", self.data_dir.display()))
                .arg(format!("--secure-port={}", self.port))
                .arg("--bind-address=127.0.0.1")
                .args(&self.args)
                .env("RUST_LOG", "info")
                .stdout(Stdio::from(log.try_clone().expect("clone log")))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("spawn capstan");
            self.child = Some(child);
            if self.wait_ready(Duration::from_secs(60)) {
                return;
            }
            self.kill();
        }
        panic!("capstan did not become ready; log:\n{}", self.log_text());
    }

    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            if self.kubeconfig.exists() {
                let out = self.kubectl(&["get", "--raw", "/readyz"]);
                if out.status.success() {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The server's log so far (stdout and stderr).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops gracefully (SIGTERM) and starts again on the same data directory, flags and port,
    /// so that clients holding the address (an informer mid-watch) reconnect to it.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        self.spawn_on(Some(port));
    }

    /// Stops gracefully and starts again on the same data directory (and etcd) with `args`
    /// instead of the extra flags it was started with.
    pub fn restart_with(&mut self, args: &[&str]) {
        self.stop();
        self.args.retain(|a| a.starts_with("--etcd-"));
        self.args.extend(args.iter().map(|a| a.to_string()));
        self.spawn();
    }

    /// Sends SIGTERM and waits for the process to exit (kills it after 30 s).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The process id, for signal tests.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Runs kubectl against this server.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl_with(&self.kubeconfig, args, None)
    }

    /// Runs kubectl with `stdin` piped in.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        kubectl_with(&self.kubeconfig, args, Some(stdin))
    }

    /// Runs kubectl with extra environment variables (`EDITOR` for `kubectl edit`).
    pub fn kubectl_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        kubectl_command(&self.kubeconfig, args, None, env)
    }

    /// Runs kubectl with extra environment variables (`EDITOR` for `kubectl edit`) and asserts
    /// success, returning stdout.
    pub fn kubectl_env_ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = kubectl_command(&self.kubeconfig, args, None, env);
        self.expect_success(args, out)
    }

    /// Runs kubectl with `stdin` piped in and asserts success, returning stdout.
    pub fn kubectl_stdin_ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_stdin(args, stdin);
        self.expect_success(args, out)
    }

    /// Runs kubectl and asserts success, returning stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        self.expect_success(args, out)
    }

    fn expect_success(&self, args: &[&str], out: Output) -> String {
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}\nserver log tail:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log_text(), 40)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A kube-rs client authenticated as the generated admin.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("client config");
        kube::Client::try_from(config).expect("client")
    }

    /// Sends a raw request as the admin and returns status code and body (JSON when possible).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let client = self.client().await;
        let mut req = http::Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(body).expect("request");
        let resp = client
            .send(req.map(kube::client::Body::from))
            .await
            .expect("send");
        let code = resp.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .expect("body")
            .to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
        (code, value)
    }
}

impl Drop for Capstan {
    fn drop(&mut self) {
        self.kill();
    }
}

fn kubectl_with(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    kubectl_command(kubeconfig, args, stdin, &[])
}

fn kubectl_command(
    kubeconfig: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    use std::io::Write;
    let mut cmd = Command::new("kubectl");
    cmd.arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--request-timeout=30s")
        .args(args)
        .env_remove("KUBECONFIG")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("spawn kubectl");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("kubectl output")
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
