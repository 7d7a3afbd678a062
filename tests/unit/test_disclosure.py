"""Disclosure control: the policy's primary rule, complementary suppression, and the attack.

The attack is tested on hand-worked tables and against an independent solver (SciPy's linprog),
then run on the sample's published tables, as an attacker would, and on random small samples.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

from pipeline.config import Settings
from pipeline.disclosure import attack, suppression
from pipeline.disclosure import policy as disclosure
from pipeline.disclosure.linked_cells import CellSystem

SETTINGS = Settings()


def _grid(yes: list[int], no: list[int], primary_rows: set[int]) -> CellSystem:
    """A 2 x 2 table (regions A, B x years 1, 2) with its margins and grand total: cells
    A1, A2, B1, B2, A, B, year 1, year 2, total; atoms A1, A2, B1, B2."""
    incidence = np.array(
        [
            [1, 0, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 1],
            [1, 1, 0, 0],
            [0, 0, 1, 1],
            [1, 0, 1, 0],
            [0, 1, 0, 1],
            [1, 1, 1, 1],
        ],
        dtype=float,
    )
    counts = np.column_stack([yes, no, [0, 0, 0, 0]]).astype(float)
    n = incidence.shape[0]
    units = pl.DataFrame(
        {
            "table": ["t"] * n,
            "row": list(range(n)),
            "primary": [i in primary_rows for i in range(n)],
            "cost": (incidence @ counts[:, :2]).sum(axis=1),
            "national": [False] * 4 + [False, False, True, True, True],
        }
    )
    return CellSystem("grid", counts, incidence, np.arange(n), np.array([""] * n), units,
                      np.zeros((0, 4)))  # fmt: skip


def test_primary_rule_covers_small_denominators_and_small_outcomes() -> None:
    table = pl.DataFrame(
        {
            "n_yes": [3, 40, 0, 30, 15],
            "n_no": [2, 10, 50, 9, 15],
            "n_applicable": [5, 50, 50, 39, 30],
        }
    )
    # 5 answers; fine; 0 % (every case the same); 9 'no'; fine
    assert disclosure.primary(table, SETTINGS).tolist() == [True, False, True, True, False]


def test_a_primary_cell_in_a_grid_is_recovered_by_one_subtraction() -> None:
    system = _grid([3, 20, 15, 25], [4, 30, 12, 30], {0})
    suppressed = system.units["primary"].to_numpy()
    assert attack.recoverable(system, suppressed).tolist() == [0]  # A1 = A - A2


def test_the_rectangle_protects_and_the_range_is_the_hand_worked_one() -> None:
    """Suppress A1 (primary) and A2, B1, B2 (complementary). Published: A = 23, B = 40,
    year 1 = 18, year 2 = 45 in 'yes'. A complementary cell holds at least 10 'yes', so
    A2 = 23 - A1 >= 10 and B1 = 18 - A1 >= 10 give A1 in [0, 8]."""
    system = _grid([3, 20, 15, 25], [4, 30, 12, 30], {0})
    suppressed = np.array([True, True, True, True, False, False, False, False, False])
    complementary = suppressed & ~system.units["primary"].to_numpy()
    assert attack.recoverable(system, suppressed).size == 0
    ranges = attack.feasible_ranges(system, suppressed, complementary, SETTINGS)
    yes_a1 = next(r for r in ranges if r.cell == 0 and r.dimension == "n_yes")
    assert (yes_a1.low, yes_a1.high, yes_a1.value) == (0, 8, 3)


def test_the_search_finds_the_rectangle() -> None:
    system = _grid([3, 20, 15, 25], [4, 30, 12, 30], {0})
    suppressed, complementary = suppression.search(system, SETTINGS)
    assert suppressed[:4].all()
    assert not suppressed[4:].any()
    assert complementary.tolist()[:4] == [False, True, True, True]


def test_a_cell_that_cannot_be_protected_is_reported_to_the_caller() -> None:
    """With the grand total public and the range demanded wider than any swap can give, the
    search says so (the caller then withholds the whole system and the audit decides)."""
    system = _grid([30, 20, 15, 25], [4, 30, 11, 30], {0})
    system.known = np.ones((1, 4))
    with pytest.raises(suppression.Unprotectable):
        suppression.search(system, Settings(min_feasible_range=60))


def test_lp_ranges_agree_with_an_independent_solver() -> None:
    """HiGHS through highspy (the attack) against SciPy's linprog, on a random linked table."""
    rng = np.random.default_rng(3)
    atoms, cells_n = 12, 30
    incidence = (rng.random((cells_n, atoms)) < 0.3).astype(float)
    counts = np.column_stack(
        [rng.integers(0, 30, atoms), rng.integers(0, 30, atoms), np.zeros(atoms)]
    )
    units = pl.DataFrame(
        {"table": ["t"] * cells_n, "row": list(range(cells_n)), "primary": [False] * cells_n,
         "cost": [1.0] * cells_n, "national": [False] * cells_n}
    )  # fmt: skip
    system = CellSystem("random", counts.astype(float), incidence, np.arange(cells_n),
                        np.array([""] * cells_n), units, np.zeros((0, atoms)))  # fmt: skip
    suppressed = rng.random(cells_n) < 0.4
    complementary = suppressed & (rng.random(cells_n) < 0.5)
    ours = attack.feasible_ranges(system, suppressed, complementary, SETTINGS)
    published = ~suppressed
    for item in ours:
        values = attack._values(system, item.dimension)
        lower = incidence[complementary]
        minimum = attack._minimum(item.dimension, SETTINGS)
        bounds = []
        for sign in (1, -1):
            res = linprog(
                sign * incidence[item.cell],
                A_ub=-lower if len(lower) else None,
                b_ub=-np.full(len(lower), minimum) if len(lower) else None,
                A_eq=incidence[published],
                b_eq=incidence[published] @ values,
                bounds=(0, None),
                method="highs-ipm",
            )
            bounds.append(sign * res.fun if res.status == 0 else np.inf)
        assert item.low == pytest.approx(np.ceil(bounds[0] - 1e-6))
        high = np.floor(bounds[1] + 1e-6) if np.isfinite(bounds[1]) else np.inf
        assert item.high == pytest.approx(high)
