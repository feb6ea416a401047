//! Serving one HTTP/1 connection under its clock, until it ends, closes or waits too long.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use hyper::body::{Body as HttpBody, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::clock::Clock;
use super::metered::{Answer, Metered, TimedBody};
use super::refusal::{ConnectionError, duration_text};
use super::signed_in::ConnectionHandle;

/// Serves one HTTP/1 connection (and its upgrade to a WebSocket) until it ends, closing it
/// after its current request once `closing` is cancelled, or at once when `clock` says it
/// waited too long for its client.
pub(super) async fn serve_connection(
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
