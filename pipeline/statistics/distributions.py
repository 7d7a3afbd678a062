"""The few distribution functions the statistics need, straight from `scipy.special`.

`scipy.stats` computes `t.ppf`, `t.sf`, `norm.ppf` and `beta.ppf` with exactly these special
functions (`stdtrit`, `stdtr`, `ndtri`, `betaincinv`), so results are bit-for-bit the same
(tests/unit/test_stats.py checks it), but importing `scipy.stats` costs about 0.65 s of every run
and `scipy.special` a fraction of that. Arguments outside a distribution's support give NaN, as in
`scipy.stats`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special


def t_ppf(q: Any, df: Any) -> Any:
    """Quantile of Student's t on `df` degrees of freedom (scipy.stats.t.ppf; at q = 0,
    where `stdtrit` gives +inf, scipy.stats returns the support's lower end, -inf)."""
    return np.where(np.asarray(q) == 0, -np.inf, special.stdtrit(df, q))[()]


def t_sf(x: Any, df: Any) -> Any:
    """Upper tail probability of Student's t (scipy.stats.t.sf)."""
    return special.stdtr(df, -x)


def norm_ppf(q: Any) -> Any:
    """Standard normal quantile (scipy.stats.norm.ppf)."""
    return special.ndtri(q)


def beta_ppf(q: Any, a: Any, b: Any) -> Any:
    """Quantile of the beta distribution (scipy.stats.beta.ppf)."""
    return special.betaincinv(a, b, q)
