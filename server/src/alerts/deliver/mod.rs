//! Delivering notifications: the worker that drains the outbox ([`worker`]), what each kind of
//! contact point is sent ([`payload`]), the Standard Webhooks signature ([`sign`]), and the
//! HTTP request with its timeout and the retry schedule ([`send`]), email over SMTP
//! ([`email`]), and what an attempt may fail with ([`failure`]).

pub mod email;
pub mod failure;
#[cfg(test)]
mod fixtures;
pub mod payload;
pub mod send;
pub mod sign;
pub mod worker;
