//! Owns what the binary does: serving with a ready line and signal handling, the
//! `healthcheck` probe, and `fixtures check`.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::config::{Cli, Command, FixturesCommand, LogFormat, ServeArgs, Switch};
use crate::fixtures::{DEFAULT_FIXTURE, Fixture};
use crate::server::{self, Prepared};

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
    let prepared = match args
        .to_spec()
        .and_then(|spec| server::prepare(spec).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vcmock: {e}");
            return ExitCode::from(2);
        }
    };
    // The certificate written to the default path belongs to this run (the next one makes a
    // new key), so it goes when the server does; a path the user chose is left alone.
    let own_certificate = match args.cert_out {
        None => prepared
            .state
            .cert()
            .and_then(|c| Some((c.path.clone()?, c.pem.clone()))),
        Some(_) => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vcmock: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve_until_signal(prepared));
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
            eprintln!("vcmock: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The ready line: one JSON object on stdout once the listener accepts connections.
pub fn ready_line(p: &Prepared) -> serde_json::Value {
    let fixture = p.state.fixture();
    let admin = fixture.users.first();
    let cert = p.state.cert();
    json!({
        "event": "ready",
        "address": p.addr.to_string(),
        "base_url": p.base_url(),
        "username": admin.map(|u| u.login.clone()),
        "password": admin.map(|u| u.password.clone()),
        "tls": cert.is_some(),
        "certificate_path": cert.and_then(|c| c.path.as_ref()).map(|p| p.display().to_string()),
        "thumbprint_sha1": cert.map(|c| c.sha1.clone()),
        "thumbprint_sha256": cert.map(|c| c.sha256.clone()),
        "version": env!("CARGO_PKG_VERSION"),
    })
}

async fn serve_until_signal(p: Prepared) -> std::io::Result<()> {
    let line = ready_line(&p);
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

fn check_fixtures(paths: &[std::path::PathBuf]) -> ExitCode {
    let mut failed = false;
    for p in paths {
        match Fixture::from_paths(std::slice::from_ref(p)) {
            Ok(f) => println!(
                "{}: ok ({} VMs, {} users)",
                p.display(),
                f.vms.len(),
                f.users.len()
            ),
            Err(e) => {
                eprintln!("{e}");
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

fn healthcheck(args: &ServeArgs) -> ExitCode {
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
            let mut s = connector.connect(name, stream).await?;
            s.write_all(request).await?;
            let _ = s.read_to_end(&mut reply).await;
        } else {
            let mut s = stream;
            s.write_all(request).await?;
            let _ = s.read_to_end(&mut reply).await;
        }
        Ok::<_, std::io::Error>(reply)
    };
    match rt
        .block_on(async { tokio::time::timeout(std::time::Duration::from_secs(3), probe).await })
    {
        Ok(Ok(reply)) if reply.starts_with(b"HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(Ok(reply)) => {
            eprintln!(
                "vcmock healthcheck: not ready: {}",
                String::from_utf8_lossy(reply.split(|b| *b == b'\r').next().unwrap_or_default())
            );
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("vcmock healthcheck: {addr}: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("vcmock healthcheck: {addr}: timed out");
            ExitCode::FAILURE
        }
    }
}
