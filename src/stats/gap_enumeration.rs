//! Exhaustive checks of gap growth's test with a tolerance
//! ([`gap_growth`](super::gap_growth) through `growth_p`).
//!
//! For a three-valued per-item difference (`d ∈ {−1, 0, 1}`, the common
//! case), for every table of `n = 1..=100` items, at margins of 0, 0.5, 1,
//! 2, 3, 5, 10 and 20 pp and levels 0.05 and 0.01: the gate's rejection
//! region `{p ≤ α}` shrinks as the margin grows, and has probability at
//! most α at every point of a fine grid on the null boundary `P(d = 1) −
//! P(d = −1) = Δ₀`. The p-value of every table with at most 10 items, and
//! of the critical tables of larger ones, never falls as the margin grows.
//! For the full five-valued difference, every table of 4 and 6 items at
//! every margin, with the size on a grid over the whole null (at margin 0,
//! the null of exchangeable models: `d` symmetric about 0).
//!
//! With `d` three-valued the part of the test for `|d| = 2` sees an empty
//! table, so its p depends on `n` only, and the region is that of the
//! exact paired test of `e = d` at the margin plus the split the empty part
//! allows; it is found here by bisection over the ranks, as in
//! `exact_enumeration`, and checked against the public p-value at its edge.

use super::exact::{ranks, sup_over_boundary, unconditional_p};
use super::exact_enumeration::{
    in_parallel, region_size, report, thresholds_of, ALPHAS, GRID, MARGINS,
};
use super::interaction::{growth_p, split_point, DOUBLE_FLIP_SHARE, SPLIT_GRID};
use super::mcnemar_exact_one_sided;
use statrs::function::gamma::ln_gamma;

const W: f64 = DOUBLE_FLIP_SHARE;

fn counts3(n: usize, b: usize, c: usize) -> [u64; 5] {
    [0, c as u64, (n - b - c) as u64, b as u64, 0]
}

/// The gate's region for three-valued tables at one margin and level, as
/// thresholds in the number of `d = 1` per discordant count.
fn region(n: usize, alpha: f64, margin: f64) -> Vec<usize> {
    let mcnemar = thresholds_of(n, |b, c| {
        mcnemar_exact_one_sided(b as u64, c as u64) <= alpha
    });
    if margin == 0.0 {
        return mcnemar;
    }
    // The first split at which the empty |d| = 2 part passes at wα.
    let part = |i: usize| unconditional_p(0, 0, n as u64, -split_point(i), W * alpha);
    let (mut lo, mut hi) = (0usize, SPLIT_GRID + 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if part(mid) <= W * alpha {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if lo > SPLIT_GRID {
        return (0..=n).map(|m| m + 1).collect();
    }
    let shifted = margin + split_point(lo);
    let level = (1.0 - W) * alpha;
    let r = ranks(n, level);
    let mut distinct: Vec<f32> = (0..=n)
        .flat_map(|b| (0..=n - b).map(move |c| (b, c)))
        .map(|(b, c)| r.rank(b, c))
        .collect();
    distinct.sort_by(|a, b| b.total_cmp(a));
    distinct.dedup();
    let p_at = |i: usize| sup_over_boundary(&r, &r.thresholds(distinct[i]), shifted);
    let (mut lo, mut hi) = (0usize, distinct.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if p_at(mid) <= level {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let exact: Vec<usize> = if lo == 0 {
        (0..=n).map(|m| m + 1).collect()
    } else {
        r.thresholds(distinct[lo - 1])
    };
    mcnemar
        .iter()
        .zip(&exact)
        .enumerate()
        .map(|(m, (&a, &b))| a.max(b).min(m + 1))
        .collect()
}

fn worst_size(n: usize, k: &[usize], margin: f64) -> f64 {
    let ln_fact: Vec<f64> = (0..=n).map(|i| ln_gamma(i as f64 + 1.0)).collect();
    let (lo, hi) = ((-margin).max(0.0), 0.5 * (1.0 - margin));
    (0..GRID)
        .map(|i| {
            let pc = lo + (hi - lo) * i as f64 / (GRID - 1) as f64;
            region_size(n, k, pc + margin, pc, &ln_fact)
        })
        .fold(0.0, f64::max)
}

fn check_three_valued(n: usize) -> Vec<f64> {
    // The public p-value is checked at the region's edge for every
    // discordant count up to 10 items and every 10th at multiples of 10;
    // its monotonicity on every table up to 10 items and on the critical
    // tables of every 20th discordant count at 40 and 100 items.
    let stride = if n <= 10 { 1 } else { 10 };
    let edge_checks = n <= 10 || n.is_multiple_of(10);
    let monotone_checks = n <= 10 || n == 40 || n == 100;
    let mut sizes = Vec::new();
    for alpha in ALPHAS {
        let mut last: Option<Vec<usize>> = None;
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); n + 1];
        for &margin in &MARGINS {
            let k = region(n, alpha, margin);
            for m in (0..=n).step_by(stride).filter(|_| edge_checks) {
                if k[m] <= m {
                    let p = growth_p(counts3(n, k[m], m - k[m]), margin, alpha);
                    assert!(p <= alpha, "n={n} m={m} b={} margin={margin}: {p}", k[m]);
                }
                if k[m] >= 1 && k[m] - 1 <= m {
                    let b = k[m] - 1;
                    let p = growth_p(counts3(n, b, m - b), margin, alpha);
                    assert!(p > alpha, "n={n} m={m} b={b} margin={margin}: {p}");
                }
            }
            if let Some(prev) = &last {
                for m in 0..=n {
                    assert!(
                        k[m] >= prev[m],
                        "n={n} alpha={alpha} margin={margin} m={m}: region grew"
                    );
                }
            }
            let size = worst_size(n, &k, margin);
            assert!(
                size <= alpha + 1e-12,
                "n={n} alpha={alpha} margin={margin}: size {size}"
            );
            sizes.push(size);
            for (m, e) in edges.iter_mut().enumerate() {
                let km = k[m].min(m);
                e.extend([km.saturating_sub(1), km]);
            }
            last = Some(k);
        }
        // p never falls as the margin grows.
        let monotone_stride = if n <= 10 { 1 } else { 20 };
        for m in (0..=n).step_by(monotone_stride).filter(|_| monotone_checks) {
            let mut bs: Vec<usize> = if n <= 10 {
                (0..=m).collect()
            } else {
                edges[m].clone()
            };
            bs.sort_unstable();
            bs.dedup();
            for b in bs {
                let mut prev = 0.0;
                for &margin in &MARGINS {
                    let p = growth_p(counts3(n, b, m - b), margin, alpha);
                    assert!(p >= prev, "n={n} b={b} c={}: margin {margin}", m - b);
                    prev = p;
                }
            }
        }
    }
    sizes
}

#[test]
fn three_valued_differences_to_100_items_are_monotone_and_of_size_at_most_alpha() {
    let rows = in_parallel((1..=100).rev().collect(), check_three_valued);
    report("gap growth, d in {-1, 0, 1}, n = 1..100", &rows);
}

/// Every vector of counts of d = −2..=2 summing to `n`.
fn count_vectors(n: u64) -> Vec<[u64; 5]> {
    let mut out = Vec::new();
    for a in 0..=n {
        for b in 0..=n - a {
            for c in 0..=n - a - b {
                for d in 0..=n - a - b - c {
                    out.push([a, b, c, d, n - a - b - c - d]);
                }
            }
        }
    }
    out
}

#[test]
fn five_valued_differences_are_monotone_and_of_size_at_most_alpha() {
    let alpha = 0.05;
    for n in [4u64, 6] {
        let ln_fact: Vec<f64> = (0..=n).map(|i| ln_gamma(i as f64 + 1.0)).collect();
        let vectors = count_vectors(n);
        let p: Vec<Vec<f64>> = vectors
            .iter()
            .map(|&v| {
                let row: Vec<f64> = MARGINS.iter().map(|&m| growth_p(v, m, alpha)).collect();
                for i in 1..row.len() {
                    assert!(row[i] >= row[i - 1], "{v:?}: margin {}", MARGINS[i]);
                }
                row
            })
            .collect();
        // The whole null on a grid of step 1/20 over the five cells.
        let steps = 20u32;
        let mut worst = [0.0f64; MARGINS.len()];
        for f0 in 0..=steps {
            for f1 in 0..=steps - f0 {
                for f2 in 0..=steps - f0 - f1 {
                    for f3 in 0..=steps - f0 - f1 - f2 {
                        let f4 = steps - f0 - f1 - f2 - f3;
                        let f = [f0, f1, f2, f3, f4].map(|x| f64::from(x) / f64::from(steps));
                        let mean: f64 = f
                            .iter()
                            .enumerate()
                            .map(|(i, q)| (i as f64 - 2.0) * q)
                            .sum();
                        let symmetric = f0 == f4 && f1 == f3;
                        for (i, &margin) in MARGINS.iter().enumerate() {
                            // Without a tolerance the null is that the two
                            // models are exchangeable: d symmetric about 0.
                            if mean > margin + 1e-12 || (margin == 0.0 && !symmetric) {
                                continue;
                            }
                            let size: f64 = vectors
                                .iter()
                                .zip(&p)
                                .filter(|(_, row)| row[i] <= alpha)
                                .map(|(v, _)| {
                                    let mut lp = ln_fact[n as usize];
                                    for (k, &x) in v.iter().enumerate() {
                                        lp -= ln_fact[x as usize];
                                        if x > 0 {
                                            lp += x as f64 * f[k].ln();
                                        }
                                    }
                                    lp.exp()
                                })
                                .sum();
                            assert!(
                                size <= alpha + 1e-12,
                                "n={n} margin={margin} f={f:?}: {size}"
                            );
                            worst[i] = worst[i].max(size);
                        }
                    }
                }
            }
        }
        eprintln!("gap growth, five-valued d, n = {n}: largest size per margin {worst:?}");
    }
}
