//! A throwaway single-member etcd on loopback.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, tool};

/// A running etcd; killed (and its data removed) on drop.
pub struct Etcd {
    pub endpoint: String,
    child: Child,
    _data: tempfile::TempDir,
}

impl Etcd {
    /// Starts etcd on free loopback ports and waits until `/health` answers.
    pub fn start() -> Self {
        let bin = tool("etcd");
        for _attempt in 0..5 {
            let data = tempfile::tempdir().expect("tempdir");
            let (client, peer) = (free_port(), free_port());
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let mut child = Command::new(&bin)
                .args(["--name", "capstan-test"])
                .arg("--data-dir")
                .arg(data.path())
                .args([
                    "--listen-client-urls",
                    &client_url,
                    "--advertise-client-urls",
                    &client_url,
                ])
                .args([
                    "--listen-peer-urls",
                    &peer_url,
                    "--initial-advertise-peer-urls",
                    &peer_url,
                ])
                .args(["--initial-cluster", &format!("capstan-test={peer_url}")])
                .args(["--log-level", "error", "--unsafe-no-fsync"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn etcd");
            if wait_healthy(client, &mut child) {
                return Self {
                    endpoint: client_url,
                    child,
                    _data: data,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("etcd did not become healthy");
    }

    /// The process id (the benchmark reads its memory and CPU time from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn wait_healthy(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            if s.write_all(req.as_bytes()).is_ok() {
                let mut body = String::new();
                let _ = s.read_to_string(&mut body);
                if body.contains("\"health\":\"true\"") {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
