//! The error that stops start-up when a variable is set to something unusable.

/// A variable that is set but unusable.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
#[error("failed to parse {variable}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What it was set to.
    pub value: String,
    /// Why that does not work.
    pub reason: String,
}
