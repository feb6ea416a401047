//! Recording web analytics' per-user data: a batch's users moved through their visits and
//! their retention records, in one read and one script call per site and partition; and
//! forgetting one user.
//!
//! livedash reads the users' visit lists and retention records, works out in Rust what the
//! batch changes ([`crate::storage::visits::session`], [`crate::storage::retention::plan`]),
//! and hands the script the new values with the ones it read; the script writes them only if
//! nothing changed in between (another process, a retried request), else livedash reads again.
//! So Redis does a few plain commands per user instead of running the logic, and the counts are
//! summed per batch. Depends on `visits`, `retention` and `keys`; they do not depend on it.

pub(super) mod cache;
mod forget;
mod record;
mod script;
