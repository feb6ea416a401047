//! A real HTTP receiver for notifications: records every request (headers, body, when), and
//! answers as told (a status per request in order, then 200; optionally holding requests
//! without answering).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

#[derive(Default)]
struct Behaviour {
    /// Statuses for the next requests, in order; 200 once used up.
    statuses: Vec<u16>,
    /// Requests to hold without answering, before the statuses apply.
    hold: usize,
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

/// A receiver on a free loopback port.
pub struct Receiver {
    pub url: String,
    shared: Shared,
}

async fn receive(
    State(shared): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    shared.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
        at: Instant::now(),
    });
    let (hold, status) = {
        let mut behaviour = shared.behaviour.lock().unwrap();
        if behaviour.hold > 0 {
            behaviour.hold -= 1;
            (true, 200)
        } else if behaviour.statuses.is_empty() {
            (false, 200)
        } else {
            (false, behaviour.statuses.remove(0))
        }
    };
    if hold {
        tokio::time::sleep(Duration::from_secs(3_600)).await;
    }
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = axum::Router::new()
            .fallback(axum::routing::any(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, shared }
    }

    /// The next requests get these statuses, in order.
    pub fn answer(&self, statuses: &[u16]) {
        self.shared.behaviour.lock().unwrap().statuses = statuses.to_vec();
    }

    /// The next `count` requests are held without an answer.
    pub fn hold(&self, count: usize) {
        self.shared.behaviour.lock().unwrap().hold = count;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived; all of them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} requests, expected {count}: {:?}",
                received.len(),
                received
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.body).into_owned())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
