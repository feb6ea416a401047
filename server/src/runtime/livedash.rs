//! One livedash process: connects to (or launches) Redis, starts the live hub, the writer and
//! the background jobs, serves until told to stop, then stops them in order.

use std::future::Future;
use std::sync::Arc;

use leptos::config::{Env, LeptosOptions};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, RedisSource};
use crate::http::state::AppState;
use crate::live::Hub;
use crate::runtime::managed_redis::{ManagedRedis, ManagedRedisError};
use crate::storage::layout::ClaimError;
use crate::storage::{Keys, RedisTarget, StorageError, Store};

/// The name of the built WASM/JS/CSS under `pkg/` (`livedash.js`, `livedash_bg.wasm`, …).
pub const OUTPUT_NAME: &str = "livedash";

/// Why livedash could not start or serve.
#[derive(thiserror::Error, Debug)]
pub enum StartError {
    /// The managed Redis failed.
    #[error("managed Redis: {0}")]
    ManagedRedis(#[from] ManagedRedisError),
    /// The Redis URL or connection set-up failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// Serving failed.
    #[error("serving HTTP: {0}")]
    Serve(#[from] std::io::Error),
    /// The StatsD port could not be bound.
    #[error(
        "binding LIVEDASH_STATSD_ADDR={addr}: {source} (set LIVEDASH_STATSD_ADDR=off to run without StatsD)"
    )]
    Statsd {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// The alerting provisioning file cannot be used.
    #[error("{0}")]
    AlertsFile(String),
    /// Another process on this Redis keeps its keys differently.
    #[error(transparent)]
    Layout(#[from] crate::storage::layout::LayoutMismatch),
}

/// A started livedash: Redis connected (or launched), the live hub running, ready to serve.
pub struct Livedash {
    state: AppState,
    managed: Option<ManagedRedis>,
    tasks: Vec<JoinHandle<()>>,
    /// Ends once every writer handle is dropped, after the last write.
    writer_task: JoinHandle<()>,
    statsd_addr: Option<std::net::SocketAddr>,
    /// The runtime live sockets are served on, and the store their code uses there.
    live: Option<(crate::http::serving::LiveRuntime, Store)>,
}

impl Livedash {
    /// Connects to (or launches) Redis and starts the live hub.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn start(config: Config) -> Result<Self, StartError> {
        // Bind first: a taken port should stop start-up before a managed Redis is launched.
        let statsd_socket = match config.statsd_addr {
            Some(addr) => Some(
                tokio::net::UdpSocket::bind(addr)
                    .await
                    .map_err(|source| StartError::Statsd { addr, source })?,
            ),
            None => None,
        };
        // Checked before Redis is launched: a bad file stops start-up at once.
        let provisioned = match &config.alerts.file {
            Some(path) => {
                Some(crate::alerts::provision::read_file(path).map_err(StartError::AlertsFile)?)
            }
            None => None,
        };
        let managed = match &config.redis {
            RedisSource::External { .. } => None,
            RedisSource::Managed {
                executable,
                data_dir,
            } => Some(ManagedRedis::start(executable, data_dir).await?),
        };
        let redis = match (&config.redis, &managed) {
            (_, Some(managed)) => RedisTarget::single(managed.url())?,
            (RedisSource::External { urls, mode }, None) => RedisTarget::open(urls, *mode).await?,
            (RedisSource::Managed { .. }, None) => unreachable!("a managed source starts Redis"),
        };
        if redis.is_cluster() {
            tracing::info!("Redis is a cluster: commands go to the node of their slot");
        }
        let keys = Keys::new(config.key_prefix.clone());
        let partitions = config.live_partitions.unwrap_or(if redis.is_cluster() {
            crate::config::CLUSTER_LIVE_PARTITIONS
        } else {
            1
        });
        let store = Store::new(&redis, keys, config.retention)?
            .with_log_partitions(partitions)
            .with_resume_window(config.live.resume_window_ms)
            .with_series_limits(config.limits.series)
            .with_wait_replicas(config.redis_wait_replicas)
            .with_query_limits(config.limits.query)
            .with_event_settings(config.events.clone());
        match store.ping().await {
            Ok(latency) => tracing::info!(?latency, "connected to Redis"),
            Err(error) => tracing::warn!(%error, "Redis is not answering yet; will keep trying"),
        }
        match store.claim_layout().await {
            Ok(()) => {}
            Err(ClaimError::Mismatch(mismatch)) => return Err(mismatch.into()),
            // Claimed once Redis answers, by the renewal below.
            Err(ClaimError::Storage(error)) => {
                tracing::debug!(%error, "the key layout is claimed once Redis answers");
            }
        }
        let live = match config.live.threads {
            Some(threads) => Some((
                crate::http::serving::LiveRuntime::start(threads)?,
                store.making_requests_on(tokio::runtime::Handle::current()),
            )),
            None => None,
        };
        let shutdown = CancellationToken::new();
        let (hub, hub_task) = Hub::start(
            redis.clone(),
            live.as_ref()
                .map_or_else(|| store.clone(), |(_, store)| store.clone()),
            config.live,
            shutdown.clone(),
        );
        let (writer, writer_task) =
            crate::storage::writer::Writer::start(store.clone(), shutdown.clone());
        let mut tasks = vec![
            hub_task,
            tokio::spawn(renew_layout(store.clone(), shutdown.clone())),
        ];
        let mut alert_settings = config.alerts.clone();
        alert_settings.public_url = Some(config.alerts.public_url.clone().unwrap_or_else(|| {
            if config.addr.ip().is_unspecified() {
                format!("http://127.0.0.1:{}", config.addr.port())
            } else {
                format!("http://{}", config.addr)
            }
        }));
        let (alerting, alert_tasks) = crate::alerts::Alerting::start(
            redis,
            store.clone(),
            writer.clone(),
            &hub,
            alert_settings,
            provisioned,
            shutdown.clone(),
        );
        tasks.extend(alert_tasks);
        let statsd_counters = Arc::new(crate::ingest::statsd::StatsdCounters::default());
        let statsd_addr = match statsd_socket {
            Some(socket) => {
                let bound = socket.local_addr()?;
                tracing::info!(%bound, "StatsD listener on UDP");
                tasks.push(tokio::spawn(crate::ingest::statsd::serve(
                    socket,
                    writer.clone(),
                    statsd_counters.clone(),
                    shutdown.clone(),
                )));
                Some(bound)
            }
            None => None,
        };
        if let Some(interval_ms) = config.self_metrics_ms {
            tasks.push(tokio::spawn(make_overview(store.clone(), shutdown.clone())));
            tasks.push(tokio::spawn(crate::jobs::self_metrics::record(
                store.clone(),
                writer.clone(),
                hub.clone(),
                config.instance.clone(),
                std::time::Duration::from_millis(interval_ms.unsigned_abs()),
                shutdown.clone(),
            )));
        }
        if config.demo {
            tasks.push(tokio::spawn(crate::jobs::demo::run(
                store.clone(),
                writer.clone(),
                shutdown.clone(),
            )));
        }
        let leptos_options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(config.site_root.clone())
            .site_pkg_dir("pkg")
            .site_addr(config.addr)
            .env(Env::PROD)
            .build();
        let limiter = config
            .limits
            .rate_per_second
            .map(|rate| Arc::new(crate::http::rate_limit::RateLimiter::new(rate)));
        let auth_failures = config
            .limits
            .auth_failures_per_second
            .map(|rate| Arc::new(crate::http::rate_limit::RateLimiter::new(rate)));
        let state = AppState {
            limiter,
            auth_failures,
            leptos_options,
            store,
            writer,
            hub,
            alerting,
            shutdown,
            config: Arc::new(config),
            statsd: statsd_counters,
        };
        Ok(Self {
            state,
            managed,
            tasks,
            writer_task,
            statsd_addr,
            live,
        })
    }

    /// Where the StatsD listener is bound, if it runs.
    #[must_use]
    pub fn statsd_addr(&self) -> Option<std::net::SocketAddr> {
        self.statsd_addr
    }

    /// The shared state (handy for tests that inspect storage directly).
    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves on `listener` until `signal` completes, then closes live sockets with a
    /// "going away" reason, stops the hub, and stops the managed Redis if there is one.
    ///
    /// # Errors
    /// The listener's address could not be read.
    pub async fn serve(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let app = crate::http::router::router(self.state.clone());
        let shutdown = self.state.shutdown.clone();
        let base_url = match listener.local_addr()? {
            addr if addr.ip().is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
            addr => format!("http://{addr}"),
        };
        let announce = tokio::spawn(crate::http::auth::announce_sign_in(
            self.state.clone(),
            base_url,
        ));
        // Live connections get a router whose store makes its Redis requests on this runtime,
        // so that the connection's own tasks stay here (see the storage connection module).
        let live = self.live.map(|(runtime, store)| {
            let state = AppState {
                store,
                ..self.state.clone()
            };
            (runtime, crate::http::router::router(state))
        });
        tokio::spawn(async move {
            signal.await;
            tracing::info!("shutting down");
            shutdown.cancel();
        });
        crate::http::serving::serve(
            listener,
            app,
            live.as_ref()
                .map(|(runtime, router)| (runtime.handle(), router.clone())),
            crate::http::serving::ConnectionLimits::new(
                &self.state.config.connections,
                self.state.config.trusted_proxies.clone(),
            ),
            self.state.shutdown.clone(),
        )
        .await;
        self.state.shutdown.cancel();
        // Live sockets say "going away" from their own runtime before it stops.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        while self.state.hub.listeners() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(live);
        let _ = announce.await;
        for task in self.tasks {
            let _ = task.await;
        }
        // Queued writes finish before a managed Redis goes away.
        let _ = self.writer_task.await;
        if let Some(managed) = self.managed {
            managed.stop().await;
        }
        Ok(())
    }
}

/// Keeps this process's claim on the key layout while it runs (see `storage::layout`).
async fn renew_layout(store: Store, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(crate::storage::layout::RENEW_EVERY) => {}
        }
        match store.claim_layout().await {
            Ok(()) => {}
            Err(ClaimError::Mismatch(mismatch)) => tracing::error!(%mismatch, "key layout"),
            Err(ClaimError::Storage(error)) => tracing::debug!(%error, "renewing the key layout"),
        }
    }
}

/// Makes the Overview dashboard once Redis answers (at once, normally).
async fn make_overview(store: Store, shutdown: CancellationToken) {
    loop {
        match crate::jobs::self_metrics::ensure_overview(&store).await {
            Ok(()) => return,
            Err(error) => tracing::debug!(%error, "the Overview dashboard waits for Redis"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
        }
    }
}
