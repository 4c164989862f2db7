//! Owns the command line: flags (each with a `VCMOCK_*` environment variable), subcommands,
//! and their translation into a [`ServerSpec`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::clock::{ManualClock, SwitchableClock};
use crate::fixtures::Fixture;
use crate::model::Limits;
use crate::server::{ServerSpec, TlsSource};
use crate::state::Settings;

/// vcmock: a mock vCenter for testing code that uses the vSphere guest operations API.
#[derive(Debug, Parser)]
#[command(name = "vcmock", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server options, when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Exit 0 when the local server answers /_mock/ready (for container HEALTHCHECKs).
    Healthcheck(ServeArgs),
    /// Work with fixture files.
    Fixtures {
        /// What to do with them.
        #[command(subcommand)]
        command: FixturesCommand,
    },
}

/// `vcmock fixtures ...`.
#[derive(Debug, Subcommand)]
pub enum FixturesCommand {
    /// Validate fixture files or directories, reporting errors as the server would.
    Check {
        /// Files or directories of *.json.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the built-in fixture.
    Default,
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Which clock drives sessions, transfers and file times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// The machine's clock.
    System,
    /// A manual clock, moved through the admin API.
    Manual,
}

/// Options of `vcmock serve` (and of `healthcheck`, which uses --listen and --tls).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "VCMOCK_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Serve HTTPS (on) or plain HTTP (off).
    #[arg(long, env = "VCMOCK_TLS", value_enum, default_value = "on")]
    pub tls: Switch,
    /// PEM certificate to serve instead of a generated one (needs --tls-key).
    #[arg(long, env = "VCMOCK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "VCMOCK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Extra names for the generated certificate (repeatable or comma-separated); localhost,
    /// 127.0.0.1, ::1 and the host name are always included.
    #[arg(long, env = "VCMOCK_TLS_SAN", value_delimiter = ',')]
    pub tls_san: Vec<String>,
    /// Where to write the served certificate's PEM; `{port}` is replaced by the real port
    /// [default: <temp dir>/vcmock-cert-{port}.pem].
    #[arg(long, env = "VCMOCK_CERT_OUT")]
    pub cert_out: Option<PathBuf>,
    /// Fixture files or directories (repeatable or comma-separated); replaces the built-in
    /// fixture.
    #[arg(long, env = "VCMOCK_FIXTURES", value_delimiter = ',')]
    pub fixtures: Vec<PathBuf>,
    /// Seed for session ids, tokens and temporary names (reproducible runs).
    #[arg(long, env = "VCMOCK_SEED")]
    pub seed: Option<u64>,
    /// Clock driving session and transfer expiry and file times.
    #[arg(long, env = "VCMOCK_CLOCK", value_enum, default_value = "system")]
    pub clock: ClockArg,
    /// Start instant of the manual clock (RFC 3339).
    #[arg(
        long,
        env = "VCMOCK_CLOCK_START",
        default_value = "2024-01-01T00:00:00Z"
    )]
    pub clock_start: String,
    /// Session idle timeout, in seconds.
    #[arg(long, env = "VCMOCK_SESSION_IDLE_TIMEOUT", default_value_t = 1800)]
    pub session_idle_timeout: u64,
    /// Most sessions kept at once (the oldest is dropped first).
    #[arg(long, env = "VCMOCK_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,
    /// Host (optionally host:port) that replaces `*` in transfer URLs.
    #[arg(long, env = "VCMOCK_TRANSFER_HOST")]
    pub transfer_host: Option<String>,
    /// Serve the admin API under /_mock/.
    #[arg(long, env = "VCMOCK_ADMIN", value_enum, default_value = "on")]
    pub admin: Switch,
    /// Bearer token the admin API requires (health, ready and certificate stay open).
    #[arg(long, env = "VCMOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Requests the journal keeps.
    #[arg(long, env = "VCMOCK_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: usize,
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "VCMOCK_BODY_LIMIT", default_value_t = 1 << 20)]
    pub body_limit: usize,
    /// Uploads above this many bytes spill to a temporary file.
    #[arg(long, env = "VCMOCK_SPILL_THRESHOLD", default_value_t = 8 << 20)]
    pub spill_threshold: u64,
    /// Largest admin API request body, in bytes (state loads carry file content).
    #[arg(long, env = "VCMOCK_ADMIN_BODY_LIMIT", default_value_t = 128 << 20)]
    pub admin_body_limit: usize,
    /// Seconds a client may take to send a request's head (on HTTP/1.1, also how long a
    /// kept-alive connection waits for its next request).
    #[arg(long, env = "VCMOCK_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout: u64,
    /// Seconds a connection may sit idle, with no request in flight, before it is closed.
    #[arg(long, env = "VCMOCK_IDLE_TIMEOUT", default_value_t = 120)]
    pub idle_timeout: u64,
    /// Seconds a request body (JSON or an upload) may stop moving before the request is
    /// given up.
    #[arg(long, env = "VCMOCK_BODY_TIMEOUT", default_value_t = 30)]
    pub body_timeout: u64,
    /// Log format (logs go to stderr).
    #[arg(long, env = "VCMOCK_LOG", value_enum, default_value = "pretty")]
    pub log: LogFormat,
    /// Log level or filter (e.g. info, debug, vcmock=trace).
    #[arg(long, env = "VCMOCK_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

impl ServeArgs {
    /// Loads the fixtures and builds the server spec.
    pub fn to_spec(&self) -> Result<ServerSpec, String> {
        let fixture = if self.fixtures.is_empty() {
            Fixture::shared_default()
        } else {
            std::sync::Arc::new(Fixture::from_paths(&self.fixtures).map_err(|e| e.to_string())?)
        };
        let tls = match (self.tls, &self.tls_cert, &self.tls_key) {
            (Switch::Off, _, _) => TlsSource::Off,
            (Switch::On, Some(cert), Some(key)) => TlsSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            (Switch::On, _, _) => TlsSource::Generate(self.tls_san.clone()),
        };
        let clock = match self.clock {
            ClockArg::System => SwitchableClock::system(),
            ClockArg::Manual => {
                let start = time::OffsetDateTime::parse(
                    &self.clock_start,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|e| format!("--clock-start: {e}"))?;
                SwitchableClock::manual(ManualClock::new(start))
            }
        };
        Ok(ServerSpec {
            listen: self.listen,
            cert_out: match tls {
                TlsSource::Off => None,
                _ => Some(
                    self.cert_out
                        .clone()
                        .unwrap_or_else(|| std::env::temp_dir().join("vcmock-cert-{port}.pem")),
                ),
            },
            tls,
            fixture,
            seed: self.seed,
            clock,
            settings: Settings {
                transfer_host: self.transfer_host.clone(),
                admin_token: self.admin_token.clone(),
                admin_enabled: self.admin == Switch::On,
                body_limit: self.body_limit,
                spill_threshold: self.spill_threshold,
                admin_body_limit: self.admin_body_limit,
                header_timeout: Duration::from_secs(self.header_timeout.max(1)),
                idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
                body_timeout: Duration::from_secs(self.body_timeout.max(1)),
                ..Settings::default()
            },
            limits: Limits {
                session_idle: Duration::from_secs(self.session_idle_timeout),
                max_sessions: self.max_sessions,
                ..Limits::default()
            },
            journal_size: self.journal_size,
        })
    }
}
