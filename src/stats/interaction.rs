//! Gap growth: does the candidate-minus-baseline gap widen under a context?
//!
//! The study's central finding is an interaction: the warm model's extra
//! errors grow when the user sounds sad. Each item is answered by both models
//! with and without the context, so the interaction can be measured per item
//! as a difference in differences, and tested without any model of how the
//! four outcomes depend on each other.

use super::exact::unconditional_p;
#[cfg(test)]
use super::rng::SplitMix64;
use super::{mcnemar_exact_one_sided, two_sided_z, Interval};
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::gamma::ln_gamma;

/// One item's four outcomes; `true` means wrong.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ItemQuad {
    pub base_none: bool,
    pub cand_none: bool,
    pub base_ctx: bool,
    pub cand_ctx: bool,
}

impl ItemQuad {
    /// `(cand_ctx − base_ctx) − (cand_none − base_none)`, in −2..=2.
    pub fn d(&self) -> i8 {
        let w = |x: bool| i8::from(x);
        (w(self.cand_ctx) - w(self.base_ctx)) - (w(self.cand_none) - w(self.base_none))
    }
}

/// The result of [`gap_growth`]. Rates and growth are fractions.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GapGrowth {
    /// Number of items.
    pub n: u64,
    /// Candidate minus baseline error rate without the context.
    pub gap_none: f64,
    /// Candidate minus baseline error rate with the context.
    pub gap_ctx: f64,
    /// `gap_ctx − gap_none`, the mean of the per-item `d_i`.
    pub growth: f64,
    /// Student-t interval for the mean of `d_i` (see [`gap_growth`]).
    pub ci: Interval,
    /// One-sided p for H0: growth ≤ margin (see [`gap_growth`]).
    pub p_one_sided: f64,
}

/// The share of the level the test with a tolerance gives to the part of
/// the growth carried by items with `|d| = 2` (see [`gap_growth`]).
pub const DOUBLE_FLIP_SHARE: f64 = 0.25;

/// Points of the fixed grid over which the test with a tolerance splits the
/// margin between its two parts (see [`gap_growth`]).
pub(crate) const SPLIT_GRID: usize = 2048;

/// Gap growth under a context versus the no-context condition, per item.
///
/// For item `i`, `d_i = (cand_wrong_ctx − base_wrong_ctx) − (cand_wrong_none −
/// base_wrong_none)`, each term 0 or 1, so `d_i ∈ {−2, …, 2}`; the growth is
/// the mean of `d_i`, equal to `gap_ctx − gap_none`.
///
/// **p-value, no tolerance** (`margin ≤ 0`). The one-sided sign-flip
/// permutation test (Fisher 1935; Good, "Permutation tests", ch. 3) of
/// `T = Σ d_i`: under the hypothesis that the two models are exchangeable
/// (relabelling baseline as candidate within an item negates `d_i`), every
/// pattern of signs is equally likely, whatever the item difficulties and
/// whatever the dependence between an item's four outcomes, so `p = #{T* ≥
/// T}/2^k` over the `2^k` sign patterns of the `k` non-zero `d_i` is exact.
/// Because `|d_i|` is 1 or 2, `T*` is `(2J₁ − m₁) + 2(2J₂ − m₂)` with `J₁ ~
/// Bin(m₁, ½)`, `J₂ ~ Bin(m₂, ½)` for the `m₁` items with `|d| = 1` and the
/// `m₂` with `|d| = 2`: the permutation distribution is computed exactly, by
/// that convolution, at every size (no Monte Carlo). A negative margin is
/// tested as 0 (its null is contained in exchangeability's half-space).
///
/// **p-value, with a tolerance** (`0 < margin`): the items are iid and the
/// null is `E[d] ≤ margin` for *any* distribution of `d` on {−2, …, 2}. A
/// sign-flip test of `d − margin` (what candor did before) assumes that
/// distribution symmetric about its mean and runs above its level (a size
/// of 0.069 at 80 items and a 2 pp margin). Here `d = e + δ` with `e =
/// sign(d)` and `δ = d − e ∈ {−1, 0, 1}` (non-zero only when `|d| = 2`), so
/// `E[d] = E[e] + E[δ]`, and each part is a paired difference of a
/// three-valued outcome: `E[e] = P(d > 0) − P(d < 0)` and `E[δ] = P(d = 2) −
/// P(d = −2)`, each tested exactly by [`super::exact`]'s unconditional test
/// (ranked at shares `1 − w` and `w` of `level`, `w =`
/// [`DOUBLE_FLIP_SHARE`]). For a split `γ` of the margin, write `A(γ)` for
/// the p of `E[e] ≤ margin + γ` and `B(γ)` for the p of `E[δ] ≤ −γ`; the
/// p-value is
///
/// ```text
/// p = min over γ of max(A(γ)/(1 − w), B(γ)/w)
/// ```
///
/// over a fixed grid of `γ` in [−1, 1]. It is valid: under the null, with
/// `γ* = −E[δ]`, a rejection at level α needs `A(γ) ≤ (1 − w)α` and `B(γ) ≤
/// wα` for some `γ`; if `γ ≥ γ*` then `A(γ*) ≤ A(γ) ≤ (1 − w)α` although
/// `E[e] ≤ margin + γ*` holds, and if `γ < γ*` then `B(γ*) ≤ B(γ) ≤ wα`
/// although `E[δ] ≤ −γ*` holds (both p-values never fall as their margin
/// grows), so the size is at most `(1 − w)α + wα = α` (a Bonferroni split
/// over the two parts). It is
/// monotone in the margin: every `A(γ)` is, `B` does not depend on it. The
/// minimum is found by bisection (`A` rises and `B` falls with `γ`). Finally
/// the p is the larger of this and the sign-flip p, so that a tolerance can
/// never make the gate stricter than at 0.
///
/// The price of guaranteeing the level against every distribution of `d`:
/// the second part must show that items with `d = −2` (unseen or rare) do
/// not hide an increase among the others, which costs about `ln(1/(wα))/n`
/// of margin when none are observed (2.2 pp at 200 items and α = 0.05); see
/// the README's statistics section for the measured power.
///
/// **Interval.** The Student-t interval `mean ± t_{n−1} · s/√n` for the mean
/// of `d_i`, truncated to [−2, 2]. The `d_i` are bounded, so the central
/// limit theorem applies quickly; the interval is for the report, and the
/// gate is the p-value. When every `d_i` is equal the sample variance is 0
/// and the interval collapses to that value; with fewer than two items it
/// is [−2, 2].
///
/// `level` is the level the p will be compared with (a gate's `α/k`); it
/// sets the ranking of the exact parts (any level gives a valid p).
///
/// Edge cases: no items gives zero rates, `[−2, 2]` and p = 1; a NaN margin
/// gives p = 1.
pub fn gap_growth(items: &[ItemQuad], margin: f64, conf: f64, level: f64) -> GapGrowth {
    let n = items.len();
    let full = Interval { lo: -2.0, hi: 2.0 };
    if n == 0 {
        return GapGrowth {
            n: 0,
            gap_none: 0.0,
            gap_ctx: 0.0,
            growth: 0.0,
            ci: full,
            p_one_sided: 1.0,
        };
    }
    let nf = n as f64;
    let wrong = |x: bool| f64::from(u8::from(x));
    let gap_none = items
        .iter()
        .map(|q| wrong(q.cand_none) - wrong(q.base_none))
        .sum::<f64>()
        / nf;
    let gap_ctx = items
        .iter()
        .map(|q| wrong(q.cand_ctx) - wrong(q.base_ctx))
        .sum::<f64>()
        / nf;
    let d: Vec<i8> = items.iter().map(ItemQuad::d).collect();
    let mut counts = [0u64; 5];
    for &x in &d {
        counts[(x + 2) as usize] += 1;
    }
    let growth = d.iter().map(|&x| f64::from(x)).sum::<f64>() / nf;
    GapGrowth {
        n: n as u64,
        gap_none,
        gap_ctx,
        growth,
        ci: t_interval(
            &d.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(),
            conf,
            full,
        ),
        p_one_sided: growth_p(counts, margin, level),
    }
}

/// The p-value of [`gap_growth`] from the counts of `d = −2, …, 2`.
pub(crate) fn growth_p(counts: [u64; 5], margin: f64, level: f64) -> f64 {
    if margin.is_nan() {
        return 1.0;
    }
    let flip = sign_flip_exact(counts);
    if margin <= 0.0 {
        return flip;
    }
    flip.max(tolerance_p(counts, margin, level))
}

/// The exact one-sided sign-flip p of `T = Σ d` for integer `d` with these
/// counts of −2, …, 2 (see [`gap_growth`]).
pub(crate) fn sign_flip_exact(counts: [u64; 5]) -> f64 {
    let m1 = counts[1] + counts[3];
    let m2 = counts[0] + counts[4];
    if m1 + m2 == 0 {
        return 1.0;
    }
    // T = (2·j1 − m1) + 2(2·j2 − m2) with j1, j2 the positive counts.
    let t = 2 * (counts[3] + 2 * counts[4]) as i128 - (m1 + 2 * m2) as i128;
    let mut p = 0.0;
    for j2 in 0..=m2 {
        // P(J2 = j2) · P(J1 ≥ need), need = ⌈(t + m1 − 2(2·j2 − m2))/2⌉.
        let rest = t + m1 as i128 - 2 * (2 * j2 as i128 - m2 as i128);
        let need = rest.div_euclid(2) + rest.rem_euclid(2);
        let tail = if need <= 0 {
            1.0
        } else if need as u128 > u128::from(m1) {
            0.0
        } else {
            let need = need as u64;
            mcnemar_exact_one_sided(need, m1 - need)
        };
        if tail > 0.0 {
            p += half_binomial_pmf(m2, j2) * tail;
        }
    }
    p.clamp(0.0, 1.0)
}

/// `C(m, j)/2^m`: exact for `m ≤ 1000` (built from `2⁻ᵐ` by integer
/// ratios), from `ln Γ` beyond.
fn half_binomial_pmf(m: u64, j: u64) -> f64 {
    let j = j.min(m - j);
    if m <= 1000 {
        let mut term = (-(m as f64)).exp2();
        for i in 0..j {
            term = term * (m - i) as f64 / (i + 1) as f64;
        }
        return term;
    }
    let (mf, jf) = (m as f64, j as f64);
    (ln_gamma(mf + 1.0)
        - ln_gamma(jf + 1.0)
        - ln_gamma(mf - jf + 1.0)
        - mf * std::f64::consts::LN_2)
        .exp()
}

/// The `i`-th split of the margin, `γ_i = −1 + 2i/G`.
pub(crate) fn split_point(i: usize) -> f64 {
    -1.0 + 2.0 * i as f64 / SPLIT_GRID as f64
}

/// The p of `E[d] ≤ margin` for iid `d` on {−2, …, 2}, as the split over
/// `e = sign(d)` and `δ = d − e` (see [`gap_growth`]).
pub(crate) fn tolerance_p(counts: [u64; 5], margin: f64, level: f64) -> f64 {
    let n: u64 = counts.iter().sum();
    if n == 0 || margin.is_nan() || margin >= 2.0 {
        return 1.0;
    }
    let w = DOUBLE_FLIP_SHARE;
    let level = if level > 0.0 && level < 1.0 {
        level
    } else {
        0.05
    };
    let (be, ce) = (counts[3] + counts[4], counts[0] + counts[1]);
    let (bd, cd) = (counts[4], counts[0]);
    let gamma = |i: usize| split_point(i);
    let a = |i: usize| unconditional_p(be, ce, n, margin + gamma(i), (1.0 - w) * level);
    let b = |i: usize| unconditional_p(bd, cd, n, -gamma(i), w * level);
    let at = |i: usize| (a(i) / (1.0 - w)).max(b(i) / w);
    // The first grid point where A/(1 − w) ≥ B/w (A rises, B falls).
    let (mut lo, mut hi) = (0usize, SPLIT_GRID + 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if a(mid) / (1.0 - w) >= b(mid) / w {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let mut p = f64::INFINITY;
    if lo <= SPLIT_GRID {
        p = p.min(at(lo));
    }
    if lo >= 1 {
        p = p.min(at(lo - 1));
    }
    p.min(1.0)
}

/// One-sided sign-flip p-value for `T = Σ e_i` (large `T` is evidence) by
/// enumerating sign patterns when at most `exact_limit` of the `e_i` are
/// non-zero, else `n_perm` seeded random patterns with the +1 correction
/// (Phipson & Smyth 2010). The tests' reference for [`sign_flip_exact`].
#[cfg(test)]
pub(crate) fn sign_flip_p(e: &[f64], exact_limit: usize, n_perm: usize, seed: u64) -> f64 {
    let e: Vec<f64> = e.iter().copied().filter(|x| *x != 0.0).collect();
    let k = e.len();
    if k == 0 {
        return 1.0;
    }
    let observed: f64 = e.iter().sum();
    let scale: f64 = e.iter().map(|x| x.abs()).sum();
    if !observed.is_finite() || !scale.is_finite() {
        return 1.0;
    }
    // Sums of the same terms in another order can differ by rounding; a
    // pattern whose sum ties the observed one must count as "at least as
    // extreme", so compare with a tolerance far below any real gap.
    let threshold = observed - 1e-9 * scale.max(1.0);
    if k <= exact_limit.min(62) {
        // Gray code: successive patterns differ in one sign, so each sum is
        // one update away from the last. Pattern 0 is "all signs kept".
        let mut sum = observed;
        let mut hits: u64 = u64::from(sum >= threshold);
        let total: u64 = 1 << k;
        let mut signs = vec![1.0_f64; k];
        for step in 1..total {
            let j = step.trailing_zeros() as usize;
            sum -= 2.0 * signs[j] * e[j];
            signs[j] = -signs[j];
            hits += u64::from(sum >= threshold);
        }
        return hits as f64 / total as f64;
    }
    if n_perm == 0 {
        return 1.0;
    }
    let mut rng = SplitMix64::new(seed);
    let mut hits: u64 = 0;
    for _ in 0..n_perm {
        let mut sum = 0.0;
        for chunk in e.chunks(64) {
            let bits = rng.next_u64();
            for (i, x) in chunk.iter().enumerate() {
                if bits >> i & 1 == 1 {
                    sum += x;
                } else {
                    sum -= x;
                }
            }
        }
        hits += u64::from(sum >= threshold);
    }
    (1 + hits) as f64 / (1 + n_perm) as f64
}

/// Student-t interval for the mean of `x`, truncated to `bounds`.
pub(crate) fn t_interval(x: &[f64], conf: f64, bounds: Interval) -> Interval {
    let n = x.len();
    if n < 2 || !two_sided_z(conf).is_finite() {
        return bounds;
    }
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (nf - 1.0);
    let half = if var > 0.0 {
        let t = if conf <= 0.0 {
            0.0
        } else {
            match StudentsT::new(0.0, 1.0, nf - 1.0) {
                Ok(dist) => dist.inverse_cdf(1.0 - (1.0 - conf) / 2.0),
                Err(_) => return bounds,
            }
        };
        t * (var / nf).sqrt()
    } else {
        0.0
    };
    if !half.is_finite() {
        return bounds;
    }
    Interval {
        lo: (mean - half).clamp(bounds.lo, bounds.hi),
        hi: (mean + half).clamp(bounds.lo, bounds.hi),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items whose per-item differences are exactly `d` (each value in −2..=2
    /// realised by one fixed pattern of the four outcomes).
    fn items_with(d: &[i8]) -> Vec<ItemQuad> {
        d.iter()
            .map(|&v| {
                let (base_none, cand_none, base_ctx, cand_ctx) = match v {
                    -2 => (false, true, true, false),
                    -1 => (false, true, false, false),
                    0 => (false, false, false, false),
                    1 => (false, false, false, true),
                    2 => (true, false, false, true),
                    _ => unreachable!("d is in -2..=2"),
                };
                let q = ItemQuad {
                    base_none,
                    cand_none,
                    base_ctx,
                    cand_ctx,
                };
                assert_eq!(q.d(), v);
                q
            })
            .collect()
    }

    #[test]
    fn d_covers_every_pattern() {
        let mut seen = [0u32; 5];
        for bits in 0..16u8 {
            let q = ItemQuad {
                base_none: bits & 1 != 0,
                cand_none: bits & 2 != 0,
                base_ctx: bits & 4 != 0,
                cand_ctx: bits & 8 != 0,
            };
            seen[(q.d() + 2) as usize] += 1;
        }
        // Sum of two independent (−1, 0, 0, +1) differences.
        assert_eq!(seen, [1, 4, 6, 4, 1]);
    }

    #[test]
    fn exact_enumeration_hand_checked() {
        // d = [1, 1, 1, −1, 0]: T = 2 over four signed ±1 terms; T* ≥ 2 needs
        // at least three plus signs: C(4,3) + C(4,4) = 5 of 16 patterns.
        let g = gap_growth(&items_with(&[1, 1, 1, -1, 0]), 0.0, 0.95, 0.05);
        assert_eq!(g.p_one_sided, 5.0 / 16.0);
        assert_eq!(g.n, 5);
        assert!((g.growth - 0.4).abs() < 1e-15);
        assert!((g.gap_ctx - g.gap_none - g.growth).abs() < 1e-15);
        // d = [2, 1, −1]: T = 2; of the 8 sums ±2 ±1 ±1 (4, 2, 2, 0, 0, −2,
        // −2, −4) three are ≥ 2.
        let g = gap_growth(&items_with(&[2, 1, -1]), 0.0, 0.95, 0.05);
        assert_eq!(g.p_one_sided, 3.0 / 8.0);
        // The same p from itertools enumeration in scripts/stats_reference.py
        // (0.3125, 0.375), and for a 12-term case: 0.096923828125.
        let d = [1, 2, 1, -1, 1, 0, 0, 1, -2, 1, 1, 2, -1, 1];
        let g = gap_growth(&items_with(&d), 0.0, 0.95, 0.05);
        assert_eq!(g.p_one_sided, 0.096923828125);
    }

    #[test]
    fn t_interval_matches_scipy() {
        // scipy 1.17.1: stats.t.interval(conf, n − 1, loc=mean, scale=sem(d))
        // (scripts/stats_reference.py, section "t interval").
        let d = [1, 2, 1, -1, 1, 0, 0, 1, -2, 1, 1, 2, -1, 1];
        let g = gap_growth(&items_with(&d), 0.0, 0.95, 0.05);
        assert!((g.ci.lo - -0.16990188229801795).abs() < 1e-9, "{:?}", g.ci);
        assert!((g.ci.hi - 1.169901882298018).abs() < 1e-9, "{:?}", g.ci);
        let g = gap_growth(&items_with(&[1, 1, 1, -1, 0]), 0.0, 0.90, 0.05);
        assert!((g.ci.lo - -0.4527387145306603).abs() < 1e-9, "{:?}", g.ci);
        assert!((g.ci.hi - 1.2527387145306599).abs() < 1e-9, "{:?}", g.ci);
    }

    #[test]
    fn monte_carlo_is_deterministic_and_close_to_exact() {
        // 20 non-zero terms: exact is available, so compare the Monte-Carlo
        // path on the same data against it.
        let e: Vec<f64> = [
            1, 1, 2, -1, 1, 1, -1, 1, 2, 1, -2, 1, 1, -1, 1, 1, 1, -1, 1, 2,
        ]
        .iter()
        .map(|&x| f64::from(x))
        .collect();
        let exact = sign_flip_p(&e, 20, 0, 0);
        let mc = sign_flip_p(&e, 0, 20_000, 42);
        assert_eq!(mc, sign_flip_p(&e, 0, 20_000, 42));
        let se = (exact * (1.0 - exact) / 20_000.0).sqrt();
        assert!((mc - exact).abs() < 4.0 * se, "mc {mc} exact {exact}");
        // Different seeds give different (but close) answers.
        let other = sign_flip_p(&e, 0, 20_000, 43);
        assert_ne!(mc, other);
        assert!((other - exact).abs() < 4.0 * se);
    }

    #[test]
    fn sign_flip_convolution_is_the_enumeration() {
        // Every pattern of up to 18 non-zero d's enumerated (Gray code)
        // against the two-binomial convolution.
        let mut rng = SplitMix64::new(31);
        for _ in 0..300 {
            let k = 1 + rng.below(18) as usize;
            let d: Vec<i8> = (0..k)
                .map(|_| [-2, -1, 1, 2, 1, -1, 0][rng.below(7) as usize])
                .collect();
            let mut counts = [0u64; 5];
            for &x in &d {
                counts[(x + 2) as usize] += 1;
            }
            let e: Vec<f64> = d.iter().map(|&x| f64::from(x)).collect();
            let want = sign_flip_p(&e, 20, 0, 0);
            let got = sign_flip_exact(counts);
            assert!((got - want).abs() < 1e-14, "{d:?}: {got} vs {want}");
        }
        // Only ±1: the sign flip is McNemar's binomial test.
        assert_eq!(
            sign_flip_exact([0, 3, 50, 12, 0]),
            mcnemar_exact_one_sided(12, 3)
        );
    }

    #[test]
    fn large_suites_are_exact_and_deterministic() {
        let mut rng = SplitMix64::new(9);
        let items: Vec<ItemQuad> = (0..300)
            .map(|_| ItemQuad {
                base_none: rng.bernoulli(0.2),
                cand_none: rng.bernoulli(0.25),
                base_ctx: rng.bernoulli(0.2),
                cand_ctx: rng.bernoulli(0.35),
            })
            .collect();
        let a = gap_growth(&items, 0.0, 0.95, 0.05);
        assert_eq!(a, gap_growth(&items, 0.0, 0.95, 0.05));
        assert!(a.growth > 0.0 && a.p_one_sided < 0.05, "{a:?}");
        assert!(a.ci.contains(a.growth));
        // With a tolerance the p can only rise, and a margin above the
        // observed growth leaves nothing to detect.
        let mut last = a.p_one_sided;
        for k in 1..=12 {
            let p = gap_growth(&items, k as f64 / 100.0, 0.95, 0.05).p_one_sided;
            assert!(p >= last, "margin {k} pp: {p} < {last}");
            last = p;
        }
        let c = gap_growth(&items, a.growth + 0.05, 0.95, 0.05);
        assert!(c.p_one_sided > 0.5, "{c:?}");
    }

    #[test]
    fn edges_do_not_panic() {
        let g = gap_growth(&[], 0.0, 0.95, 0.05);
        assert_eq!((g.n, g.growth, g.p_one_sided), (0, 0.0, 1.0));
        assert_eq!(g.ci, Interval { lo: -2.0, hi: 2.0 });
        // All items concordant: no signs to flip.
        let g = gap_growth(&items_with(&[0; 50]), 0.0, 0.95, 0.05);
        assert_eq!((g.growth, g.p_one_sided), (0.0, 1.0));
        assert_eq!(g.ci, Interval { lo: 0.0, hi: 0.0 });
        // One item: the interval is the full range.
        let g = gap_growth(&items_with(&[2]), 0.0, 0.95, 0.05);
        assert_eq!(g.ci, Interval { lo: -2.0, hi: 2.0 });
        assert_eq!(g.p_one_sided, 0.5);
        // NaN margin, a margin no growth can exceed, silly confidence levels.
        let many = items_with(&[1; 30]);
        assert_eq!(gap_growth(&many, f64::NAN, 0.95, 0.05).p_one_sided, 1.0);
        assert_eq!(gap_growth(&many, 2.0, 0.95, 0.05).p_one_sided, 1.0);
        let p = gap_growth(&many, 0.1, 0.95, 0.05).p_one_sided;
        assert!(p > 0.0 && p < 1e-3, "{p}");
        let g = gap_growth(&items_with(&[1, -1, 2]), 0.0, 1.0, 0.05);
        assert_eq!(g.ci, Interval { lo: -2.0, hi: 2.0 });
        let g = gap_growth(&items_with(&[1, -1, 2]), 0.0, 0.0, 0.05);
        assert!((g.ci.lo - g.growth).abs() < 1e-15 && g.ci.lo == g.ci.hi);
    }

    #[test]
    fn shifted_test_holds_its_level_at_the_margin() {
        // True growth exactly at a 5 pp tolerance: the candidate gets extra
        // right-to-wrong flips under the context only. The size stays ≤ 0.05
        // (+3 SE); the exact enumerations are in gap_enumeration.rs.
        let margin = 0.05;
        let mut rng = SplitMix64::new(5);
        let runs = 400u32;
        let mut rejections = 0u32;
        let mut growth = 0.0;
        for _ in 0..runs {
            let items: Vec<ItemQuad> = (0..200)
                .map(|_| {
                    let hard = rng.next_f64() * 0.6;
                    let (p_none, p_ctx) = (hard, hard + 0.1);
                    let extra = margin / (1.0 - p_ctx);
                    ItemQuad {
                        base_none: rng.bernoulli(p_none),
                        cand_none: rng.bernoulli(p_none),
                        base_ctx: rng.bernoulli(p_ctx),
                        cand_ctx: rng.bernoulli(p_ctx) || rng.bernoulli(extra),
                    }
                })
                .collect();
            let g = gap_growth(&items, margin, 0.95, 0.05);
            growth += g.growth;
            if g.p_one_sided <= 0.05 {
                rejections += 1;
            }
        }
        let mean_growth = growth / f64::from(runs);
        assert!((mean_growth - margin).abs() < 0.01, "{mean_growth}");
        let rate = f64::from(rejections) / f64::from(runs);
        assert!(
            rate <= 0.05 + 3.0 * (0.05 * 0.95 / 400.0_f64).sqrt(),
            "{rate}"
        );
    }

    #[test]
    fn null_of_exchangeable_models_is_calibrated() {
        // Two identical models: the share of p ≤ 0.05 must be ≤ 0.05 (+3 SE).
        let mut rng = SplitMix64::new(2024);
        let runs = 300;
        let mut rejections = 0;
        for _ in 0..runs {
            let items: Vec<ItemQuad> = (0..60)
                .map(|_| {
                    let hard = rng.next_f64() * 0.6;
                    ItemQuad {
                        base_none: rng.bernoulli(hard),
                        cand_none: rng.bernoulli(hard),
                        base_ctx: rng.bernoulli(hard + 0.1),
                        cand_ctx: rng.bernoulli(hard + 0.1),
                    }
                })
                .collect();
            if gap_growth(&items, 0.0, 0.95, 0.05).p_one_sided <= 0.05 {
                rejections += 1;
            }
        }
        let rate = f64::from(rejections) / f64::from(runs as u32);
        assert!(
            rate <= 0.05 + 3.0 * (0.05 * 0.95 / 300.0_f64).sqrt(),
            "{rate}"
        );
    }

    #[test]
    fn iid_nulls_at_the_margin_hold_the_level() {
        // The issue's cases for the old shifted sign-flip test (size 0.069
        // at 80 items and 2 pp, 0.067 at 30 items and 5 pp), and a null that
        // hides an increase among the ±1 items behind rare d = −2.
        // Distributions of d over −2..=2, mean exactly at the margin.
        let cases: [(usize, f64, [f64; 5]); 3] = [
            (80, 0.02, [0.0, 0.10, 0.78, 0.12, 0.0]),
            (30, 0.05, [0.0, 0.05, 0.85, 0.10, 0.0]),
            (120, 0.03, [0.03, 0.10, 0.68, 0.19, 0.0]),
        ];
        let mut rng = SplitMix64::new(77);
        for (n, margin, f) in cases {
            let mean: f64 = f
                .iter()
                .enumerate()
                .map(|(i, p)| (i as f64 - 2.0) * p)
                .sum();
            assert!((mean - margin).abs() < 1e-12);
            let runs = 400u32;
            let mut rejections = 0u32;
            for _ in 0..runs {
                let d: Vec<i8> = (0..n)
                    .map(|_| {
                        let u = rng.next_f64();
                        let mut acc = 0.0;
                        for (i, p) in f.iter().enumerate() {
                            acc += p;
                            if u < acc {
                                return i as i8 - 2;
                            }
                        }
                        2
                    })
                    .collect();
                if gap_growth(&items_with(&d), margin, 0.95, 0.05).p_one_sided <= 0.05 {
                    rejections += 1;
                }
            }
            let rate = f64::from(rejections) / f64::from(runs);
            eprintln!("n={n} margin={margin}: size {rate}");
            assert!(
                rate <= 0.05 + 3.0 * (0.05 * 0.95 / 400.0_f64).sqrt(),
                "n={n}: {rate}"
            );
        }
    }

    #[test]
    fn tolerance_p_matches_a_brute_force_reference() {
        // scripts/exact_reference.py, section "Gap growth with a tolerance"
        // (scipy 1.17.1, numpy 2.4.6): the same split, every exact p
        // recomputed by brute force (a lower bound of each supremum, so of
        // the minimum too; ours is an upper bound within the grid's slack,
        // here at most 1/w times a cell's).
        let cases = [
            ([1, 4, 17, 7, 1], 0.05, 1.0),
            ([0, 1, 15, 12, 2], 0.05, 0.02875504347886763),
            ([0, 2, 20, 8, 0], 0.03, 0.46381248499270294),
        ];
        for (counts, margin, want) in cases {
            let got = tolerance_p(counts, margin, 0.05);
            assert!(
                got >= want - 1e-9 && got - want < 1e-4,
                "{counts:?}: {got} vs {want}"
            );
            // and the gate's p is at least the sign-flip p
            let p = growth_p(counts, margin, 0.05);
            assert_eq!(p, got.max(sign_flip_exact(counts)));
        }
    }
}
