//! Taking one user's events out of the raw event log. A stream only grows at its end, so the
//! log is copied, entry by entry with the same ids and without the user's events, to a key in
//! its slot, and a script copies what was added meanwhile and puts the copy in its place. One
//! rewrite at a time, under a lock; the copy costs the log's size again while it runs.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use app::events::Event;

use crate::storage::keys::random_hex;
use crate::storage::{StorageError, Store};

/// Log entries copied per round trip.
const PAGE: usize = 500;
/// How long the lock lasts without being renewed, ms (every page renews it).
const LOCK_MS: u64 = 60_000;
/// How long a rewrite waits for another one to end.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// Times the end is tried before the user's events that keep arriving win.
const FINISH_ATTEMPTS: usize = 20;

/// KEYS: the log, the copy, the lock. ARGV: the lock's token, the last id copied (`0-0` for
/// none), the text that marks an entry holding the user's events. Copies the entries after
/// that id to the copy and puts it in the log's place, unless one of them holds the user's
/// events (answers 0: copy on) or the lock is not the caller's (answers -1). Answers 1 when
/// done.
const FINISH_LUA: &str = r"#!lua
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return -1 end
local rest = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+')
for _, entry in ipairs(rest) do
  local fields = entry[2]
  for k = 1, #fields, 2 do
    if string.find(fields[k + 1], ARGV[3], 1, true) then return 0 end
  end
end
for _, entry in ipairs(rest) do
  redis.call('XADD', KEYS[2], entry[1], unpack(entry[2]))
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('DEL', KEYS[3])
return 1
";

static FINISH: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(FINISH_LUA));

/// Renews the lock if it is still the caller's: KEYS[1] the lock, ARGV its token and length.
const RENEW_LUA: &str = r"#!lua
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

static RENEW: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RENEW_LUA));

impl Store {
    /// Removes every event of `user_id` from the raw event log; answers how many there were.
    ///
    /// # Errors
    /// Redis failed, another rewrite held the log too long, or the user's events kept arriving
    /// faster than the copy caught up ([`StorageError::Contended`]).
    pub(crate) async fn forget_in_log(&self, user_id: &str) -> Result<usize, StorageError> {
        let log = self.keys.event_log();
        // The whole name as the copy's hash tag: the same slot as the log's.
        let copy = format!("{{{log}}}:rewrite");
        let lock = format!("{{{log}}}:rewrite-lock");
        let token = random_hex::<16>("the log rewrite's lock")?;
        self.take_rewrite_lock(&lock, &token).await?;
        let outcome = self.rewrite(&log, &copy, &lock, &token, user_id).await;
        if outcome.is_err() {
            // Left for the next rewrite to clear; the lock runs out by itself.
            let _: Result<(), _> = redis::pipe()
                .cmd("DEL")
                .arg(&copy)
                .ignore()
                .query_async(&mut self.connection())
                .await;
        }
        outcome
    }

    async fn take_rewrite_lock(&self, lock: &str, token: &str) -> Result<(), StorageError> {
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(lock)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(LOCK_MS)
                .query_async(&mut self.connection())
                .await?;
            if taken.is_some() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StorageError::Contended {
                    key: lock.to_owned(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn rewrite(
        &self,
        log: &str,
        copy: &str,
        lock: &str,
        token: &str,
        user_id: &str,
    ) -> Result<usize, StorageError> {
        let mut connection = self.connection();
        let () = redis::cmd("DEL")
            .arg(copy)
            .query_async(&mut connection)
            .await?;
        let marker = format!(
            "\"user_id\":{}",
            serde_json::to_string(user_id).unwrap_or_default()
        );
        let lost = || StorageError::Contended {
            key: lock.to_owned(),
        };
        let mut removed = 0;
        let mut after = "0-0".to_owned();
        for _ in 0..FINISH_ATTEMPTS {
            loop {
                let page: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
                    .arg(log)
                    .arg(format!("({after}"))
                    .arg("+")
                    .arg("COUNT")
                    .arg(PAGE)
                    .query_async(&mut connection)
                    .await?;
                let Some((last, _)) = page.last() else { break };
                let last = last.clone();
                let mut pipe = redis::pipe();
                for (id, fields) in page {
                    let mut kept = Vec::with_capacity(fields.len());
                    for (field, value) in fields {
                        if !value.contains(&marker) {
                            kept.push((field, value));
                            continue;
                        }
                        let events: Vec<Event> = serde_json::from_str(&value).map_err(|error| {
                            StorageError::Corrupt {
                                key: log.to_owned(),
                                reason: error.to_string(),
                            }
                        })?;
                        let before = events.len();
                        let others: Vec<&Event> =
                            events.iter().filter(|e| e.user_id != user_id).collect();
                        removed += before - others.len();
                        if !others.is_empty() {
                            kept.push((field, serde_json::to_string(&others).unwrap_or_default()));
                        }
                    }
                    if !kept.is_empty() {
                        pipe.cmd("XADD").arg(copy).arg(&id).arg(kept).ignore();
                    }
                }
                if !pipe.is_empty() {
                    let () = pipe.query_async(&mut connection).await?;
                }
                let renewed: i64 = RENEW
                    .key(lock)
                    .arg(token)
                    .arg(LOCK_MS)
                    .invoke_async(&mut connection)
                    .await?;
                if renewed != 1 {
                    return Err(lost());
                }
                after = last;
            }
            let done: i64 = FINISH
                .key(log)
                .key(copy)
                .key(lock)
                .arg(token)
                .arg(&after)
                .arg(&marker)
                .invoke_async(&mut connection)
                .await?;
            match done {
                1 => return Ok(removed),
                -1 => return Err(lost()),
                _ => {}
            }
        }
        Err(StorageError::Contended {
            key: log.to_owned(),
        })
    }
}
