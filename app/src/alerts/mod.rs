//! Alerting's shared types and rules: what an alert rule is and how it is validated, the
//! per-instance state machine, the templates of summaries and descriptions, silences, contact
//! points and what the API answers. Pure: the server evaluates and stores, the browser shows.
//!
//! Dependency rule: uses [`crate::query`] only; nothing here reads a clock or does I/O (times
//! are passed in), so the state machine replays the same way in a preview as live.

pub mod api;
pub mod contact;
pub mod machine;
pub mod mute;
pub mod replay;
pub mod rule;
pub mod silence;
pub mod template;
pub mod unmoved;

pub use contact::{ContactKind, ContactPoint};
pub use machine::{Decision, Instance, Observation, Severity, State, step};
pub use rule::{
    Band, Compare, Condition, ExperimentSignal, Handling, Line, Measure, Rule, RuleError, Source,
};
pub use silence::{LabelMatcher, Silence};
