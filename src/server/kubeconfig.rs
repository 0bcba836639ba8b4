//! The admin kubeconfig Capstan writes for its user: `export KUBECONFIG=<data-dir>/kubeconfig`
//! and kubectl works, with the CA and the admin client certificate embedded.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::certs::{KeyedCert, write_file};

/// The cluster, user and context name.
pub const CONTEXT: &str = "capstan";

/// The kubeconfig YAML for `server` (`https://127.0.0.1:6443`). `ca_pem` is omitted when the
/// serving certificate is the user's own (their clients trust its issuer already).
///
/// ```
/// use capstan::server::certs::KeyedCert;
/// use capstan::server::kubeconfig::kubeconfig_yaml;
/// let admin = KeyedCert { cert_pem: "C".into(), key_pem: "K".into() };
/// let yaml = kubeconfig_yaml("https://127.0.0.1:6443", Some("CA"), &admin).unwrap();
/// assert!(yaml.contains("current-context: capstan"));
/// ```
pub fn kubeconfig_yaml(
    server: &str,
    ca_pem: Option<&str>,
    admin: &KeyedCert,
) -> anyhow::Result<String> {
    let mut cluster = serde_json::json!({ "server": server });
    if let Some(ca) = ca_pem {
        cluster["certificate-authority-data"] = STANDARD.encode(ca).into();
    }
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": CONTEXT, "cluster": cluster }],
        "users": [{
            "name": CONTEXT,
            "user": {
                "client-certificate-data": STANDARD.encode(&admin.cert_pem),
                "client-key-data": STANDARD.encode(&admin.key_pem),
            },
        }],
        "contexts": [{ "name": CONTEXT, "context": { "cluster": CONTEXT, "user": CONTEXT } }],
        "current-context": CONTEXT,
    });
    Ok(serde_saphyr::to_string(&config)?)
}

/// Writes the kubeconfig (owner-readable only: it holds the admin key). Blocking IO.
pub fn write_kubeconfig(
    path: &Path,
    server: &str,
    ca_pem: Option<&str>,
    admin: &KeyedCert,
) -> anyhow::Result<()> {
    write_file(path, &kubeconfig_yaml(server, ca_pem, admin)?, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_reads_what_we_write() {
        let admin = KeyedCert {
            cert_pem: "CERT".into(),
            key_pem: "KEY".into(),
        };
        let yaml = kubeconfig_yaml("https://127.0.0.1:6443", Some("CA"), &admin).unwrap();
        let parsed = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        assert_eq!(parsed.current_context.as_deref(), Some("capstan"));
        let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(
            cluster.certificate_authority_data.as_deref(),
            Some(STANDARD.encode("CA").as_str())
        );
        let user = parsed.auth_infos[0].auth_info.as_ref().unwrap();
        assert_eq!(
            user.client_certificate_data.as_deref(),
            Some(STANDARD.encode("CERT").as_str())
        );
        assert_eq!(
            parsed.contexts[0].context.as_ref().unwrap().user.as_deref(),
            Some("capstan")
        );
    }
}
