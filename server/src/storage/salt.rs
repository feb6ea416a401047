//! The salt of cookieless visitor ids: one random value per UTC day, made by whichever process
//! needs it first and shared through Redis, and deleted once its day is two days past (by the
//! first process to need a later salt, and by Redis's expiry should none), so that an id can
//! no longer be traced back to an address once its salt is gone.

use super::keys::random_hex;
use super::{StorageError, Store};

const DAY_MS: i64 = 86_400_000;
/// How many days a salt lives counting its own.
const KEPT_DAYS: i64 = 2;

impl Store {
    /// The salt of the UTC day of `now_ms`.
    ///
    /// # Errors
    /// Redis failed, or holds something that is not a salt.
    pub async fn daily_salt(&self, now_ms: i64) -> Result<[u8; 32], StorageError> {
        let day = now_ms.div_euclid(DAY_MS);
        let cache = &self.events.salt;
        if let Some(salt) = cache.get(day) {
            return Ok(salt);
        }
        let key = self.keys.salt(day);
        let (stored,): (String,) = redis::pipe()
            .cmd("SET")
            .arg(&key)
            .arg(random_hex::<32>("a salt")?)
            .arg("NX")
            .arg("PXAT")
            .arg((day + KEPT_DAYS) * DAY_MS)
            .ignore()
            .cmd("GET")
            .arg(&key)
            .cmd("DEL")
            .arg(self.keys.salt(day - KEPT_DAYS))
            .arg(self.keys.salt(day - KEPT_DAYS - 1))
            .ignore()
            .query_async(&mut self.connection())
            .await?;
        let salt = decode(&stored).ok_or_else(|| StorageError::Corrupt {
            key,
            reason: "not 32 bytes in hex".to_owned(),
        })?;
        cache.set(day, salt);
        Ok(salt)
    }
}

fn decode(hex: &str) -> Option<[u8; 32]> {
    let mut salt = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (byte, pair) in salt.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(salt)
}
