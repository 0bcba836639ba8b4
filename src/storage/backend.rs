//! Choosing and opening a storage backend from configuration.
//!
//! The server asks for a [`Backend`] from its flags (`--data-dir` or `--etcd-servers`) and gets a
//! [`SharedStorage`]; nothing above this module names a backend type.

use std::path::PathBuf;
use std::sync::Arc;

use super::{SharedStorage, StorageError, embedded::EmbeddedStorage};

/// Where Capstan keeps its objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A redb file on local disk: a standalone Capstan needs no other process.
    Embedded { path: PathBuf },
    /// An etcd cluster (v3 API), as kube-apiserver uses; needs the `etcd` cargo feature.
    Etcd { endpoints: Vec<String> },
}

/// The message given when etcd is asked for but compiled out.
pub const ETCD_NOT_BUILT: &str = "Capstan was built without etcd support; rebuild with \
     `cargo build --release --features etcd` (building it needs `protoc`, e.g. the \
     protobuf-compiler package)";

/// Opens `backend`, creating the embedded store's directory if needed; fails if it cannot be
/// reached or opened.
pub async fn open(backend: Backend) -> Result<SharedStorage, StorageError> {
    match backend {
        Backend::Embedded { path } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    StorageError::Internal(format!("creating {}: {e}", dir.display()))
                })?;
            }
            Ok(Arc::new(EmbeddedStorage::open(&path).await?))
        }
        Backend::Etcd { endpoints } => open_etcd(endpoints).await,
    }
}

#[cfg(feature = "etcd")]
async fn open_etcd(endpoints: Vec<String>) -> Result<SharedStorage, StorageError> {
    Ok(Arc::new(
        super::etcd3::EtcdStorage::connect(&endpoints).await?,
    ))
}

#[cfg(not(feature = "etcd"))]
async fn open_etcd(_endpoints: Vec<String>) -> Result<SharedStorage, StorageError> {
    Err(StorageError::Unavailable(ETCD_NOT_BUILT.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn embedded_creates_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/data/capstan.redb");
        let storage = open(Backend::Embedded { path: path.clone() })
            .await
            .unwrap();
        storage.health().await.unwrap();
        assert!(path.exists());
    }

    #[cfg(not(feature = "etcd"))]
    #[tokio::test]
    async fn etcd_without_the_feature_says_how_to_rebuild() {
        let err = match open(Backend::Etcd {
            endpoints: vec!["http://127.0.0.1:2379".into()],
        })
        .await
        {
            Err(err) => err.to_string(),
            Ok(_) => panic!("etcd opened without the etcd feature"),
        };
        assert!(err.contains("built without etcd support"), "{err}");
        assert!(
            err.contains("cargo build --release --features etcd"),
            "{err}"
        );
        assert!(err.contains("protoc"), "{err}");
    }
}
