//! The Redis connection handle requests go through, made on the runtime that owns it.
//!
//! The connection's own tasks run on the runtime that (re)connects it, and a reconnect is
//! started by whichever request saw it fail. A request made on the live runtime, which can be
//! saturated by thousands of sockets, could thus move the connection there, and every ingest
//! request after it would wait behind those sockets. The store the live runtime uses therefore
//! makes each request on its home runtime instead.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use tokio::runtime::Handle;

use crate::telemetry::{self, RedisFailure};

/// A cheap clone of the shared multiplexed connection, with where its requests are made.
#[derive(Clone)]
pub(crate) struct Connection {
    pub(super) link: Link,
    /// The runtime requests are made on; `None`: wherever the caller runs.
    pub(super) home: Option<Handle>,
}

/// The connection to one Redis server, or to every node of a Redis Cluster (which follows
/// `MOVED` and `ASK`, and sends each command to the node that owns its slot).
#[derive(Clone)]
pub(crate) enum Link {
    Single(ConnectionManager),
    Cluster(Arc<ClusterLink>),
}

/// Requests that time out in a row before the cluster connection is made anew.
const TIMEOUTS_BEFORE_RENEWAL: u32 = 3;

/// The cluster connection, made anew when requests keep timing out: after a node is killed and
/// started again, redis-rs's connection was seen to time out every request for good, which
/// would leave the process stuck.
pub(crate) struct ClusterLink {
    client: ClusterClient,
    config: ClusterConfig,
    current: RwLock<ClusterConnection>,
    timeouts: AtomicU32,
}

impl ClusterLink {
    /// A lazily connected link to the cluster of `client`.
    pub(crate) fn new(client: ClusterClient, config: ClusterConfig) -> Self {
        let current = client.get_pending_async_connection_with_config(config.clone());
        Self {
            client,
            config,
            current: RwLock::new(current),
            timeouts: AtomicU32::new(0),
        }
    }

    fn connection(&self) -> ClusterConnection {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Counts a request's outcome; renews the connection after too many timeouts in a row.
    fn observe<T>(&self, answer: &RedisResult<T>) {
        match answer {
            Err(error) if error.is_timeout() => {
                if self.timeouts.fetch_add(1, Ordering::Relaxed) + 1 >= TIMEOUTS_BEFORE_RENEWAL {
                    self.timeouts.store(0, Ordering::Relaxed);
                    tracing::warn!("Redis Cluster requests keep timing out; connecting anew");
                    let fresh = self
                        .client
                        .get_pending_async_connection_with_config(self.config.clone());
                    *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                }
            }
            _ => self.timeouts.store(0, Ordering::Relaxed),
        }
    }
}

impl Connection {
    /// Whether commands go to a Redis Cluster: a pipeline may then only hold keys of one slot
    /// (see the `slots` module).
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.link, Link::Cluster(_))
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(manager) => manager.req_packed_command(cmd),
            Self::Cluster(link) => {
                let link = link.clone();
                Box::pin(async move {
                    let answer = link.connection().req_packed_command(cmd).await;
                    link.observe(&answer);
                    answer
                })
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(manager) => manager.req_packed_commands(pipeline, offset, count),
            Self::Cluster(link) => {
                let link = link.clone();
                Box::pin(async move {
                    let answer = link
                        .connection()
                        .req_packed_commands(pipeline, offset, count)
                        .await;
                    link.observe(&answer);
                    answer
                })
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(manager) => manager.get_db(),
            Self::Cluster(_) => 0,
        }
    }
}

/// Runs `request` on `home`; the caller awaits its answer.
fn made_on<T: Send + 'static>(
    home: &Handle,
    request: impl Future<Output = RedisResult<T>> + Send + 'static,
) -> RedisFuture<'static, T> {
    let request = home.spawn(request);
    Box::pin(async move {
        request.await.map_err(|error| {
            RedisError::from(std::io::Error::other(format!(
                "the storage request's task ended: {error}"
            )))
        })?
    })
}

/// Counts `request`'s round trip, and how it failed, in livedash's metrics.
fn timed<'a, T: 'a>(request: RedisFuture<'a, T>) -> RedisFuture<'a, T> {
    let started = Instant::now();
    Box::pin(async move {
        let answer = request.await;
        let failure = answer.as_ref().err().map(|error| {
            if super::error::redis_unavailable(error) {
                RedisFailure::Unavailable
            } else {
                RedisFailure::Error
            }
        });
        telemetry::metrics().redis_request(started.elapsed(), failure);
        answer
    })
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let Some(home) = &self.home else {
            return timed(self.link.req_packed_command(cmd));
        };
        let (mut link, cmd) = (self.link.clone(), cmd.clone());
        timed(made_on(
            home,
            async move { link.req_packed_command(&cmd).await },
        ))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let Some(home) = &self.home else {
            return timed(self.link.req_packed_commands(pipeline, offset, count));
        };
        let (mut link, pipeline) = (self.link.clone(), pipeline.clone());
        timed(made_on(home, async move {
            link.req_packed_commands(&pipeline, offset, count).await
        }))
    }

    fn get_db(&self) -> i64 {
        self.link.get_db()
    }
}
