//! A funnel's flow: how many users reached each of its steps, per minute (one hash per day,
//! kept nine days), read back over a window for the funnel alert rules: their conversion now,
//! a week earlier, and at every step of the hours a preview replays.

use std::collections::HashMap;

use super::record::FLOW_MINUTES_PER_DAY;
use crate::storage::slots::Batch;
use crate::storage::{StorageError, Store};

/// Users who reached each step, per minute, over a span read at once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flow {
    /// Minute (since the epoch) → users who reached each step in it.
    minutes: HashMap<i64, Vec<u64>>,
    steps: usize,
}

impl Flow {
    /// A flow from `(minute, step, users)` counts of a funnel of `steps` steps.
    #[must_use]
    pub fn from_counts(steps: usize, counts: impl IntoIterator<Item = (i64, usize, u64)>) -> Self {
        let mut minutes: HashMap<i64, Vec<u64>> = HashMap::new();
        for (minute, step, users) in counts {
            if step < steps {
                minutes.entry(minute).or_insert_with(|| vec![0; steps])[step] += users;
            }
        }
        Self { minutes, steps }
    }

    /// Users who reached each step within `[from, to)` ms (whole minutes: a minute counts
    /// when it starts in the span).
    #[must_use]
    pub fn reached(&self, (from, to): (i64, i64)) -> Vec<u64> {
        let mut reached = vec![0; self.steps];
        let (first, last) = (from.div_euclid(60_000), (to - 1).div_euclid(60_000));
        for (minute, users) in &self.minutes {
            if (first..=last).contains(minute) {
                for (total, users) in reached.iter_mut().zip(users) {
                    *total += users;
                }
            }
        }
        reached
    }
}

/// The conversion of a funnel whose steps were reached by `reached` users: of those who
/// reached the first step, the share that reached the last; with `step`, of those who reached
/// the step before it, the share that reached it. `None` when nobody reached the step it is
/// a share of (or the step is not in the funnel).
#[must_use]
pub fn conversion(reached: &[u64], step: Option<usize>) -> Option<f64> {
    let (into, from) = match step {
        Some(step) => (step, step.checked_sub(1)?),
        None => (reached.len().checked_sub(1)?, 0),
    };
    let (into, from) = (*reached.get(into)?, *reached.get(from)?);
    (from > 0).then(|| into as f64 / from as f64)
}

impl Store {
    /// The flow of funnel `id` (of `steps` steps) over `[from, to)` ms.
    ///
    /// # Errors
    /// Redis failed, or holds a count that is not one.
    pub async fn funnel_flow(
        &self,
        id: &str,
        steps: usize,
        (from, to): (i64, i64),
    ) -> Result<Flow, StorageError> {
        let minute_of = |ms: i64| ms.div_euclid(60_000);
        let days = minute_of(from).div_euclid(FLOW_MINUTES_PER_DAY)
            ..=minute_of(to - 1).div_euclid(FLOW_MINUTES_PER_DAY);
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for day in days.clone() {
            batch.cmd("HGETALL", &self.keys.funnel_flow(id, day));
        }
        let read: Vec<HashMap<String, i64>> = batch.query(&connection).await?;
        let (first, last) = (minute_of(from), minute_of(to - 1));
        let mut counts = Vec::new();
        for (day, fields) in days.zip(read) {
            for (field, users) in fields {
                let parsed = field.split_once(':').and_then(|(minute, step)| {
                    Some((minute.parse::<i64>().ok()?, step.parse::<usize>().ok()?))
                });
                let Some((minute, step)) = parsed else {
                    return Err(StorageError::Corrupt {
                        key: self.keys.funnel_flow(id, day),
                        reason: format!("{field:?} is not <minute>:<step>"),
                    });
                };
                if (first..=last).contains(&minute) {
                    counts.push((minute, step, u64::try_from(users).unwrap_or(0)));
                }
            }
        }
        Ok(Flow::from_counts(steps, counts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_windows_conversion_counts_the_steps_reached_in_it() {
        let flow = Flow::from_counts(
            3,
            [
                (10, 0, 10),
                (10, 1, 6),
                (11, 2, 3),
                (12, 0, 10),
                (12, 2, 1),
                (13, 5, 99),
            ],
        );
        assert_eq!(flow.reached((600_000, 720_000)), vec![10, 6, 3]);
        assert_eq!(flow.reached((600_000, 780_000)), vec![20, 6, 4]);
        assert_eq!(conversion(&[20, 6, 4], None), Some(0.2));
        assert_eq!(conversion(&[20, 6, 4], Some(1)), Some(0.3));
        assert_eq!(conversion(&[20, 6, 4], Some(3)), None);
        assert_eq!(conversion(&[0, 0, 0], None), None);
        assert_eq!(conversion(&[], None), None);
    }
}
