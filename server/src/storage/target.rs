//! Which Redis the storage layer talks to: one server, or a Redis Cluster found from seed nodes
//! (named by the user or detected with `INFO cluster`), and the connections made to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::Value;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};

use super::StorageError;
use super::connection::{ClusterLink, Connection, Link};
use crate::config::ClusterMode;

/// How long connecting to a node may take, and how long a reply.
pub(super) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The Redis livedash uses: where it is, and whether it is a cluster.
#[derive(Clone)]
pub struct RedisTarget {
    /// A client per seed node, in the order given.
    seeds: Arc<[redis::Client]>,
    /// The cluster's client; `None` for a single server.
    cluster: Option<ClusterClient>,
    /// Which seed the next subscriber connection tries first (a dead node is skipped).
    next_seed: Arc<AtomicUsize>,
}

impl RedisTarget {
    /// A single server at `url` (tests, tools).
    ///
    /// # Errors
    /// The URL is unusable.
    pub fn single(url: &str) -> Result<Self, StorageError> {
        Ok(Self {
            seeds: Arc::from([redis::Client::open(url)?]),
            cluster: None,
            next_seed: Arc::default(),
        })
    }

    /// The Redis at `urls` in `mode`. `Auto` asks the seeds, in turn, whether they are a
    /// cluster member; when none answers, several seeds mean a cluster and one a server (whose
    /// connection then keeps trying, as it does for a server that goes away later).
    ///
    /// # Errors
    /// A URL is unusable, or a cluster was named with a numbered database.
    pub async fn open(urls: &[String], mode: ClusterMode) -> Result<Self, StorageError> {
        let seeds = urls
            .iter()
            .map(|url| redis::Client::open(url.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        let cluster = match mode {
            ClusterMode::On => true,
            ClusterMode::Off => false,
            ClusterMode::Auto => match detect(&seeds).await {
                Some(enabled) => enabled,
                None => {
                    tracing::warn!(
                        "no Redis seed answered INFO at start-up; taking {} as {}",
                        urls.join(","),
                        if seeds.len() > 1 {
                            "a cluster"
                        } else {
                            "a single server"
                        }
                    );
                    seeds.len() > 1
                }
            },
        };
        let cluster = if cluster {
            if let Some(seed) = seeds
                .iter()
                .find(|seed| seed.get_connection_info().redis_settings().db() != 0)
            {
                return Err(StorageError::Config(format!(
                    "{} names database {}, and a Redis Cluster has only database 0",
                    seed.get_connection_info().addr(),
                    seed.get_connection_info().redis_settings().db()
                )));
            }
            Some(
                ClusterClient::builder(urls.iter().map(String::as_str))
                    .connection_timeout(CONNECTION_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(3)
                    .min_retry_wait(50)
                    .max_retry_wait(1_000)
                    .build()?,
            )
        } else {
            None
        };
        Ok(Self {
            seeds: seeds.into(),
            cluster,
            next_seed: Arc::default(),
        })
    }

    /// Whether this is a Redis Cluster.
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// The shared connection requests go through: made lazily and re-made after failures, so
    /// a Redis that is down at start-up or later only fails the requests made meanwhile.
    pub(super) fn shared_connection(&self) -> Result<Connection, StorageError> {
        let link = match &self.cluster {
            Some(cluster) => cluster_link(cluster, RESPONSE_TIMEOUT),
            None => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_secs(1));
                Link::Single(ConnectionManager::new_lazy_with_config(
                    self.seeds[0].clone(),
                    config,
                )?)
            }
        };
        Ok(Connection { link, home: None })
    }

    /// A connection of its own, for commands that block (a blocking read would hold up every
    /// request behind it on the shared connection), answering within `response_timeout`.
    ///
    /// # Errors
    /// A single Redis is unreachable (a cluster's connection is made at its first request).
    pub async fn dedicated_connection(
        &self,
        response_timeout: Duration,
    ) -> Result<DedicatedConnection, StorageError> {
        let link = match &self.cluster {
            Some(cluster) => cluster_link(cluster, response_timeout),
            None => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                    .set_response_timeout(Some(response_timeout))
                    .set_number_of_retries(1);
                Link::Single(
                    ConnectionManager::new_with_config(self.seeds[0].clone(), config).await?,
                )
            }
        };
        Ok(DedicatedConnection(Connection { link, home: None }))
    }

    /// A client of one node for classic pub/sub, which a cluster delivers on every node: each
    /// call starts from the seed after the one the previous call started from, so a dead node
    /// is left behind by a subscriber that reconnects.
    #[must_use]
    pub fn subscriber(&self) -> redis::Client {
        let index = self.next_seed.fetch_add(1, Ordering::Relaxed) % self.seeds.len();
        self.seeds[index].clone()
    }
}

impl RedisTarget {
    /// A client of the master serving `slot`: the server itself on a single Redis; on a
    /// cluster, as the seeds, asked in turn, say (`CLUSTER SLOTS`). Blocking.
    ///
    /// # Errors
    /// No seed answered, or none knows a master for the slot.
    pub fn node_serving(&self, slot: u16) -> Result<redis::Client, StorageError> {
        if self.cluster.is_none() {
            return Ok(self.seeds[0].clone());
        }
        let mut failure = None;
        for _ in 0..self.seeds.len() {
            let seed = self.subscriber();
            match master_of(&seed, slot) {
                Ok(node) => return Ok(node),
                Err(error) => failure = Some(error),
            }
        }
        Err(failure.unwrap_or_else(|| StorageError::Config("no Redis seed node".into())))
    }
}

/// The master serving `slot`, as `seed` sees the cluster.
fn master_of(seed: &redis::Client, slot: u16) -> Result<redis::Client, StorageError> {
    let mut connection = seed.get_connection_with_timeout(CONNECTION_TIMEOUT)?;
    connection.set_read_timeout(Some(RESPONSE_TIMEOUT))?;
    let ranges: Vec<Value> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut connection)?;
    let slot = i64::from(slot);
    for range in ranges {
        let Value::Array(range) = range else { continue };
        let (Some(Value::Int(first)), Some(Value::Int(last)), Some(Value::Array(master))) =
            (range.first(), range.get(1), range.get(2))
        else {
            continue;
        };
        if !(*first..=*last).contains(&slot) {
            continue;
        }
        let info = seed.get_connection_info().clone();
        let (host, port) = match (master.first(), master.get(1), info.addr()) {
            (Some(Value::BulkString(host)), Some(Value::Int(port)), _) if !host.is_empty() => {
                (String::from_utf8_lossy(host).into_owned(), *port)
            }
            // The node does not know its own address: the seed's host, as redis-cli does.
            (_, Some(Value::Int(port)), redis::ConnectionAddr::Tcp(host, _)) => {
                (host.clone(), *port)
            }
            _ => continue,
        };
        let port = u16::try_from(port)
            .map_err(|_| StorageError::Config(format!("CLUSTER SLOTS names port {port}")))?;
        return Ok(redis::Client::open(
            info.set_addr(redis::ConnectionAddr::Tcp(host, port)),
        )?);
    }
    Err(StorageError::Config(format!(
        "no master serves slot {slot}"
    )))
}

/// A lazily made link to `cluster` whose replies may take `response_timeout`.
fn cluster_link(cluster: &ClusterClient, response_timeout: Duration) -> Link {
    Link::Cluster(Arc::new(ClusterLink::new(
        cluster.clone(),
        ClusterConfig::new()
            .set_connection_timeout(CONNECTION_TIMEOUT)
            .set_response_timeout(response_timeout),
    )))
}

/// A connection for blocking commands (see [`RedisTarget::dedicated_connection`]).
#[derive(Clone)]
pub struct DedicatedConnection(pub(crate) Connection);

/// Whether the first seed that answers is a cluster member (`None`: none answered). A cluster
/// node refuses to select a numbered database, which also tells.
async fn detect(seeds: &[redis::Client]) -> Option<bool> {
    for seed in seeds {
        let connected =
            tokio::time::timeout(CONNECTION_TIMEOUT, seed.get_multiplexed_async_connection()).await;
        let mut connection = match connected {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) if error.to_string().contains("not allowed in cluster mode") => {
                return Some(true);
            }
            _ => continue,
        };
        let info: Result<Result<String, _>, _> = tokio::time::timeout(
            RESPONSE_TIMEOUT,
            redis::cmd("INFO")
                .arg("cluster")
                .query_async(&mut connection),
        )
        .await;
        if let Ok(Ok(info)) = info {
            return Some(info.lines().any(|line| line.trim() == "cluster_enabled:1"));
        }
    }
    None
}
