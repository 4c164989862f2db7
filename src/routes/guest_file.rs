//! Owns `/guestFile`: streaming downloads and uploads redeemed by a transfer token alone.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{JournalNote, StreamShaping};
use crate::model::guest_fs::{Blob, SpilledFile};
use crate::model::transfer::{Direction, Redeem, Transfer};
use crate::model::{Fault, Vcenter};
use crate::state::AppState;
use crate::vapi::error::ApiError;

const CHUNK: usize = 256 * 1024;

/// `GET` and `PUT /guestFile`.
pub fn routes() -> Router {
    Router::new().route("/guestFile", get(download).put(upload))
}

/// Reads `id` and `token`: each exactly once, `id` a number.
fn id_and_token(uri: &Uri) -> Result<(u64, String), Fault> {
    let (mut id, mut token) = (Vec::new(), Vec::new());
    for (k, v) in crate::vapi::extract::query_pairs(uri) {
        let v = v.unwrap_or_default();
        match k.as_str() {
            "id" => id.push(v),
            "token" => token.push(v),
            _ => {}
        }
    }
    let one = |name: &str, v: Vec<String>| match v.len() {
        1 => Ok(v.into_iter().next().unwrap_or_default()),
        0 => Err(Fault::InvalidInput {
            detail: format!("the {name} query parameter is missing"),
        }),
        _ => Err(Fault::InvalidInput {
            detail: format!("the {name} query parameter is given more than once"),
        }),
    };
    let id = one("id", id)?;
    let id = id.parse().map_err(|_| Fault::InvalidInput {
        detail: format!("id '{id}' is not a number"),
    })?;
    Ok((id, one("token", token)?))
}

/// An error answer that also notes the reason for the journal and the log.
fn refused(fault: Fault) -> Response {
    let note = format!("{fault:?}");
    tracing::info!(reason = %note, "guestFile request refused");
    let mut resp = ApiError(fault).into_response();
    resp.extensions_mut().insert(JournalNote(note));
    resp
}

/// Marks a download finished when its stream ends or is dropped.
struct DownloadGuard {
    vc: Arc<Vcenter>,
    state: AppState,
    id: u64,
}

impl Drop for DownloadGuard {
    fn drop(&mut self) {
        self.vc.finish_download(self.id, self.state.now());
    }
}

async fn download(state: AppState, req: Request) -> Response {
    let shaping = req
        .extensions()
        .get::<StreamShaping>()
        .copied()
        .unwrap_or_default();
    let (id, token) = match id_and_token(req.uri()) {
        Ok(v) => v,
        Err(f) => return refused(f),
    };
    // axum routes HEAD to the GET handler; a HEAD must not use up a single-use URL.
    if req.method() == Method::HEAD {
        return refused(Fault::TransferWrongMethod { expected: "GET" });
    }
    let vc = state.vc();
    let ticket = match vc.begin_transfer(id, &token, Redeem::Get, state.now()) {
        Ok(t) => t,
        Err(f) => return refused(f),
    };
    let blob = ticket.blob.clone().unwrap_or_else(Blob::empty);
    let len = blob.len();
    let guard = DownloadGuard {
        vc,
        state: state.clone(),
        id,
    };
    let body = Body::from_stream(stream_blob(
        blob,
        ticket.transfer,
        shaping,
        state.clone(),
        guard,
    ));
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        CONTENT_TYPE,
        "application/octet-stream".parse().expect("static"),
    );
    resp.headers_mut().insert(CONTENT_LENGTH, len.into());
    resp
}

enum Source {
    Memory(Bytes),
    Pattern,
    File(tokio::fs::File),
    Unopened(Arc<SpilledFile>),
}

struct Streaming {
    source: Source,
    sent: u64,
    len: u64,
    transfer: Transfer,
    shaping: StreamShaping,
    state: AppState,
    _guard: DownloadGuard,
}

fn cut(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, why.to_owned())
}

fn stream_blob(
    blob: Blob,
    transfer: Transfer,
    shaping: StreamShaping,
    state: AppState,
    guard: DownloadGuard,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    let len = blob.len();
    let source = match blob {
        Blob::Bytes(b) => Source::Memory(b),
        Blob::Pattern { .. } => Source::Pattern,
        Blob::Spilled(f) => Source::Unopened(f),
    };
    let s = Streaming {
        source,
        sent: 0,
        len,
        transfer,
        shaping,
        state,
        _guard: guard,
    };
    futures_util::stream::unfold(Some(s), |s| async move {
        let mut s = s?;
        if s.sent >= s.len {
            return None;
        }
        if s.transfer.cancel().is_cancelled() {
            return Some((Err(cut("the transfer was revoked")), None));
        }
        let mut want = (s.len - s.sent).min(CHUNK as u64) as usize;
        if let Some(limit) = s.shaping.truncate_after {
            if s.sent >= limit {
                return Some((Err(cut("truncated by a fault rule")), None));
            }
            want = want.min((limit - s.sent) as usize);
        }
        if let Some(bps) = s.shaping.bytes_per_second {
            want = want.min(bps as usize).max(1);
            tokio::time::sleep(Duration::from_secs_f64(want as f64 / bps as f64)).await;
        }
        let chunk = match &mut s.source {
            Source::Memory(b) => b.slice(s.sent as usize..s.sent as usize + want),
            Source::Pattern => Blob::pattern_slice(s.sent, want),
            Source::Unopened(f) => match tokio::fs::File::open(&f.path).await {
                Ok(file) => {
                    s.source = Source::File(file);
                    return Some((Ok(Bytes::new()), Some(s)));
                }
                Err(e) => return Some((Err(e), None)),
            },
            Source::File(file) => {
                let mut v = vec![0; want];
                if let Err(e) = file.read_exact(&mut v).await {
                    return Some((Err(e), None));
                }
                Bytes::from(v)
            }
        };
        s.sent += chunk.len() as u64;
        s.state.metrics().add_down(chunk.len() as u64);
        Some((Ok(chunk), Some(s)))
    })
}

/// Gives an upload's token back unless the upload landed.
struct UploadGuard {
    vc: Arc<Vcenter>,
    state: AppState,
    id: u64,
    armed: bool,
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        if self.armed {
            self.vc.abort_upload(self.id, self.state.now());
        }
    }
}

/// Where upload bytes collect: memory below the spill threshold, a temporary file above it.
enum Sink {
    Memory(Vec<u8>),
    /// The file, an async writer on it, and a buffer that batches small frames into large
    /// writes (each write is a trip through tokio's blocking pool).
    File(tempfile::NamedTempFile, tokio::fs::File, Vec<u8>),
}

/// Spilled uploads are written in blocks of this size.
const SPILL_BLOCK: usize = 1 << 20;

/// How much of a refused upload's body is read (and dropped) before the answer goes out.
const DRAIN_LIMIT: usize = 1 << 20;

/// Refuses an upload after reading what is left of a small body. Answering while an HTTP/2
/// client is still sending resets its stream, and some clients (curl) then report a transport
/// error instead of the answer. Large or stalled bodies are not waited for.
async fn refuse_upload<S>(body: &mut S, fault: Fault) -> Response
where
    S: futures_util::Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    let drain = async {
        let mut seen = 0;
        while let Some(Ok(chunk)) = body.next().await {
            seen += chunk.len();
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    refused(fault)
}

async fn upload(state: AppState, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut body = body.into_data_stream();
    let (id, token) = match id_and_token(&parts.uri) {
        Ok(v) => v,
        Err(f) => return refuse_upload(&mut body, f).await,
    };
    let vc = state.vc();
    let ticket = match vc.begin_transfer(id, &token, Redeem::Put, state.now()) {
        Ok(t) => t.transfer,
        Err(f) => return refuse_upload(&mut body, f).await,
    };
    let mut guard = UploadGuard {
        vc: vc.clone(),
        state: state.clone(),
        id,
        armed: true,
    };
    let Direction::Upload(spec) = &ticket.direction else {
        return refuse_upload(&mut body, Fault::TransferWrongMethod { expected: "GET" }).await;
    };
    let expected = spec.size;
    if let Some(announced) = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if announced != expected {
            let fault = Fault::UploadLengthMismatch {
                expected,
                received: announced,
            };
            return refuse_upload(&mut body, fault).await;
        }
    }
    if expected == 0 {
        return refuse_upload(&mut body, Fault::EmptyUpload).await;
    }
    let mut sink = if expected > state.settings().spill_threshold {
        match state
            .spill_dir()
            .and_then(tempfile::NamedTempFile::new_in)
            .and_then(|f| {
                let writer = tokio::fs::File::from_std(f.as_file().try_clone()?);
                Ok(Sink::File(f, writer, Vec::with_capacity(SPILL_BLOCK)))
            }) {
            Ok(sink) => sink,
            Err(e) => {
                let fault = Fault::Internal {
                    detail: format!("cannot create a temporary file: {e}"),
                };
                return refuse_upload(&mut body, fault).await;
            }
        }
    } else {
        Sink::Memory(Vec::with_capacity(expected as usize))
    };
    let mut received: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            // The client went away: nothing lands, the token stays usable.
            Err(_) => return refused(Fault::UploadLengthMismatch { expected, received }),
        };
        if ticket.cancel().is_cancelled() {
            return refuse_upload(&mut body, Fault::TransferAborted).await;
        }
        received += chunk.len() as u64;
        if received > expected {
            let fault = Fault::UploadLengthMismatch { expected, received };
            return refuse_upload(&mut body, fault).await;
        }
        let written = match &mut sink {
            Sink::Memory(v) => {
                v.extend_from_slice(&chunk);
                Ok(())
            }
            Sink::File(_, w, buf) => {
                buf.extend_from_slice(&chunk);
                if buf.len() >= SPILL_BLOCK {
                    let r = w.write_all(buf).await;
                    buf.clear();
                    r
                } else {
                    Ok(())
                }
            }
        };
        if let Err(e) = written {
            return refused(Fault::Internal {
                detail: format!("cannot write the upload: {e}"),
            });
        }
    }
    if received != expected {
        return refused(Fault::UploadLengthMismatch { expected, received });
    }
    let blob = match sink {
        Sink::Memory(v) => Blob::Bytes(Bytes::from(v)),
        Sink::File(f, mut w, buf) => {
            let flushed = async {
                w.write_all(&buf).await?;
                w.flush().await
            };
            if let Err(e) = flushed.await {
                return refused(Fault::Internal {
                    detail: format!("cannot write the upload: {e}"),
                });
            }
            Blob::Spilled(Arc::new(SpilledFile {
                path: f.into_temp_path(),
                len: received,
            }))
        }
    };
    match vc.commit_upload(&ticket, blob, state.now()) {
        Ok(()) => {
            guard.armed = false;
            state.metrics().add_up(received);
            StatusCode::OK.into_response()
        }
        Err(f) => {
            guard.armed = false;
            refused(f)
        }
    }
}
