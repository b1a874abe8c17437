//! Power: what a gate could have caught.
//!
//! A gate that passes on 40 items says little: it could not have seen a
//! 10 pp regression anyway. `candor check` prints each gate's minimum
//! detectable effect so that a suite author sees this before trusting a
//! green run.

use super::normal_quantile;

/// Minimum detectable increase in error rate (a fraction) for a one-sided
/// paired test at level `alpha` with probability `power`, on `n` items of
/// which a fraction `discordance` are discordant (one model right, the other
/// wrong).
///
/// The returned value is the increase *beyond the gate's margin*: a gate with
/// tolerance `m` detects a true difference of `m + mde_paired(...)`. (For a
/// non-zero margin this reuses the margin-0 formula, a good approximation for
/// the small margins gates use.)
///
/// **Formula.** Connor (1987, Biometrics 43:207) gives the power of
/// McNemar's test, by the normal approximation, for a true difference
/// `δ = p₁₀ − p₀₁` and discordance `ψ = p₁₀ + p₀₁`:
///
/// ```text
/// power = Φ( (δ√n − z_α √ψ) / √(ψ − δ²) )
/// ```
///
/// Setting this to `1 − β` and solving for `δ` (a quadratic in `δ`) gives
///
/// ```text
/// δ(ψ) = √ψ · (z_α √n + z_β √(n + z_β² − z_α²)) / (n + z_β²)
/// ```
///
/// with `z_α = Φ⁻¹(1 − α)` and `z_β = Φ⁻¹(power)`. A net increase of `δ`
/// needs at least a fraction `δ` of items to flip, so the discordance under
/// the alternative is at least `δ`; we use `max(ψ, δ)`, which makes the
/// answer `max(δ(ψ), δ*)` with `δ* = K²/(n + z_β²)²` the fixed point
/// `δ(δ*) = δ*` (`K` the bracket above). Without that floor a gate with
/// almost no observed discordance would claim to see arbitrarily small
/// regressions. The result is checked in the tests against a numerical root
/// of Connor's power equation and against a simulation.
///
/// Returns `f64::INFINITY` (nothing detectable, or nothing to say) when
/// `n == 0`, when `alpha` or `power` is outside (0, 1) or NaN, when `n` is
/// too small for the normal approximation (`n < z_α² − z_β²`), or when the
/// answer exceeds 1. `discordance` is clamped into [0, 1]; NaN counts as 1
/// (the least favourable).
pub fn mde_paired(n: u64, alpha: f64, power: f64, discordance: f64) -> f64 {
    let valid = |x: f64| x > 0.0 && x < 1.0;
    if n == 0 || !valid(alpha) || !valid(power) {
        return f64::INFINITY;
    }
    let psi = if discordance.is_nan() {
        1.0
    } else {
        discordance.clamp(0.0, 1.0)
    };
    let nf = n as f64;
    let za = normal_quantile(1.0 - alpha);
    let zb = normal_quantile(power);
    let inner = nf + zb * zb - za * za;
    if inner.is_nan() || inner < 0.0 || !za.is_finite() || !zb.is_finite() {
        return f64::INFINITY;
    }
    let k = za * nf.sqrt() + zb * inner.sqrt();
    let denom = nf + zb * zb;
    let at_psi = psi.sqrt() * k / denom;
    let floor = (k / denom).powi(2);
    let delta = at_psi.max(floor).max(0.0);
    if delta <= 1.0 {
        delta
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::normal_sf;
    use crate::stats::rng::SplitMix64;

    #[test]
    fn matches_a_numerical_root_of_connors_power_equation() {
        // scripts/stats_reference.py, section "MDE": scipy.optimize.brentq on
        // norm.cdf((δ√n − z_α√ψ')/√(ψ' − δ²)) = power with ψ' = max(ψ, δ).
        let cases = [
            (200, 0.05, 0.8, 0.2, 0.0782189959164167),
            (200, 0.05, 0.8, 0.1, 0.05530918243010112),
            (1000, 0.05, 0.8, 0.2, 0.035127291417141056),
            (50, 0.01, 0.9, 0.3, 0.2668849237956466),
            (200, 0.05, 0.8, 0.01, 0.030591056610862064), // on the floor
        ];
        for (n, alpha, power, psi, want) in cases {
            let got = mde_paired(n, alpha, power, psi);
            assert!((got - want).abs() < 1e-9, "n={n} ψ={psi}: {got} vs {want}");
        }
    }

    #[test]
    fn shrinks_with_n_and_grows_with_discordance() {
        let mut last = f64::INFINITY;
        for n in [20, 50, 100, 200, 500, 1000, 10_000] {
            let m = mde_paired(n, 0.05, 0.8, 0.2);
            assert!(m < last, "n={n}");
            last = m;
        }
        let mut last = 0.0;
        for psi in [0.0, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0] {
            let m = mde_paired(200, 0.05, 0.8, psi);
            assert!(m >= last, "ψ={psi}");
            last = m;
        }
        assert!(mde_paired(200, 0.05, 0.8, 0.4) > mde_paired(200, 0.05, 0.8, 0.2));
        // Stricter alpha or more power need a bigger effect.
        assert!(mde_paired(200, 0.01, 0.8, 0.2) > mde_paired(200, 0.05, 0.8, 0.2));
        assert!(mde_paired(200, 0.05, 0.9, 0.2) > mde_paired(200, 0.05, 0.8, 0.2));
    }

    #[test]
    fn edges() {
        assert_eq!(mde_paired(0, 0.05, 0.8, 0.2), f64::INFINITY);
        assert_eq!(mde_paired(100, 0.0, 0.8, 0.2), f64::INFINITY);
        assert_eq!(mde_paired(100, 0.05, 1.0, 0.2), f64::INFINITY);
        assert_eq!(mde_paired(100, f64::NAN, 0.8, 0.2), f64::INFINITY);
        assert_eq!(mde_paired(1, 0.001, 0.8, 0.2), f64::INFINITY);
        assert_eq!(
            mde_paired(100, 0.05, 0.8, f64::NAN),
            mde_paired(100, 0.05, 0.8, 1.0)
        );
        assert_eq!(
            mde_paired(100, 0.05, 0.8, 7.0),
            mde_paired(100, 0.05, 0.8, 1.0)
        );
        // Three items: only an almost total regression is detectable.
        let m = mde_paired(3, 0.05, 0.8, 1.0);
        assert!(m > 0.9 && m <= 1.0, "{m}");
        assert!(mde_paired(u64::MAX, 0.05, 0.8, 0.2) < 1e-6);
    }

    #[test]
    fn simulated_power_is_the_promised_power() {
        // At the returned δ, McNemar's z test ((b − c)/√(b + c) > z_α, the
        // statistic Connor's formula approximates) rejects in about 80% of
        // simulated tables. 2000 runs: SE ≈ 0.009; allow 4 SE.
        let (n, alpha, psi) = (400u64, 0.05, 0.2);
        let delta = mde_paired(n, alpha, 0.8, psi);
        let (p10, p01) = ((psi + delta) / 2.0, (psi - delta) / 2.0);
        let mut rng = SplitMix64::new(11);
        let runs = 2000;
        let mut hits = 0;
        for _ in 0..runs {
            let (mut b, mut c) = (0u32, 0u32);
            for _ in 0..n {
                let u = rng.next_f64();
                if u < p10 {
                    b += 1;
                } else if u < p10 + p01 {
                    c += 1;
                }
            }
            let z = (f64::from(b) - f64::from(c)) / f64::from(b + c).max(1.0).sqrt();
            if normal_sf(z) < alpha {
                hits += 1;
            }
        }
        let rate = f64::from(hits) / f64::from(runs);
        assert!(
            (rate - 0.8).abs() < 4.0 * (0.16 / f64::from(runs)).sqrt(),
            "{rate}"
        );
    }
}
