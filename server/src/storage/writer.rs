//! Group commit: concurrent write requests are combined into one storage write.
//!
//! One task owns the writing. It takes the first waiting request and every other request that
//! is already queued (up to [`MAX_GROUP`] observations), writes them as one batch, and answers
//! each request with its own share of the outcome. A lone request is written at once, so this
//! adds no latency when traffic is light; under load, requests that arrive while a write is in
//! flight are combined, so each series' script call and each rollup bucket update covers more
//! points. Every answer still comes only after Redis accepted the write.

use app::model::Observation;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{StorageError, Store, Token, WriteOutcome};

/// Most observations combined into one write.
pub const MAX_GROUP: usize = 50_000;
/// Requests waiting to be written before senders wait too.
const QUEUE: usize = 1_024;
/// Group writes in flight at once. One measured best (docs/benchmarks.md): while it runs, the
/// requests that arrive queue up into the next, larger group; with two in flight, groups were
/// smaller and throughput lower.
const IN_FLIGHT: usize = 1;

struct Request {
    observations: Vec<Observation>,
    /// The item of each observation (see [`Store::write_items_now`]); `None`: each its own.
    items: Option<Vec<usize>>,
    /// The idempotency token the request came with (see [`Store::write_keyed_now`]).
    token: Option<Token>,
    reply: oneshot::Sender<Result<WriteOutcome, StorageError>>,
}

/// The handle writers use; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    requests: mpsc::Sender<Request>,
    /// Observations stored since start (for livedash's own metrics).
    stored: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writing task on `store`. Once `shutdown` is cancelled it writes what is
    /// already queued and ends; later writes fail with [`StorageError::WriterStopped`].
    #[must_use]
    pub fn start(store: Store, shutdown: CancellationToken) -> (Self, JoinHandle<()>) {
        let (requests, queue) = mpsc::channel(QUEUE);
        (
            Self {
                requests,
                stored: Arc::new(AtomicU64::new(0)),
            },
            tokio::spawn(run(store, queue, shutdown)),
        )
    }

    /// Observations stored through this writer since start.
    #[must_use]
    pub fn stored_total(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// Stores `observations` (see [`Store::write_now`]), combined with whatever else is waiting.
    ///
    /// # Errors
    /// Redis is unreachable or failed; nothing of this request may be acknowledged.
    pub async fn write(
        &self,
        observations: Vec<Observation>,
    ) -> Result<WriteOutcome, StorageError> {
        self.submit(observations, None, None).await
    }

    /// Stores `observations` item by item (see [`Store::write_items_now`]): `items[i]` is the
    /// item of `observations[i]`, an index below their number; an item is stored whole or
    /// refused whole.
    ///
    /// # Errors
    /// Redis is unreachable or failed; nothing of this request may be acknowledged.
    ///
    /// # Panics
    /// `items` is not as long as `observations`, or names an item past its end.
    pub async fn write_items(
        &self,
        observations: Vec<Observation>,
        items: Vec<usize>,
    ) -> Result<WriteOutcome, StorageError> {
        self.write_items_keyed(observations, items, None).await
    }

    /// [`Writer::write_items`] for a request with an idempotency token: repeated after a
    /// failure, it stores nothing twice (see [`Store::write_keyed_now`]).
    ///
    /// # Errors
    /// As [`Writer::write_items`].
    ///
    /// # Panics
    /// As [`Writer::write_items`].
    pub async fn write_items_keyed(
        &self,
        observations: Vec<Observation>,
        items: Vec<usize>,
        token: Option<Token>,
    ) -> Result<WriteOutcome, StorageError> {
        assert!(
            items.len() == observations.len() && items.iter().all(|&item| item < items.len()),
            "one item index below the batch's length per observation"
        );
        self.submit(observations, Some(items), token).await
    }

    async fn submit(
        &self,
        observations: Vec<Observation>,
        items: Option<Vec<usize>>,
        token: Option<Token>,
    ) -> Result<WriteOutcome, StorageError> {
        if observations.is_empty() {
            return Ok(WriteOutcome::default());
        }
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request {
                observations,
                items,
                token,
                reply,
            })
            .await
            .map_err(|_| StorageError::WriterStopped)?;
        let outcome = answer.await.map_err(|_| StorageError::WriterStopped)??;
        self.stored
            .fetch_add(outcome.stored as u64, Ordering::Relaxed);
        Ok(outcome)
    }
}

async fn run(store: Store, mut queue: mpsc::Receiver<Request>, shutdown: CancellationToken) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let first = tokio::select! {
            request = queue.recv() => request,
            () = shutdown.cancelled() => {
                queue.close();
                queue.recv().await
            }
        };
        let Some(first) = first else { break };
        // Waiting for a free slot lets more requests queue up and join this group.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let mut group = vec![first];
        let mut size = group[0].observations.len();
        while size < MAX_GROUP {
            match queue.try_recv() {
                Ok(request) => {
                    size += request.observations.len();
                    group.push(request);
                }
                Err(_) => break,
            }
        }
        let mut combined = Vec::with_capacity(size);
        // Item indices of the combined batch: each request's own, offset by where it starts.
        let mut items = Vec::with_capacity(size);
        let mut tokens = Vec::with_capacity(size);
        let mut shares = Vec::with_capacity(group.len());
        for request in group {
            let offset = combined.len();
            let length = request.observations.len();
            tokens.extend(std::iter::repeat_n(request.token, length));
            match request.items {
                Some(own) => items.extend(own.into_iter().map(|item| offset + item)),
                None => items.extend(offset..offset + length),
            }
            shares.push((offset, length, request.reply));
            combined.extend(request.observations);
        }
        let store = store.clone();
        tokio::spawn(async move {
            let _permit = permit;
            answer(&store, &combined, &items, &tokens, shares).await;
        });
    }
    // Wait for the writes still in flight.
    let _ = in_flight.acquire_many(IN_FLIGHT as u32).await;
}

type Share = (
    usize,
    usize,
    oneshot::Sender<Result<WriteOutcome, StorageError>>,
);

/// Writes one group and answers each request with its part of the outcome.
async fn answer(
    store: &Store,
    combined: &[Observation],
    items: &[usize],
    tokens: &[Option<Token>],
    shares: Vec<Share>,
) {
    match store.write_keyed_now(combined, items, tokens).await {
        Ok(outcome) => {
            for (offset, length, reply) in shares {
                let refused: Vec<(usize, String)> = outcome
                    .refused
                    .iter()
                    .filter(|(index, _)| (offset..offset + length).contains(index))
                    .map(|(index, reason)| (index - offset, reason.clone()))
                    .collect();
                let share = WriteOutcome {
                    stored: length - refused.len(),
                    refused,
                };
                let _ = reply.send(Ok(share));
            }
        }
        Err(error) => {
            for (_, _, reply) in shares {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
