//! People: each person's recent events and summary, kept under a hash tag of their own; the
//! sites events were recorded for; a person's export, and their deletion from every structure
//! that holds their id or its hash.
//!
//! Depends on the storage modules whose keys hold a user (`web`, `events`, `keys`); none of
//! them depends on this one.

mod delete;
mod read;
mod record;
mod script;
mod sites;

pub use delete::{Deleted, FORGET_NOTICE_PREFIX};
