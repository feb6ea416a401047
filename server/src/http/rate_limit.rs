//! Request rate limits: a token bucket per credential (API token, browser session) or, for
//! requests without one, per client address, so one busy or runaway client cannot starve the
//! others. Refusals are `429` with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many buckets may exist before idle ones are dropped.
const PRUNE_AT: usize = 10_000;
/// A bucket untouched for this long is full again, so it can be forgotten.
const IDLE: Duration = Duration::from_secs(60);

/// A token bucket per key.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` requests a second sustained, bursts of up to twice that (at least 10).
    #[must_use]
    pub fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        Self {
            per_second,
            burst: (per_second * 2.0).max(10.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The sustained rate, requests per second.
    #[must_use]
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Most requests at once, after a pause.
    #[must_use]
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Whether `key`'s bucket has room at `now`, without taking from it: `Ok`, or how long
    /// until it has. (Failed sign-ins are counted after the fact, but an address that used up
    /// its budget must be stopped before its next lookup.)
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(bucket) = buckets.get(key) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }

    /// Takes one request from `key`'s bucket at `now`: `Ok` if there was room, else how long
    /// until there is.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, bucket| now.duration_since(bucket.updated) < IDLE);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_the_sustained_rate() {
        let limiter = RateLimiter::new(10);
        let start = Instant::now();
        // A burst of 20 (twice the rate) passes, the 21st waits a tenth of a second.
        for _ in 0..20 {
            assert!(limiter.take("a", start).is_ok());
        }
        let wait = limiter.take("a", start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        // Another key has its own bucket.
        assert!(limiter.take("b", start).is_ok());
        // After a second, ten more.
        let later = start + Duration::from_secs(1);
        for _ in 0..10 {
            assert!(limiter.take("a", later).is_ok());
        }
        assert!(limiter.take("a", later).is_err());
    }

    #[test]
    fn checking_takes_nothing() {
        let limiter = RateLimiter::new(10);
        let start = Instant::now();
        assert!(limiter.check("a", start).is_ok());
        for _ in 0..20 {
            assert!(limiter.check("a", start).is_ok());
            limiter.take("a", start).unwrap();
        }
        let wait = limiter.check("a", start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert!(limiter.check("a", start + wait).is_ok());
        assert!(limiter.check("b", start).is_ok());
    }

    #[test]
    fn idle_buckets_are_forgotten() {
        let limiter = RateLimiter::new(1);
        let start = Instant::now();
        for key in 0..PRUNE_AT {
            limiter.take(&key.to_string(), start).unwrap();
        }
        limiter.take("late", start + IDLE).unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
