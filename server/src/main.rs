//! `livedash`: reads configuration, starts logging, and runs the server until SIGINT/SIGTERM.

use anyhow::Context;
use server::Livedash;
use server::config::Config;
use tracing_subscriber::EnvFilter;

/// Thousands of live sockets allocate and free small frames on every worker thread at once;
/// glibc's allocator spent a fifth of the process's CPU there (and in its arena locks) with
/// 10 000 viewers, mimalloc's per-thread heaps do not contend.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HELP: &str = "\
livedash: live metrics and product-analytics dashboards on Redis

Usage: livedash [--demo | --help | --version]

  --demo                   also simulate services and product traffic (page views, a sign-up
                           funnel, an A/B test), shown on a \"Product analytics (demo)\" dashboard

Configuration is read from environment variables (defaults in brackets):
  LIVEDASH_ADDR            listen address [127.0.0.1:3000]
  REDIS_URL                Redis to use [unset: start a managed redis-server]
  LIVEDASH_DATA_DIR        managed Redis data directory [./data]
  LIVEDASH_REDIS_SERVER    redis-server executable for the managed Redis [redis-server]
  LIVEDASH_KEY_PREFIX      prefix of every Redis key [ld:]
  LIVEDASH_SITE_ROOT       directory with the built pkg/ (WASM, JS, CSS) [target/site]
  LIVEDASH_MAX_BODY_BYTES  largest accepted request body [16777216]
  LIVEDASH_MAX_BATCH_SAMPLES  samples per ingest request (JSON items, line-protocol fields) [50000]
  LIVEDASH_MAX_BATCH_EVENTS   events per POST /api/v1/events [10000]
  LIVEDASH_RETENTION_RAW   how long raw points are kept [24h]
  LIVEDASH_RETENTION_10S   how long 10-second rollups are kept [2d]
  LIVEDASH_RETENTION_1M    how long 1-minute rollups are kept [30d]
  LIVEDASH_RETENTION_1H    how long 1-hour rollups are kept [365d]
  LIVEDASH_RETENTION_1D    how long 1-day rollups are kept [1826d]
  LIVEDASH_LIVE_FRAME      live push frame (updates within one are batched) [100ms]
  LIVEDASH_LIVE_RESUME     how long a disconnected live client can resume [5m]
  LIVEDASH_LIVE_CLIENT_BUFFER  messages queued per live client [64]
  LIVEDASH_LIVE_SLOW_CLIENT    how long a live client may stay behind [10s]
  LIVEDASH_LIVE_THREADS    threads serving live sockets apart from ingest, or off [cores]
  LIVEDASH_STATSD_ADDR     StatsD UDP listener, or off [127.0.0.1:8125]
  LIVEDASH_SELF_METRICS    how often livedash records its own metrics, or off [10s]
  LIVEDASH_EVENT_PROPERTIES  event properties ranked per time bucket [path]
  LIVEDASH_EVENT_RETENTION how long the raw event log keeps events [7d]
  LIVEDASH_AUTH            off: everyone may do everything (trusted local use only) [on]
  LIVEDASH_ADMIN_TOKEN     an admin token (24+ characters) [unset: print a one-time sign-in link]
  LIVEDASH_ALLOWED_ORIGINS other origins whose pages may use a browser session [unset]
  LIVEDASH_SHARE_FRAME_ANCESTORS  who may embed share links in frames (CSP) ['none']
  LIVEDASH_RATE_LIMIT      requests a second per token or browser, or off [100]
  LIVEDASH_AUTH_FAILURE_LIMIT  failed authentications a second per client address, or off [10]
  LIVEDASH_LIVE_SOCKETS_PER_ADDRESS  live sockets per client address, or off [500]
  LIVEDASH_HEADER_TIMEOUT  time a client has to send a request's headers [10s]
  LIVEDASH_BODY_TIMEOUT    time a request's body has to arrive after its headers [30s]
  LIVEDASH_IDLE_TIMEOUT    time a connection may wait for its next request, or an answer
                           for the client to read it [60s]
  LIVEDASH_CONNECTIONS_PER_ADDRESS  connections per client address not signed in yet, or off
                           [128]
  LIVEDASH_QUERY_MAX_KEYS  Redis keys one query may read [200000]
  LIVEDASH_QUERY_MAX_POINTS  points (steps x series) one query may hold [1000000]
  LIVEDASH_DEMO            on: the same as --demo [off]
  RUST_LOG                 log filter [info]
";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut demo = false;
    if let Some(argument) = std::env::args().nth(1) {
        match argument.as_str() {
            "--demo" => demo = true,
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            "-V" | "--version" => {
                println!("livedash {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?}; see livedash --help"),
        }
    }
    let mut config = Config::from_env()?;
    config.demo |= demo;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let addr = config.addr;
    let livedash = Livedash::start(config).await.context("starting livedash")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding LIVEDASH_ADDR={addr}"))?;
    tracing::info!("livedash is serving on http://{}", listener.local_addr()?);
    livedash.serve(listener, shutdown_signal()).await?;
    Ok(())
}

/// Completes on Ctrl+C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl+C stops livedash");
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
