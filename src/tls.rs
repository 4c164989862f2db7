//! Owns TLS material: the self-signed certificate generated at start (or a user's own), its
//! thumbprints, and the rustls server configuration.

use std::sync::Arc;

use ring::digest;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls_pemfile::Item;

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
    from_named_pem(cert_pem, key_pem, "the certificate PEM", "the key PEM")
}

/// Builds TLS material from PEM text; errors name the certificate `cert_name` and the key
/// `key_name` (for example a path and the flag or variable that gave it).
pub fn from_named_pem(
    cert_pem: &str,
    key_pem: &str,
    cert_name: &str,
    key_name: &str,
) -> Result<TlsMaterial, String> {
    let (certs, key) = read_pair(cert_pem, key_pem, cert_name, key_name)?;
    let first = certs[0].clone();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{cert_name} and {key_name} do not belong together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let (sha1, sha256) = thumbprints(first.as_ref());
    Ok(TlsMaterial {
        config: Arc::new(config),
        info: CertInfo {
            pem: pem_of(first.as_ref()),
            sha1,
            sha256,
            path: None,
        },
    })
}

/// The PEM blocks of `text`, or why it is not PEM.
fn pem_items(text: &str, name: &str) -> Result<Vec<Item>, String> {
    rustls_pemfile::read_all(&mut text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{name} is not valid PEM: {e}"))
}

fn is_key(item: &Item) -> bool {
    matches!(
        item,
        Item::Pkcs1Key(_) | Item::Pkcs8Key(_) | Item::Sec1Key(_)
    )
}

/// What a PEM file holds, in words: "a certificate and a private key", "nothing in PEM form".
fn contents(items: &[Item]) -> String {
    let certs = items
        .iter()
        .filter(|i| matches!(i, Item::X509Certificate(_)))
        .count();
    let keys = items.iter().filter(|i| is_key(i)).count();
    let others = items.len() - certs - keys;
    let mut parts = Vec::new();
    match certs {
        0 => {}
        1 => parts.push("a certificate".to_owned()),
        n => parts.push(format!("{n} certificates")),
    }
    match keys {
        0 => {}
        1 => parts.push("a private key".to_owned()),
        n => parts.push(format!("{n} private keys")),
    }
    if others > 0 {
        parts.push(format!("{others} other PEM block(s)"));
    }
    if parts.is_empty() {
        "nothing in PEM form".to_owned()
    } else {
        parts.join(" and ")
    }
}

/// Reads a certificate chain and its private key, with messages that say what each file holds
/// when it is not what it should be, swapped files among them.
fn read_pair(
    cert_pem: &str,
    key_pem: &str,
    cert_name: &str,
    key_name: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let cert_items = pem_items(cert_pem, cert_name)?;
    let key_items = pem_items(key_pem, key_name)?;
    let certs: Vec<CertificateDer<'static>> = cert_items
        .iter()
        .filter_map(|i| match i {
            Item::X509Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let key = key_items.iter().find_map(|i| match i {
        Item::Pkcs1Key(k) => Some(PrivateKeyDer::Pkcs1(k.clone_key())),
        Item::Pkcs8Key(k) => Some(PrivateKeyDer::Pkcs8(k.clone_key())),
        Item::Sec1Key(k) => Some(PrivateKeyDer::Sec1(k.clone_key())),
        _ => None,
    });
    let swapped = certs.is_empty()
        && key.is_none()
        && cert_items.iter().any(is_key)
        && key_items
            .iter()
            .any(|i| matches!(i, Item::X509Certificate(_)));
    if swapped {
        return Err(format!(
            "{cert_name} holds a private key and {key_name} a certificate: the two look swapped"
        ));
    }
    if certs.is_empty() {
        return Err(format!(
            "{cert_name} holds no certificate (a PEM block \"BEGIN CERTIFICATE\"), only {}",
            contents(&cert_items)
        ));
    }
    let Some(key) = key else {
        return Err(format!(
            "{key_name} holds no private key (a PEM block \"BEGIN PRIVATE KEY\", \"BEGIN RSA \
             PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\"), only {}",
            contents(&key_items)
        ));
    };
    Ok((certs, key))
}

/// Reads a certificate and key from files.
pub fn from_files(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsMaterial, String> {
    let c = std::fs::read_to_string(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
    let k = std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
    from_named_pem(
        &c,
        &k,
        &cert.display().to_string(),
        &key.display().to_string(),
    )
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

/// Whether a client on a TLS listener has sent plain HTTP instead of a TLS handshake: a TLS
/// record starts with a content type byte (0x16 for a handshake), an HTTP request with the
/// upper-case letters of its method. Waits for the first byte without consuming it.
pub async fn sends_plain_http(stream: &tokio::net::TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0].is_ascii_uppercase())
}

/// Answers a plain HTTP request that came to the TLS listener with a short HTTP 400 saying to
/// use https, as nginx does, instead of a TLS alert that clients show as garbage (curl's
/// "Received HTTP/0.9"); then closes the connection.
pub async fn answer_plain_http(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    // The request head (bounded), for the host and path to suggest.
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while head.len() < 8192 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let fallback = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let body = format!(
        "400 Bad Request: this port speaks HTTPS, and the request came in plain HTTP. Use {}\n",
        https_url_for(&head, &fallback)
    );
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \
         {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// `https://HOST/PATH` for a plain HTTP request head: its `Host` header (else `fallback`) and
/// its path, printable ASCII only.
fn https_url_for(head: &[u8], fallback: &str) -> String {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let host = lines
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("host")
                .then(|| value.trim())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or(fallback);
    let clean = |s: &str, max: usize| -> String {
        s.chars()
            .filter(|c| c.is_ascii_graphic())
            .take(max)
            .collect()
    };
    format!("https://{}{}", clean(host, 255), clean(path, 512))
}
