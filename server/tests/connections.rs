//! Connections that are slow, silent or too many, against a real livedash and Redis: the
//! header, body and idle timeouts (the live hand-off's peek included), the cap per address on
//! connections that have not signed in, and live sockets whose client stops reading, sends too
//! much, or resumes from a cursor this server never gave out.

mod support;

use std::time::Duration;

use app::live::{ClientMessage, Cursor, LiveQuery, ServerMessage};
use futures::{SinkExt, StreamExt};
use support::{LiveEvent, RedisServer, TestApp, now_ms};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);
/// How much later than its timeout a connection may end: the machine may be busy.
const MARGIN: Duration = Duration::from_secs(3);
/// How much earlier than its timeout a connection may end, as the client measures it (the
/// server's clock starts a little after the client's).
const SLOP: Duration = Duration::from_millis(150);
const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// A livedash with short timeouts; `threads` says whether live sockets get their own runtime
/// (then every connection's request line is peeked before hyper reads it).
async fn start(redis: &RedisServer, live_threads: &str) -> TestApp {
    TestApp::start_with(
        &redis.url(),
        &format!("conn{live_threads}:"),
        &[
            ("LIVEDASH_HEADER_TIMEOUT", "1s"),
            ("LIVEDASH_BODY_TIMEOUT", "2s"),
            ("LIVEDASH_IDLE_TIMEOUT", "3s"),
            ("LIVEDASH_LIVE_THREADS", live_threads),
        ],
    )
    .await
}

/// Reads until the server ends the connection (or `within` passes: `None`); how long after
/// `since` it ended, and what it sent.
async fn ended(
    stream: &mut TcpStream,
    since: Instant,
    within: Duration,
) -> Option<(Duration, String)> {
    let deadline = since + within;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => {
                return Some((
                    since.elapsed(),
                    String::from_utf8_lossy(&received).into_owned(),
                ));
            }
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

/// Asserts that a connection ended `timeout` after `since`, give or take the margins.
async fn assert_closed_at(
    stream: &mut TcpStream,
    since: Instant,
    timeout: Duration,
    what: &str,
) -> String {
    let Some((after, received)) = ended(stream, since, timeout + MARGIN).await else {
        panic!(
            "{what}: still open {:?} after its timeout of {timeout:?}",
            timeout + MARGIN
        );
    };
    assert!(
        after + SLOP >= timeout,
        "{what}: closed after {after:?}, before its timeout of {timeout:?}"
    );
    received
}

/// Sends `bytes` one at a time, `every` apart, until they run out or the server closes.
fn drip(mut writer: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>, every: Duration) {
    tokio::spawn(async move {
        for byte in bytes {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
        // Keep the connection open (and silent) until the server closes it.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(writer);
    });
}

/// Reads one HTTP/1.1 response with a `content-length` from `stream`: its status and body.
async fn response(stream: &mut TcpStream) -> (u16, String) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or_else(|| panic!("no content-length in {head}"));
            if body.len() >= length {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, body[..length].to_owned());
            }
        }
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buffer))
            .await
            .expect("no whole response within 10 s")
            .unwrap();
        assert!(read > 0, "the connection ended mid-response: {text:?}");
        received.extend_from_slice(&buffer[..read]);
    }
}

/// A connection that sends nothing is closed at the header timeout, with or without the live
/// hand-off's peek; and not before.
#[tokio::test]
async fn a_silent_connection_is_closed_at_the_header_timeout() {
    let redis = RedisServer::start();
    for live_threads in ["1", "off"] {
        let app = start(&redis, live_threads).await;
        let connected = Instant::now();
        let mut silent = TcpStream::connect(app.addr).await.unwrap();
        let what = format!("silent connection (LIVEDASH_LIVE_THREADS={live_threads})");
        let received = assert_closed_at(&mut silent, connected, HEADER_TIMEOUT, &what).await;
        assert_eq!(received, "", "{what}");
    }
}

/// Connects and sends `bytes`, `every` apart; asserts that the server closes the connection,
/// without an answer, at the header timeout counted from connecting.
async fn assert_cut_off_at_the_header_timeout(
    addr: std::net::SocketAddr,
    bytes: &[u8],
    every: Duration,
    what: &str,
) {
    let connected = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, writer) = stream.into_split();
    drip(writer, bytes.to_vec(), every);
    let deadline = connected + HEADER_TIMEOUT + MARGIN;
    let mut buffer = [0u8; 1024];
    let closed_after = match tokio::time::timeout_at(deadline, reader.read(&mut buffer)).await {
        Err(_) => panic!(
            "{what}: still open {:?} after connecting",
            HEADER_TIMEOUT + MARGIN
        ),
        Ok(Ok(0) | Err(_)) => connected.elapsed(),
        Ok(Ok(read)) => panic!(
            "{what}: answered {:?}",
            String::from_utf8_lossy(&buffer[..read])
        ),
    };
    assert!(
        closed_after + SLOP >= HEADER_TIMEOUT,
        "{what}: closed after {closed_after:?}, before the header timeout"
    );
}

/// Headers sent a byte at a time are cut off at the header timeout, counted from connecting,
/// however steadily the bytes come: an ordinary request's, and a live socket's (whose request
/// line the hand-off peeks at before hyper reads it).
#[tokio::test]
async fn dripped_headers_are_closed_at_the_header_timeout() {
    let redis = RedisServer::start();
    let app = start(&redis, "1").await;
    let every = Duration::from_millis(200);
    tokio::join!(
        assert_cut_off_at_the_header_timeout(
            app.addr,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            every,
            "dripped headers",
        ),
        assert_cut_off_at_the_header_timeout(
            app.addr,
            b"GET /api/v1/live HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            every,
            "dripped live request",
        ),
    );
}

/// A request line that stops part way through the live socket's path, which the hand-off
/// peeks at before hyper reads anything, is closed at the header timeout.
#[tokio::test]
async fn a_partial_live_request_line_is_closed_at_the_header_timeout() {
    let redis = RedisServer::start();
    let app = start(&redis, "1").await;
    assert_cut_off_at_the_header_timeout(
        app.addr,
        b"GET /api/v1/li",
        Duration::ZERO,
        "partial live request line",
    )
    .await;
}

/// A body dripped after its headers is refused at the body timeout with a 408 that names the
/// limit and its variable, and the connection is closed.
#[tokio::test]
async fn a_dripped_body_is_refused_at_the_body_timeout() {
    let redis = RedisServer::start();
    let app = start(&redis, "1").await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(
            b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n[",
        )
        .await
        .unwrap();
    let headers_sent = Instant::now();
    drip(writer, vec![b' '; 999], Duration::from_millis(200));
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed_after = loop {
        match tokio::time::timeout_at(
            headers_sent + BODY_TIMEOUT + MARGIN,
            reader.read(&mut buffer),
        )
        .await
        {
            Err(_) => panic!(
                "a dripped body: still open {:?} after its headers",
                BODY_TIMEOUT + MARGIN
            ),
            Ok(Ok(0) | Err(_)) => break headers_sent.elapsed(),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    };
    assert!(
        closed_after + SLOP >= BODY_TIMEOUT,
        "closed after {closed_after:?}, before the body timeout"
    );
    let received = String::from_utf8_lossy(&received);
    assert!(received.starts_with("HTTP/1.1 408 "), "{received}");
    let (_, body) = received.split_once("\r\n\r\n").unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("LIVEDASH_BODY_TIMEOUT=2s"), "{message}");
}

/// A kept-alive connection may wait longer than the header timeout for its next request (the
/// header timeout starts with that request's first byte), and is closed at the idle timeout.
#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_at_the_idle_timeout() {
    let redis = RedisServer::start();
    for live_threads in ["1", "off"] {
        let app = start(&redis, live_threads).await;
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        stream.write_all(request).await.unwrap();
        assert_eq!(response(&mut stream).await.0, 200);
        // Idle for longer than the header timeout, then a second request: served.
        tokio::time::sleep(HEADER_TIMEOUT + Duration::from_millis(500)).await;
        stream.write_all(request).await.unwrap();
        assert_eq!(response(&mut stream).await.0, 200);
        let answered = Instant::now();
        let what = format!("idle connection (LIVEDASH_LIVE_THREADS={live_threads})");
        let received = assert_closed_at(&mut stream, answered, IDLE_TIMEOUT, &what).await;
        assert_eq!(received, "", "{what}");
    }
}

/// An answer the client does not read is given up once a write has waited for it for the idle
/// timeout: the connection ends before the whole file was sent.
#[tokio::test]
async fn an_answer_the_client_does_not_read_is_given_up_at_the_idle_timeout() {
    let redis = RedisServer::start();
    let site = tempfile::tempdir().unwrap();
    // Far more than the socket buffers on both sides hold.
    let size = 64 * 1024 * 1024;
    std::fs::write(site.path().join("big.bin"), vec![7u8; size]).unwrap();
    let app = TestApp::start_with(
        &redis.url(),
        "unread:",
        &[
            ("LIVEDASH_IDLE_TIMEOUT", "3s"),
            ("LIVEDASH_SITE_ROOT", site.path().to_str().unwrap()),
        ],
    )
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Not reading, for longer than the idle timeout.
    tokio::time::sleep(IDLE_TIMEOUT + MARGIN).await;
    let since = Instant::now();
    let Some((_, received)) = ended(&mut stream, since, Duration::from_secs(20)).await else {
        panic!("the connection was still open after the idle timeout and then some");
    };
    assert!(
        received.starts_with("HTTP/1.1 200 "),
        "{}",
        &received[..100.min(received.len())]
    );
    assert!(
        received.len() < size,
        "the whole file was sent to a client that did not read"
    );
}

/// Connections that have not signed in are capped per address: the one too many is told why
/// (429, naming the variable) and closed, while a connection that signed in keeps working and
/// does not count; a closed connection frees its place.
#[tokio::test]
async fn connections_that_have_not_signed_in_are_capped_per_address() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "cap:",
        &[
            ("LIVEDASH_AUTH", "on"),
            ("LIVEDASH_ADMIN_TOKEN", ADMIN_TOKEN),
            ("LIVEDASH_CONNECTIONS_PER_ADDRESS", "3"),
            // Long enough that no connection of this test times out.
            ("LIVEDASH_HEADER_TIMEOUT", "60s"),
        ],
    )
    .await;
    let signed_in_request = format!(
        "GET /api/v1/series/names HTTP/1.1\r\nHost: x\r\nAuthorization: Token {ADMIN_TOKEN}\r\n\r\n"
    );
    let mut signed_in = TcpStream::connect(app.addr).await.unwrap();
    signed_in
        .write_all(signed_in_request.as_bytes())
        .await
        .unwrap();
    assert_eq!(response(&mut signed_in).await.0, 200);
    // An anonymous request does not sign its connection in: it still counts.
    let mut anonymous = TcpStream::connect(app.addr).await.unwrap();
    anonymous
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(response(&mut anonymous).await.0, 200);
    let _silent = [
        TcpStream::connect(app.addr).await.unwrap(),
        TcpStream::connect(app.addr).await.unwrap(),
    ];
    // Accepted in order: this is the fourth that has not signed in.
    let connected = Instant::now();
    let mut refused = TcpStream::connect(app.addr).await.unwrap();
    let Some((_, answer)) = ended(&mut refused, connected, Duration::from_secs(5)).await else {
        panic!("the connection over the cap was neither answered nor closed");
    };
    assert!(answer.starts_with("HTTP/1.1 429 "), "{answer}");
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("LIVEDASH_CONNECTIONS_PER_ADDRESS=3"),
        "{message}"
    );
    // The connection that signed in goes on.
    signed_in
        .write_all(signed_in_request.as_bytes())
        .await
        .unwrap();
    assert_eq!(response(&mut signed_in).await.0, 200);
    // A closed connection frees its place.
    drop(anonymous);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = TcpStream::connect(app.addr).await.unwrap();
        next.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut start = [0u8; 12];
        if next.read_exact(&mut start).await.is_ok() && &start == b"HTTP/1.1 200" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed connection's place was not freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A live client that stops reading is closed once a send to it has waited for
/// `LIVEDASH_LIVE_SLOW_CLIENT` (even while its queue has room), counted among the slow clients
/// closed, and finds a close frame saying why when it reads again.
#[tokio::test]
async fn a_live_client_that_stops_reading_is_closed_and_counted() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "stuck:",
        &[
            ("LIVEDASH_LIVE_SLOW_CLIENT", "2s"),
            // The queue never fills: the socket's own wait must notice.
            ("LIVEDASH_LIVE_CLIENT_BUFFER", "100000"),
        ],
    )
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(app.addr).await.unwrap();
    let (mut stuck, _) =
        tokio_tungstenite::client_async(format!("ws://{}/api/v1/live", app.addr), stream)
            .await
            .unwrap();
    let subscribe = serde_json::to_string(&ClientMessage::Subscribe {
        id: 0,
        query: LiveQuery::Latest { selector: None },
        after: None,
    })
    .unwrap();
    stuck.send(Message::Text(subscribe.into())).await.unwrap();
    // Wide batches fill the buffers between the server and the client that does not read.
    let started = Instant::now();
    let writing = {
        let url = app.url("/api/v1/ingest");
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for round in 0.. {
                let batch: Vec<String> = (0..2000)
                    .map(|i| format!(r#"{{"name":"wide","labels":{{"i":"{i}"}},"value":{round}}}"#))
                    .collect();
                let sent = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(format!("[{}]", batch.join(",")))
                    .send()
                    .await;
                assert_eq!(sent.unwrap().status(), 200);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // Filling the buffers takes a moment; then the wait of LIVEDASH_LIVE_SLOW_CLIENT.
    let within = Duration::from_secs(2) + Duration::from_secs(8);
    while app.state.hub.slow_clients_closed() == 0 {
        assert!(
            started.elapsed() < within,
            "the client that stopped reading was not closed as slow within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writing.abort();
    assert_eq!(app.state.hub.slow_clients_closed(), 1);
    // Reading again, it finds the close frame after what was sent before.
    let deadline = Instant::now() + Duration::from_secs(10);
    let closed = loop {
        match tokio::time::timeout_at(deadline, stuck.next()).await {
            Err(_) => panic!("no close frame"),
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                break (u16::from(frame.code), frame.reason.to_string());
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.0, 1013);
    assert!(closed.1.contains("too slow"), "{}", closed.1);
    assert!(
        closed.1.contains("LIVEDASH_LIVE_SLOW_CLIENT"),
        "{}",
        closed.1
    );
}

/// A live message over 64 KiB closes the socket with 1009, naming the limit; one at the limit
/// is read (and answered as unreadable, being no message of the protocol).
#[tokio::test]
async fn an_oversize_live_message_is_closed_with_1009() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut client = app.connect().await;
    client.send_raw(&" ".repeat(64 * 1024)).await;
    match client.next(Duration::from_secs(5)).await {
        Some(LiveEvent::Message(ServerMessage::Error { id: None, message })) => {
            assert!(message.contains("unreadable message"), "{message}");
        }
        other => panic!("expected an unreadable-message error, got {other:?}"),
    }
    client.send_raw(&" ".repeat(64 * 1024 + 1)).await;
    match client.next(Duration::from_secs(5)).await {
        Some(LiveEvent::Closed { code, reason }) => {
            assert_eq!(code, 1009, "{reason}");
            assert!(reason.contains("65536"), "{reason}");
        }
        other => panic!("expected a 1009 close, got {other:?}"),
    }
}

/// A resume cursor later than anything the change log holds gets a fresh snapshot at the
/// server's own position, not a delta that echoes the cursor back.
#[tokio::test]
async fn a_resume_cursor_from_the_future_gets_a_snapshot() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    app.ingest(r#"{"name":"resumed_gauge","value":4}"#).await;
    let future: Cursor = format!("{}-0", now_ms() + 86_400_000).parse().unwrap();
    let mut client = app.connect().await;
    client
        .send(&ClientMessage::Subscribe {
            id: 3,
            query: LiveQuery::Latest { selector: None },
            after: Some(future.clone()),
        })
        .await;
    let at = match client.message().await {
        ServerMessage::Snapshot { id: 3, at, .. } => at,
        other => panic!("expected a snapshot, got {other:?}"),
    };
    assert!(
        !at.covers(&future),
        "the snapshot claims {at}, past the log"
    );
    assert!(
        !Cursor::default().covers(&at),
        "the snapshot is at the log's end"
    );
    // A cursor the log gave out still resumes with a delta from it.
    let mut again = app.connect().await;
    again
        .send(&ClientMessage::Subscribe {
            id: 4,
            query: LiveQuery::Latest { selector: None },
            after: Some(at.clone()),
        })
        .await;
    match again.message().await {
        ServerMessage::Delta { id: 4, from, .. } => assert_eq!(from, at),
        other => panic!("expected a delta from {at}, got {other:?}"),
    }
}
