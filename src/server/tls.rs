//! The rustls server configuration: a serving certificate (given or generated), and client
//! certificates requested but not required, verified against the client CAs — kube's
//! `secure_serving.go` behaviour (TLS ≥ 1.2, ALPN `h2` and `http/1.1`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::certs::{self, KeyedCert};
use super::config::{AuthnConfig, ServingConfig};

/// Everything TLS the server needs once complete: the rustls config, and what goes into the
/// admin kubeconfig.
pub(crate) struct ServingTls {
    pub server_config: Arc<rustls::ServerConfig>,
    /// The CA clients should trust for the serving certificate; `None` when the user supplied
    /// their own certificate (its issuer is theirs to distribute).
    pub serving_ca_pem: Option<String>,
    /// The admin client certificate for the kubeconfig.
    pub admin: KeyedCert,
}

impl ServingTls {
    /// Generates or reuses `<data_dir>/pki`, reads any user-supplied files, and builds the rustls
    /// config. Blocking file IO (start-up only).
    pub fn load(
        data_dir: &Path,
        serving: &ServingConfig,
        authn: &AuthnConfig,
    ) -> anyhow::Result<Self> {
        let user_cert = serving
            .tls_cert_file
            .as_deref()
            .zip(serving.tls_private_key_file.as_deref());
        let pki = certs::ensure_pki(
            &data_dir.join("pki"),
            serving.bind_address,
            user_cert.is_none(),
        )?;

        let (chain, key, serving_ca_pem) = match (user_cert, &pki.serving) {
            (Some((cert_file, key_file)), _) => {
                let chain = read_cert_file(cert_file)?;
                let key = PrivateKeyDer::from_pem_file(key_file).with_context(|| {
                    format!("reading --tls-private-key-file {}", key_file.display())
                })?;
                (chain, key, None)
            }
            (None, Some(generated)) => {
                let chain = vec![parse_cert(&generated.cert_pem)?];
                let key = PrivateKeyDer::from_pem_slice(generated.key_pem.as_bytes())
                    .context("reading the generated serving key")?;
                (chain, key, Some(pki.ca.cert_pem().to_string()))
            }
            (None, None) => anyhow::bail!("no serving certificate was generated"),
        };

        let mut client_cas = vec![parse_cert(pki.ca.cert_pem())?];
        if let Some(file) = &authn.client_ca_file {
            client_cas.extend(read_cert_file(file)?);
        }
        let server_config = server_config(chain, key, client_cas)?;
        Ok(Self {
            server_config: Arc::new(server_config),
            serving_ca_pem,
            admin: pki.admin,
        })
    }
}

/// A rustls `ServerConfig` on the ring provider, TLS 1.3 and 1.2, ALPN `h2` then `http/1.1`,
/// asking every client for a certificate, accepting those that verify against `client_cas`
/// and also clients without one (anonymous; the authentication filter decides what they may do).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_cas: Vec<CertificateDer<'static>>,
) -> anyhow::Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in client_cas {
        roots.add(ca).context("adding a client CA")?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .context("building the client certificate verifier")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("choosing TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("the serving certificate and key do not match or are not usable")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn read_cert_file(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading certificates from {}", path.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "no certificate found in {}",
        path.display()
    );
    Ok(certs)
}

fn parse_cert(pem: &str) -> anyhow::Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes()).context("parsing a PEM certificate")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::Config;

    #[test]
    fn generated_material_builds_a_config_with_alpn() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::default();
        let tls = ServingTls::load(dir.path(), &config.serving, &config.authn).unwrap();
        assert_eq!(
            tls.server_config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(tls.serving_ca_pem.is_some());
        assert!(dir.path().join("pki/apiserver.crt").exists());
    }

    #[test]
    fn user_files_are_served_and_client_cas_added() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, _) = certs::CertificateAuthority::generate().unwrap();
        let leaf = ca.issue_serving_cert(&["example.test".into()]).unwrap();
        let (cert_file, key_file, ca_file) = (
            dir.path().join("s.crt"),
            dir.path().join("s.key"),
            dir.path().join("ca.crt"),
        );
        std::fs::write(&cert_file, &leaf.cert_pem).unwrap();
        std::fs::write(&key_file, &leaf.key_pem).unwrap();
        std::fs::write(&ca_file, ca.cert_pem()).unwrap();
        let mut config = Config::default();
        config.serving.tls_cert_file = Some(cert_file);
        config.serving.tls_private_key_file = Some(key_file);
        config.authn.client_ca_file = Some(ca_file);
        let tls =
            ServingTls::load(&dir.path().join("data"), &config.serving, &config.authn).unwrap();
        assert!(tls.serving_ca_pem.is_none());
        assert!(!dir.path().join("data/pki/apiserver.crt").exists());

        config.authn.client_ca_file = Some(dir.path().join("s.key"));
        let err = ServingTls::load(&dir.path().join("data"), &config.serving, &config.authn);
        assert!(err.is_err(), "a file without certificates is refused");
    }
}
