//! Owns TLS material: the self-signed certificate generated at start (or a user's own), its
//! thumbprints, and the rustls server configuration.

use std::sync::Arc;

use ring::digest;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The served certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// PEM text of the certificate (not the key).
    pub pem: String,
    /// SHA-1 thumbprint, colon-separated upper-case hex.
    pub sha1: String,
    /// SHA-256 thumbprint, colon-separated upper-case hex.
    pub sha256: String,
    /// Where the PEM was written, if anywhere.
    pub path: Option<std::path::PathBuf>,
}

/// A certificate and key ready to serve.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// The rustls configuration (ALPN h2 and http/1.1).
    pub config: Arc<rustls::ServerConfig>,
    /// PEM and thumbprints.
    pub info: CertInfo,
}

/// Colon-separated upper-case hex, as vSphere prints thumbprints.
fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SHA-1 and SHA-256 thumbprints of a DER certificate.
pub fn thumbprints(der: &[u8]) -> (String, String) {
    let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    let sha256 = digest::digest(&digest::SHA256, der);
    (colon_hex(sha1.as_ref()), colon_hex(sha256.as_ref()))
}

/// The names a generated certificate covers: localhost, 127.0.0.1, ::1, this machine's host
/// name, and `extra`.
pub fn default_sans(extra: &[String]) -> Vec<String> {
    let mut sans = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(h) = gethostname::gethostname().into_string() {
        if !h.is_empty() {
            sans.push(h);
        }
    }
    for s in extra {
        if !sans.contains(s) {
            sans.push(s.clone());
        }
    }
    sans
}

/// Generates a self-signed certificate for `sans`.
pub fn self_signed(sans: &[String]) -> Result<TlsMaterial, String> {
    let mut params = rcgen::CertificateParams::new(sans.to_vec())
        .map_err(|e| format!("certificate names: {e}"))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vcmock");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "vcmock mock vCenter");
    let key = rcgen::KeyPair::generate().map_err(|e| format!("key generation: {e}"))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("certificate: {e}"))?;
    from_pem(&cert.pem(), &key.serialize_pem())
}

/// Builds TLS material from PEM text (the first certificate is the served one).
pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<TlsMaterial, String> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate PEM: {e}"))?;
    let first = certs
        .first()
        .ok_or("the certificate file holds no certificate")?
        .clone();
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .map_err(|e| format!("key PEM: {e}"))?
        .ok_or("the key file holds no private key")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not fit: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let (sha1, sha256) = thumbprints(first.as_ref());
    let pem = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .map(|der| pem_of(der.as_ref()))
        .unwrap_or_else(|| cert_pem.to_owned());
    Ok(TlsMaterial {
        config: Arc::new(config),
        info: CertInfo {
            pem,
            sha1,
            sha256,
            path: None,
        },
    })
}

/// Reads a certificate and key from files.
pub fn from_files(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsMaterial, String> {
    let c = std::fs::read_to_string(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
    let k = std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
    from_pem(&c, &k)
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
