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
use tokio::io::AsyncReadExt as _;

use super::call::RestCall;
use crate::model::guest_fs::{Blob, SpilledFile};
use crate::model::transfer::{Direction, Transfer};
use crate::model::{Fault, Vcenter};
use crate::ops::guest_file::{Download, Token, Upload};
use crate::ops::{Shaping, Stop};
use crate::state::AppState;

const CHUNK: usize = 256 * 1024;

/// `GET` and `PUT /guestFile`.
pub fn routes() -> Router {
    Router::new().route("/guestFile", get(download).put(upload))
}

/// Reads `id` and `token`: each exactly once, `id` a number. Messages never repeat the values:
/// a malformed query can carry the token in the id.
fn id_and_token(uri: &Uri) -> Result<Token, Fault> {
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
    let id = one("id", id)?.parse().map_err(|_| Fault::InvalidInput {
        detail: "the id query parameter is not a number".into(),
    })?;
    Ok(Token {
        id,
        token: one("token", token)?,
    })
}

/// An error answer that also notes the reason, in words, for the journal and the log.
fn refused(rest: &RestCall, stop: Stop) -> Response {
    if let Stop::Fault(fault) = &stop {
        let note = fault.to_string();
        tracing::info!(reason = %note, "guestFile request refused");
        rest.note(note);
    }
    super::call::stop_response(stop)
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

async fn download(rest: RestCall, req: Request) -> Response {
    let state = rest.state().clone();
    // axum routes HEAD to the GET handler; a HEAD must not use up a single-use URL.
    let input = if req.method() == Method::HEAD {
        Err(Fault::TransferWrongMethod { expected: "GET" })
    } else {
        id_and_token(req.uri()).map(Download)
    };
    let (ticket, shaping) = match rest.call().invoke_shaped(input).await {
        Ok(t) => t,
        Err(stop) => return refused(&rest, stop),
    };
    let vc = state.vcenter();
    let id = ticket.transfer.id;
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
    shaping: Shaping,
    state: AppState,
    _guard: DownloadGuard,
}

fn cut(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, why.to_owned())
}

fn stream_blob(
    blob: Blob,
    transfer: Transfer,
    shaping: Shaping,
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
    File(SpillWriter),
}

impl Sink {
    /// Adds a frame.
    async fn push(&mut self, chunk: Bytes) -> std::io::Result<()> {
        match self {
            Self::Memory(v) => {
                v.extend_from_slice(&chunk);
                Ok(())
            }
            Self::File(w) => w.push(chunk).await,
        }
    }

    /// The received bytes as a blob of `len` bytes.
    async fn finish(self, len: u64) -> std::io::Result<Blob> {
        Ok(match self {
            Self::Memory(v) => Blob::Bytes(Bytes::from(v)),
            Self::File(w) => Blob::Spilled(Arc::new(SpilledFile {
                path: w.finish().await?.into_temp_path(),
                len,
            })),
        })
    }

    /// Drops what was received; a temporary file is gone when this returns.
    async fn discard(self) {
        if let Self::File(w) = self {
            w.discard().await;
        }
    }
}

/// Why an upload's body was not taken.
enum Halt {
    /// Refused while the client may still be sending: what is left is drained first.
    Refuse(Fault),
    /// The body ended or broke off: answered at once.
    Cut(Fault),
    /// The temporary file could not be written.
    WriteFailed(std::io::Error),
}

/// Moves an upload's body into `sink`, checking its length and the transfer's revocation.
async fn receive<S>(
    body: &mut S,
    sink: &mut Sink,
    ticket: &Transfer,
    expected: u64,
) -> Result<(), Halt>
where
    S: futures_util::Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    let mut received: u64 = 0;
    while let Some(chunk) = body.next().await {
        // The client went away: nothing lands, the token stays usable.
        let chunk =
            chunk.map_err(|_| Halt::Cut(Fault::UploadLengthMismatch { expected, received }))?;
        if ticket.cancel().is_cancelled() {
            return Err(Halt::Refuse(Fault::TransferAborted));
        }
        received += chunk.len() as u64;
        if received > expected {
            return Err(Halt::Refuse(Fault::UploadLengthMismatch {
                expected,
                received,
            }));
        }
        sink.push(chunk).await.map_err(Halt::WriteFailed)?;
    }
    if received != expected {
        return Err(Halt::Cut(Fault::UploadLengthMismatch {
            expected,
            received,
        }));
    }
    Ok(())
}

/// Frames are written in batches of about this many bytes.
const SPILL_BATCH: usize = 1 << 20;

/// Frames smaller than this are copied into a shared buffer rather than kept: a tiny frame can
/// pin a much larger receive buffer.
const SMALL_FRAME: usize = 4096;

/// Writes a spilled upload in batches on tokio's blocking pool, one batch at a time, so that
/// receiving (and decrypting) the next batch overlaps writing the last one. Frames are kept
/// without a copy and land with vectored writes; an upload holds at most two batches (about
/// 2 MiB), and a blocking thread only while a write runs.
struct SpillWriter {
    batch: Vec<Bytes>,
    batched: usize,
    small: Vec<u8>,
    /// The file, while no write runs; the write in flight hands it back.
    file: Option<tempfile::NamedTempFile>,
    writing: Option<tokio::task::JoinHandle<std::io::Result<tempfile::NamedTempFile>>>,
}

impl SpillWriter {
    /// Creates the temporary file in `dir`.
    fn create(dir: &std::path::Path) -> std::io::Result<Self> {
        Ok(Self {
            batch: Vec::new(),
            batched: 0,
            small: Vec::new(),
            file: Some(tempfile::NamedTempFile::new_in(dir)?),
            writing: None,
        })
    }

    /// Adds a frame, starting a write when a batch is full.
    async fn push(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.batched += chunk.len();
        if chunk.len() < SMALL_FRAME {
            self.small.extend_from_slice(&chunk);
        } else {
            self.seal_small();
            self.batch.push(chunk);
        }
        if self.batched >= SPILL_BATCH {
            self.send().await?;
        }
        Ok(())
    }

    /// Ends the run of small frames so far, keeping the bytes in order.
    fn seal_small(&mut self) {
        if !self.small.is_empty() {
            self.batch
                .push(Bytes::from(std::mem::take(&mut self.small)));
        }
    }

    /// Starts writing the batch, once the previous write is done.
    async fn send(&mut self) -> std::io::Result<()> {
        self.seal_small();
        self.batched = 0;
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let mut file = self.settle().await?;
        self.writing = Some(tokio::task::spawn_blocking(move || {
            write_all_vectored(file.as_file_mut(), &batch)?;
            Ok(file)
        }));
        Ok(())
    }

    /// Waits for the write in flight and takes the file back. A failed write has dropped (and
    /// so removed) the file.
    async fn settle(&mut self) -> std::io::Result<tempfile::NamedTempFile> {
        if let Some(write) = self.writing.take() {
            let file = write
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)))?;
            self.file = Some(file);
        }
        self.file
            .take()
            .ok_or_else(|| std::io::Error::other("an earlier write failed"))
    }

    /// Writes what is left and hands back the file.
    async fn finish(mut self) -> std::io::Result<tempfile::NamedTempFile> {
        self.send().await?;
        self.settle().await
    }

    /// Waits for the write in flight and drops the file, so that it is gone on return.
    async fn discard(mut self) {
        let _ = self.settle().await;
    }
}

/// Writes all of `batch`, in order.
fn write_all_vectored(out: &mut std::fs::File, batch: &[Bytes]) -> std::io::Result<()> {
    use std::io::{IoSlice, Write as _};
    let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|b| IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match out.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How much of a refused upload's body is read (and dropped) before the answer goes out, and for
/// how long at most.
const DRAIN_LIMIT: usize = 64 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Refuses an upload. A client that sent `Expect: 100-continue` is answered at once, before it
/// sends its body. Any other is answered after what is left of its body has been read, up to
/// [`DRAIN_LIMIT`] and [`DRAIN_TIME`]: answering while a client is still sending makes an
/// HTTP/1.1 client fail on a broken pipe and resets an HTTP/2 stream, and clients (curl,
/// requests) then report a transport error instead of the answer.
async fn refuse_upload<S>(
    rest: &RestCall,
    body: &mut S,
    waits_for_continue: bool,
    stop: impl Into<Stop>,
) -> Response
where
    S: futures_util::Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    if !waits_for_continue {
        let drain = async {
            let mut seen = 0;
            while let Some(Ok(chunk)) = body.next().await {
                seen += chunk.len();
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    }
    refused(rest, stop.into())
}

async fn upload(rest: RestCall, req: Request) -> Response {
    let state = rest.state().clone();
    let (parts, body) = req.into_parts();
    let mut body = body.into_data_stream();
    // Until the body is first read, hyper has not sent 100 Continue.
    let waits = parts
        .headers
        .get(axum::http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let input = id_and_token(&parts.uri).map(Upload);
    let ticket = match rest.call().invoke(input).await {
        Ok(t) => t,
        Err(stop) => return refuse_upload(&rest, &mut body, waits, stop).await,
    };
    let vc = state.vcenter();
    let id = ticket.id;
    let mut guard = UploadGuard {
        vc: vc.clone(),
        state: state.clone(),
        id,
        armed: true,
    };
    let Direction::Upload(spec) = &ticket.direction else {
        return refuse_upload(
            &rest,
            &mut body,
            waits,
            Fault::TransferWrongMethod { expected: "GET" },
        )
        .await;
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
            return refuse_upload(&rest, &mut body, waits, fault).await;
        }
    }
    if expected == 0 {
        return refuse_upload(&rest, &mut body, waits, Fault::EmptyUpload).await;
    }
    let mut sink = if expected > state.settings().spill_threshold {
        match state.spill_dir().and_then(SpillWriter::create) {
            Ok(writer) => Sink::File(writer),
            Err(e) => {
                let fault = Fault::Internal {
                    detail: format!("cannot create a temporary file: {e}"),
                };
                return refuse_upload(&rest, &mut body, waits, fault).await;
            }
        }
    } else {
        Sink::Memory(Vec::with_capacity(expected as usize))
    };
    if let Err(stop) = receive(&mut body, &mut sink, &ticket, expected).await {
        return match stop {
            Halt::Refuse(fault) => {
                sink.discard().await;
                // Reading has begun: the client was told to continue.
                refuse_upload(&rest, &mut body, false, fault).await
            }
            Halt::Cut(fault) => {
                sink.discard().await;
                refused(&rest, fault.into())
            }
            Halt::WriteFailed(e) => {
                sink.discard().await;
                refused(
                    &rest,
                    Stop::Fault(Fault::Internal {
                        detail: format!("cannot write the upload: {e}"),
                    }),
                )
            }
        };
    }
    let blob = match sink.finish(expected).await {
        Ok(blob) => blob,
        Err(e) => {
            return refused(
                &rest,
                Stop::Fault(Fault::Internal {
                    detail: format!("cannot write the upload: {e}"),
                }),
            );
        }
    };
    match vc.commit_upload(&ticket, blob, state.now()) {
        Ok(()) => {
            guard.armed = false;
            state.metrics().add_up(expected);
            StatusCode::OK.into_response()
        }
        Err(f) => {
            guard.armed = false;
            refused(&rest, f.into())
        }
    }
}
