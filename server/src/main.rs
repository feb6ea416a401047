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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut demo = false;
    if let Some(argument) = std::env::args().nth(1) {
        match argument.as_str() {
            "--demo" => demo = true,
            "-h" | "--help" => {
                print!("{}", server::config::variables::help());
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
