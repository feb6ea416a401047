//! A throwaway `redis-server` for integration tests and benchmarks: a free port, no
//! persistence unless asked for, stopped on drop. The binary can be overridden with `LIVEDASH_TEST_REDIS_SERVER`.
//! Nothing here touches a Redis it did not start itself.

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Configuration read from `vars` alone, not the environment (a later entry overrides an earlier
/// one), as tests and benchmarks set it; livedash's own metrics, access control and its limits
/// are off unless `vars` turn them on.
///
/// # Panics
/// A variable is unusable.
#[must_use]
pub fn config(vars: &[(&str, String)]) -> crate::config::Config {
    crate::config::Config::from_lookup(|name| {
        vars.iter()
            .rev()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
            // Tests see only the series they write, unless they ask for livedash's own; access
            // control and limits are tested on their own (tests/access.rs), so others run
            // without them.
            .or_else(|| {
                matches!(
                    name,
                    "LIVEDASH_SELF_METRICS"
                        | "LIVEDASH_AUTH"
                        | "LIVEDASH_RATE_LIMIT"
                        | "LIVEDASH_AUTH_FAILURE_LIMIT"
                        | "LIVEDASH_LIVE_SOCKETS_PER_ADDRESS"
                )
                .then(|| "off".to_owned())
            })
    })
    .expect("a valid test configuration")
}

/// A port nobody listens on right now.
///
/// # Panics
/// The machine has no free port.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// A throwaway `redis-server`, stopped on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    /// Append-only file on, fsynced before each reply: a kill loses nothing acknowledged.
    durable: bool,
}

impl RedisServer {
    /// Starts one on a free port (no persistence) and waits until it answers.
    ///
    /// Tests run in parallel, so the port may be taken between the probe and Redis binding
    /// it: a server that exits early is started again on another port, and a server that
    /// answers with another process id is never mistaken for this one.
    ///
    /// # Panics
    /// `redis-server` is missing or does not answer within 10 s.
    #[must_use]
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// As [`RedisServer::start`], with the append-only file on and fsynced before every reply,
    /// so that killing it loses nothing it acknowledged (for fault tests).
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    #[must_use]
    pub fn start_durable() -> Self {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for _ in 0..5 {
            let port = free_port();
            let mut child = Self::spawn(port, dir.path(), durable);
            if wait_ready(&mut child, port) {
                return Self {
                    child,
                    port,
                    dir,
                    durable,
                };
            }
            let _ = child.wait();
        }
        panic!("redis-server exited at start five times (see its redis.log)");
    }

    fn spawn(port: u16, dir: &std::path::Path, durable: bool) -> Child {
        let binary =
            std::env::var("LIVEDASH_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let persistence: &[&str] = if durable {
            &["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            &["--appendonly", "no"]
        };
        Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--daemonize", "no"])
            .args(persistence)
            .arg("--dir")
            .arg(dir)
            .args(["--logfile", "redis.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the integration tests")
    }

    /// Its URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A synchronous connection for inspecting what livedash stored.
    ///
    /// # Panics
    /// It does not answer.
    #[must_use]
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// Kills it (SIGKILL, no goodbye) and starts it again on the same port: empty, unless it
    /// is durable.
    ///
    /// # Panics
    /// It cannot be killed or restarted.
    pub fn restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// Kills it (SIGKILL, no goodbye); [`RedisServer::start_again`] brings it back.
    ///
    /// # Panics
    /// It cannot be killed.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts it again on its port (with its data, if durable) after [`RedisServer::kill`],
    /// and waits until it answers (a durable one may still be loading its data).
    ///
    /// # Panics
    /// It cannot bind its port again.
    pub fn start_again(&mut self) {
        self.child = Self::spawn(self.port, self.dir.path(), self.durable);
        assert!(
            wait_ready(&mut self.child, self.port),
            "redis-server could not bind port {} again",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True once this child answers; false if it exited (its port was taken).
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child
            .try_wait()
            .expect("waiting for redis-server")
            .is_some()
        {
            return false;
        }
        if let Ok(mut connection) = client.get_connection()
            && let Ok(info) = redis::cmd("INFO")
                .arg("server")
                .query::<String>(&mut connection)
            && info
                .lines()
                .any(|line| line == format!("process_id:{}", child.id()))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server on port {} did not start", port);
}
