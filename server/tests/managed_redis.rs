//! The managed Redis, through the real `livedash` binary: with no `REDIS_URL` it starts its
//! own `redis-server`, keeps data across a SIGTERM restart, and revives a Redis that dies.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A `livedash` process with a managed Redis on `data_dir`.
struct Process {
    child: Child,
    port: u16,
}

impl Process {
    /// Starts livedash on port 0 (so no other test can take its port first) and learns the
    /// port from the line it logs once it serves.
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_livedash"))
            .env_remove("REDIS_URL")
            .env("LIVEDASH_DATA_DIR", data_dir)
            .env("LIVEDASH_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("LIVEDASH_STATSD_ADDR", "off")
            // The managed Redis is tested here; access control in tests/access.rs.
            .env("LIVEDASH_AUTH", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (port_tx, port_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let serving = regex::Regex::new(r"serving on http://127\.0\.0\.1:(\d+)").unwrap();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Shown by the test runner only when the test fails.
                println!("livedash: {line}");
                if let Some(port) = serving.captures(&line).and_then(|c| c[1].parse().ok()) {
                    let _ = port_tx.send(port);
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Ok(port) = port_rx.recv_timeout(Duration::from_millis(100)) {
                break port;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("livedash exited before serving: {status}");
            }
            assert!(Instant::now() < deadline, "livedash did not start serving");
        };
        let process = Self { child, port };
        process.wait_ready(Duration::from_secs(30));
        process
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok((200, _)) = request("GET", &self.url("/readyz"), "") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("livedash on port {} did not become ready", self.port);
    }

    /// SIGTERM, then wait for a clean exit.
    fn terminate(mut self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "livedash exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "livedash did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One blocking HTTP request, so these tests need no async runtime around child processes.
fn request(method: &str, url: &str, body: &str) -> Result<(u16, String), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .request(method.parse().unwrap(), url)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.map_err(|e| e.to_string())?))
    })
}

fn managed_redis_pid(data_dir: &Path) -> Option<i32> {
    std::fs::read_to_string(data_dir.join("redis.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| stat.contains(") Z "))
            .unwrap_or(true)
}

/// A point written before a SIGTERM is there after livedash starts again on the same data,
/// and the managed Redis does not outlive livedash.
#[test]
fn managed_redis_keeps_data_across_restarts() {
    let data = tempfile::tempdir().unwrap();
    let first = Process::start(data.path());
    let (status, answer) = request(
        "POST",
        &first.url("/api/v1/ingest"),
        r#"[{"name":"persisted_gauge","labels":{"host":"a"},"value":314.25}]"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    let redis_pid = managed_redis_pid(data.path()).expect("the managed Redis writes a pid file");
    assert!(alive(redis_pid));
    first.terminate();
    assert!(
        !alive(redis_pid),
        "the managed redis-server outlived livedash"
    );
    assert!(data.path().join("appendonlydir").is_dir(), "the AOF is on");

    let second = Process::start(data.path());
    let (status, page) = request("GET", &second.url("/"), "").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("persisted_gauge"), "{page}");
    assert!(page.contains("314.25"), "{page}");
    second.terminate();
}

/// A managed Redis that dies is restarted, with its data.
#[test]
fn a_managed_redis_that_dies_is_restarted() {
    let data = tempfile::tempdir().unwrap();
    let process = Process::start(data.path());
    let (status, _) = request(
        "POST",
        &process.url("/api/v1/ingest"),
        r#"{"name":"survivor","value":1}"#,
    )
    .unwrap();
    assert_eq!(status, 200);
    // appendfsync everysec: give the AOF its second before pulling the plug.
    std::thread::sleep(Duration::from_millis(1500));
    let first_pid = managed_redis_pid(data.path()).unwrap();
    kill(Pid::from_raw(first_pid), Signal::SIGKILL).unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let restarted = managed_redis_pid(data.path()).filter(|pid| *pid != first_pid);
        if restarted.is_some_and(alive) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the managed Redis was not restarted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    process.wait_ready(Duration::from_secs(30));
    let (status, page) = request("GET", &process.url("/"), "").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("survivor"), "{page}");
    process.terminate();
}
