//! The real `livedash` binary as a child process, for tests of what only a whole process
//! shows: the managed Redis, start-up, and faults.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A `livedash` process with a managed Redis on `data_dir`; killed on drop.
pub struct Process {
    child: Child,
    pub port: u16,
    output: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts livedash on port 0 (so no other test can take its port first) and learns the
    /// port from the line it logs once it serves. Blocking: call it outside an async runtime
    /// (or in `spawn_blocking`).
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[], None)
    }

    /// As [`Process::start`], with more environment variables (later ones win) and, with
    /// `address_space`, under that limit of virtual memory in bytes (`prlimit --as`), so that
    /// a runaway allocation aborts livedash instead of exhausting the machine.
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)], address_space: Option<u64>) -> Self {
        // LIVEDASH_TEST_BIN runs these tests against another build (an older commit's, to see
        // that a test fails without its fix).
        let binary = std::env::var("LIVEDASH_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_livedash").into());
        let mut command = match address_space {
            Some(bytes) => {
                let mut command = Command::new("prlimit");
                command.arg(format!("--as={bytes}")).arg("--").arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        command
            .env_remove("REDIS_URL")
            .env("LIVEDASH_DATA_DIR", data_dir)
            .env("LIVEDASH_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("LIVEDASH_STATSD_ADDR", "off")
            // The managed Redis and faults are tested here; access control in tests/access.rs.
            .env("LIVEDASH_AUTH", "off")
            .env("LIVEDASH_RATE_LIMIT", "off")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        collect(child.stdout.take().unwrap(), &output, Some(port_tx));
        collect(child.stderr.take().unwrap(), &output, None);
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
        let process = Self {
            child,
            port,
            output,
        };
        process.wait_ready(Duration::from_secs(30));
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The process's resident memory in bytes (`VmRSS`).
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib * 1024
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits until `/readyz` answers 200. Blocking.
    pub fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok((200, _)) = request("GET", &self.url("/readyz"), "") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("livedash on port {} did not become ready", self.port);
    }

    /// Every line the process wrote so far (standard output and error).
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    /// SIGKILL: the process dies at once, in the middle of whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) {
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
    /// Asks livedash to stop first, so that it stops its managed Redis (a `SIGKILL` would leave
    /// that `redis-server` running); kills it only if it does not stop.
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps the lines of `stream` (echoed, so the test runner shows them when a test fails), and
/// sends the port of the "serving on" line to `port`.
fn collect(
    stream: impl Read + Send + 'static,
    output: &Arc<Mutex<Vec<String>>>,
    port: Option<mpsc::Sender<u16>>,
) {
    let output = Arc::clone(output);
    std::thread::spawn(move || {
        let serving = regex::Regex::new(r"serving on http://127\.0\.0\.1:(\d+)").unwrap();
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            println!("livedash: {line}");
            if let Some(port_tx) = &port
                && let Some(number) = serving.captures(&line).and_then(|c| c[1].parse().ok())
            {
                let _ = port_tx.send(number);
            }
            output.lock().unwrap().push(line);
        }
    });
}

/// One blocking HTTP request, so these tests need no async runtime around child processes.
pub fn request(method: &str, url: &str, body: &str) -> Result<(u16, String), String> {
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

/// The pid the managed Redis wrote into its data directory.
pub fn managed_redis_pid(data_dir: &Path) -> Option<i32> {
    std::fs::read_to_string(data_dir.join("redis.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` runs (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| stat.contains(") Z "))
            .unwrap_or(true)
}

/// Waits until the managed Redis in `data_dir` runs with another pid than `old`; that pid.
pub fn wait_for_new_managed_redis(data_dir: &Path, old: i32, within: Duration) -> i32 {
    let deadline = Instant::now() + within;
    loop {
        if let Some(pid) = managed_redis_pid(data_dir).filter(|pid| *pid != old && alive(*pid)) {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "the managed Redis was not restarted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
