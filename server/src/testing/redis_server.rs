//! The Redis an integration test starts: one server, or a cluster, as `LIVEDASH_TEST_TOPOLOGY`
//! says, behind one interface.

use super::cluster::RedisCluster;
use super::node::Node;

/// What [`RedisServer::start`] starts (`LIVEDASH_TEST_TOPOLOGY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One plain `redis-server` (the default).
    Standalone,
    /// One cluster node owning every slot: costs nothing more, and refuses every command and
    /// script that names keys of two slots.
    Cluster1,
    /// Three masters.
    Cluster3,
}

impl Topology {
    /// The topology `LIVEDASH_TEST_TOPOLOGY` names.
    ///
    /// # Panics
    /// It names none.
    #[must_use]
    pub fn from_env() -> Self {
        match std::env::var("LIVEDASH_TEST_TOPOLOGY").as_deref() {
            Err(_) | Ok("" | "standalone") => Self::Standalone,
            Ok("cluster1") => Self::Cluster1,
            Ok("cluster3") => Self::Cluster3,
            Ok(other) => {
                panic!("LIVEDASH_TEST_TOPOLOGY={other}: expected standalone, cluster1 or cluster3")
            }
        }
    }
}

/// A throwaway Redis (a server, or a cluster: see [`Topology`]), stopped on drop.
pub struct RedisServer {
    redis: Started,
    topology: Topology,
    _dir: tempfile::TempDir,
}

enum Started {
    Node(Node),
    Cluster(RedisCluster),
}

/// A synchronous connection for inspecting what livedash stored: to the server, or to the
/// cluster (which sends `KEYS`, `FLUSHALL` and the like to every master).
pub enum TestConnection {
    Single(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>),
}

impl RedisServer {
    /// Starts one on a free port (no persistence) and waits until it answers; a cluster
    /// when `LIVEDASH_TEST_TOPOLOGY` asks for one.
    ///
    /// # Panics
    /// `redis-server` is missing or does not answer within 10 s.
    #[must_use]
    pub fn start() -> Self {
        Self::start_as(Topology::from_env(), false)
    }

    /// As [`RedisServer::start`], with the append-only file on and fsynced before every reply,
    /// so that killing it loses nothing it acknowledged (for fault tests).
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    #[must_use]
    pub fn start_durable() -> Self {
        Self::start_as(Topology::from_env(), true)
    }

    /// Starts `topology`, whatever the environment says.
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    #[must_use]
    pub fn start_as(topology: Topology, durable: bool) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let redis = match topology {
            Topology::Standalone => Started::Node(Node::start(dir.path(), durable, false)),
            Topology::Cluster1 => {
                Started::Cluster(RedisCluster::start_in(dir.path(), 1, 0, durable))
            }
            Topology::Cluster3 => {
                Started::Cluster(RedisCluster::start_in(dir.path(), 3, 0, durable))
            }
        };
        Self {
            redis,
            topology,
            _dir: dir,
        }
    }

    /// What it is.
    #[must_use]
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// Its URL: livedash's `REDIS_URL` (a cluster's seed nodes, separated by commas).
    #[must_use]
    pub fn url(&self) -> String {
        match &self.redis {
            Started::Node(node) => node.url(),
            Started::Cluster(cluster) => cluster.url(),
        }
    }

    /// Its (first node's) port.
    #[must_use]
    pub fn port(&self) -> u16 {
        match &self.redis {
            Started::Node(node) => node.port,
            Started::Cluster(cluster) => cluster.port(0),
        }
    }

    /// A synchronous connection for inspecting what livedash stored.
    ///
    /// # Panics
    /// It does not answer.
    #[must_use]
    pub fn connection(&self) -> TestConnection {
        match &self.redis {
            Started::Node(node) => TestConnection::Single(node.connection()),
            Started::Cluster(cluster) => TestConnection::Cluster(Box::new(cluster.connection())),
        }
    }

    /// `INFO <section>` of each node (one for a server, every node of a cluster): counters
    /// summed over them describe the whole.
    ///
    /// # Panics
    /// A node does not answer.
    #[must_use]
    pub fn info_per_node(&self, section: &str) -> Vec<String> {
        self.on_every_node(redis::cmd("INFO").arg(section))
    }

    /// Runs `command` on each node (one for a server, every node of a cluster), for what a
    /// cluster client would send to one node only (`INFO`, `ACL`, `CONFIG`).
    ///
    /// # Panics
    /// A node does not answer, or answers with an error or a value that is not `T`.
    pub fn on_every_node<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Vec<T> {
        let run = |mut connection: redis::Connection| -> T {
            command
                .query(&mut connection)
                .unwrap_or_else(|error| panic!("{command:?} failed: {error}"))
        };
        match &self.redis {
            Started::Node(node) => vec![run(node.connection())],
            Started::Cluster(cluster) => (0..cluster.nodes())
                .map(|index| run(cluster.node_connection(index)))
                .collect(),
        }
    }

    /// Every key and every value held, as text (one line per key: its name, then its value's
    /// strings and numbers), for tests that check what Redis keeps, or does not.
    ///
    /// # Panics
    /// A node does not answer.
    #[must_use]
    pub fn everything(&self) -> String {
        let mut connection = self.connection();
        let mut text = String::new();
        for keys in self.on_every_node::<Vec<String>>(redis::cmd("KEYS").arg("*")) {
            for key in keys {
                let kind: String = redis::cmd("TYPE").arg(&key).query(&mut connection).unwrap();
                let read = match kind.as_str() {
                    "string" => redis::cmd("GET").arg(&key).clone(),
                    "hash" => redis::cmd("HGETALL").arg(&key).clone(),
                    "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).clone(),
                    "set" => redis::cmd("SMEMBERS").arg(&key).clone(),
                    "zset" => redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .clone(),
                    "stream" => redis::cmd("XRANGE").arg(&key).arg("-").arg("+").clone(),
                    // Gone since it was listed.
                    _ => continue,
                };
                let value: redis::Value = read.query(&mut connection).unwrap();
                text.push_str(&key);
                as_text(&value, &mut text);
                text.push('\n');
            }
        }
        text
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

    /// Kills it (every node of a cluster; SIGKILL, no goodbye); [`RedisServer::start_again`]
    /// brings it back.
    ///
    /// # Panics
    /// It cannot be killed.
    pub fn kill(&mut self) {
        match &mut self.redis {
            Started::Node(node) => node.kill(),
            Started::Cluster(cluster) => cluster.kill_all(),
        }
    }

    /// Starts it again on its port (with its data, if durable) after [`RedisServer::kill`],
    /// and waits until it answers (a durable one may still be loading its data).
    ///
    /// # Panics
    /// It cannot bind its port again.
    pub fn start_again(&mut self) {
        match &mut self.redis {
            Started::Node(node) => node.start_again(),
            Started::Cluster(cluster) => cluster.start_all_again(),
        }
    }
}

impl redis::ConnectionLike for TestConnection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> redis::RedisResult<redis::Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> redis::RedisResult<Vec<redis::Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(cmd, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(cmd, offset, count),
        }
    }

    fn req_command(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<redis::Value> {
        match self {
            Self::Single(connection) => connection.req_command(cmd),
            Self::Cluster(connection) => connection.req_command(cmd),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(_) => 0,
        }
    }

    fn check_connection(&mut self) -> bool {
        match self {
            Self::Single(connection) => connection.check_connection(),
            Self::Cluster(connection) => connection.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Self::Single(connection) => connection.is_open(),
            Self::Cluster(connection) => connection.is_open(),
        }
    }
}

/// Appends `value`'s strings and numbers to `text`, each after a space.
fn as_text(value: &redis::Value, text: &mut String) {
    match value {
        redis::Value::BulkString(bytes) => {
            text.push(' ');
            text.push_str(&String::from_utf8_lossy(bytes));
        }
        redis::Value::SimpleString(string) => {
            text.push(' ');
            text.push_str(string);
        }
        redis::Value::Int(n) => text.push_str(&format!(" {n}")),
        redis::Value::Double(n) => text.push_str(&format!(" {n}")),
        redis::Value::Array(values) | redis::Value::Set(values) => {
            for value in values {
                as_text(value, text);
            }
        }
        redis::Value::Map(pairs) => {
            for (key, value) in pairs {
                as_text(key, text);
                as_text(value, text);
            }
        }
        _ => {}
    }
}
