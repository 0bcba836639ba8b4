//! Authenticators: x509 client certificates (standalone). The anonymous fallback is the
//! authentication filter's decision, not an authenticator.

use async_trait::async_trait;

use super::{AuthRequest, Authenticator, SYSTEM_AUTHENTICATED, UserInfo};
use crate::api::ApiError;

/// Authenticates the TLS client certificate: user name = CN, groups = each O, plus
/// `system:authenticated` (kube's `x509.CommonNameUserConversion` and group adder).
///
/// The chain was already verified by rustls against the client CAs during the handshake (an
/// unverifiable certificate never gets this far), so this only reads the leaf's subject.
///
/// ```
/// # tokio_test_block_on(async {
/// use capstan::auth::{AuthRequest, Authenticator, PeerCertificates};
/// use capstan::auth::authenticator::X509Authenticator;
/// let headers = http::HeaderMap::new();
/// let none = AuthRequest { headers: &headers, peer_certificates: Some(&PeerCertificates::default()) };
/// assert_eq!(X509Authenticator.authenticate(&none).await.unwrap(), None);
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct X509Authenticator;

#[async_trait]
impl Authenticator for X509Authenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Option<UserInfo>, ApiError> {
        match req.peer_certificates.and_then(|certs| certs.0.first()) {
            Some(leaf) => user_from_certificate(leaf),
            None => Ok(None),
        }
    }
}

/// The user a DER leaf certificate names; `None` when its CN is empty (kube then treats the
/// caller as unauthenticated); an unparseable certificate is a 401.
pub fn user_from_certificate(der: &[u8]) -> Result<Option<UserInfo>, ApiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|err| {
        tracing::debug!(%err, "client certificate does not parse");
        ApiError::Unauthorized
    })?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default();
    if name.is_empty() {
        return Ok(None);
    }
    let mut groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .map(str::to_string)
        .collect();
    if !groups.iter().any(|g| g == SYSTEM_AUTHENTICATED) {
        groups.push(SYSTEM_AUTHENTICATED.to_string());
    }
    Ok(Some(UserInfo {
        name: name.to_string(),
        groups,
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use super::*;
    use crate::auth::PeerCertificates;
    use crate::server::certs::CertificateAuthority;

    async fn authenticate(cert_pem: Option<&str>) -> Result<Option<UserInfo>, ApiError> {
        let certs = cert_pem.map(|pem| {
            PeerCertificates(vec![
                CertificateDer::from_pem_slice(pem.as_bytes())
                    .unwrap()
                    .to_vec(),
            ])
        });
        let headers = http::HeaderMap::new();
        let req = AuthRequest {
            headers: &headers,
            peer_certificates: certs.as_ref(),
        };
        X509Authenticator.authenticate(&req).await
    }

    #[tokio::test]
    async fn cn_is_the_name_and_organizations_are_groups() {
        let (ca, _) = CertificateAuthority::generate().unwrap();
        let leaf = ca
            .issue_client_cert("capstan-admin", Some("system:masters"))
            .unwrap();
        let user = authenticate(Some(&leaf.cert_pem)).await.unwrap().unwrap();
        assert_eq!(user.name, "capstan-admin");
        assert_eq!(user.groups, ["system:masters", "system:authenticated"]);
        assert!(user.is_master());
    }

    #[tokio::test]
    async fn every_organization_is_a_group() {
        use rcgen::{CertificateParams, DnType, KeyPair};
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, "jane");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "dev");
        // rcgen keys attributes by type; the same OID spelled as a custom type adds a second O.
        params
            .distinguished_name
            .push(DnType::CustomDnType(vec![2, 5, 4, 10]), "ops");
        let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
        let user = authenticate(Some(&cert.pem())).await.unwrap().unwrap();
        assert_eq!(user.groups, ["dev", "ops", "system:authenticated"]);
    }

    #[tokio::test]
    async fn no_certificate_or_empty_cn_is_no_opinion() {
        assert_eq!(authenticate(None).await.unwrap(), None);
        let (ca, _) = CertificateAuthority::generate().unwrap();
        let leaf = ca.issue_client_cert("", Some("dev")).unwrap();
        assert_eq!(authenticate(Some(&leaf.cert_pem)).await.unwrap(), None);
    }

    #[test]
    fn garbage_is_unauthorized() {
        assert_eq!(
            user_from_certificate(b"not a certificate"),
            Err(ApiError::Unauthorized)
        );
    }
}
