//! Exhaustive checks of the paired test with a tolerance ([`paired_p_value`]
//! through the `exact` module).
//!
//! For every table of `n = 1..=60` items, and for the critical tables of a
//! grid of `n` up to 400, at margins of 0, 0.5, 1, 2, 3, 5, 10 and 20 pp and
//! levels 0.05 and 0.01:
//!
//! - the p-value never decreases as the margin grows;
//! - at margin 0 it is exact McNemar's (and at every margin at least that);
//! - the gate's rejection region `{p ≤ α}` has probability at most α at
//!   every point of a fine grid on the null boundary `p_b = p_c + Δ₀`
//!   (where the supremum lies), and, for the smaller `n`, on a 2-D grid
//!   over the whole null.
//!
//! The probabilities of the regions are summed here directly (binomial
//! weights from `ln Γ`, tails by term recurrence), not through the module's
//! own summation.

use super::exact::{ranks, sup_over_boundary};
use super::{mcnemar_exact_one_sided, paired_p_value, PairedTable};
use statrs::function::gamma::ln_gamma;

pub(super) const MARGINS: [f64; 8] = [0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.10, 0.20];
pub(super) const ALPHAS: [f64; 2] = [0.05, 0.01];
/// Points of the boundary grid (uniform in `p_c`).
pub(super) const GRID: usize = 2001;

fn table(n: usize, b: usize, c: usize) -> PairedTable {
    PairedTable {
        both_right: (n - b - c) as u64,
        b: b as u64,
        c: c as u64,
        both_wrong: 0,
    }
}

/// The region `reject` as thresholds: for each discordant count `m`, the
/// smallest `b` it contains (`m + 1` if none). Panics if it is not an upper
/// set in `b` for some `m` (more regressions, same discordance, must never
/// leave the region).
pub(super) fn thresholds_of(n: usize, reject: impl Fn(usize, usize) -> bool) -> Vec<usize> {
    (0..=n)
        .map(|m| {
            let k = (0..=m).find(|&b| reject(b, m - b)).unwrap_or(m + 1);
            for b in k..=m {
                assert!(reject(b, m - b), "n={n} m={m}: region has a hole at b={b}");
            }
            k
        })
        .collect()
}

/// `P(b ≥ k_m)` when each of `n` items is a regression with probability
/// `pb` and an improvement with probability `pc`, summed directly.
pub(super) fn region_size(n: usize, k: &[usize], pb: f64, pc: f64, ln_fact: &[f64]) -> f64 {
    let psi = pb + pc;
    if psi <= 0.0 {
        return f64::from(u8::from(k[0] == 0));
    }
    let pi = (pb / psi).min(1.0);
    let mut total = 0.0;
    for m in 0..=n {
        if k[m] > m {
            continue;
        }
        let weight = if psi >= 1.0 {
            f64::from(u8::from(m == n))
        } else {
            (ln_fact[n] - ln_fact[m] - ln_fact[n - m]
                + m as f64 * psi.ln()
                + (n - m) as f64 * (-psi).ln_1p())
            .exp()
        };
        if weight == 0.0 {
            continue;
        }
        let tail = if pi >= 1.0 {
            1.0
        } else if pi <= 0.0 {
            f64::from(u8::from(k[m] == 0))
        } else {
            let j = k[m];
            let mut term = (ln_fact[m] - ln_fact[j] - ln_fact[m - j]
                + j as f64 * pi.ln()
                + (m - j) as f64 * (-pi).ln_1p())
            .exp();
            let mut sum = term;
            for b in j..m {
                term *= (m - b) as f64 / (b + 1) as f64 * pi / (1.0 - pi);
                sum += term;
            }
            sum
        };
        total += weight * tail;
    }
    total
}

/// The largest probability of the region over the boundary grid, and over a
/// 2-D grid of the whole null when `interior`.
fn worst_size(n: usize, k: &[usize], margin: f64, interior: bool) -> f64 {
    let ln_fact: Vec<f64> = (0..=n).map(|i| ln_gamma(i as f64 + 1.0)).collect();
    let (lo, hi) = ((-margin).max(0.0), 0.5 * (1.0 - margin));
    let mut worst: f64 = 0.0;
    for i in 0..GRID {
        let pc = lo + (hi - lo) * i as f64 / (GRID - 1) as f64;
        worst = worst.max(region_size(n, k, pc + margin, pc, &ln_fact));
    }
    if interior {
        for i in 0..=40 {
            for j in 0..=40 {
                let (pb, pc) = (i as f64 / 40.0, j as f64 / 40.0);
                if pb + pc <= 1.0 && pb - pc <= margin {
                    // The boundary point with no fewer regressions and no
                    // more improvements.
                    let (qb, qc) = if 2.0 * pc + margin <= 1.0 {
                        (pc + margin, pc)
                    } else {
                        (pb.max(margin), (pb - margin).max(0.0))
                    };
                    let s = region_size(n, k, pb, pc, &ln_fact);
                    let edge = region_size(n, k, qb, qc, &ln_fact);
                    assert!(
                        s <= edge + 1e-12,
                        "n={n} margin={margin}: ({pb}, {pc}) {s} > boundary ({qb}, {qc}) {edge}"
                    );
                    worst = worst.max(s);
                }
            }
        }
    }
    worst
}

/// Every table of `n` items: monotone in the margin, McNemar at 0, size at
/// most α. Returns the largest size seen per (α, margin).
fn check_every_table(n: usize) -> Vec<f64> {
    let mut sizes = Vec::new();
    for alpha in ALPHAS {
        let mut p = vec![[0.0; MARGINS.len()]; (n + 1) * (n + 1)];
        for b in 0..=n {
            for c in 0..=n - b {
                let t = table(n, b, c);
                let mcnemar = mcnemar_exact_one_sided(b as u64, c as u64);
                let row = &mut p[b * (n + 1) + c];
                for (i, &margin) in MARGINS.iter().enumerate() {
                    row[i] = paired_p_value(&t, margin, alpha);
                    assert!((0.0..=1.0).contains(&row[i]));
                    assert!(
                        row[i] >= mcnemar - 1e-12,
                        "n={n} b={b} c={c} margin={margin}"
                    );
                    if i == 0 {
                        assert_eq!(row[0], mcnemar, "n={n} b={b} c={c}");
                    } else {
                        assert!(
                            row[i] >= row[i - 1],
                            "n={n} b={b} c={c}: p {} at {} pp but {} at {} pp",
                            row[i - 1],
                            MARGINS[i - 1] * 100.0,
                            row[i],
                            margin * 100.0
                        );
                    }
                }
            }
        }
        for (i, &margin) in MARGINS.iter().enumerate() {
            let k = thresholds_of(n, |b, c| p[b * (n + 1) + c][i] <= alpha);
            let size = worst_size(n, &k, margin, n <= 30);
            assert!(
                size <= alpha + 1e-12,
                "n={n} alpha={alpha} margin={margin}: size {size}"
            );
            sizes.push(size);
        }
    }
    sizes
}

/// A larger `n`: the gate's region found by bisection over the ranks (the
/// p-value falls as the rank rises), its size checked on the grid, regions
/// nested as the margin grows, and the p of the critical tables of every
/// `stride`-th discordant count monotone in the margin.
fn check_critical_tables(n: usize, stride: usize) -> Vec<f64> {
    let mut sizes = Vec::new();
    for alpha in ALPHAS {
        let r = ranks(n, alpha);
        let mut distinct: Vec<f32> = (0..=n)
            .flat_map(|b| (0..=n - b).map(move |c| (b, c)))
            .map(|(b, c)| r.rank(b, c))
            .collect();
        distinct.sort_by(|a, b| b.total_cmp(a));
        distinct.dedup();
        let mcnemar_k = thresholds_of(n, |b, c| {
            mcnemar_exact_one_sided(b as u64, c as u64) <= alpha
        });
        let mut last: Option<Vec<usize>> = None;
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); n + 1];
        for &margin in &MARGINS {
            let k = if margin == 0.0 {
                mcnemar_k.clone()
            } else {
                let p_at = |i: usize| sup_over_boundary(&r, &r.thresholds(distinct[i]), margin);
                // distinct[i] falls with i, the region grows, p rises.
                let (mut lo, mut hi) = (0usize, distinct.len());
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if p_at(mid) <= alpha {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                // distinct[..lo] are the ranks the test rejects at.
                if lo < distinct.len() {
                    assert!(p_at(lo) > alpha);
                }
                let uk = if lo == 0 {
                    vec![usize::MAX; n + 1]
                } else {
                    r.thresholds(distinct[lo - 1])
                };
                mcnemar_k
                    .iter()
                    .zip(&uk)
                    .enumerate()
                    .map(|(m, (&a, &b))| a.max(b).min(m + 1))
                    .collect()
            };
            // The decisions agree with the public p-value at the edge.
            for m in (0..=n).step_by(stride) {
                if k[m] <= m {
                    assert!(paired_p_value(&table(n, k[m], m - k[m]), margin, alpha) <= alpha);
                }
                if k[m] >= 1 && k[m] - 1 <= m {
                    let b = k[m] - 1;
                    assert!(paired_p_value(&table(n, b, m - b), margin, alpha) > alpha);
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
            let size = worst_size(n, &k, margin, false);
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
        for m in (0..=n).step_by(stride) {
            let mut bs = edges[m].clone();
            bs.sort_unstable();
            bs.dedup();
            for b in bs {
                let t = table(n, b, m - b);
                let mut prev = 0.0;
                for &margin in &MARGINS {
                    let p = paired_p_value(&t, margin, alpha);
                    assert!(p >= prev, "n={n} b={b} c={}: margin {margin}", m - b);
                    prev = p;
                }
            }
        }
    }
    sizes
}

pub(super) fn in_parallel<T: Send>(
    jobs: Vec<usize>,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<(usize, T)> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |x| x.get())
        .clamp(1, 4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, T)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&n) = jobs.get(i) else { break };
                        done.push((n, f(n)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a check panicked"))
            .collect()
    });
    out.sort_by_key(|(n, _)| *n);
    out
}

pub(super) fn report(label: &str, rows: &[(usize, Vec<f64>)]) {
    for (ai, alpha) in ALPHAS.iter().enumerate() {
        let worst: Vec<String> = (0..MARGINS.len())
            .map(|i| {
                let w = rows
                    .iter()
                    .map(|(_, s)| s[ai * MARGINS.len() + i])
                    .fold(0.0, f64::max);
                format!("{} pp: {w:.4}", MARGINS[i] * 100.0)
            })
            .collect();
        eprintln!("{label}, alpha {alpha}: largest size {}", worst.join(", "));
    }
}

#[test]
fn every_table_to_60_items_is_monotone_and_of_size_at_most_alpha() {
    let rows = in_parallel((1..=60).rev().collect(), check_every_table);
    report("n = 1..60, every table", &rows);
}

#[test]
fn critical_tables_to_400_items_are_monotone_and_of_size_at_most_alpha() {
    let rows = in_parallel(vec![400, 300, 200, 150, 100, 80], |n| {
        check_critical_tables(n, 25)
    });
    report("n = 80..400, critical tables", &rows);
}
