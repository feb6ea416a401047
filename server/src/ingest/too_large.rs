//! Why an ingest request was refused whole as too large, named by the limit it broke.

/// Why an ingest request was refused whole as too large (`413`): nothing of it was stored.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum TooLarge {
    /// The body is over `LIVEDASH_MAX_BODY_BYTES`.
    #[error(
        "the request body is over {max} bytes{counted}, the limit LIVEDASH_MAX_BODY_BYTES sets; \
         send smaller batches",
        counted = if *compressible { " (counted after decompression)" } else { "" }
    )]
    Body {
        max: usize,
        /// Whether the endpoint takes compressed bodies, whose limit applies decompressed.
        compressible: bool,
    },
    /// More items than one request may hold.
    #[error(
        "a request holds at most {max} {what} (the limit {variable} sets), got {got}; send \
         several smaller batches",
        got = match got { Some(got) => got.to_string(), None => "more".to_owned() }
    )]
    Items {
        /// What is counted, plural (`samples`, `events`).
        what: &'static str,
        max: usize,
        variable: &'static str,
        /// How many there were, when counting them was cheap.
        got: Option<usize>,
    },
    /// Line protocol: every numeric field is a series of its own carrying a copy of its line's
    /// measurement and tags, so a line of many fields and long tags takes far more memory than
    /// its bytes; the copies together are held to the body limit.
    #[error(
        "the series this body's samples name (each numeric field is a series with a copy of its \
         line's measurement and tags) take over {max} bytes, the limit LIVEDASH_MAX_BODY_BYTES \
         sets; send fewer lines or fields per request"
    )]
    Expanded { max: usize },
}
