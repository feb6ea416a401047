//! Property tests of key building: no metric name, label value, user id, event name or
//! property can address another series' keys, or a key outside livedash's prefix.

use std::collections::BTreeMap;

use app::model::SeriesKey;
use proptest::prelude::*;
use server::storage::keys::{Keys, SeriesId};

/// Label values: any UTF-8, weighted towards the characters that delimit the canonical text
/// (quotes, backslashes, commas, equals signs, braces, newlines), where an escaping mistake
/// would let two series share an id.
fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec(
            prop_oneof![
                Just('"'), Just('\\'), Just(','), Just('='), Just('{'), Just('}'),
                Just('\n'), Just('a'), Just('b'), Just(':'),
            ],
            0..6,
        )
        .prop_map(|chars| chars.into_iter().collect()),
        1 => any::<String>(),
    ]
}

/// Valid series keys (ingest validates names and label names; values are free).
fn series_key() -> impl Strategy<Value = SeriesKey> {
    (
        prop_oneof!["[a-b]", "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}"],
        proptest::collection::btree_map("[a-c]|[a-zA-Z_][a-zA-Z0-9_]{0,6}", label_value(), 0..4),
    )
        .prop_filter("valid", |(name, labels)| {
            SeriesKey {
                name: name.clone(),
                labels: labels.clone(),
            }
            .validate()
            .is_ok()
        })
        .prop_map(|(name, labels)| SeriesKey { name, labels })
}

/// What every key may look like after the prefix: livedash's own words, hex ids in hash tags,
/// numbers; never user text.
fn is_own_key(key: &str, prefix: &str) -> bool {
    let Some(rest) = key.strip_prefix(prefix) else {
        return false;
    };
    rest.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"{}:-_".contains(&b))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Two series share an id only if they are the same series.
    #[test]
    fn distinct_series_have_distinct_ids(a in series_key(), b in series_key()) {
        prop_assert_eq!(a == b, SeriesId::of(&a) == SeriesId::of(&b), "{} / {}", a, b);
        prop_assert_eq!(a == b, a.to_string() == b.to_string());
    }

    /// Every key of a series is the prefix, the series' id as a hash tag, and livedash's own
    /// suffixes: nothing of the name or labels, whatever they contain.
    #[test]
    fn series_keys_stay_inside_the_prefix(
        series in series_key(),
        tier in prop_oneof![Just("10s"), Just("1m"), Just("1h"), Just("1d")],
        chunk in any::<i64>(),
    ) {
        let prefix = "ld:";
        let keys = Keys::new(prefix);
        let id = SeriesId::of(&series);
        prop_assert!(id.as_str().len() == 32 && id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        let base = format!("{prefix}{{{}}}", id.as_str());
        for key in [
            keys.series_base(&id),
            keys.meta(&id),
            keys.raw_chunk(&id, chunk),
            keys.rollup_chunk(&id, tier, chunk),
            keys.histogram_bucket(&id, tier, chunk),
            keys.set_bucket(&id, tier, chunk),
        ] {
            prop_assert!(key.starts_with(&base), "{}", key);
            prop_assert!(is_own_key(&key, prefix), "{}", key);
        }
        prop_assert!(is_own_key(&keys.name_index(&series.name), prefix));
    }

    /// Keys built from analytics input (event names, properties, user ids) hash what users
    /// wrote; share links, tokens and sessions are named by hashes livedash computed.
    #[test]
    fn analytics_and_credential_keys_stay_inside_the_prefix(
        event in any::<String>(),
        property in any::<String>(),
        user in any::<String>(),
        start in any::<i64>(),
    ) {
        let prefix = "ld:";
        let keys = Keys::new(prefix);
        let funnel = "0123456789abcdef";
        for key in [
            keys.top(&event, &property, "1m", start),
            keys.funnel_user(funnel, &user),
            keys.funnel_depths(funnel),
        ] {
            prop_assert!(is_own_key(&key, prefix), "{}", key);
        }
        // Different (event, property) pairs never share a ranking, even when their
        // concatenations agree.
        let swapped = keys.top(&format!("{event}{property}"), "", "1m", start);
        if !property.is_empty() {
            prop_assert_ne!(keys.top(&event, &property, "1m", start), swapped);
        }
    }
}

/// Label values that look like the canonical text of other labels do not merge series.
#[test]
fn delimiters_in_values_do_not_merge_series() {
    let key = |labels: &[(&str, &str)]| SeriesKey {
        name: "m".into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    };
    let pairs = [
        (key(&[("a", "x\",b=\"y")]), key(&[("a", "x"), ("b", "y")])),
        (key(&[("a", "x\\")]), key(&[("a", "x\\\\")])),
        (key(&[("a", "1\n")]), key(&[("a", "1\\n")])),
    ];
    for (one, other) in pairs {
        assert_ne!(SeriesId::of(&one), SeriesId::of(&other), "{one} / {other}");
    }
}
