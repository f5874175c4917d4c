//! The server process's own metrics, with the names Prometheus's client libraries use
//! (`process_*`). Read from `/proc/self` through `procfs` on Linux; on other systems
//! [`register`] adds nothing.
//!
//! Units: CPU time and the start time in seconds (`process_start_time_seconds` is Unix epoch
//! seconds), memory in bytes, file descriptors and threads as counts.

use prometheus_client::registry::Registry;

/// A reading of the process's metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// User + system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Resident set size, bytes.
    pub resident_memory_bytes: u64,
    /// Virtual memory size, bytes.
    pub virtual_memory_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit on open file descriptors (`None` when unlimited).
    pub max_fds: Option<u64>,
    /// When the process started, Unix epoch seconds.
    pub start_time_seconds: f64,
    /// Threads in the process.
    pub threads: u64,
}

/// Reads `/proc/self` now; `None` on other systems or when `/proc` cannot be read (logged at
/// debug level).
pub fn read() -> Option<ProcessStats> {
    #[cfg(target_os = "linux")]
    {
        match read_linux() {
            Ok(stats) => Some(stats),
            Err(e) => {
                tracing::debug!(error = %e, "reading /proc/self for the process metrics");
                None
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(target_os = "linux")]
fn read_linux() -> procfs::ProcResult<ProcessStats> {
    use procfs::WithCurrentSystemInfo;
    use procfs::process::{LimitValue, Process};
    let me = Process::myself()?;
    let stat = me.stat()?;
    let ticks = procfs::ticks_per_second() as f64;
    let boot = procfs::boot_time_secs()? as f64;
    let max_fds = match me.limits()?.max_open_files.soft_limit {
        LimitValue::Value(v) => Some(v),
        LimitValue::Unlimited => None,
    };
    Ok(ProcessStats {
        cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
        resident_memory_bytes: stat.rss_bytes().get(),
        virtual_memory_bytes: stat.vsize,
        open_fds: me.fd_count()? as u64,
        max_fds,
        start_time_seconds: boot + stat.starttime as f64 / ticks,
        threads: u64::try_from(stat.num_threads).unwrap_or(0),
    })
}

/// Registers the `process_*` metrics read now ([`read`]) in `registry`; nothing when they
/// cannot be read.
pub fn register(registry: &mut Registry) {
    let Some(stats) = read() else { return };
    register_stats(registry, &stats);
}

/// Registers `stats` as the `process_*` metrics.
pub fn register_stats(registry: &mut Registry, stats: &ProcessStats) {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::Unit;
    use std::sync::atomic::AtomicU64;

    let gauge = |v: u64| {
        let g = Gauge::<i64>::default();
        g.set(i64::try_from(v).unwrap_or(i64::MAX));
        g
    };
    let cpu = Counter::<f64, AtomicU64>::default();
    cpu.inc_by(stats.cpu_seconds);
    registry.register_with_unit(
        "process_cpu",
        "Total user and system CPU time spent, seconds",
        Unit::Seconds,
        cpu,
    );
    registry.register_with_unit(
        "process_resident_memory",
        "Resident memory size, bytes",
        Unit::Bytes,
        gauge(stats.resident_memory_bytes),
    );
    registry.register_with_unit(
        "process_virtual_memory",
        "Virtual memory size, bytes",
        Unit::Bytes,
        gauge(stats.virtual_memory_bytes),
    );
    registry.register(
        "process_open_fds",
        "Number of open file descriptors",
        gauge(stats.open_fds),
    );
    if let Some(max) = stats.max_fds {
        registry.register(
            "process_max_fds",
            "Maximum number of open file descriptors (soft limit)",
            gauge(max),
        );
    }
    let start = Gauge::<f64, AtomicU64>::default();
    start.set(stats.start_time_seconds);
    registry.register_with_unit(
        "process_start_time",
        "Start time of the process since the Unix epoch, seconds",
        Unit::Seconds,
        start,
    );
    registry.register(
        "process_threads",
        "Number of OS threads in the process",
        gauge(stats.threads),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let stats = read().expect("/proc/self is readable");
        assert!(stats.resident_memory_bytes > 0);
        assert!(stats.virtual_memory_bytes >= stats.resident_memory_bytes);
        assert!(stats.open_fds > 0);
        assert!(stats.threads >= 1);
        assert!(stats.start_time_seconds > 1.0e9, "{stats:?}");
    }

    #[test]
    fn names_follow_the_client_library_convention() {
        let mut registry = Registry::default();
        register_stats(
            &mut registry,
            &ProcessStats {
                cpu_seconds: 1.5,
                resident_memory_bytes: 4096,
                virtual_memory_bytes: 8192,
                open_fds: 9,
                max_fds: Some(1024),
                start_time_seconds: 1.7e9,
                threads: 3,
            },
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            "process_cpu_seconds_total 1.5\n",
            "process_resident_memory_bytes 4096\n",
            "process_virtual_memory_bytes 8192\n",
            "process_open_fds 9\n",
            "process_max_fds 1024\n",
            "process_start_time_seconds 1700000000.0\n",
            "process_threads 3\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
