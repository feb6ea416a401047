//! Commands sent together, grouped by hash slot: the one way the storage layer sends several
//! commands at once. On a single Redis a batch is one pipeline, as before; on a Redis Cluster,
//! where a pipeline may only hold keys of one slot, it is one pipeline per slot, all in flight
//! at once. Replies come back in the order the commands were added either way.

use std::collections::HashMap;

use redis::cluster_routing::Slot;
use redis::{FromRedisValue, Pipeline, RedisError, Value};

use super::StorageError;
use super::connection::Connection;

/// Commands to send together (see the module).
pub(crate) struct Batch {
    /// Whether every command goes into the first group (a single Redis).
    single: bool,
    groups: Vec<Pipeline>,
    group_of: HashMap<Slot, usize>,
    /// Per command in the order added: its group, and whether its reply is wanted.
    order: Vec<(usize, bool)>,
}

impl Batch {
    /// An empty batch for `connection`'s topology.
    pub(crate) fn new(connection: &Connection) -> Self {
        Self {
            single: !connection.is_cluster(),
            groups: Vec::new(),
            group_of: HashMap::new(),
            order: Vec::new(),
        }
    }

    /// Adds command `name` with `key` as its first argument; further arguments go on the
    /// pipeline returned (its last command). Every key the command names must share `key`'s
    /// slot.
    pub(crate) fn cmd(&mut self, name: &str, key: &str) -> &mut Pipeline {
        self.push(name, key, true)
    }

    /// As [`Batch::cmd`], for a command whose reply is not wanted (an error in it still fails
    /// [`Batch::query`]).
    pub(crate) fn ignored(&mut self, name: &str, key: &str) -> &mut Pipeline {
        self.push(name, key, false)
    }

    /// Adds command `name` whose keys all share `key`'s slot but which does not start with it
    /// (a script call, `ZUNION`); every argument goes on the pipeline returned.
    pub(crate) fn routed_by(&mut self, name: &str, key: &str) -> &mut Pipeline {
        let group = self.group(key);
        self.order.push((group, true));
        self.groups[group].cmd(name)
    }

    fn push(&mut self, name: &str, key: &str, wanted: bool) -> &mut Pipeline {
        let group = self.group(key);
        self.order.push((group, wanted));
        self.groups[group].cmd(name).arg(key)
    }

    fn group(&mut self, key: &str) -> usize {
        if self.single && !self.groups.is_empty() {
            return 0;
        }
        let slot = if self.single {
            Slot::for_key("")
        } else {
            Slot::for_key(key)
        };
        let groups = &mut self.groups;
        *self.group_of.entry(slot).or_insert_with(|| {
            let mut pipeline = redis::pipe();
            pipeline.ignore_errors();
            groups.push(pipeline);
            groups.len() - 1
        })
    }

    /// Whether it holds no command.
    pub(crate) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Sends every command. Each command's reply, or why its slot's pipeline got none (on a
    /// cluster, other slots may have been written meanwhile), in the order added; replies of
    /// [`Batch::ignored`] commands included.
    pub(crate) async fn send_each(
        &self,
        connection: &Connection,
    ) -> Vec<Result<Value, RedisError>> {
        let sent = futures::future::join_all(self.groups.iter().map(|pipeline| {
            let mut connection = connection.clone();
            async move { pipeline.query_async::<Vec<Value>>(&mut connection).await }
        }))
        .await;
        let mut replies: Vec<_> = sent
            .into_iter()
            .map(|sent| match sent {
                Ok(replies) => Ok(replies.into_iter()),
                Err(error) => Err(error),
            })
            .collect();
        self.order
            .iter()
            .map(|(group, _)| match &mut replies[*group] {
                Ok(replies) => Ok(replies.next().unwrap_or(Value::Nil)),
                Err(error) => Err(error.clone()),
            })
            .collect()
    }

    /// Sends every command; the wanted replies, in the order added, as `T` (a tuple, or a
    /// `Vec`). Any failure, a server error in an ignored command included, fails it.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        connection: &Connection,
    ) -> Result<T, StorageError> {
        let mut wanted = Vec::with_capacity(self.order.len());
        for (reply, (_, want)) in self
            .send_each(connection)
            .await
            .into_iter()
            .zip(&self.order)
        {
            match reply? {
                Value::ServerError(error) => return Err(StorageError::Redis(error.into())),
                reply if *want => wanted.push(reply),
                _ => {}
            }
        }
        Ok(redis::from_redis_value(Value::Array(wanted)).map_err(RedisError::from)?)
    }
}
