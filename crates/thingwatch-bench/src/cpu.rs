//! CPU-time probes: the generator's own user+system time (`getrusage(RUSAGE_SELF)`, POSIX) and,
//! optionally, the broker's (Linux `/proc/<pid>/stat` fields 14 `utime` and 15 `stime`, see
//! proc(5)), so a report can show whether the generator or the broker was the busy one.

use std::time::Duration;

/// Why a CPU-time probe failed.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// `getrusage` returned an error.
    #[error("getrusage failed: {0}")]
    Rusage(std::io::Error),
    /// `/proc/<pid>/stat` could not be read (process gone, or not Linux).
    #[error("cannot read /proc/{pid}/stat: {source}")]
    ProcRead {
        /// The broker PID.
        pid: u32,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `/proc/<pid>/stat` did not have the documented shape.
    #[error("unexpected /proc/{pid}/stat format")]
    ProcFormat {
        /// The broker PID.
        pid: u32,
    },
}

/// User + system CPU time consumed so far by this process (all threads).
///
/// # Errors
/// [`CpuError::Rusage`] if the system call fails.
pub fn self_cpu_time() -> Result<Duration, CpuError> {
    // SAFETY: `rusage` is plain old data; an all-zero value is valid and getrusage overwrites it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: we pass a valid pointer to a properly sized, writable rusage struct.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Err(CpuError::Rusage(std::io::Error::last_os_error()));
    }
    Ok(timeval(usage.ru_utime) + timeval(usage.ru_stime))
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

/// User + system CPU time consumed so far by process `pid` (all threads), read from
/// `/proc/<pid>/stat`.
///
/// # Errors
/// [`CpuError::ProcRead`] if the file cannot be read, [`CpuError::ProcFormat`] if it cannot be
/// parsed.
pub fn process_cpu_time(pid: u32) -> Result<Duration, CpuError> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|source| CpuError::ProcRead { pid, source })?;
    let ticks = parse_stat_ticks(&text).ok_or(CpuError::ProcFormat { pid })?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz)
        .ok()
        .filter(|&h| h > 0)
        .ok_or(CpuError::ProcFormat { pid })?;
    Ok(Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000) / hz,
    ))
}

/// `utime + stime` in clock ticks from the text of a `/proc/<pid>/stat` file. The second field
/// (`comm`) is parenthesised and may itself contain spaces and parentheses, so fields are
/// counted from the last `)`: after it come field 3 (`state`) onwards, making `utime` and
/// `stime` the 12th and 13th whitespace-separated tokens.
fn parse_stat_ticks(text: &str) -> Option<u64> {
    let after_comm = &text[text.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_comm() {
        // Fields: pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
        // cmajflt utime stime ...
        let line = "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0";
        assert_eq!(parse_stat_ticks(line), Some(300));
        assert_eq!(parse_stat_ticks("1234 (x) S 1 2"), None);
        assert_eq!(parse_stat_ticks("no parens at all"), None);
    }

    #[test]
    fn own_cpu_time_grows_with_work() {
        let before = self_cpu_time().expect("getrusage works");
        // Burn a little CPU so the counter must move (resolution is at most a few ms).
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let after = self_cpu_time().expect("getrusage works");
        assert!(after > before, "{after:?} should exceed {before:?}");
        let via_proc = process_cpu_time(std::process::id()).expect("own /proc entry");
        assert!(via_proc > Duration::ZERO);
    }
}
