#!/usr/bin/env python3
"""Reference values for the tests in src/stats/.

Every number the Rust tests compare against to 1e-9 is printed by this
script. It is deliberately a separate implementation: library routines
(scipy, statsmodels) where one exists, and otherwise the published formulas
written out again, with a numerical cross-check where the formula is a
closed-form solution of an optimisation problem.

Run it in a throwaway virtual environment outside the repository:

    python3 -m venv ~/.venvs/statsref
    ~/.venvs/statsref/bin/pip install scipy statsmodels
    ~/.venvs/statsref/bin/python scripts/stats_reference.py

Versions used for the numbers in the tests: scipy 1.17.1, statsmodels 0.15.0.
"""

import itertools
import math

from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint


def show(label, *values):
    print(label, " ".join(repr(float(v)) for v in values))


def section(title):
    print()
    print("==", title)


# ---------------------------------------------------------------- normal
section("Standard normal: scipy.stats.norm")
show("ppf(0.975) ppf(0.95)", stats.norm.ppf(0.975), stats.norm.ppf(0.95))
show("sf(3) sf(10)", stats.norm.sf(3.0), stats.norm.sf(10.0))

# ---------------------------------------------------------------- McNemar
section("McNemar exact one-sided: scipy.stats.binomtest(b, b + c, 0.5, 'greater')")
for b, c in [(12, 3), (5, 5), (0, 4), (4, 0), (1, 0), (30, 10), (10, 30),
             (100, 80), (700, 640)]:
    p = stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue
    show(f"b={b} c={c}", p)

# ---------------------------------------------------------------- Wilson
section("Wilson: statsmodels proportion_confint(k, n, alpha, method='wilson')")
for k, n, conf in [(45, 200, 0.95), (0, 10, 0.95), (10, 10, 0.95),
                   (3, 17, 0.95), (1, 1000, 0.95), (45, 200, 0.90),
                   (7, 30, 0.99)]:
    lo, hi = proportion_confint(k, n, alpha=1 - conf, method="wilson")
    show(f"k={k} n={n} conf={conf}", lo, hi)

# ---------------------------------------------------------------- Holm / BH
section("multipletests(p, method='holm' / 'fdr_bh')")
vectors = {
    "mixed": [0.01, 0.04, 0.03, 0.005, 0.2, 1.0, 0.04],
    "single": [0.5],
    "ties": [0.001, 0.001, 0.001],
    "nine": [0.0004, 0.3, 0.02, 0.011, 0.9, 0.049, 0.0051, 0.6, 0.03],
}
for name, p in vectors.items():
    for method in ["holm", "fdr_bh"]:
        adj = multipletests(p, alpha=0.05, method=method)[1]
        show(f"{name} {method}", *adj)


# ---------------------------------------------------------------- Newcombe
def wilson(k, n, z):
    """Wilson score interval, written from Wilson (1927) / Newcombe (1998a) eq. 3."""
    p = k / n
    denom = 2 * (n + z * z)
    root = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    return (2 * n * p + z * z - root) / denom, (2 * n * p + z * z + root) / denom


def newcombe10(a, b, c, d, conf, corrected_phi=True):
    """Newcombe (1998) Stat Med 17:2635, method 10, from the paper's formulas.

    Cells: a = both positive, b = first positive only, c = second positive
    only, d = both negative. theta = (b - c) / n = p1 - p2 with
    p1 = (a + b) / n and p2 = (a + c) / n.
    """
    n = a + b + c + d
    z = stats.norm.ppf(1 - (1 - conf) / 2)
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, z)
    l2, u2 = wilson(a + c, n, z)
    e, f, g, h = a + b, c + d, a + c, b + d
    if 0 in (e, f, g, h):
        phi = 0.0
    else:
        A = a * d - b * c
        if corrected_phi:
            if A > n / 2:
                A = A - n / 2
            elif A >= 0:
                A = 0.0
        phi = A / math.sqrt(e * f * g * h)
    theta = p1 - p2
    dl = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    du = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return max(-1.0, theta - dl), min(1.0, theta + du)


section("Newcombe method 10 (corrected phi); cells both_wrong, b, c, both_right")
for cells, conf in [((59, 6, 16, 80), 0.95), ((1, 1, 7, 12), 0.95),
                    ((0, 12, 3, 185), 0.95), ((20, 12, 3, 165), 0.95),
                    ((20, 12, 3, 165), 0.90), ((0, 0, 0, 50), 0.95),
                    ((10, 0, 0, 40), 0.95), ((0, 5, 0, 0), 0.95),
                    ((3, 0, 9, 88), 0.95)]:
    show(f"cells={cells} conf={conf}", *newcombe10(*cells, conf))
section("Newcombe method 10 with the uncorrected phi, for comparison only")
show("cells=(59, 6, 16, 80)", *newcombe10(59, 6, 16, 80, 0.95, corrected_phi=False))
print("published (Fagerland, Lydersen & Laake 2014; R contingencytables tests):"
      " Cavo 2012 table [[59, 6], [16, 80]] -> -0.0621 (-0.1186 to -0.0046)")


# ---------------------------------------------------------------- Tango
def tango_closed(b, c, n, delta0):
    """Tango (1998) / Nam (1997): restricted MLE of p21 in closed form."""
    A = 2 * n
    B = -b - c + (2 * n - b + c) * delta0
    C = -c * delta0 * (1 - delta0)
    q21 = (math.sqrt(B * B - 4 * A * C) - B) / (2 * A)
    z = (b - c - n * delta0) / math.sqrt(n * (2 * q21 + delta0 * (1 - delta0)))
    return z, q21


def tango_numeric(b, c, n, delta0):
    """The same statistic, with the restricted MLE found by a numerical optimiser.

    Under H0 the cell probabilities are p12 = q + delta0, p21 = q,
    p11 + p22 = 1 - 2q - delta0; maximise the multinomial log-likelihood in q.
    """
    rest = n - b - c
    lo = max(0.0, -delta0) + 1e-15
    hi = (1 - delta0) / 2 - 1e-15

    def negll(q):
        ll = 0.0
        if b:
            ll += b * math.log(q + delta0)
        if c:
            ll += c * math.log(q)
        if rest:
            ll += rest * math.log(1 - 2 * q - delta0)
        return -ll

    res = optimize.minimize_scalar(negll, bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-14})
    q = res.x
    var = (q + delta0) + q - delta0 ** 2  # p12 + p21 - (p12 - p21)^2
    z = (b - c - n * delta0) / math.sqrt(n * var)
    return z, q


section("Tango score test one-sided p = norm.sf(z); cells both_right, b, c, both_wrong; margin")
for (r, b, c, w), m in [((150, 30, 10, 10), 0.05), ((150, 30, 10, 10), 0.10),
                        ((170, 12, 3, 15), 0.02), ((170, 12, 3, 15), 0.0),
                        ((100, 0, 0, 0), 0.05), ((40, 5, 5, 0), -0.05),
                        ((10, 20, 0, 0), 0.30), ((0, 9, 1, 0), 0.5)]:
    n = r + b + c + w
    zc, qc = tango_closed(b, c, n, m)
    zn, qn = tango_numeric(b, c, n, m)
    assert abs(qc - qn) < 1e-6, (qc, qn)
    print(f"cells={(r, b, c, w)} margin={m} closed z={zc!r} numeric z={zn!r}")
    show("    p", stats.norm.sf(zc))


section("Tango score interval by inverting the closed form (brentq)")
# Cavo et al. (2012) table [[59, 6], [16, 80]]: b = 6, c = 16, n = 161.
# Published (Fagerland, Lydersen & Laake 2017, ch. 8): -0.1240 to -0.0054.
def tango_p(delta0):
    return stats.norm.sf(tango_closed(6, 16, 161, delta0)[0])


lo = optimize.brentq(lambda x: tango_p(x) - 0.025, -0.9, 0.0, xtol=1e-15)
hi = optimize.brentq(lambda x: tango_p(x) - 0.975, -0.9, 0.5, xtol=1e-15)
show("cavo 95% limits", lo, hi)


# ---------------------------------------------------------------- gap growth
section("Sign-flip permutation p, exact enumeration (itertools)")


def signflip_exact(d):
    d = [x for x in d if x != 0]
    t = sum(d)
    hits = 0
    for signs in itertools.product([1, -1], repeat=len(d)):
        if sum(s * x for s, x in zip(signs, d)) >= t:
            hits += 1
    return hits / 2 ** len(d)


for name, d in {"hand-a": [1, 1, 1, -1, 0], "hand-b": [2, 1, -1],
                "twelve": [1, 2, 1, -1, 1, 0, 0, 1, -2, 1, 1, 2, -1, 1]}.items():
    show(f"{name} d={d}", signflip_exact(d))

section("t interval for the mean of d: scipy.stats.t.interval")
for d, conf in [([1, 2, 1, -1, 1, 0, 0, 1, -2, 1, 1, 2, -1, 1], 0.95),
                ([1, 1, 1, -1, 0], 0.90)]:
    mean = sum(d) / len(d)
    sem = stats.sem(d)
    lo, hi = stats.t.interval(conf, len(d) - 1, loc=mean, scale=sem)
    show(f"d={d} conf={conf}", lo, hi)


# ---------------------------------------------------------------- MDE
section("MDE: root of Connor (1987) power(delta) = target, solved with brentq")


def connor_power(delta, n, alpha, psi):
    za = stats.norm.ppf(1 - alpha)
    return stats.norm.cdf((delta * math.sqrt(n) - za * math.sqrt(psi))
                          / math.sqrt(psi - delta * delta))


def mde(n, alpha, power, psi):
    # The increase itself needs at least that many discordant items.
    def at_floor(delta):
        return connor_power(delta, n, alpha, max(psi, delta)) - power

    return optimize.brentq(at_floor, 1e-12, 1.0 - 1e-12, xtol=1e-15)


for n, alpha, power, psi in [(200, 0.05, 0.8, 0.2), (200, 0.05, 0.8, 0.1),
                             (1000, 0.05, 0.8, 0.2), (50, 0.01, 0.9, 0.3),
                             (200, 0.05, 0.8, 0.01)]:
    show(f"n={n} alpha={alpha} power={power} discordance={psi}", mde(n, alpha, power, psi))
