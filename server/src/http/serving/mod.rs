//! Accepting connections: HTTP on the main runtime, live sockets on a runtime of their own,
//! and the timeouts and per-address cap that keep slow or idle clients from holding them.
//!
//! Thousands of live sockets are thousands of tasks. On the runtime that also serves ingest, an
//! ingest request waited behind all of them at each of its awaits: with 10 000 viewers, 450 ms
//! at p99 from the request to its change notice in Redis, and fewer than half the points sent
//! were taken. A connection whose first request line is `GET /api/v1/live` is therefore moved,
//! before hyper reads a byte of it, to the live runtime: its socket's readiness, its task and
//! the feeds it starts all run there, and the operating system shares the cores between the two
//! runtimes' threads, so an ingest request is served as soon as it arrives.
//!
//! Every connection has a [`Clock`](clock::Clock): what it waits for from the client and until when. A
//! request's head must arrive within `LIVEDASH_HEADER_TIMEOUT` of the connection opening (the
//! live hand-off's peek included) or of the first byte of a later request, its body within
//! `LIVEDASH_BODY_TIMEOUT` of its head, and the next request within `LIVEDASH_IDLE_TIMEOUT` of
//! the last answer; an answer the client does not read for `LIVEDASH_IDLE_TIMEOUT` ends the
//! connection too. hyper's own `header_read_timeout` is not used: it starts when hyper begins
//! waiting for a head, which on a kept-alive connection is right after the previous answer, so it
//! cannot tell an idle client from one that drips its headers. Once a connection becomes a live
//! socket, the socket's pings and slow-client rules govern it instead. Until a connection
//! signs in (or becomes a live socket, counted by `LIVEDASH_LIVE_SOCKETS_PER_ADDRESS`), it
//! counts against its address, at most `LIVEDASH_CONNECTIONS_PER_ADDRESS` at once.

mod accept;
mod admission;
mod clock;
mod connection;
mod limits;
mod live;
mod metered;
mod refusal;
mod signed_in;

pub use accept::serve;
pub use limits::ConnectionLimits;
pub use live::LiveRuntime;
pub use refusal::ConnectionError;
pub use signed_in::{ConnectionHandle, admit_signed_in};
