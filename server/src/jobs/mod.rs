//! Background jobs that write as a client would: livedash's own metrics and the Overview
//! dashboard ([`self_metrics`]), and the simulated traffic of `--demo` ([`demo`]).

pub mod demo;
pub mod self_metrics;
