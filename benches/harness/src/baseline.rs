//! Owns the baseline servers, each a process of its own on a standard stack and on the run's
//! certificate: axum served by `axum-server` with rustls (P1, P2), and bare hyper on a
//! tokio-rustls acceptor streaming, draining or storing bodies (P3, P4).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;

use crate::cert;

/// What a baseline process is told on its command line.
struct Args {
    cert: PathBuf,
    key: PathBuf,
    /// `--answer ROUTE=FILE`: answer `POST /ROUTE` with the bytes of FILE.
    answers: Vec<(String, PathBuf)>,
}

fn parse_args(args: &[String]) -> Args {
    let mut out = Args {
        cert: PathBuf::new(),
        key: PathBuf::new(),
        answers: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--cert" => out.cert = value.into(),
            "--key" => out.key = value.into(),
            "--answer" => {
                let (route, file) = value.split_once('=').expect("--answer ROUTE=FILE");
                out.answers.push((route.to_owned(), file.into()));
            }
            other => panic!("unknown baseline flag {other}"),
        }
    }
    out
}

/// Binds 127.0.0.1:0 and prints the ready line the harness waits for.
fn bind_and_announce() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr: SocketAddr = listener.local_addr().expect("address");
    println!("{}", json!({"event": "ready", "address": addr.to_string()}));
    std::io::stdout().flush().expect("flush the ready line");
    listener
}

/// `baseline-axum`: an axum router whose `POST /ROUTE` handlers read the body and answer the
/// bytes they were given (vcmock's own answers, captured by the harness), with status 201 for
/// `session` and 200 otherwise, served by `axum-server` over rustls.
pub fn axum(args: &[String]) {
    let args = parse_args(args);
    let config = cert::server_config(&args.cert, &args.key);
    let mut app = axum::Router::new();
    for (route, file) in &args.answers {
        let body = Bytes::from(std::fs::read(file).expect("read an answer"));
        let status = if route == "session" {
            axum::http::StatusCode::CREATED
        } else {
            axum::http::StatusCode::OK
        };
        app = app.route(
            &format!("/{route}"),
            axum::routing::post(move |_request: Bytes| {
                let body = body.clone();
                async move {
                    (
                        status,
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        );
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let listener = bind_and_announce();
        axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(config),
        )
        .expect("server")
        .serve(app.into_make_service())
        .await
        .expect("serve");
    });
}

/// `baseline-hyper`: bare hyper on a tokio-rustls acceptor. `GET /stream?bytes=N` streams N
/// bytes in 256 KiB chunks (vcmock's chunk size); `PUT /drain` reads the body and drops it;
/// `PUT /store` writes each frame to a temporary file through a 1 MiB buffer, the least a
/// server that keeps the bytes must do.
pub fn hyper(args: &[String]) {
    let args = parse_args(args);
    let config = cert::server_config(&args.cert, &args.key);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(bind_and_announce()).expect("listener");
        serve_hyper(listener, config).await;
    });
}

type BoxBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

async fn serve_hyper(listener: tokio::net::TcpListener, tls: Arc<rustls::ServerConfig>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(|req| async move {
                Ok::<_, std::convert::Infallible>(answer(req).await)
            });
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
        });
    }
}

async fn answer(req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<BoxBody> {
    use http_body_util::BodyExt as _;
    if req.method() == hyper::Method::PUT {
        let mut store = (req.uri().path() == "/store").then(|| {
            std::io::BufWriter::with_capacity(
                1 << 20,
                tempfile::tempfile().expect("a temporary file"),
            )
        });
        let mut body = req.into_body();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let (Some(file), Some(data)) = (store.as_mut(), frame.data_ref()) {
                file.write_all(data).expect("write");
            }
        }
        if let Some(mut file) = store {
            file.flush().expect("flush");
        }
        return hyper::Response::new(
            http_body_util::Empty::new()
                .map_err(|never| match never {})
                .boxed(),
        );
    }
    let n: u64 = req
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("bytes="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let chunk = Bytes::from(vec![b'x'; 256 * 1024]);
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            (sent < n).then(|| {
                let len = (n - sent).min(chunk.len() as u64) as usize;
                (
                    Ok::<_, std::io::Error>(hyper::body::Frame::data(chunk.slice(..len))),
                    sent + len as u64,
                )
            })
        }
    });
    let mut resp = hyper::Response::new(http_body_util::StreamBody::new(stream).boxed());
    resp.headers_mut()
        .insert(hyper::header::CONTENT_LENGTH, n.into());
    resp
}
