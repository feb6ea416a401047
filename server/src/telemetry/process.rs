//! The process's own resource use, read from `/proc/self` (Linux) when asked.

/// What the process uses now; each figure `None` where `/proc` does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessUse {
    /// Resident memory, bytes.
    pub resident_bytes: Option<f64>,
    /// Virtual memory, bytes.
    pub virtual_bytes: Option<f64>,
    /// User and system CPU time since start, seconds.
    pub cpu_seconds: Option<f64>,
    /// When the process started, seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
    /// Open file descriptors (sockets included).
    pub open_fds: Option<f64>,
    /// Threads.
    pub threads: Option<f64>,
}

/// Reads the process's figures.
#[must_use]
pub fn sample() -> ProcessUse {
    let stat = std::fs::read_to_string("/proc/self/stat").ok();
    let fields = stat.as_deref().map(stat_fields).unwrap_or_default();
    let field = |n: usize| fields.get(n).and_then(|f| f.parse::<f64>().ok());
    let ticks = clock_ticks();
    ProcessUse {
        resident_bytes: resident_bytes(),
        virtual_bytes: field(VSIZE),
        cpu_seconds: ticks.and_then(|t| Some((field(UTIME)? + field(STIME)?) / t)),
        start_time_seconds: ticks.and_then(|t| Some(boot_time()? + field(STARTTIME)? / t)),
        open_fds: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|entries| entries.count() as f64),
        threads: field(THREADS),
    }
}

/// Resident memory in bytes.
#[must_use]
pub fn resident_bytes() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok()??;
    Some(pages * page_size as f64)
}

// Fields of /proc/self/stat (proc(5)), counted from 0 after the command name.
const UTIME: usize = 11;
const STIME: usize = 12;
const THREADS: usize = 17;
const STARTTIME: usize = 19;
const VSIZE: usize = 20;

/// The fields after the command name, which is in parentheses and may hold spaces and
/// parentheses itself (hence the last `)`).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rfind(')')
        .map(|end| stat[end + 1..].split_whitespace().collect())
        .unwrap_or_default()
}

fn clock_ticks() -> Option<f64> {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    (ticks > 0).then_some(ticks as f64)
}

/// When the machine booted, seconds since the Unix epoch.
fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_after_a_command_name_with_spaces() {
        let stat = "42 (live dash (x)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 \
                    12345 1000000 300 18446744073709551615";
        let fields = stat_fields(stat);
        assert_eq!(fields[0], "S");
        assert_eq!(fields[UTIME], "250");
        assert_eq!(fields[STIME], "50");
        assert_eq!(fields[THREADS], "7");
        assert_eq!(fields[STARTTIME], "12345");
        assert_eq!(fields[VSIZE], "1000000");
    }

    #[test]
    fn this_process_is_measured() {
        let now = sample();
        assert!(now.resident_bytes.is_some_and(|b| b > 1e6), "{now:?}");
        assert!(now.virtual_bytes >= now.resident_bytes, "{now:?}");
        assert!(now.cpu_seconds.is_some_and(|s| s >= 0.0), "{now:?}");
        assert!(now.threads.is_some_and(|t| t >= 1.0), "{now:?}");
        assert!(now.open_fds.is_some_and(|f| f >= 3.0), "{now:?}");
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let started = now.start_time_seconds.expect("a start time");
        assert!(started <= since_epoch + 1.0 && started > since_epoch - 86_400.0 * 365.0);
    }
}
