//! Owns the one certificate of a run: generated as vcmock generates its own (ECDSA P-256,
//! rcgen), written to files that vcmock (`--tls-cert`, `--tls-key`) and the baselines all
//! serve, and the rustls configuration the baselines build from it, the same as vcmock's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the run's certificate and key are.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The certificate, PEM (also the clients' trust root).
    pub cert: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
}

/// Generates a self-signed certificate for localhost and 127.0.0.1 and writes it into `dir`.
pub fn generate(dir: &Path) -> CertFiles {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate names");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vcmock-bench");
    let key = rcgen::KeyPair::generate().expect("an ECDSA P-256 key");
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    let files = CertFiles {
        cert: dir.join("bench-cert.pem"),
        key: dir.join("bench-key.pem"),
    };
    std::fs::write(&files.cert, cert.pem()).expect("write the certificate");
    std::fs::write(&files.key, key.serialize_pem()).expect("write the key");
    files
}

/// The rustls configuration vcmock builds for a certificate: the ring provider, the safe
/// default protocol versions and cipher suites, no client authentication, ALPN h2 and
/// http/1.1.
pub fn server_config(cert: &Path, key: &Path) -> Arc<rustls::ServerConfig> {
    let certs = rustls_pemfile::certs(&mut std::fs::read(cert).expect("read cert").as_slice())
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate PEM");
    let key = rustls_pemfile::private_key(&mut std::fs::read(key).expect("read key").as_slice())
        .expect("key PEM")
        .expect("a private key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}
