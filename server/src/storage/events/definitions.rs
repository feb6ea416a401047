//! Funnel and experiment definitions: reading, creating and deleting them.

use app::events::{AnalyticsChange, AnalyticsDefinitions, Experiment, Funnel, check_id};

use super::error::AnalyticsError;
use crate::storage::keys::random_hex;
use crate::storage::slots::Batch;
use crate::storage::{StorageError, Store};

impl Store {
    /// Every funnel and experiment.
    ///
    /// # Errors
    /// Redis failed or holds something livedash did not write.
    pub async fn definitions(&self) -> Result<AnalyticsDefinitions, StorageError> {
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        batch.cmd("HVALS", &self.keys.funnels());
        batch.cmd("HVALS", &self.keys.experiments());
        let stored = batch.query(&connection).await?;
        self.decode_definitions(stored)
    }

    /// The funnels and experiments from their hashes' values, sorted by name.
    pub(super) fn decode_definitions(
        &self,
        (funnels, experiments): (Vec<String>, Vec<String>),
    ) -> Result<AnalyticsDefinitions, StorageError> {
        let corrupt = |key: String| {
            move |error: serde_json::Error| StorageError::Corrupt {
                key,
                reason: error.to_string(),
            }
        };
        let mut definitions = AnalyticsDefinitions {
            funnels: funnels
                .iter()
                .map(|json| serde_json::from_str(json))
                .collect::<Result<_, _>>()
                .map_err(corrupt(self.keys.funnels()))?,
            experiments: experiments
                .iter()
                .map(|json| serde_json::from_str(json))
                .collect::<Result<_, _>>()
                .map_err(corrupt(self.keys.experiments()))?,
        };
        definitions
            .funnels
            .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        definitions
            .experiments
            .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(definitions)
    }

    /// Applies a change from the analytics page and returns the definitions after it.
    ///
    /// # Errors
    /// An invalid definition, an unknown id, or storage failed.
    pub async fn change_analytics(
        &self,
        change: AnalyticsChange,
        now_ms: i64,
    ) -> Result<AnalyticsDefinitions, AnalyticsError> {
        let mut connection = self.connection();
        match change {
            AnalyticsChange::CreateFunnel {
                mut funnel,
                backfill,
            } => {
                funnel.validate().map_err(AnalyticsError::Invalid)?;
                funnel.id = random_hex::<8>("a funnel id")?;
                funnel.created_ms = now_ms;
                funnel.counts_from_ms = None;
                if backfill {
                    funnel.counts_from_ms = Some(self.backfill(&funnel).await?.unwrap_or(now_ms));
                }
                let json = serde_json::to_string(&funnel).unwrap_or_default();
                let () = redis::cmd("HSET")
                    .arg(self.keys.funnels())
                    .arg(&funnel.id)
                    .arg(json)
                    .query_async(&mut connection)
                    .await
                    .map_err(StorageError::from)?;
            }
            AnalyticsChange::DeleteFunnel { id } => {
                let funnel = self.funnel(&id).await?;
                let connection = self.connection();
                let mut batch = Batch::new(&connection);
                batch.ignored("HDEL", &self.keys.funnels()).arg(&id);
                batch
                    .ignored("DEL", &self.keys.funnel_depths(&id))
                    .arg(self.keys.funnel_counts(&id));
                for step in 0..funnel.steps.len() {
                    batch.ignored("DEL", &self.keys.funnel_gaps(&id, step));
                }
                let () = batch.query(&connection).await?;
            }
            AnalyticsChange::CreateExperiment { mut experiment } => {
                experiment.validate().map_err(AnalyticsError::Invalid)?;
                experiment.created_ms = now_ms;
                let json = serde_json::to_string(&experiment).unwrap_or_default();
                let created: bool = redis::cmd("HSETNX")
                    .arg(self.keys.experiments())
                    .arg(&experiment.id)
                    .arg(json)
                    .query_async(&mut connection)
                    .await
                    .map_err(StorageError::from)?;
                if !created {
                    return Err(AnalyticsError::Invalid(format!(
                        "an experiment with id {:?} exists already",
                        experiment.id
                    )));
                }
            }
            AnalyticsChange::DeleteExperiment { id } => {
                let experiment = self.experiment(&id).await?;
                let connection = self.connection();
                let mut batch = Batch::new(&connection);
                batch.ignored("HDEL", &self.keys.experiments()).arg(&id);
                batch.ignored("DEL", &self.keys.experiment_min_p(&id));
                for variant in 0..experiment.variants.len() {
                    batch
                        .ignored("DEL", &self.keys.experiment_exposed(&id, variant))
                        .arg(self.keys.experiment_converted(&id, variant));
                }
                let () = batch.query(&connection).await?;
            }
        }
        Ok(self.definitions().await?)
    }

    /// Marks funnel `id` as counting from `from_ms`: `--demo` makes its funnel before it
    /// records its history, with older times, through it.
    ///
    /// # Errors
    /// No such funnel, or storage failed.
    pub async fn set_funnel_counts_from(
        &self,
        id: &str,
        from_ms: i64,
    ) -> Result<(), AnalyticsError> {
        let mut funnel = self.funnel(id).await?;
        funnel.counts_from_ms = Some(from_ms.min(funnel.created_ms));
        let json = serde_json::to_string(&funnel).unwrap_or_default();
        let () = redis::cmd("HSET")
            .arg(self.keys.funnels())
            .arg(id)
            .arg(json)
            .query_async(&mut self.connection())
            .await
            .map_err(StorageError::from)?;
        Ok(())
    }

    pub(crate) async fn funnel(&self, id: &str) -> Result<Funnel, AnalyticsError> {
        self.definition(self.keys.funnels(), id, "funnel").await
    }

    pub(crate) async fn experiment(&self, id: &str) -> Result<Experiment, AnalyticsError> {
        check_id(id).map_err(AnalyticsError::NotFound)?;
        self.definition(self.keys.experiments(), id, "experiment")
            .await
    }

    /// One definition from the hash `key` (`what` names it in the error).
    async fn definition<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
        id: &str,
        what: &str,
    ) -> Result<T, AnalyticsError> {
        let json: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg(id)
            .query_async(&mut self.connection())
            .await
            .map_err(StorageError::from)?;
        let json = json.ok_or_else(|| AnalyticsError::NotFound(format!("no {what} {id:?}")))?;
        serde_json::from_str(&json).map_err(|error| {
            AnalyticsError::Storage(StorageError::Corrupt {
                key,
                reason: error.to_string(),
            })
        })
    }
}
