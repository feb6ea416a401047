//! One livedash process: start-up, serving, and an orderly stop; the managed `redis-server`.

mod livedash;
pub mod managed_redis;

pub use livedash::{Livedash, OUTPUT_NAME, StartError};
