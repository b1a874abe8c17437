#!/usr/bin/env python3
"""Reference values for src/stats/scores.rs (paired t statistics for warmth).

Independent of candor: scipy's one-sample t test on the per-item differences
(candidate - baseline) minus the margin, one-sided, and scipy's t interval for
each mean. The data are the same closed-form series the Rust test builds:
baseline b_i = 3 sin(i) - 20, candidate c_i = b_i + 0.4 + 1.5 cos(1.7 i).

Run it where scipy is installed (a throwaway virtual environment outside the
repository, as for scripts/stats_reference.py):

    python3 -m venv ~/.venvs/statsref
    ~/.venvs/statsref/bin/pip install scipy
    ~/.venvs/statsref/bin/python scripts/warmth_reference.py

It prints the constants of the test in src/stats/scores.rs. Version used for
the numbers there: scipy 1.17.1.
"""

import math

import scipy
from scipy import stats


def data(n):
    out = []
    for i in range(n):
        b = math.sin(i) * 3.0 - 20.0
        out.append((b, b + 0.4 + math.cos(1.7 * i) * 1.5))
    return out


def p(n, margin, alternative):
    d = [c - b for b, c in data(n)]
    return stats.ttest_1samp([x - margin for x in d], 0.0, alternative=alternative).pvalue


def interval(values, conf):
    n = len(values)
    mean = sum(values) / n
    sem = stats.sem(values)
    lo, hi = stats.t.interval(conf, n - 1, loc=mean, scale=sem)
    return mean, lo, hi


def main():
    print(f"// scipy {scipy.__version__}")
    names = [
        ("P40_G0", 40, 0.0, "greater"),
        ("P40_G05", 40, 0.5, "greater"),
        ("P40_L07", 40, 0.7, "less"),
        ("P12_G0", 12, 0.0, "greater"),
        ("P12_L1", 12, 1.0, "less"),
    ]
    for name, n, m, alt in names:
        print(f"const {name}: f64 = {float(p(n, m, alt))!r};")
    d40 = [c - b for b, c in data(40)]
    mean, lo, hi = interval(d40, 0.95)
    print(f"const MEAN40: f64 = {float(mean)!r};")
    print(f"const CI40: (f64, f64) = ({float(lo)!r}, {float(hi)!r});")
    _, lo, hi = interval([b for b, _ in data(40)], 0.95)
    print(f"const BASE_CI40: (f64, f64) = ({float(lo)!r}, {float(hi)!r});")
    _, lo, hi = interval([c - b for b, c in data(12)], 0.90)
    print(f"const CI12_90: (f64, f64) = ({float(lo)!r}, {float(hi)!r});")


if __name__ == "__main__":
    main()
