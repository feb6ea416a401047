//! The history of transitions: a stream trimmed by age, read newest first.

use app::alerts::api::HistoryEntry;

use super::AlertError;
use crate::storage::Store;

impl Store {
    /// The newest `count` transitions (of one rule, when given), newest first.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn alert_history(
        &self,
        rule_id: Option<&str>,
        count: usize,
    ) -> Result<Vec<HistoryEntry>, AlertError> {
        let mut found = Vec::new();
        let mut end = "+".to_owned();
        // Read in pages until `count` entries of the rule are found or the stream ends.
        loop {
            let page: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
                .arg(self.alert_key("history"))
                .arg(&end)
                .arg("-")
                .arg("COUNT")
                .arg(500)
                .query_async(&mut self.connection())
                .await?;
            let last = page.len() < 500;
            for (id, fields) in page {
                end = format!("({id}");
                let Some((_, json)) = fields.into_iter().find(|(f, _)| f == "e") else {
                    continue;
                };
                let Ok(mut entry) = serde_json::from_str::<HistoryEntry>(&json) else {
                    continue;
                };
                if rule_id.is_some_and(|rule| rule != entry.rule_id) {
                    continue;
                }
                entry.id = id;
                found.push(entry);
                if found.len() >= count {
                    return Ok(found);
                }
            }
            if last {
                return Ok(found);
            }
        }
    }
}
