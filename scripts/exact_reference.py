#!/usr/bin/env python3
"""Reference values for the exact tests in src/stats/exact.rs and
src/stats/interaction.rs (gap growth with a tolerance).

A separate implementation of the same tests, by brute force: every table's
probability is summed with scipy, and the supremum over the nuisance
parameter is taken over a fine grid refined by a bounded scalar optimiser.
Such a search can only find a value at or below the true supremum, so the
Rust p-values (which are upper bounds of it) must lie at or above these
numbers and within about 1e-4 of them.

Needs numpy and scipy (numbers in the tests: scipy 1.17.1, numpy 2.4.6):

    python3 -m venv ~/.venvs/statsref
    ~/.venvs/statsref/bin/pip install scipy
    ~/.venvs/statsref/bin/python scripts/exact_reference.py
"""

import math

import numpy as np
from scipy import optimize, stats
from scipy.special import gammaln


def show(label, *values):
    print(label, " ".join(repr(float(v)) for v in values))


def section(title):
    print()
    print("==", title)


# ------------------------------------------------------------ the ordering
def tango_z(b, c, n, delta):
    """Tango (1998) score statistic for H0: p_b - p_c = delta (closed form)."""
    A = 2 * n
    B = -b - c + (2 * n - b + c) * delta
    C = -c * delta * (1 - delta)
    q = (math.sqrt(max(B * B - 4 * A * C, 0.0)) - B) / (2 * A)
    var = n * (2 * q + delta * (1 - delta))
    num = b - c - n * delta
    if var <= 0:
        return math.inf if num > 0 else -math.inf
    return num / math.sqrt(var)


def lower_limit(b, c, n, z):
    """The delta at which the score statistic crosses z (the one-sided lower
    score limit), found with brentq; -1 or 1 when it never crosses."""
    f = lambda d: tango_z(b, c, n, d) - z
    lo, hi = -1 + 1e-13, 1 - 1e-13
    if f(lo) < 0:
        return -1.0
    if f(hi) >= 0:
        return 1.0
    return optimize.brentq(f, lo, hi, xtol=1e-15, rtol=1e-15)


def ranks(n, level):
    """T(b, c): the lower limit at level `level`, made monotone (never lower
    for more b or fewer c), stored as float32 like the Rust table."""
    z = stats.norm.ppf(1 - level)
    L = np.full((n + 1, n + 1), -np.inf)
    for b in range(n + 1):
        for c in range(n + 1 - b):
            L[b, c] = lower_limit(b, c, n, z)
    T = np.full((n + 1, n + 1), -np.inf)
    for b in range(n + 1):
        for c in range(n - b, -1, -1):
            v = L[b, c]
            if b > 0:
                v = max(v, T[b - 1, c])
            if c < n - b:
                v = max(v, T[b, c + 1])
            T[b, c] = v
    return T.astype(np.float32)


# ------------------------------------------------------ region probability
def log_multinomial(n):
    b = np.arange(n + 1)[:, None]
    c = np.arange(n + 1)[None, :]
    rest = n - b - c
    ok = rest >= 0
    coef = np.where(ok, gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1)
                    - gammaln(np.maximum(rest, 0) + 1), -np.inf)
    return b, c, np.maximum(rest, 0), ok, coef


def region_prob(n, region, pb, pc, cache={}):
    if n not in cache:
        cache[n] = log_multinomial(n)
    b, c, rest, ok, coef = cache[n]
    pr = 1 - pb - pc
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = (coef + np.where(b > 0, b * np.log(pb) if pb > 0 else -np.inf, 0)
              + np.where(c > 0, c * np.log(pc) if pc > 0 else -np.inf, 0)
              + np.where(rest > 0, rest * np.log(pr) if pr > 0 else -np.inf, 0))
    return float(np.exp(lp[region & ok]).sum())


def sup_boundary(prob, lo, hi, grid=4001):
    """max of prob(x) over [lo, hi]: a grid, then a bounded optimiser around
    the best grid points."""
    xs = np.linspace(lo, hi, grid)
    vals = np.array([prob(x) for x in xs])
    best = float(vals.max())
    step = (hi - lo) / (grid - 1)
    for i in np.argsort(vals)[-3:]:
        a, b_ = max(lo, xs[i] - step), min(hi, xs[i] + step)
        r = optimize.minimize_scalar(lambda x: -prob(x), bounds=(a, b_),
                                     method="bounded", options={"xatol": 1e-12})
        best = max(best, -r.fun)
    return best


def unconditional_p(b, c, n, margin, level):
    T = ranks(n, level)
    region = T >= T[b, c]
    lo, hi = max(0.0, -margin), (1 - margin) / 2
    return sup_boundary(lambda pc: region_prob(n, region, pc + margin, pc), lo, hi)


def mcnemar(b, c):
    if b + c == 0:
        return 1.0
    return stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue


section("Exact unconditional p of H0: p_b - p_c <= margin, ranked at level; "
        "and McNemar's p (scipy binomtest); n b c margin level")
for n, b, c, margin, level in [
        (24, 6, 1, 0.0, 0.05), (24, 6, 1, 0.01, 0.05), (24, 6, 1, 0.02, 0.05),
        (100, 4, 0, 0.0, 0.05), (100, 4, 0, 0.01, 0.05),
        (5, 3, 0, 0.0, 0.05), (5, 3, 0, 0.01, 0.05),
        (24, 9, 1, 0.03, 0.05), (60, 14, 2, 0.05, 0.01),
        (200, 30, 10, 0.03, 0.05), (200, 30, 10, 0.03, 0.05 / 21),
        (200, 45, 10, 0.05, 0.05 / 21)]:
    p = unconditional_p(b, c, n, margin, level)
    print(f"n={n} b={b} c={c} margin={margin} level={level!r}: "
          f"unconditional {float(p)!r} mcnemar {float(mcnemar(b, c))!r}")


section("The supremum lies on the boundary p_b = p_c + margin: a 2-D grid "
        "over the whole null never exceeds the boundary maximum")
for n, b, c, margin in [(24, 6, 1, 0.02), (30, 8, 2, 0.05)]:
    T = ranks(n, 0.05)
    region = T >= T[b, c]
    on_boundary = unconditional_p(b, c, n, margin, 0.05)
    worst = 0.0
    for pc in np.linspace(0, 1, 201):
        for pb in np.linspace(0, 1, 201):
            if pb + pc <= 1 and pb - pc <= margin:
                worst = max(worst, region_prob(n, region, pb, pc))
    print(f"n={n} b={b} c={c} margin={margin}: boundary {float(on_boundary)!r} "
          f"2-D grid {float(worst)!r}")
    assert worst <= on_boundary + 1e-12


# ------------------------------------------------ gap growth with a tolerance
def growth_tolerance_p(counts, margin, level, w=0.25, grid=2048):
    """min over the split gamma of max(A/(1-w), B/w): A the exact p of
    E[sign d] <= margin + gamma, B that of P(d=2) - P(d=-2) <= -gamma
    (src/stats/interaction.rs, tolerance_p)."""
    n = sum(counts)
    be, ce = counts[3] + counts[4], counts[0] + counts[1]
    bd, cd = counts[4], counts[0]
    cache = {}

    def p(b, c, m, lv):
        if m >= 1:
            return 1.0
        if m <= -1:
            return 1.0 if c == n else 0.0
        key = (b, c, m, lv)
        if key not in cache:
            cache[key] = unconditional_p(b, c, n, m, lv)
        return cache[key]

    def f(i):
        g = -1 + 2 * i / grid
        a = p(be, ce, margin + g, (1 - w) * level)
        b = p(bd, cd, -g, w * level)
        return a / (1 - w), b / w

    lo, hi = 0, grid + 1
    while lo < hi:
        mid = (lo + hi) // 2
        a, b = f(mid)
        if a >= b:
            hi = mid
        else:
            lo = mid + 1
    best = math.inf
    for i in (lo - 1, lo):
        if 0 <= i <= grid:
            best = min(best, max(f(i)))
    return min(best, 1.0)


section("Gap growth with a tolerance: counts of d = -2..2, margin, level")
for counts, margin, level in [([1, 4, 17, 7, 1], 0.05, 0.05), ([0, 1, 15, 12, 2], 0.05, 0.05),
                              ([0, 2, 20, 8, 0], 0.03, 0.05)]:
    print(f"counts={counts} margin={margin} level={level}: "
          f"{float(growth_tolerance_p(counts, margin, level))!r}")
