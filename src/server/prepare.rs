//! Owns preparing a server, shared by the binary and the library: binding the listener, the TLS
//! material and the certificate file, and the state.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SwitchableClock;
use crate::fixtures::Fixture;
use crate::model::Limits;
use crate::state::{AppState, Settings};
use crate::tls::{self, TlsMaterial};

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Plain HTTP.
    Off,
    /// A self-signed certificate generated at start, for the default names plus these.
    Generate(Vec<String>),
    /// PEM files.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// PEM text.
    Pem {
        /// Certificate chain.
        cert: String,
        /// Private key.
        key: String,
    },
}

/// Everything needed to start a server, whether from the command line or the builder.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Address to bind (port 0 picks a free one).
    pub listen: SocketAddr,
    /// TLS.
    pub tls: TlsSource,
    /// The inventory (shared: the built-in one is parsed once per process).
    pub fixture: Arc<Fixture>,
    /// Seed for ids and tokens.
    pub seed: Option<u64>,
    /// The clock.
    pub clock: SwitchableClock,
    /// Runtime settings (port and TLS flag are filled in at start).
    pub settings: Settings,
    /// Model limits.
    pub limits: Limits,
    /// Journal size.
    pub journal_size: usize,
}

impl Default for ServerSpec {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: TlsSource::Generate(Vec::new()),
            fixture: Fixture::shared_default(),
            seed: None,
            clock: SwitchableClock::system(),
            settings: Settings::default(),
            limits: Limits::default(),
            journal_size: 1000,
        }
    }
}

/// A server that is bound and ready to serve.
#[derive(Debug)]
pub struct Prepared {
    /// The bound listener (connections queue from now on).
    pub listener: std::net::TcpListener,
    /// The real address.
    pub addr: SocketAddr,
    /// The shared state.
    pub state: AppState,
    /// TLS configuration, when serving HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Prepared {
    /// The base URL clients use, e.g. `https://127.0.0.1:8443`.
    pub fn base_url(&self) -> String {
        base_url(self.addr, self.tls.is_some())
    }
}

fn base_url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("{scheme}://{host}:{}", addr.port())
}

/// Why a server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The listener could not be bound.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key could not be made or read.
    Tls(String),
    /// The fixture is not valid.
    Fixture(crate::fixtures::FixtureError),
    /// The server's runtime could not start.
    Runtime(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Self::Tls(why) => f.write_str(why),
            Self::Fixture(e) => e.fmt(f),
            Self::Runtime(e) => write!(f, "cannot start the server runtime: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind { source, .. } => Some(source),
            Self::Runtime(e) => Some(e),
            Self::Fixture(e) => Some(e),
            Self::Tls(_) => None,
        }
    }
}

impl From<crate::fixtures::FixtureError> for StartError {
    fn from(e: crate::fixtures::FixtureError) -> Self {
        Self::Fixture(e)
    }
}

/// Binds the listener, prepares TLS (writing the certificate where asked) and builds the state.
pub fn prepare(spec: ServerSpec) -> Result<Prepared, StartError> {
    let bind = |source| StartError::Bind {
        addr: spec.listen,
        source,
    };
    let listener = std::net::TcpListener::bind(spec.listen).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let material: Option<TlsMaterial> = match &spec.tls {
        TlsSource::Off => None,
        TlsSource::Generate(extra) => Some(tls::self_signed(&tls::default_sans(extra))),
        TlsSource::Files { cert, key } => Some(tls::from_files(cert, key)),
        TlsSource::Pem { cert, key } => Some(tls::from_pem(cert, key)),
    }
    .transpose()
    .map_err(StartError::Tls)?;
    // The binary writes the certificate where it is asked (a failure there is a warning, not
    // a refusal to start); the library serves it from memory.
    let cert = material.as_ref().map(|m| m.info.clone());
    let settings = Settings {
        tls: material.is_some(),
        port: addr.port(),
        ..spec.settings
    };
    let state = AppState::new(
        spec.fixture,
        spec.limits,
        spec.clock,
        spec.seed,
        settings,
        cert,
        spec.journal_size,
    );
    Ok(Prepared {
        listener,
        addr,
        state,
        tls: material.map(|m| m.config),
    })
}
