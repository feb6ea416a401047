//! Mute timings: recurring windows (days of the week and a time of day, in UTC) in which a
//! contact point is not notified; what arrives meanwhile is held and sent when the window
//! ends, as Alertmanager's mute time intervals do. Written as text, the same in the API, the
//! export and the Alerts page: `Mon-Fri 22:00-06:00; Sat,Sun 00:00-24:00`. A window whose end
//! is not after its start runs past midnight into the next day.

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
/// Windows joined end to start are followed this far ahead at most.
const HORIZON_MS: i64 = 7 * DAY_MS;

/// One window: the days it starts on (Monday first) and its minutes of the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MuteWindow {
    pub days: [bool; 7],
    pub start_minute: u32,
    /// 1 to 1 440; at or before the start, on the next day.
    pub end_minute: u32,
}

/// Reads `text`: windows separated by `;`, each days and a time range.
///
/// # Errors
/// What is wrong, and where.
pub fn parse(text: &str) -> Result<Vec<MuteWindow>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_window)
        .collect()
}

fn parse_window(text: &str) -> Result<MuteWindow, String> {
    let (days, times) = text.rsplit_once(' ').ok_or_else(|| {
        format!("{text:?}: write days and a time range, as in \"Mon-Fri 22:00-06:00\"")
    })?;
    let (start, end) = times
        .split_once('-')
        .ok_or_else(|| format!("{times:?}: a time range is HH:MM-HH:MM"))?;
    let start_minute = minute(start)?;
    let end_minute = minute(end)?;
    if start_minute == 1440 {
        return Err(format!("{start:?}: a window starts at 23:59 at the latest"));
    }
    let mut set = [false; 7];
    for part in days.split(',').map(str::trim) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let (first, last) = (day(first)?, day(last)?);
        let mut index = first;
        loop {
            set[index] = true;
            if index == last {
                break;
            }
            index = (index + 1) % 7;
        }
    }
    Ok(MuteWindow {
        days: set,
        start_minute,
        end_minute: if end_minute == 0 { 1440 } else { end_minute },
    })
}

fn day(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|name| lower.len() >= 3 && name.starts_with(&lower))
        .ok_or_else(|| format!("{text:?} is not a day (Mon, Tue, … Sun)"))
}

fn minute(text: &str) -> Result<u32, String> {
    let wrong = || format!("{text:?} is not a time of day (HH:MM, 00:00 to 24:00)");
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(wrong)?;
    let (hours, minutes): (u32, u32) = (
        hours.parse().map_err(|_| wrong())?,
        minutes.parse().map_err(|_| wrong())?,
    );
    if minutes > 59 || hours > 24 || (hours == 24 && minutes > 0) || text.trim().len() != 5 {
        return Err(wrong());
    }
    Ok(hours * 60 + minutes)
}

/// The day (since the Unix epoch) and weekday (Monday 0) of `ms`.
fn day_of(ms: i64) -> (i64, usize) {
    let day = ms.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday.
    (day, (day + 3).rem_euclid(7) as usize)
}

/// The spans `window` covers that start on day `day`, ms.
fn span_on(window: &MuteWindow, day: i64) -> Option<(i64, i64)> {
    let weekday = (day + 3).rem_euclid(7) as usize;
    if !window.days[weekday] {
        return None;
    }
    let start = day * DAY_MS + i64::from(window.start_minute) * MINUTE_MS;
    let end_day = if window.end_minute > window.start_minute {
        day
    } else {
        day + 1
    };
    Some((
        start,
        end_day * DAY_MS + i64::from(window.end_minute) * MINUTE_MS,
    ))
}

/// When the mute in force at `now_ms` ends (following windows that join up), if one is.
#[must_use]
pub fn muted_until(windows: &[MuteWindow], now_ms: i64) -> Option<i64> {
    let covering_end = |at: i64| {
        let (today, _) = day_of(at);
        windows
            .iter()
            .flat_map(|window| [today - 1, today].map(|day| span_on(window, day)))
            .flatten()
            .filter(|(start, end)| *start <= at && at < *end)
            .map(|(_, end)| end)
            .max()
    };
    let mut until = covering_end(now_ms)?;
    while until < now_ms + HORIZON_MS {
        match covering_end(until) {
            Some(later) if later > until => until = later,
            _ => break,
        }
    }
    Some(until.min(now_ms + HORIZON_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 was a Monday.
    const MONDAY: i64 = 1_796_601_600_000;

    fn at(day: i64, hours: i64, minutes: i64) -> i64 {
        MONDAY + day * DAY_MS + hours * 3_600_000 + minutes * MINUTE_MS
    }

    #[test]
    fn the_reference_monday_is_a_monday() {
        assert_eq!(day_of(MONDAY).1, 0);
        assert_eq!(day_of(at(5, 12, 0)).1, 5);
    }

    #[test]
    fn windows_read_days_ranges_and_times() {
        let windows = parse("Mon-Fri 22:00-06:00; sat,Sunday 00:00-24:00").unwrap();
        assert_eq!(windows.len(), 2);
        assert_eq!(
            windows[0].days,
            [true, true, true, true, true, false, false]
        );
        assert_eq!(
            (windows[0].start_minute, windows[0].end_minute),
            (1320, 360)
        );
        assert_eq!(
            windows[1].days,
            [false, false, false, false, false, true, true]
        );
        assert_eq!((windows[1].start_minute, windows[1].end_minute), (0, 1440));
        // A range of days may wrap around the week.
        assert_eq!(
            parse("Sat-Mon 01:00-02:00").unwrap()[0].days,
            [true, false, false, false, false, true, true]
        );
        assert_eq!(parse("  ").unwrap(), vec![]);
        for bad in [
            "Mon",
            "Mon 22:00",
            "Mon 25:00-26:00",
            "Mon 10:60-11:00",
            "Funday 01:00-02:00",
            "Sunxyz 01:00-02:00",
            "Mon 1:00-2:00",
            "Mon 24:00-01:00",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse("Mon 9:00-10:00").unwrap_err().contains("\"9:00\""));
    }

    #[test]
    fn a_mute_ends_with_its_window_and_follows_windows_that_join_up() {
        let nights = parse("Mon-Fri 22:00-06:00").unwrap();
        assert_eq!(muted_until(&nights, at(0, 21, 59)), None);
        assert_eq!(muted_until(&nights, at(0, 22, 0)), Some(at(1, 6, 0)));
        // Past midnight, from the window that began the day before.
        assert_eq!(muted_until(&nights, at(1, 5, 59)), Some(at(1, 6, 0)));
        assert_eq!(muted_until(&nights, at(1, 6, 0)), None);
        // Friday night runs into Saturday morning; Saturday night is not muted.
        assert_eq!(muted_until(&nights, at(4, 23, 0)), Some(at(5, 6, 0)));
        assert_eq!(muted_until(&nights, at(5, 23, 0)), None);
        // Friday night, then the weekend: one mute to Monday 00:00 (Sunday night is not a
        // night of Mon-Fri); with Sunday night in it, to Monday 06:00.
        let week = parse("Mon-Fri 22:00-06:00; Sat-Sun 00:00-24:00").unwrap();
        assert_eq!(muted_until(&week, at(4, 22, 30)), Some(at(7, 0, 0)));
        let nights = parse("Sun-Fri 22:00-06:00; Sat-Sun 00:00-24:00").unwrap();
        assert_eq!(muted_until(&nights, at(4, 22, 30)), Some(at(7, 6, 0)));
        // Always muted: a week at most, then looked at again.
        let always = parse("Mon-Sun 00:00-24:00").unwrap();
        assert_eq!(muted_until(&always, at(2, 3, 0)), Some(at(9, 3, 0)));
    }
}
