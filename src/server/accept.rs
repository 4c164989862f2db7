//! Owns the accept loop: TLS or plain connections, HTTP/1.1 and HTTP/2, the server's tasks, and
//! graceful shutdown that lets requests in flight finish.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio_rustls::TlsAcceptor;

use crate::routes::{self, App, ResetConnection};
use crate::state::AppState;
use crate::tls;

/// The application for `state` (for tests without sockets: call it with `oneshot`).
pub fn app(state: AppState) -> App {
    routes::router(state)
}

/// How long a TLS handshake may take before the connection is dropped (or the header timeout,
/// when that is shorter).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a connection may wait for its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long a client may take to send a request's head; on HTTP/1.1 also how long a
    /// kept-alive connection waits for its next request.
    pub header: Duration,
    /// How long a connection may sit idle (nothing read or written, no request in flight).
    pub idle: Duration,
}

impl Timeouts {
    /// The timeouts `settings` name.
    pub fn of(settings: &crate::state::Settings) -> Self {
        Self {
            header: settings.header_timeout,
            idle: settings.idle_timeout,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self::of(&crate::state::Settings::default())
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets requests in
/// flight finish, streamed answers (downloads) included, up to a grace period, and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    tls: Option<Arc<rustls::ServerConfig>>,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_until(listener, app, tls, timeouts, shutdown, Drain::Answers).await
}

/// What shutdown waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Drain {
    /// Handlers and the bodies they stream, then a brief flush: the binary, whose clients are
    /// other processes that keep reading.
    Answers,
    /// Handlers only: the in-process server, whose clients usually share the thread that stops
    /// it and cannot read on while it stops.
    Handlers,
}

pub(super) async fn serve_until(
    listener: tokio::net::TcpListener,
    app: App,
    tls: Option<Arc<rustls::ServerConfig>>,
    timeouts: Timeouts,
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
                let activity = Activity::default();
                let busy = activity.clone();
                tasks.spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                        let app = app.clone();
                        let guard = InFlight::enter(&in_flight);
                        let on_connection = InFlight::enter(&busy.0.in_flight);
                        async move {
                            let _on_connection = on_connection;
                            let resp = app.handle(req.map(Body::new)).await;
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
                    let mut builder = hyper_util::server::conn::auto::Builder::new(executor);
                    builder
                        .http1()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(timeouts.header);
                    // A connection that sits idle is closed, whichever protocol it speaks.
                    let idle = activity.clone().expired(timeouts.idle);
                    match acceptor {
                        Some(acceptor) => {
                            let handshake = async {
                                if tls::sends_plain_http(&stream).await {
                                    tls::answer_plain_http(stream).await;
                                    return None;
                                }
                                acceptor.accept(stream).await.ok()
                            };
                            let limit = HANDSHAKE_TIMEOUT.min(timeouts.header);
                            let Ok(Some(tls)) = tokio::time::timeout(limit, handshake).await else {
                                return;
                            };
                            let io = Watched { inner: tls, activity };
                            let conn = builder.serve_connection(TokioIo::new(io), service);
                            tokio::select! {
                                _ = watcher.watch(conn.into_owned()) => {}
                                () = idle => {}
                            }
                        }
                        None => {
                            let io = Watched { inner: stream, activity };
                            let conn = builder.serve_connection(TokioIo::new(io), service);
                            tokio::select! {
                                _ = watcher.watch(conn.into_owned()) => {}
                                () = idle => {}
                            }
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

/// What a connection did last, and how many of its requests are being handled.
#[derive(Clone)]
struct Activity(Arc<ActivityInner>);

struct ActivityInner {
    since: crate::clock::Stopwatch,
    /// Milliseconds from `since` to the last read or write that moved bytes.
    last_ms: std::sync::atomic::AtomicU64,
    in_flight: Arc<AtomicUsize>,
}

impl Default for Activity {
    fn default() -> Self {
        Self(Arc::new(ActivityInner {
            since: crate::clock::Stopwatch::start(),
            last_ms: std::sync::atomic::AtomicU64::new(0),
            in_flight: Arc::default(),
        }))
    }
}

impl Activity {
    fn touch(&self) {
        let now = self.0.since.elapsed_ms() as u64;
        self.0.last_ms.store(now, Ordering::Relaxed);
    }

    /// Resolves once the connection has been idle for `idle`: nothing moved and no request
    /// in flight.
    async fn expired(self, idle: Duration) {
        let idle_ms = idle.as_millis().max(1) as u64;
        loop {
            let quiet = (self.0.since.elapsed_ms() as u64)
                .saturating_sub(self.0.last_ms.load(Ordering::Relaxed));
            let busy = self.0.in_flight.load(Ordering::Acquire) > 0;
            if !busy && quiet >= idle_ms {
                return;
            }
            let wait = if busy { idle_ms } else { idle_ms - quiet };
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
}

/// A connection's stream, noting each read or write that moves bytes.
struct Watched<T> {
    inner: T,
    activity: Activity,
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Watched<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        poll
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
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
