//! One error rate and its interval.

use super::{two_sided_z, Interval};

/// Wilson score interval for `k` successes in `n` trials at confidence
/// `conf` (e.g. 0.95).
///
/// Why Wilson rather than the textbook `p ± z·√(p(1−p)/n)`: error rates in
/// candor are often near 0 (a strong model on easy facts) with a few hundred
/// items, exactly where the Wald interval collapses to zero width or leaves
/// [0, 1]. The Wilson interval (Wilson 1927, JASA 22:209) inverts the score
/// test, stays inside [0, 1], and has close to nominal coverage for small
/// counts (Newcombe 1998, Stat Med 17:857, method 3; Brown, Cai & DasGupta
/// 2001). It is also the building block of [`super::newcombe_paired`].
///
/// With `p = k/n`:
/// `(2np + z² ∓ z·√(z² + 4np(1−p))) / (2(n + z²))`.
///
/// Edge cases: `n == 0` gives `[0, 1]`; `k > n` is treated as `k == n`;
/// `k == 0` gives a lower bound of exactly 0 and `k == n` an upper bound of
/// exactly 1; a confidence of 1 or more, or NaN, gives `[0, 1]`.
pub fn wilson(k: u64, n: u64, conf: f64) -> Interval {
    let full = Interval { lo: 0.0, hi: 1.0 };
    if n == 0 {
        return full;
    }
    let k = k.min(n);
    let z = two_sided_z(conf);
    if !z.is_finite() {
        return full;
    }
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let centre = 2.0 * nf * p + z2;
    let root = z * (z2 + 4.0 * nf * p * (1.0 - p)).sqrt();
    let denom = 2.0 * (nf + z2);
    let lo = if k == 0 { 0.0 } else { (centre - root) / denom };
    let hi = if k == n { 1.0 } else { (centre + root) / denom };
    Interval {
        lo: lo.clamp(0.0, 1.0),
        hi: hi.clamp(0.0, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: Interval, lo: f64, hi: f64, tol: f64) {
        assert!(
            (got.lo - lo).abs() < tol && (got.hi - hi).abs() < tol,
            "got [{}, {}], want [{lo}, {hi}]",
            got.lo,
            got.hi
        );
    }

    #[test]
    fn anchor_45_errors_in_200() {
        // The anchor: [0.1726, 0.2877] to 4 dp.
        let i = wilson(45, 200, 0.95);
        assert_eq!(format!("{:.4} {:.4}", i.lo, i.hi), "0.1726 0.2877");
    }

    #[test]
    fn matches_statsmodels() {
        // statsmodels 0.15.0:
        // proportion_confint(k, n, alpha=1 - conf, method="wilson")
        // (scripts/stats_reference.py, section "Wilson").
        let cases = [
            (45, 200, 0.95, 0.17262369715089126, 0.2877412323566053),
            (0, 10, 0.95, 0.0, 0.2775327998628892),
            (10, 10, 0.95, 0.7224672001371107, 0.9999999999999999),
            (3, 17, 0.95, 0.06191126637620997, 0.41029458568834126),
            (1, 1000, 0.95, 0.00017654637062607809, 0.0056425585979579355),
            (45, 200, 0.90, 0.1802877916685996, 0.27705314669152703),
            (7, 30, 0.99, 0.09526697661156017, 0.46799096910476556),
        ];
        for (k, n, conf, lo, hi) in cases {
            close(wilson(k, n, conf), lo, hi, 1e-12);
        }
    }

    #[test]
    fn edge_cases_do_not_panic() {
        assert_eq!(wilson(0, 0, 0.95), Interval { lo: 0.0, hi: 1.0 });
        assert_eq!(wilson(5, 3, 0.95), wilson(3, 3, 0.95));
        assert_eq!(wilson(3, 10, 1.0), Interval { lo: 0.0, hi: 1.0 });
        assert_eq!(wilson(3, 10, f64::NAN), Interval { lo: 0.0, hi: 1.0 });
        close(wilson(3, 10, 0.0), 0.3, 0.3, 1e-15);
        let big = wilson(u64::MAX / 2, u64::MAX, 0.95);
        assert!(big.lo <= 0.5 && 0.5 <= big.hi && big.lo.is_finite());
    }

    #[test]
    fn wider_at_higher_confidence_and_narrower_with_more_items() {
        let (a, b) = (wilson(20, 100, 0.90), wilson(20, 100, 0.99));
        assert!(b.lo < a.lo && a.hi < b.hi);
        let (c, d) = (wilson(20, 100, 0.95), wilson(200, 1000, 0.95));
        assert!(d.hi - d.lo < c.hi - c.lo);
    }
}
