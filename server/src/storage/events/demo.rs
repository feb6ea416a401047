//! The claim and outcome of writing `--demo`'s history, so it is written once per Redis.

use crate::storage::{StorageError, Store};

impl Store {
    /// Claims the writing of `--demo`'s history: `true` in one process only, and only on a
    /// Redis without demo data (no demo dashboard made yet, by this version or an earlier
    /// one). The claim stays whatever happens after, so the history is written once per Redis
    /// at most.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn claim_demo_history(&self, now_ms: i64) -> Result<bool, StorageError> {
        let mut connection = self.connection();
        let has_demo: bool = redis::cmd("EXISTS")
            .arg(self.keys.demo())
            .query_async(&mut connection)
            .await?;
        if has_demo {
            return Ok(false);
        }
        let claimed: Option<String> = redis::cmd("SET")
            .arg(self.keys.demo_history())
            .arg(format!("writing since {now_ms}"))
            .arg("NX")
            .query_async(&mut connection)
            .await?;
        Ok(claimed.is_some())
    }

    /// Records how writing `--demo`'s history ended (`done: …`, `stopped: …`, `failed …`).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn finish_demo_history(&self, outcome: &str) -> Result<(), StorageError> {
        let () = redis::cmd("SET")
            .arg(self.keys.demo_history())
            .arg(outcome)
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// How writing `--demo`'s history went: `None` when no process claimed it, else
    /// `writing since <ms>` while it is written, then `done: …`, `stopped: …` or `failed …`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn demo_history(&self) -> Result<Option<String>, StorageError> {
        Ok(redis::cmd("GET")
            .arg(self.keys.demo_history())
            .query_async(&mut self.connection())
            .await?)
    }
}
