//! Test harness: a real `redis-server` on a free port, and livedash served on port 0.
//!
//! The Redis binary can be overridden with `LIVEDASH_TEST_REDIS_SERVER`. Nothing here touches
//! a Redis the tests did not start themselves.

#![allow(dead_code)]

pub mod process;
pub mod receiver;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use app::live::{ClientMessage, LiveData, LiveQuery, ServerMessage};
use app::model::CurrentValue;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use server::Livedash;
use server::http::state::AppState;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

// Each test binary compiles this module and uses only part of it.
#[allow(unused_imports)]
pub use app::clock::now_ms;
#[allow(unused_imports)]
pub use app::random::Rng;
#[allow(unused_imports)]
pub use server::testing::{RedisServer, free_port};

/// A livedash served on a free port; stopped on drop.
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub statsd_addr: Option<std::net::SocketAddr>,
    pub state: AppState,
    pub prefix: String,
    stop: CancellationToken,
    served: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    /// Starts livedash on `redis_url` with a key prefix of its own.
    pub async fn start(redis_url: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let prefix = format!("t{}:", NEXT.fetch_add(1, Ordering::Relaxed));
        Self::start_with_prefix(redis_url, &prefix).await
    }

    /// Starts livedash on `redis_url` with the given key prefix (to share data between two).
    pub async fn start_with_prefix(redis_url: &str, prefix: &str) -> Self {
        Self::start_with(redis_url, prefix, &[]).await
    }

    /// Starts livedash with extra configuration variables.
    pub async fn start_with(redis_url: &str, prefix: &str, extra: &[(&str, &str)]) -> Self {
        let mut vars = vec![
            ("REDIS_URL", redis_url.to_owned()),
            ("LIVEDASH_KEY_PREFIX", prefix.to_owned()),
            ("LIVEDASH_ADDR", "127.0.0.1:0".to_owned()),
            ("LIVEDASH_STATSD_ADDR", "off".to_owned()),
        ];
        vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let config = server::testing::config(&vars);
        let livedash = Livedash::start(config).await.unwrap();
        let state = livedash.state().clone();
        let statsd_addr = livedash.statsd_addr();
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let signal = stop.clone().cancelled_owned();
        let served = tokio::spawn(async move {
            livedash.serve(listener, signal).await.unwrap();
        });
        Self {
            addr,
            statsd_addr,
            state,
            prefix: prefix.to_owned(),
            stop,
            served: Some(served),
        }
    }

    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Calls server function `endpoint` with a JSON body; the status and the JSON answer (the
    /// text as a JSON string when it is not JSON).
    pub async fn call_fn(
        &self,
        endpoint: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(self.url(&format!("/api/fn/{endpoint}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let answer = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, answer)
    }

    /// Calls server function `endpoint` and expects success; its answer.
    pub async fn ok_fn(&self, endpoint: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, answer) = self.call_fn(endpoint, body).await;
        assert_eq!(status, 200, "{endpoint}: {answer}");
        answer
    }

    /// POSTs `body` to the JSON ingest endpoint; returns the status and the JSON answer.
    pub async fn ingest(&self, body: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(self.url("/api/v1/ingest"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Opens a live socket without subscribing to anything.
    pub async fn connect(&self) -> LiveClient {
        self.connect_to("/api/v1/live").await
    }

    /// Opens a live WebSocket at `path` (with its query, such as `?share=…`).
    pub async fn connect_to(&self, path: &str) -> LiveClient {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{}{path}", self.addr))
            .await
            .unwrap();
        LiveClient {
            socket,
            pending: std::collections::VecDeque::new(),
        }
    }

    /// Opens a live socket subscribed (as id 0) to the newest value of every series.
    pub async fn live(&self) -> LiveClient {
        let mut client = self.connect().await;
        client
            .send(&ClientMessage::Subscribe {
                id: 0,
                query: LiveQuery::Latest { selector: None },
                after: None,
            })
            .await;
        client
    }

    /// Stops serving and waits until livedash has shut down.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(served) = self.served.take() {
            served.await.unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The admin token livedash is configured with by [`start_with_admin`].
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// Starts livedash with access control on, [`ADMIN_TOKEN`] configured (and stored: it waits
/// until the token works), and `extra`.
pub async fn start_with_admin(
    redis: &RedisServer,
    prefix: &str,
    extra: &[(&str, &str)],
) -> TestApp {
    let mut vars = vec![
        ("LIVEDASH_AUTH", "on"),
        ("LIVEDASH_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    vars.extend_from_slice(extra);
    let app = TestApp::start_with(&redis.url(), prefix, &vars).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin_fn(&app, "tokens", json!({})).await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "the admin token was never stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app
}

/// Calls server function `endpoint` with the admin token (not following redirects): the status
/// and the JSON answer (the text as a JSON string when it is not JSON).
pub async fn admin_fn(app: &TestApp, endpoint: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(&format!("/api/fn/{endpoint}")))
        .header("authorization", format!("Token {ADMIN_TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

/// POSTs `body` as JSON to `path` (without credentials): the status and the JSON answer.
pub async fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

/// POSTs `events` (anything that serialises to a batch) to the events API as a web page's
/// snippet does (`text/plain`), from `user_agent` if given, and asserts that all `count` were
/// accepted.
pub async fn store_events(
    app: &TestApp,
    user_agent: Option<&str>,
    events: &impl serde::Serialize,
    count: usize,
) {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/v1/events"))
        .header("content-type", "text/plain");
    if let Some(user_agent) = user_agent {
        request = request.header("user-agent", user_agent);
    }
    let response = request
        .body(serde_json::to_string(events).unwrap())
        .send()
        .await
        .unwrap();
    let (status, answer) = status_and_json(response).await;
    assert_eq!(
        (status, &answer["accepted"]),
        (200, &json!(count)),
        "{answer}"
    );
}

/// A response's status and JSON body (the text as a JSON string when it is not JSON).
async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Makes a token with `body`'s role, label and scope; the secret.
pub async fn make_token(app: &TestApp, body: Value) -> String {
    let (status, made) = admin_fn(app, "create_token", body).await;
    assert_eq!(status, 200, "{made}");
    made["token"].as_str().unwrap().to_owned()
}

/// A test's end of a live socket.
pub struct LiveClient {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// Messages of a batched frame not handed out yet.
    pending: std::collections::VecDeque<ServerMessage>,
}

/// What a live socket yielded next.
#[derive(Debug)]
pub enum LiveEvent {
    Message(ServerMessage),
    Closed { code: u16, reason: String },
}

impl LiveClient {
    /// Opens a live socket with `request` (headers of its own: a token, a cookie).
    pub async fn from_request(
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Self {
            socket,
            pending: std::collections::VecDeque::new(),
        }
    }

    /// The next protocol message or close, waiting at most `within`.
    pub async fn next(&mut self, within: Duration) -> Option<LiveEvent> {
        if let Some(message) = self.pending.pop_front() {
            return Some(LiveEvent::Message(message));
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    self.pending.extend(app::live::parse_frame(&text).unwrap());
                    if let Some(message) = self.pending.pop_front() {
                        return Some(LiveEvent::Message(message));
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return Some(LiveEvent::Closed {
                        code: frame.as_ref().map_or(1005, |f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    return Some(LiveEvent::Closed {
                        code: 1006,
                        reason: String::new(),
                    });
                }
            }
        }
    }

    /// The messages of the next text frame, waiting at most `within`; `None` on silence or a
    /// close. (Messages of an earlier frame not handed out yet come first, as one frame.)
    pub async fn frame(&mut self, within: Duration) -> Option<Vec<ServerMessage>> {
        if !self.pending.is_empty() {
            return Some(self.pending.drain(..).collect());
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??
            {
                Ok(Message::Text(text)) => return Some(app::live::parse_frame(&text).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The next protocol message; panics on close or silence.
    pub async fn message(&mut self) -> ServerMessage {
        match self.next(Duration::from_secs(5)).await {
            Some(LiveEvent::Message(message)) => message,
            other => panic!("expected a live message, got {other:?}"),
        }
    }

    /// Sends a client message.
    pub async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).unwrap();
        self.socket.send(Message::Text(text.into())).await.unwrap();
    }

    /// Sends a text frame as it is.
    pub async fn send_raw(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_owned().into()))
            .await
            .unwrap();
    }

    /// The values of the next snapshot or delta of a latest display; panics on anything else.
    pub async fn values(&mut self) -> Vec<CurrentValue> {
        match self.message().await {
            ServerMessage::Snapshot {
                data: LiveData::Latest { values, .. },
                ..
            }
            | ServerMessage::Delta {
                data: LiveData::Latest { values, .. },
                ..
            } => values,
            other => panic!("expected latest values, got {other:?}"),
        }
    }

    /// Drops the connection without a close handshake (a network failure, as the server sees it).
    pub fn cut(self) {
        drop(self.socket);
    }

    /// Closes the socket from the client side.
    pub async fn close(mut self) {
        let _ = self.socket.send(Message::Close(None)).await;
    }
}
