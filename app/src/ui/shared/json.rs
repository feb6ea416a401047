//! JSON for resources and the live stream, read the way server functions read it.
//!
//! Server functions decode their results with `serde_json::from_slice`; leptos' default resource
//! codec and a plain `from_str` use a second reader, and every type the browser receives would
//! then be compiled into the WASM bundle twice. Everything here reads from bytes instead.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The codec of every resource in the app: JSON in the page, read from its bytes.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, serde_json::Error> {
        from_text(text)
    }
}

/// Reads `text` as JSON.
///
/// # Errors
/// The text is not JSON of a `T`.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_slice(text.as_bytes())
}

/// A resource loaded by `fetcher` whenever `source` changes (as `Resource::new`, with [`Json`]).
#[track_caller]
pub fn resource<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, Json>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::{DashboardRange, ShareLink};

    #[test]
    fn resources_round_trip_through_the_codec() {
        let links = vec![ShareLink {
            id: "l1".into(),
            dashboard: "d1".into(),
            label: "wall <screen> \"1\"".into(),
            created_at: 1,
            expires_at: Some(2),
        }];
        let encoded = <Json as Encoder<Vec<ShareLink>>>::encode(&links).unwrap();
        let decoded: Vec<ShareLink> = <Json as Decoder<_>>::decode(&encoded).unwrap();
        assert_eq!(decoded, links);
        let range: DashboardRange = from_text(r#"{"type":"last","ms":300000}"#).unwrap();
        assert_eq!(range, DashboardRange::Last { ms: 300_000 });
    }

    #[test]
    fn text_that_is_not_json_of_the_type_is_refused() {
        assert!(from_text::<DashboardRange>("{").is_err());
        assert!(from_text::<DashboardRange>(r#"{"type":"last"}"#).is_err());
    }
}
