//! Latency percentiles over the publish→deliver samples of a run.
//!
//! Percentiles use the nearest-rank method on the full, sorted sample set (no histogram
//! bucketing): the p-th percentile is the smallest sample with at least p% of the samples at or
//! below it. Runs are bounded in length, so keeping every sample is affordable.

use serde::Serialize;

/// Latency percentiles of one run, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of samples (messages delivered during the measurement window).
    pub count: u64,
    /// Median, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Largest sample, µs.
    pub max_us: f64,
}

/// Nearest-rank percentile of an ascending `sorted` slice; `per_mille` is the percentile in
/// thousandths (500 = p50, 999 = p99.9). `None` for an empty slice.
pub fn percentile(sorted: &[u64], per_mille: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    // rank = ceil(p * n), 1-based, clamped to 1..=n.
    let rank = (u64::from(per_mille) * n).div_ceil(1000).clamp(1, n);
    let idx = usize::try_from(rank - 1).ok()?;
    sorted.get(idx).copied()
}

impl LatencySummary {
    /// Summarises latency samples given in nanoseconds (sorted in place). `None` when there are
    /// no samples.
    pub fn from_nanos(samples: &mut [u64]) -> Option<Self> {
        samples.sort_unstable();
        let us = |per_mille| percentile(samples, per_mille).map(nanos_to_micros);
        Some(LatencySummary {
            count: samples.len() as u64,
            p50_us: us(500)?,
            p99_us: us(990)?,
            p999_us: us(999)?,
            max_us: nanos_to_micros(*samples.last()?),
        })
    }
}

/// Nanoseconds to microseconds, rounded to 0.1 µs.
fn nanos_to_micros(ns: u64) -> f64 {
    (ns as f64 / 100.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_table() {
        let hundred: Vec<u64> = (1..=100).collect();
        let thousand: Vec<u64> = (1..=1000).collect();
        let cases: &[(&[u64], u32, Option<u64>)] = &[
            (&[], 500, None),
            (&[5], 500, Some(5)),
            (&[5], 999, Some(5)),
            (&[1, 2], 500, Some(1)),
            (&[1, 2, 3], 500, Some(2)),
            (&hundred, 500, Some(50)),
            (&hundred, 990, Some(99)),
            (&hundred, 999, Some(100)),
            (&thousand, 999, Some(999)),
            (&thousand, 1000, Some(1000)),
            (&thousand, 0, Some(1)),
        ];
        for (samples, pm, want) in cases {
            assert_eq!(
                percentile(samples, *pm),
                *want,
                "p{pm} of {} samples",
                samples.len()
            );
        }
    }

    #[test]
    fn summary_sorts_and_converts_to_micros() {
        let mut ns: Vec<u64> = (1..=1000).rev().map(|i| i * 1000).collect();
        let s = LatencySummary::from_nanos(&mut ns).expect("non-empty");
        assert_eq!(
            s,
            LatencySummary {
                count: 1000,
                p50_us: 500.0,
                p99_us: 990.0,
                p999_us: 999.0,
                max_us: 1000.0
            }
        );
        assert_eq!(LatencySummary::from_nanos(&mut []), None);
        assert_eq!(nanos_to_micros(12_345), 12.3);
    }
}
