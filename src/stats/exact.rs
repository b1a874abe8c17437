//! The exact unconditional test of a paired difference against a margin.
//!
//! **Model.** `n` items, each independently in one of three cells: `b` (the
//! first outcome only: a regression), `c` (the second only: an improvement)
//! or concordant, with probabilities `p_b`, `p_c`, `1 − p_b − p_c`. The null
//! hypothesis is `H0: p_b − p_c ≤ Δ₀` for a margin `Δ₀ ∈ (−1, 1)`; the
//! discordance `p_b + p_c` is a nuisance parameter.
//!
//! **Ordering.** Tables are ranked by how large a difference they still show
//! at the level `γ` the p-value will be compared with (for a gate, its
//! Bonferroni level α/k, the level of Holm's first step): `L(b, c)`, the
//! lower limit of the one-sided `1 − γ` score interval of Tango (1998, Stat
//! Med 17:891) — the `Δ` at which Tango's score statistic for `H0: p_b − p_c
//! = Δ` equals `z_{1−γ}`. The rank does not depend on `Δ₀`, which is what
//! makes the p-value monotone in the margin (below), and it is the score
//! test's own ordering: the tables an exact test at `Δ₀` rejects are those
//! whose score interval lies above some `Δ* ≥ Δ₀`, with `Δ*` set so that the
//! size is at most α. Matching `γ` to the level matters for power (ranking
//! at 95 % and testing at 0.5 % loses half the power against a 10 pp
//! increase at 200 items); it does not matter for validity, which holds for
//! any ranking fixed before the data. To guarantee a monotone region
//! whatever the arithmetic of the score statistic, the rank used is the
//! monotone envelope `T(b, c) = max L(b', c')` over `b' ≤ b`, `c' ≥ c` (a
//! table with more regressions or fewer improvements never ranks lower); for
//! Tango's statistic the envelope changes nothing on every table the tests
//! enumerate. Above [`TABLE_LIMIT`] items the ranks are not tabulated (the
//! table grows as `n²`) but computed in closed form from a Wald-type limit
//! `((b − c) − z√(b + c + κ))/n` with `κ = max(1, z²/4)`, which is monotone
//! by construction (each step in `b` moves it by at least `(1 −
//! z/(2√κ))/n ≥ 0`); at those sizes the two rankings give nearly the same
//! power.
//!
//! **p-value.** `p(b, c) = sup P(T(B, C) ≥ T(b, c))` over all `(p_b, p_c)`
//! in the null: the exact unconditional test of Suissa & Shuster (1991,
//! Biometrics 47:361) and, for a margin, Sidik (2003, Stat Med 22:265), with
//! the whole supremum taken (no Berger–Boos restriction). Because the region
//! `R = {T ≥ t}` is monotone, `P(R)` is non-decreasing in `p_b` and
//! non-increasing in `p_c` (couple the cells through one uniform per item:
//! `b` if `U < p_b`, `c` if `U > 1 − p_c`), so the supremum lies on the
//! boundary `p_b = p_c + Δ₀` (Röhmel & Mansmann 1999, Biom J 41:149), a
//! segment `p_c ∈ [max(0, −Δ₀), (1 − Δ₀)/2]`.
//!
//! **Proof-grade supremum.** The segment is covered by a fixed grid of
//! `2^J` cells, uniform in `u` with `p_c = sin²(πu/2)` (finer where the
//! tail probability moves fastest), the same grid for every table and
//! margin. On a cell `[θ₁, θ₂]` every boundary point has `p_b ≤ θ₂ + Δ₀`
//! and `p_c ≥ θ₁`, so by the monotonicity above `P(R) ≤ P_{θ₂+Δ₀, θ₁}(R)`:
//! an exact upper bound for the whole cell, from one evaluation. The
//! p-value is the largest cell bound, found by best-first branch and bound
//! over the dyadic tree of cells (a parent's bound bounds its children), so
//! it is never below the true supremum and exceeds it by at most one cell's
//! slack (about `2√n · 2^−J`, under 1e-4 here and far less in the tails).
//!
//! **Monotone in the margin by construction.** The region does not depend
//! on `Δ₀`; each cell's bound is non-decreasing in `Δ₀`; as `Δ₀` grows,
//! cells leave the segment only at its upper end, and each is then dominated
//! by the new last cell (larger `p_b`, smaller `p_c`). So the maximum over
//! cells can only grow with the margin: loosening a tolerance never lowers
//! the p-value (up to rounding, about 1e-15).
//!
//! **Cost.** `P_{p_b, p_c}(R)` is computed through the discordant count:
//! `m = b + c ~ Binomial(n, p_b + p_c)` and, given `m`, `b ~ Binomial(m,
//! p_b/(p_b + p_c))`; the region is a threshold `b ≥ k_m` on each `m`, and
//! the thresholds step by 0 or 1, so the conditional tails follow from one
//! another by a two-term recursion, over only the `m` that carry
//! probability (the neglected binomial mass is bounded and added). One
//! evaluation costs a few microseconds at `n = 1000`; the ranks are computed
//! once per `n` and cached.

use super::normal_quantile;
use statrs::function::gamma::ln_gamma;
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, OnceLock};

/// Above this many items the ranks are computed in closed form rather
/// than tabulated (see the module documentation).
pub(crate) const TABLE_LIMIT: usize = 3000;

/// Above this many items the test is not computed exactly (the threshold
/// vector and the factorial table grow with `n`); see
/// [`unconditional_p`].
pub(crate) const EXACT_LIMIT: usize = 2_000_000;

/// Binomial weights below this are outside the summation window; the mass
/// left out is bounded by twice this on each side and added to the result.
const TINY: f64 = 1e-20;

/// Added to every evaluated bound for floating-point rounding (the sums
/// have a relative error of about `n · 2⁻⁵³`).
fn rounding(x: f64) -> f64 {
    x * 1e-12 + 4.0 * TINY
}

/// Ranks `T(b, c)` of every table with `n` items at one ordering level,
/// and `ln k!` for `k ≤ n`.
pub(crate) struct Ranks {
    n: usize,
    /// The score quantile `z_{1−γ}` of the ordering level.
    z: f64,
    source: Source,
    ln_fact: Vec<f64>,
}

enum Source {
    /// `T(b, c)` at `offset(b) + c`, for `b + c ≤ n`.
    Table(Vec<f32>),
    /// The closed-form Wald-type limit with this `κ`.
    Closed(f64),
}

impl Ranks {
    fn offset(&self, b: usize) -> usize {
        b * (self.n + 1) - b * b.saturating_sub(1) / 2
    }

    /// The rank of table `(b, c)`; `b + c ≤ n`.
    pub(crate) fn rank(&self, b: usize, c: usize) -> f32 {
        match &self.source {
            Source::Table(t) => t[self.offset(b) + c],
            Source::Closed(kappa) => {
                (((b as f64 - c as f64) - self.z * ((b + c) as f64 + kappa).sqrt()) / self.n as f64)
                    as f32
            }
        }
    }

    fn build(n: usize, z: f64) -> Self {
        let ln_fact = (0..=n).map(|k| ln_gamma(k as f64 + 1.0)).collect();
        if n > TABLE_LIMIT {
            let kappa = (z * z / 4.0).max(1.0);
            return Ranks {
                n,
                z,
                source: Source::Closed(kappa),
                ln_fact,
            };
        }
        let mut r = Ranks {
            n,
            z,
            source: Source::Table(Vec::new()),
            ln_fact,
        };
        let mut t = vec![0.0_f32; (n + 1) * (n + 2) / 2];
        for b in 0..=n {
            let row = r.offset(b);
            let above = if b > 0 { Some(r.offset(b - 1)) } else { None };
            // c descending, so T(b, c + 1) is ready when T(b, c) is computed.
            for c in (0..=n - b).rev() {
                let mut v = score_lower_limit(b as u64, c as u64, n as u64, z) as f32;
                if let Some(above) = above {
                    v = v.max(t[above + c]);
                }
                if b + c < n {
                    v = v.max(t[row + c + 1]);
                }
                t[row + c] = v;
            }
        }
        r.source = Source::Table(t);
        r
    }

    fn size(&self) -> usize {
        let table = match &self.source {
            Source::Table(t) => t.len(),
            Source::Closed(_) => 0,
        };
        table + self.ln_fact.len()
    }

    /// For each discordant count `m`, the smallest `b` with `T(b, m − b) ≥
    /// t` (`m + 1` if none): the region `{T ≥ t}` as thresholds. Because
    /// `T` never decreases when `b` grows or `c` shrinks, the thresholds
    /// never decrease in `m` and grow by at most 1 per step.
    pub(crate) fn thresholds(&self, t: f32) -> Vec<usize> {
        (0..=self.n)
            .map(|m| {
                // Binary search on b in 0..=m: rank(b, m − b) is non-decreasing.
                let (mut lo, mut hi) = (0usize, m + 1);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if self.rank(mid, m - mid) >= t {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lo
            })
            .collect()
    }

    fn ln_choose(&self, m: usize, j: usize) -> f64 {
        self.ln_fact[m] - self.ln_fact[j] - self.ln_fact[m - j]
    }
}

/// Whether Tango's score statistic for `H0: p_b − p_c = delta` is at least
/// `z` (an infinite statistic counts by its sign, an undefined one as not).
fn score_at_least(b: u64, c: u64, n: u64, delta: f64, z: f64) -> bool {
    let (bf, cf, nf) = (b as f64, c as f64, n as f64);
    let num = bf - cf - nf * delta;
    let var = nf * (2.0 * super::paired::tango_q(b, c, n, delta) + delta * (1.0 - delta));
    if var > 0.0 {
        num / var.sqrt() >= z
    } else {
        num > 0.0
    }
}

/// `L(b, c)`: the margin at which the score statistic crosses `z`, by
/// bisection on (−1, 1) (−1 or 1 if it never does). Tango's statistic is
/// decreasing in the margin, so this is the lower limit of the one-sided
/// score interval; the bisection is a deterministic function of the table
/// either way, which is all the test's validity needs.
pub(crate) fn score_lower_limit(b: u64, c: u64, n: u64, z: f64) -> f64 {
    let (mut lo, mut hi) = (-1.0_f64, 1.0_f64);
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if score_at_least(b, c, n, mid, z) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Cached ranks, most recently built last; at most [`CACHE_ENTRIES`]
/// numbers in all (about 64 MB).
static CACHE: OnceLock<Mutex<Vec<Arc<Ranks>>>> = OnceLock::new();
const CACHE_ENTRIES: usize = 16 << 20;

/// The score quantile for an ordering level (clamped to a sensible range:
/// a NaN or out-of-range level ranks as at 5 %).
pub(crate) fn order_z(level: f64) -> f64 {
    let level = if level > 0.0 && level < 1.0 {
        level.clamp(1e-12, 0.5)
    } else {
        0.05
    };
    normal_quantile(1.0 - level)
}

/// The ranks for `n` items at ordering level `level` (built once, then
/// shared).
pub(crate) fn ranks(n: usize, level: f64) -> Arc<Ranks> {
    let z = order_z(level);
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut held = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = held.iter().find(|r| r.n == n && r.z == z) {
        return r.clone();
    }
    let r = Arc::new(Ranks::build(n, z));
    held.push(r.clone());
    let mut total: usize = held.iter().map(|r| r.size()).sum();
    while total > CACHE_ENTRIES && held.len() > 1 {
        total -= held.remove(0).size();
    }
    r
}

/// `P(X ≥ k)` for `X ~ Binomial(m, pi)`, `0 < pi < 1`, summing the terms
/// of the smaller side from the threshold outwards.
fn upper_tail(r: &Ranks, m: usize, k: usize, pi: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > m {
        return 0.0;
    }
    let (lp, lq) = (pi.ln(), (-pi).ln_1p());
    let pmf = |j: usize| (r.ln_choose(m, j) + j as f64 * lp + (m - j) as f64 * lq).exp();
    let odds = pi / (1.0 - pi);
    let mode = ((m + 1) as f64 * pi).floor() as usize;
    if k > mode {
        // Terms decrease from j = k upwards.
        let mut term = pmf(k);
        let mut sum = term;
        let mut j = k;
        while j < m && term > sum * 1e-18 {
            term *= (m - j) as f64 / (j + 1) as f64 * odds;
            sum += term;
            j += 1;
        }
        sum.min(1.0)
    } else {
        // 1 − P(X ≤ k − 1); terms decrease from j = k − 1 downwards.
        let mut j = k - 1;
        let mut term = pmf(j);
        let mut sum = term;
        while j > 0 && term > sum * 1e-18 {
            term *= j as f64 / (m - j + 1) as f64 / odds;
            sum += term;
            j -= 1;
        }
        (1.0 - sum).clamp(0.0, 1.0)
    }
}

/// `P_{pb, pc}(b ≥ k_m)`: the probability of the region given by
/// thresholds `k` (see [`Ranks::thresholds`]) when the cells have
/// probabilities `pb` and `pc`, plus a bound on what the window leaves out
/// and on rounding: never below the exact value.
pub(crate) fn region_probability(r: &Ranks, k: &[usize], pb: f64, pc: f64) -> f64 {
    let n = r.n;
    let (pb, pc) = (pb.clamp(0.0, 1.0), pc.clamp(0.0, 1.0));
    let psi = (pb + pc).min(1.0);
    // The conditional tail for a given m, in the degenerate cases.
    let degenerate = |m: usize| -> Option<f64> {
        if pc <= 0.0 {
            Some(f64::from(u8::from(k[m] <= m)))
        } else if pb <= 0.0 {
            Some(f64::from(u8::from(k[m] == 0)))
        } else {
            None
        }
    };
    if psi <= 0.0 {
        return f64::from(u8::from(k[0] == 0));
    }
    let pi = (pb / psi).min(1.0);
    if psi >= 1.0 {
        let s = degenerate(n).unwrap_or_else(|| upper_tail(r, n, k[n], pi));
        return (s + rounding(s)).min(1.0);
    }
    // The window of m around the mode of Binomial(n, psi).
    let (lpsi, lqpsi) = (psi.ln(), (-psi).ln_1p());
    let weight = |m: usize| (r.ln_choose(n, m) + m as f64 * lpsi + (n - m) as f64 * lqpsi).exp();
    let odds = psi / (1.0 - psi);
    let mode = (((n + 1) as f64 * psi).floor() as usize).min(n);
    let mut hi = mode;
    {
        let mut f = weight(mode);
        while hi < n {
            let ratio = (n - hi) as f64 / (hi + 1) as f64 * odds;
            if f < TINY && ratio < 0.5 {
                break;
            }
            f *= ratio;
            hi += 1;
        }
    }
    let mut lo = mode;
    {
        let mut f = weight(mode);
        while lo > 0 {
            let ratio = lo as f64 / (n - lo + 1) as f64 / odds;
            if f < TINY && ratio < 0.5 {
                break;
            }
            f *= ratio;
            lo -= 1;
        }
    }
    let mut total = 0.0;
    if pc <= 0.0 || pb <= 0.0 {
        let mut f = weight(lo);
        for m in lo..=hi {
            if m > lo {
                f *= (n - m + 1) as f64 / m as f64 * odds;
            }
            total += f * degenerate(m).unwrap_or(0.0);
        }
        return (total + rounding(total)).min(1.0);
    }
    let (lp, lq) = (pi.ln(), (-pi).ln_1p());
    let pmf = |m: usize, j: usize| -> f64 {
        if j > m {
            0.0
        } else {
            (r.ln_choose(m, j) + j as f64 * lp + (m - j) as f64 * lq).exp()
        }
    };
    let mut f = weight(lo);
    let mut s = upper_tail(r, lo, k[lo], pi);
    for m in lo..=hi {
        if m > lo {
            f *= (n - m + 1) as f64 / m as f64 * odds;
        }
        total += f * s;
        if m < hi {
            // S_{m+1} from S_m: X_{m+1} = X_m + Bernoulli(pi).
            s = if k[m + 1] == k[m] {
                if k[m] == 0 {
                    1.0
                } else {
                    s + pi * pmf(m, k[m] - 1)
                }
            } else {
                s - (1.0 - pi) * pmf(m, k[m])
            }
            .clamp(0.0, 1.0);
        }
    }
    (total + rounding(total)).min(1.0)
}

/// Depth of the fixed grid of cells on the null boundary for `n` items:
/// `2^J` cells, with `2^−J ≈ 1/(2·10⁴ √n)`, so a cell's slack stays near
/// 1e-4 at the steepest and far below that in the tails.
fn grid_depth(n: usize) -> u32 {
    ((n.max(1) as f64).sqrt() * 2e4)
        .log2()
        .ceil()
        .clamp(14.0, 24.0) as u32
}

/// The grid's map from `u ∈ [0, 1]` to `p_c ∈ [0, 1]`.
fn grid_point(u: f64) -> f64 {
    let s = (0.5 * std::f64::consts::PI * u).sin();
    (s * s).clamp(0.0, 1.0)
}

#[derive(PartialEq)]
struct Cell {
    bound: f64,
    depth: u32,
    index: u64,
}

impl Eq for Cell {}

impl PartialOrd for Cell {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cell {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        // Largest bound first; on ties the deeper cell (a leaf sooner).
        self.bound
            .total_cmp(&other.bound)
            .then(self.depth.cmp(&other.depth))
            .then(other.index.cmp(&self.index))
    }
}

/// The exact unconditional one-sided p-value for `H0: p_b − p_c ≤ margin`
/// on a table with `b` regressions and `c` improvements among `n` items,
/// ranking tables at ordering level `level` (see the module
/// documentation). Margins of 1 or more give 1; margins of −1 or less give
/// 1 if every item is an improvement (the only table the null allows) and 0
/// otherwise. Above [`EXACT_LIMIT`] items the asymptotic score test is
/// used (every binomial there is normal to far better than a gate
/// resolves).
pub(crate) fn unconditional_p(b: u64, c: u64, n: u64, margin: f64, level: f64) -> f64 {
    if n == 0 || b.saturating_add(c) > n || margin.is_nan() || margin >= 1.0 {
        return 1.0;
    }
    if margin <= -1.0 {
        return if c == n { 1.0 } else { 0.0 };
    }
    let (Ok(nu), Ok(bu), Ok(cu)) = (usize::try_from(n), usize::try_from(b), usize::try_from(c))
    else {
        return 1.0;
    };
    if nu > EXACT_LIMIT {
        return match super::paired::tango_z(b, c, n, margin) {
            Some(z) => super::normal_sf(z).clamp(0.0, 1.0),
            None => 1.0,
        };
    }
    let r = ranks(nu, level);
    let k = r.thresholds(r.rank(bu, cu));
    sup_over_boundary(&r, &k, margin)
}

/// The smallest rank `t` (among all `f32`) whose region `{T ≥ t}` has an
/// exact unconditional p below `alpha` at `margin`, ranking at `level`; `None`
/// if no region does. Found by bisection over the ordered `f32` values (the
/// p falls as `t` rises), so every table of rank at least `t` is rejected and
/// every other one is not.
pub(crate) fn critical_rank(r: &Ranks, margin: f64, alpha: f64) -> Option<f32> {
    // f32 ↔ u32 keys in the order of the floats.
    let key = |x: f32| {
        let b = x.to_bits();
        if b >> 31 == 1 {
            !b
        } else {
            b | 0x8000_0000
        }
    };
    let value = |k: u32| f32::from_bits(if k >> 31 == 1 { k & 0x7fff_ffff } else { !k });
    let rejects = |k: u32| sup_over_boundary(r, &r.thresholds(value(k)), margin) < alpha;
    let (mut lo, mut hi) = (key(-1.0), key(1.0));
    if !rejects(hi) {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if rejects(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(value(lo))
}

/// The largest cell bound of the fixed grid on the boundary `p_b = p_c +
/// margin` for the region `k` (best-first branch and bound).
pub(crate) fn sup_over_boundary(r: &Ranks, k: &[usize], margin: f64) -> f64 {
    let lo = (-margin).max(0.0);
    let hi = 0.5 * (1.0 - margin);
    let depth = grid_depth(r.n);
    let bound = |d: u32, i: u64| -> Option<f64> {
        let scale = (1u64 << d) as f64;
        let (t1, t2) = (
            grid_point(i as f64 / scale),
            grid_point((i + 1) as f64 / scale),
        );
        if t1 > hi || t2 < lo {
            return None;
        }
        let pc = t1.max(lo);
        let pb = t2.min(hi) + margin;
        Some(region_probability(r, k, pb.max(0.0), pc))
    };
    let mut heap = BinaryHeap::new();
    if let Some(b) = bound(0, 0) {
        heap.push(Cell {
            bound: b,
            depth: 0,
            index: 0,
        });
    }
    while let Some(cell) = heap.pop() {
        if cell.depth == depth {
            return cell.bound.min(1.0);
        }
        for child in [2 * cell.index, 2 * cell.index + 1] {
            if let Some(b) = bound(cell.depth + 1, child) {
                heap.push(Cell {
                    bound: b,
                    depth: cell.depth + 1,
                    index: child,
                });
            }
        }
    }
    1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_brute_force_reference() {
        // scripts/exact_reference.py (scipy 1.17.1, numpy 2.4.6): the same
        // ordering, every table's probability summed with scipy, the
        // supremum over a grid of 4001 boundary points refined by
        // scipy.optimize.minimize_scalar. A search can only find a value at
        // or below the supremum; ours is an upper bound within a cell's
        // slack of it.
        let cases = [
            ((24, 6, 1), 0.0, 0.05, 0.03669904676188379),
            ((24, 6, 1), 0.01, 0.05, 0.043481216937988384),
            ((24, 6, 1), 0.02, 0.05, 0.05205042913324329),
            ((100, 4, 0), 0.0, 0.05, 0.044313040057033175),
            ((100, 4, 0), 0.01, 0.05, 0.05981948821654558),
            ((5, 3, 0), 0.0, 0.05, 0.06634936569619021),
            ((5, 3, 0), 0.01, 0.05, 0.06973385016445616),
            ((24, 9, 1), 0.03, 0.05, 0.016441488303191344),
            ((60, 14, 2), 0.05, 0.01, 0.01139789197409045),
            ((200, 30, 10), 0.03, 0.05, 0.027805829166235044),
            ((200, 30, 10), 0.03, 0.05 / 21.0, 0.04101115633394614),
            ((200, 45, 10), 0.05, 0.05 / 21.0, 0.000724957294723377),
        ];
        for ((n, b, c), margin, level, want) in cases {
            let got = unconditional_p(b, c, n, margin, level);
            assert!(
                got >= want - 1e-9 && got - want < 2e-5,
                "n={n} b={b} c={c} margin={margin} level={level}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn ranks_are_monotone_and_are_the_score_limits() {
        // The envelope never has to act for Tango's statistic: T = L.
        for (n, level) in [(1, 0.05), (7, 0.05), (40, 0.01), (120, 0.05 / 21.0)] {
            let r = ranks(n, level);
            let z = order_z(level);
            for b in 0..=n {
                for c in 0..=n - b {
                    let t = r.rank(b, c);
                    let l = score_lower_limit(b as u64, c as u64, n as u64, z) as f32;
                    assert_eq!(t, l, "n={n} b={b} c={c}");
                    if b + c < n {
                        assert!(r.rank(b + 1, c) >= t && r.rank(b, c + 1) <= t);
                    }
                }
            }
            // Thresholds never decrease and step by at most one.
            let k = r.thresholds(r.rank(n / 3, n / 10));
            for m in 1..=n {
                assert!(k[m] == k[m - 1] || k[m] == k[m - 1] + 1, "n={n} m={m}");
            }
        }
        // The closed form above the table limit is monotone too.
        let r = ranks(TABLE_LIMIT + 1, 0.05);
        for (b, c) in [(0, 0), (10, 3), (500, 499), (1500, 1500)] {
            assert!(r.rank(b + 1, c) > r.rank(b, c) && r.rank(b, c + 1) < r.rank(b, c));
        }
    }

    #[test]
    fn score_limit_inverts_the_published_interval() {
        // Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. (2012):
        // b = 6, c = 16, n = 161, Tango 95% interval −0.1240 to −0.0054; the
        // one-sided 97.5% lower limit is the interval's lower end.
        let z = order_z(0.025);
        assert_eq!(
            format!("{:.4}", score_lower_limit(6, 16, 161, z)),
            "-0.1240"
        );
        // and the upper end, by symmetry (swap the cells, negate).
        assert_eq!(
            format!("{:.4}", -score_lower_limit(16, 6, 161, z)),
            "-0.0054"
        );
    }

    #[test]
    fn region_probability_is_an_upper_bound_of_the_direct_sum() {
        // Direct summation over every table in the region, from ln Γ.
        for (n, b, c) in [(12usize, 4usize, 1usize), (90, 20, 6), (400, 60, 30)] {
            let r = ranks(n, 0.05);
            let t = r.rank(b, c);
            let k = r.thresholds(t);
            for (pb, pc) in [
                (0.2, 0.1),
                (0.05, 0.05),
                (0.6, 0.3),
                (0.0, 0.4),
                (0.3, 0.0),
                (1e-4, 2e-4),
            ] {
                let mut direct = 0.0;
                for bb in 0..=n {
                    for cc in 0..=n - bb {
                        if r.rank(bb, cc) >= t {
                            let rest = n - bb - cc;
                            let term =
                                |k: usize, p: f64| if k == 0 { 0.0 } else { k as f64 * p.ln() };
                            direct += (ln_gamma(n as f64 + 1.0)
                                - ln_gamma(bb as f64 + 1.0)
                                - ln_gamma(cc as f64 + 1.0)
                                - ln_gamma(rest as f64 + 1.0)
                                + term(bb, pb)
                                + term(cc, pc)
                                + term(rest, 1.0 - pb - pc))
                            .exp();
                        }
                    }
                }
                let got = region_probability(&r, &k, pb, pc);
                // (the direct sum itself rounds: it can pass 1 by 1e-13)
                let direct = direct.min(1.0);
                assert!(
                    got >= direct - 1e-13 && got - direct <= 1e-11 + 1e-11 * direct,
                    "n={n} ({pb}, {pc}): {got} vs {direct}"
                );
            }
        }
    }

    #[test]
    fn edges() {
        assert_eq!(unconditional_p(0, 0, 0, 0.05, 0.05), 1.0);
        assert_eq!(unconditional_p(3, 3, 5, 0.05, 0.05), 1.0); // b + c > n
        assert_eq!(unconditional_p(3, 0, 5, f64::NAN, 0.05), 1.0);
        assert_eq!(unconditional_p(3, 0, 5, 1.0, 0.05), 1.0);
        assert_eq!(unconditional_p(0, 5, 5, -1.0, 0.05), 1.0);
        assert_eq!(unconditional_p(0, 4, 5, -1.0, 0.05), 0.0);
        // A silly ordering level ranks as at 5 %.
        assert_eq!(
            unconditional_p(6, 1, 24, 0.02, f64::NAN),
            unconditional_p(6, 1, 24, 0.02, 0.05)
        );
        // Nothing observed: no evidence.
        assert!(unconditional_p(0, 0, 50, 0.02, 0.05) > 0.99);
        // Every item a regression: strong evidence, but never 0.
        let p = unconditional_p(50, 0, 50, 0.02, 0.05);
        assert!(p > 0.0 && p < 1e-12, "{p}");
        // Negative margins (not used by gates) stay valid and monotone.
        let (a, b) = (
            unconditional_p(8, 2, 40, -0.05, 0.05),
            unconditional_p(8, 2, 40, 0.0, 0.05),
        );
        assert!(a <= b && a > 0.0);
    }
}
