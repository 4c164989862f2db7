//! Owns the command line: flags (each with a `VCMOCK_*` environment variable), subcommands,
//! and their translation into a [`ServerSpec`].

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
    Serve(Box<ServeArgs>),
    /// Exit 0 when the local server answers /_mock/ready (for container HEALTHCHECKs).
    Healthcheck(HealthcheckArgs),
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

/// Options of `vcmock healthcheck`: where the server is and whether it speaks TLS, read from
/// the same variables the server reads.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The server's address, as given to the server (0.0.0.0 and :: are probed on loopback).
    #[arg(long, env = "VCMOCK_LISTEN", default_value = "127.0.0.1:8443", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Whether the server speaks HTTPS (on) or plain HTTP (off), as given to the server.
    #[arg(long, env = "VCMOCK_TLS", value_enum, default_value = "on")]
    pub tls: Switch,
}

/// Options of `vcmock serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on: HOST:PORT (host name or IP) or a port alone for 127.0.0.1; port 0
    /// picks a free port.
    #[arg(long, env = "VCMOCK_LISTEN", default_value = "127.0.0.1:8443", value_parser = parse_listen)]
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
    /// Extra DNS names or IPs for the generated certificate (repeatable or comma-separated);
    /// localhost, 127.0.0.1, ::1 and the host name are always included.
    #[arg(long, env = "VCMOCK_TLS_SAN", value_delimiter = ',', value_parser = parse_san)]
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
        default_value = "2024-01-01T00:00:00Z",
        value_parser = parse_rfc3339
    )]
    pub clock_start: OffsetDateTime,
    /// Session idle timeout, in seconds.
    #[arg(long, env = "VCMOCK_SESSION_IDLE_TIMEOUT", default_value_t = 1800)]
    pub session_idle_timeout: u64,
    /// Most sessions kept at once (the oldest is dropped first).
    #[arg(long, env = "VCMOCK_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,
    /// Host or host:port (no scheme) that replaces `*` in transfer URLs.
    #[arg(long, env = "VCMOCK_TRANSFER_HOST", value_parser = parse_transfer_host)]
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
    /// Log level (off, error, warn, info, debug, trace) or a comma-separated filter of a level
    /// and target=level pairs, e.g. info,vcmock=debug.
    #[arg(long, env = "VCMOCK_LOG_LEVEL", default_value = "info", value_parser = parse_log_filter)]
    pub log_level: String,
    /// Where each value came from (a flag or its variable), for messages.
    #[arg(skip)]
    pub origins: Origins,
}

/// Which values were read from an environment variable rather than a flag, so that a message
/// about a value names what the user actually set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    /// Argument ids (`tls_cert`) whose value came from their variable.
    from_env: BTreeSet<String>,
    /// Argument ids given at all (by flag or variable), not left at their default.
    given: BTreeSet<String>,
}

impl Origins {
    /// Records the sources of `args`' values in `matches`.
    fn record(matches: &ArgMatches, cmd: &clap::Command) -> Self {
        let ids = || cmd.get_arguments().map(|a| a.get_id().as_str());
        let from = |source: ValueSource| -> BTreeSet<String> {
            ids()
                .filter(|id| matches.value_source(id) == Some(source))
                .map(str::to_owned)
                .collect()
        };
        let from_env = from(ValueSource::EnvVariable);
        let mut given = from(ValueSource::CommandLine);
        given.extend(from_env.iter().cloned());
        Self { from_env, given }
    }

    /// Whether the argument `id` was given (by flag or variable) rather than defaulted.
    pub fn given(&self, id: &str) -> bool {
        self.given.contains(id)
    }

    /// What set the argument `id` (flag `--{long}`, variable `env`): `VCMOCK_X` when the value
    /// came from the environment, else `--x`.
    pub fn name(&self, id: &str, long: &str, env: &str) -> String {
        if self.from_env.contains(id) {
            env.to_owned()
        } else {
            format!("--{long}")
        }
    }
}

impl Cli {
    /// Parses the process's arguments and environment. A refused value is reported under the
    /// name the user gave it: `VCMOCK_TLS` when it came from that variable, `--tls` otherwise.
    pub fn from_env() -> Result<Self, clap::Error> {
        Self::try_parse_argv(std::env::args_os().collect())
    }

    /// As [`Cli::from_env`], for these arguments (the first is the program name).
    pub fn try_parse_argv(argv: Vec<OsString>) -> Result<Self, clap::Error> {
        let mut cmd = <Self as CommandFactory>::command();
        let matches = match cmd.try_get_matches_from_mut(argv.iter()) {
            Ok(m) => m,
            Err(e) => return Err(name_the_variable(e, &cmd, &argv)),
        };
        let mut cli = Self::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
        match (&mut cli.command, matches.subcommand()) {
            (Some(Command::Serve(args)), Some((name, sub))) => {
                if let Some(sc) = cmd.find_subcommand(name) {
                    args.origins = Origins::record(sub, sc);
                }
            }
            _ => cli.serve.origins = Origins::record(&matches, &cmd),
        }
        Ok(cli)
    }
}

/// Every `VCMOCK_*` variable vcmock reads.
pub fn known_variables() -> BTreeSet<String> {
    let cmd = <Cli as CommandFactory>::command();
    std::iter::once(&cmd)
        .chain(cmd.get_subcommands())
        .flat_map(clap::Command::get_arguments)
        .filter_map(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned())
        .collect()
}

/// `VCMOCK_*` variables set in `vars` that vcmock does not read (a misspelling is silently
/// ignored otherwise), each with the known variable it most resembles, if one is close.
pub fn unknown_variables(vars: impl IntoIterator<Item = String>) -> Vec<(String, Option<String>)> {
    let known = known_variables();
    vars.into_iter()
        .filter(|v| v.starts_with("VCMOCK_") && !known.contains(v))
        .map(|v| {
            let near = known
                .iter()
                .map(|k| (edit_distance(k, &v), k))
                .filter(|(d, _)| *d <= 3)
                .min()
                .map(|(_, k)| k.clone());
            (v, near)
        })
        .collect()
}

/// The Levenshtein distance between two short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Rewrites clap's "invalid value 'yes' for '--tls <TLS>'" into "... for 'VCMOCK_TLS' (the
/// environment variable of --tls)" when the command line does not hold that flag.
fn name_the_variable(e: clap::Error, cmd: &clap::Command, argv: &[OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        e.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return e;
    }
    let Some(ContextValue::String(shown)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let Some(long) = shown
        .strip_prefix("--")
        .map(|s| s.split([' ', '=']).next().unwrap_or(s))
    else {
        return e;
    };
    let given = argv.iter().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == format!("--{long}") || a.starts_with(&format!("--{long}="))
    });
    // The flag's variable, in whichever (sub)command defines it.
    let env = std::iter::once(cmd)
        .chain(cmd.get_subcommands())
        .flat_map(clap::Command::get_arguments)
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned());
    let Some(env) = env.filter(|v| !given && std::env::var_os(v).is_some()) else {
        return e;
    };
    let text = e.render().to_string().replace(
        &format!("'{shown}'"),
        &format!("'{env}' (the environment variable of --{long})"),
    );
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    clap::Error::raw(e.kind(), text)
}

/// Parses `--listen`: `HOST:PORT` with an IP (`[v6]` in brackets) or a host name (resolved;
/// its first IPv4 address wins), or a port alone (`8443` or `:8443`), which means 127.0.0.1.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    const FORMS: &str = "expected HOST:PORT or PORT, e.g. 127.0.0.1:8443, 0.0.0.0:8443 (every \
                         interface), [::1]:8443, localhost:8443, or 8443 (127.0.0.1)";
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if text.contains("://") || text.contains('/') {
        return Err(format!("an address, not a URL: {FORMS}"));
    }
    let port_of = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("port \"{p}\" is not a number from 0 to 65535: {FORMS}"))
    };
    let alone = text.strip_prefix(':').unwrap_or(text);
    if !alone.is_empty() && alone.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port_of(alone)?)));
    }
    let Some((host, port)) = text.rsplit_once(':').filter(|(h, _)| !h.is_empty()) else {
        return Err(format!("no port: {FORMS}"));
    };
    let port = port_of(port)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.contains(':') {
        return Err(format!("an IPv6 address goes in brackets: {FORMS}"));
    }
    let found: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve \"{host}\" ({e}): {FORMS}"))?
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(|| format!("\"{host}\" resolves to no address: {FORMS}"))
}

/// Parses `--transfer-host`: a host name or IP, with an optional port, and nothing else (the
/// scheme follows `--tls`, the path is always `/guestFile`).
pub fn parse_transfer_host(text: &str) -> Result<String, String> {
    const FORMS: &str = "expected HOST or HOST:PORT, e.g. localhost, vcmock:8443 or \
                         [::1]:18443; the scheme follows --tls";
    let text = text.trim();
    if let Some((scheme, rest)) = text.split_once("://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        return Err(format!(
            "leave out the scheme \"{scheme}://\" (write \"{host}\"): {FORMS}"
        ));
    }
    if text.is_empty() {
        return Err(format!("empty: {FORMS}"));
    }
    if let Some(c) = text.chars().find(|c| "/?#@ \\".contains(*c)) {
        return Err(format!("\"{c}\" has no place in a host: {FORMS}"));
    }
    let (host, port) = match text.strip_prefix('[') {
        Some(v6) => {
            let (ip, rest) = v6
                .split_once(']')
                .ok_or_else(|| format!("no closing \"]\": {FORMS}"))?;
            ip.parse::<std::net::Ipv6Addr>()
                .map_err(|_| format!("\"{ip}\" is not an IPv6 address: {FORMS}"))?;
            match rest {
                "" => (ip, None),
                r => (
                    ip,
                    Some(
                        r.strip_prefix(':')
                            .ok_or_else(|| format!("\"{r}\" after the address: {FORMS}"))?,
                    ),
                ),
            }
        }
        None if text.matches(':').count() > 1 => {
            return Err(format!("an IPv6 address goes in brackets: {FORMS}"));
        }
        None => match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        },
    };
    if host.is_empty() {
        return Err(format!("no host: {FORMS}"));
    }
    if let Some(p) = port {
        p.parse::<u16>()
            .map_err(|_| format!("port \"{p}\" is not a number from 0 to 65535: {FORMS}"))?;
    }
    Ok(text.to_owned())
}

/// Parses one `--tls-san` name: a DNS name (letters, digits, `-`, `.`, a leading `*.`) or an
/// IP address.
pub fn parse_san(text: &str) -> Result<String, String> {
    const FORMS: &str = "e.g. vcmock, vcmock.test, *.example.test or 10.0.0.5";
    let text = text.trim();
    if text.parse::<std::net::IpAddr>().is_ok() {
        return Ok(text.to_owned());
    }
    let name = text.strip_prefix("*.").unwrap_or(text);
    let ok = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "\"{text}\" is neither a DNS name nor an IP address: {FORMS}"
        ))
    }
}

/// Parses an RFC 3339 instant such as `2024-01-01T00:00:00Z`.
pub fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|e| format!("{e}: expected an RFC 3339 time such as 2024-01-01T00:00:00Z"))
}

/// The log levels, for messages.
const LEVELS: &str = "off, error, warn, info, debug, trace";

/// Parses `--log-level`: a level, or a comma-separated filter of levels and `target=level`
/// pairs (tracing's `EnvFilter` syntax). A bare word that is no level (`verbose`) is refused:
/// the filter syntax would read it as a target and log nothing.
pub fn parse_log_filter(text: &str) -> Result<String, String> {
    let forms = format!(
        "expected a level ({LEVELS}) or a comma-separated filter of a level and target=level \
         pairs, e.g. debug or info,vcmock=trace"
    );
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("empty: {forms}"));
    }
    for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        // Span filters (`target[span{field=value}]=level`) are left to the parser below.
        if directive.contains('[') {
            continue;
        }
        let level = match directive.rsplit_once('=') {
            Some(("", _)) => {
                return Err(format!("\"{directive}\" names no target: {forms}"));
            }
            Some((_, level)) => level,
            None => directive,
        };
        if level
            .parse::<tracing_subscriber::filter::LevelFilter>()
            .is_err()
        {
            return Err(format!("\"{level}\" is not a level: {forms}"));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(text)
        .map_err(|e| format!("{e}: {forms}"))?;
    Ok(text.to_owned())
}

impl ServeArgs {
    /// Options that were given but have no effect with the others, in words.
    pub fn ignored_options(&self) -> Vec<String> {
        let given = |id: &str| self.origins.given(id);
        let mut ignored = Vec::new();
        if self.tls == Switch::Off {
            for id in ["tls_cert", "tls_key", "tls_san", "cert_out"] {
                if given(id) {
                    ignored.push(format!("{} is ignored: TLS is off", self.origin(id)));
                }
            }
        } else if self.tls_cert.is_some() && given("tls_san") {
            ignored.push(format!(
                "{} is ignored: it names the generated certificate, and {} gives one",
                self.origin("tls_san"),
                self.origin("tls_cert")
            ));
        }
        if self.clock == ClockArg::System && given("clock_start") {
            ignored.push(format!(
                "{} is ignored: it starts a manual clock (--clock manual)",
                self.origin("clock_start")
            ));
        }
        if self.admin == Switch::Off && given("admin_token") {
            ignored.push(format!(
                "{} is ignored: the admin API is off",
                self.origin("admin_token")
            ));
        }
        ignored
    }

    /// What set the argument `id`: its flag, or its variable when the value came from there.
    fn origin(&self, id: &str) -> String {
        let cmd = <Cli as CommandFactory>::command();
        let arg = cmd.get_arguments().find(|a| a.get_id() == id);
        let long = arg.and_then(clap::Arg::get_long).unwrap_or(id);
        let env = arg
            .and_then(clap::Arg::get_env)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.origins.name(id, long, &env)
    }

    /// Where the binary writes the served certificate (`{port}` not yet replaced), when TLS is
    /// on: `--cert-out`, or `<temp dir>/vcmock-cert-{port}.pem`.
    pub fn cert_out_template(&self) -> Option<PathBuf> {
        match self.tls {
            Switch::Off => None,
            Switch::On => Some(
                self.cert_out
                    .clone()
                    .unwrap_or_else(|| std::env::temp_dir().join("vcmock-cert-{port}.pem")),
            ),
        }
    }

    /// The flag (or variable) that named the certificate path, for messages.
    pub fn cert_out_origin(&self) -> String {
        match self.cert_out {
            Some(_) => self.origin("cert_out"),
            None => "the default path".to_owned(),
        }
    }

    /// Where the certificate comes from; the user's own files are read and checked here, so
    /// that a message can name each file and what gave it.
    fn tls_source(&self) -> Result<TlsSource, String> {
        match (self.tls, &self.tls_cert, &self.tls_key) {
            (Switch::Off, _, _) => Ok(TlsSource::Off),
            (Switch::On, Some(cert), Some(key)) => {
                let name = |path: &std::path::Path, id: &str| {
                    format!("{} ({})", path.display(), self.origin(id))
                };
                let (cert_name, key_name) = (name(cert, "tls_cert"), name(key, "tls_key"));
                let read = |path: &std::path::Path, what: &str| {
                    std::fs::read_to_string(path).map_err(|e| format!("{what}: {e}"))
                };
                let (cert, key) = (read(cert, &cert_name)?, read(key, &key_name)?);
                crate::tls::from_named_pem(&cert, &key, &cert_name, &key_name)?;
                Ok(TlsSource::Pem { cert, key })
            }
            (Switch::On, _, _) => Ok(TlsSource::Generate(self.tls_san.clone())),
        }
    }

    /// Loads the fixtures, reads the certificate files, and builds the server spec. The
    /// binary writes the certificate itself (see [`ServeArgs::cert_out_template`]), so the
    /// spec's `cert_out` is unset.
    pub fn to_spec(&self) -> Result<ServerSpec, String> {
        let fixture = if self.fixtures.is_empty() {
            Fixture::shared_default()
        } else {
            std::sync::Arc::new(
                Fixture::from_paths_all(&self.fixtures).map_err(|p| describe_problems(&p))?,
            )
        };
        let clock = match self.clock {
            ClockArg::System => SwitchableClock::system(),
            ClockArg::Manual => SwitchableClock::manual(ManualClock::new(self.clock_start)),
        };
        Ok(ServerSpec {
            listen: self.listen,
            tls: self.tls_source()?,
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

/// Fixture problems as one message: the problem itself, or a count and one problem a line.
pub fn describe_problems(problems: &[crate::fixtures::FixtureError]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut text = format!("the fixtures have {} problems:", many.len());
            for p in many {
                text.push_str("\n  ");
                text.push_str(&p.to_string());
            }
            text
        }
    }
}
