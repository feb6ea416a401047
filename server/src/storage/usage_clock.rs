//! When each API token's use was last written down, so that busy tokens cost one write a
//! minute.

use std::collections::HashMap;
use std::sync::Mutex;

/// "Last used" is kept to the minute: one write per token and minute at most.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// When each token was last recorded as used, so busy tokens cost one write a minute.
#[derive(Default)]
pub struct UsageClock(Mutex<HashMap<String, i64>>);

impl UsageClock {
    /// True when `id`'s use at `now_ms` falls in a minute not yet recorded.
    pub(super) fn should_record(&self, id: &str, now_ms: i64) -> bool {
        let minute = now_ms - now_ms.rem_euclid(LAST_USED_RESOLUTION_MS);
        let mut recorded = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if recorded.get(id) == Some(&minute) {
            return false;
        }
        recorded.insert(id.to_owned(), minute);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_recorded_once_a_minute() {
        let clock = UsageClock::default();
        assert!(clock.should_record("a", 120_000));
        assert!(!clock.should_record("a", 179_999));
        assert!(clock.should_record("b", 179_999));
        assert!(clock.should_record("a", 180_000));
    }
}
