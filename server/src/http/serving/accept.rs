//! Accepting connections: admitting each against its address, and handing live sockets to
//! their own runtime.

use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::clock::Clock;
use super::connection::serve_connection;
use super::limits::ConnectionLimits;
use super::live::opens_live_socket;
use super::refusal::ConnectionError;

/// How long to wait after an accept error that is not the peer's (such as too many open files).
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

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

/// Errors that concern one connection only (the peer went away during the handshake).
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
