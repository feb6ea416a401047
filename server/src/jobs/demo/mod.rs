//! `--demo`: simulated services and product traffic, so that every widget has something
//! real-looking to show.
//!
//! Three services answer requests with log-normal response times (and a slow tail) and a few
//! errors. Visitors arrive on a website, read pages, some walk through the sign-up funnel, and
//! some reach the checkout, where the `checkout-button` experiment assigns them a variant; the
//! `green` variant really converts better (12 % against 8 %). Everything is written through the
//! same paths as real traffic: the metrics writer, the event store, the assignment endpoint's
//! store call. A "Product analytics (demo)" dashboard shows it.
//!
//! On a Redis without demo data, the last 24 hours of the same traffic are written first, each
//! point and event with its own time, so that every chart is full at first sight and rollups,
//! funnel, experiment and unique visitors agree (see `write_history`).

mod dashboard;
mod history;
mod job;
mod setup;
mod simulation;

pub use job::run;
