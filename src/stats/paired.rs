//! The paired 2×2 table of per-item errors, its interval and its tests.

use super::{normal_sf, two_sided_z, wilson, Interval};
use statrs::function::gamma::ln_gamma;

/// A paired 2×2 table of per-item *errors* for one condition.
///
/// |                   | candidate right | candidate wrong |
/// |-------------------|-----------------|-----------------|
/// | baseline right    | `both_right`    | `b`             |
/// | baseline wrong    | `c`             | `both_wrong`    |
///
/// `b` counts regressions (flips from right to wrong), `c` improvements. Only
/// these discordant cells carry evidence about a difference; the concordant
/// ones set its scale.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PairedTable {
    pub both_right: u64,
    pub b: u64,
    pub c: u64,
    pub both_wrong: u64,
}

impl PairedTable {
    /// Tally `(baseline_wrong, candidate_wrong)` pairs, one per item.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (bool, bool)>) -> Self {
        let mut t = Self::default();
        for pair in pairs {
            match pair {
                (false, false) => t.both_right += 1,
                (false, true) => t.b += 1,
                (true, false) => t.c += 1,
                (true, true) => t.both_wrong += 1,
            }
        }
        t
    }

    /// Number of items (saturating, so an absurd table cannot overflow).
    pub fn n(&self) -> u64 {
        self.both_right
            .saturating_add(self.b)
            .saturating_add(self.c)
            .saturating_add(self.both_wrong)
    }

    /// Items the baseline got wrong: `c + both_wrong`.
    pub fn baseline_errors(&self) -> u64 {
        self.c.saturating_add(self.both_wrong)
    }

    /// Items the candidate got wrong: `b + both_wrong`.
    pub fn candidate_errors(&self) -> u64 {
        self.b.saturating_add(self.both_wrong)
    }

    /// Baseline error rate; 0 for an empty table.
    pub fn baseline_rate(&self) -> f64 {
        ratio(self.baseline_errors(), self.n())
    }

    /// Candidate error rate; 0 for an empty table.
    pub fn candidate_rate(&self) -> f64 {
        ratio(self.candidate_errors(), self.n())
    }

    /// Candidate error rate minus baseline error rate, `(b − c)/n`; 0 for an
    /// empty table. Positive means the candidate regressed.
    pub fn diff(&self) -> f64 {
        let n = self.n();
        if n == 0 {
            return 0.0;
        }
        (self.b as f64 - self.c as f64) / n as f64
    }
}

fn ratio(k: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        k as f64 / n as f64
    }
}

/// Newcombe's hybrid score interval for the paired difference in error rates
/// (candidate − baseline): method 10 of Newcombe (1998), "Improved confidence
/// intervals for the difference between binomial proportions based on paired
/// data", Stat Med 17:2635–2650.
///
/// Why this one: the Wald interval for a paired difference overshoots [−1, 1]
/// and has poor coverage with few discordant pairs, and the exact conditional
/// interval can be effectively one-sided. Method 10 combines the two Wilson
/// intervals of the marginal error rates ("square and add") and corrects for
/// their correlation, so it inherits Wilson's good behaviour near 0 and is a
/// closed form. Fagerland, Lydersen & Laake (2014, Stat Med 33:2850)
/// recommend it for paired proportions.
///
/// With `a = both_wrong`, `d = both_right`, `p1 = (a+b)/n` (candidate),
/// `p2 = (a+c)/n` (baseline), Wilson limits `(l1, u1)`, `(l2, u2)` and
/// `θ = p1 − p2`:
///
/// ```text
/// lo = θ − √((p1 − l1)² − 2φ(p1 − l1)(u2 − p2) + (u2 − p2)²)
/// hi = θ + √((u1 − p1)² − 2φ(u1 − p1)(p2 − l2) + (p2 − l2)²)
/// ```
///
/// where φ estimates the correlation between the two marginal rates from
/// `A = ad − bc` with Newcombe's continuity correction: `(A − n/2)/√(efgh)`
/// if `A > n/2`, 0 if `0 ≤ A ≤ n/2`, `A/√(efgh)` if `A < 0`, with
/// `e, f, g, h` the four margins; φ = 0 when a margin is 0. This is the
/// form given by Newcombe and used by Fagerland, Lydersen & Laake,
/// "Statistical Analysis of Contingency Tables" (2017), ch. 8; it reproduces
/// their published interval for the Cavo et al. (2012) table (the
/// uncorrected φ does not).
///
/// Edge cases: an empty table gives `[−1, 1]`; a confidence of 1 or more, or
/// NaN, gives `[−1, 1]`; the result is truncated to [−1, 1].
pub fn newcombe_paired(t: &PairedTable, conf: f64) -> Interval {
    let full = Interval { lo: -1.0, hi: 1.0 };
    let n = t.n();
    if n == 0 || !two_sided_z(conf).is_finite() {
        return full;
    }
    let nf = n as f64;
    let (a, b, c, d) = (t.both_wrong, t.b, t.c, t.both_right);
    let p1 = t.candidate_rate();
    let p2 = t.baseline_rate();
    let w1 = wilson(t.candidate_errors(), n, conf);
    let w2 = wilson(t.baseline_errors(), n, conf);
    let phi = correlation(a, b, c, d, nf);
    let theta = p1 - p2;
    let (dl1, du1) = (p1 - w1.lo, w1.hi - p1);
    let (dl2, du2) = (p2 - w2.lo, w2.hi - p2);
    let lower = (dl1 * dl1 - 2.0 * phi * dl1 * du2 + du2 * du2)
        .max(0.0)
        .sqrt();
    let upper = (du1 * du1 - 2.0 * phi * du1 * dl2 + dl2 * dl2)
        .max(0.0)
        .sqrt();
    Interval {
        lo: (theta - lower).clamp(-1.0, 1.0),
        hi: (theta + upper).clamp(-1.0, 1.0),
    }
}

/// Newcombe's continuity-corrected φ for method 10 (see [`newcombe_paired`]).
fn correlation(a: u64, b: u64, c: u64, d: u64, n: f64) -> f64 {
    let margins = [
        a as f64 + b as f64,
        c as f64 + d as f64,
        a as f64 + c as f64,
        b as f64 + d as f64,
    ];
    if margins.contains(&0.0) {
        return 0.0;
    }
    // i128 keeps ad − bc exact for any realistic count.
    let cross = i128::from(a) * i128::from(d) - i128::from(b) * i128::from(c);
    let cross = cross as f64;
    let corrected = if cross > n / 2.0 {
        cross - n / 2.0
    } else if cross >= 0.0 {
        0.0
    } else {
        cross
    };
    let phi = corrected / margins.iter().product::<f64>().sqrt();
    if phi.is_finite() {
        phi.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// McNemar's exact one-sided p-value: `P(X ≥ b)` for `X ~ Binomial(b + c, ½)`.
///
/// Why exact: conditional on the number of discordant items `b + c`, under
/// "the two models are equally good" each discordant item is a regression
/// with probability ½, so the binomial tail is the exact null distribution
/// (McNemar 1947; the exact form as in scipy's `binomtest`). Gates often see
/// a handful of discordant pairs, where the χ² approximation is poor.
///
/// Computed by summing binomial terms from the far end of the smaller tail.
/// Up to 1000 discordant items the terms are built from `2⁻ᵐ` by exact
/// integer ratios, so small cases are exact to the last bit (b = 12, c = 3
/// gives 576/32768 = 0.017578125); beyond that the first term comes from
/// `ln Γ` and the sum is accurate to about 1e-13 relative. Above 2³²
/// discordant items it falls back to the continuity-corrected normal
/// approximation.
///
/// `b + c == 0` gives 1 (no evidence either way).
pub fn mcnemar_exact_one_sided(b: u64, c: u64) -> f64 {
    let m = b.saturating_add(c);
    if m == 0 || b == 0 {
        return 1.0;
    }
    if m > EXACT_SUM_LIMIT {
        // Billions of discordant items: the normal approximation with a
        // continuity correction is accurate to far better than anything a
        // gate could resolve, and summing terms would take too long.
        let (mf, bf) = (m as f64, b as f64);
        return normal_sf((bf - 0.5 - mf / 2.0) / (mf.sqrt() / 2.0)).clamp(0.0, 1.0);
    }
    // P(X ≥ b). When b is in the upper half, this is the small tail; else use
    // the symmetry P(X ≥ b) = 1 − P(X ≤ b − 1) = 1 − P(X ≥ m − b + 1).
    if 2 * u128::from(b) > u128::from(m) {
        upper_tail_half(b, m)
    } else {
        (1.0 - upper_tail_half(m - b + 1, m)).clamp(0.0, 1.0)
    }
}

/// Above this many discordant items [`mcnemar_exact_one_sided`] uses the
/// normal approximation (the exact sum needs about `5√m` terms).
const EXACT_SUM_LIMIT: u64 = 1 << 32;

/// `P(X ≥ k)` for `X ~ Binomial(m, ½)` with `k > m/2` (a tail that does not
/// contain the mode, so terms decrease away from `k`).
fn upper_tail_half(k: u64, m: u64) -> f64 {
    if k > m {
        return 0.0;
    }
    if m <= 1000 {
        // Sum from the smallest term (j = m) towards j = k:
        // C(m, j−1) = C(m, j) · j / (m − j + 1).
        let mut term = (-(m as f64)).exp2();
        let mut sum = term;
        let mut j = m;
        while j > k {
            term = term * j as f64 / (m - j + 1) as f64;
            sum += term;
            j -= 1;
        }
        return sum.min(1.0);
    }
    // Large m: start at the largest term, j = k, in log space, and walk out:
    // C(m, j+1) = C(m, j) · (m − j) / (j + 1).
    let (mf, kf) = (m as f64, k as f64);
    let ln_first = ln_gamma(mf + 1.0)
        - ln_gamma(kf + 1.0)
        - ln_gamma(mf - kf + 1.0)
        - mf * std::f64::consts::LN_2;
    let mut term = ln_first.exp();
    let mut sum = 0.0;
    let mut j = k;
    while term > 0.0 && j <= m {
        sum += term;
        if term < sum * 1e-18 {
            break;
        }
        term = term * (m - j) as f64 / (j + 1) as f64;
        j += 1;
    }
    sum.clamp(0.0, 1.0)
}

/// One-sided p-value for H0: `diff ≤ margin` against H1: `diff > margin`,
/// where `diff` is the candidate's error rate minus the baseline's.
///
/// - `margin == 0`: the exact McNemar test ([`mcnemar_exact_one_sided`]).
/// - `0 < margin < 1` (a tolerance: "fail only if the candidate is worse by
///   more than 2 pp"): the larger of McNemar's p and the exact
///   unconditional p of the shifted null `p_b − p_c ≤ margin`, maximised
///   over the unknown discordance (see the `exact` module: Suissa &
///   Shuster 1991; Sidik 2003). McNemar's test alone no longer applies,
///   because under this null the discordant items are not split ½/½; and
///   the asymptotic score test (Nam 1997; Tango 1998) that candor used
///   before runs above its level (a worst-case size of 0.075 at α = 0.05)
///   and could give a *smaller* p at a looser tolerance.
///
///   Guarantees: the size is at most α at every sample size and every
///   discordance (the unconditional p is an upper bound of the exact
///   supremum, and the larger of two p-values of which one is valid is
///   valid); the p-value never decreases as the margin grows (the
///   unconditional p is monotone by construction, McNemar's term does not
///   depend on the margin, and at `margin = 0` the p is McNemar's alone);
///   and it is never below exact McNemar, so a tolerance can only make a
///   gate more lenient.
///
/// `level` is the level the p-value will be compared with (for a gate in a
/// family of `k` p-valued gates, `α/k`): the exact test ranks tables by
/// the score interval at that level, which is where it has its power. Any
/// level gives a valid p-value; a NaN or out-of-range one ranks as at 5 %.
/// It plays no part at `margin ≤ 0`.
///
/// Edge cases: an empty table or a NaN margin gives 1; a margin of 1 or
/// more gives 1 (no difference can exceed it). A negative margin ("the
/// candidate must be better by at least …") is tested as 0: McNemar's p is
/// valid for it (its null contains the smaller one) and the p stays
/// monotone; gates never use one (spec tolerances are at least 0).
pub fn paired_p_value(t: &PairedTable, margin: f64, level: f64) -> f64 {
    let n = t.n();
    if n == 0 || margin.is_nan() || margin >= 1.0 {
        return 1.0;
    }
    let mcnemar = mcnemar_exact_one_sided(t.b, t.c);
    if margin <= 0.0 {
        return mcnemar;
    }
    mcnemar.max(super::exact::unconditional_p(t.b, t.c, n, margin, level))
}

/// The asymptotic score test for a paired difference with a non-zero null
/// (Nam 1997, Biometrics 53:1422; Tango 1998, Stat Med 17:891): with
/// `Δ₀ = margin`,
///
/// ```text
/// Z = (b − c − nΔ₀) / √(n(2q̃ + Δ₀(1 − Δ₀)))
/// ```
///
/// where `q̃` is [`tango_q`], the maximum-likelihood estimate of the
/// improvement-cell probability restricted to the null; the p-value is the
/// upper normal tail of `Z`. Not a gate's test (it runs above its level in
/// small samples); the exact test ranks tables by the lower limit of the
/// interval this statistic inverts to, and the tests use it to check that
/// statistic against the published interval. Empty table, NaN margin or a
/// margin outside (−1, 1): as [`paired_p_value`] before it was exact (1,
/// or for a margin of −1 or less, 1 when every item is an improvement and 0
/// otherwise).
#[cfg(test)]
pub(crate) fn tango_asymptotic_p(t: &PairedTable, margin: f64) -> f64 {
    let n = t.n();
    if n == 0 || margin.is_nan() || margin >= 1.0 {
        return 1.0;
    }
    if margin <= -1.0 {
        return if t.c == n { 1.0 } else { 0.0 };
    }
    match tango_z(t.b, t.c, n, margin) {
        Some(z) => normal_sf(z).clamp(0.0, 1.0),
        None => 1.0,
    }
}

/// Tango's score statistic for H0: `p12 − p21 = delta0` (see
/// [`tango_asymptotic_p`]); `None` if it is not a finite number.
pub(crate) fn tango_z(b: u64, c: u64, n: u64, delta0: f64) -> Option<f64> {
    let (bf, cf, nf) = (b as f64, c as f64, n as f64);
    let q = tango_q(b, c, n, delta0);
    let var = nf * (2.0 * q + delta0 * (1.0 - delta0));
    let z = (bf - cf - nf * delta0) / var.sqrt();
    (var > 0.0 && z.is_finite()).then_some(z)
}

/// The maximum-likelihood estimate of the improvement-cell probability
/// restricted to `p12 − p21 = delta0`: the larger root of
/// `2n·q² + (−(b+c) + (2n − b + c)Δ₀)·q − cΔ₀(1 − Δ₀) = 0`, computed
/// without subtracting nearly equal numbers.
pub(crate) fn tango_q(b: u64, c: u64, n: u64, delta0: f64) -> f64 {
    let (bf, cf, nf) = (b as f64, c as f64, n as f64);
    let qa = 2.0 * nf;
    let qb = -bf - cf + (2.0 * nf - bf + cf) * delta0;
    let qc = -cf * delta0 * (1.0 - delta0);
    let disc = (qb * qb - 4.0 * qa * qc).max(0.0).sqrt();
    if qb > 0.0 {
        -2.0 * qc / (qb + disc)
    } else {
        (disc - qb) / (2.0 * qa)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(both_right: u64, b: u64, c: u64, both_wrong: u64) -> PairedTable {
        PairedTable {
            both_right,
            b,
            c,
            both_wrong,
        }
    }

    #[test]
    fn from_pairs_tallies_each_cell() {
        let t = PairedTable::from_pairs([
            (false, false),
            (false, true),
            (false, true),
            (true, false),
            (true, true),
            (true, true),
            (true, true),
        ]);
        assert_eq!(t, table(1, 2, 1, 3));
        assert_eq!(t.n(), 7);
        assert_eq!(t.baseline_errors(), 4);
        assert_eq!(t.candidate_errors(), 5);
        assert!((t.diff() - 1.0 / 7.0).abs() < 1e-15);
        assert!((t.candidate_rate() - t.baseline_rate() - t.diff()).abs() < 1e-15);
        let empty = PairedTable::default();
        assert_eq!(
            (empty.n(), empty.diff(), empty.baseline_rate()),
            (0, 0.0, 0.0)
        );
    }

    #[test]
    fn mcnemar_anchor_is_exact() {
        // The issue's anchor; also scipy.stats.binomtest(12, 15, 0.5, "greater").
        assert_eq!(mcnemar_exact_one_sided(12, 3), 0.017578125);
    }

    #[test]
    fn mcnemar_matches_scipy_binomtest() {
        // scipy 1.17.1: binomtest(b, b + c, 0.5, alternative="greater").pvalue
        // (scripts/stats_reference.py, section "McNemar").
        let cases = [
            (5, 5, 0.623046875),
            (0, 4, 1.0),
            (4, 0, 0.0625),
            (1, 0, 0.5),
            (30, 10, 0.0011107168866146822),
            (10, 30, 0.9996602258725034),
            (100, 80, 0.07826573478907584),
            (700, 640, 0.05348996262245481), // m = 1340: the ln Γ path
        ];
        for (b, c, want) in cases {
            let got = mcnemar_exact_one_sided(b, c);
            assert!(
                (got - want).abs() < 1e-12 * want.max(1e-3),
                "b={b} c={c}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn mcnemar_edges() {
        assert_eq!(mcnemar_exact_one_sided(0, 0), 1.0);
        assert_eq!(mcnemar_exact_one_sided(0, 1_000_000), 1.0);
        let tiny = mcnemar_exact_one_sided(5000, 0);
        assert!((0.0..1e-300).contains(&tiny));
        let huge = mcnemar_exact_one_sided(u64::MAX / 2, u64::MAX / 2);
        assert!((0.0..=1.0).contains(&huge));
        // Both paths agree where they meet (m = 1000 vs 1001), and the tail
        // is monotone in b.
        let mut last = 1.0;
        for b in 480..=540 {
            let p = mcnemar_exact_one_sided(b, 1000 - b);
            assert!(p <= last);
            last = p;
            let q = mcnemar_exact_one_sided(b, 1001 - b);
            assert!(q >= p - 1e-12);
        }
    }

    #[test]
    fn newcombe_matches_the_published_example() {
        // Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency
        // Tables" (2017), ch. 8: Cavo et al. (2012) table [[59, 6], [16, 80]]
        // gives −0.0621 (−0.1186 to −0.0046) for the Newcombe square-and-add
        // interval (the values asserted in the R package contingencytables'
        // test-ch8.R). With the uncorrected φ one would get −0.1174 to
        // −0.0059 instead (scripts/stats_reference.py).
        let t = table(80, 6, 16, 59);
        let i = newcombe_paired(&t, 0.95);
        assert_eq!(format!("{:.4}", t.diff()), "-0.0621");
        assert_eq!(format!("{:.4} {:.4}", i.lo, i.hi), "-0.1186 -0.0046");
    }

    #[test]
    fn newcombe_matches_an_independent_implementation() {
        // scripts/stats_reference.py, section "Newcombe method 10": the
        // paper's formulas written out in Python over scipy.stats.norm.ppf.
        // Cells are (both_wrong, b, c, both_right).
        let cases = [
            (
                (59, 6, 16, 80),
                0.95,
                -0.11862119563870996,
                -0.00462511393305004,
            ),
            (
                (1, 1, 7, 12),
                0.95,
                -0.506920226686141,
                -0.02555912416485978,
            ),
            (
                (0, 12, 3, 185),
                0.95,
                0.006524851988748533,
                0.0883802127750589,
            ),
            (
                (20, 12, 3, 165),
                0.95,
                0.005813553789656985,
                0.08711702170984889,
            ),
            (
                (20, 12, 3, 165),
                0.90,
                0.012413934843759133,
                0.07971986927703688,
            ),
            (
                (0, 0, 0, 50),
                0.95,
                -0.07134759913335871,
                0.07134759913335871,
            ),
            (
                (10, 0, 0, 40),
                0.95,
                -0.05709224769985123,
                0.05709224769985123,
            ),
            ((0, 5, 0, 0), 0.95, 0.38554900569034356, 1.0),
            (
                (3, 0, 9, 88),
                0.95,
                -0.1628134873735671,
                -0.031965314775498896,
            ),
        ];
        for ((a, b, c, d), conf, lo, hi) in cases {
            let i = newcombe_paired(&table(d, b, c, a), conf);
            assert!(
                (i.lo - lo).abs() < 1e-9 && (i.hi - hi).abs() < 1e-9,
                "{:?}: [{}, {}] vs [{lo}, {hi}]",
                (a, b, c, d),
                i.lo,
                i.hi
            );
        }
    }

    #[test]
    fn newcombe_edges() {
        let full = Interval { lo: -1.0, hi: 1.0 };
        assert_eq!(newcombe_paired(&PairedTable::default(), 0.95), full);
        assert_eq!(newcombe_paired(&table(5, 1, 1, 5), 1.0), full);
        assert_eq!(newcombe_paired(&table(5, 1, 1, 5), f64::NAN), full);
        let all_b = newcombe_paired(&table(0, 7, 0, 0), 0.95);
        assert!(all_b.hi == 1.0 && all_b.lo > 0.0);
        let all_c = newcombe_paired(&table(0, 0, 7, 0), 0.95);
        assert!(all_c.lo == -1.0 && all_c.hi < 0.0);
        let t = table(u64::MAX / 8, 3, 1, u64::MAX / 8);
        let i = newcombe_paired(&t, 0.95);
        assert!(i.lo.is_finite() && i.hi.is_finite() && i.lo <= i.hi);
        // The interval always contains the estimate.
        for (r, b, c, w) in [(10, 3, 0, 1), (0, 1, 1, 0), (3, 0, 0, 0), (40, 9, 2, 7)] {
            let t = table(r, b, c, w);
            assert!(newcombe_paired(&t, 0.95).contains(t.diff()), "{t:?}");
        }
    }

    #[test]
    fn tango_matches_an_independent_implementation() {
        // scripts/stats_reference.py, section "Tango": the closed form in
        // Python, cross-checked there against the restricted MLE found by
        // scipy.optimize.minimize_scalar on the multinomial likelihood
        // (agreement to 1e-8 in z); p = scipy.stats.norm.sf(z).
        // Cells are (both_right, b, c, both_wrong).
        let cases = [
            ((150, 30, 10, 10), 0.05, 0.05084061068379102),
            ((150, 30, 10, 10), 0.10, 0.5),
            ((170, 12, 3, 15), 0.02, 0.0871335512064631),
            ((100, 0, 0, 0), 0.05, 0.9891092686044403),
            ((40, 5, 5, 0), -0.05, 0.21857826284163961),
            ((10, 20, 0, 0), 0.30, 0.0018136745601860299),
            ((0, 9, 1, 0), 0.5, 0.13666083914614907),
        ];
        for ((r, b, c, w), margin, want) in cases {
            let got = tango_asymptotic_p(&table(r, b, c, w), margin);
            assert!(
                (got - want).abs() < 1e-9,
                "{:?} {margin}: {got} vs {want}",
                (r, b, c, w)
            );
        }
        // At margin 0 the score statistic is McNemar's (b − c)/√(b + c):
        // reference z = 2.32379000772445 for b = 12, c = 3.
        let z = tango_z(12, 3, 200, 0.0).unwrap();
        assert!((z - 2.32379000772445).abs() < 1e-12);
        assert!((z - 9.0 / 15f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn tango_inverts_to_the_published_score_interval() {
        // Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency
        // Tables" (2017), ch. 8, Cavo et al. (2012) table [[59, 6], [16, 80]]:
        // Tango asymptotic score 95% CI −0.1240 to −0.0054 (the values
        // asserted in the R package contingencytables' test-ch8.R). The
        // interval is the set of Δ₀ the two-sided score test does not
        // reject, so its limits are where the one-sided p is 0.025 and 0.975.
        let t = table(80, 6, 16, 59);
        let root = |target: f64| {
            let (mut lo, mut hi) = (-0.999, 0.999);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                // p rises with the margin: a larger tolerance, weaker evidence.
                if tango_asymptotic_p(&t, mid) < target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        };
        assert_eq!(
            format!("{:.4} {:.4}", root(0.025), root(0.975)),
            "-0.1240 -0.0054"
        );
        // scripts/stats_reference.py, same inversion in Python with brentq.
        assert!((root(0.025) - -0.12402343246406809).abs() < 1e-9);
        assert!((root(0.975) - -0.005433395731677065).abs() < 1e-9);
    }

    #[test]
    fn a_tolerance_never_makes_the_examples_stricter() {
        // Three tables where the asymptotic score test gave a *smaller* p
        // at a looser tolerance (its p from scripts/stats_reference.py's
        // closed form, scipy 1.17.1 norm.sf; exact McNemar from scipy
        // binomtest). Now the p at every tolerance is at least McNemar's:
        // the exact unconditional p (scripts/exact_reference.py) is below
        // it on all three, so the larger of the two is McNemar's.
        // (n, b, c), tolerance, old asymptotic p, exact unconditional p.
        let cases = [
            ((24, 6, 1), 0.01, 0.03477385435073928, 0.043481216937988384),
            ((24, 6, 1), 0.02, 0.041064542490642515, 0.05205042913324329),
            ((100, 4, 0), 0.01, 0.042403140899683125, 0.05981948821654558),
            ((5, 3, 0), 0.01, 0.043722464945641686, 0.06973385016445616),
        ];
        for ((n, b, c), tolerance, old, unconditional) in cases {
            let t = table(n - b - c, b, c, 0);
            let mcnemar = mcnemar_exact_one_sided(b, c);
            assert!((tango_asymptotic_p(&t, tolerance) - old).abs() < 1e-9);
            assert!(
                old < 0.05 && mcnemar > 0.05,
                "the old gate failed, McNemar passes"
            );
            let exact = super::super::exact::unconditional_p(b, c, n, tolerance, 0.05);
            assert!(exact >= unconditional - 1e-9 && exact - unconditional < 2e-5);
            let p = paired_p_value(&t, tolerance, 0.05);
            assert_eq!(p, mcnemar, "{:?} at {tolerance}", (n, b, c));
            assert_eq!(paired_p_value(&t, 0.0, 0.05), mcnemar);
        }
        // The new p-values: 0.0625 (n = 24, b = 6, c = 1, at 0, 1 and 2 pp),
        // 0.0625 (n = 100, b = 4, c = 0, at 0 and 1 pp), 0.125 (n = 5, b = 3,
        // c = 0, at 0 and 1 pp): all pass at α = 0.05, as at 0 pp.
        assert_eq!(paired_p_value(&table(17, 6, 1, 0), 0.02, 0.05), 0.0625);
        assert_eq!(paired_p_value(&table(96, 4, 0, 0), 0.01, 0.05), 0.0625);
        assert_eq!(paired_p_value(&table(2, 3, 0, 0), 0.01, 0.05), 0.125);
    }

    #[test]
    fn paired_p_value_edges() {
        let t = table(150, 30, 10, 10);
        assert_eq!(
            paired_p_value(&t, 0.0, 0.05),
            mcnemar_exact_one_sided(30, 10)
        );
        assert_eq!(paired_p_value(&PairedTable::default(), 0.05, 0.05), 1.0);
        assert_eq!(paired_p_value(&t, f64::NAN, 0.05), 1.0);
        assert_eq!(paired_p_value(&t, 1.0, 0.05), 1.0);
        assert_eq!(paired_p_value(&t, 2.0, 0.05), 1.0);
        // A negative margin is tested as 0.
        assert_eq!(
            paired_p_value(&t, -0.05, 0.05),
            mcnemar_exact_one_sided(30, 10)
        );
        assert_eq!(
            paired_p_value(&t, -1.0, 0.05),
            mcnemar_exact_one_sided(30, 10)
        );
        // The asymptotic reference keeps its old edge behaviour.
        assert_eq!(tango_asymptotic_p(&t, -1.0), 0.0);
        assert_eq!(tango_asymptotic_p(&table(0, 0, 4, 0), -2.0), 1.0);
        let p = tango_asymptotic_p(&table(50, 0, 0, 0), -0.05);
        assert!(p.is_finite() && p < 0.5);
        // A larger tolerance can only make the p-value larger, and it is
        // never below McNemar's.
        let mut last = 0.0;
        for k in 0..40 {
            let p = paired_p_value(&t, k as f64 / 100.0, 0.05);
            assert!(p >= last, "margin {k}%");
            assert!(p >= mcnemar_exact_one_sided(30, 10));
            last = p;
        }
    }
}
