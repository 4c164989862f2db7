//! Owns reading request bodies: every body but a `/guestFile` upload is read whole before its
//! handler runs, within a byte limit and with a bound on how long it may stop moving, and what a
//! refused body still sends is read and dropped, so that every client gets its answer.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, EXPECT};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt as _};

use crate::model::Fault;
use crate::state::AppState;
use crate::vapi::error::ApiError;

/// How much of a refused body is read (and dropped) before the answer goes out, and for how
/// long at most. Answering while a client is still sending makes an HTTP/1.1 client fail on a
/// broken pipe and resets an HTTP/2 stream, and clients (curl, requests) then report a transport
/// error instead of the answer.
pub const DRAIN_LIMIT: usize = 64 << 20;
/// See [`DRAIN_LIMIT`].
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and drops what is left of a body, within [`DRAIN_LIMIT`] and [`DRAIN_TIME`].
pub async fn drain<S>(body: &mut S)
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
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
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
}

/// The next frame of `body`, or a fault when none came for `idle`.
pub async fn next_frame<S>(body: &mut S, idle: Duration) -> Result<Option<Bytes>, Fault>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    use futures_util::FutureExt as _;
    // A frame that has already come (a small body usually has, and so has its end) needs no
    // timer: arming one costs more than reading the frame.
    let next = match body.next().now_or_never() {
        Some(ready) => Ok(ready),
        None => tokio::time::timeout(idle, body.next()).await,
    };
    match next {
        Err(_) => Err(Fault::BodyStalled {
            seconds: idle.as_secs(),
        }),
        Ok(None) => Ok(None),
        Ok(Some(Ok(chunk))) => Ok(Some(chunk)),
        Ok(Some(Err(_))) => Err(Fault::InvalidInput {
            detail: "the request body broke off".into(),
        }),
    }
}

/// Reads `body` whole: at most `limit` bytes, with no pause longer than `idle`. Past the limit,
/// the rest is drained before the fault is answered (unless the client waits for
/// `100 Continue`, which it then never gets).
async fn read_whole(
    body: Body,
    limit: usize,
    idle: Duration,
    waits_for_continue: bool,
) -> Result<Bytes, Fault> {
    let mut stream = body.into_data_stream();
    let mut frames: Vec<Bytes> = Vec::new();
    let mut len = 0;
    while let Some(frame) = next_frame(&mut stream, idle).await? {
        len += frame.len();
        if len > limit {
            if !waits_for_continue {
                drain(&mut stream).await;
            }
            return Err(Fault::BodyTooLarge { limit });
        }
        frames.push(frame);
    }
    Ok(match frames.len() {
        0 => Bytes::new(),
        1 => frames.pop().expect("one frame"),
        _ => frames.concat().into(),
    })
}

/// Reads the request body whole before `routes` answer it, within the body limit (the admin
/// API's own, larger, limit under `/_mock/`), so that no handler leaves a body unread. Uploads
/// to `/guestFile` stream, and are left alone.
pub async fn buffer(state: &AppState, req: Request, routes: &Router) -> Response {
    let path = req.uri().path();
    if path == "/guestFile" {
        return answer(routes, req).await;
    }
    let settings = state.settings();
    let limit = if path.starts_with("/_mock/") {
        settings.admin_body_limit
    } else {
        settings.body_limit
    };
    let waits = req
        .headers()
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = req.into_parts();
    // Each wire answers in its own shape: SOAP faults on /sdk, vAPI errors elsewhere.
    let refuse = |fault: Fault| {
        if parts.uri.path().starts_with("/sdk") {
            let record = crate::vapi::extract::record(&parts.extensions);
            crate::soap::answer_fault(record.map(|r| &**r), &fault)
        } else {
            ApiError(fault).into_response()
        }
    };
    if waits && announced.is_some_and(|n| n > limit as u64) {
        return refuse(Fault::BodyTooLarge { limit });
    }
    match read_whole(body, limit, settings.body_timeout, waits).await {
        Ok(bytes) => answer(routes, Request::from_parts(parts, Body::from(bytes))).await,
        Err(fault) => refuse(fault),
    }
}

/// The routes' answer to `req`.
async fn answer(routes: &Router, req: Request) -> Response {
    use tower::ServiceExt as _;
    match routes.clone().oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}
