//! What a gate costs: how often it fails a candidate that did not change.
//!
//! A gate with few items fails an unchanged model often when it asks for
//! evidence of *no* harm (a non-inferiority bound), and almost never when it
//! asks for evidence of harm (a test at level α). `candor check` prints this
//! probability next to each gate's minimum detectable effect, under the same
//! assumption: the two models disagree on a given share of items (the
//! discordance), half each way.
//!
//! Both functions sum the exact probabilities of the tables that fail the
//! gate (no simulation): the paired table of an unchanged pair is
//! multinomial with `P(b) = P(c) = ψ/2`.

use super::exact::{critical_rank, ranks};
use super::{mcnemar_exact_one_sided, newcombe_paired, PairedTable};
use statrs::function::gamma::ln_gamma;

/// Binomial weights below this are left out of the sums (the mass left out
/// is far below anything printed).
const TINY: f64 = 1e-15;

/// `ln C(n, k) + k ln p + (n − k) ln(1 − p)`, with the conventions at `p ∈
/// {0, 1}`.
fn ln_binom(n: u64, k: u64, p: f64) -> f64 {
    let (nf, kf) = (n as f64, k as f64);
    let mut v = ln_gamma(nf + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(nf - kf + 1.0);
    if k > 0 {
        v += kf * p.ln();
    }
    if k < n {
        v += (nf - kf) * (-p).ln_1p();
    }
    v
}

/// The `k` of `Binomial(n, p)` with weight above [`TINY`] (an interval
/// around the mode).
fn window(n: u64, p: f64) -> impl Iterator<Item = (u64, f64)> {
    let mode = (((n + 1) as f64) * p).floor().min(n as f64) as u64;
    let w = move |k: u64| ln_binom(n, k, p).exp();
    let mut lo = mode;
    while lo > 0 && w(lo - 1) > TINY {
        lo -= 1;
    }
    let mut hi = mode;
    while hi < n && w(hi + 1) > TINY {
        hi += 1;
    }
    (lo..=hi).map(move |k| (k, w(k)))
}

/// The probability that an unchanged pair fails a `max_error_increase` (or
/// `max_sycophancy_increase`) gate with this tolerance on `n` items, when
/// its p is compared with `level` (for a gate in a family of `k`, the
/// Bonferroni level `α/k`: Holm's first step, the level of the gate that
/// fails first) and the models disagree on a share `discordance` of items.
///
/// The gate fails when the observed increase exceeds the tolerance and
/// [`paired_p_value`](super::paired_p_value) (ranked at `level`) is below
/// `level`; for each number of discordant items those are the tables with
/// enough regressions, so the sum is over `m` of `P(m discordant)` times a
/// binomial(½) tail. By the test's guarantee the result is at most `level`.
pub fn error_gate_false_failure(n: u64, tolerance: f64, level: f64, discordance: f64) -> f64 {
    if n == 0 || !(level > 0.0 && level < 1.0) || tolerance.is_nan() {
        return 0.0;
    }
    let psi = discordance.clamp(0.0, 1.0);
    let Ok(nu) = usize::try_from(n) else {
        return 0.0;
    };
    let exact = (tolerance > 0.0).then(|| {
        let r = ranks(nu, level);
        critical_rank(&r, tolerance, level).map(|t| r.thresholds(t))
    });
    let mut total = 0.0;
    for (m, weight) in window(n, psi) {
        let mu = m as usize;
        // The smallest b that fails: every condition is monotone in b.
        let fails = |b: u64| {
            let t = PairedTable {
                both_right: n - m,
                b,
                c: m - b,
                both_wrong: 0,
            };
            let significant = mcnemar_exact_one_sided(b, m - b) < level
                && match &exact {
                    None => true,
                    Some(None) => false,
                    Some(Some(k)) => b as usize >= k[mu],
                };
            t.diff() > tolerance && significant
        };
        let (mut lo, mut hi) = (0u64, m + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if fails(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let tail = match lo {
            0 => 1.0,
            k if k > m => 0.0,
            k => mcnemar_exact_one_sided(k, m - k),
        };
        total += weight * tail;
    }
    total.clamp(0.0, 1.0)
}

/// The error rates over which [`non_inferiority_false_failure`] takes its
/// largest value (the interval's width depends on how the agreeing items
/// split between both right and both wrong).
pub const ERROR_RATES: [f64; 5] = [0.1, 0.2, 0.3, 0.4, 0.5];

/// The probability that an unchanged pair fails a `non_inferiority` gate
/// (the upper end of the Newcombe interval at `confidence` reaches
/// `margin`) on `n` items, when the models disagree on a share
/// `discordance` of items: the largest over [`ERROR_RATES`] (each model's
/// error rate; rates below half the discordance are skipped).
pub fn non_inferiority_false_failure(
    n: u64,
    margin: f64,
    confidence: f64,
    discordance: f64,
) -> f64 {
    if n == 0 {
        return 1.0;
    }
    ERROR_RATES
        .iter()
        .map(|&rate| non_inferiority_false_failure_at(n, margin, confidence, discordance, rate))
        .fold(0.0, f64::max)
}

/// [`non_inferiority_false_failure`] at one error rate (0 if the rate is
/// below half the discordance or leaves no room for it).
pub(crate) fn non_inferiority_false_failure_at(
    n: u64,
    margin: f64,
    confidence: f64,
    discordance: f64,
    rate: f64,
) -> f64 {
    let psi = discordance.clamp(0.0, 1.0);
    let both_wrong = rate - psi / 2.0;
    if both_wrong < 0.0 || both_wrong > 1.0 - psi {
        return 0.0;
    }
    // Given the concordant count, both-wrong items are binomial.
    let q = if psi < 1.0 {
        both_wrong / (1.0 - psi)
    } else {
        0.0
    };
    let mut total = 0.0;
    for (m, wm) in window(n, psi) {
        for (b, wb) in window(m, 0.5) {
            for (w, ww) in window(n - m, q) {
                let t = PairedTable {
                    both_right: n - m - w,
                    b,
                    c: m - b,
                    both_wrong: w,
                };
                if newcombe_paired(&t, confidence).hi >= margin {
                    total += wm * wb * ww;
                }
            }
        }
    }
    total.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::paired_p_value;
    use crate::stats::rng::SplitMix64;

    /// The same probability by brute force: every table's p-value.
    fn brute_force(n: u64, tolerance: f64, level: f64, psi: f64) -> f64 {
        let mut total = 0.0;
        for b in 0..=n {
            for c in 0..=n - b {
                let t = PairedTable {
                    both_right: n - b - c,
                    b,
                    c,
                    both_wrong: 0,
                };
                if t.diff() > tolerance && paired_p_value(&t, tolerance, level) < level {
                    let lp = ln_gamma(n as f64 + 1.0)
                        - ln_gamma(b as f64 + 1.0)
                        - ln_gamma(c as f64 + 1.0)
                        - ln_gamma((n - b - c) as f64 + 1.0)
                        + (b + c) as f64 * (psi / 2.0).ln()
                        + (n - b - c) as f64 * (1.0 - psi).ln();
                    total += lp.exp();
                }
            }
        }
        total
    }

    #[test]
    fn error_gate_matches_every_table_and_stays_below_its_level() {
        for (n, tol, level) in [
            (20, 0.0, 0.05),
            (30, 0.03, 0.05),
            (40, 0.05, 0.01),
            (25, 0.1, 0.05),
        ] {
            let got = error_gate_false_failure(n, tol, level, 0.2);
            let want = brute_force(n, tol, level, 0.2);
            assert!(
                (got - want).abs() < 1e-12,
                "n={n} tol={tol}: {got} vs {want}"
            );
            assert!(got <= level);
        }
        // Larger suites: still at most the level, and near it without a
        // tolerance (McNemar is discrete, so below).
        let p = error_gate_false_failure(200, 0.0, 0.05, 0.2);
        assert!(p > 0.03 && p <= 0.05, "{p}");
        let p = error_gate_false_failure(200, 0.03, 0.05 / 21.0, 0.2);
        assert!(p < 0.05 / 21.0, "{p}");
        assert_eq!(error_gate_false_failure(0, 0.0, 0.05, 0.2), 0.0);
    }

    #[test]
    fn non_inferiority_matches_a_simulation() {
        // 40 items, a 15 pp margin: the gate the issue saw fail an
        // unchanged pair. Simulate at a 40% error rate and compare with the
        // exact sum at that rate (the function's maximum is at least it).
        let (n, margin, psi, rate) = (40u64, 0.15, 0.2, 0.4);
        let mut rng = SplitMix64::new(3);
        let runs = 20_000;
        let mut fails = 0;
        for _ in 0..runs {
            let mut t = PairedTable::default();
            for _ in 0..n {
                let u = rng.next_f64();
                if u < psi / 2.0 {
                    t.b += 1;
                } else if u < psi {
                    t.c += 1;
                } else if u < psi + (rate - psi / 2.0) {
                    t.both_wrong += 1;
                } else {
                    t.both_right += 1;
                }
            }
            fails += u32::from(newcombe_paired(&t, 0.95).hi >= margin);
        }
        let simulated = f64::from(fails) / f64::from(runs);
        let exact = non_inferiority_false_failure_at(n, margin, 0.95, psi, rate);
        let se = (simulated * (1.0 - simulated) / f64::from(runs)).sqrt();
        assert!(
            (exact - simulated).abs() < 4.0 * se,
            "{exact} vs {simulated}"
        );
        let worst = non_inferiority_false_failure(n, margin, 0.95, psi);
        assert!(worst >= exact);
        eprintln!("40 items, 15 pp margin: {exact} at a 40% error rate, {worst} at worst");
        assert!(
            worst > 0.2,
            "a 40-item, 15 pp gate fails an unchanged pair often: {worst}"
        );
        // More items, a cheaper gate.
        assert!(non_inferiority_false_failure(400, margin, 0.95, psi) < 0.01);
        assert_eq!(non_inferiority_false_failure(0, margin, 0.95, psi), 1.0);
    }
}
