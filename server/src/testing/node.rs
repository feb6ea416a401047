//! One throwaway `redis-server` process: a free port, its own directory, stopped on drop;
//! optionally a cluster node.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// One `redis-server` process, killed on drop.
pub(super) struct Node {
    child: Child,
    pub(super) port: u16,
    dir: PathBuf,
    /// Append-only file on, fsynced before each reply: a kill loses nothing acknowledged.
    durable: bool,
    /// Started with `--cluster-enabled yes` (its cluster state is kept in `nodes.conf`).
    cluster: bool,
}

impl Node {
    /// Starts one in `dir` on a free port and waits until it answers.
    ///
    /// Tests run in parallel, so the port may be taken between the probe and Redis binding
    /// it: a server that exits early is started again on another port, and a server that
    /// answers with another process id is never mistaken for this one.
    pub(super) fn start(dir: &Path, durable: bool, cluster: bool) -> Self {
        std::fs::create_dir_all(dir).expect("a directory for redis-server");
        for _ in 0..5 {
            let port = free_port();
            let mut child = spawn(port, dir, durable, cluster);
            if wait_ready(&mut child, port) {
                return Self {
                    child,
                    port,
                    dir: dir.to_owned(),
                    durable,
                    cluster,
                };
            }
            let _ = child.wait();
        }
        panic!("redis-server exited at start five times (see its redis.log)");
    }

    /// Its URL.
    pub(super) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous connection to this node alone.
    pub(super) fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// Kills it (SIGKILL, no goodbye).
    pub(super) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Whether it is running.
    pub(super) fn is_running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// Starts it again on its port (with its data, if durable, and its cluster state) after
    /// [`Node::kill`], and waits until it answers.
    pub(super) fn start_again(&mut self) {
        self.child = spawn(self.port, &self.dir, self.durable, self.cluster);
        assert!(
            wait_ready(&mut self.child, self.port),
            "redis-server could not bind port {} again",
            self.port
        );
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(port: u16, dir: &Path, durable: bool, cluster: bool) -> Child {
    let binary =
        std::env::var("LIVEDASH_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let persistence: &[&str] = if durable {
        &["--appendonly", "yes", "--appendfsync", "always"]
    } else {
        &["--appendonly", "no"]
    };
    let cluster: &[&str] = if cluster {
        &[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "1000",
            // A replica takes over however long it was cut off (tests kill masters at will).
            "--cluster-replica-validity-factor",
            "0",
            // The other masters keep serving their slots while one is down (partial failures).
            "--cluster-require-full-coverage",
            "no",
        ]
    } else {
        &[]
    };
    Command::new(binary)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--daemonize", "no"])
        .args(persistence)
        .args(cluster)
        .arg("--dir")
        .arg(dir)
        .args(["--logfile", "redis.log"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed for the integration tests")
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
