"""Disclosure control: nothing published may reveal a small cell, directly or by differencing.

The policy (docs/methodology.md, "Disclosure control"; numbers in reference/settings.csv):

* **Primary suppression.** A cell is suppressed when it rests on fewer than
  `suppression_threshold` applicable answers, or when fewer than `min_outcome_count` cases were
  judged sufficient or not sufficient (a count of 0, every case with the same outcome, included:
  that would disclose an attribute of everyone in the group).
* **Complementary suppression.** Tables share margins (regions add up to England and Wales;
  calendar years, financial years, half-years and programmes partition the same answers;
  inspections add up to regions; breakdowns add up to their totals), so further cells are
  suppressed until the differencing attack in `attack.py` recovers no suppressed cell exactly and
  cannot narrow any suppressed count to a range narrower than `min_feasible_range`.
* **Withheld breakdowns.** Regional cells of a programme sampled nationally (the national
  inspection: `regional_cells = false` in reference/programmes.csv) duplicate the regional
  programmes' picture with a handful of cases each; they are not published at all.

The search is greedy and deterministic: a recovered cell is protected by suppressing the least
informative published cell (fewest applicable answers) its recovery relies on; a too-narrow range
by suppressing the least informative published cell that binds it. Every table row carries
`suppressed` and `suppression` ('primary' or 'complementary').
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.disclosure import attack, linked_cells, revisions
from pipeline.disclosure.linked_cells import CellSystem
from pipeline.disclosure.suppression import DisclosureBreach, Unprotectable, search
from pipeline.domain import NATIONAL
from pipeline.tables import cohorts, dipp_bridge, measures, registry, rounds, same_area
from pipeline.tables.marking import apply

log = logging.getLogger(__name__)

HELD_DIMENSIONS = ("n_yes", "n_no", "n_applicable")
"""Counts held to the minimum feasible range: the outcomes. Not-applicable counts are protected
against exact recovery only (whether a question applied is not a judgement on the case)."""
PROTECTED_TABLES = registry.names(registry.Protection.SUPPRESSED)
"""The tables whose cells form the linked cell systems (declared in `registry.py`)."""


def primary(table: pl.DataFrame, settings: Settings) -> np.ndarray:
    """Rows failing the primary rule in any of their parts (pre and post count separately)."""
    denominators = [c for c in table.columns if c.startswith("n_applicable")]
    outcomes = [c for c in table.columns if c.startswith(("n_yes", "n_no"))]
    small = pl.any_horizontal(
        *[pl.col(c).fill_null(0) < settings.suppression_threshold for c in denominators],
        *[pl.col(c).fill_null(0) < settings.min_outcome_count for c in outcomes],
    )
    return table.select(small).to_series().to_numpy()


@dataclass
class Pattern:
    """Which rows of each protected table are suppressed, and why."""

    primary: dict[str, np.ndarray]
    complementary: dict[str, np.ndarray] = field(default_factory=dict)
    protective: dict[str, np.ndarray] = field(default_factory=dict)
    """Rows of systems no swap could protect (tiny data): all withheld, and their marker says
    nothing about their counts (unlike a complementary marker, which says they passed the
    primary rule)."""
    revision: dict[str, np.ndarray] = field(default_factory=dict)
    """Rows held back because of an earlier release of the series (`revisions.py`): suppressed
    there, or changed by too little to publish the change. Protected like primary cells."""

    def __post_init__(self) -> None:
        for name, flags in self.primary.items():
            for kind in (self.complementary, self.protective, self.revision):
                kind.setdefault(name, np.zeros(len(flags), dtype=bool))

    def needing_protection(self) -> dict[str, np.ndarray]:
        """Rows the search must protect: primary and revision cells."""
        return {name: self.primary[name] | self.revision[name] for name in self.primary}

    @classmethod
    def from_published(cls, tables: dict[str, pl.DataFrame]) -> Pattern:
        """The pattern as the published tables show it (their `suppression` markers)."""

        def marked(name: str, reason: str) -> np.ndarray:
            return (tables[name]["suppression"] == reason).fill_null(False).to_numpy()

        return cls(
            {n: marked(n, "primary") for n in tables},
            {n: marked(n, "complementary") for n in tables},
            {n: marked(n, "protective") for n in tables},
            {n: marked(n, "revision") for n in tables},
        )

    def unit_flags(self, system: CellSystem) -> tuple[np.ndarray, np.ndarray]:
        """A system's rows: suppressed, and suppressed as complementary cells."""
        rows = system.units.select("table", "row").rows()
        suppressed = np.array([self.suppressed(t)[r] for t, r in rows], dtype=bool)
        compl = np.array(
            [
                self.complementary[t][r]
                and not (self.primary[t][r] or self.protective[t][r] or self.revision[t][r])
                for t, r in rows
            ],
            dtype=bool,
        )
        return suppressed, compl

    def suppressed(self, table: str) -> np.ndarray:
        return np.asarray(
            self.primary[table]
            | self.complementary[table]
            | self.protective[table]
            | self.revision[table]
        )

    def reasons(self, table: str) -> np.ndarray:
        reason = np.full(len(self.primary[table]), None, dtype=object)
        reason[self.complementary[table]] = "complementary"
        reason[self.protective[table]] = "protective"
        reason[self.revision[table]] = "revision"
        reason[self.primary[table]] = "primary"
        return reason

    def counts(self) -> dict[str, tuple[int, int]]:
        """Table -> (primary, other) suppressed rows (complementary, protective, revision)."""
        return {
            t: (int(self.primary[t].sum()), int((self.suppressed(t) & ~self.primary[t]).sum()))
            for t in self.primary
        }


def withheld(settings: Settings) -> pl.Expr:
    """Regional trend cells that are not published at all: period types other than
    `regional_period_types`, and programme cells of programmes sampled nationally."""
    national_only = (
        refdata.programmes().filter(pl.col("regional_cells") == "false")["programme"].to_list()
    )
    regional = pl.col("scope") != NATIONAL
    return regional & (
        ~pl.col("period_type").is_in(list(settings.regional_period_types))
        | ((pl.col("period_type") == "programme") & pl.col("period").is_in(national_only))
    )


def single_category() -> pl.Expr:
    """Breakdown rows whose group holds one category only: the row would repeat its total."""
    group = ["series", "comparable_id", "era", "subgroup"]
    return pl.col("subgroup_value").n_unique().over(group) == 1


# --- the whole publication -------------------------------------------------------------------


@dataclass
class Groupings:
    """Inspection-level groupings some tables pool over: inspection_id -> regional_round,
    inspection_id -> cohort (one row per cohort an inspection belongs to), the
    inspection-regions on each side of the same-area comparison, and inspection_id -> the
    regional bridge's scope and measurement."""

    rounds: pl.DataFrame
    cohorts: pl.DataFrame
    same_area: pl.DataFrame
    bridge: pl.DataFrame

    @classmethod
    def of(
        cls, inspections: pl.DataFrame, cohort_table: pl.DataFrame, pairs: pl.LazyFrame
    ) -> Groupings:
        """The groupings of `inspections` under the cohort definitions `cohort_table`;
        `pairs`: the (inspection_id, region) of the cases."""
        return cls(
            rounds.round_of(inspections),
            cohorts.members(inspections, cohort_table),
            same_area.sides(inspections.lazy(), pairs).collect(),
            dipp_bridge.members(inspections),
        )


@dataclass
class DisclosureReport:
    """What protection did, for the manifest, the methodology and the tests."""

    def summary(self) -> str:
        """One line for people: cells hidden and what the attack found."""
        primary = sum(p for p, _ in self.suppressed.values())
        compl = sum(c for _, c in self.suppressed.values())
        narrowest = min(self.narrowest.values(), default=float("inf"))
        reach = (
            "no cell suppressed" if narrowest == float("inf") else f"narrowest range {narrowest:g}"
        )
        return (
            f"{primary:,} cells suppressed as primary and {compl:,} as complementary; "
            f"the differencing attack recovered {self.recoverable} ({reach})"
        )

    suppressed: dict[str, tuple[int, int]]  # table -> (primary, complementary)
    withheld: dict[str, int]
    systems: int
    recoverable: int
    narrowest: dict[str, float]  # dimension -> smallest feasible range of a suppressed count
    seconds: float


def _systems(
    tables: dict[str, pl.DataFrame],
    context: pl.LazyFrame,
    frames: dict[str, pl.LazyFrame],
    pattern: Pattern,
    groupings: Groupings,
) -> list[CellSystem]:
    """Every family of linked cells: key questions (trend, inspection, before/after, round,
    cohort), each measure table (enquiries, prompts, oversight, rationale themes) and the
    breakdowns. `frames` are the measure tables' long frames (measures.measure_frames)."""
    kq = linked_cells.kq_atoms(context)
    memberships = linked_cells.kq_memberships(
        kq, tables, groupings.rounds, groupings.cohorts, groupings.same_area, groupings.bridge
    )
    protect = pattern.needing_protection()
    systems = linked_cells.build_systems(kq, memberships, tables, protect)
    for name in measures.MEASURE_TABLES:
        atoms = linked_cells.measure_atoms(measures.atoms_of(frames, name), name)
        members = linked_cells.measure_memberships(atoms, tables[name], name)
        members = linked_cells.with_comparisons(members, atoms, tables, name, groupings.same_area)
        systems += linked_cells.build_systems(atoms, members, tables, protect)
    groups = linked_cells.subgroup_atoms(tables["subgroups"])
    systems += linked_cells.build_systems(
        groups, linked_cells.subgroup_memberships(groups), tables, protect, known_by="era"
    )
    return systems


def require_covered(tables: dict[str, pl.DataFrame], systems: list[CellSystem]) -> None:
    """Every row of every suppressed table must be a cell of some system: a row that is not
    (a new table whose cells were never linked to their atoms) would be published with no
    complementary protection and never attacked. Refuse rather than release it."""
    covered: dict[str, set[int]] = {}
    for system in systems:
        for table, row in system.units.select("table", "row").rows():
            covered.setdefault(table, set()).add(row)
    missing = {
        name: tables[name].height - len(covered.get(name, set()))
        for name in PROTECTED_TABLES
        if tables[name].height > len(covered.get(name, set()))
    }
    if missing:
        raise DisclosureBreach(
            "rows not linked to any cell system, so disclosure control cannot protect them: "
            + ", ".join(f"{name} ({n} rows)" for name, n in sorted(missing.items()))
        )


def _withhold(pattern: Pattern, system: CellSystem) -> None:
    """Every row of a system no swap can protect is withheld ('protective')."""
    for table, row in system.units.select("table", "row").rows():
        if not (pattern.primary[table][row] or pattern.revision[table][row]):
            pattern.protective[table][row] = True


def _record(pattern: Pattern, system: CellSystem, complementary: np.ndarray) -> None:
    """Mark a system's complementary rows in the table-wide pattern."""
    rows = system.units.select("table", "row").rows()
    for (table, row), flag in zip(rows, complementary, strict=True):
        if flag:
            pattern.complementary[table][row] = True


def published_values(
    system: CellSystem, published: dict[str, pl.DataFrame]
) -> dict[str, np.ndarray]:
    """Each cell's counts read back from the published tables (null where suppressed)."""
    cells = pl.DataFrame(
        {
            "table": system.units["table"].to_numpy()[system.cell_unit],
            "row": system.units["row"].to_numpy()[system.cell_unit],
            "part": system.cell_part,
        }
    )
    out = {}
    for dimension in attack.RANGE_DIMENSIONS:
        values = []
        for table, row, part in cells.rows():
            column = dimension + (
                {"pre_unification": "_pre", "post_unification": "_post"}.get(part, "")
            )
            value = published[table][column][row]
            values.append(np.nan if value is None else float(value))
        out[dimension] = np.array(values)
    return out


def audit(
    systems: list[CellSystem],
    published: dict[str, pl.DataFrame],
    pattern: Pattern,
    settings: Settings,
    offending: list[tuple[str, int]] | None = None,
) -> tuple[int, dict[str, float]]:
    """The attack on the published tables: exactly recoverable cells, and the narrowest
    feasible range of each count (yes, no and applicable are held to the policy minimum).
    `offending` (if given) collects the (table, row) of every cell recovered or narrowed."""
    recovered = 0
    narrowest = {d: np.inf for d in HELD_DIMENSIONS}
    offending = [] if offending is None else offending
    for system in systems:
        units = system.units.select("table", "row").rows()
        suppressed = np.array([pattern.suppressed(t)[r] for t, r in units], dtype=bool)
        _, complementary = pattern.unit_flags(system)
        if not suppressed.any():
            continue
        found = attack.recoverable(system, suppressed)
        recovered += int(found.size)
        values = published_values(system, published)
        ranges = attack.feasible_ranges(
            system, suppressed, complementary, settings, values, HELD_DIMENSIONS
        )
        for item in ranges:
            narrowest[item.dimension] = min(narrowest[item.dimension], item.width)
        narrow = [r.cell for r in ranges if r.width < settings.min_feasible_range]
        offending += _units_of(system, [*found.tolist(), *narrow])
    return recovered, narrowest


def _units_of(system: CellSystem, cells: list[int]) -> list[tuple[str, int]]:
    """The (table, row) each of `cells` belongs to, without repeats."""
    units = system.units.select("table", "row").rows()
    return list(dict.fromkeys(units[int(system.cell_unit[c])] for c in cells))


@dataclass(frozen=True)
class Suppression:
    """The protected tables and what the attack needs to test them."""

    published: dict[str, pl.DataFrame]
    systems: list[CellSystem]
    pattern: Pattern
    dropped: dict[str, int]
    settings: Settings
    started: float

    def describe(self, table: str, row: int) -> str:
        """A cell as a reader would find it: its table and key values."""
        values = self.published[table].row(row, named=True)
        keys = registry.spec(table).keys
        return f"{table}: " + ", ".join(f"{k}={values[k]}" for k in keys)

    def audited(self) -> DisclosureReport:
        """Run the attack; raises `DisclosureBreach` if it recovers or narrows any cell.

        Safe to run in a worker thread: it only reads, and HiGHS releases the GIL while it
        solves, so the model fits that follow suppression run beside it."""
        settings = self.settings
        offending: list[tuple[str, int]] = []
        recovered, narrowest = audit(
            self.systems, self.published, self.pattern, settings, offending
        )
        narrow = [
            d
            for d in ("n_yes", "n_no", "n_applicable")
            if narrowest[d] < settings.min_feasible_range
        ]
        if recovered or narrow:
            raise DisclosureBreach(
                f"the publication would disclose suppressed cells: {recovered} recoverable "
                f"exactly; ranges narrower than {settings.min_feasible_range} in "
                f"{', '.join(narrow) or 'none'}",
                [self.describe(table, row) for table, row in offending],
            )
        report = DisclosureReport(
            self.pattern.counts(), self.dropped, len(self.systems), recovered, narrowest,
            round(time.perf_counter() - self.started, 3),
        )  # fmt: skip
        log.debug("disclosure control: %s", report)
        return report


def suppress(
    tables: dict[str, pl.DataFrame],
    context: pl.LazyFrame,
    frames: dict[str, pl.LazyFrame],
    settings: Settings,
    groupings: Groupings,
    earlier: list[dict[str, pl.DataFrame]] | None = None,
) -> Suppression:
    """Primary, revision and complementary suppression over every linked table (not yet
    audited). `earlier` are the series' earlier releases, oldest first (their published
    tables): cells they left suppressed stay suppressed, and cells whose change would disclose
    a small group are held back (`revisions.held_back`)."""
    started = time.perf_counter()
    tables = dict(tables)
    before = {name: table.height for name, table in tables.items()}
    tables["kq_trend"] = tables["kq_trend"].filter(~withheld(settings))
    tables["subgroups"] = tables["subgroups"].filter(~single_category())
    dropped = {name: before[name] - table.height for name, table in tables.items()}
    pattern = Pattern(
        {name: primary(tables[name], settings) for name in PROTECTED_TABLES},
        revision={
            name: revisions.held_back(
                tables[name],
                [release[name] for release in earlier or [] if name in release],
                registry.spec(name).keys,
                settings,
            )
            for name in PROTECTED_TABLES
        },
    )
    systems = _systems(tables, context, frames, pattern, groupings)
    require_covered(tables, systems)
    for system in systems:
        try:
            _, complementary = search(system, settings)
        except Unprotectable:
            _withhold(pattern, system)
            continue
        _record(pattern, system, complementary)
    published = {
        name: apply(tables[name], pattern.suppressed(name), pattern.reasons(name))
        for name in PROTECTED_TABLES
    }
    return Suppression(published, systems, pattern, dropped, settings, started)
