//! What a feed holds (its query's current result, its members, the changes pending for the
//! next frame), and how reads and routed changes update it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use app::clock::now_ms;
use app::live::{Cursor, LiveData, LiveQuery};
use app::model::{CurrentValue, SeriesKey};
use app::query::ResultSeries;
use tokio::time::Instant as TokioInstant;

use super::command::Routed;
use super::home::Home;
use super::matcher::Matcher;
use super::member::Member;
use crate::config::LiveConfig;
use crate::storage::changes::Stamp;
use crate::storage::query::Resolved;
use crate::storage::{SeriesId, Store};

/// Bucket start → (value, version) per line. A version is the feed's position after the delta
/// that changed the value (it covers every change the value holds), or, for a value read when
/// the feed started, the log's end after that read. Versions of one frame share one allocation.
type Lines = BTreeMap<BTreeMap<String, String>, BTreeMap<i64, (f64, Version)>>;
/// A value's version, shared by the values of one frame.
pub(super) type Version = Arc<Cursor>;
/// Bucket start → value per line, as read from storage.
type FreshLines = BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>>;

/// The query's current result.
#[derive(Default)]
pub(super) struct State {
    /// Range queries: the matched series.
    pub(super) resolved: Resolved,
    pub(super) resolved_ids: HashSet<SeriesId>,
    pub(super) lines: Lines,
    /// Latest displays: newest value per series with its version, and the series' ids.
    pub(super) latest: BTreeMap<SeriesKey, (CurrentValue, Version)>,
    pub(super) latest_ids: HashMap<SeriesId, SeriesKey>,
    pub(super) truncated: bool,
    pub(super) step_ms: i64,
}

/// What the change log says was written after a cursor.
#[derive(Default)]
pub(super) struct Written {
    /// Range queries: merged bucket ranges `[first start, last start]`.
    pub(super) spans: Vec<(i64, i64)>,
    /// Latest displays: the series.
    pub(super) series: HashSet<SeriesKey>,
}

/// What storage holds now, read in full or for a span.
pub(super) enum Fresh {
    Latest {
        values: Vec<CurrentValue>,
        truncated: bool,
    },
    Range {
        step_ms: i64,
        lines: FreshLines,
        /// Buckets before this start were not read.
        first_bucket: i64,
    },
}

/// Changes received since the last frame.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) cursor: Option<Cursor>,
    /// Range queries: the written time span.
    pub(super) span: Option<(i64, i64)>,
    /// A series the state does not know yet was written.
    pub(super) new_series: bool,
    /// Latest displays: the newest values written.
    pub(super) values: BTreeMap<SeriesKey, CurrentValue>,
    /// Re-read everything.
    pub(super) refresh: bool,
}

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        self.cursor.is_none()
    }
}

pub(super) struct Feed {
    pub(super) id: u64,
    pub(super) key: String,
    pub(super) query: LiveQuery,
    pub(super) matcher: Arc<Matcher>,
    pub(super) store: Store,
    pub(super) config: LiveConfig,
    pub(super) shared: Arc<dyn Home>,
    pub(super) state: State,
    /// The state includes every change up to here.
    pub(super) position: Cursor,
    /// The log's end when the state was first read: a member that holds less than this
    /// catches up through the log.
    pub(super) loaded_at: Cursor,
    /// Where the last delta ended.
    pub(super) sent: Cursor,
    pub(super) members: Vec<Member>,
    pub(super) pending: Pending,
    pub(super) last_flush: Option<TokioInstant>,
    /// Why the query cannot go on, once it cannot.
    pub(super) failed: Option<String>,
}

impl Feed {
    /// Takes what storage holds into the state, marking changed values with `version`;
    /// returns the changes, if any.
    pub(super) fn merge(&mut self, fresh: Fresh, version: Version) -> Option<LiveData> {
        match fresh {
            Fresh::Latest { values, truncated } => {
                self.state.truncated = truncated;
                let mut changed = Vec::new();
                for value in values {
                    match self.state.latest.get(&value.series) {
                        Some((known, _)) if !value.supersedes(known) || *known == value => {}
                        _ => {
                            self.state
                                .latest_ids
                                .insert(SeriesId::of(&value.series), value.series.clone());
                            self.state
                                .latest
                                .insert(value.series.clone(), (value.clone(), version.clone()));
                            changed.push(value);
                        }
                    }
                }
                (!changed.is_empty()).then_some(LiveData::Latest {
                    values: changed,
                    truncated,
                })
            }
            Fresh::Range {
                step_ms,
                lines,
                first_bucket,
            } => {
                self.state.step_ms = step_ms;
                let mut changed = Vec::new();
                for (labels, points) in lines {
                    let known = self.state.lines.entry(labels.clone()).or_default();
                    let mut line = Vec::new();
                    for (start, value) in points.range(first_bucket..) {
                        if known
                            .get(start)
                            .is_none_or(|(old, _)| old.to_bits() != value.to_bits())
                        {
                            known.insert(*start, (*value, version.clone()));
                            line.push((*start, *value));
                        }
                    }
                    if !line.is_empty() {
                        changed.push(ResultSeries {
                            labels,
                            points: line,
                        });
                    }
                }
                self.trim();
                (!changed.is_empty()).then_some(LiveData::Range {
                    step_ms,
                    series: changed,
                })
            }
        }
    }

    /// Drops buckets that left the window.
    fn trim(&mut self) {
        let LiveQuery::Range { window_ms, .. } = &self.query else {
            return;
        };
        let step = self.state.step_ms.max(1);
        let oldest = now_ms() - window_ms;
        let first_kept = oldest - oldest.rem_euclid(step);
        app::live::drop_buckets_before(&mut self.state.lines, first_kept);
    }

    /// Records routed changes for the next frame.
    pub(super) fn note(&mut self, stamp: Stamp, changes: &[Arc<Routed>]) {
        if self.position.get(stamp.partition) >= stamp.position {
            // Already in the state (it was read after this change).
            return;
        }
        let pending = self.pending.cursor.take();
        let base = pending.unwrap_or_else(|| self.position.clone());
        self.pending.cursor = Some(base.with(stamp.partition, stamp.position));
        for routed in changes {
            let change = &routed.change;
            match &self.query {
                LiveQuery::Latest { .. } => {
                    if let Some((value, ts)) = change.current {
                        let value = CurrentValue {
                            series: routed.key.clone(),
                            value,
                            ts,
                            kind: change.kind,
                        };
                        match self.pending.values.get(&value.series) {
                            Some(known) if !value.supersedes(known) => {}
                            _ => {
                                self.pending.values.insert(value.series.clone(), value);
                            }
                        }
                    }
                }
                LiveQuery::Range { .. } => {
                    self.pending.span = Some(match self.pending.span {
                        Some((from, to)) => (from.min(change.from), to.max(change.to)),
                        None => (change.from, change.to),
                    });
                    if !self.state.resolved_ids.contains(&change.series_id()) {
                        self.pending.new_series = true;
                    }
                }
            }
        }
    }
}
