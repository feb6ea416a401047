//! Forgetting one user in funnels and experiments: their funnel progress and recent matching
//! events, and their place among each variant's exposed and converted users.

use crate::storage::keys::name_hash;
use crate::storage::slots::Batch;
use crate::storage::{StorageError, Store};

impl Store {
    /// Removes `user_id` from every funnel and experiment. Counts they were part of stay.
    ///
    /// # Errors
    /// Redis failed.
    pub(crate) async fn forget_event_user(&self, user_id: &str) -> Result<(), StorageError> {
        let definitions = self.definitions().await?;
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        let member = name_hash(user_id);
        for funnel in &definitions.funnels {
            batch.ignored("DEL", &self.keys.funnel_user(&funnel.id, user_id));
            batch
                .ignored("HDEL", &self.keys.funnel_depths(&funnel.id))
                .arg(&member);
        }
        for experiment in &definitions.experiments {
            for variant in 0..experiment.variants.len() {
                batch
                    .ignored(
                        "SREM",
                        &self.keys.experiment_exposed(&experiment.id, variant),
                    )
                    .arg(user_id);
                batch
                    .ignored(
                        "SREM",
                        &self.keys.experiment_converted(&experiment.id, variant),
                    )
                    .arg(user_id);
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        let () = batch.query(&connection).await?;
        Ok(())
    }
}
