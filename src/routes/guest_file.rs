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
        let v = v.unwrap_or_default().into_owned();
        match k {
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

/// Where a file's bytes come from while they stream out.
enum Source {
    Memory(Bytes),
    Pattern,
    File(tokio::fs::File),
    Unopened(Arc<SpilledFile>),
}

/// Reads a file's content in chunks, whatever holds it: memory, the generated pattern, or a
/// spilled temporary file. Nothing reads more than one chunk at a time.
pub struct BlobReader {
    source: Source,
    sent: u64,
    len: u64,
}

impl BlobReader {
    /// A reader at the start of `blob`.
    pub fn new(blob: Blob) -> Self {
        let len = blob.len();
        let source = match blob {
            Blob::Bytes(b) => Source::Memory(b),
            Blob::Pattern { .. } => Source::Pattern,
            Blob::Spilled(f) => Source::Unopened(f),
        };
        Self {
            source,
            sent: 0,
            len,
        }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> u64 {
        self.len - self.sent
    }

    /// The next `want` bytes at most (fewer only at the end).
    pub async fn read(&mut self, want: usize) -> std::io::Result<Bytes> {
        let want = want.min(self.remaining().min(CHUNK as u64) as usize);
        if let Source::Unopened(f) = &self.source {
            self.source = Source::File(tokio::fs::File::open(&f.path).await?);
        }
        let chunk = match &mut self.source {
            Source::Memory(b) => b.slice(self.sent as usize..self.sent as usize + want),
            Source::Pattern => Blob::pattern_slice(self.sent, want),
            Source::File(file) => {
                let mut v = vec![0; want];
                file.read_exact(&mut v).await?;
                Bytes::from(v)
            }
            Source::Unopened(_) => unreachable!("opened above"),
        };
        self.sent += chunk.len() as u64;
        Ok(chunk)
    }
}

/// `blob` as a response body, streamed a chunk at a time (admin reads of any size).
pub fn blob_body(blob: Blob) -> Body {
    Body::from_stream(futures_util::stream::unfold(
        BlobReader::new(blob),
        |mut r| async move {
            if r.remaining() == 0 {
                return None;
            }
            Some((r.read(CHUNK).await, r))
        },
    ))
}

struct Streaming {
    reader: BlobReader,
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
    let s = Streaming {
        reader: BlobReader::new(blob),
        transfer,
        shaping,
        state,
        _guard: guard,
    };
    futures_util::stream::unfold(Some(s), |s| async move {
        let mut s = s?;
        if s.reader.remaining() == 0 {
            return None;
        }
        if s.transfer.cancel().is_cancelled() {
            return Some((Err(cut("the transfer was revoked")), None));
        }
        let sent = s.reader.sent;
        let mut want = s.reader.remaining().min(CHUNK as u64) as usize;
        if let Some(limit) = s.shaping.truncate_after {
            if sent >= limit {
                return Some((Err(cut("truncated by a fault rule")), None));
            }
            want = want.min((limit - sent) as usize);
        }
        if let Some(bps) = s.shaping.bytes_per_second {
            want = want.min(bps as usize).max(1);
            tokio::time::sleep(Duration::from_secs_f64(want as f64 / bps as f64)).await;
        }
        match s.reader.read(want).await {
            Ok(chunk) => {
                s.state.metrics().add_down(chunk.len() as u64);
                Some((Ok(chunk), Some(s)))
            }
            Err(e) => Some((Err(e), None)),
        }
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

/// Where upload bytes collect: memory below the spill threshold (with its share of the memory
/// uploads may hold), a temporary file above it.
enum Sink {
    Memory {
        bytes: Vec<u8>,
        /// Given back when the upload fails, or when the file it becomes is gone.
        _held: crate::state::MemoryReservation,
    },
    File(SpillWriter),
}

impl Sink {
    /// Adds a frame.
    async fn push(&mut self, chunk: Bytes) -> std::io::Result<()> {
        match self {
            Self::Memory { bytes, .. } => {
                bytes.extend_from_slice(&chunk);
                Ok(())
            }
            Self::File(w) => w.push(chunk).await,
        }
    }

    /// The received bytes as a blob of `len` bytes.
    async fn finish(self, len: u64) -> std::io::Result<Blob> {
        Ok(match self {
            // The content keeps its share of the memory uploads may hold for as long as the
            // guest keeps it, so that uploads past the bound go to temporary files.
            Self::Memory { mut bytes, _held } => {
                bytes.shrink_to_fit();
                Blob::Bytes(Bytes::from_owner(Held { bytes, _held }))
            }
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

/// Uploaded bytes in memory, with the share of the upload memory bound they count against.
struct Held {
    bytes: Vec<u8>,
    _held: crate::state::MemoryReservation,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
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
    idle: Duration,
) -> Result<(), Halt>
where
    S: futures_util::Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    let mut received: u64 = 0;
    loop {
        // The client went away, or stopped sending: nothing lands, the token stays usable and
        // the path is free again.
        let chunk = match super::body::next_frame(body, idle).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(stalled @ Fault::BodyStalled { .. }) => return Err(Halt::Cut(stalled)),
            Err(_) => {
                return Err(Halt::Cut(Fault::UploadLengthMismatch {
                    expected,
                    received,
                }));
            }
        };
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

/// Refuses an upload. A client that sent `Expect: 100-continue` is answered at once, before it
/// sends its body. Any other is answered after what is left of its body has been read (see
/// [`super::body::DRAIN_LIMIT`]).
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
        super::body::drain(body).await;
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
    // Held in memory when small and while all uploads in memory stay under their bound;
    // written to a temporary file otherwise.
    let reservation = (expected <= state.settings().spill_threshold)
        .then(|| state.reserve_upload_memory(expected))
        .flatten();
    let mut sink = if let Some(held) = reservation {
        // Never allocate what a client declares: the buffer grows as bytes arrive.
        Sink::Memory {
            bytes: Vec::with_capacity(expected.min(1 << 20) as usize),
            _held: held,
        }
    } else {
        match state.spill_dir().and_then(SpillWriter::create) {
            Ok(writer) => Sink::File(writer),
            Err(e) => {
                let fault = Fault::Internal {
                    detail: format!("cannot create a temporary file: {e}"),
                };
                return refuse_upload(&rest, &mut body, waits, fault).await;
            }
        }
    };
    let idle = state.settings().body_timeout;
    if let Err(stop) = receive(&mut body, &mut sink, &ticket, expected, idle).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::UPLOAD_MEMORY_MAX;

    #[tokio::test]
    async fn an_uploaded_file_in_memory_counts_against_the_upload_memory_until_it_is_gone() {
        let state = AppState::new(
            crate::fixtures::Fixture::shared_default(),
            crate::model::Limits::default(),
            crate::clock::SwitchableClock::system(),
            Some(1),
            crate::state::Settings::default(),
            None,
            10,
        );
        let half = UPLOAD_MEMORY_MAX / 2;
        let sink = Sink::Memory {
            bytes: vec![7; 16],
            _held: state.reserve_upload_memory(half).unwrap(),
        };
        let blob = sink.finish(16).await.unwrap();
        let copy = blob.clone();
        drop(blob);
        assert!(
            state.reserve_upload_memory(half + 1).is_none(),
            "the file still holds its share"
        );
        assert_eq!(copy.prefix(16).unwrap(), vec![7; 16]);
        drop(copy);
        assert!(state.reserve_upload_memory(UPLOAD_MEMORY_MAX).is_some());
    }
}
