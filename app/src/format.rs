//! Every number livedash shows is written here: significant digits, thousands grouping, SI and
//! binary prefixes joined to their unit (`47.0 MB`, `1.23 k req/s`), and durations as
//! durations (`3 min 20 s`). Pure functions, shared by the server-rendered and browser pages.

/// Significant digits of a scaled number.
const SIGNIFICANT: usize = 3;

/// What a non-finite number shows as: never `NaN` or `inf`.
pub const NOT_A_NUMBER: &str = "–";

/// SI prefixes above one, by power of 1000.
const SI_UP: [&str; 6] = ["k", "M", "G", "T", "P", "E"];
/// SI prefixes below one, by power of 1000.
const SI_DOWN: [&str; 4] = ["m", "µ", "n", "p"];
/// Binary prefixes, by power of 1024.
const BINARY: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// `value` with `digits` significant digits (trailing zeros kept, so a column of numbers
/// reads alike), or `decimals` after the point when given.
fn digits(value: f64, decimals: Option<u8>) -> String {
    if let Some(decimals) = decimals {
        return format!("{value:.prec$}", prec = usize::from(decimals));
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let after_point = (SIGNIFICANT as i32 - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.after_point$}");
    // Rounding may have reached the next power of ten (9.996 → 10.00): one fewer digit after
    // the point then.
    if after_point > 0 && rounded(value, after_point).abs() >= 10f64.powi(magnitude + 1) {
        return format!("{value:.prec$}", prec = after_point - 1);
    }
    text
}

/// `value` rounded to `decimals` digits after the point (computed, not parsed back from text:
/// the browser bundle then needs no float parser).
fn rounded(value: f64, decimals: usize) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (value * scale).round() / scale
}

/// An integer part with thousands separators: `1234567` → `1,234,567`.
fn grouped(integer: &str) -> String {
    let (sign, digits) = match integer.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", integer),
    };
    let mut text = String::with_capacity(integer.len() + digits.len() / 3);
    text.push_str(sign);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A count with thousands separators: `12,345`.
#[must_use]
pub fn count(count: u64) -> String {
    grouped(&count.to_string())
}

/// A number without a unit: three significant digits (`29.0`, `462`, `0.00123`), whole numbers
/// below a million in full with separators (`12,345`), larger ones with an SI prefix
/// (`1.23 M`).
#[must_use]
pub fn number(value: f64) -> String {
    plain(value, None)
}

fn plain(value: f64, decimals: Option<u8>) -> String {
    if !value.is_finite() {
        return NOT_A_NUMBER.to_owned();
    }
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        let (scaled, prefix) = scale_up(value, 1000.0, &SI_UP);
        return format!("{} {prefix}", digits(scaled, decimals));
    }
    if magnitude >= 1000.0 || (decimals.is_none() && value.fract() == 0.0) {
        let whole = match decimals {
            Some(d) if d > 0 => format!("{value:.prec$}", prec = usize::from(d)),
            _ => format!("{value:.0}"),
        };
        let (integer, fraction) = whole.split_once('.').unwrap_or((&whole, ""));
        let mut text = grouped(integer);
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(fraction);
        }
        return text;
    }
    if decimals.is_none() && magnitude < 1e-6 {
        let exponent = magnitude.log10().floor() as i32;
        return format!("{:.2}e{exponent}", value / 10f64.powi(exponent));
    }
    let text = digits(value, decimals);
    // 999.96 rounds to 1000: grouped like the numbers above it.
    match text.split_once('.') {
        Some((integer, fraction)) => format!("{}.{fraction}", grouped(integer)),
        None => grouped(&text),
    }
}

/// A compact number for a chart's axis, where space is short: `950`, `1.2k`, `3.4M`, `0.25`.
#[must_use]
pub fn axis(value: f64) -> String {
    if !value.is_finite() {
        return NOT_A_NUMBER.to_owned();
    }
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e4 {
        scale_up(value, 1000.0, &SI_UP)
    } else {
        (value, "")
    };
    let text = if scaled.fract().abs() < 1e-9 || scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    format!("{text}{suffix}")
}

/// `value / base^k` within `[1, base)`, and its prefix (the largest there is, beyond).
fn scale_up<'a>(value: f64, base: f64, prefixes: &[&'a str]) -> (f64, &'a str) {
    let mut scaled = value;
    let mut at = None;
    for (index, _) in prefixes.iter().enumerate() {
        if scaled.abs() < base {
            break;
        }
        scaled /= base;
        at = Some(index);
    }
    // 999.96 k rounds to 1000 k with three digits: the next prefix reads better.
    let next = at.map_or(0, |index| index + 1);
    if scaled == 0.0 {
        return (scaled, "");
    }
    let magnitude = scaled.abs().log10().floor() as i32;
    let shown = rounded(scaled, (SIGNIFICANT as i32 - 1 - magnitude).max(0) as usize);
    if shown.abs() >= base && next < prefixes.len() {
        return (scaled / base, prefixes[next]);
    }
    (scaled, at.map_or("", |index| prefixes[index]))
}

/// `value / 1000^k` within `[1, 1000)` for small values, and its prefix.
fn scale_down(value: f64) -> (f64, &'static str) {
    let mut scaled = value;
    let mut prefix = "";
    for next in SI_DOWN {
        if scaled.abs() >= 1.0 {
            break;
        }
        scaled *= 1000.0;
        prefix = next;
    }
    (scaled, prefix)
}

/// What kind of unit a unit text is, for how its numbers are written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Family {
    /// No unit.
    None,
    /// `%`: the number and the sign.
    Percent,
    /// Seconds, and units of seconds: written as a duration; the factor to seconds.
    Time(f64),
    /// Bytes or bits (maybe per second): SI prefixes joined to the unit (`47.0 MB`).
    Data,
    /// Bytes with binary prefixes (`iB`, `KiB`…): `45.0 MiB`.
    BinaryData,
    /// Any other unit: an SI prefix before it (`1.23 k req/s`).
    Other,
}

fn family(unit: &str) -> Family {
    let base = unit.strip_suffix("/s").unwrap_or(unit);
    match unit {
        "" => Family::None,
        "%" => Family::Percent,
        "ns" => Family::Time(1e-9),
        "us" | "µs" | "μs" => Family::Time(1e-6),
        "ms" => Family::Time(1e-3),
        "s" | "sec" | "seconds" => Family::Time(1.0),
        "min" => Family::Time(60.0),
        "h" => Family::Time(3600.0),
        "d" => Family::Time(86_400.0),
        _ if matches!(base, "iB") => Family::BinaryData,
        _ if matches!(base, "B" | "bytes" | "bit" | "bits" | "b") => Family::Data,
        _ => Family::Other,
    }
}

/// `value` in `unit`, as a reader wants it: `12.5 ms`, `3 min 20 s`, `47.0 MB`, `45.0 MiB`,
/// `1.23 k req/s`, `99.0%`. `decimals` fixes the digits after the point (of the prefixed
/// number); `None` shows three significant digits.
#[must_use]
pub fn with_unit(value: f64, unit: &str, decimals: Option<u8>) -> String {
    if !value.is_finite() {
        return NOT_A_NUMBER.to_owned();
    }
    let unit = unit.trim();
    match family(unit) {
        Family::None => plain(value, decimals),
        Family::Percent => format!("{}%", plain(value, decimals)),
        Family::Time(factor) => match decimals {
            Some(_) => format!("{} {unit}", plain(value, decimals)),
            None => duration_seconds(value * factor),
        },
        Family::Data => {
            let (base, per_second) = match unit.strip_suffix("/s") {
                Some(base) => (base, "/s"),
                None => (unit, ""),
            };
            let base = if base == "bytes" { "B" } else { base };
            let (scaled, prefix) = scale_up(value, 1000.0, &SI_UP);
            let number = if prefix.is_empty() {
                plain(value, decimals)
            } else {
                digits(scaled, decimals)
            };
            format!("{number} {prefix}{base}{per_second}")
        }
        Family::BinaryData => {
            let per_second = if unit.ends_with("/s") { "/s" } else { "" };
            let (scaled, prefix) = scale_up(value, 1024.0, &BINARY);
            if prefix.is_empty() {
                format!("{} B{per_second}", plain(value, decimals))
            } else {
                format!("{} {prefix}B{per_second}", digits(scaled, decimals))
            }
        }
        Family::Other => {
            let magnitude = value.abs();
            if magnitude >= 1000.0 {
                let (scaled, prefix) = scale_up(value, 1000.0, &SI_UP);
                format!("{} {prefix} {unit}", digits(scaled, decimals))
            } else if magnitude != 0.0 && magnitude < 1e-3 && decimals.is_none() {
                let (scaled, prefix) = scale_down(value);
                format!("{} {prefix} {unit}", digits(scaled, None))
            } else {
                format!("{} {unit}", plain(value, decimals))
            }
        }
    }
}

/// A time span in seconds as people read it: `850 ns`, `12.5 µs`, `12.5 ms`, `42.1 s`,
/// `3 min 20 s`, `2 h 5 min`, `3 d 4 h`; negative spans with a minus sign.
#[must_use]
pub fn duration_seconds(seconds: f64) -> String {
    if !seconds.is_finite() {
        return NOT_A_NUMBER.to_owned();
    }
    if seconds < 0.0 {
        return format!("-{}", duration_seconds(-seconds));
    }
    if seconds == 0.0 {
        return "0 s".to_owned();
    }
    if seconds < 60.0 {
        let (scaled, prefix) = scale_down(seconds);
        let text = digits(scaled, None);
        // 999.7 ms rounds to 1000 ms: a second reads better.
        if !prefix.is_empty() && text.starts_with("1000") {
            return duration_seconds(seconds.max(if prefix == "m" {
                1.0
            } else {
                seconds * 1.001
            }));
        }
        return format!("{text} {prefix}s");
    }
    let whole = seconds.round() as u64;
    let (days, hours, minutes, secs) = (
        whole / 86_400,
        whole / 3_600 % 24,
        whole / 60 % 60,
        whole % 60,
    );
    match (days, hours, minutes, secs) {
        (0, 0, _, 0) => format!("{minutes} min"),
        (0, 0, _, _) => format!("{minutes} min {secs} s"),
        (0, _, 0, _) => format!("{hours} h"),
        (0, _, _, _) => format!("{hours} h {minutes} min"),
        (_, 0, _, _) => format!("{days} d"),
        _ => format!("{days} d {hours} h"),
    }
}

/// A time span in milliseconds: see [`duration_seconds`].
#[must_use]
pub fn duration_ms(ms: f64) -> String {
    duration_seconds(ms / 1000.0)
}

/// A fraction as a percentage with one decimal: `0.1234` → `12.3%`.
#[must_use]
pub fn percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return NOT_A_NUMBER.to_owned();
    }
    format!("{:.1}%", fraction * 100.0)
}

/// A relative change: `+12.0 %`, `−3.4 %`.
#[must_use]
pub fn change(change: f64) -> String {
    if !change.is_finite() {
        return NOT_A_NUMBER.to_owned();
    }
    let percent = change * 100.0;
    if percent >= 0.0 {
        format!("+{percent:.1} %")
    } else {
        format!("\u{2212}{:.1} %", -percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers() {
        assert_eq!(number(29.02809929736721), "29.0");
        assert_eq!(number(462.46062003343974), "462");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(number(0.001234), "0.00123");
        assert_eq!(number(2.5e-9), "2.50e-9");
        assert_eq!(number(42.0), "42");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(999.96), "1,000");
        assert_eq!(number(1234.6), "1,235");
        assert_eq!(number(12_345.0), "12,345");
        assert_eq!(number(999_999.0), "999,999");
        assert_eq!(number(1_234_567.0), "1.23 M");
        assert_eq!(number(45.6e9), "45.6 G");
        assert_eq!(number(9.9996e8), "1.00 G");
        assert_eq!(number(3e18), "3.00 E");
        assert_eq!(number(9.5), "9.50");
        assert_eq!(number(99.95), "100");
    }

    #[test]
    fn negative_numbers() {
        assert_eq!(number(-29.028), "-29.0");
        assert_eq!(number(-12_345.0), "-12,345");
        assert_eq!(number(-1_234_567.0), "-1.23 M");
        assert_eq!(number(-0.001234), "-0.00123");
        assert_eq!(with_unit(-0.0125, "s", None), "-12.5 ms");
        assert_eq!(with_unit(-47e6, "B", None), "-47.0 MB");
        assert_eq!(with_unit(-1500.0, "req/s", None), "-1.50 k req/s");
    }

    #[test]
    fn never_nan_or_infinite() {
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for text in [
                number(value),
                with_unit(value, "ms", None),
                with_unit(value, "B", None),
                with_unit(value, "req/s", Some(2)),
                with_unit(value, "%", None),
                percent(value),
                change(value),
                duration_seconds(value),
            ] {
                assert_eq!(text, NOT_A_NUMBER);
            }
        }
    }

    #[test]
    fn counts() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn bytes_with_si_and_binary_prefixes() {
        assert_eq!(with_unit(46.97e6, "B", None), "47.0 MB");
        assert_eq!(with_unit(512.0, "B", None), "512 B");
        assert_eq!(with_unit(0.0, "B", None), "0 B");
        assert_eq!(with_unit(0.0, "iB", None), "0 B");
        assert_eq!(with_unit(0.0, "req/s", None), "0 req/s");
        assert_eq!(with_unit(1536.0, "bytes", None), "1.54 kB");
        assert_eq!(with_unit(3.2e12, "B", None), "3.20 TB");
        assert_eq!(with_unit(47_185_920.0, "iB", None), "45.0 MiB");
        assert_eq!(with_unit(1024.0, "iB", None), "1.00 KiB");
        assert_eq!(with_unit(1000.0, "iB", None), "1,000 B");
        assert_eq!(with_unit(5.5e9, "iB/s", None), "5.12 GiB/s");
        assert_eq!(with_unit(1.2e6, "bit/s", None), "1.20 Mbit/s");
        assert_eq!(with_unit(2.5e6, "B/s", Some(1)), "2.5 MB/s");
    }

    #[test]
    fn other_units_take_an_si_prefix() {
        assert_eq!(with_unit(1234.0, "req/s", None), "1.23 k req/s");
        assert_eq!(with_unit(1200.0, "req/s", Some(1)), "1.2 k req/s");
        assert_eq!(with_unit(462.46, "req/s", None), "462 req/s");
        assert_eq!(with_unit(12.0, "users", None), "12 users");
        assert_eq!(with_unit(3.4e9, "ops", None), "3.40 G ops");
        assert_eq!(with_unit(0.00042, "A", None), "420 µ A");
        assert_eq!(with_unit(0.5, "A", None), "0.500 A");
    }

    #[test]
    fn percentages() {
        assert_eq!(with_unit(99.0, "%", None), "99%");
        assert_eq!(with_unit(99.04, "%", None), "99.0%");
        assert_eq!(with_unit(12.345, "%", Some(1)), "12.3%");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(change(0.12), "+12.0 %");
        assert_eq!(change(-0.034), "\u{2212}3.4 %");
    }

    #[test]
    fn durations() {
        assert_eq!(with_unit(12.345, "ms", None), "12.3 ms");
        assert_eq!(with_unit(850.0, "ns", None), "850 ns");
        assert_eq!(with_unit(12.5, "us", None), "12.5 µs");
        assert_eq!(with_unit(0.0125, "s", None), "12.5 ms");
        assert_eq!(with_unit(42.12, "s", None), "42.1 s");
        assert_eq!(with_unit(200.0, "s", None), "3 min 20 s");
        assert_eq!(with_unit(7_500_000.0, "ms", None), "2 h 5 min");
        assert_eq!(with_unit(3.0, "d", None), "3 d");
        assert_eq!(with_unit(90.0, "min", None), "1 h 30 min");
        assert_eq!(with_unit(12.346, "ms", Some(2)), "12.35 ms");
        assert_eq!(duration_ms(999.7), "1.00 s");
        assert_eq!(duration_ms(0.0), "0 s");
        assert_eq!(duration_ms(3_600_000.0 * 27.0), "1 d 3 h");
        assert_eq!(duration_seconds(-90.0), "-1 min 30 s");
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(axis(950.0), "950");
        assert_eq!(axis(0.25), "0.25");
        assert_eq!(axis(2.5), "2.5");
        assert_eq!(axis(12_000.0), "12k");
        assert_eq!(axis(3_400_000.0), "3.4M");
        assert_eq!(axis(-1.5e9), "-1.5G");
        assert_eq!(axis(f64::NAN), NOT_A_NUMBER);
    }

    #[test]
    fn fixed_decimals() {
        assert_eq!(with_unit(12.0, "", Some(2)), "12.00");
        assert_eq!(with_unit(12_345.678, "", Some(1)), "12,345.7");
        assert_eq!(with_unit(0.5, "", Some(0)), "0");
    }
}
