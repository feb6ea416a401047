//! What the run measures besides its own tallies: livedash's count of points stored, and
//! Redis's memory.

use std::collections::BTreeMap;

use app::clock::now_ms;
use app::query::QueryResult;

use crate::ADMIN_TOKEN;
use crate::load::{clip, error_chain};

/// livedash's own count of points stored (`livedash_points_stored_total`: every 10 s, the
/// points stored since its previous record), by the second of each record.
#[derive(Default)]
pub struct StoredPoints {
    records: BTreeMap<i64, f64>,
}

impl StoredPoints {
    /// Reads the records from `from_ms` on, through the query API.
    pub async fn refresh(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        from_ms: i64,
    ) -> Result<(), String> {
        let url = format!(
            "{base}/api/v1/query?query=livedash_points_stored_total&agg=sum&step=1s&group_by=\
             &from={from_ms}&to={}",
            now_ms() + 1_000
        );
        let response = client
            .get(url)
            .header("authorization", format!("Token {ADMIN_TOKEN}"))
            .send()
            .await
            .map_err(|error| error_chain(&error))?;
        let status = response.status();
        let text = response.text().await.map_err(|error| error_chain(&error))?;
        if !status.is_success() {
            return Err(format!("{status}: {}", clip(&text)));
        }
        let result: QueryResult = serde_json::from_str(&text)
            .map_err(|error| format!("unreadable answer ({error}): {}", clip(&text)))?;
        for line in result.series {
            self.records.extend(line.points);
        }
        Ok(())
    }

    /// Points stored per second in `(from_ms, to_ms]`. Each record counts what was stored since
    /// the one before, so the span runs from the last record before the window to the last one
    /// in it.
    pub fn per_second(&self, from_ms: i64, to_ms: i64) -> Option<f64> {
        let mut inside = self.records.range(from_ms + 1..=to_ms);
        let start = match self.records.range(..=from_ms).next_back() {
            Some((&at, _)) => at,
            None => *inside.next()?.0,
        };
        let counted: Vec<(&i64, &f64)> = inside.collect();
        let &(&end, _) = counted.last()?;
        let points: f64 = counted.iter().map(|&(_, &points)| points).sum();
        (end > start).then(|| points * 1000.0 / (end - start) as f64)
    }
}

/// A field of Redis's `INFO <section>`.
pub fn redis_info(
    connection: &mut server::testing::TestConnection,
    section: &str,
    field: &str,
) -> Option<String> {
    // A blocking call of a millisecond on loopback; the runtime is told so.
    let info: String =
        tokio::task::block_in_place(|| redis::cmd("INFO").arg(section).query(connection).ok())?;
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(|value| value.trim().to_owned())
}

pub fn redis_used_memory(connection: &mut server::testing::TestConnection) -> Option<u64> {
    redis_info(connection, "memory", "used_memory")?
        .parse()
        .ok()
}
