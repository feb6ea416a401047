//! One connection's clock: what it waits for from its client, until when, and which timeout
//! ended it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::admission::Pending;
use super::limits::Timeouts;

/// How long a request whose body came too late has to be told so before its connection is
/// closed anyway.
const ANSWER_GRACE: Duration = Duration::from_secs(1);

/// What a connection waits for from its client, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    /// The head of a request: since the connection opened, or since the first byte of a later
    /// request arrived.
    Head(Instant),
    /// The next request on a kept-alive connection.
    NextRequest(Instant),
    /// The rest of a request body (the deadline leaves time to answer that it is late).
    Body(Instant),
    /// Nothing: a handler works (a query may take its time) or an answer is being written.
    Handler,
}

#[derive(Clone, Copy, Debug)]
struct Progress {
    waiting: Waiting,
    /// Since when a write has waited for the client to read.
    write_stalled: Option<Instant>,
}

/// Which timeout ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expired {
    Header,
    Idle,
    Body,
    UnreadAnswer,
}

impl Expired {
    pub(super) fn variable(self) -> &'static str {
        match self {
            Self::Header => "LIVEDASH_HEADER_TIMEOUT",
            Self::Idle | Self::UnreadAnswer => "LIVEDASH_IDLE_TIMEOUT",
            Self::Body => "LIVEDASH_BODY_TIMEOUT",
        }
    }
}

/// One connection's clock. Its reads, its requests' bodies, its answers and its watchdog all
/// run on the connection's task; the state is shared only to be reachable from each.
pub(super) struct Clock {
    pub(super) timeouts: Timeouts,
    progress: watch::Sender<Progress>,
    /// Whether the connection waits for the first byte of its next request (checked on every
    /// read, so kept apart from `progress`).
    between_requests: AtomicBool,
    /// Whether a write waits for the client.
    write_stalled: AtomicBool,
    /// Whether the current request's body came too late.
    pub(super) body_late: AtomicBool,
    pending: Mutex<Option<Pending>>,
}

impl Clock {
    pub(super) fn new(
        timeouts: Timeouts,
        accepted: Instant,
        pending: Option<Pending>,
    ) -> Arc<Self> {
        Arc::new(Self {
            timeouts,
            progress: watch::Sender::new(Progress {
                waiting: Waiting::Head(accepted + timeouts.header),
                write_stalled: None,
            }),
            between_requests: AtomicBool::new(false),
            write_stalled: AtomicBool::new(false),
            body_late: AtomicBool::new(false),
            pending: Mutex::new(pending),
        })
    }

    /// When the head of the current request is due.
    pub(super) fn head_deadline(&self) -> Instant {
        match self.progress.borrow().waiting {
            Waiting::Head(deadline) => deadline,
            _ => Instant::now() + self.timeouts.header,
        }
    }

    fn wait_for(&self, waiting: Waiting) {
        self.progress.send_if_modified(|progress| {
            let changed = progress.waiting != waiting;
            progress.waiting = waiting;
            changed
        });
    }

    /// Bytes arrived: the first of a later request starts its header timeout.
    pub(super) fn bytes_read(&self) {
        if self.between_requests.swap(false, Ordering::Relaxed) {
            self.wait_for(Waiting::Head(Instant::now() + self.timeouts.header));
        }
    }

    /// A request's head was read; its body, if it has one, is due within the body timeout.
    pub(super) fn head_read(&self, has_body: bool) {
        self.between_requests.store(false, Ordering::Relaxed);
        self.body_late.store(false, Ordering::Relaxed);
        self.wait_for(if has_body {
            Waiting::Body(Instant::now() + self.timeouts.body + ANSWER_GRACE)
        } else {
            Waiting::Handler
        });
    }

    pub(super) fn body_read(&self) {
        self.progress.send_if_modified(|progress| {
            let reading = matches!(progress.waiting, Waiting::Body(_));
            if reading {
                progress.waiting = Waiting::Handler;
            }
            reading
        });
    }

    /// An answer was written (or given up): the connection waits for the next request.
    pub(super) fn answered(&self) {
        self.between_requests.store(true, Ordering::Relaxed);
        self.wait_for(Waiting::NextRequest(Instant::now() + self.timeouts.idle));
    }

    pub(super) fn write_blocked(&self) {
        if !self.write_stalled.swap(true, Ordering::Relaxed) {
            let now = Instant::now();
            self.progress
                .send_modify(|progress| progress.write_stalled = Some(now));
        }
    }

    pub(super) fn write_went_through(&self) {
        if self.write_stalled.swap(false, Ordering::Relaxed) {
            self.progress
                .send_modify(|progress| progress.write_stalled = None);
        }
    }

    /// The connection no longer counts against its address.
    pub(super) fn admitted(&self) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// The first deadline of `progress`, and what it is for.
    fn deadline(&self, progress: &Progress) -> Option<(Instant, Expired)> {
        let waiting = match progress.waiting {
            Waiting::Head(at) => Some((at, Expired::Header)),
            Waiting::NextRequest(at) => Some((at, Expired::Idle)),
            Waiting::Body(at) => Some((at, Expired::Body)),
            Waiting::Handler => None,
        };
        let unread = progress
            .write_stalled
            .map(|since| (since + self.timeouts.idle, Expired::UnreadAnswer));
        match (waiting, unread) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Resolves when the connection has waited past a deadline.
    pub(super) async fn expired(&self) -> Expired {
        let mut progress = self.progress.subscribe();
        loop {
            let deadline = self.deadline(&progress.borrow_and_update());
            tokio::select! {
                () = sleep_until(deadline.map(|(at, _)| at)) => {
                    if let Some((_, expired)) = deadline {
                        return expired;
                    }
                }
                changed = progress.changed() => {
                    if changed.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
