//! What a batch changes in one user's retention record, as pure logic: a new user gets an id
//! and their cohort; an event earlier than the user's first moves them to its cohort.

use std::collections::BTreeSet;

pub(crate) const DAY_MS: i64 = 86_400_000;

/// The period cohorts and activity are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
}

impl Period {
    /// The number of the period `ts` falls in, counted from the epoch (weeks from the Monday
    /// before it).
    #[must_use]
    pub fn of(self, ts: i64) -> i64 {
        let day = ts.div_euclid(DAY_MS);
        match self {
            Self::Day => day,
            Self::Week => (day + 3).div_euclid(7),
        }
    }

    /// When period number `n` starts, ms.
    #[must_use]
    pub fn start(self, n: i64) -> i64 {
        match self {
            Self::Day => n * DAY_MS,
            Self::Week => (n * 7 - 3) * DAY_MS,
        }
    }

    pub(crate) fn letter(self) -> &'static str {
        match self {
            Self::Day => "d",
            Self::Week => "w",
        }
    }
}

/// A user's events in a batch, as retention sees them.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub earliest: i64,
    pub days: BTreeSet<i64>,
    pub weeks: BTreeSet<i64>,
}

impl Activity {
    pub fn note(&mut self, ts: i64) {
        if self.days.is_empty() || ts < self.earliest {
            self.earliest = ts;
        }
        self.days.insert(Period::Day.of(ts));
        self.weeks.insert(Period::Week.of(ts));
    }
}

/// A user's record in their partition's ids hash: their dense id and first event's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub id: u64,
    pub first: i64,
}

impl Record {
    /// The stored form, `id,first`.
    #[must_use]
    pub fn encode(self) -> String {
        format!("{},{}", self.id, self.first)
    }

    /// `None` for anything that is not `id,first`.
    #[must_use]
    pub fn decode(stored: &str) -> Option<Self> {
        let (id, first) = stored.split_once(',')?;
        Some(Self {
            id: id.parse().ok()?,
            first: first.parse().ok()?,
        })
    }
}

/// What becomes of a user's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Not seen before: an id to give, and their cohort.
    New { first: i64 },
    /// Seen, from `from.first`; an earlier event moves them to the cohort of `first`.
    Move { from: Record, first: i64 },
    /// Seen, cohort unchanged.
    Stay { record: Record },
}

/// The step for a user whose record is `stored` and whose batch is `activity`.
#[must_use]
pub fn step(stored: Option<Record>, activity: &Activity) -> Step {
    match stored {
        None => Step::New {
            first: activity.earliest,
        },
        Some(from) if activity.earliest < from.first => Step::Move {
            from,
            first: activity.earliest,
        },
        Some(record) => Step::Stay { record },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_junk_is_refused() {
        let record = Record {
            id: 41,
            first: 1_796_601_600_000,
        };
        assert_eq!(Record::decode(&record.encode()), Some(record));
        assert_eq!(Record::decode("41"), None);
        assert_eq!(Record::decode("x,1"), None);
    }

    #[test]
    fn only_an_earlier_event_moves_a_cohort() {
        let mut activity = Activity::default();
        activity.note(500);
        activity.note(200);
        activity.note(900);
        assert_eq!(activity.earliest, 200);
        let record = Record { id: 3, first: 300 };
        assert_eq!(step(None, &activity), Step::New { first: 200 });
        assert_eq!(
            step(Some(record), &activity),
            Step::Move {
                from: record,
                first: 200
            }
        );
        let earlier = Record { id: 3, first: 100 };
        assert_eq!(
            step(Some(earlier), &activity),
            Step::Stay { record: earlier }
        );
    }

    #[test]
    fn weeks_start_on_monday_in_utc() {
        // 2026-12-07 is a Monday.
        let monday = 1_796_601_600_000;
        assert_eq!(Period::Week.start(Period::Week.of(monday)), monday);
        assert_eq!(Period::Week.of(monday - 1), Period::Week.of(monday) - 1);
        assert_eq!(
            Period::Week.of(monday + 7 * DAY_MS - 1),
            Period::Week.of(monday)
        );
        assert_eq!(Period::Day.start(Period::Day.of(monday + 5)), monday);
    }
}
