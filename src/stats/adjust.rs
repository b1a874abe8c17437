//! Multiple-testing adjustment across a declared family of gates.
//!
//! A suite typically gates 9 contexts × 2 belief conditions at once. At a
//! per-gate level of 0.05, two identical models would fail *some* gate in
//! more than half of all runs; adjusting across the family keeps the
//! harness's false alarm rate at the declared level.

/// Which adjustment a family of p-values gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Holm (1979): controls the family-wise error rate (the chance that any
    /// gate of two equally good models fails) under any dependence between
    /// the tests. The right default for release gates.
    Holm,
    /// Benjamini & Hochberg (1995): controls the false discovery rate (the
    /// expected share of failed gates that are false alarms); more powerful,
    /// valid under independence or positive dependence. The study this
    /// project follows used it across its conditions.
    BenjaminiHochberg,
    /// No adjustment: each gate at its own level.
    None,
}

/// Adjusted p-values for `method`, in the input order.
///
/// Inputs are sanitised first: NaN counts as 1 (no evidence), and values are
/// clamped into [0, 1].
pub fn adjust(p: &[f64], method: Correction) -> Vec<f64> {
    match method {
        Correction::Holm => holm(p),
        Correction::BenjaminiHochberg => benjamini_hochberg(p),
        Correction::None => p.iter().map(|&x| sanitise(x)).collect(),
    }
}

/// Holm's step-down adjusted p-values, in the input order.
///
/// With the `m` p-values sorted ascending, `p̃(i) = max_{j ≤ i} min(1, (m − j + 1)·p(j))`
/// (1-based). Rejecting where `p̃ ≤ α` is Holm's procedure at level α; the
/// running maximum makes the adjusted values monotone in the raw ones.
/// Matches `statsmodels.stats.multitest.multipletests(method="holm")`.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let order = ascending(p);
    let mut out = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        let scaled = ((m - rank) as f64 * sanitise(p[i])).min(1.0);
        running = running.max(scaled);
        out[i] = running;
    }
    out
}

/// Benjamini–Hochberg step-up adjusted p-values (q-values), in the input
/// order.
///
/// With the `m` p-values sorted ascending, `p̃(i) = min_{j ≥ i} min(1, m·p(j)/j)`
/// (1-based). Matches `multipletests(method="fdr_bh")`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let order = ascending(p);
    let mut out = vec![0.0; m];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let scaled = (m as f64 * sanitise(p[i]) / (rank + 1) as f64).min(1.0);
        running = running.min(scaled);
        out[i] = running;
    }
    out
}

fn sanitise(p: f64) -> f64 {
    if p.is_nan() {
        1.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// Indices of `p` sorted by sanitised value, ties in input order.
fn ascending(p: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| sanitise(p[a]).total_cmp(&sanitise(p[b])));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }

    // statsmodels 0.15.0: multipletests(p, alpha=0.05, method=...)[1]
    // (scripts/stats_reference.py, section "multipletests").
    const MIXED: [f64; 7] = [0.01, 0.04, 0.03, 0.005, 0.2, 1.0, 0.04];
    const NINE: [f64; 9] = [0.0004, 0.3, 0.02, 0.011, 0.9, 0.049, 0.0051, 0.6, 0.03];

    #[test]
    fn holm_matches_statsmodels() {
        close(&holm(&MIXED), &[0.06, 0.16, 0.15, 0.035, 0.4, 1.0, 0.16]);
        close(&holm(&[0.5]), &[0.5]);
        close(&holm(&[0.001; 3]), &[0.003; 3]);
        close(
            &holm(&NINE),
            &[0.0036, 0.9, 0.12, 0.077, 1.0, 0.196, 0.0408, 1.0, 0.15],
        );
    }

    #[test]
    fn bh_matches_statsmodels() {
        close(
            &benjamini_hochberg(&MIXED),
            &[0.035, 0.056, 0.056, 0.035, 0.23333333333333336, 1.0, 0.056],
        );
        close(&benjamini_hochberg(&[0.5]), &[0.5]);
        close(&benjamini_hochberg(&[0.001; 3]), &[0.001; 3]);
        close(
            &benjamini_hochberg(&NINE),
            &[
                0.0036,
                0.3857142857142857,
                0.045,
                0.033,
                0.9,
                0.0735,
                0.02295,
                0.675,
                0.054,
            ],
        );
    }

    #[test]
    fn adjust_dispatches_and_sanitises() {
        assert!(adjust(&[], Correction::Holm).is_empty());
        assert!(adjust(&[], Correction::BenjaminiHochberg).is_empty());
        assert_eq!(
            adjust(&[f64::NAN, -0.5, 2.0, 0.2], Correction::None),
            vec![1.0, 0.0, 1.0, 0.2]
        );
        assert_eq!(adjust(&MIXED, Correction::Holm), holm(&MIXED));
        assert_eq!(
            adjust(&MIXED, Correction::BenjaminiHochberg),
            benjamini_hochberg(&MIXED)
        );
        // NaN is "no evidence": it sorts last and never lowers another value.
        close(&holm(&[f64::NAN, 0.01]), &[1.0, 0.02]);
        close(&benjamini_hochberg(&[f64::NAN, 0.01]), &[1.0, 0.02]);
        close(&holm(&[1.0, 1.0]), &[1.0, 1.0]);
    }

    #[test]
    fn adjusted_values_are_monotone_capped_and_never_below_raw() {
        let mut rng = crate::stats::rng::SplitMix64::new(3);
        for _ in 0..200 {
            let m = 1 + rng.below(12) as usize;
            let p: Vec<f64> = (0..m).map(|_| rng.next_f64().powi(3)).collect();
            for adj in [holm(&p), benjamini_hochberg(&p)] {
                for i in 0..m {
                    assert!(adj[i] >= p[i] * (1.0 - 1e-15) && adj[i] <= 1.0);
                    for j in 0..m {
                        if p[i] < p[j] {
                            assert!(adj[i] <= adj[j]);
                        }
                    }
                }
            }
            // Holm is never less conservative than BH.
            let (h, b) = (holm(&p), benjamini_hochberg(&p));
            assert!(h.iter().zip(&b).all(|(h, b)| *h >= b * (1.0 - 1e-15)));
        }
    }

    #[test]
    fn correction_serialises_in_snake_case() {
        let json = serde_json::to_string(&Correction::BenjaminiHochberg).unwrap();
        assert_eq!(json, "\"benjamini_hochberg\"");
        let back: Correction = serde_json::from_str("\"holm\"").unwrap();
        assert_eq!(back, Correction::Holm);
    }
}
