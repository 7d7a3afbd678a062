"""Many comparisons at once: p-values adjusted within a family of tests.

A bulletin that tests 12 key questions in 12 regions makes 144 comparisons; at the 5 % level about
7 would look significant by chance alone. Holm's step-down method controls the family-wise error
rate (the chance of any false claim); Benjamini and Hochberg's controls the false discovery rate
(the expected share of false claims among those made). Headlines use Holm. Missing p-values (a
withheld comparison) take no part and stay missing.

Own code rather than `statsmodels.stats.multitest.multipletests`, which gives the same numbers
(tests/unit/test_clustering.py compares them to 1e-12) but whose import costs 1.3 s of every run
(measured with `python -X importtime`, 7 December 2026), more than all the adjustments take.
"""

from __future__ import annotations

import numpy as np


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p, float)
    out = np.full_like(p, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = len(present)
    if m == 0:
        return out
    order = present[np.argsort(p[present], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p, float)
    out = np.full_like(p, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = len(present)
    if m == 0:
        return out
    order = present[np.argsort(p[present], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out
