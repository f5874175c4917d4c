//! Memory and file-descriptor probes for the idle-connection mode: a process's resident set
//! size (`VmRSS` in Linux `/proc/<pid>/status`, see proc(5)) and the open-file limit
//! (`RLIMIT_NOFILE`, POSIX getrlimit/setrlimit), which caps how many connections one process
//! can hold.

/// Why a memory or limit probe failed.
#[derive(Debug, thiserror::Error)]
pub enum MemError {
    /// `/proc/<pid>/status` could not be read (process gone, or not Linux).
    #[error("cannot read /proc/{pid}/status: {source}")]
    ProcRead {
        /// The process ID (`self` is read as this process's own PID).
        pid: u32,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `/proc/<pid>/status` had no parsable `VmRSS:` line.
    #[error("no VmRSS line in /proc/{pid}/status")]
    NoRss {
        /// The process ID.
        pid: u32,
    },
    /// getrlimit or setrlimit failed.
    #[error("RLIMIT_NOFILE: {0}")]
    Rlimit(std::io::Error),
}

/// Parses the `VmRSS:` line of a `/proc/<pid>/status` text, in KiB (proc(5) prints it as
/// `VmRSS:    1234 kB`, where kB means KiB). `None` if the line is missing or malformed.
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line.split_whitespace().skip(1);
    let kib = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(kib)
}

/// Resident set size of process `pid`, KiB, from `/proc/<pid>/status`.
///
/// # Errors
/// [`MemError::ProcRead`] if the file cannot be read, [`MemError::NoRss`] if it has no
/// `VmRSS` line (e.g. a zombie).
pub fn process_rss_kib(pid: u32) -> Result<u64, MemError> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|source| MemError::ProcRead { pid, source })?;
    parse_vm_rss_kib(&text).ok_or(MemError::NoRss { pid })
}

/// Resident set size of this process, KiB.
///
/// # Errors
/// As [`process_rss_kib`].
pub fn self_rss_kib() -> Result<u64, MemError> {
    process_rss_kib(std::process::id())
}

/// The open-file limit of this process after raising its soft limit to the hard limit:
/// `(soft, hard)` as now in effect. Raising the soft limit needs no privilege; the hard limit
/// is whatever the parent (e.g. `ulimit -Hn` in the shell) allows.
///
/// # Errors
/// [`MemError::Rlimit`] if getrlimit or setrlimit fails.
pub fn raise_nofile_limit() -> Result<(u64, u64), MemError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(MemError::Rlimit(std::io::Error::last_os_error()));
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit struct; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(MemError::Rlimit(std::io::Error::last_os_error()));
        }
        lim = raised;
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_lines() {
        let table: [(&str, Option<u64>); 5] = [
            (
                "Name:\tx\nVmRSS:\t    1234 kB\nVmData:\t 5 kB\n",
                Some(1234),
            ),
            ("VmRSS: 0 kB", Some(0)),
            ("VmHWM:\t 99 kB\n", None),
            ("VmRSS:\t 12 MB\n", None),
            ("VmRSS:\t kB\n", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_vm_rss_kib(text), want, "{text:?}");
        }
    }

    #[test]
    fn own_rss_is_positive() {
        let kib = self_rss_kib().expect("own /proc status");
        assert!(kib > 0, "{kib}");
    }

    #[test]
    fn nofile_soft_limit_reaches_hard() {
        let (soft, hard) = raise_nofile_limit().expect("rlimit");
        assert_eq!(soft, hard);
    }
}
