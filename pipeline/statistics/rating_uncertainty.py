"""How sure is a rating: the chance that another sample of the same cases' kind would put a
standard in a different band.

A standard takes the band of its lowest key question (or of its pooled answers). Each key
question's count of 'yes' answers is treated as binomial on its applicable answers at the
observed proportion (the exact equivalent of a case bootstrap of that key question), the key
questions independently of each other. Then, for a cut-off `c`,

    P(lowest percentage >= c) = product over key questions of P(100 X_i / n_i >= c)

and the band is unchanged with probability P(lowest >= lower cut-off) - P(lowest >= upper
cut-off). Treating the key questions as independent ignores that the same cases answer them
(their answers are positively correlated), which makes a lowest-of-three band look slightly
less certain than a joint case bootstrap would.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


def _share_at_least(n_yes: int, n: int, cut_off: float, round_first: bool) -> float:
    """P(100 X / n >= cut_off) for X ~ Binomial(n, n_yes / n); percentages rounded to whole
    numbers first (half to even, as the configured banding rounds) when `round_first`."""
    x = np.arange(n + 1)
    pct = 100.0 * x / n
    if round_first:
        pct = np.round(pct)
    pmf = stats.binom.pmf(x, n, n_yes / n)
    return float(pmf[pct >= cut_off].sum())


def chance_band_differs(
    counts: Sequence[tuple[int, int]], cut_offs: Sequence[float], round_first: bool = False
) -> float | None:
    """Probability that the band of the lowest percentage differs from the observed band.

    `counts`: (n_yes, n_applicable) per key question the rating rests on; `cut_offs`: each
    band's lower bound in percent (e.g. 0, 50, 65, 80). None when a key question has no
    applicable answers."""
    if not counts or any(n <= 0 or not 0 <= k <= n for k, n in counts):
        return None
    bounds = sorted(float(c) for c in cut_offs)
    observed = min(100.0 * k / n for k, n in counts)
    if round_first:
        observed = float(np.round(observed))
    lower = max((c for c in bounds if c <= observed), default=bounds[0])
    upper = min((c for c in bounds if c > observed), default=None)

    def at_least(cut_off: float) -> float:
        return float(np.prod([_share_at_least(k, n, cut_off, round_first) for k, n in counts]))

    same = at_least(lower) - (at_least(upper) if upper is not None else 0.0)
    return min(1.0, max(0.0, 1.0 - same))
