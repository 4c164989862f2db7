//! Owns running the server: the accept loop (TLS or plain, graceful shutdown), the
//! [`MockVcenter`] handle and its builder, and the preparation shared by the binary and the
//! library.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::builder::{User, Vm};
use crate::clock::{ManualClock, SwitchableClock};
use crate::fixtures::Fixture;
use crate::injection::{Injection, InjectionRule};
use crate::journal::JournalEntry;
use crate::model::Limits;
use crate::routes::{self, ResetConnection};
use crate::state::{AppState, Settings};
use crate::tls::{self, TlsMaterial};

/// The application router for `state` (for tests without sockets: call it with `oneshot`).
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets requests in
/// flight finish, streamed answers (downloads) included, up to a grace period, and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_until(listener, app, tls, shutdown, Drain::Answers).await
}

/// What shutdown waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drain {
    /// Handlers and the bodies they stream, then a brief flush: the binary, whose clients are
    /// other processes that keep reading.
    Answers,
    /// Handlers only: the in-process server, whose clients usually share the thread that stops
    /// it and cannot read on while it stops.
    Handlers,
}

async fn serve_until(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
    drain: Drain,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    // Requests being handled right now; shutdown waits for these, not for idle keep-alive
    // connections.
    let in_flight = Arc::new(AtomicUsize::new(0));
    // Every connection's task and every HTTP/2 stream's: stopping ends whatever is left of
    // them, so that a stopped server answers nothing more, even on a kept-alive connection,
    // and holds nothing once it has stopped.
    let tasks = ServerTasks::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                let in_flight = in_flight.clone();
                let executor = tasks.clone();
                tasks.spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                        let app = app.clone();
                        let guard = InFlight::enter(&in_flight);
                        async move {
                            let resp = app.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {});
                            if resp.extensions().get::<ResetConnection>().is_some() {
                                return Err(std::io::Error::other("connection reset by a fault rule"));
                            }
                            // A streamed body (a download) stays in flight until it has been
                            // sent, so that shutdown waits for it; sized bodies go out at once.
                            if drain == Drain::Handlers || axum::body::HttpBody::size_hint(resp.body()).exact().is_some() {
                                return Ok(resp);
                            }
                            Ok::<_, std::io::Error>(resp.map(|inner| Body::new(CountedBody { inner, _guard: guard })))
                        }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(executor);
                    match acceptor {
                        Some(acceptor) => {
                            let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else {
                                return;
                            };
                            let conn = builder.serve_connection(TokioIo::new(tls), service);
                            let _ = watcher.watch(conn.into_owned()).await;
                        }
                        None => {
                            let conn = builder.serve_connection(TokioIo::new(stream), service);
                            let _ = watcher.watch(conn.into_owned()).await;
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drain_in_flight(graceful, &in_flight, drain).await;
    tasks.stop().await;
    Ok(())
}

/// The tasks of one server (its connections, and the streams hyper spawns for HTTP/2), which
/// `stop` ends and waits for. Also the executor hyper spawns those streams on.
#[derive(Clone, Default)]
struct ServerTasks {
    tracker: tokio_util::task::TaskTracker,
    cancel: tokio_util::sync::CancellationToken,
}

impl ServerTasks {
    fn spawn<F>(&self, task: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = task => {}
                () = cancel.cancelled() => {}
            }
        });
    }

    /// Ends every task still running and waits until all are gone.
    async fn stop(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl<F> hyper::rt::Executor<F> for ServerTasks
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, task: F) {
        self.spawn(task);
    }
}

/// Lets the requests in flight at shutdown finish (within [`SHUTDOWN_GRACE`]) while idle
/// connections close.
async fn drain_in_flight(
    graceful: hyper_util::server::graceful::GracefulShutdown,
    in_flight: &AtomicUsize,
    drain: Drain,
) {
    let busy = in_flight.load(Ordering::Acquire) > 0;
    let drained = async {
        while in_flight.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let closed = graceful.shutdown();
    tokio::pin!(closed);
    let deadline = tokio::time::sleep(SHUTDOWN_GRACE);
    tokio::pin!(deadline);
    tokio::select! {
        () = &mut closed => return,
        () = drained => {}
        () = &mut deadline => {
            tracing::warn!("requests still in flight at shutdown were cut off");
            return;
        }
    }
    // The last bytes of answers that were in flight may still sit in connection buffers: let
    // the connections flush them and close (briefly; an idle server stops at once).
    if busy && drain == Drain::Answers {
        tokio::select! {
            () = closed => {}
            () = tokio::time::sleep(FLUSH_GRACE) => {}
            () = deadline => {}
        }
    }
}

/// How long shutdown lets connections flush what requests in flight wrote, once they are done.
const FLUSH_GRACE: Duration = Duration::from_millis(500);

/// A streamed response body that keeps its request counted as in flight until it is sent or
/// dropped.
struct CountedBody {
    inner: Body,
    _guard: InFlight,
}

impl axum::body::HttpBody for CountedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

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
    /// Where to write the certificate PEM (`{port}` is replaced by the real port).
    pub cert_out: Option<PathBuf>,
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
            cert_out: None,
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

/// Binds the listener, prepares TLS (writing the certificate where asked) and builds the state.
pub fn prepare(spec: ServerSpec) -> Result<Prepared, String> {
    let listener = std::net::TcpListener::bind(spec.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", spec.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let material: Option<TlsMaterial> = match &spec.tls {
        TlsSource::Off => None,
        TlsSource::Generate(extra) => Some(tls::self_signed(&tls::default_sans(extra))?),
        TlsSource::Files { cert, key } => Some(tls::from_files(cert, key)?),
        TlsSource::Pem { cert, key } => Some(tls::from_pem(cert, key)?),
    };
    let cert = match material.as_ref().map(|m| m.info.clone()) {
        Some(mut info) => {
            if let Some(path) = &spec.cert_out {
                let path = PathBuf::from(
                    path.to_string_lossy()
                        .replace("{port}", &addr.port().to_string()),
                );
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                std::fs::write(&path, &info.pem).map_err(|e| {
                    format!("cannot write the certificate to {}: {e}", path.display())
                })?;
                info.path = Some(path);
            }
            Some(info)
        }
        None => None,
    };
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
    )
    .map_err(|e| format!("cannot create the spill directory: {e}"))?;
    Ok(Prepared {
        listener,
        addr,
        state,
        tls: material.map(|m| m.config),
    })
}

/// A running mock vCenter, served by vcmock's own runtime. Dropping it stops the server.
///
/// See the crate documentation for an example.
#[derive(Debug)]
pub struct MockVcenter {
    state: AppState,
    addr: SocketAddr,
    base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Closed by the serving task when it has stopped and released the listener.
    stopped: Option<std::sync::mpsc::Receiver<()>>,
}

impl MockVcenter {
    /// A builder starting from the built-in fixture.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a server on the built-in fixture with defaults (HTTPS, 127.0.0.1, a free port).
    pub fn start() -> std::io::Result<Self> {
        Self::builder().start()
    }

    /// The listener's address.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `http://` with TLS off).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The served certificate in PEM, when TLS is on.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.state.cert().map(|c| c.pem.as_str())
    }

    /// SHA-1 thumbprint of the certificate (`AA:BB:...`), when TLS is on.
    pub fn thumbprint_sha1(&self) -> Option<&str> {
        self.state.cert().map(|c| c.sha1.as_str())
    }

    /// SHA-256 thumbprint of the certificate, when TLS is on.
    pub fn thumbprint_sha256(&self) -> Option<&str> {
        self.state.cert().map(|c| c.sha256.as_str())
    }

    /// The shared state (the same one request handlers use).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Puts everything back to the loaded fixture: VMs, files, sessions; transfers are
    /// revoked and the seeded generator restarts. The port and certificate stay.
    pub fn reset(&self) {
        self.state.reset(None);
    }

    /// A fixture describing the current state (loads back with [`MockVcenter::load_state`]).
    pub fn snapshot(&self) -> Fixture {
        self.state.snapshot()
    }

    /// Replaces the state with `fixture` (which reset then restores).
    pub fn load_state(&self, fixture: Fixture) {
        self.state.reset(Some(fixture));
    }

    /// Controls one VM as a vSphere administrator would.
    pub fn vm(&self, id: &str) -> crate::builder::VmHandle<'_> {
        crate::builder::VmHandle::new(&self.state, id)
    }

    /// The clock (advance it, set it, or switch it between system and manual).
    pub fn clock(&self) -> &SwitchableClock {
        self.state.clock()
    }

    /// The request journal.
    pub fn journal(&self) -> &crate::journal::Journal {
        self.state.journal()
    }

    /// Installs a failure-injection rule.
    pub fn inject(&self, spec: InjectionRule) -> Result<Injection, String> {
        self.state.injections().add(spec)
    }

    /// The installed failure-injection rules with their counters.
    pub fn injections(&self) -> Vec<Injection> {
        self.state.injections().list()
    }

    /// Removes every failure-injection rule.
    pub fn clear_injections(&self) {
        self.state.injections().clear();
    }

    /// Every transfer issued, with its state.
    pub fn transfers(&self) -> Vec<crate::model::transfer::Transfer> {
        self.state.vcenter().transfers()
    }

    /// Requests seen so far (shorthand for `journal().requests()`).
    pub fn requests(&self) -> Vec<JournalEntry> {
        self.state.journal().requests()
    }

    /// A `reqwest` client that trusts this server's certificate.
    #[cfg(feature = "client")]
    pub fn client(&self) -> reqwest::Client {
        let mut b = reqwest::Client::builder().use_rustls_tls();
        if let Some(pem) = self.certificate_pem() {
            if let Ok(cert) = reqwest::Certificate::from_pem(pem.as_bytes()) {
                b = b.add_root_certificate(cert);
            }
        }
        b.build().expect("a reqwest client with rustls")
    }

    /// Stops the server and waits until it has let go of its port.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            // Returns once the serving task is gone, whether it ended or panicked.
            let _ = stopped.recv();
        }
    }
}

impl Drop for MockVcenter {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// Configures and starts a [`MockVcenter`].
#[derive(Debug, Clone)]
pub struct Builder {
    spec: ServerSpec,
    manual: Option<ManualClock>,
    vms: Vec<Vm>,
    users: Vec<User>,
    keep_default_vms: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            spec: ServerSpec::default(),
            manual: None,
            vms: Vec::new(),
            users: Vec::new(),
            keep_default_vms: true,
        }
    }
}

impl Builder {
    /// Seeds ids, tokens and temporary names, for reproducible runs.
    pub fn seed(mut self, seed: u64) -> Self {
        self.spec.seed = Some(seed);
        self
    }

    /// Drives time with `clock` (clones of it move the server's time).
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.manual = Some(clock);
        self
    }

    /// HTTPS (default) or plain HTTP.
    pub fn tls(mut self, on: bool) -> Self {
        self.spec.tls = if on {
            TlsSource::Generate(Vec::new())
        } else {
            TlsSource::Off
        };
        self
    }

    /// Serves this certificate and key (PEM) instead of a generated one.
    pub fn tls_pem(mut self, cert: impl Into<String>, key: impl Into<String>) -> Self {
        self.spec.tls = TlsSource::Pem {
            cert: cert.into(),
            key: key.into(),
        };
        self
    }

    /// Binds this address instead of `127.0.0.1:0`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.spec.listen = addr;
        self
    }

    /// Starts from `fixture` instead of the built-in one.
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.spec.fixture = Arc::new(fixture);
        self
    }

    /// Drops the built-in VMs (users and roles stay), keeping only VMs added with
    /// [`Builder::vm`].
    pub fn without_default_vms(mut self) -> Self {
        self.keep_default_vms = false;
        self
    }

    /// Adds a VM (replacing one with the same id).
    pub fn vm(mut self, vm: Vm) -> Self {
        self.vms.push(vm);
        self
    }

    /// Adds a vCenter user.
    pub fn user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Replaces `*` in transfer URLs with `host` (or `host:port`).
    pub fn transfer_host(mut self, host: impl Into<String>) -> Self {
        self.spec.settings.transfer_host = Some(host.into());
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on the admin API.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.spec.settings.admin_token = Some(token.into());
        self
    }

    /// Serves the admin API under `/_mock/` (default) or not (then those URLs answer 404).
    pub fn admin(mut self, on: bool) -> Self {
        self.spec.settings.admin_enabled = on;
        self
    }

    /// How many requests the journal keeps (default 1000).
    pub fn journal_size(mut self, n: usize) -> Self {
        self.spec.journal_size = n;
        self
    }

    /// Session idle timeout (default 30 minutes).
    pub fn session_idle_timeout(mut self, d: Duration) -> Self {
        self.spec.limits.session_idle = d;
        self
    }

    /// Most sessions kept at once (default 10,000; the oldest goes first).
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.spec.limits.max_sessions = n;
        self
    }

    /// Uploads above this many bytes spill to a temporary file (default 8 MiB).
    pub fn spill_threshold(mut self, bytes: u64) -> Self {
        self.spec.settings.spill_threshold = bytes;
        self
    }

    /// Largest JSON request body (default 1 MiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.spec.settings.body_limit = bytes;
        self
    }

    /// The server spec this builder describes (fixture merged).
    pub fn into_spec(mut self) -> Result<ServerSpec, String> {
        if let Some(m) = self.manual.take() {
            self.spec.clock = SwitchableClock::manual(m);
        }
        let untouched = self.keep_default_vms && self.vms.is_empty() && self.users.is_empty();
        // The built-in fixture as it is was validated when it was parsed; anything else is
        // checked here, as a fixture file would be.
        if untouched && Arc::ptr_eq(&self.spec.fixture, &Fixture::shared_default()) {
            return Ok(self.spec);
        }
        let fx = Arc::make_mut(&mut self.spec.fixture);
        if !self.keep_default_vms {
            fx.vms.clear();
        }
        for vm in self.vms {
            let spec = vm.into_spec();
            fx.vms.retain(|v| v.id != spec.id);
            fx.vms.push(spec);
        }
        for u in self.users {
            let (role, user) = u.into_specs();
            if !fx.roles.iter().any(|r| r.name == role.name) {
                fx.roles.push(role);
            }
            fx.users
                .retain(|x| !x.login.eq_ignore_ascii_case(&user.login));
            fx.users.push(user);
        }
        fx.validate("builder").map_err(|e| e.to_string())?;
        Ok(self.spec)
    }

    /// Binds the listener (so [`MockVcenter::base_url`] works at once) and starts serving on
    /// vcmock's own runtime, shared by the process's servers and separate from the caller's:
    /// works from plain `#[test]`s and from any tokio runtime, and a test's paused tokio time
    /// does not affect it.
    pub fn start(self) -> std::io::Result<MockVcenter> {
        let spec = self.into_spec().map_err(std::io::Error::other)?;
        let prepared = prepare(spec).map_err(std::io::Error::other)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = prepared.state.clone();
        let addr = prepared.addr;
        let base_url = prepared.base_url();
        let (stopped_tx, stopped) = std::sync::mpsc::channel::<()>();
        server_runtime()?.spawn(async move {
            // Dropped last, after the listener and the connections: the handle's drop waits
            // for it.
            let _stopped = stopped_tx;
            let Prepared {
                listener,
                state,
                tls,
                ..
            } = prepared;
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            state.set_ready(true);
            let app = app(state.clone());
            let stop = async {
                let _ = rx.await;
            };
            let _ = serve_until(listener, app, tls, stop, Drain::Handlers).await;
            state.vcenter().revoke_all("server stopped", state.now());
        });
        Ok(MockVcenter {
            state,
            addr,
            base_url,
            shutdown: Some(tx),
            stopped: Some(stopped),
        })
    }
}

/// The runtime that serves every in-process [`MockVcenter`], each server a task on it. It is
/// started by the first server and lives as long as the process, so that a server costs no
/// thread or runtime of its own; it is not the caller's runtime, so a test's runtime flavour
/// or paused time does not reach the servers.
fn server_runtime() -> std::io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("vcmock-server")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the server runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| std::io::Error::other(e.clone()))
}
