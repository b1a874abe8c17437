//! Gap growth: does the candidate-minus-baseline gap widen under a context?
//!
//! The study's central finding is an interaction: the warm model's extra
//! errors grow when the user sounds sad. Each item is answered by both models
//! with and without the context, so the interaction can be measured per item
//! as a difference in differences, and tested without any model of how the
//! four outcomes depend on each other.

use super::rng::SplitMix64;
use super::{two_sided_z, Interval};
use statrs::distribution::{ContinuousCDF, StudentsT};

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
    /// One-sided sign-flip permutation p for H0: growth ≤ margin.
    pub p_one_sided: f64,
}

/// Exact enumeration of all `2^k` sign patterns up to this many non-zero
/// terms (about a million patterns); Monte Carlo beyond.
pub const EXACT_SIGN_FLIP_LIMIT: usize = 20;

/// Gap growth under a context versus the no-context condition, per item.
///
/// For item `i`, `d_i = (cand_wrong_ctx − base_wrong_ctx) − (cand_wrong_none −
/// base_wrong_none)`, each term 0 or 1, so `d_i ∈ {−2, …, 2}`; the growth is
/// the mean of `d_i`, equal to `gap_ctx − gap_none`.
///
/// **p-value.** A one-sided sign-flip permutation test (Fisher 1935; the
/// paired permutation test of Good, "Permutation tests", ch. 3) of H0:
/// growth ≤ `margin` against growth > `margin`. The statistic is
/// `T = Σ (d_i − margin)`; its null distribution is obtained by flipping the
/// sign of each `d_i − margin` independently. Why this test: with `margin =
/// 0` it is *exact* under the hypothesis that the two models are
/// exchangeable (relabelling baseline as candidate within an item negates
/// `d_i`), whatever the item difficulties and whatever the dependence
/// between the four outcomes of an item. Items with `d_i − margin = 0` carry
/// no sign and are left out. When at most [`EXACT_SIGN_FLIP_LIMIT`] terms
/// remain, all `2^k` patterns are enumerated and `p = #{T* ≥ T}/2^k`;
/// otherwise `n_perm` patterns are drawn from a [`SplitMix64`] seeded with
/// `seed` and `p = (1 + #{T* ≥ T})/(1 + n_perm)` (the +1 correction of
/// Phipson & Smyth 2010 keeps the Monte-Carlo test valid and p > 0). The
/// same inputs and seed always give the same p.
///
/// With `margin ≠ 0` the values are shifted to `d_i − margin` before
/// flipping, which assumes the `d_i` are symmetric about their mean at the
/// null boundary. That is an approximation (a shifted `d_i` is never 0, so
/// in practice every item is flipped and Monte Carlo is used once `n > 20`);
/// it is the usual way a sign-flip test is turned into a test of a
/// non-zero location. A simulation in the tests (true growth exactly at a
/// 5 pp margin, 200 items) checks that its size stays at the nominal level.
///
/// **Interval.** The Student-t interval `mean ± t_{n−1} · s/√n` for the mean
/// of `d_i`, truncated to [−2, 2]. The `d_i` are bounded, so the central
/// limit theorem applies quickly; the interval is for the report, and the
/// gate is the permutation p. When every `d_i` is equal the sample variance
/// is 0 and the interval collapses to that value; with fewer than two items
/// it is [−2, 2].
///
/// Edge cases: no items gives zero rates, `[−2, 2]` and p = 1; a NaN margin
/// gives p = 1; `n_perm = 0` on the Monte-Carlo path gives p = 1.
pub fn gap_growth(
    items: &[ItemQuad],
    margin: f64,
    conf: f64,
    n_perm: usize,
    seed: u64,
) -> GapGrowth {
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
    let d: Vec<f64> = items.iter().map(|q| f64::from(q.d())).collect();
    let growth = d.iter().sum::<f64>() / nf;
    let p_one_sided = if margin.is_nan() {
        1.0
    } else {
        let shifted: Vec<f64> = d.iter().map(|x| x - margin).collect();
        sign_flip_p(&shifted, EXACT_SIGN_FLIP_LIMIT, n_perm, seed)
    };
    GapGrowth {
        n: n as u64,
        gap_none,
        gap_ctx,
        growth,
        ci: t_interval(&d, conf, full),
        p_one_sided,
    }
}

/// One-sided sign-flip p-value for `T = Σ e_i` (large `T` is evidence):
/// exact when at most `exact_limit` of the `e_i` are non-zero, else `n_perm`
/// seeded random patterns with the +1 correction.
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
        let g = gap_growth(&items_with(&[1, 1, 1, -1, 0]), 0.0, 0.95, 0, 1);
        assert_eq!(g.p_one_sided, 5.0 / 16.0);
        assert_eq!(g.n, 5);
        assert!((g.growth - 0.4).abs() < 1e-15);
        assert!((g.gap_ctx - g.gap_none - g.growth).abs() < 1e-15);
        // d = [2, 1, −1]: T = 2; of the 8 sums ±2 ±1 ±1 (4, 2, 2, 0, 0, −2,
        // −2, −4) three are ≥ 2.
        let g = gap_growth(&items_with(&[2, 1, -1]), 0.0, 0.95, 0, 1);
        assert_eq!(g.p_one_sided, 3.0 / 8.0);
        // The same p from itertools enumeration in scripts/stats_reference.py
        // (0.3125, 0.375), and for a 12-term case: 0.096923828125.
        let d = [1, 2, 1, -1, 1, 0, 0, 1, -2, 1, 1, 2, -1, 1];
        let g = gap_growth(&items_with(&d), 0.0, 0.95, 0, 1);
        assert_eq!(g.p_one_sided, 0.096923828125);
    }

    #[test]
    fn t_interval_matches_scipy() {
        // scipy 1.17.1: stats.t.interval(conf, n − 1, loc=mean, scale=sem(d))
        // (scripts/stats_reference.py, section "t interval").
        let d = [1, 2, 1, -1, 1, 0, 0, 1, -2, 1, 1, 2, -1, 1];
        let g = gap_growth(&items_with(&d), 0.0, 0.95, 0, 1);
        assert!((g.ci.lo - -0.16990188229801795).abs() < 1e-9, "{:?}", g.ci);
        assert!((g.ci.hi - 1.169901882298018).abs() < 1e-9, "{:?}", g.ci);
        let g = gap_growth(&items_with(&[1, 1, 1, -1, 0]), 0.0, 0.90, 0, 1);
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
    fn monte_carlo_path_through_gap_growth_is_reproducible() {
        let mut rng = SplitMix64::new(9);
        let items: Vec<ItemQuad> = (0..300)
            .map(|_| ItemQuad {
                base_none: rng.bernoulli(0.2),
                cand_none: rng.bernoulli(0.25),
                base_ctx: rng.bernoulli(0.2),
                cand_ctx: rng.bernoulli(0.35),
            })
            .collect();
        let a = gap_growth(&items, 0.0, 0.95, 2000, 7);
        let b = gap_growth(&items, 0.0, 0.95, 2000, 7);
        assert_eq!(a, b);
        assert!(a.growth > 0.0 && a.p_one_sided < 0.05, "{a:?}");
        assert!(a.p_one_sided >= 1.0 / 2001.0);
        assert!(a.ci.contains(a.growth));
        // A margin above the observed growth leaves nothing to detect.
        let c = gap_growth(&items, a.growth + 0.05, 0.95, 2000, 7);
        assert!(c.p_one_sided > 0.5, "{c:?}");
    }

    #[test]
    fn edges_do_not_panic() {
        let g = gap_growth(&[], 0.0, 0.95, 100, 1);
        assert_eq!((g.n, g.growth, g.p_one_sided), (0, 0.0, 1.0));
        assert_eq!(g.ci, Interval { lo: -2.0, hi: 2.0 });
        // All items concordant: no signs to flip.
        let g = gap_growth(&items_with(&[0; 50]), 0.0, 0.95, 100, 1);
        assert_eq!((g.growth, g.p_one_sided), (0.0, 1.0));
        assert_eq!(g.ci, Interval { lo: 0.0, hi: 0.0 });
        // One item: the interval is the full range.
        let g = gap_growth(&items_with(&[2]), 0.0, 0.95, 100, 1);
        assert_eq!(g.ci, Interval { lo: -2.0, hi: 2.0 });
        assert_eq!(g.p_one_sided, 0.5);
        // NaN margin, no permutations, silly confidence levels.
        let many = items_with(&[1; 30]);
        assert_eq!(gap_growth(&many, f64::NAN, 0.95, 100, 1).p_one_sided, 1.0);
        assert_eq!(gap_growth(&many, 0.1, 0.95, 0, 1).p_one_sided, 1.0);
        let g = gap_growth(&items_with(&[1, -1, 2]), 0.0, 1.0, 0, 1);
        assert_eq!(g.ci, Interval { lo: -2.0, hi: 2.0 });
        let g = gap_growth(&items_with(&[1, -1, 2]), 0.0, 0.0, 0, 1);
        assert!((g.ci.lo - g.growth).abs() < 1e-15 && g.ci.lo == g.ci.hi);
    }

    #[test]
    fn shifted_test_holds_its_level_at_the_margin() {
        // True growth exactly at a 5 pp tolerance: the candidate gets extra
        // right-to-wrong flips under the context only. The shifted sign-flip
        // test is approximate there; check its size stays ≤ 0.05 (+3 SE).
        let margin = 0.05;
        let mut rng = SplitMix64::new(5);
        let runs = 400u32;
        let mut rejections = 0u32;
        let mut growth = 0.0;
        for run in 0..u64::from(runs) {
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
            let g = gap_growth(&items, margin, 0.95, 499, run);
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
        for run in 0..runs {
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
            if gap_growth(&items, 0.0, 0.95, 500, run).p_one_sided <= 0.05 {
                rejections += 1;
            }
        }
        let rate = f64::from(rejections) / f64::from(runs as u32);
        assert!(
            rate <= 0.05 + 3.0 * (0.05 * 0.95 / 300.0_f64).sqrt(),
            "{rate}"
        );
    }
}
