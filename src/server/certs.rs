//! Capstan's own certificate authority, and the serving and admin certificates it signs, kept
//! under `<data-dir>/pki/` so that a restart reuses them (and the kubeconfig stays valid).
//!
//! kube-apiserver generates a self-signed serving certificate when given none; Capstan goes one
//! step further and also issues the admin client certificate (CN `capstan-admin`, O
//! `system:masters`, DECISIONS.md), because a standalone server is useless without a client
//! identity.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The CA certificate under `<data-dir>/pki/`; give it to clients that should trust the server.
pub const CA_CERT: &str = "ca.crt";
/// The CA key; whoever holds it can mint identities, hence owner-only permissions.
pub const CA_KEY: &str = "ca.key";
/// The generated serving certificate (when no `--tls-cert-file` is given).
pub const SERVING_CERT: &str = "apiserver.crt";
/// The generated serving key.
pub const SERVING_KEY: &str = "apiserver.key";
/// The admin client certificate embedded in the kubeconfig.
pub const ADMIN_CERT: &str = "admin.crt";
/// The admin client key.
pub const ADMIN_KEY: &str = "admin.key";

/// The admin identity DECISIONS.md fixes.
pub const ADMIN_COMMON_NAME: &str = "capstan-admin";

const CA_COMMON_NAME: &str = "capstan-ca";
const CA_VALIDITY_DAYS: i64 = 3650;
const LEAF_VALIDITY_DAYS: i64 = 365;
/// Leaves closer than this to expiry are reissued at start-up.
const RENEW_BEFORE_SECONDS: i64 = 30 * 24 * 3600;

/// A PEM certificate with its PEM private key.
#[derive(Clone, Debug)]
pub struct KeyedCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
}

/// A CA that can sign leaves: the generated one, or one loaded from `pki/`.
pub struct CertificateAuthority {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl CertificateAuthority {
    /// A fresh self-signed CA (ECDSA P-256, ten years).
    pub fn generate() -> anyhow::Result<(Self, String)> {
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(CA_COMMON_NAME, None);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, CA_VALIDITY_DAYS)?;
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        Ok((
            Self {
                cert_pem: cert.pem(),
                issuer: Issuer::new(params, key),
            },
            key_pem,
        ))
    }

    /// A CA from its PEM certificate and key (for signing more leaves, e.g. in tests).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> anyhow::Result<Self> {
        let key = KeyPair::from_pem(key_pem).context("parsing the CA key")?;
        let issuer =
            Issuer::from_ca_cert_pem(cert_pem, key).context("parsing the CA certificate")?;
        Ok(Self {
            cert_pem: cert_pem.to_string(),
            issuer,
        })
    }

    /// Loads `ca.crt`/`ca.key` from `pki_dir`.
    pub fn load(pki_dir: &Path) -> anyhow::Result<Self> {
        let cert = read(&pki_dir.join(CA_CERT))?;
        let key = read(&pki_dir.join(CA_KEY))?;
        Self::from_pem(&cert, &key)
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A client certificate: the API server maps CN to the user name and O to a group. One
    /// group at most: rcgen keeps a single value per subject attribute type.
    pub fn issue_client_cert(
        &self,
        common_name: &str,
        organization: Option<&str>,
    ) -> anyhow::Result<KeyedCert> {
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(common_name, organization);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign_leaf(params)
    }

    /// A serving certificate for these DNS names and IP addresses.
    pub fn issue_serving_cert(&self, names: &[String]) -> anyhow::Result<KeyedCert> {
        let mut params = CertificateParams::new(names.to_vec())?;
        params.distinguished_name = distinguished_name("capstan", None);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign_leaf(params)
    }

    fn sign_leaf(&self, mut params: CertificateParams) -> anyhow::Result<KeyedCert> {
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, LEAF_VALIDITY_DAYS)?;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(KeyedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// What [`ensure_pki`] leaves on disk and hands back.
pub struct Pki {
    /// The CA that signed the leaves and verifies client certificates.
    pub ca: CertificateAuthority,
    /// `None` when the user serves their own certificate.
    pub serving: Option<KeyedCert>,
    /// The `capstan-admin` / `system:masters` client certificate.
    pub admin: KeyedCert,
}

/// The names a generated serving certificate covers: `localhost`, `127.0.0.1`, and the bind
/// address when it is a specific one.
pub fn serving_names(bind_address: IpAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !bind_address.is_unspecified() && !names.contains(&bind_address.to_string()) {
        names.push(bind_address.to_string());
    }
    names
}

/// Loads the CA and leaves from `pki_dir`, creating what is missing. Leaves are reissued when
/// the CA is new, when they expire within 30 days, or (serving) when they lack a needed name.
pub fn ensure_pki(pki_dir: &Path, bind_address: IpAddr, with_serving: bool) -> anyhow::Result<Pki> {
    fs::create_dir_all(pki_dir).with_context(|| format!("creating {}", pki_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(pki_dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", pki_dir.display()))?;
    }
    let have_ca = pki_dir.join(CA_CERT).exists() && pki_dir.join(CA_KEY).exists();
    let ca = if have_ca {
        CertificateAuthority::load(pki_dir)?
    } else {
        let (ca, key_pem) = CertificateAuthority::generate()?;
        write_file(&pki_dir.join(CA_KEY), &key_pem, true)?;
        write_file(&pki_dir.join(CA_CERT), ca.cert_pem(), false)?;
        ca
    };
    let serving = if with_serving {
        let names = serving_names(bind_address);
        let pair = reuse_or_issue(
            pki_dir,
            (SERVING_CERT, SERVING_KEY),
            have_ca,
            &names,
            || ca.issue_serving_cert(&names),
        )?;
        Some(pair)
    } else {
        None
    };
    let admin = reuse_or_issue(pki_dir, (ADMIN_CERT, ADMIN_KEY), have_ca, &[], || {
        ca.issue_client_cert(ADMIN_COMMON_NAME, Some(crate::auth::SYSTEM_MASTERS))
    })?;
    Ok(Pki { ca, serving, admin })
}

fn reuse_or_issue(
    pki_dir: &Path,
    (cert_name, key_name): (&str, &str),
    ca_was_there: bool,
    names: &[String],
    issue: impl FnOnce() -> anyhow::Result<KeyedCert>,
) -> anyhow::Result<KeyedCert> {
    let (cert_path, key_path) = (pki_dir.join(cert_name), pki_dir.join(key_name));
    if ca_was_there && cert_path.exists() && key_path.exists() {
        let existing = KeyedCert {
            cert_pem: read(&cert_path)?,
            key_pem: read(&key_path)?,
        };
        if still_good(&existing.cert_pem, names)? {
            return Ok(existing);
        }
        tracing::info!(cert = %cert_path.display(), "reissuing certificate (expiring, or missing a name)");
    }
    let pair = issue()?;
    write_file(&key_path, &pair.key_pem, true)?;
    write_file(&cert_path, &pair.cert_pem, false)?;
    Ok(pair)
}

/// Whether a PEM leaf is valid for 30 more days and covers every name in `names`.
fn still_good(cert_pem: &str, names: &[String]) -> anyhow::Result<bool> {
    let der =
        CertificateDer::from_pem_slice(cert_pem.as_bytes()).context("reading a PEM certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).context("parsing a certificate")?;
    let remaining = cert.validity().not_after.timestamp() - jiff::Timestamp::now().as_second();
    if remaining < RENEW_BEFORE_SECONDS {
        return Ok(false);
    }
    let covered: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(general_name_text)
            .collect(),
        _ => Vec::new(),
    };
    Ok(names.iter().all(|n| covered.contains(n)))
}

fn general_name_text(name: &x509_parser::extensions::GeneralName<'_>) -> Option<String> {
    use x509_parser::extensions::GeneralName;
    match *name {
        GeneralName::DNSName(dns) => Some(dns.to_string()),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
            16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
            _ => None,
        }
        .map(|ip| ip.to_string()),
        _ => None,
    }
}

fn distinguished_name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(org) = organization {
        dn.push(DnType::OrganizationName, org);
    }
    dn
}

/// From yesterday (clock skew) for `days` days.
fn set_validity(params: &mut CertificateParams, days: i64) -> anyhow::Result<()> {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let start = today.checked_sub(jiff::Span::new().days(1))?;
    let end = today.checked_add(jiff::Span::new().days(days))?;
    let to_rcgen = |d: jiff::civil::Date| {
        // Months and days of a valid civil date always fit in u8.
        rcgen::date_time_ymd(
            i32::from(d.year()),
            d.month().unsigned_abs(),
            d.day().unsigned_abs(),
        )
    };
    params.not_before = to_rcgen(start);
    params.not_after = to_rcgen(end);
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Writes through a temporary file and a rename, so a crash never leaves half a key; private
/// keys are readable by the owner only.
pub(crate) fn write_file(path: &Path, contents: &str, private: bool) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn subject(cert_pem: &str) -> (Vec<String>, Vec<String>) {
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let text = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
            it.map(|a| a.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        (
            text(&mut cert.subject().iter_common_name()),
            text(&mut cert.subject().iter_organization()),
        )
    }

    #[test]
    fn first_start_generates_and_restart_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_pki(dir.path(), Ipv4Addr::LOCALHOST.into(), true).unwrap();
        let (cn, orgs) = subject(&first.admin.cert_pem);
        assert_eq!(
            (cn, orgs),
            (
                vec!["capstan-admin".to_string()],
                vec!["system:masters".to_string()]
            )
        );
        let serving = first.serving.unwrap();
        assert!(still_good(&serving.cert_pem, &["localhost".into(), "127.0.0.1".into()]).unwrap());

        let second = ensure_pki(dir.path(), Ipv4Addr::LOCALHOST.into(), true).unwrap();
        assert_eq!(second.ca.cert_pem(), first.ca.cert_pem());
        assert_eq!(second.admin.cert_pem, first.admin.cert_pem);
        assert_eq!(second.serving.unwrap().cert_pem, serving.cert_pem);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(CA_KEY))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(dir.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn a_new_bind_address_reissues_only_the_serving_cert() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_pki(dir.path(), Ipv4Addr::LOCALHOST.into(), true).unwrap();
        let other: IpAddr = Ipv4Addr::new(127, 0, 0, 2).into();
        let second = ensure_pki(dir.path(), other, true).unwrap();
        let serving = second.serving.unwrap();
        assert_ne!(serving.cert_pem, first.serving.unwrap().cert_pem);
        assert!(still_good(&serving.cert_pem, &serving_names(other)).unwrap());
        assert_eq!(second.admin.cert_pem, first.admin.cert_pem);
    }

    #[test]
    fn a_loaded_ca_signs_client_certs_with_groups() {
        let (ca, key) = CertificateAuthority::generate().unwrap();
        let loaded = CertificateAuthority::from_pem(ca.cert_pem(), &key).unwrap();
        let leaf = loaded.issue_client_cert("jane", Some("dev")).unwrap();
        assert_eq!(
            subject(&leaf.cert_pem),
            (vec!["jane".into()], vec!["dev".into()])
        );
    }

    #[test]
    fn unspecified_bind_addresses_add_no_name() {
        assert_eq!(
            serving_names(Ipv4Addr::UNSPECIFIED.into()),
            ["localhost", "127.0.0.1"]
        );
        assert_eq!(serving_names(Ipv4Addr::new(10, 1, 2, 3).into()).len(), 3);
    }
}
