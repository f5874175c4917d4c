//! [`Aggregate`]: what is kept of the values in one time bucket — count, sum, minimum,
//! maximum and, while every value was given individually, a DDSketch for percentiles
//! (relative error 1 %, the `sketches-ddsketch` crate). Aggregates merge exactly (the
//! sketch merges losslessly), so 1-minute, 5-minute and 1-hour roll-ups are the merge of the
//! data that fell in them and a query period is the merge of its buckets.

use sketches_ddsketch::{Config, DDSketch};

use crate::model::{Statistic, Values};

/// Largest number of repetitions of one value fed into a sketch for a `Counts` entry;
/// beyond it the sketch sees the value this many times (its rank weight is approximate,
/// count/sum/min/max stay exact).
pub const MAX_SKETCH_REPEAT: usize = 10_000;

/// The statistics of a set of values.
#[derive(Clone)]
pub struct Aggregate {
    /// Number of values (`SampleCount`; a statistic set can make it fractional).
    pub count: f64,
    /// Sum of values.
    pub sum: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Percentile sketch; `None` once a statistic set was merged in (CloudWatch computes no
    /// percentiles over statistic sets).
    pub sketch: Option<DDSketch>,
}

impl std::fmt::Debug for Aggregate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregate")
            .field("count", &self.count)
            .field("sum", &self.sum)
            .field("min", &self.min)
            .field("max", &self.max)
            .field("sketch", &self.sketch.as_ref().map(DDSketch::count))
            .finish()
    }
}

fn new_sketch() -> DDSketch {
    DDSketch::new(Config::defaults())
}

impl Aggregate {
    /// The aggregate of one datum's values.
    pub fn of(values: &Values) -> Aggregate {
        match values {
            Values::Single(v) => {
                let mut s = new_sketch();
                s.add(*v);
                Aggregate {
                    count: 1.0,
                    sum: *v,
                    min: *v,
                    max: *v,
                    sketch: Some(s),
                }
            }
            Values::Weighted(pairs) => {
                let mut s = new_sketch();
                let mut a = Aggregate {
                    count: 0.0,
                    sum: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    sketch: None,
                };
                for &(v, c) in pairs {
                    a.count += c;
                    a.sum += v * c;
                    a.min = a.min.min(v);
                    a.max = a.max.max(v);
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let n = (c.round().max(1.0) as usize).min(MAX_SKETCH_REPEAT);
                    for _ in 0..n {
                        s.add(v);
                    }
                }
                a.sketch = Some(s);
                a
            }
            Values::StatisticSet {
                sample_count,
                sum,
                min,
                max,
            } => Aggregate {
                count: *sample_count,
                sum: *sum,
                min: *min,
                max: *max,
                sketch: None,
            },
        }
    }

    /// Merges `other` into `self`.
    pub fn merge(&mut self, other: &Aggregate) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        match (&mut self.sketch, &other.sketch) {
            (Some(a), Some(b)) => {
                if a.merge(b).is_err() {
                    self.sketch = None;
                }
            }
            _ => self.sketch = None,
        }
    }

    /// `statistic` of these values; `None` for a percentile without a sketch.
    pub fn statistic(&self, statistic: Statistic) -> Option<f64> {
        Some(match statistic {
            Statistic::SampleCount => self.count,
            Statistic::Sum => self.sum,
            Statistic::Minimum => self.min,
            Statistic::Maximum => self.max,
            Statistic::Average => {
                if self.count > 0.0 {
                    self.sum / self.count
                } else {
                    return None;
                }
            }
            Statistic::Percentile(p) => {
                let s = self.sketch.as_ref()?;
                let q = s.quantile(p / 100.0).ok()??;
                // The sketch's answer is within 1 %; never outside the exact range.
                q.clamp(self.min, self.max)
            }
        })
    }

    /// The sketch as bytes (CBOR), for storage; `None` without a sketch.
    pub fn sketch_bytes(&self) -> Option<Vec<u8>> {
        let s = self.sketch.as_ref()?;
        let mut out = Vec::new();
        ciborium::into_writer(s, &mut out).ok()?;
        Some(out)
    }

    /// A sketch read back from [`Aggregate::sketch_bytes`]; `None` if absent or unreadable.
    pub fn sketch_from(bytes: Option<&[u8]>) -> Option<DDSketch> {
        ciborium::from_reader(bytes?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_exactly_and_percentiles_are_within_one_percent() {
        let mut a = Aggregate::of(&Values::Single(1.0));
        for v in 2..=1000 {
            a.merge(&Aggregate::of(&Values::Single(f64::from(v))));
        }
        assert_eq!(a.count, 1000.0);
        assert_eq!(a.sum, 500_500.0);
        assert_eq!(a.statistic(Statistic::Minimum), Some(1.0));
        assert_eq!(a.statistic(Statistic::Maximum), Some(1000.0));
        assert_eq!(a.statistic(Statistic::Average), Some(500.5));
        let p99 = a.statistic(Statistic::Percentile(99.0)).unwrap();
        assert!((p99 - 990.0).abs() / 990.0 <= 0.011, "p99 {p99}");
        let p50 = a.statistic(Statistic::Percentile(50.0)).unwrap();
        assert!((p50 - 500.0).abs() / 500.0 <= 0.011, "p50 {p50}");
    }

    #[test]
    fn weighted_values_count_their_counts() {
        let a = Aggregate::of(&Values::Weighted(vec![(10.0, 3.0), (20.0, 1.0)]));
        assert_eq!(a.count, 4.0);
        assert_eq!(a.sum, 50.0);
        let p50 = a.statistic(Statistic::Percentile(50.0)).unwrap();
        assert!((p50 - 10.0).abs() < 0.2, "{p50}");
    }

    #[test]
    fn a_statistic_set_removes_percentiles_but_keeps_the_rest() {
        let mut a = Aggregate::of(&Values::Single(5.0));
        a.merge(&Aggregate::of(&Values::StatisticSet {
            sample_count: 2.0,
            sum: 7.0,
            min: 1.0,
            max: 6.0,
        }));
        assert_eq!(a.statistic(Statistic::SampleCount), Some(3.0));
        assert_eq!(a.statistic(Statistic::Sum), Some(12.0));
        assert_eq!(a.statistic(Statistic::Minimum), Some(1.0));
        assert_eq!(a.statistic(Statistic::Percentile(50.0)), None);
    }

    #[test]
    fn the_sketch_survives_storage() {
        let mut a = Aggregate::of(&Values::Single(3.0));
        a.merge(&Aggregate::of(&Values::Single(-4.0)));
        let bytes = a.sketch_bytes().unwrap();
        let back = Aggregate::sketch_from(Some(&bytes)).unwrap();
        assert_eq!(back.count(), 2);
        assert!(Aggregate::sketch_from(Some(b"junk")).is_none());
    }
}
