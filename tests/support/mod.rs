//! Starting the real components integration tests run against: etcd, kube-apiserver (and, later,
//! Jaeger), and Capstan itself. Everything binds to 127.0.0.1 on free ports and is stopped on
//! drop.
#![allow(dead_code)]

pub mod capstan;
pub mod etcd;
pub mod kube_apiserver;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

/// A free TCP port on 127.0.0.1 (bound and released; callers retry if a race steals it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The path of a tool built by `scripts/tools.sh` (building it on first use).
pub fn tool(name: &str) -> PathBuf {
    let env_name = format!("CAPSTAN_{}", name.to_uppercase().replace('-', "_"));
    if let Ok(p) = std::env::var(&env_name) {
        return PathBuf::from(p);
    }
    let out = Command::new(repo_root().join("scripts/tools.sh"))
        .arg(name)
        .output()
        .expect("run scripts/tools.sh");
    assert!(
        out.status.success(),
        "scripts/tools.sh {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
