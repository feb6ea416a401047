//! The Redis connection handle requests go through, made on the runtime that owns it.
//!
//! The connection's own tasks run on the runtime that (re)connects it, and a reconnect is
//! started by whichever request saw it fail. A request made on the live runtime, which can be
//! saturated by thousands of sockets, could thus move the connection there, and every ingest
//! request after it would wait behind those sockets. The store the live runtime uses therefore
//! makes each request on its home runtime instead.

use std::time::Instant;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use tokio::runtime::Handle;

use crate::telemetry::{self, RedisFailure};

/// A cheap clone of the shared multiplexed connection, with where its requests are made.
#[derive(Clone)]
pub(crate) struct Connection {
    pub(super) manager: ConnectionManager,
    /// The runtime requests are made on; `None`: wherever the caller runs.
    pub(super) home: Option<Handle>,
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
            if error.is_io_error()
                || error.is_connection_dropped()
                || error.is_connection_refusal()
                || error.is_timeout()
            {
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
            return timed(self.manager.req_packed_command(cmd));
        };
        let (mut manager, cmd) = (self.manager.clone(), cmd.clone());
        timed(made_on(home, async move {
            manager.req_packed_command(&cmd).await
        }))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let Some(home) = &self.home else {
            return timed(self.manager.req_packed_commands(pipeline, offset, count));
        };
        let (mut manager, pipeline) = (self.manager.clone(), pipeline.clone());
        timed(made_on(home, async move {
            manager.req_packed_commands(&pipeline, offset, count).await
        }))
    }

    fn get_db(&self) -> i64 {
        self.manager.get_db()
    }
}
