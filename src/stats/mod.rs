//! The stats stage: paired baseline-versus-candidate comparisons.
//!
//! Every comparison in candor is *paired*: the same item, rendered with the
//! same context and belief, is answered by both models, so the unit of
//! evidence is a flip (baseline right, candidate wrong, or the reverse). This
//! module turns per-item outcomes into the numbers the criteria gate on and
//! the report prints:
//!
//! | question | function | method |
//! |---|---|---|
//! | how often is a model wrong? | [`wilson`] | Wilson score interval |
//! | how much more often is the candidate wrong? | [`newcombe_paired`] | Newcombe (1998) method 10 |
//! | is that increase beyond chance? | [`mcnemar_exact_one_sided`], [`paired_p_value`] | exact McNemar; for a tolerance, the exact unconditional test of the shifted null ranked by Tango's (1998) score interval (Suissa & Shuster 1991; Sidik 2003) |
//! | many conditions at once | [`holm`], [`benjamini_hochberg`], [`adjust`] | Holm (1979); Benjamini & Hochberg (1995) |
//! | does the gap grow under a context? | [`gap_growth`] | per-item difference in differences; exact sign-flip test, and for a tolerance an exact split test of the mean |
//! | does the candidate cave in more to a wrong belief? | [`belief_shift`] | paired table of per-item shifts |
//! | could this gate have seen a regression at all? | [`mde_paired`] | normal approximation to McNemar's power (Connor 1987) |
//! | is the candidate warmer (or colder) than the baseline? | [`paired_scores`], [`paired_t_p`] | paired t interval and one-sided paired t test against a margin (nats), per-model t intervals |
//! | how often does it fail an unchanged model? | [`error_gate_false_failure`], [`non_inferiority_false_failure`] | exact sums over the tables that fail |
//!
//! Conventions:
//! - All rates and margins are fractions (`0.045`), never percent.
//! - Differences are always candidate minus baseline, so a regression is positive.
//! - Tests are one-sided: an error gate fails only on evidence of an
//!   *increase*; the warmth tests ([`paired_t_p`]) take the direction as an argument.
//! - Nothing here panics. Degenerate input (no items, a confidence level
//!   outside (0, 1), a NaN) gives the conservative answer: the widest
//!   interval, a p-value of 1, an infinite minimum detectable effect. A gate
//!   that fails "on evidence only" then cannot fail on a degenerate input.
//!
//! Every figure is checked in the tests against reference values computed
//! independently (scipy, statsmodels, and the published formulas written out
//! again in Python): see `scripts/stats_reference.py` and, for the exact
//! tests, `scripts/exact_reference.py`.

mod adjust;
mod belief;
#[cfg(test)]
mod calibration;
mod exact;
#[cfg(test)]
mod exact_enumeration;
#[cfg(test)]
mod gap_enumeration;
mod interaction;
mod paired;
mod power;
mod proportion;
pub mod rng;
mod scores;
mod unchanged;

pub use adjust::{adjust, benjamini_hochberg, holm, Correction};
pub use belief::{belief_shift, BeliefPair, BeliefShift};
pub use interaction::{gap_growth, GapGrowth, ItemQuad, DOUBLE_FLIP_SHARE};
pub use paired::{mcnemar_exact_one_sided, newcombe_paired, paired_p_value, PairedTable};
pub use power::mde_paired;
pub use proportion::wilson;
pub use scores::{
    mde_paired_mean, mean_interval, paired_scores, paired_t_p, Alternative, MeanInterval,
    PairedScores,
};
pub use unchanged::{error_gate_false_failure, non_inferiority_false_failure, ERROR_RATES};

use statrs::function::erf;

/// A closed interval `[lo, hi]` on the scale of its estimate (a fraction, or
/// a difference of fractions).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// Whether `x` lies inside the interval (bounds included).
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// Quantile of the standard normal distribution, `Φ⁻¹(p)`, for `p` in [0, 1].
///
/// Written through statrs' inverse complementary error function,
/// `Φ⁻¹(p) = −√2 · erfc⁻¹(2p)`, which keeps full relative precision in the
/// upper tail (no `1 − p` cancellation). `p` is clamped into [0, 1]; the ends
/// map to ∓∞.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(0.0, 1.0);
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    -std::f64::consts::SQRT_2 * erf::erfc_inv(2.0 * p)
}

/// Upper tail of the standard normal distribution, `1 − Φ(z)`.
///
/// Computed as `erfc(z/√2)/2`, accurate (to about 1e-10 relative, the
/// precision of statrs' `erfc`) far into the tail, where `1 − cdf` would
/// round to zero.
pub(crate) fn normal_sf(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    0.5 * erf::erfc(z / std::f64::consts::SQRT_2)
}

/// The two-sided critical value `z` for a confidence level, e.g. 1.959963…
/// for 0.95.
///
/// A NaN level or one of 1 or more gives `+∞` (the widest, conservative
/// interval); a level of 0 or less gives 0 (the point estimate).
pub(crate) fn two_sided_z(conf: f64) -> f64 {
    if conf.is_nan() || conf >= 1.0 {
        return f64::INFINITY;
    }
    if conf <= 0.0 {
        return 0.0;
    }
    normal_quantile(1.0 - (1.0 - conf) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // scipy.stats.norm.ppf(0.975) = 1.959963984540054
    // scipy.stats.norm.ppf(0.95)  = 1.6448536269514722
    // scipy.stats.norm.sf(3.0)    = 0.0013498980316300933
    // scipy.stats.norm.sf(10.0)   = 7.61985302416047e-24
    #[test]
    fn normal_helpers_match_scipy() {
        assert!((two_sided_z(0.95) - 1.959963984540054).abs() < 1e-12);
        assert!((normal_quantile(0.95) - 1.6448536269514722).abs() < 1e-12);
        // statrs' erfc is good to about 1e-10 relative (4e-11 here), which
        // is far below anything a gate resolves.
        assert!((normal_sf(3.0) / 0.0013498980316300933 - 1.0).abs() < 1e-9);
        assert!((normal_sf(10.0) / 7.61985302416047e-24 - 1.0).abs() < 1e-9);
        assert_eq!(normal_sf(f64::NAN), 1.0);
        assert_eq!(two_sided_z(f64::NAN), f64::INFINITY);
        assert_eq!(two_sided_z(1.0), f64::INFINITY);
        assert_eq!(two_sided_z(-0.5), 0.0);
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(2.0), f64::INFINITY);
    }

    #[test]
    fn interval_contains_its_bounds() {
        let i = Interval { lo: -0.1, hi: 0.2 };
        assert!(i.contains(-0.1) && i.contains(0.2) && i.contains(0.0));
        assert!(!i.contains(0.3) && !i.contains(f64::NAN));
    }
}
