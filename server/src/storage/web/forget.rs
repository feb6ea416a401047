//! Forgetting one user in web analytics: their visit lists, their place among current visitors
//! and their retention record and bits, on every site, and what a process remembers of them.

use std::sync::LazyLock;

use futures::future::try_join_all;

use super::script::FORGET_LUA;
use crate::storage::keys::{name_hash, partition_of};
use crate::storage::retention::plan::DAY_MS;
use crate::storage::retention::{KEPT_MS, Period};
use crate::storage::{StorageError, Store};

static FORGET: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(FORGET_LUA));

impl Store {
    /// Removes `user_id` from the web analytics of each of `sites`; answers on how many they
    /// had a retention record.
    ///
    /// # Errors
    /// Redis failed.
    pub(crate) async fn forget_web_user(
        &self,
        user_id: &str,
        sites: &[String],
        now_ms: i64,
    ) -> Result<usize, StorageError> {
        let member = name_hash(user_id);
        let partition = partition_of(user_id, self.log.count());
        let length = self.list_generation_ms();
        let generation = now_ms.div_euclid(length);
        let calls = sites.iter().map(|site| {
            let base = self.keys.visits_base(site, partition);
            let member = &member;
            async move {
                let mut invocation = FORGET.prepare_invoke();
                invocation
                    .key(format!("{base}cur"))
                    .key(format!("{base}r:ids"));
                // The generations a write may have used, a clock's skew either way included.
                for offset in -1..=1 {
                    invocation.key(format!("{base}v:{}", generation + offset));
                }
                let had: i64 = invocation
                    .arg(&base)
                    .arg(member)
                    .arg(Period::Day.of(now_ms))
                    .arg(Period::Week.of(now_ms))
                    .arg(KEPT_MS / DAY_MS)
                    .invoke_async(&mut self.connection())
                    .await?;
                Ok::<_, StorageError>(usize::from(had == 1))
            }
        });
        let had = try_join_all(calls).await?.into_iter().sum();
        self.events.users.forget(&member);
        Ok(had)
    }

    /// Forgets what this process remembers of the user whose id's hash is `member` (another
    /// process deleted them).
    pub fn forget_cached_user(&self, member: &str) {
        self.events.users.forget(member);
    }
}
