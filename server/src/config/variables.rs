//! Every environment variable livedash reads, once: `livedash --help` and the table in
//! `docs/configuration.md` are made from this list, and a test fails when the configuration
//! reads a variable that is not in it.

/// One environment variable: its name, its default (Markdown) and what it means (Markdown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Every variable, in the order `--help` and the docs list them.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "LIVEDASH_ADDR",
        default: "`127.0.0.1:3000`",
        meaning: "address the HTTP server listens on",
    },
    Variable {
        name: "REDIS_URL",
        default: "unset",
        meaning: "Redis to use (`redis://[user:pass@]host[:port][/db]`, `redis+unix:///path`), or the seed nodes of a Redis Cluster separated by commas (database 0 only); unset starts a managed `redis-server`",
    },
    Variable {
        name: "LIVEDASH_REDIS_CLUSTER",
        default: "`auto`",
        meaning: "whether `REDIS_URL` is a Redis Cluster: `auto` asks the first seed that answers (`INFO cluster`), `on`, or `off`",
    },
    Variable {
        name: "LIVEDASH_REDIS_WAIT_REPLICAS",
        default: "`0`",
        meaning: "replicas that must hold a metrics write before it is acknowledged (Redis `WAIT`, up to 1 s, else 503): with 1 or more, a master that fails over keeps every acknowledged point; with 0, the last writes before a failover can be lost (Redis replicates asynchronously)",
    },
    Variable {
        name: "LIVEDASH_INSTANCE",
        default: "host name and port",
        meaning: "this process's name among several on one Redis: the `instance` label of its own metrics (the process id replaces the port when the port is 0)",
    },
    Variable {
        name: "LIVEDASH_LIVE_PARTITIONS",
        default: "`auto`",
        meaning: "how many partitions the change log behind live push is spread over, each a Redis stream and a sharded pub/sub channel placed on its own part of a cluster's slots (`auto`: 1 on a single Redis, 8 on a Redis Cluster; 1 to 64); every process on one Redis must use the same number",
    },
    Variable {
        name: "LIVEDASH_DATA_DIR",
        default: "`./data`",
        meaning: "data directory of the managed Redis (append-only file, `redis.log`, `redis.pid`)",
    },
    Variable {
        name: "LIVEDASH_REDIS_SERVER",
        default: "`redis-server`",
        meaning: "executable the managed Redis runs",
    },
    Variable {
        name: "LIVEDASH_KEY_PREFIX",
        default: "`ld:`",
        meaning: "prefix of every Redis key and channel (no braces or spaces)",
    },
    Variable {
        name: "LIVEDASH_SITE_ROOT",
        default: "`target/site`",
        meaning: "directory holding the built `pkg/` (WASM, JS, CSS) and public assets",
    },
    Variable {
        name: "LIVEDASH_MAX_BODY_BYTES",
        default: "`16777216`",
        meaning: "largest accepted request body",
    },
    Variable {
        name: "LIVEDASH_MAX_BATCH_SAMPLES",
        default: "`50000`",
        meaning: "samples one ingest request may hold (JSON items, line-protocol numeric fields); beyond, `413` naming the variable and nothing is stored",
    },
    Variable {
        name: "LIVEDASH_MAX_BATCH_EVENTS",
        default: "`10000`",
        meaning: "events one `POST /api/v1/events` may hold; beyond, `413` likewise",
    },
    Variable {
        name: "LIVEDASH_RETENTION_RAW",
        default: "`24h`",
        meaning: "how long raw points are kept (units `ms s m h d w y`)",
    },
    Variable {
        name: "LIVEDASH_RETENTION_10S",
        default: "`2d`",
        meaning: "how long 10-second rollups are kept",
    },
    Variable {
        name: "LIVEDASH_RETENTION_1M",
        default: "`30d`",
        meaning: "how long 1-minute rollups are kept",
    },
    Variable {
        name: "LIVEDASH_RETENTION_1H",
        default: "`365d`",
        meaning: "how long 1-hour rollups are kept",
    },
    Variable {
        name: "LIVEDASH_RETENTION_1D",
        default: "`1826d`",
        meaning: "how long 1-day rollups are kept",
    },
    Variable {
        name: "LIVEDASH_LIVE_FRAME",
        default: "`100ms`",
        meaning: "live push frame: a lone update goes out at once; updates within a frame of the previous one are sent together",
    },
    Variable {
        name: "LIVEDASH_LIVE_GATHER",
        default: "`10ms`",
        meaning: "how long a live socket with several subscriptions waits, after one update, for its other subscriptions' updates, so that a dashboard's widgets arrive in one message and the browser draws them in one frame (at most `1s`), or `off`",
    },
    Variable {
        name: "LIVEDASH_LIVE_RESUME",
        default: "`5m`",
        meaning: "how long the change log keeps entries: a client that reconnects within it gets exactly what it missed, later a fresh snapshot",
    },
    Variable {
        name: "LIVEDASH_LIVE_CLIENT_BUFFER",
        default: "`64`",
        meaning: "messages queued per live client",
    },
    Variable {
        name: "LIVEDASH_LIVE_SLOW_CLIENT",
        default: "`10s`",
        meaning: "how long a live client may stay behind before it is closed",
    },
    Variable {
        name: "LIVEDASH_LIVE_THREADS",
        default: "number of cores",
        meaning: "worker threads of the runtime that live sockets run on, apart from ingest, so thousands of viewers do not delay writes; `off` runs them on the main runtime",
    },
    Variable {
        name: "LIVEDASH_STATSD_ADDR",
        default: "`127.0.0.1:8125`",
        meaning: "UDP address of the StatsD listener, or `off`. StatsD has no authentication, so it listens on loopback unless told otherwise",
    },
    Variable {
        name: "LIVEDASH_SELF_METRICS",
        default: "`10s`",
        meaning: "how often livedash records its own metrics (`livedash_points_stored_total`, `livedash_live_viewers`, `livedash_live_queries`, `livedash_redis_latency_ms`, `livedash_memory_bytes`, labelled `instance`), or `off`; with them on, an **Overview** dashboard of them is made on the first start",
    },
    Variable {
        name: "LIVEDASH_EVENT_PROPERTIES",
        default: "`path`",
        meaning: "event properties whose values are ranked per minute and per hour (top pages), comma-separated",
    },
    Variable {
        name: "LIVEDASH_VISIT_TIMEOUT",
        default: "`30m`",
        meaning: "how long without an event ends a visit (web analytics), 1m to 12h",
    },
    Variable {
        name: "LIVEDASH_EXPECTED_USERS",
        default: "`1000000`",
        meaning: "how many users per site the filter that tells new from returning users is sized for",
    },
    Variable {
        name: "LIVEDASH_NEW_USER_ERROR",
        default: "`1%`",
        meaning: "the share of new users that filter may count as returning at that size (`0.1%`, `0.001`)",
    },
    Variable {
        name: "LIVEDASH_EVENT_RETENTION",
        default: "`7d`",
        meaning: "how long the raw event log keeps events (the event feed, funnel backfills)",
    },
    Variable {
        name: "LIVEDASH_PERSON_RETENTION",
        default: "`90d`",
        meaning: "how long a person's timeline and summary are kept after their last event",
    },
    Variable {
        name: "LIVEDASH_PUBLIC_URL",
        default: "`http://` and `LIVEDASH_ADDR`",
        meaning: "the address people reach livedash at (behind a proxy, its public address), used in the links that notifications carry",
    },
    Variable {
        name: "LIVEDASH_ALERTS_FILE",
        default: "none",
        meaning: "a JSON file of alert rules, contact points and silences (the export format of `GET /api/v1/alerts/export`) applied at start, so they can live in version control",
    },
    Variable {
        name: "LIVEDASH_ALERT_HISTORY_RETENTION",
        default: "`30d`",
        meaning: "how long alert state transitions are kept in the history",
    },
    Variable {
        name: "LIVEDASH_ALERT_RETRY_FOR",
        default: "`1d`",
        meaning: "how long a notification that fails is retried (exponential backoff with jitter, from 1 s up to 10 min apart) before it is kept as a dead letter",
    },
    Variable {
        name: "LIVEDASH_ALERT_CLAIM_AFTER",
        default: "`30s`",
        meaning: "how long a notification may stay unacknowledged with a livedash process that stopped answering before another process takes its delivery over",
    },
    Variable {
        name: "LIVEDASH_SMTP_URL",
        default: "unset",
        meaning: "the SMTP relay email contact points send through: `smtps://user:pass@host:465` (TLS), `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtp://host:25` (unencrypted, for a relay on the same machine); without it, email contact points are refused",
    },
    Variable {
        name: "LIVEDASH_SMTP_FROM",
        default: "`livedash <livedash@localhost>`",
        meaning: "the sender of email notifications",
    },
    Variable {
        name: "LIVEDASH_AUTH",
        default: "`on`",
        meaning: "`off` lets everyone who can reach livedash read and change everything: only for a trusted local setup (every page then shows a warning)",
    },
    Variable {
        name: "LIVEDASH_ADMIN_TOKEN",
        default: "unset",
        meaning: "an admin token (at least 24 characters, e.g. `openssl rand -hex 16`) to sign in and call the API with, instead of the one-time sign-in link printed at start",
    },
    Variable {
        name: "LIVEDASH_ALLOWED_ORIGINS",
        default: "unset",
        meaning: "other origins (`https://host:port`, comma-separated) whose pages may use a signed-in browser's session (API calls, live sockets); livedash's own origin always may",
    },
    Variable {
        name: "LIVEDASH_SHARE_FRAME_ANCESTORS",
        default: "`'none'`",
        meaning: "who may show share links in a frame: a CSP `frame-ancestors` source list such as `https://wiki.example.com` (other pages may never be framed)",
    },
    Variable {
        name: "LIVEDASH_RATE_LIMIT",
        default: "`100`",
        meaning: "requests a second per API token or signed-in browser (per client address for requests without one; health checks and static files are not counted), in bursts of up to twice that; beyond it `429` with `Retry-After`; or `off`",
    },
    Variable {
        name: "LIVEDASH_AUTH_FAILURE_LIMIT",
        default: "`10`",
        meaning: "failed authentications a second per client address (unknown, revoked or misplaced tokens, ended sessions, anonymous requests to protected routes and pages, failed sign-ins), in bursts of up to twice that (at least 10); beyond it every request from that address that needs a credential gets `429` with `Retry-After` before its credential is looked up; or `off`",
    },
    Variable {
        name: "LIVEDASH_LIVE_SOCKETS_PER_ADDRESS",
        default: "`500`",
        meaning: "open live sockets per client address; the one too many is closed with the reason; or `off`",
    },
    Variable {
        name: "LIVEDASH_HEADER_TIMEOUT",
        default: "`10s`",
        meaning: "how long a client may take to send a request's headers (from connecting, or from the first byte of a later request)",
    },
    Variable {
        name: "LIVEDASH_BODY_TIMEOUT",
        default: "`30s`",
        meaning: "how long a body may take to arrive after its headers; then `408`",
    },
    Variable {
        name: "LIVEDASH_IDLE_TIMEOUT",
        default: "`60s`",
        meaning: "how long a kept-alive connection may wait for its next request, or for the client to read an answer",
    },
    Variable {
        name: "LIVEDASH_CONNECTIONS_PER_ADDRESS",
        default: "`128`",
        meaning: "open connections per client address that have not signed in; the one too many gets `429`; or `off`",
    },
    Variable {
        name: "LIVEDASH_TRUSTED_PROXIES",
        default: "unset",
        meaning: "reverse proxies (addresses or networks such as `10.0.0.0/8`, comma-separated) whose `X-Forwarded-For` names the client: per-address limits then count per client, not per proxy. From anyone else the header is ignored",
    },
    Variable {
        name: "LIVEDASH_MAX_SERIES",
        default: "`1000000`",
        meaning: "series livedash holds in all; a sample that would make a new series beyond it is refused with a message naming this variable (existing series still take samples); or `off`",
    },
    Variable {
        name: "LIVEDASH_MAX_SERIES_PER_METRIC",
        default: "`100000`",
        meaning: "series per metric name, likewise; a label with unbounded values (user or request ids) is the usual way past it; or `off`",
    },
    Variable {
        name: "LIVEDASH_QUERY_MAX_KEYS",
        default: "`200000`",
        meaning: "Redis keys one query may read; beyond, `400` (without a step, a coarser tier is tried first)",
    },
    Variable {
        name: "LIVEDASH_QUERY_MAX_POINTS",
        default: "`1000000`",
        meaning: "points (steps × series) one query may hold; beyond, `400`",
    },
    Variable {
        name: "LIVEDASH_DEMO",
        default: "`off`",
        meaning: "`on` simulates services and product traffic, as `livedash --demo` does",
    },
    Variable {
        name: "RUST_LOG",
        default: "`info`",
        meaning: "log filter, `tracing_subscriber::EnvFilter` syntax",
    },
];

const USAGE: &str = "\
livedash: live metrics and product-analytics dashboards on Redis

Usage: livedash [--demo | --help | --version]

  --demo   also simulate services and product traffic (page views, a sign-up funnel, an A/B
           test), with 24 hours of history, shown on a \"Product analytics (demo)\" dashboard

Configuration is read from environment variables (default after the name); a value that does
not parse stops start-up with an error naming the variable. docs/configuration.md says more.
";

/// Columns `--help` wraps its text to.
const WIDTH: usize = 100;
const INDENT: &str = "      ";

/// The text of `livedash --help`.
pub fn help() -> String {
    let mut text = String::from(USAGE);
    for variable in VARIABLES {
        text.push('\n');
        text.push_str(&format!(
            "  {}  [{}]\n",
            variable.name,
            plain(variable.default)
        ));
        wrap_into(&mut text, &plain(variable.meaning));
    }
    text
}

/// The Markdown table of `docs/configuration.md`, between its `variables` markers.
pub fn markdown_table() -> String {
    let mut table = String::from("| variable | default | meaning |\n| --- | --- | --- |\n");
    for variable in VARIABLES {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            variable.name, variable.default, variable.meaning
        ));
    }
    table
}

/// Markdown to terminal text: code spans lose their backticks.
fn plain(markdown: &str) -> String {
    markdown.replace('`', "")
}

fn wrap_into(text: &mut String, words: &str) {
    let mut line = String::from(INDENT);
    for word in words.split_whitespace() {
        if line.len() > INDENT.len() && line.len() + 1 + word.len() > WIDTH {
            text.push_str(line.trim_end());
            text.push('\n');
            line = String::from(INDENT);
        }
        if line.len() > INDENT.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    text.push_str(line.trim_end());
    text.push('\n');
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::Config;

    /// Every name the configuration asks its environment for.
    fn names_read() -> BTreeSet<String> {
        let asked = RefCell::new(BTreeSet::new());
        Config::from_lookup(|name| {
            asked.borrow_mut().insert(name.to_owned());
            None
        })
        .expect("the defaults are a valid configuration");
        // The log filter is read by `tracing_subscriber` in `main`, not by `Config`.
        asked.borrow_mut().insert("RUST_LOG".to_owned());
        asked.into_inner()
    }

    #[test]
    fn every_variable_read_is_listed_in_help_and_docs() {
        let listed: BTreeSet<String> = VARIABLES.iter().map(|v| v.name.to_owned()).collect();
        let read = names_read();
        assert!(read.len() > 30, "the lookup saw only {read:?}");
        let unlisted: Vec<_> = read.difference(&listed).collect();
        assert!(
            unlisted.is_empty(),
            "read but not in VARIABLES: {unlisted:?}"
        );
        let never_read: Vec<_> = listed.difference(&read).collect();
        assert!(
            never_read.is_empty(),
            "listed but never read: {never_read:?}"
        );

        let help = help();
        let docs_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
        let docs = std::fs::read_to_string(docs_path).expect("docs/configuration.md");
        for name in &read {
            assert!(
                help.contains(&format!("  {name}  [")),
                "--help lacks {name}"
            );
            assert!(
                docs.contains(&format!("`{name}`")),
                "docs/configuration.md lacks {name}"
            );
        }
    }

    /// The table in the docs is this list's; `UPDATE_DOCS=1` writes it there.
    #[test]
    fn docs_table_is_generated_from_the_list() {
        const START: &str = "<!-- variables: start -->\n";
        const END: &str = "<!-- variables: end -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
        let docs = std::fs::read_to_string(path).expect("docs/configuration.md");
        let start = docs
            .find(START)
            .expect("docs/configuration.md has the start marker")
            + START.len();
        let end = docs
            .find(END)
            .expect("docs/configuration.md has the end marker");
        let table = markdown_table();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, format!("{}{table}{}", &docs[..start], &docs[end..]))
                .expect("docs/configuration.md is writable");
            return;
        }
        assert_eq!(
            docs[start..end],
            table,
            "docs/configuration.md's table is out of date: run UPDATE_DOCS=1 cargo test -p server variables"
        );
    }

    #[test]
    fn help_wraps_within_its_width() {
        for line in help().lines() {
            let long_word = line.split_whitespace().count() == 1;
            assert!(line.len() <= WIDTH || long_word, "{line:?}");
        }
    }
}
