"""The differencing attack: what the published cells reveal about the suppressed ones.

Two tests, as a statistical office's audit makes them:

1. **Exact recovery by linear algebra.** A suppressed cell is recoverable when its row of the
   incidence matrix lies in the row space of the published cells (and of any totals assumed
   public): some combination of published numbers then equals it exactly, whatever the data.
2. **Feasible range by linear programming.** Over all non-negative counts consistent with every
   published number (and with what the suppression marker tells: a complementary cell passed the
   primary rule, so its counts are at least the minimum), the smallest and largest value each
   suppressed count can take. A range narrower than the policy's minimum is a disclosure.
   Solved with HiGHS (highspy), one model per system and count, re-solved per cell.

The attacker here is stronger than a real one: it knows exactly which inspection and region every
answer belongs to. Linear programming relaxes integrality, so the bounds are rounded inwards to
whole numbers.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from pipeline.config import Settings
from pipeline.disclosure.linked_cells import CellSystem

TOLERANCE = 1e-7
RANGE_DIMENSIONS = ("n_yes", "n_no", "n_applicable", "n_na")


def published_cells(system: CellSystem, suppressed: np.ndarray) -> np.ndarray:
    """Mask over cells: True where the cell's row is published."""
    return np.asarray(~suppressed[system.cell_unit])


def _public_rows(system: CellSystem, suppressed: np.ndarray) -> np.ndarray:
    """The published cells' rows and the always-public totals, stacked."""
    return np.vstack([system.incidence[published_cells(system, suppressed)], system.known])


def row_space(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, singular values, V^T) restricted to the numerical rank of `matrix`."""
    if matrix.shape[0] == 0:
        return np.zeros((0, 0)), np.zeros(0), np.zeros((0, matrix.shape[1]))
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((s > TOLERANCE * max(1.0, s[0])).sum())
    return u[:, :rank], s[:rank], vt[:rank]


def recoverable(system: CellSystem, suppressed: np.ndarray) -> np.ndarray:
    """Indices of suppressed cells whose counts follow exactly from the published cells."""
    hidden = np.flatnonzero(~published_cells(system, suppressed))
    if hidden.size == 0:
        return hidden
    _, _, vt = row_space(_public_rows(system, suppressed))
    cells = system.incidence[hidden]
    residual = cells - (cells @ vt.T) @ vt
    return np.asarray(hidden[np.linalg.norm(residual, axis=1) < 1e-6])


@dataclass(frozen=True)
class FeasibleRange:
    """The whole-number range an attacker can narrow one suppressed count to."""

    cell: int
    dimension: str
    low: float
    high: float
    value: float

    @property
    def width(self) -> float:
        return self.high - self.low


def _values(system: CellSystem, dimension: str) -> np.ndarray:
    yes, no, na = system.counts.T
    return np.asarray({"n_yes": yes, "n_no": no, "n_na": na, "n_applicable": yes + no}[dimension])


def _minimum(dimension: str, settings: Settings) -> float:
    """What a complementary cell's marker tells: it passed the primary rule."""
    outcome = settings.min_outcome_count
    return {
        "n_yes": outcome,
        "n_no": outcome,
        "n_applicable": max(settings.suppression_threshold, 2 * outcome),
        "n_na": 0,
    }[dimension]


@cache
def _quietly_started() -> bool:
    """Create HiGHS's first solver with the console silenced: its constructor prints a banner
    (once per process) that would otherwise interleave with the CLI's own output."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return True


def prepare() -> None:
    """Start HiGHS once with its banner silenced. Call it on the main thread before solving in
    a worker: silencing swaps the process's stdout, which must not race other output."""
    _quietly_started()


def _model(equality: np.ndarray, rhs: np.ndarray, lower: np.ndarray, bound: np.ndarray) -> Any:
    """A HiGHS model over the atoms: published sums fixed, complementary cells bounded below."""
    import highspy

    _quietly_started()
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    n = equality.shape[1]
    highs.addVars(n, np.zeros(n), np.full(n, highspy.kHighsInf))
    rows = np.vstack([equality, lower]) if len(lower) else equality
    low = np.concatenate([rhs, bound])
    high = np.concatenate([rhs, np.full(len(bound), highspy.kHighsInf)])
    for i, row in enumerate(rows):
        index = np.flatnonzero(row).astype(np.int32)
        highs.addRow(low[i], high[i], len(index), index, row[index])
    return highs


def _extreme(highs: Any, objective: np.ndarray, sign: float) -> float:
    """min (sign = 1) or max (sign = -1) of objective . x; inf where nothing bounds it."""
    import highspy

    n = len(objective)
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), sign * objective)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return -sign * np.inf if sign < 0 else np.inf
    return float(sign * highs.getInfo().objective_function_value)


def feasible_ranges(
    system: CellSystem,
    suppressed: np.ndarray,
    complementary: np.ndarray,
    settings: Settings,
    published_values: dict[str, np.ndarray] | None = None,
    dimensions: tuple[str, ...] = RANGE_DIMENSIONS,
) -> list[FeasibleRange]:
    """The LP range of every count of every suppressed cell.

    `published_values[dimension]` gives each cell's count as published (entries for suppressed
    cells are ignored); without it they are computed from the atoms, which is the same for every
    published cell."""
    published = published_cells(system, suppressed)
    hidden = np.flatnonzero(~published)
    equality = np.vstack([system.incidence[published], system.known])
    lower = system.incidence[np.flatnonzero(complementary[system.cell_unit])]
    ranges = []
    for dimension in dimensions:
        values = _values(system, dimension)
        if published_values is None:
            rhs = equality @ values
        else:
            rhs = np.concatenate([published_values[dimension][published], system.known @ values])
        bound = np.full(len(lower), float(_minimum(dimension, settings)))
        highs = _model(equality, rhs, lower, bound)
        for cell in hidden.tolist():
            objective = system.incidence[cell]
            low, high = _extreme(highs, objective, 1.0), _extreme(highs, objective, -1.0)
            ranges.append(
                FeasibleRange(
                    cell,
                    dimension,
                    float(np.ceil(low - 1e-6)),
                    float(np.floor(high + 1e-6)) if np.isfinite(high) else np.inf,
                    float(objective @ values),
                )
            )
    return ranges
