//! A throwaway Redis Cluster: masters sharing the slots evenly, optional replicas, formed with
//! cluster commands (no `redis-cli` needed), stopped on drop.

use std::time::{Duration, Instant};

use super::node::Node;

/// Hash slots of a Redis Cluster.
const SLOTS: u16 = 16_384;

/// A throwaway Redis Cluster, stopped on drop.
pub struct RedisCluster {
    nodes: Vec<Node>,
    masters: usize,
    _dir: Option<tempfile::TempDir>,
}

impl RedisCluster {
    /// Starts `masters` masters with `replicas` replicas each on free ports, and waits until
    /// every node reports the cluster ok.
    ///
    /// # Panics
    /// `redis-server` is missing, or the cluster does not form within 20 s.
    #[must_use]
    pub fn start(masters: usize, replicas: usize) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut cluster = Self::start_in(dir.path(), masters, replicas, false);
        cluster._dir = Some(dir);
        cluster
    }

    /// As [`RedisCluster::start`], with every node's append-only file fsynced before each
    /// reply: a node killed and started again has everything it acknowledged.
    ///
    /// # Panics
    /// As [`RedisCluster::start`].
    #[must_use]
    pub fn start_durable(masters: usize, replicas: usize) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut cluster = Self::start_in(dir.path(), masters, replicas, true);
        cluster._dir = Some(dir);
        cluster
    }

    /// As [`RedisCluster::start`], in `dir` (one directory per node), durable when asked.
    pub(super) fn start_in(
        dir: &std::path::Path,
        masters: usize,
        replicas: usize,
        durable: bool,
    ) -> Self {
        assert!(masters >= 1, "a cluster needs a master");
        let count = masters * (1 + replicas);
        let nodes: Vec<Node> = (0..count)
            .map(|index| Node::start(&dir.join(format!("node{index}")), durable, true))
            .collect();
        let cluster = Self {
            nodes,
            masters,
            _dir: None,
        };
        let per_master = SLOTS / masters as u16;
        for master in 0..masters {
            let first = per_master * master as u16;
            let last = if master + 1 == masters {
                SLOTS - 1
            } else {
                first + per_master - 1
            };
            let () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .query(&mut cluster.nodes[master].connection())
                .expect("assigning slots");
        }
        for node in &cluster.nodes[1..] {
            let () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(cluster.nodes[0].port)
                .query(&mut node.connection())
                .expect("introducing a node");
        }
        cluster.wait_until("every node knows every other", |cluster| {
            cluster.nodes.iter().all(|node| {
                cluster_info(node)
                    .is_some_and(|info| info.contains(&format!("cluster_known_nodes:{count}\r")))
            })
        });
        let ids: Vec<String> = cluster
            .nodes
            .iter()
            .map(|node| {
                redis::cmd("CLUSTER")
                    .arg("MYID")
                    .query(&mut node.connection())
                    .expect("a node id")
            })
            .collect();
        for (index, node) in cluster.nodes.iter().enumerate().skip(masters) {
            let () = redis::cmd("CLUSTER")
                .arg("REPLICATE")
                .arg(&ids[index % masters])
                .query(&mut node.connection())
                .expect("making a replica");
        }
        cluster.wait_healthy();
        cluster
    }

    /// Waits until every running node reports the cluster ok with every slot served, and
    /// every running replica is in sync with its master.
    ///
    /// # Panics
    /// Not within 20 s.
    pub fn wait_healthy(&self) {
        self.wait_until("the cluster is ok on every node", |cluster| {
            cluster.nodes.iter().all(|node| {
                let Some(info) = cluster_info(node) else {
                    // A killed node answers nothing; the others must do without it.
                    return true;
                };
                let replication: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut node.connection())
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_slots_ok:{SLOTS}\r"))
                    && (!replication.contains("role:slave")
                        || replication.contains("master_link_status:up"))
            })
        });
    }

    fn wait_until(&self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(self) {
            assert!(Instant::now() < deadline, "{what}: not within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The seed list livedash's `REDIS_URL` takes: every node.
    #[must_use]
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(Node::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A synchronous cluster connection, for inspecting what livedash stored.
    ///
    /// # Panics
    /// The cluster does not answer.
    #[must_use]
    pub fn connection(&self) -> redis::cluster::ClusterConnection {
        redis::cluster::ClusterClient::new(self.nodes.iter().map(Node::url).collect::<Vec<_>>())
            .expect("a cluster client")
            .get_connection()
            .expect("a cluster connection")
    }

    /// A connection to node `index` alone.
    #[must_use]
    pub fn node_connection(&self, index: usize) -> redis::Connection {
        self.nodes[index].connection()
    }

    /// How many masters it was started with.
    #[must_use]
    pub fn masters(&self) -> usize {
        self.masters
    }

    /// How many nodes it has, masters and replicas.
    #[must_use]
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The index of the node that serves `key`'s slot now.
    ///
    /// # Panics
    /// No running node answers, or none serves the slot.
    #[must_use]
    pub fn serving(&mut self, key: &str) -> usize {
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut self.any_connection())
            .expect("a slot");
        let shards: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut self.any_connection())
            .expect("the cluster's nodes");
        for line in shards.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let (first, last) = range.split_once('-').unwrap_or((range, range));
                matches!((first.parse::<u16>(), last.parse::<u16>()),
                    (Ok(first), Ok(last)) if (first..=last).contains(&slot))
            });
            if serves {
                let port: u16 = fields[1]
                    .split(['@', ':'])
                    .nth(1)
                    .and_then(|port| port.parse().ok())
                    .expect("a node address");
                return self
                    .nodes
                    .iter()
                    .position(|node| node.port == port)
                    .expect("a node of this cluster");
            }
        }
        panic!("no master serves slot {slot}");
    }

    fn any_connection(&mut self) -> redis::Connection {
        self.nodes
            .iter_mut()
            .find_map(|node| node.is_running().then(|| node.connection()))
            .expect("a running node")
    }

    /// Kills node `index` (SIGKILL).
    pub fn kill(&mut self, index: usize) {
        self.nodes[index].kill();
    }

    /// Kills every node.
    pub fn kill_all(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }

    /// Starts node `index` again after [`RedisCluster::kill`] (it rejoins with its cluster
    /// state, and data if durable).
    pub fn start_again(&mut self, index: usize) {
        self.nodes[index].start_again();
    }

    /// Starts every node again after [`RedisCluster::kill_all`], and waits until it is ok.
    pub fn start_all_again(&mut self) {
        for node in &mut self.nodes {
            node.start_again();
        }
        self.wait_healthy();
    }

    /// The cluster id of node `index`.
    ///
    /// # Panics
    /// It does not answer.
    #[must_use]
    pub fn node_id(&self, index: usize) -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut self.nodes[index].connection())
            .expect("a node id")
    }

    /// Moves `slots` slots from node `from` to node `to` with `redis-cli --cluster reshard`
    /// (keys migrated one by one with `MIGRATE`, as an operator would), and waits until every
    /// node agrees.
    ///
    /// # Panics
    /// `redis-cli` is missing or fails.
    pub fn reshard(&self, from: usize, to: usize, slots: u16) {
        let output = std::process::Command::new("redis-cli")
            .args([
                "--cluster",
                "reshard",
                &format!("127.0.0.1:{}", self.port(from)),
            ])
            .args(["--cluster-from", &self.node_id(from)])
            .args(["--cluster-to", &self.node_id(to)])
            .args(["--cluster-slots", &slots.to_string()])
            .args(["--cluster-yes", "--cluster-pipeline", "10"])
            .output()
            .expect("redis-cli must be installed (Debian's redis-tools)");
        assert!(
            output.status.success(),
            "redis-cli --cluster reshard failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        self.wait_healthy();
    }

    /// The port of node `index`.
    #[must_use]
    pub fn port(&self, index: usize) -> u16 {
        self.nodes[index].port
    }
}

fn cluster_info(node: &Node) -> Option<String> {
    let mut connection = redis::Client::open(node.url())
        .ok()?
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    redis::cmd("CLUSTER")
        .arg("INFO")
        .query(&mut connection)
        .ok()
}
