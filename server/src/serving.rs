//! Accepting connections: HTTP on the main runtime, live sockets on a runtime of their own,
//! and the timeouts and per-address cap that keep slow or idle clients from holding them.
//!
//! Thousands of live sockets are thousands of tasks. On the runtime that also serves ingest, an
//! ingest request waited behind all of them at each of its awaits: with 10 000 viewers, 450 ms
//! at p99 from the request to its change notice in Redis, and fewer than half the points sent
//! were taken. A connection whose first request line is `GET /api/v1/live` is therefore moved,
//! before hyper reads a byte of it, to the live runtime: its socket's readiness, its task and
//! the feeds it starts all run there, and the operating system shares the cores between the two
//! runtimes' threads, so an ingest request is served as soon as it arrives.
//!
//! Every connection has a [`Clock`]: what it waits for from the client and until when. A
//! request's head must arrive within `LIVEDASH_HEADER_TIMEOUT` of the connection opening (the
//! live hand-off's peek included) or of the first byte of a later request, its body within
//! `LIVEDASH_BODY_TIMEOUT` of its head, and the next request within `LIVEDASH_IDLE_TIMEOUT` of
//! the last answer; an answer the client does not read for `LIVEDASH_IDLE_TIMEOUT` ends the
//! connection too. hyper's own `header_read_timeout` is not used: it starts when hyper begins
//! waiting for a head, which on a kept-alive connection is right after the previous answer, so it
//! cannot tell an idle client from one that drips its headers. Once a connection becomes a live
//! socket, the socket's pings and slow-client rules govern it instead. Until a connection
//! signs in (or becomes a live socket, counted by `LIVEDASH_LIVE_SOCKETS_PER_ADDRESS`), it
//! counts against its address, at most `LIVEDASH_CONNECTIONS_PER_ADDRESS` at once.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, StatusCode, header};
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::config::ConnectionConfig;
use crate::proxy::TrustedProxies;

/// The request line that opens a live socket; what follows the path is a space or a query.
const LIVE_REQUEST_LINE: &[u8] = b"GET /api/v1/live";
/// How long to wait after an accept error that is not the peer's (such as too many open files).
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// How long a request whose body came too late has to be told so before its connection is
/// closed anyway.
const ANSWER_GRACE: Duration = Duration::from_secs(1);
/// Longest pause between two peeks at a request line that is arriving in pieces: the bytes
/// stay unread, so the socket reads as ready and only a pause avoids spinning; a client that
/// drips its request line wakes the task at most this often.
const MAX_PEEK_PAUSE: Duration = Duration::from_millis(50);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a connection or request was refused at the edge, before any handler.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ConnectionError {
    /// The request body did not arrive within the body timeout.
    #[error(
        "the request body did not arrive within {limit} of its headers \
         (LIVEDASH_BODY_TIMEOUT={limit}); send it faster or raise the limit"
    )]
    BodyTimeout { limit: String },
    /// The client's address has too many connections that have not signed in.
    #[error(
        "too many connections from your address that have not signed in: at most {limit} at \
         once (LIVEDASH_CONNECTIONS_PER_ADDRESS={limit}); sign in, or close idle connections"
    )]
    TooManyPending { limit: usize },
}

impl ConnectionError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyPending { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The body of the refusal in the format of the endpoint at `path`: InfluxDB's v2 write API
    /// has its own, every other endpoint answers `{"error": …}`.
    fn body(&self, path: &str) -> String {
        let message = self.to_string();
        let body = if path == "/api/v2/write" {
            serde_json::json!({ "code": "invalid", "message": message })
        } else {
            serde_json::json!({ "error": message })
        };
        body.to_string()
    }

    /// The whole answer, closing the connection.
    fn response(&self, path: &str) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(self.body(path)));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }

    /// The answer as raw HTTP/1.1, for a connection refused before hyper serves it.
    fn raw_response(&self) -> Vec<u8> {
        let body = self.body("");
        let status = self.status();
        format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             retry-after: 1\r\nconnection: close\r\n\r\n{body}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes()
    }
}

/// `30s`, or `1500ms` when not whole seconds.
fn duration_text(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// How connections are limited: the timeouts, and the cap per address before signing in.
#[derive(Clone)]
pub struct ConnectionLimits {
    timeouts: Timeouts,
    admission: Arc<Admission>,
}

impl ConnectionLimits {
    /// The limits of `config`; connections from `trusted` proxies carry many clients, so they
    /// are not counted against the proxy's address (the proxy should limit its own clients).
    #[must_use]
    pub fn new(config: &ConnectionConfig, trusted: TrustedProxies) -> Self {
        let duration = |ms: i64| Duration::from_millis(ms.unsigned_abs());
        Self {
            timeouts: Timeouts {
                header: duration(config.header_timeout_ms),
                body: duration(config.body_timeout_ms),
                idle: duration(config.idle_timeout_ms),
            },
            admission: Arc::new(Admission {
                limit: config.per_address,
                trusted,
                pending: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// How many connections from `address` have not signed in yet.
    #[must_use]
    pub fn pending(&self, address: IpAddr) -> usize {
        self.admission
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&address.to_canonical())
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Clone, Copy, Debug)]
struct Timeouts {
    header: Duration,
    body: Duration,
    idle: Duration,
}

/// Connections per address that have not signed in.
struct Admission {
    limit: Option<usize>,
    trusted: TrustedProxies,
    pending: Mutex<HashMap<IpAddr, usize>>,
}

impl Admission {
    /// Counts one more connection from `address`; `Ok(None)` when such connections are not
    /// counted.
    fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Option<Pending>, ConnectionError> {
        let address = address.to_canonical();
        let Some(limit) = self.limit else {
            return Ok(None);
        };
        if self.trusted.trusts(address) {
            return Ok(None);
        }
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let count = pending.entry(address).or_insert(0);
        if *count >= limit {
            return Err(ConnectionError::TooManyPending { limit });
        }
        *count += 1;
        Ok(Some(Pending {
            admission: self.clone(),
            address,
        }))
    }
}

/// Counts a connection against its address until it signs in, becomes a live socket or ends.
struct Pending {
    admission: Arc<Admission>,
    address: IpAddr,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut pending = self
            .admission
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = pending.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                pending.remove(&self.address);
            }
        }
    }
}

/// What a connection waits for from its client, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    /// The head of a request: since the connection opened, or since the first byte of a later
    /// request arrived.
    Head(Instant),
    /// The next request on a kept-alive connection.
    NextRequest(Instant),
    /// The rest of a request body (the deadline leaves time to answer that it is late).
    Body(Instant),
    /// Nothing: a handler works (a query may take its time) or an answer is being written.
    Handler,
}

#[derive(Clone, Copy, Debug)]
struct Progress {
    waiting: Waiting,
    /// Since when a write has waited for the client to read.
    write_stalled: Option<Instant>,
}

/// Which timeout ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expired {
    Header,
    Idle,
    Body,
    UnreadAnswer,
}

impl Expired {
    fn variable(self) -> &'static str {
        match self {
            Self::Header => "LIVEDASH_HEADER_TIMEOUT",
            Self::Idle | Self::UnreadAnswer => "LIVEDASH_IDLE_TIMEOUT",
            Self::Body => "LIVEDASH_BODY_TIMEOUT",
        }
    }
}

/// One connection's clock. Its reads, its requests' bodies, its answers and its watchdog all
/// run on the connection's task; the state is shared only to be reachable from each.
struct Clock {
    timeouts: Timeouts,
    progress: watch::Sender<Progress>,
    /// Whether the connection waits for the first byte of its next request (checked on every
    /// read, so kept apart from `progress`).
    between_requests: AtomicBool,
    /// Whether a write waits for the client.
    write_stalled: AtomicBool,
    /// Whether the current request's body came too late.
    body_late: AtomicBool,
    pending: Mutex<Option<Pending>>,
}

impl Clock {
    fn new(timeouts: Timeouts, accepted: Instant, pending: Option<Pending>) -> Arc<Self> {
        Arc::new(Self {
            timeouts,
            progress: watch::Sender::new(Progress {
                waiting: Waiting::Head(accepted + timeouts.header),
                write_stalled: None,
            }),
            between_requests: AtomicBool::new(false),
            write_stalled: AtomicBool::new(false),
            body_late: AtomicBool::new(false),
            pending: Mutex::new(pending),
        })
    }

    /// When the head of the current request is due.
    fn head_deadline(&self) -> Instant {
        match self.progress.borrow().waiting {
            Waiting::Head(deadline) => deadline,
            _ => Instant::now() + self.timeouts.header,
        }
    }

    fn wait_for(&self, waiting: Waiting) {
        self.progress.send_if_modified(|progress| {
            let changed = progress.waiting != waiting;
            progress.waiting = waiting;
            changed
        });
    }

    /// Bytes arrived: the first of a later request starts its header timeout.
    fn bytes_read(&self) {
        if self.between_requests.swap(false, Ordering::Relaxed) {
            self.wait_for(Waiting::Head(Instant::now() + self.timeouts.header));
        }
    }

    /// A request's head was read; its body, if it has one, is due within the body timeout.
    fn head_read(&self, has_body: bool) {
        self.between_requests.store(false, Ordering::Relaxed);
        self.body_late.store(false, Ordering::Relaxed);
        self.wait_for(if has_body {
            Waiting::Body(Instant::now() + self.timeouts.body + ANSWER_GRACE)
        } else {
            Waiting::Handler
        });
    }

    fn body_read(&self) {
        self.progress.send_if_modified(|progress| {
            let reading = matches!(progress.waiting, Waiting::Body(_));
            if reading {
                progress.waiting = Waiting::Handler;
            }
            reading
        });
    }

    /// An answer was written (or given up): the connection waits for the next request.
    fn answered(&self) {
        self.between_requests.store(true, Ordering::Relaxed);
        self.wait_for(Waiting::NextRequest(Instant::now() + self.timeouts.idle));
    }

    fn write_blocked(&self) {
        if !self.write_stalled.swap(true, Ordering::Relaxed) {
            let now = Instant::now();
            self.progress
                .send_modify(|progress| progress.write_stalled = Some(now));
        }
    }

    fn write_went_through(&self) {
        if self.write_stalled.swap(false, Ordering::Relaxed) {
            self.progress
                .send_modify(|progress| progress.write_stalled = None);
        }
    }

    /// The connection no longer counts against its address.
    fn admitted(&self) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// The first deadline of `progress`, and what it is for.
    fn deadline(&self, progress: &Progress) -> Option<(Instant, Expired)> {
        let waiting = match progress.waiting {
            Waiting::Head(at) => Some((at, Expired::Header)),
            Waiting::NextRequest(at) => Some((at, Expired::Idle)),
            Waiting::Body(at) => Some((at, Expired::Body)),
            Waiting::Handler => None,
        };
        let unread = progress
            .write_stalled
            .map(|since| (since + self.timeouts.idle, Expired::UnreadAnswer));
        match (waiting, unread) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Resolves when the connection has waited past a deadline.
    async fn expired(&self) -> Expired {
        let mut progress = self.progress.subscribe();
        loop {
            let deadline = self.deadline(&progress.borrow_and_update());
            tokio::select! {
                () = sleep_until(deadline.map(|(at, _)| at)) => {
                    if let Some((_, expired)) = deadline {
                        return expired;
                    }
                }
                changed = progress.changed() => {
                    if changed.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A connection's socket, telling its [`Clock`] about reads and stalled writes.
struct Metered {
    tcp: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Metered {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.bytes_read();
        }
        read
    }
}

impl Metered {
    fn note_write<T>(&self, written: Poll<T>) -> Poll<T> {
        match written {
            Poll::Pending => self.clock.write_blocked(),
            Poll::Ready(_) => self.clock.write_went_through(),
        }
        written
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.note_write(written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.note_write(written)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// A request body that fails once its deadline passes, so that the handler stops waiting and
/// the client is told why.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    clock: Arc<Clock>,
    ended: bool,
}

impl TimedBody {
    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.clock.body_read();
        }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                self.end();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if self.inner.is_end_stream() {
                    self.end();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Pending => {
                if self.deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.clock.body_late.store(true, Ordering::Relaxed);
                self.ended = true;
                let limit = duration_text(self.clock.timeouts.body);
                Poll::Ready(Some(Err(ConnectionError::BodyTimeout { limit }.into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body; once written (or given up), the connection waits for its next request.
struct Answer {
    inner: axum::body::Body,
    clock: Arc<Clock>,
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.clock.answered();
    }
}

impl HttpBody for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Put in every request's extensions, so that [`admit_signed_in`] can stop counting the
/// connection against its address.
#[derive(Clone)]
pub struct ConnectionHandle(Arc<Clock>);

/// Middleware, inside the authentication layer: a request let through with a credential (or
/// with access control off) takes its connection out of the per-address count.
pub async fn admit_signed_in(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.extensions().get::<app::auth::Principal>().is_some()
        && let Some(ConnectionHandle(clock)) = request.extensions().get()
    {
        clock.admitted();
    }
    next.run(request).await
}

/// The runtime live sockets run on. Dropping it stops whatever still runs there.
pub struct LiveRuntime {
    runtime: Option<Runtime>,
}

impl LiveRuntime {
    /// Starts a runtime of `threads` worker threads.
    ///
    /// # Errors
    /// The threads could not be started.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("livedash-live")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    /// Where live connections are spawned.
    ///
    /// # Panics
    /// Never: the runtime is only taken when this is dropped.
    pub fn handle(&self) -> Handle {
        self.runtime
            .as_ref()
            .map(|runtime| runtime.handle().clone())
            .expect("the live runtime runs until dropped")
    }
}

impl Drop for LiveRuntime {
    fn drop(&mut self) {
        // May run inside the main runtime, where a blocking shutdown is not allowed.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Serves `router` on `listener` until `closing` is cancelled, then lets every connection
/// finish its request and waits for them. Connections that open a live socket are served on
/// `live`'s runtime by its router when given. Accept errors are logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    live: Option<(Handle, Router)>,
    limits: ConnectionLimits,
    closing: CancellationToken,
) {
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = closing.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                tracing::error!(%error, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let accepted_at = Instant::now();
        let pending = match limits.admission.admit(peer.ip()) {
            Ok(pending) => pending,
            Err(refused) => {
                tracing::debug!(%peer, %refused, "connection refused");
                refuse(&tcp, &refused);
                continue;
            }
        };
        // Live messages are small and must not wait for Nagle's algorithm to fill a segment.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let clock = Clock::new(limits.timeouts, accepted_at, pending);
        let (router, closing, live) = (router.clone(), closing.clone(), live.clone());
        let tracked = connections.clone();
        connections.spawn(async move {
            let Some((live, live_router)) = live else {
                return serve_connection(tcp, peer, router, closing, clock).await;
            };
            match opens_live_socket(&tcp, clock.head_deadline()).await {
                None => {
                    tracing::debug!(
                        %peer,
                        "closing a connection: no request line within LIVEDASH_HEADER_TIMEOUT"
                    );
                    return;
                }
                Some(false) => return serve_connection(tcp, peer, router, closing, clock).await,
                Some(true) => {}
            }
            let router = live_router;
            match tcp.into_std() {
                Ok(tcp) => {
                    live.spawn(tracked.track_future(async move {
                        match TcpStream::from_std(tcp) {
                            Ok(tcp) => serve_connection(tcp, peer, router, closing, clock).await,
                            Err(error) => tracing::debug!(%error, "moving a live socket failed"),
                        }
                    }));
                }
                Err(error) => tracing::debug!(%error, "moving a live socket failed"),
            }
        });
    }
    connections.close();
    connections.wait().await;
}

/// Tells a connection over its address's cap why, if its socket takes the answer at once, and
/// closes it: waiting on it would hold the very descriptor the cap protects.
fn refuse(tcp: &TcpStream, refused: &ConnectionError) {
    // What the client already sent is read first, so that closing sends a FIN after the
    // answer rather than a reset that could discard it.
    let mut request = [0u8; 4096];
    let _ = tcp.try_read(&mut request);
    let _ = tcp.try_write(&refused.raw_response());
}

/// Whether the connection's first request asks for a live socket; `None` when its request line
/// did not come by `deadline`. Only peeks: hyper reads the request afterwards, wherever the
/// connection is served.
async fn opens_live_socket(tcp: &TcpStream, deadline: Instant) -> Option<bool> {
    let mut start = [0u8; LIVE_REQUEST_LINE.len() + 1];
    let mut pause = Duration::from_millis(2);
    loop {
        let read = match tokio::time::timeout_at(deadline, tcp.peek(&mut start)).await {
            Err(_) => return None,
            Ok(Err(_)) => return Some(false),
            Ok(Ok(read)) => read,
        };
        let seen = &start[..read];
        if read == 0
            || !(LIVE_REQUEST_LINE.starts_with(seen) || seen.starts_with(LIVE_REQUEST_LINE))
        {
            return Some(false);
        }
        if read == start.len() {
            return Some(matches!(start[LIVE_REQUEST_LINE.len()], b' ' | b'?'));
        }
        // Part of the request line is here; peeking again at once would see the same bytes.
        if tokio::time::timeout_at(deadline, tokio::time::sleep(pause))
            .await
            .is_err()
        {
            return None;
        }
        pause = (pause * 2).min(MAX_PEEK_PAUSE);
    }
}

/// Serves one HTTP/1 connection (and its upgrade to a WebSocket) until it ends, closing it
/// after its current request once `closing` is cancelled, or at once when `clock` says it
/// waited too long for its client.
async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    closing: CancellationToken,
    clock: Arc<Clock>,
) {
    let io = TokioIo::new(Metered {
        tcp,
        clock: clock.clone(),
    });
    let service_clock = clock.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let clock = service_clock.clone();
        let has_body = !request.body().is_end_stream();
        clock.head_read(has_body);
        let path = request.uri().path().to_owned();
        request.extensions_mut().insert(ConnectInfo(peer));
        request
            .extensions_mut()
            .insert(ConnectionHandle(clock.clone()));
        let request = request.map(|body| {
            if has_body {
                axum::body::Body::new(TimedBody {
                    inner: body,
                    deadline: Box::pin(tokio::time::sleep(clock.timeouts.body)),
                    clock: clock.clone(),
                    ended: false,
                })
            } else {
                axum::body::Body::new(body)
            }
        });
        let answer = router.clone().oneshot(request);
        async move {
            let Ok(mut response) = answer.await;
            if clock.body_late.load(Ordering::Relaxed) {
                let limit = duration_text(clock.timeouts.body);
                response = ConnectionError::BodyTimeout { limit }.response(&path);
            }
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                // A live socket: counted by LIVEDASH_LIVE_SOCKETS_PER_ADDRESS from now on.
                clock.admitted();
            }
            Ok::<_, std::convert::Infallible>(response.map(|inner| Answer { inner, clock }))
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades();
    let expired = clock.expired();
    tokio::pin!(connection, expired);
    let mut shutting_down = false;
    let result = loop {
        tokio::select! {
            result = connection.as_mut() => break result,
            () = closing.cancelled(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
            expired = &mut expired => {
                tracing::debug!(
                    %peer,
                    ?expired,
                    variable = expired.variable(),
                    "closing a connection: the client took too long"
                );
                return;
            }
        }
    };
    if let Err(error) = result {
        tracing::trace!(%error, "serving a connection failed");
    }
}

/// Errors that concern one connection only (the peer went away during the handshake).
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// What a client sends first, in pieces, and what the server peeked from it.
    async fn peeked(pieces: &[&[u8]]) -> Option<bool> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let sent = pieces.concat();
        let pieces: Vec<Vec<u8>> = pieces.iter().map(|piece| piece.to_vec()).collect();
        let writing = tokio::spawn(async move {
            for piece in pieces {
                client.write_all(&piece).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            client
        });
        let live = opens_live_socket(&server, Instant::now() + Duration::from_secs(5)).await;
        let _client = writing.await.unwrap();
        // Only peeked: the whole request is still there for hyper.
        let mut unread = vec![0u8; sent.len()];
        let mut seen = 0;
        while seen < sent.len() {
            seen = server.peek(&mut unread).await.unwrap();
        }
        assert_eq!(unread, sent);
        live
    }

    #[tokio::test]
    async fn live_requests_are_told_apart_by_their_first_line() {
        assert_eq!(
            peeked(&[b"GET /api/v1/live HTTP/1.1\r\nHost: x\r\n\r\n"]).await,
            Some(true)
        );
        assert_eq!(
            peeked(&[b"GET /api/v1/live?share=abc HTTP/1.1\r\n\r\n"]).await,
            Some(true)
        );
        assert_eq!(
            peeked(&[b"GET /ap", b"i/v1/li", b"ve HTTP/1.1\r\n\r\n"]).await,
            Some(true)
        );
        assert_eq!(
            peeked(&[b"GET /api/v1/lives HTTP/1.1\r\n\r\n"]).await,
            Some(false)
        );
        assert_eq!(
            peeked(&[b"POST /api/v1/ingest HTTP/1.1\r\n\r\n"]).await,
            Some(false)
        );
        assert_eq!(peeked(&[b"GET / HTTP/1.1\r\n\r\n"]).await, Some(false));
    }

    /// A request line that stops part way is given up at the deadline.
    #[tokio::test]
    async fn a_partial_request_line_is_given_up_at_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.write_all(b"GET /api/v").await.unwrap();
        let started = Instant::now();
        let deadline = started + Duration::from_millis(300);
        assert_eq!(opens_live_socket(&server, deadline).await, None);
        assert!(Instant::now() >= deadline);
    }

    /// Refusals name their limit and its variable, in the endpoint's format.
    #[test]
    fn refusals_name_the_limit_and_its_variable() {
        let late = ConnectionError::BodyTimeout {
            limit: duration_text(Duration::from_millis(1500)),
        };
        let body: serde_json::Value = serde_json::from_str(&late.body("/api/v1/ingest")).unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains("LIVEDASH_BODY_TIMEOUT=1500ms"),
            "{message}"
        );
        let body: serde_json::Value = serde_json::from_str(&late.body("/api/v2/write")).unwrap();
        assert_eq!(body["code"], "invalid");
        assert!(body["message"].as_str().unwrap().contains("1500ms"));
        let raw =
            String::from_utf8(ConnectionError::TooManyPending { limit: 3 }.raw_response()).unwrap();
        assert!(
            raw.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{raw}"
        );
        let (_, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(
            raw.contains(&format!("content-length: {}\r\n", body.len())),
            "{raw}"
        );
        assert!(
            body.contains("LIVEDASH_CONNECTIONS_PER_ADDRESS=3"),
            "{body}"
        );
    }
}
