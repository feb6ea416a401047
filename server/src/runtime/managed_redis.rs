//! The managed Redis: a `redis-server` child that livedash starts when no `REDIS_URL` is given.
//!
//! It listens on a free loopback port, keeps its data under the data directory with the
//! append-only file on, is restarted (and logged) if it dies, and is shut down cleanly (its
//! AOF flushed) when livedash stops. It runs in its own process group, so a Ctrl+C in the
//! terminal reaches livedash, which then stops Redis in order, rather than both at once.
//! A `redis-server` left behind by a livedash that was killed is found through its pid file
//! and stopped before a new one starts on the same data.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a freshly started `redis-server` may take to answer `PING` (loading a large AOF
/// takes a while, and Redis answers `LOADING` until then).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a clean shutdown may take before the child is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How many free ports to try: another process can take the port between our probe and
/// Redis binding it.
const PORT_ATTEMPTS: u32 = 5;
const PID_FILE: &str = "redis.pid";
const LOG_FILE: &str = "redis.log";

/// Why the managed Redis could not be started.
#[derive(thiserror::Error, Debug)]
pub enum ManagedRedisError {
    /// The data directory could not be created or resolved.
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The executable is missing.
    #[error(
        "{executable} was not found: install Redis (`apt-get install redis-server`), set \
         LIVEDASH_REDIS_SERVER to its path, or set REDIS_URL to use a running server"
    )]
    NotInstalled { executable: PathBuf },
    /// Spawning failed for another reason, or no port was free.
    #[error("starting {executable}: {source}")]
    Spawn {
        executable: PathBuf,
        source: std::io::Error,
    },
    /// It started but did not answer in time, or exited.
    #[error("redis-server did not become ready: {reason}; see {log}")]
    NotReady { reason: String, log: PathBuf },
}

/// A running, supervised `redis-server` child.
pub struct ManagedRedis {
    url: String,
    stop: CancellationToken,
    supervisor: JoinHandle<()>,
}

impl ManagedRedis {
    /// Starts `executable` on `data_dir` and waits until it answers.
    ///
    /// # Errors
    /// See [`ManagedRedisError`].
    pub async fn start(executable: &Path, data_dir: &Path) -> Result<Self, ManagedRedisError> {
        let data_dir = prepare_data_dir(data_dir)?;
        stop_leftover(&data_dir).await;
        let mut attempt = 1;
        let (launcher, child) = loop {
            let port = free_port().map_err(|source| ManagedRedisError::Spawn {
                executable: executable.to_owned(),
                source,
            })?;
            let launcher = Launcher {
                executable: executable.to_owned(),
                data_dir: data_dir.clone(),
                port,
            };
            match launcher.launch().await {
                Ok(child) => break (launcher, child),
                Err(LaunchError::Exited(reason)) if attempt < PORT_ATTEMPTS => {
                    tracing::warn!(port, %reason, "managed redis-server did not start; trying another port");
                    attempt += 1;
                }
                Err(error) => return Err(launcher.not_ready(error)),
            }
        };
        let port = launcher.port;
        tracing::info!(
            port,
            data_dir = %launcher.data_dir.display(),
            "managed redis-server is ready"
        );
        let url = launcher.url();
        let stop = CancellationToken::new();
        let supervisor = tokio::spawn(supervise(launcher, child, stop.clone()));
        Ok(Self {
            url,
            stop,
            supervisor,
        })
    }

    /// The URL to connect to it.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Shuts it down cleanly (the AOF is flushed) and waits until it has exited.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.supervisor.await;
    }
}

struct Launcher {
    executable: PathBuf,
    data_dir: PathBuf,
    port: u16,
}

impl Launcher {
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn not_ready(&self, error: LaunchError) -> ManagedRedisError {
        match error {
            LaunchError::Start(error) => error,
            LaunchError::Exited(reason) | LaunchError::TimedOut(reason) => {
                ManagedRedisError::NotReady {
                    reason,
                    log: self.data_dir.join(LOG_FILE),
                }
            }
        }
    }

    async fn launch(&self) -> Result<Child, LaunchError> {
        let mut child = Command::new(&self.executable)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(&self.data_dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ])
            .args([
                "--pidfile",
                PID_FILE,
                "--logfile",
                LOG_FILE,
                "--daemonize",
                "no",
            ])
            .args(["--protected-mode", "yes"])
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| {
                LaunchError::Start(match source.kind() {
                    std::io::ErrorKind::NotFound => ManagedRedisError::NotInstalled {
                        executable: self.executable.clone(),
                    },
                    _ => ManagedRedisError::Spawn {
                        executable: self.executable.clone(),
                        source,
                    },
                })
            })?;
        match self.wait_ready(&mut child).await {
            Ok(()) => Ok(child),
            Err(error) => {
                let _ = child.kill().await;
                Err(error)
            }
        }
    }

    async fn wait_ready(&self, child: &mut Child) -> Result<(), LaunchError> {
        let client =
            redis::Client::open(self.url()).map_err(|e| LaunchError::Exited(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        let mut last_error = String::from("no answer");
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = child
                .try_wait()
                .map_err(|e| LaunchError::Exited(e.to_string()))?
            {
                return Err(LaunchError::Exited(format!(
                    "it exited with {status} ({last_error})"
                )));
            }
            match serving_pid(&client).await {
                Ok(pid) if Some(pid) == child.id() => return Ok(()),
                // Until our child exits (it cannot bind), do not mistake that server for ours.
                Ok(pid) => last_error = format!("port {} is taken by pid {pid}", self.port),
                Err(error) => last_error = error,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(LaunchError::TimedOut(format!(
            "no answer within {READY_TIMEOUT:?} ({last_error})"
        )))
    }
}

/// Why one launch failed; only an early exit is worth a retry on another port.
enum LaunchError {
    Start(ManagedRedisError),
    Exited(String),
    TimedOut(String),
}

/// The process id of the `redis-server` answering on `client`.
async fn serving_pid(client: &redis::Client) -> Result<u32, String> {
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    info.lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
        .ok_or_else(|| "INFO server has no process_id".to_owned())
}

async fn supervise(launcher: Launcher, mut child: Child, stop: CancellationToken) {
    let mut restarts_in_a_row = 0u32;
    loop {
        let exit = tokio::select! {
            () = stop.cancelled() => {
                shut_down(&mut child).await;
                return;
            }
            exit = child.wait() => exit,
        };
        let status = exit.map_or_else(|e| e.to_string(), |s: ExitStatus| s.to_string());
        tracing::error!(%status, "managed redis-server exited unexpectedly; restarting it");
        loop {
            let delay = Duration::from_millis(200 * 2u64.pow(restarts_in_a_row.min(5)));
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            match launcher.launch().await {
                Ok(restarted) => {
                    tracing::info!(port = launcher.port, "managed redis-server restarted");
                    child = restarted;
                    restarts_in_a_row = 0;
                    break;
                }
                Err(error) => {
                    let error = launcher.not_ready(error);
                    restarts_in_a_row += 1;
                    tracing::error!(%error, attempt = restarts_in_a_row, "restarting managed redis-server failed");
                }
            }
        }
    }
}

/// SIGTERM makes Redis flush the AOF and exit; SIGKILL only if it hangs.
async fn shut_down(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) => tracing::info!(%status, "managed redis-server stopped"),
        Ok(Err(error)) => tracing::warn!(%error, "waiting for managed redis-server failed"),
        Err(_) => {
            tracing::warn!("managed redis-server did not stop in time; killing it");
            let _ = child.kill().await;
        }
    }
}

fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf, ManagedRedisError> {
    let error = |source| ManagedRedisError::DataDir {
        path: data_dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(error)?;
    std::fs::canonicalize(data_dir).map_err(error)
}

/// Stops a `redis-server` that a killed livedash left running on this data directory.
async fn stop_leftover(data_dir: &Path) {
    let Ok(text) = std::fs::read_to_string(data_dir.join(PID_FILE)) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return;
    };
    let is_redis = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| String::from_utf8_lossy(&cmdline).contains("redis-server"))
        .unwrap_or(false);
    if !is_redis {
        return;
    }
    tracing::warn!(
        pid,
        "stopping a redis-server left running on this data directory"
    );
    let pid = Pid::from_raw(pid);
    let _ = kill(pid, Signal::SIGTERM);
    for _ in 0..100 {
        if kill(pid, None).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = kill(pid, Signal::SIGKILL);
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
