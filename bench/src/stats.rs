//! Samples over rounds: median and spread.

/// One contender's measurements, one value per round (a rate or a duration, in the unit the target chose).
#[derive(Debug, Clone, Default)]
pub struct Samples {
    values: Vec<f64>,
}

impl Samples {
    /// No samples yet.
    pub fn new() -> Self {
        Samples::default()
    }

    /// Adds one round's value.
    pub fn push(&mut self, value: f64) {
        self.values.push(value);
    }

    /// How many rounds were recorded.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no round was recorded.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn sorted(&self) -> Vec<f64> {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    /// The median (mean of the middle two for an even count); NaN when empty.
    pub fn median(&self) -> f64 {
        let sorted = self.sorted();
        match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        }
    }

    /// Smallest and largest value; NaN when empty.
    pub fn range(&self) -> (f64, f64) {
        let sorted = self.sorted();
        match (sorted.first(), sorted.last()) {
            (Some(&lo), Some(&hi)) => (lo, hi),
            _ => (f64::NAN, f64::NAN),
        }
    }

    /// The spread as ± half the min–max range, relative to the median, in percent.
    pub fn spread_percent(&self) -> f64 {
        let (lo, hi) = self.range();
        (hi - lo) / 2.0 / self.median() * 100.0
    }

    /// `median (±spread%)` with `digits` decimals.
    pub fn display(&self, digits: usize) -> String {
        format!(
            "{:.digits$} (±{:.0}%)",
            self.median(),
            self.spread_percent(),
            digits = digits
        )
    }
}

/// The order contenders run in, `rounds` rounds of `contenders` runs, as `(round, contender)`: each round
/// starts one contender later than the one before, so no contender always runs first (on a cold cache) or
/// right after the slowest one. Every target interleaves its contenders this way, so their ratios are
/// comparable.
pub fn interleaved(rounds: usize, contenders: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..rounds).flat_map(move |round| {
        (0..contenders).map(move |step| (round, (round + step) % contenders))
    })
}

#[cfg(test)]
mod tests {
    use super::Samples;
    use super::interleaved;

    #[test]
    fn median_of_odd_and_even_counts() {
        let mut samples = Samples::new();
        for v in [5.0, 1.0, 3.0] {
            samples.push(v);
        }
        assert_eq!(samples.median(), 3.0);
        samples.push(7.0);
        assert_eq!(samples.median(), 4.0);
        assert_eq!(samples.range(), (1.0, 7.0));
        assert_eq!(samples.spread_percent(), 75.0);
    }

    #[test]
    fn each_round_starts_one_contender_later() {
        let order: Vec<usize> = interleaved(3, 3).map(|(_, contender)| contender).collect();
        assert_eq!(order, [0, 1, 2, 1, 2, 0, 2, 0, 1]);
        let rounds: Vec<usize> = interleaved(2, 2).map(|(round, _)| round).collect();
        assert_eq!(rounds, [0, 0, 1, 1]);
        assert_eq!(interleaved(2, 0).count(), 0);
    }
}
