//! The report: a row per interval, whether the run stayed flat, and the totals, in Markdown.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::admin::soak_dashboard;
use crate::load::Load;
use crate::support::{Livedash, p50_p99};
use crate::viewers::viewer_queries;
use crate::workload::{
    CLOCK_METRIC, CONNECTING_AT_ONCE, EVENTS_BATCH, EVENTS_EVERY, GAUGE_GROUPS, GAUGES,
    INFLUX_EVERY, INFLUX_FIELDS, INFLUX_HOSTS, JSON_BATCH, JSON_EVERY, JSON_SERIES,
    LIST_EVERY_SAVES, PATHS, POINTS_PER_EVENT, REGIONS, REQUESTS_IN_FLIGHT, ROUTES, SAVE_EVERY,
    SETTLE, STATSD_EVERY, STATSD_LINES, STATSD_LINES_PER_DATAGRAM, USERS, VIEWERS,
};

/// Rows at each end of the run whose medians are compared.
const ENDS: usize = 5;
/// "Flat" for memory: the last rows' median at most this times the first rows'.
const MEMORY_TOLERANCE: f64 = 1.2;
/// "Flat" for points stored per second: the last rows' median at least this times the first
/// rows'; also how much of the intended load must be reached for the figures to count.
const THROUGHPUT_TOLERANCE: f64 = 0.9;
/// "Flat" for p99 latency: at most this times the first rows' median...
const LATENCY_TOLERANCE: f64 = 1.5;
/// ...or at most this much higher, since a p99 of a few ms jitters by that much on a shared
/// machine.
const LATENCY_SLACK_MS: f64 = 10.0;

/// One interval of the run.
pub struct Row {
    /// Minutes since the soak started, at the end of the interval.
    pub minute: f64,
    pub rss: Option<u64>,
    pub redis_memory: Option<u64>,
    /// Growth of Redis's memory in the interval per point stored in it.
    pub redis_bytes_per_point: Option<f64>,
    pub open_files: Option<usize>,
    pub sent_per_second: f64,
    pub stored_per_second: Option<f64>,
    /// (samples, p50, p99), ms.
    pub ingest: (usize, f64, f64),
    pub live: (usize, f64, f64),
    pub save: (usize, f64, f64),
    pub errors: u64,
    pub viewers: usize,
    pub disconnects: u64,
}

pub const TABLE_HEADER: &str = "| minute | livedash RSS MB | Redis used_memory MB | points/s sent / stored | \
HTTP ingest p50 / p99 ms | live delivery p50 / p99 ms | dashboard save p50 / p99 ms | errors | \
viewers connected | disconnects |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |";

/// `1`, `1.33`: minutes without trailing zeros.
pub fn minutes_text(minutes: f64) -> String {
    let text = format!("{minutes:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `1 minute`, `2.5 minutes`.
pub fn minutes_phrase(minutes: f64) -> String {
    match minutes_text(minutes).as_str() {
        "1" => "1 minute".to_owned(),
        text => format!("{text} minutes"),
    }
}

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or("–".to_owned(), |bytes| {
        format!("{:.1}", bytes as f64 / 1e6)
    })
}

fn in_megabytes(bytes: Option<u64>) -> f64 {
    bytes.map_or(f64::NAN, |bytes| bytes as f64 / 1e6)
}

/// A number with `decimals`, or a dash for none.
fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        "–".to_owned()
    }
}

pub fn row_line(row: &Row) -> String {
    let pair =
        |(_, p50, p99): (usize, f64, f64)| format!("{} / {}", number(p50, 1), number(p99, 1));
    format!(
        "| {} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
        minutes_text(row.minute),
        megabytes(row.rss),
        megabytes(row.redis_memory),
        number(row.sent_per_second, 0),
        number(row.stored_per_second.unwrap_or(f64::NAN), 0),
        pair(row.ingest),
        pair(row.live),
        pair(row.save),
        row.errors,
        row.viewers,
        row.disconnects,
    )
}

/// The median of the finite values, NaN when there are none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.filter(|value| value.is_finite()).collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// How a measure counts as flat.
#[derive(Clone, Copy)]
enum Flat {
    /// The last rows' median at most this times the first rows'.
    AtMost(f64),
    /// The last rows' median at least this times the first rows'.
    AtLeast(f64),
    /// A latency: [`LATENCY_TOLERANCE`] times, or [`LATENCY_SLACK_MS`] more.
    Latency,
    /// Not expected to be flat; the text says why.
    NotExpected(&'static str),
}

impl Flat {
    fn rule(self) -> String {
        match self {
            Self::AtMost(most) => format!("ratio ≤ {most}"),
            Self::AtLeast(least) => format!("ratio ≥ {least}"),
            Self::Latency => {
                format!("ratio ≤ {LATENCY_TOLERANCE} or at most {LATENCY_SLACK_MS} ms more")
            }
            Self::NotExpected(why) => why.to_owned(),
        }
    }

    /// `None` when it cannot be judged (no values, or not expected to be flat).
    fn holds(self, first: f64, last: f64) -> Option<bool> {
        if !first.is_finite() || !last.is_finite() {
            return None;
        }
        match self {
            Self::AtMost(most) => Some(last <= first * most),
            Self::AtLeast(least) => Some(last >= first * least),
            Self::Latency => {
                Some(last <= first * LATENCY_TOLERANCE || last - first <= LATENCY_SLACK_MS)
            }
            Self::NotExpected(_) => None,
        }
    }
}

/// What the report says about the run besides its rows.
pub struct Run {
    pub started: SystemTime,
    pub minutes: f64,
    pub sample_seconds: u64,
    pub binary: String,
    pub redis_version: String,
    pub cores: usize,
    pub viewers_ready: usize,
    pub connecting: Duration,
    /// Why the run stopped before its time, if it did.
    pub cut_short: Option<String>,
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc_text(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs()) as i64;
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil: one date does not warrant a date crate.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3_600,
        of_day % 3_600 / 60
    )
}

/// The command as run, with the settings that were given.
fn command_line() -> String {
    let mut parts: Vec<String> = [
        "LIVEDASH_BIN",
        "SOAK_MINUTES",
        "SAMPLE_SECONDS",
        "SOAK_REPORT",
    ]
    .into_iter()
    .filter_map(|name| Some(format!("{name}={}", std::env::var(name).ok()?)))
    .collect();
    parts.push("cargo run --release -p server --example soak".to_owned());
    parts.join(" ")
}

fn per_second(every: Duration, count: usize) -> f64 {
    count as f64 / every.as_secs_f64()
}

/// Points a second the load should have livedash store.
fn intended_points_per_second() -> f64 {
    per_second(JSON_EVERY, JSON_BATCH + 1)
        + per_second(INFLUX_EVERY, INFLUX_HOSTS * INFLUX_FIELDS)
        + per_second(STATSD_EVERY, STATSD_LINES)
        + per_second(EVENTS_EVERY, EVENTS_BATCH * POINTS_PER_EVENT)
}

fn workload_text(run: &Run) -> String {
    let json_points = per_second(JSON_EVERY, JSON_BATCH);
    let influx_lines = per_second(INFLUX_EVERY, INFLUX_HOSTS);
    let statsd_lines = per_second(STATSD_EVERY, STATSD_LINES);
    let events = per_second(EVENTS_EVERY, EVENTS_BATCH);
    let expected = intended_points_per_second();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "For {}, all at once, against livedash with access control on (an ingest token \
         for the writes, a viewer token for the sockets, the admin token for the dashboard), \
         rate limits and the per-address socket cap off, its own metrics on:\n",
        minutes_phrase(run.minutes)
    );
    let _ = writeln!(
        text,
        "- **JSON ingest** (`/api/v1/ingest`): a batch every {} ms of {JSON_BATCH} points of \
         {JSON_SERIES} series in turn ({GAUGES} gauges in {GAUGE_GROUPS} groups, {ROUTES} \
         counters, {ROUTES} histograms), {json_points:.0} points/s, plus in every batch one \
         point of `{CLOCK_METRIC}` whose value is the time the request was sent.",
        JSON_EVERY.as_millis()
    );
    let _ = writeln!(
        text,
        "- **InfluxDB line protocol** (`/api/v2/write`, precision ms): every {} ms a line of \
         {INFLUX_FIELDS} fields for each of {INFLUX_HOSTS} hosts in {REGIONS} regions, \
         {influx_lines:.0} lines/s.",
        INFLUX_EVERY.as_millis()
    );
    let _ = writeln!(
        text,
        "- **StatsD** over UDP: every {} ms {STATSD_LINES} lines ({STATSD_LINES_PER_DATAGRAM} a \
         datagram; counters, `ms` timers, gauges and sets in turn, with tags), \
         {statsd_lines:.0} lines/s.",
        STATSD_EVERY.as_millis()
    );
    let _ = writeln!(
        text,
        "- **Analytics events** (`/api/v1/events`): every {} ms {EVENTS_BATCH} `page_view`s \
         from {USERS} users over {} paths, {events:.0} events/s.",
        EVENTS_EVERY.as_millis(),
        PATHS.len()
    );
    let _ = writeln!(
        text,
        "- **{VIEWERS} live viewers** (`/api/v1/live`), each with {} range subscriptions \
         (1 s steps over a 1-minute window): `{CLOCK_METRIC}` (max), the gauges by group, the \
         counters' rate, the histograms' p99, the InfluxDB CPU by region, the page views, and \
         one gauge series of its own. They apply snapshots and deltas as the browser does and, \
         when a socket ends, reconnect with the browser's backoff and resume from their \
         cursors. Live delivery latency: from sending an ingest request to a viewer receiving \
         the delta that shows its `{CLOCK_METRIC}` point. Connecting them took {:.1} s \
         ({} of {VIEWERS} connected; {CONNECTING_AT_ONCE} handshakes at a time).",
        viewer_queries(0).len(),
        run.connecting.as_secs_f64(),
        run.viewers_ready,
    );
    let _ = writeln!(
        text,
        "- **Editing**: an admin saves an {}-widget dashboard every {} s, a widget moved or \
         retitled each time (from the version it last saved), and lists the dashboards every \
         {} s, checking the list shows that version.\n",
        soak_dashboard().widgets.len(),
        SAVE_EVERY.as_secs(),
        SAVE_EVERY.as_secs() * LIST_EVERY_SAVES
    );
    let _ = writeln!(
        text,
        "That is about {expected:.0} points/s stored (an event is two: its counter and its \
         unique-users set). HTTP requests of one kind are at most {REQUESTS_IN_FLIGHT} in flight, \
         and a tick missed is skipped, not made up: when livedash or the machine cannot keep \
         up, fewer points are sent. The load generator, livedash and Redis share \
         the machine's {} cores. Rows start {} s after the viewers connected. \"Points/s \
         stored\" is livedash's own `livedash_points_stored_total`; \"errors\" counts non-2xx \
         answers and transport errors of every kind, failed or conflicting saves, stale lists, \
         failed viewer connections and live protocol faults (gaps, refused subscriptions).",
        run.cores,
        SETTLE.as_secs()
    );
    text
}

pub fn report(run: &Run, rows: &[Row], load: &Load, livedash: &Livedash) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Soak: {} of mixed load\n",
        minutes_phrase(run.minutes)
    );
    let _ = writeln!(
        text,
        "Run {} with `{}` (livedash `{}`, Redis {}, {} cores).\n",
        utc_text(run.started),
        command_line(),
        run.binary,
        run.redis_version,
        run.cores
    );
    if let Some(why) = &run.cut_short {
        let _ = writeln!(text, "**The run was cut short: {why}.**\n");
    }
    let _ = writeln!(text, "## Workload\n\n{}", workload_text(run));
    let _ = writeln!(text, "## Every {} s\n\n{TABLE_HEADER}", run.sample_seconds);
    for row in rows {
        let _ = writeln!(text, "{}", row_line(row));
    }
    text.push_str(&summary(run, rows, load));
    text.push_str(&totals(load, livedash));
    text
}

fn summary(run: &Run, rows: &[Row], load: &Load) -> String {
    let mut text = String::from("\n## Summary\n\n");
    // Never overlapping, so a short run compares its halves.
    let ends = ENDS.min(rows.len() / 2);
    if ends == 0 {
        let _ = writeln!(
            text,
            "Too few rows to compare the start of the run with its end: nothing is judged."
        );
        return text;
    }
    let (first, last) = (&rows[..ends], &rows[rows.len() - ends..]);
    let _ = writeln!(
        text,
        "The median of the first {ends} rows against the median of the last {ends}:\n\n\
         | measure | first {ends} | last {ends} | ratio | flat means | verdict |\n\
         | --- | --- | --- | --- | --- | --- |"
    );
    // Name, unit, what counts as flat, and the value in a row.
    type Measure = (&'static str, &'static str, Flat, fn(&Row) -> f64);
    let measures: [Measure; 8] = [
        (
            "livedash RSS",
            " MB",
            Flat::AtMost(MEMORY_TOLERANCE),
            |row| in_megabytes(row.rss),
        ),
        (
            "Redis used_memory",
            " MB",
            Flat::NotExpected("not expected: it holds the data kept (raw points 24 h, events 7 d)"),
            |row| in_megabytes(row.redis_memory),
        ),
        (
            "Redis growth per point stored",
            " B",
            Flat::AtMost(MEMORY_TOLERANCE),
            |row| row.redis_bytes_per_point.unwrap_or(f64::NAN),
        ),
        (
            "livedash open files",
            "",
            Flat::AtMost(MEMORY_TOLERANCE),
            |row| row.open_files.map_or(f64::NAN, |files| files as f64),
        ),
        (
            "points stored",
            "/s",
            Flat::AtLeast(THROUGHPUT_TOLERANCE),
            |row| row.stored_per_second.unwrap_or(f64::NAN),
        ),
        ("HTTP ingest p99", " ms", Flat::Latency, |row| row.ingest.2),
        ("live delivery p99", " ms", Flat::Latency, |row| row.live.2),
        ("dashboard save p99", " ms", Flat::Latency, |row| row.save.2),
    ];
    let mut not_flat = Vec::new();
    let mut unjudged = Vec::new();
    for (name, unit, flat, value) in measures {
        let before = median(first.iter().map(value));
        let after = median(last.iter().map(value));
        let decimals = usize::from(unit == " MB" || unit == " ms");
        let verdict = match flat.holds(before, after) {
            Some(true) => "flat",
            Some(false) => {
                not_flat.push(name);
                "**NOT flat**"
            }
            None if matches!(flat, Flat::NotExpected(_)) => "–",
            None => {
                unjudged.push(name);
                "no data"
            }
        };
        let _ = writeln!(
            text,
            "| {name} | {}{unit} | {}{unit} | {} | {} | {verdict} |",
            number(before, decimals),
            number(after, decimals),
            number(after / before, 2),
            flat.rule()
        );
    }
    let _ = write!(text, "\n**Verdict:** ");
    if not_flat.is_empty() && unjudged.is_empty() {
        let _ = write!(
            text,
            "memory, throughput and latency stayed flat within the tolerances above"
        );
    }
    if !not_flat.is_empty() {
        let _ = write!(
            text,
            "the tolerance is **not met** for {}",
            not_flat.join(", ")
        );
    }
    if !unjudged.is_empty() {
        let _ = write!(
            text,
            "{}no data to judge {}",
            if not_flat.is_empty() { "" } else { "; " },
            unjudged.join(", ")
        );
    }
    if run.cut_short.is_some() {
        let _ = write!(text, " (in a run cut short)");
    }
    let errors: u64 = load
        .tallies()
        .iter()
        .map(|tally| tally.failed.load(Ordering::Relaxed))
        .sum();
    let _ = writeln!(
        text,
        "; {errors} errors and {} viewer disconnects in all (warm-up included).",
        load.disconnects.load(Ordering::Relaxed)
    );
    let stored = median(rows.iter().filter_map(|row| row.stored_per_second));
    let intended = intended_points_per_second();
    let _ = writeln!(
        text,
        "\nPoints stored: a median of {} a second, {}% of the {intended:.0} intended{}",
        number(stored, 0),
        number(100.0 * stored / intended, 0),
        if stored >= intended * THROUGHPUT_TOLERANCE {
            "."
        } else {
            ": **the intended load was not reached** (livedash, or the machine it shares \
             with the load generator and Redis, did not keep up), so the figures above are for \
             less load than described."
        }
    );
    text
}

fn totals(load: &Load, livedash: &Livedash) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\n## Over the whole run (warm-up included)\n\n| traffic | succeeded | failed | p50 ms | \
         p99 ms | first failures |\n| --- | --- | --- | --- | --- | --- |"
    );
    for tally in load.tallies() {
        let mut latencies =
            std::mem::take(&mut *tally.latencies_ms.lock().expect("never poisoned"));
        let (p50, p99) = p50_p99(&mut latencies);
        let failures = tally.first_failures.lock().expect("never poisoned");
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} |",
            tally.name,
            tally.succeeded.load(Ordering::Relaxed),
            tally.failed.load(Ordering::Relaxed),
            number(p50, 1),
            number(p99, 1),
            failures
                .iter()
                .map(|why| format!("`{}`", why.replace(['|', '`', '\n'], " ")))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let reasons = load.close_reasons.lock().expect("never poisoned");
    let _ = writeln!(
        text,
        "\nLive viewers: {} disconnects, {} reconnects, {} notices of a degraded stream.",
        load.disconnects.load(Ordering::Relaxed),
        load.reconnects.load(Ordering::Relaxed),
        load.degraded_notices.load(Ordering::Relaxed),
    );
    for (reason, count) in reasons.iter() {
        let _ = writeln!(text, "- {count} × {reason}");
    }
    let log = livedash.log.lock().expect("never poisoned");
    let _ = writeln!(
        text,
        "\nlivedash logged {} warnings and {} errors{}",
        log.warnings,
        log.errors,
        if log.first.is_empty() {
            ".".to_owned()
        } else {
            format!(
                "; the first {}:\n\n```text\n{}\n```",
                log.first.len(),
                log.first.join("\n")
            )
        }
    );
    text
}
