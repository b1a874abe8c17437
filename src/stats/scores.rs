//! Paired statistics for a real-valued score per item (warmth, in nats):
//! each model's mean with a t interval, the mean paired difference
//! (candidate − baseline) with a paired t interval, and one-sided paired t
//! tests against a margin.
//!
//! The paired t test is the textbook test for a mean difference of paired
//! measurements (Student 1908); with about 100 items its level is close to
//! nominal for any difference distribution with a finite variance (the
//! central limit theorem), and it is what SocioT-style comparisons of two
//! models' replies to the same prompts call for. Checked against scipy
//! (`ttest_1samp` on the differences, `t.interval`): `scripts/warmth_reference.py`.
//!
//! Degenerate input, as elsewhere in this module, gives the conservative
//! answer for a gate: fewer than two items (or a non-finite value) have no
//! spread to test against, so the p-value is 1 and the interval is the point
//! itself; differences with no spread at all (identical scores, shifted or
//! not) are decided exactly: p = 0 if the one difference is beyond the
//! margin in the tested direction, else 1.

use super::Interval;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A mean with its two-sided t interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeanInterval {
    pub mean: f64,
    pub ci: Interval,
}

/// Both models' mean scores over the same items, and the paired difference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairedScores {
    pub n: u64,
    pub baseline: MeanInterval,
    pub candidate: MeanInterval,
    /// Candidate minus baseline, with the paired t interval.
    pub diff: MeanInterval,
    /// Sample standard deviation of the per-item differences.
    pub sd_diff: f64,
}

/// Which way the one-sided alternative points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alternative {
    /// H1: the mean difference is above the margin.
    Greater,
    /// H1: the mean difference is below the margin.
    Less,
}

/// Mean and sample standard deviation; `None` for no values or a non-finite one.
fn mean_sd(v: &[f64]) -> Option<(f64, f64)> {
    if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return Some((mean, f64::NAN));
    }
    let ss: f64 = v.iter().map(|x| (x - mean).powi(2)).sum();
    Some((mean, (ss / (n - 1.0)).sqrt()))
}

/// The t distribution with `n − 1` degrees of freedom, for `n ≥ 2`.
fn t_dist(n: usize) -> Option<StudentsT> {
    (n >= 2)
        .then(|| StudentsT::new(0.0, 1.0, (n - 1) as f64).ok())
        .flatten()
}

/// A mean with its two-sided t interval at `conf`.
pub fn mean_interval(v: &[f64], conf: f64) -> MeanInterval {
    let Some((mean, sd)) = mean_sd(v) else {
        return MeanInterval {
            mean: 0.0,
            ci: Interval { lo: 0.0, hi: 0.0 },
        };
    };
    let half = match t_dist(v.len()) {
        Some(t) if sd.is_finite() && conf > 0.0 && conf < 1.0 => {
            t.inverse_cdf(1.0 - (1.0 - conf) / 2.0) * sd / (v.len() as f64).sqrt()
        }
        _ => 0.0,
    };
    MeanInterval {
        mean,
        ci: Interval {
            lo: mean - half,
            hi: mean + half,
        },
    }
}

/// Both models' means and the paired difference, from (baseline, candidate)
/// scores per item.
pub fn paired_scores(pairs: &[(f64, f64)], conf: f64) -> PairedScores {
    let base: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let cand: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let diffs: Vec<f64> = pairs.iter().map(|p| p.1 - p.0).collect();
    PairedScores {
        n: pairs.len() as u64,
        baseline: mean_interval(&base, conf),
        candidate: mean_interval(&cand, conf),
        diff: mean_interval(&diffs, conf),
        sd_diff: mean_sd(&diffs).map_or(f64::NAN, |m| m.1),
    }
}

/// One-sided paired t test of the mean difference (candidate − baseline)
/// against `margin`: under [`Alternative::Greater`], H0 is "mean ≤ margin";
/// under [`Alternative::Less`], "mean ≥ margin".
pub fn paired_t_p(pairs: &[(f64, f64)], margin: f64, alternative: Alternative) -> f64 {
    let diffs: Vec<f64> = pairs.iter().map(|p| p.1 - p.0).collect();
    let Some((mean, sd)) = mean_sd(&diffs) else {
        return 1.0;
    };
    if !margin.is_finite() {
        return 1.0;
    }
    let beyond = match alternative {
        Alternative::Greater => mean > margin,
        Alternative::Less => mean < margin,
    };
    let Some(t) = t_dist(diffs.len()) else {
        return 1.0;
    };
    if sd == 0.0 {
        return if beyond { 0.0 } else { 1.0 };
    }
    let stat = (mean - margin) / (sd / (diffs.len() as f64).sqrt());
    let p = match alternative {
        Alternative::Greater => t.sf(stat),
        Alternative::Less => t.cdf(stat),
    };
    if p.is_nan() {
        1.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// The smallest mean difference a one-sided paired t test at `level` finds
/// with probability `power` over `n` items, in standard deviations of the
/// per-item difference (the normal approximation, `(z₁₋ₗ + z_power) / √n`;
/// the spread of warmth is only known once a run has measured it). Infinite
/// for fewer than two items.
pub fn mde_paired_mean(n: u64, level: f64, power: f64) -> f64 {
    if n < 2 || !(level > 0.0 && level < 1.0) || !(power > 0.0 && power < 1.0) {
        return f64::INFINITY;
    }
    (super::normal_quantile(1.0 - level) + super::normal_quantile(power)) / (n as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from scipy 1.17.1 (scipy.stats.ttest_1samp on the
    // differences minus the margin, scipy.stats.t.interval), printed by
    //   python scripts/warmth_reference.py   (in a venv with scipy 1.17.1)
    // The data: baseline b_i = sin(i) * 3 - 20, candidate c_i = b_i + 0.4 +
    // cos(1.7 i) * 1.5, i = 0..39 (and the first 12 for the small set).
    fn data(n: usize) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                let i = i as f64;
                let b = (i).sin() * 3.0 - 20.0;
                (b, b + 0.4 + (1.7 * i).cos() * 1.5)
            })
            .collect()
    }

    const REF: &[(usize, f64, &str, f64)] = &[
        // (n, margin, alternative, p)
        (40, 0.0, "greater", P40_G0),
        (40, 0.5, "greater", P40_G05),
        (40, 0.7, "less", P40_L07),
        (12, 0.0, "greater", P12_G0),
        (12, 1.0, "less", P12_L1),
    ];
    const P40_G0: f64 = 0.013278462446430744;
    const P40_G05: f64 = 0.7265079575934404;
    const P40_L07: f64 = 0.042041551020228975;
    const P12_G0: f64 = 0.07359493259117487;
    const P12_L1: f64 = 0.08585947682612258;
    const MEAN40: f64 = 0.3957071398353256;
    const CI40: (f64, f64) = (0.04850966640598953, 0.7429046132646617);
    const BASE_CI40: (f64, f64) = (-20.597987859866127, -19.2290474030666);
    const CI12_90: (f64, f64) = (-0.07826898848534658, 1.1105121145599028);

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn p_values_and_intervals_match_scipy() {
        for &(n, margin, alt, p) in REF {
            let alt = if alt == "greater" {
                Alternative::Greater
            } else {
                Alternative::Less
            };
            let got = paired_t_p(&data(n), margin, alt);
            assert!(close(got, p, 1e-8), "n {n} margin {margin}: {got} vs {p}");
        }
        let s = paired_scores(&data(40), 0.95);
        assert_eq!(s.n, 40);
        assert!(close(s.diff.mean, MEAN40, 1e-12));
        assert!(close(s.diff.ci.lo, CI40.0, 1e-9) && close(s.diff.ci.hi, CI40.1, 1e-9));
        assert!(close(s.baseline.ci.lo, BASE_CI40.0, 1e-9));
        assert!(close(s.baseline.ci.hi, BASE_CI40.1, 1e-9));
        let s = paired_scores(&data(12), 0.90);
        assert!(close(s.diff.ci.lo, CI12_90.0, 1e-9) && close(s.diff.ci.hi, CI12_90.1, 1e-9));
    }

    #[test]
    fn the_two_directions_are_complementary() {
        let d = data(40);
        for m in [-1.0, 0.0, 0.3, 1.0] {
            let g = paired_t_p(&d, m, Alternative::Greater);
            let l = paired_t_p(&d, m, Alternative::Less);
            assert!((g + l - 1.0).abs() < 1e-12, "{g} + {l}");
        }
        // A wider margin never makes a decrease more significant.
        let p1 = paired_t_p(&d, -0.2, Alternative::Less);
        let p2 = paired_t_p(&d, -0.8, Alternative::Less);
        assert!(p2 >= p1, "{p2} < {p1}");
    }

    #[test]
    fn mde_in_standard_deviations() {
        // (1.6448536269514722 + 0.8416212335729143) / 10
        assert!((mde_paired_mean(100, 0.05, 0.8) - 0.24864748605243865).abs() < 1e-12);
        assert_eq!(mde_paired_mean(1, 0.05, 0.8), f64::INFINITY);
    }

    #[test]
    fn degenerate_input_is_conservative() {
        assert_eq!(paired_t_p(&[], 0.0, Alternative::Greater), 1.0);
        assert_eq!(paired_t_p(&[(1.0, 5.0)], 0.0, Alternative::Greater), 1.0);
        assert_eq!(
            paired_t_p(&[(1.0, f64::NAN), (1.0, 2.0)], 0.0, Alternative::Greater),
            1.0
        );
        // Identical models: no difference, nothing beyond a margin of 0.
        let same = [(1.0, 1.0), (-2.0, -2.0), (3.0, 3.0)];
        assert_eq!(paired_t_p(&same, 0.0, Alternative::Greater), 1.0);
        assert_eq!(paired_t_p(&same, 0.0, Alternative::Less), 1.0);
        let s = paired_scores(&same, 0.95);
        assert_eq!((s.diff.mean, s.diff.ci.lo, s.diff.ci.hi), (0.0, 0.0, 0.0));
        // A constant shift is decided exactly.
        let shifted = [(1.0, 2.0), (-2.0, -1.0), (3.0, 4.0)];
        assert_eq!(paired_t_p(&shifted, 0.5, Alternative::Greater), 0.0);
        assert_eq!(paired_t_p(&shifted, 1.5, Alternative::Greater), 1.0);
        let e = paired_scores(&[], 0.95);
        assert_eq!((e.n, e.diff.mean), (0, 0.0));
    }
}
