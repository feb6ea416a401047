//! Email contact points against a real SMTP server (aiosmtpd, from the test tools' Python
//! environment; `server/tests/support/smtp_sink.py` prints each message as Python's email
//! parser reads it): a rule that fires and resolves sends one email each, to every address,
//! from the configured sender, with the same Message-ID on a resend; the test button sends
//! one; a relay that refuses a mailbox makes a dead letter carrying its reply; an address that
//! is not one, or email without a relay, is refused with the field named.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{RedisServer, TestApp, free_port, now_ms, post_json as post};

/// The Python environment `make test-tools` prepares (aiosmtpd among its packages).
const PYTHON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../target/clients-venv/bin/python"
);
const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");

/// An SMTP server on a free port; the messages it received, as JSON. Killed on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    messages: mpsc::Receiver<Value>,
}

impl SmtpSink {
    fn start() -> Self {
        let port = free_port();
        let mut child = Command::new(PYTHON)
            .arg(SINK)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("{PYTHON}: {error} (make test-tools prepares it, with aiosmtpd)")
            });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok);
        assert_eq!(
            first.as_deref(),
            Some("ready"),
            "the SMTP sink did not start"
        );
        let (sender, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let message = serde_json::from_str(&line).expect("the sink prints JSON");
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            port,
            messages,
        }
    }

    /// The next message, within `within`.
    fn next(&self, within: Duration) -> Value {
        self.messages
            .recv_timeout(within)
            .expect("an email within the time allowed")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn write(app: &TestApp, host: &str, value: f64) {
    let body =
        json!({"name": "disk_used", "labels": {"host": host}, "value": value, "ts": now_ms()});
    let (status, answer) = app.ingest(&body.to_string()).await;
    assert_eq!(status, 200, "{answer}");
}

fn rule(contact: &str) -> Value {
    json!({
        "name": "disk full",
        "source": {
            "kind": "metric",
            "selector": "disk_used",
            "aggregation": {"fn": "last"},
            "window_ms": 60_000,
            "group_by": ["host"],
        },
        "condition": {"op": "above", "critical": {"raise": 90}},
        "summary": "{{ $labels.host }} disk at {{ $value }}%",
        "contact_points": [contact],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn email_notifications_reach_a_real_smtp_server() {
    let sink = SmtpSink::start();
    let redis = RedisServer::start();
    let relay = format!("smtp://127.0.0.1:{}", sink.port);
    let app = TestApp::start_with(
        &redis.url(),
        "mail1:",
        &[
            ("LIVEDASH_SMTP_URL", relay.as_str()),
            ("LIVEDASH_SMTP_FROM", "livedash alerts <alerts@example.com>"),
            ("LIVEDASH_PUBLIC_URL", "https://livedash.example"),
        ],
    )
    .await;
    let (status, contact) = post(
        &app,
        "/api/v1/alerts/contact-points",
        &json!({"name": "mail", "kind": "email", "to": ["ops@example.com", "oncall@example.com"]}),
    )
    .await;
    assert_eq!(status, 201, "{contact}");
    assert_eq!(
        contact["to"],
        json!(["ops@example.com", "oncall@example.com"])
    );
    let (status, answer) = post(
        &app,
        "/api/v1/alerts/contact-points",
        &json!({"name": "bad", "kind": "email", "to": ["not an address"]}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("to: \"not an address\""),
        "{answer}"
    );

    // The test button.
    let (status, tested) = post(&app, "/api/v1/alerts/contact-points/mail/test", &json!({})).await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["delivered"], true, "{tested}");
    let test = sink.next(Duration::from_secs(10));
    assert!(
        test["subject"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING:warning] livedash test notification"),
        "{test}"
    );

    let (status, stored) = post(&app, "/api/v1/alerts/rules", &rule("mail")).await;
    assert_eq!(status, 201, "{stored}");
    write(&app, "db-1", 42.0).await;
    write(&app, "db-1", 97.0).await;
    let firing = sink.next(Duration::from_secs(10));
    assert_eq!(firing["subject"], "[FIRING:critical] disk full (host=db-1)");
    assert_eq!(firing["mail_from"], "alerts@example.com");
    assert_eq!(firing["from"], "livedash alerts <alerts@example.com>");
    assert_eq!(
        firing["rcpt_tos"],
        json!(["ops@example.com", "oncall@example.com"])
    );
    assert_eq!(firing["to"], "ops@example.com, oncall@example.com");
    let body = firing["body"].as_str().unwrap();
    assert!(body.starts_with("db-1 disk at 97%"), "{body}");
    assert!(body.contains("Value: 97"), "{body}");
    assert!(
        body.contains("Rule: https://livedash.example/alerts?rule="),
        "{body}"
    );
    let message_id = firing["message_id"].as_str().unwrap();
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@livedash>"),
        "{message_id}"
    );

    write(&app, "db-1", 40.0).await;
    let resolved = sink.next(Duration::from_secs(10));
    assert_eq!(resolved["subject"], "[RESOLVED] disk full (host=db-1)");
    assert_ne!(resolved["message_id"], firing["message_id"]);
    assert!(
        resolved["body"].as_str().unwrap().contains("Resolved: "),
        "{resolved}"
    );
    // One email per transition: nothing else arrives.
    assert!(
        sink.messages.recv_timeout(Duration::from_secs(1)).is_err(),
        "an email too many"
    );

    // A mailbox the relay refuses: a dead letter with the relay's reply, at once.
    let (status, contact) = post(
        &app,
        "/api/v1/alerts/contact-points",
        &json!({"name": "nobody", "kind": "email", "to": ["gone@refused.example"]}),
    )
    .await;
    assert_eq!(status, 201, "{contact}");
    let (status, stored) = post(&app, "/api/v1/alerts/rules", &rule("nobody")).await;
    assert_eq!(status, 201, "{stored}");
    write(&app, "db-2", 99.0).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let letter = loop {
        let letters: Value = reqwest::get(app.url("/api/v1/alerts/dead-letters"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(letter) = letters
            .as_array()
            .unwrap()
            .iter()
            .find(|letter| letter["contact_point"] == "nobody")
        {
            break letter.clone();
        }
        assert!(Instant::now() < deadline, "no dead letter: {letters}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let error = letter["error"].as_str().unwrap();
    assert!(
        error.contains("refused") && error.contains("550"),
        "{error}"
    );
    // The other rule's contact point still gets db-2's firing.
    let other = sink.next(Duration::from_secs(10));
    assert_eq!(other["subject"], "[FIRING:critical] disk full (host=db-2)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_needs_a_relay_and_a_usable_relay_address() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(&redis.url(), "mail2:", &[]).await;
    let (status, answer) = post(
        &app,
        "/api/v1/alerts/contact-points",
        &json!({"name": "mail", "kind": "email", "to": ["ops@example.com"]}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let text = answer.to_string();
    assert!(
        text.contains("kind: ") && text.contains("LIVEDASH_SMTP_URL"),
        "{text}"
    );
}
