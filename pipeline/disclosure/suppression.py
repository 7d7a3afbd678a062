"""Complementary suppression: which further cells to hide so that no small cell can be rebuilt.

The search protects each suppressed cell with a *swap*: a way to move `t` answers between the
pieces (atoms) of the data that leaves every published number unchanged. If such a swap exists
for every `t` in a range at least `min_feasible_range` wide, an attacker holding every published
table cannot tell the true counts from the swapped ones, so the cell can be neither recovered
nor narrowed below that range (a rigorous bound: each swapped set of counts is itself a solution
of the attacker's equations). A swap changes exactly the cells it *hits*; those are suppressed
too (as complementary cells) and are protected by the same swap.

Two kinds of swap are tried for each cell needing protection, and the cheapest wide enough is
taken (cost: the applicable answers of the rows it newly hides, weighted up for England and
Wales and for the before/after table):

* a **pair**: atom a gains t, atom b loses t (cells holding exactly one of them change);
* a **rectangle**: a and d gain, b and c lose, where c has the same England and Wales cells as a
  and d the same as b, so that national cells are untouched (the classic four-cell pattern).

The search is deterministic (ties go to the lowest atom numbers). If a cell cannot be protected
by any swap (tiny data) it raises `Unprotectable`, and the caller withholds every row of the
system ('protective' suppression, which tells an attacker nothing about the counts); the attack
audit that follows raises `DisclosureBreach`, and nothing is written, if anything published
could still reveal a cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.config import Settings
from pipeline.disclosure.linked_cells import CellSystem

MAX_ROUNDS = 1000


class DisclosureBreach(RuntimeError):
    """The published tables would reveal a suppressed cell: nothing is written.

    `cells` names the offending cells (table and key values), so a refusal can say which
    cells blocked the release."""

    def __init__(self, message: str, cells: list[str] | None = None) -> None:
        super().__init__(message)
        self.cells = cells or []


class Unprotectable(Exception):
    """No swap protects a cell of this system widely enough (tiny or lopsided data): the
    caller withholds every row of the system instead."""


@dataclass(frozen=True)
class Certificate:
    """A swap the published numbers cannot see: +t on `gain` atoms, -t on `lose` atoms, for
    every t from -down to +up; `cells` change with it and `widths` = down + up per count
    (n_yes, n_no, n_applicable)."""

    gain: tuple[int, ...]
    lose: tuple[int, ...]
    cells: tuple[int, ...]
    widths: tuple[float, float, float]


def minimums(settings: Settings) -> np.ndarray:
    """What a complementary marker tells about a cell: it passed the primary rule."""
    outcome = settings.min_outcome_count
    return np.array([outcome, outcome, max(settings.suppression_threshold, 2 * outcome)], float)


def three_counts(counts: np.ndarray) -> np.ndarray:
    """yes, no and applicable (yes + no) from yes, no, na counts."""
    return np.column_stack([counts[:, 0], counts[:, 1], counts[:, 0] + counts[:, 1]])


@dataclass
class _State:
    """The search's view of one system: what is suppressed and why, and what hiding costs."""

    system: CellSystem
    settings: Settings
    suppressed: np.ndarray  # units
    complementary: np.ndarray  # units
    certificates: list[Certificate] = field(default_factory=list)

    def __post_init__(self) -> None:
        system = self.system
        self.incidence = system.incidence
        self.cell_values = three_counts(system.cell_counts)
        self.atom_values = three_counts(system.counts)
        self.unit_cost = system.units["cost"].to_numpy()
        # a row's cost, split over its parts (a before/after row has two cells)
        parts = np.bincount(system.cell_unit, minlength=len(self.unit_cost))
        self.cell_cost = self.unit_cost[system.cell_unit] / parts[system.cell_unit]
        self.small = self.incidence.astype(np.int8)
        national = system.units["national"].to_numpy()[system.cell_unit]
        signature = np.vstack([self.incidence[national], system.known])
        _, self.parallel = np.unique(signature.T, axis=0, return_inverse=True)
        self.parallel = self.parallel.ravel()
        # atoms of each parallel class (same national cells and known totals), ascending
        self.members = [np.flatnonzero(self.parallel == k) for k in range(self.parallel.max() + 1)]
        # atoms in the same before/after cells (every two-part row: the all-cases and the
        # same-area comparisons): a rectangle of such atoms leaves them unchanged
        paired = np.asarray(system.cell_part != "")
        _, self.era_class = np.unique(self.incidence[paired].T, axis=0, return_inverse=True)

    def cell_suppressed(self) -> np.ndarray:
        return np.asarray(self.suppressed[self.system.cell_unit])

    def slack(self) -> np.ndarray:
        """(cells, 3): how far each cell may fall before an attacker's bound stops it (inf for
        primary cells, which promise nothing; published cells would become complementary)."""
        bounded = ~(self.suppressed & ~self.complementary)[self.system.cell_unit]
        return np.where(bounded[:, None], self.cell_values - minimums(self.settings), np.inf)


RECTANGLE_SIDE = 16
"""Rectangles are built from at most this many of the largest atoms on each side (c among
a's parallel atoms, b among the same era, d among b's parallel atoms). Where every atom is
parallel to every other (a table of regions and their total only) the full set is cubic in the
atoms (1.7 M candidates for 120 inspections) and adds nothing a pair cannot do; the largest
atoms give the widest swaps. If no capped candidate is wide enough, the search retries with
every rectangle, so capping never turns a protectable cell into a breach."""


def _largest(state: _State, atoms: np.ndarray, cap: int | None) -> np.ndarray:
    """The `cap` largest of `atoms` (by applicable answers, ties by number), ascending."""
    if cap is None or atoms.size <= cap:
        return atoms
    order = np.lexsort((atoms, -state.atom_values[atoms, 2]))
    return np.sort(atoms[order[:cap]])


def _candidates(
    state: _State, a: int, cap: int | None = RECTANGLE_SIDE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partner atoms (lose b, lose c, gain d; -1 = none) for swaps gaining atom `a`: every pair,
    and the rectangles whose national cells cancel (c parallel to a, d parallel to b), in the
    order c, b, d ascending; rectangles use the `cap` largest atoms on each side."""
    n = state.incidence.shape[1]
    others = np.delete(np.arange(n), a)
    # b = -1: atom a alone grows (every cell holding it must then be hidden)
    partners = np.concatenate([[-1], others])
    pairs = (partners, np.full(len(partners), -1), np.full(len(partners), -1))
    same = state.members[state.parallel[a]]
    same = _largest(state, same[same != a], cap)
    same_era = _largest(state, others[state.era_class[others] == state.era_class[a]], cap)
    if not same.size or not same_era.size:
        return pairs
    groups = [_largest(state, state.members[state.parallel[b]], cap) for b in same_era.tolist()]
    b_run = np.repeat(same_era, [len(g) for g in groups])
    d_run = np.concatenate(groups)
    b = np.tile(b_run, len(same))
    d = np.tile(d_run, len(same))
    c = np.repeat(same, len(b_run))
    keep = (b != c) & (d != a) & (d != b) & (d != c)
    if not keep.any():
        return pairs
    return (
        np.concatenate([pairs[0], b[keep]]),
        np.concatenate([pairs[1], c[keep]]),
        np.concatenate([pairs[2], d[keep]]),
    )


def _column(matrix: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Columns of `matrix` for `index`, zeros where the index is -1."""
    out = matrix[:, np.maximum(index, 0)]
    return np.where(index[None, :] >= 0, out, 0)


def _changes(state: _State, a: int, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(cells, candidates): how much each cell moves per answer swapped."""
    inc = state.small
    change = inc[:, [a]] - _column(inc, b).astype(np.int8)
    rectangles = np.flatnonzero(c >= 0)
    if rectangles.size:
        change[:, rectangles] -= inc[:, c[rectangles]]
        change[:, rectangles] += inc[:, d[rectangles]]
    return change


def _step(values: np.ndarray, moving: list[np.ndarray]) -> np.ndarray:
    """The largest step the losing atoms allow (candidates x 3)."""
    steps = np.full((moving[0].shape[0], 3), np.inf)
    for index in moving:
        present = index >= 0
        steps[present] = np.minimum(steps[present], values[index[present]])
    return steps


def _widths(
    state: _State, change: np.ndarray, a: int, b: np.ndarray, c: np.ndarray, d: np.ndarray
) -> np.ndarray:
    """(candidates, 3): down + up, the range each swap guarantees in yes, no, applicable."""
    slack = state.slack()
    values = state.atom_values
    up = _step(values, [b, c])  # gaining a, d: b and c lose answers
    down = _step(values, [np.full(len(b), a), d])
    falling = np.where(change < 0, -change, 0.0)
    rising = np.where(change > 0, change, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(3):
            limit_up = np.where(falling > 0, slack[:, [k]] / falling, np.inf).min(axis=0)
            limit_down = np.where(rising > 0, slack[:, [k]] / rising, np.inf).min(axis=0)
            up[:, k] = np.minimum(up[:, k], limit_up)
            down[:, k] = np.minimum(down[:, k], limit_down)
    return np.asarray(np.maximum(np.floor(up), 0) + np.maximum(np.floor(down), 0))


CHUNK = 32  # candidates whose widths are computed at a time, cheapest first


def _pick(
    state: _State, cell: int, a: int, cap: int | None = RECTANGLE_SIDE
) -> tuple[tuple[float, ...], Certificate] | None:
    """The cheapest swap gaining atom `a` that hits `cell` and is wide enough (else the widest
    of those tried), with its sort key."""
    b, c, d = _candidates(state, a, cap)
    row = state.small[cell]
    moves_cell = row[a] - _at(row, b) - _at(row, c) + _at(row, d)
    valid = (moves_cell != 0) & ~np.abs(_changes_known(state, a, b, c, d)).any(axis=0)
    if not valid.any():
        return None
    b, c, d = b[valid], c[valid], d[valid]  # order kept: ties still go to the lowest atoms
    change = _changes(state, a, b, c, d)
    hit = change != 0
    cost = state.cell_cost @ (hit & ~state.cell_suppressed()[:, None])
    order = np.argsort(cost, kind="stable")
    widest: tuple[float, int, np.ndarray] | None = None
    for start in range(0, len(order), CHUNK):
        chunk = order[start : start + CHUNK]
        widths = _widths(state, change[:, chunk], a, b[chunk], c[chunk], d[chunk])
        narrowest = widths.min(axis=1)
        enough = np.flatnonzero(narrowest >= state.settings.min_feasible_range)
        if enough.size:
            pick, width = int(chunk[enough[0]]), widths[enough[0]]
            key: tuple[float, ...] = (0.0, float(cost[pick]), a)
            return key, _certificate(a, b, c, d, pick, hit, width)
        best = int(np.argmax(narrowest))
        if widest is None or narrowest[best] > widest[0]:
            widest = (float(narrowest[best]), int(chunk[best]), widths[best])
    assert widest is not None
    key = (1.0, -widest[0], a)
    return key, _certificate(a, b, c, d, widest[1], hit, widest[2])


def _at(row: np.ndarray, index: np.ndarray) -> np.ndarray:
    """row[index], 0 where the index is -1."""
    return np.where(index >= 0, row[np.maximum(index, 0)], 0)


def _certificate(
    a: int,
    b: np.ndarray,
    c: np.ndarray,
    d: np.ndarray,
    pick: int,
    hit: np.ndarray,
    width: np.ndarray,
) -> Certificate:
    gain = tuple(x for x in (a, int(d[pick])) if x >= 0)  # lose may be empty: a alone grows
    lose = tuple(x for x in (int(b[pick]), int(c[pick])) if x >= 0)
    cells = tuple(np.flatnonzero(hit[:, pick]).tolist())
    yes, no, applicable = (float(w) for w in width)
    return Certificate(gain, lose, cells, (yes, no, applicable))


FIRST_ATOMS = 8
"""Atoms of a cell tried first (the largest: they allow the widest swaps); the rest are tried
only if none of these gives a swap wide enough, so the search stays complete."""


def _best(state: _State, cell: int) -> Certificate | None:
    """The cheapest swap hitting `cell` wide enough in every count (else the widest): first
    among capped rectangles, then, if none is wide enough, among all of them."""
    found = _best_within(state, cell, RECTANGLE_SIDE)
    if found is None or min(found.widths) < state.settings.min_feasible_range:
        found = _best_within(state, cell, None)
    return found


def _best_within(state: _State, cell: int, cap: int | None) -> Certificate | None:
    """The best swap with rectangles capped at `cap`, trying the cell's largest atoms first
    and stopping early at a swap that hides nothing new."""
    atoms = np.flatnonzero(state.incidence[cell] > 0)
    sizes = state.atom_values[atoms, 2]
    atoms = atoms[np.lexsort((atoms, -sizes))]  # largest first, ties by atom number
    best: tuple[tuple[float, ...], Certificate] | None = None
    for start in range(0, len(atoms), FIRST_ATOMS):
        for a in atoms[start : start + FIRST_ATOMS].tolist():
            found = _pick(state, cell, a, cap)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
            if best is not None and best[0][:2] == (0.0, 0.0):
                return best[1]  # wide enough and hides nothing new: cannot be beaten
        if best is not None and best[0][0] == 0.0:
            return best[1]
    return None if best is None else best[1]


def _changes_known(
    state: _State, a: int, b: np.ndarray, c: np.ndarray, d: np.ndarray
) -> np.ndarray:
    """How each swap moves the totals assumed public (must be zero)."""
    known = state.system.known
    if known.shape[0] == 0:
        return np.zeros((1, len(b)))
    return np.asarray(known[:, [a]] - _column(known, b) - _column(known, c) + _column(known, d))


def _covered(state: _State) -> np.ndarray:
    """Cells protected by a swap wide enough in every count."""
    covered = np.zeros(state.incidence.shape[0], dtype=bool)
    for cert in state.certificates:
        if min(cert.widths) >= state.settings.min_feasible_range:
            covered[list(cert.cells)] = True
    return covered


def search(system: CellSystem, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Suppressed and complementary rows of one system; every suppressed cell is covered by a
    swap the publication cannot see."""
    primary = system.units["primary"].to_numpy()
    if primary.all() and system.known.shape[0] == 0:
        return primary.copy(), np.zeros_like(primary)  # nothing published: nothing to protect
    state = _State(system, settings, primary.copy(), np.zeros_like(primary))
    for _ in range(MAX_ROUNDS):
        open_cells = np.flatnonzero(state.cell_suppressed() & ~_covered(state))
        if open_cells.size == 0:
            return state.suppressed, state.complementary
        cert = _best(state, int(open_cells[0]))
        if cert is None or min(cert.widths) < settings.min_feasible_range:
            raise Unprotectable(system.name)
        units = np.unique(system.cell_unit[list(cert.cells)])
        new = units[~state.suppressed[units]]
        state.suppressed[new] = True
        state.complementary[new] = True
        state.certificates.append(cert)
    raise DisclosureBreach(f"{system.name}: protection did not converge in {MAX_ROUNDS} rounds")
