//! Owns the arithmetic of the report: medians and ranges over rounds, and how they are written.

/// Values gathered over rounds or repetitions.
#[derive(Debug, Clone, Default)]
pub struct Spread(Vec<f64>);

impl Spread {
    /// Adds a value.
    pub fn push(&mut self, v: f64) {
        self.0.push(v);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The median (the upper one of an even count); 0 when empty.
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }

    /// The `p`th percentile (nearest rank); 0 when empty.
    pub fn percentile(&self, p: f64) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return 0.0;
        }
        let rank = ((v.len() as f64 * p / 100.0).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    }

    /// The smallest and largest values.
    pub fn range(&self) -> (f64, f64) {
        let v = self.sorted();
        (
            v.first().copied().unwrap_or(0.0),
            v.last().copied().unwrap_or(0.0),
        )
    }

    /// The values, in the order they came.
    pub fn values(&self) -> &[f64] {
        &self.0
    }

    /// `median (low–high)`, each written by `f`; the median alone for a single value.
    pub fn text(&self, f: impl Fn(f64) -> String) -> String {
        let (lo, hi) = self.range();
        if self.0.len() < 2 {
            return f(self.median());
        }
        format!("{} ({}–{})", f(self.median()), f(lo), f(hi))
    }
}

/// Requests per second, as `31.2k`.
pub fn rate(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// Milliseconds with two decimals.
pub fn ms(v: f64) -> String {
    format!("{v:.2}")
}

/// A ratio in percent.
pub fn pct(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

/// A ratio as a factor.
pub fn times(v: f64) -> String {
    format!("{v:.2}×")
}

/// The harness's one reading of the monotonic clock (the project's lint keeps clock reads in
/// one place; measuring is what this package is for).
#[expect(
    clippy::disallowed_methods,
    reason = "the benchmark's own clock, for its measurements"
)]
pub fn now() -> std::time::Instant {
    std::time::Instant::now()
}
