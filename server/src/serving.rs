//! Accepting connections: HTTP on the main runtime, live sockets on a runtime of their own.
//!
//! Thousands of live sockets are thousands of tasks. On the runtime that also serves ingest, an
//! ingest request waited behind all of them at each of its awaits: with 10 000 viewers, 450 ms
//! at p99 from the request to its change notice in Redis, and fewer than half the points sent
//! were taken. A connection whose first request line is `GET /api/v1/live` is therefore moved,
//! before hyper reads a byte of it, to the live runtime: its socket's readiness, its task and
//! the feeds it starts all run there, and the operating system shares the cores between the two
//! runtimes' threads, so an ingest request is served as soon as it arrives.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Handle, Runtime};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The request line that opens a live socket; what follows the path is a space or a query.
const LIVE_REQUEST_LINE: &[u8] = b"GET /api/v1/live";
/// How long a new connection may take to send its request line before it is served on the
/// main runtime anyway (hyper then applies its own limits).
const REQUEST_LINE_PATIENCE: Duration = Duration::from_secs(10);
/// How long to wait after an accept error that is not the peer's (such as too many open files).
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

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
        // Live messages are small and must not wait for Nagle's algorithm to fill a segment.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let (router, closing, live) = (router.clone(), closing.clone(), live.clone());
        let tracked = connections.clone();
        connections.spawn(async move {
            let Some((live, live_router)) = live else {
                return serve_connection(tcp, peer, router, closing).await;
            };
            if !opens_live_socket(&tcp).await {
                return serve_connection(tcp, peer, router, closing).await;
            }
            let router = live_router;
            match tcp.into_std() {
                Ok(tcp) => {
                    live.spawn(tracked.track_future(async move {
                        match TcpStream::from_std(tcp) {
                            Ok(tcp) => serve_connection(tcp, peer, router, closing).await,
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

/// Whether the connection's first request asks for a live socket. Only peeks: hyper reads
/// the request afterwards, wherever the connection is served.
async fn opens_live_socket(tcp: &TcpStream) -> bool {
    let mut start = [0u8; LIVE_REQUEST_LINE.len() + 1];
    let deadline = tokio::time::Instant::now() + REQUEST_LINE_PATIENCE;
    loop {
        let Ok(Ok(read)) = tokio::time::timeout_at(deadline, tcp.peek(&mut start)).await else {
            return false;
        };
        let seen = &start[..read];
        if read == 0
            || !(LIVE_REQUEST_LINE.starts_with(seen) || seen.starts_with(LIVE_REQUEST_LINE))
        {
            return false;
        }
        if read == start.len() {
            return matches!(start[LIVE_REQUEST_LINE.len()], b' ' | b'?');
        }
        // Part of the request line is here; peeking again at once would see the same bytes.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Serves one HTTP/1 connection (and its upgrade to a WebSocket) until it ends, closing it
/// after its current request once `closing` is cancelled.
async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    closing: CancellationToken,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = closing.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
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
    async fn peeked(pieces: &[&[u8]]) -> bool {
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
        let live = opens_live_socket(&server).await;
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
        assert!(peeked(&[b"GET /api/v1/live HTTP/1.1\r\nHost: x\r\n\r\n"]).await);
        assert!(peeked(&[b"GET /api/v1/live?share=abc HTTP/1.1\r\n\r\n"]).await);
        assert!(peeked(&[b"GET /ap", b"i/v1/li", b"ve HTTP/1.1\r\n\r\n"]).await);
        assert!(!peeked(&[b"GET /api/v1/lives HTTP/1.1\r\n\r\n"]).await);
        assert!(!peeked(&[b"POST /api/v1/ingest HTTP/1.1\r\n\r\n"]).await);
        assert!(!peeked(&[b"GET / HTTP/1.1\r\n\r\n"]).await);
    }
}
