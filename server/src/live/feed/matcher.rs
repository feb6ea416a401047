//! Which series a feed shows: its live query's selector, compiled.

use app::live::LiveQuery;
use app::model::SeriesKey;

use crate::storage::query::{CompiledSelector, QueryError};

/// Which series a feed shows.
pub struct Matcher {
    name: Option<String>,
    selector: Option<CompiledSelector>,
}

impl Matcher {
    /// The matcher of `query`.
    ///
    /// # Errors
    /// The selector names no metric (neither a name nor a `__name__` matcher), or a regular
    /// expression in it does not compile.
    pub fn new(query: &LiveQuery) -> Result<Self, QueryError> {
        let selector = match query {
            LiveQuery::Latest { selector } => selector.as_ref(),
            LiveQuery::Range { selector, .. } => Some(selector),
        };
        if let Some(selector) = selector {
            selector
                .check()
                .map_err(|error| QueryError::BadSelector(error.to_string()))?;
        }
        Ok(Self {
            // A `__name__` pattern has no one name: its compiled conditions test the name.
            name: selector
                .and_then(|selector| selector.fixed_name())
                .map(str::to_owned),
            selector: selector.map(CompiledSelector::new).transpose()?,
        })
    }

    /// Whether `key` is one of its series.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        self.name.as_ref().is_none_or(|name| *name == key.name)
            && self
                .selector
                .as_ref()
                .is_none_or(|selector| selector.matches(key))
    }
}
