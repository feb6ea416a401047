//! The live hand-off: telling a live socket's connection by its request line, and the runtime
//! it moves to.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::runtime::{Handle, Runtime};
use tokio::time::Instant;

/// The request line that opens a live socket; what follows the path is a space or a query.
const LIVE_REQUEST_LINE: &[u8] = b"GET /api/v1/live";
/// Longest pause between two peeks at a request line that is arriving in pieces: the bytes
/// stay unread, so the socket reads as ready and only a pause avoids spinning; a client that
/// drips its request line wakes the task at most this often.
const MAX_PEEK_PAUSE: Duration = Duration::from_millis(50);

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

/// Whether the connection's first request asks for a live socket; `None` when its request line
/// did not come by `deadline`. Only peeks: hyper reads the request afterwards, wherever the
/// connection is served.
pub(super) async fn opens_live_socket(tcp: &TcpStream, deadline: Instant) -> Option<bool> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

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
}
