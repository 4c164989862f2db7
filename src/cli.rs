//! Owns what the binary does: serving with a ready line and signal handling, the
//! `healthcheck` probe, `fixtures check`, and how each says what went wrong (warnings, fatal
//! errors in the log format asked for).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::clock::Clock as _;
use crate::config::{Cli, Command, FixturesCommand, HealthcheckArgs, LogFormat, ServeArgs, Switch};
use crate::fixtures::{DEFAULT_FIXTURE, Fixture};
use crate::model::inventory;
use crate::server::{self, Prepared};

/// The binary's entry point: parses the command line and environment and runs it.
pub fn main() -> ExitCode {
    match Cli::from_env() {
        Ok(cli) => run(cli),
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            ExitCode::SUCCESS
        }
        Err(e) => {
            if json_logs_requested() {
                // The message, without the usage and the pointer to --help.
                let text = e.render().to_string();
                let text = text.strip_prefix("error: ").unwrap_or(&text);
                let text = text.split("\n\nUsage:").next().unwrap_or(text);
                let text = text
                    .split("\n\nFor more information")
                    .next()
                    .unwrap_or(text);
                eprintln!("{}", json_fatal(text.trim_end()));
            } else {
                let _ = e.print();
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
    }
}

/// Whether the command line or environment asks for JSON logs, for errors found before the
/// command line could be parsed.
fn json_logs_requested() -> bool {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let flag = args
        .windows(2)
        .rev()
        .find(|w| w[0] == "--log")
        .map(|w| w[1].clone())
        .or_else(|| {
            args.iter()
                .rev()
                .find_map(|a| a.strip_prefix("--log=").map(str::to_owned))
        });
    flag.or_else(|| std::env::var("VCMOCK_LOG").ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("json"))
}

/// A fatal error as one JSON log line, in the shape (and key order) of the JSON logs.
fn json_fatal(message: &str) -> String {
    #[derive(Serialize)]
    struct Fields<'a> {
        message: &'a str,
    }
    #[derive(Serialize)]
    struct Line<'a> {
        timestamp: String,
        level: &'static str,
        fields: Fields<'a>,
        target: &'static str,
    }
    let timestamp = crate::clock::SystemClock
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::to_string(&Line {
        timestamp,
        level: "ERROR",
        fields: Fields { message },
        target: "vcmock",
    })
    .unwrap_or_default()
}

/// Reports an error that stops the binary, in the log format asked for.
fn fatal(format: LogFormat, message: &str) {
    match format {
        LogFormat::Pretty => eprintln!("vcmock: {message}"),
        LogFormat::Json => eprintln!("{}", json_fatal(message)),
    }
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        None => serve(&cli.serve),
        Some(Command::Serve(args)) => serve(&args),
        Some(Command::Healthcheck(args)) => healthcheck(&args),
        Some(Command::Fixtures {
            command: FixturesCommand::Check { paths },
        }) => check_fixtures(&paths),
        Some(Command::Fixtures {
            command: FixturesCommand::Default,
        }) => {
            print!("{DEFAULT_FIXTURE}");
            ExitCode::SUCCESS
        }
    }
}

fn init_logging(args: &ServeArgs) {
    // The filter was checked when the command line was parsed.
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match args.log {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn serve(args: &ServeArgs) -> ExitCode {
    init_logging(args);
    // The loaded fixture, shared (not copied) with the server, for the warnings and the
    // ready line.
    let mut fixture = None;
    let prepared = match args.to_spec().and_then(|spec| {
        fixture = Some(spec.fixture.clone());
        server::prepare(spec).map_err(|e| describe_start_error(&e))
    }) {
        Ok(p) => p,
        Err(e) => {
            fatal(args.log, &e);
            return ExitCode::from(2);
        }
    };
    let fixture = fixture.unwrap_or_else(Fixture::shared_default);
    warn_at_start(args, &fixture);
    let certificate_path = write_certificate(args, &prepared);
    // The certificate written to the default path belongs to this run (the next one makes a
    // new key), so it goes when the server does; a path the user chose is left alone.
    let own_certificate = match (&args.cert_out, &certificate_path, prepared.state.cert()) {
        (None, Some(path), Some(cert)) => Some((path.clone(), cert.pem.clone())),
        _ => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            fatal(args.log, &format!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let line = ready_line(&prepared, &fixture, certificate_path.as_deref());
    let result = runtime.block_on(serve_until_signal(prepared, &line));
    // Requests in flight were drained by `serve`; what is left (idle keep-alive connections,
    // idle blocking-pool threads) need not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // Only if it is still ours: a server started since on the same port has written its own.
    if let Some((path, pem)) = own_certificate {
        if std::fs::read(&path).is_ok_and(|now| now == pem.as_bytes()) {
            let _ = std::fs::remove_file(path);
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            fatal(args.log, &e.to_string());
            ExitCode::FAILURE
        }
    }
}

/// Warns about what starts but will not do what the user likely meant: options that do
/// nothing with the others, `VCMOCK_*` variables vcmock does not read, a fixture nobody can
/// log in to.
fn warn_at_start(args: &ServeArgs, fixture: &Fixture) {
    for ignored in args.ignored_options() {
        tracing::warn!("{ignored}");
    }
    let set = std::env::vars_os().filter_map(|(k, _)| k.into_string().ok());
    for (name, near) in crate::config::unknown_variables(set) {
        match near {
            Some(near) => {
                tracing::warn!(
                    "{name} is not a vcmock variable and is ignored: did you mean {near}?"
                );
            }
            None => tracing::warn!(
                "{name} is not a vcmock variable and is ignored (vcmock --help lists them)"
            ),
        }
    }
    warn_about_users(fixture);
}

/// A start error, with what to do about the usual ones.
fn describe_start_error(e: &server::StartError) -> String {
    let hint = match e {
        server::StartError::Bind { source, .. } => match source.kind() {
            std::io::ErrorKind::AddrInUse => {
                " (another server, vcmock perhaps, has the port: stop it, or pick another port; \
                 port 0 picks a free one, which the ready line tells)"
            }
            std::io::ErrorKind::PermissionDenied => {
                " (ports below 1024 need privileges: pick a port above 1023)"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                " (no interface of this machine has that address: 127.0.0.1 is this machine, \
                 0.0.0.0 every interface)"
            }
            _ => "",
        },
        _ => "",
    };
    format!("{e}{hint}")
}

/// Writes the served certificate where `--cert-out` (or the default) says, with `{port}`
/// replaced. A place that cannot be written is no reason to stop: the certificate is still
/// served at `/_mock/certificate`, and a warning says how to fix the place.
fn write_certificate(args: &ServeArgs, p: &Prepared) -> Option<PathBuf> {
    let template = args.cert_out_template()?;
    let cert = p.state.cert()?;
    let path = PathBuf::from(
        template
            .to_string_lossy()
            .replace("{port}", &p.addr.port().to_string()),
    );
    match write_file(&path, &cert.pem) {
        Ok(()) => Some(path),
        Err(e) => {
            let origin = args.cert_out_origin();
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let fix = if e.kind() == std::io::ErrorKind::PermissionDenied {
                // In the image, vcmock runs as uid 10001 and a bind mount Docker created is
                // root's.
                format!(
                    "; to fix it, make {} writable for the user vcmock runs as (uid 10001 in \
                     the image): for a Docker bind mount, `chown 10001` the directory on the \
                     host, or run the container with `--user` set to the directory's owner, or \
                     mount a named volume instead",
                    dir.display()
                )
            } else {
                String::new()
            };
            tracing::warn!(
                "cannot write the certificate to {} ({origin}): {e}; it is served at \
                 {}/_mock/certificate only{fix}",
                path.display(),
                p.base_url(),
            );
            None
        }
    }
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// The privileges the mock's operations check: a user holding all of them (or `*`) can do
/// everything a client of the mock may try.
const ADMIN_PRIVILEGES: [&str; 7] = [
    inventory::SYSTEM_READ,
    inventory::POWER_ON,
    inventory::POWER_OFF,
    inventory::SUSPEND,
    inventory::RESET,
    inventory::GUEST_QUERY,
    inventory::GUEST_MODIFY,
];

/// The first user whose role grants `*` or every privilege the operations check.
pub fn admin_user(fixture: &Fixture) -> Option<&crate::fixtures::UserSpec> {
    fixture.users.iter().find(|u| {
        fixture
            .roles
            .iter()
            .find(|r| r.name == u.role)
            .is_some_and(|r| {
                r.privileges.iter().any(|p| p == "*")
                    || ADMIN_PRIVILEGES
                        .iter()
                        .all(|a| r.privileges.iter().any(|p| p == a))
            })
    })
}

/// Warns when nobody can log in, or nobody can do everything (then the ready line names no
/// user).
fn warn_about_users(fixture: &Fixture) {
    if fixture.users.is_empty() {
        tracing::warn!(
            "the fixture has no vCenter user, so nobody can log in: add one under \"users\""
        );
    } else if admin_user(fixture).is_none() {
        tracing::warn!(
            "no vCenter user has a role with every privilege (\"*\"), so the ready line names \
             no user; log in as one of the fixture's users"
        );
    }
}

/// The ready line: one JSON object on stdout once the listener accepts connections, `event`
/// first. `username` and `password` are those of an admin (see [`admin_user`]).
#[derive(Debug, Clone, Serialize)]
pub struct ReadyLine {
    /// Always `ready`.
    pub event: &'static str,
    /// The bound address.
    pub address: String,
    /// The URL clients use.
    pub base_url: String,
    /// An admin's login.
    pub username: Option<String>,
    /// That admin's password.
    pub password: Option<String>,
    /// Whether the server speaks HTTPS.
    pub tls: bool,
    /// Where the certificate's PEM was written, if it could be.
    pub certificate_path: Option<String>,
    /// The certificate's SHA-1 thumbprint.
    pub thumbprint_sha1: Option<String>,
    /// The certificate's SHA-256 thumbprint.
    pub thumbprint_sha256: Option<String>,
    /// vcmock's version.
    pub version: &'static str,
}

/// The ready line for `p`, serving `fixture`, whose certificate was written to
/// `certificate_path`.
pub fn ready_line(p: &Prepared, fixture: &Fixture, certificate_path: Option<&Path>) -> ReadyLine {
    let admin = admin_user(fixture);
    let cert = p.state.cert();
    ReadyLine {
        event: "ready",
        address: p.addr.to_string(),
        base_url: p.base_url(),
        username: admin.map(|u| u.login.clone()),
        password: admin.map(|u| u.password.clone()),
        tls: cert.is_some(),
        certificate_path: certificate_path.map(|p| p.display().to_string()),
        thumbprint_sha1: cert.map(|c| c.sha1.clone()),
        thumbprint_sha256: cert.map(|c| c.sha256.clone()),
        version: env!("CARGO_PKG_VERSION"),
    }
}

async fn serve_until_signal(p: Prepared, line: &ReadyLine) -> std::io::Result<()> {
    let line = serde_json::to_string(line)?;
    let Prepared {
        listener,
        state,
        tls,
        addr,
    } = p;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let signalled = shutdown_signal()?;
    state.set_ready(true);
    tracing::info!(%addr, vms = state.vcenter().vm_ids().len(), "vcmock is ready");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    let app = server::app(state.clone());
    let timeouts = server::Timeouts::of(state.settings());
    server::serve(listener, app, tls, timeouts, signalled).await?;
    state.vcenter().revoke_all("server stopped", state.now());
    tracing::info!("vcmock stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are in place when this returns, not from the
/// future's first poll: a signal sent right after the ready line must not kill the process
/// before it has cleaned up.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let signalled = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
    };
    #[cfg(not(unix))]
    let signalled = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Ok(async move {
        signalled.await;
        tracing::info!("shutting down");
    })
}

fn check_fixtures(paths: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for p in paths {
        match Fixture::from_paths_all(std::slice::from_ref(p)) {
            Ok(f) => {
                println!(
                    "{}: ok ({} VMs, {} users)",
                    p.display(),
                    f.vms.len(),
                    f.users.len()
                );
                if f.users.is_empty() {
                    eprintln!(
                        "{}: warning: no vCenter user, so nobody can log in: add one under \
                         \"users\"",
                        p.display()
                    );
                }
            }
            Err(problems) => {
                for e in &problems {
                    eprintln!("{e}");
                }
                eprintln!(
                    "{}: {} problem{}",
                    p.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Accepts any certificate: the health probe only talks to the local server.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What the probe of `/_mock/ready` found.
#[derive(Debug)]
enum Probe {
    /// The bytes the server answered with (possibly none).
    Answered(Vec<u8>),
    /// The TLS handshake failed.
    Handshake(std::io::Error),
}

/// Whether a TLS handshake failed because the other side answered in plain text (a plain
/// HTTP server answering the ClientHello with an HTTP 400).
fn plain_text_answer(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidMessage(_)))
}

/// Whether `reply` is what a TLS server sends to a plain HTTP request: a TLS record (an
/// alert), or vcmock's HTTP 400 that says to use https.
fn tls_answer(reply: &[u8]) -> bool {
    let record = matches!(reply, [0x15 | 0x16, 0x03, ..]);
    let told = reply.starts_with(b"HTTP/1.1 400")
        && String::from_utf8_lossy(reply)
            .to_ascii_lowercase()
            .contains("https");
    record || told
}

/// The status line of an HTTP answer, printable.
fn status_line(reply: &[u8]) -> String {
    let line = reply
        .split(|b| *b == b'\r' || *b == b'\n')
        .next()
        .unwrap_or_default();
    String::from_utf8_lossy(line)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Why the probe did not find a ready server, in words; `None` when it did.
fn diagnose(addr: std::net::SocketAddr, tls: bool, probe: &Probe) -> Option<String> {
    match probe {
        Probe::Answered(reply) if reply.starts_with(b"HTTP/1.1 200") => None,
        Probe::Answered(reply) if !tls && tls_answer(reply) => Some(format!(
            "{addr} speaks TLS (HTTPS), and the probe was plain HTTP: run the healthcheck with \
             --tls on (or VCMOCK_TLS=on), as the server runs"
        )),
        Probe::Handshake(e) if tls && plain_text_answer(e) => Some(format!(
            "{addr} answered the TLS handshake in plain text ({e}): the server runs with --tls \
             off, so run the healthcheck with --tls off (or VCMOCK_TLS=off)"
        )),
        Probe::Handshake(e) => Some(format!("{addr}: the TLS handshake failed: {e}")),
        Probe::Answered(reply) if reply.is_empty() => Some(format!(
            "{addr} closed the connection without answering{}",
            if tls {
                ""
            } else {
                " (a TLS server does that to plain HTTP: try --tls on)"
            }
        )),
        Probe::Answered(reply) if reply.starts_with(b"HTTP/1.1 503") => {
            Some(format!("{addr} is not ready yet: {}", status_line(reply)))
        }
        Probe::Answered(reply) => Some(format!(
            "{addr} is not ready: GET /_mock/ready answered {}",
            status_line(reply)
        )),
    }
}

fn healthcheck(args: &HealthcheckArgs) -> ExitCode {
    let mut addr = args.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let tls = args.tls == Switch::On;
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::FAILURE;
    };
    let probe = async move {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let request = b"GET /_mock/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let mut reply = Vec::new();
        if tls {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(std::io::Error::other)?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
                .with_no_client_auth();
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let name = rustls::pki_types::ServerName::try_from("localhost")
                .map_err(std::io::Error::other)?;
            let mut s = match connector.connect(name, stream).await {
                Ok(s) => s,
                Err(e) => return Ok(Probe::Handshake(e)),
            };
            s.write_all(request).await?;
            let _ = s.read_to_end(&mut reply).await;
        } else {
            let mut s = stream;
            s.write_all(request).await?;
            let _ = s.read_to_end(&mut reply).await;
        }
        Ok::<_, std::io::Error>(Probe::Answered(reply))
    };
    let outcome =
        rt.block_on(async { tokio::time::timeout(std::time::Duration::from_secs(3), probe).await });
    let problem = match outcome {
        Ok(Ok(probe)) => diagnose(addr, tls, &probe),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(format!(
            "nothing listens on {addr} (connection refused): is vcmock running, and on that \
             address (--listen, or VCMOCK_LISTEN)?"
        )),
        Ok(Err(e)) => Some(format!("{addr}: {e}")),
        Err(_) => Some(format!("{addr}: no answer within 3 s")),
    };
    match problem {
        None => ExitCode::SUCCESS,
        Some(why) => {
            eprintln!("vcmock healthcheck: {why}");
            ExitCode::FAILURE
        }
    }
}
