//! Storage figures: Redis bytes per raw point and per rollup bucket (`MEMORY USAGE`), and the
//! latency of a 24 h query at a 1-minute step over 100 series.
//!
//! `cargo run --release -p server --example bench_storage` (or `make bench-storage`). It starts
//! its own `redis-server`; nothing else is touched. Prints Markdown.

use std::time::Instant;

use app::model::{MetricKind, Observation, Observed, SeriesKey};
use app::query::{Aggregation, Query, Selector, TimeRange};
use server::Livedash;
use server::config::TIERS;
use server::storage::SeriesId;
use server::storage::keys::{CHUNK_BUCKETS, RAW_CHUNK_MS, RAW_RECORD, open_bucket_field};
use server::storage::query::chunk_bucket_count;
use server::testing::RedisServer;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

#[tokio::main]
async fn main() {
    let redis = RedisServer::start();
    let vars = [
        ("REDIS_URL", redis.url()),
        ("LIVEDASH_STATSD_ADDR", "off".to_owned()),
    ];
    let config = server::testing::config(&vars);
    let livedash = Livedash::start(config).await.unwrap();
    let store = livedash.state().store.clone();
    let keys = store.keys().clone();
    let mut connection = redis.connection();
    let now = app::clock::now_ms();

    // Memory: 20 gauge series × 5 000 raw points, one a second, realistic values.
    let (series_count, points_each) = (20, 5_000);
    let start = now - points_each * 1000;
    let series: Vec<SeriesKey> = (0..series_count)
        .map(|i| SeriesKey::new("mem_probe").with_label("host", format!("web-{i:02}")))
        .collect();
    for chunk_start in (0..points_each).step_by(500) {
        let batch: Vec<Observation> = series
            .iter()
            .flat_map(|key| {
                (chunk_start..chunk_start + 500).map(move |i| Observation {
                    series: key.clone(),
                    kind: MetricKind::Gauge,
                    ts: start + i * 1000,
                    value: Observed::Number(((i * 37) % 1000) as f64 / 10.0),
                })
            })
            .collect();
        store.write_now(&batch).await.unwrap();
    }
    let memory = |key: &str, connection: &mut server::testing::TestConnection| -> u64 {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query::<Option<u64>>(connection)
            .unwrap()
            .unwrap_or(0)
    };
    let mut meta_bytes = 0;
    let mut raw_bytes = 0;
    let mut raw_points = 0;
    let mut rollup = vec![(0u64, 0u64); TIERS.len()];
    for key in &series {
        let id = SeriesId::of(key);
        meta_bytes += memory(&keys.meta(&id), &mut connection);
        for chunk in start.div_euclid(RAW_CHUNK_MS)..=now.div_euclid(RAW_CHUNK_MS) {
            let key = keys.raw_chunk(&id, chunk);
            raw_bytes += memory(&key, &mut connection);
            let length: u64 = redis::cmd("STRLEN")
                .arg(&key)
                .query(&mut connection)
                .unwrap();
            raw_points += length / RAW_RECORD as u64;
        }
        for (tier, (name, width)) in TIERS.iter().enumerate() {
            let first = start.div_euclid(*width).div_euclid(CHUNK_BUCKETS);
            let last = now.div_euclid(*width).div_euclid(CHUNK_BUCKETS);
            for chunk in first..=last {
                let key = keys.rollup_chunk(&id, name, chunk);
                rollup[tier].0 += memory(&key, &mut connection);
                let chunk: Option<Vec<u8>> =
                    redis::cmd("GET").arg(&key).query(&mut connection).unwrap();
                rollup[tier].1 += chunk.map_or(0, |bytes| chunk_bucket_count(&bytes)) as u64;
            }
            // The tier's open bucket, kept in the meta hash (counted in its row).
            let open: bool = redis::cmd("HEXISTS")
                .arg(keys.meta(&id))
                .arg(open_bucket_field(name))
                .query(&mut connection)
                .unwrap();
            rollup[tier].1 += u64::from(open);
        }
    }
    println!("## Redis memory ({series_count} series × {points_each} points, 1 s apart)\n");
    println!("| what | bytes | items | bytes per item |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| raw points (chunk strings) | {raw_bytes} | {raw_points} | {:.1} |",
        raw_bytes as f64 / raw_points as f64
    );
    for ((name, _), (bytes, buckets)) in TIERS.iter().zip(&rollup) {
        println!(
            "| {name} rollup buckets (chunk strings; the open one in the meta hash) | {bytes} | {buckets} | {:.1} |",
            *bytes as f64 / (*buckets).max(1) as f64
        );
    }
    println!(
        "| meta hashes (kind, current value, the four open buckets) | {meta_bytes} | {series_count} | {:.1} |",
        meta_bytes as f64 / series_count as f64
    );

    // Query latency: 100 series, 24 h at one point per 30 s, then avg at a 1-minute step.
    let hosts: Vec<SeriesKey> = (0..100)
        .map(|i| SeriesKey::new("query_probe").with_label("host", format!("h{i:03}")))
        .collect();
    let day_start = now - 24 * HOUR;
    let mut written = 0;
    for window in (0..24 * 120).collect::<Vec<i64>>().chunks(50) {
        let batch: Vec<Observation> = hosts
            .iter()
            .flat_map(|key| {
                window.iter().map(move |i| Observation {
                    series: key.clone(),
                    kind: MetricKind::Gauge,
                    ts: day_start + i * 30_000,
                    value: Observed::Number((*i % 97) as f64),
                })
            })
            .collect();
        written += batch.len();
        store.write_now(&batch).await.unwrap();
    }
    let query = Query {
        selector: Selector::parse("query_probe").unwrap(),
        range: TimeRange::Last { ms: 24 * HOUR },
        step_ms: Some(MINUTE),
        aggregation: Aggregation::Avg,
        group_by: None,
    };
    let mut timings = Vec::new();
    let mut points = 0;
    for _ in 0..40 {
        let started = Instant::now();
        let result = store.query(&query, app::clock::now_ms()).await.unwrap();
        timings.push(started.elapsed().as_secs_f64() * 1000.0);
        points = result.series.iter().map(|s| s.points.len()).sum::<usize>();
        assert_eq!(result.series.len(), 100);
    }
    timings.sort_by(f64::total_cmp);
    println!(
        "\n## Query: 24 h at a 1-minute step over 100 series ({written} points stored, {points} returned)\n"
    );
    println!("| runs | p50 ms | p90 ms | max ms |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| {} | {:.1} | {:.1} | {:.1} |",
        timings.len(),
        timings[timings.len() / 2],
        timings[timings.len() * 9 / 10],
        timings[timings.len() - 1]
    );
}
