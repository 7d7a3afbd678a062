"""Linked cells: which published cells add up from which pieces, for disclosure control.

Every published count is a sum over *atoms*: the finest pieces any table splits the data into.
For the key-question tables an atom is one inspection's answers in one region (with that
inspection's periods and era); a trend cell, an inspection cell and a before/after cell are
each the sum of the atoms they cover. A `CellSystem` holds one family of linked cells (one key
question in one series; one enquiry measure; one breakdown of one key question) as a 0/1
incidence matrix, so that the disclosure search and the differencing attack can ask what the
published cells reveal about the suppressed ones.

Breakdowns (sufficiency by risk, gender, ...) are national and share only their era totals
with the other tables; each breakdown is its own system in which those totals are public.
Treating them as public is deliberately generous to an attacker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.domain import NATIONAL, PERIOD_TYPES
from pipeline.tables import measures, registry
from pipeline.tables.cells import in_regional_figures
from pipeline.tables.same_area import need_comparable_expr

DIMENSIONS = ("n_yes", "n_no", "n_na")
"""The additive counts of every cell; n_applicable = n_yes + n_no."""


@dataclass
class CellSystem:
    """One family of linked cells.

    `incidence[c, a]` is 1 where cell c includes atom a; `counts[a]` holds the atom's yes, no and
    not-applicable answers; `known` rows are sums an attacker is assumed to know regardless of
    suppression. Cells belong to table rows (`units`): a row is published or suppressed whole.
    """

    name: str
    counts: np.ndarray  # (atoms, 3)
    incidence: np.ndarray  # (cells, atoms), 0/1
    cell_unit: np.ndarray  # (cells,) index into units
    cell_part: np.ndarray  # (cells,) which part of its row ('', or the era of a pre/post pair)
    units: pl.DataFrame  # table, row, primary, cost, national
    known: np.ndarray  # (k, atoms), 0/1

    @property
    def cell_counts(self) -> np.ndarray:
        """(cells, 3) yes, no, na of every cell."""
        return np.asarray(self.incidence @ self.counts)


def _with_row(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("_row")


def _memberships(
    atoms: pl.DataFrame, table: pl.DataFrame, name: str, keys: list[str], part: str | None = None
) -> pl.DataFrame:
    """(family, table, row, part, atom) for every atom a table row covers, by equal keys."""
    joined = atoms.join(_with_row(table).select(*keys, "_row"), on=keys, how="inner")
    return joined.select(
        "_family",
        pl.lit(name).alias("table"),
        pl.col("_row").cast(pl.Int64).alias("row"),
        (pl.col(part).cast(pl.String) if part else pl.lit("")).alias("part"),
        "_atom",
    )


def _scoped(atoms: pl.DataFrame, by_region: bool = True) -> pl.DataFrame:
    """Each atom once for England and Wales and, where its programme counts towards regional
    figures (and the table has regions), once for its region, as `scope` (the same rule as
    the tables')."""
    regional = pl.when(in_regional_figures() & by_region).then(pl.col("region"))
    return atoms.with_columns(
        pl.concat_list(pl.lit(NATIONAL), regional).list.drop_nulls().alias("scope")
    ).explode("scope")


def _periods(atoms: pl.DataFrame, period_types: tuple[str, ...]) -> pl.DataFrame:
    """Each atom once per period type, with the period label as text."""
    return pl.concat(
        [
            atoms.with_columns(
                pl.lit(t).alias("period_type"), pl.col(t).cast(pl.String).alias("period")
            )
            for t in period_types
        ]
    )


def kq_atoms(context: pl.LazyFrame) -> pl.DataFrame:
    """Answers counted per key question x inspection x region (with periods and era): the
    atoms of the key-question tables, numbered within each (series, comparable_id) family."""
    keys = ["series", "comparable_id", "inspection_id", "region", *PERIOD_TYPES, "era"]
    value = pl.col("answer").cast(pl.String)
    return (
        context.group_by(keys)
        .agg(*[(value == d.removeprefix("n_")).sum().cast(pl.Int64).alias(d) for d in DIMENSIONS])
        .with_columns(pl.col(PERIOD_TYPES).cast(pl.String), pl.col("era").cast(pl.String))
        .sort(keys)
        .collect()
        .with_columns(
            pl.concat_str("series", pl.lit("|"), "comparable_id").alias("_family"),
        )
        .with_columns(pl.int_range(pl.len()).over("_family").alias("_atom"))
    )


def kq_memberships(
    atoms: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    rounds: pl.DataFrame,
    cohorts: pl.DataFrame,
    same_area: pl.DataFrame,
    bridge: pl.DataFrame,
) -> pl.DataFrame:
    """Which atoms every row of kq_trend, kq_by_inspection, unification, same_area, kq_round,
    kq_cohort and dipp_bridge covers. `rounds` maps inspection_id to regional_round, `cohorts`
    to cohort (an inspection may be in several cohorts), `same_area` lists the
    inspection-regions of the same-area comparison, `bridge` maps inspection_id to the bridge's
    scope and measurement (`tables.dipp_bridge.members`)."""
    scoped = _scoped(atoms)
    parts = [
        _memberships(
            _periods(scoped, PERIOD_TYPES),
            tables["kq_trend"],
            "kq_trend",
            ["series", "comparable_id", "scope", "period_type", "period"],
        ),
        _memberships(
            atoms,
            tables["kq_by_inspection"],
            "kq_by_inspection",
            ["comparable_id", "inspection_id"],
        ),
        _memberships(
            scoped.filter(pl.col("series") == "core"),
            tables["unification"],
            "unification",
            ["comparable_id", "scope"],
            part="era",
        ),
        _same_area_memberships(scoped, tables["same_area"], "same_area", same_area),
        _memberships(
            atoms.join(rounds, on="inspection_id", how="inner"),
            tables["kq_round"],
            "kq_round",
            ["series", "comparable_id", "regional_round"],
        ),
        _memberships(
            scoped.join(cohorts, on="inspection_id", how="inner"),
            tables["kq_cohort"],
            "kq_cohort",
            ["cohort", "series", "comparable_id", "scope"],
        ),
        _memberships(
            atoms.join(
                bridge.select("inspection_id", "scope", "measurement"),
                on="inspection_id",
                how="inner",
            ),
            tables["dipp_bridge"],
            "dipp_bridge",
            ["series", "comparable_id", "scope", "measurement"],
        ),
    ]
    return pl.concat(parts)


def _same_area_memberships(
    scoped: pl.DataFrame, table: pl.DataFrame, name: str, same_area: pl.DataFrame
) -> pl.DataFrame:
    """A same-area comparison's rows: core atoms of the matched inspection-regions, each in
    its era's part of the row (as the before/after table)."""
    keys = same_area.select("inspection_id", "region")
    chosen = scoped.filter(pl.col("series") == "core").join(
        keys, on=["inspection_id", "region"], how="semi"
    )
    return _memberships(chosen, table, name, ["comparable_id", "scope"], part="era")


MEASURE_COMPARISONS = {"needs": "same_area_needs"}
"""Comparison tables counted from a measure table's answers (so in its cell systems): the
needs met compared for the same areas are the `needs` table's 'met' answers
(`same_area.need_comparable_expr` maps a measure to the comparison's id)."""


def with_comparisons(
    members: pl.DataFrame,
    atoms: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    name: str,
    same_area: pl.DataFrame,
) -> pl.DataFrame:
    """A measure table's memberships plus those of the comparison counted from its answers
    (measure codes are the comparison's comparable_id)."""
    comparison = MEASURE_COMPARISONS.get(name)
    if comparison is None:
        return members
    scoped = _scoped(
        atoms.with_columns(need_comparable_expr(pl.col("measure")).alias("comparable_id"))
    )
    extra = _same_area_memberships(scoped, tables[comparison], comparison, same_area)
    return pl.concat([members, extra])


def measure_atoms(counted: pl.DataFrame, table: str) -> pl.DataFrame:
    """A measure table's atoms (`measures.measure_atoms`: measure x series x inspection x
    region, with the periods), numbered within each (table, measure, series) family."""
    return (
        counted.with_columns(pl.col(list(measures.MEASURE_PERIODS)).cast(pl.String))
        .sort("measure", "series", "inspection_id", "region", *measures.MEASURE_PERIODS)
        .with_columns(
            pl.concat_str(pl.lit(table), "measure", "series", separator="|").alias("_family")
        )
        .with_columns(pl.int_range(pl.len()).over("_family").alias("_atom"))
    )


def measure_memberships(atoms: pl.DataFrame, table: pl.DataFrame, name: str) -> pl.DataFrame:
    """Which atoms every row of a measure table covers."""
    periods = measures.MEASURE_TABLES[name]
    return _memberships(
        _periods(_scoped(atoms, name not in measures.NATIONAL_ONLY), periods),
        table,
        name,
        ["measure", "series", "scope", "period_type", "period"],
    )


def subgroup_atoms(subgroups: pl.DataFrame) -> pl.DataFrame:
    """Each breakdown row is its own atom: its system is the breakdown of one key question in
    one series by one characteristic, both eras."""
    return (
        _with_row(subgroups)
        .with_columns(
            pl.concat_str("series", pl.lit("|"), "comparable_id", pl.lit("|"), "subgroup").alias(
                "_family"
            ),
            pl.col("_row").cast(pl.Int64).alias("row"),
        )
        .sort("_family", "_row")
        .with_columns(pl.int_range(pl.len()).over("_family").alias("_atom"))
    )


HEADLINE_WEIGHT = 1000.0
"""How much more a row of a headline table costs to suppress than its answers alone say: the
before/after comparison is what bulletins lead with, so the search avoids it where it can."""
NATIONAL_WEIGHT = 100.0
"""England and Wales cells are the most used; suppressing one costs a hundred times its answers."""


def row_weights(table: pl.DataFrame, name: str = "") -> np.ndarray:
    """How much more than its answers a row costs to hide (above 1: a headline row)."""
    headline = name in registry.BY_NAME and registry.spec(name).headline
    weight = np.full(table.height, HEADLINE_WEIGHT if headline else 1.0)
    if "scope" in table.columns:
        weight = weight * np.where(table["scope"].to_numpy() == NATIONAL, NATIONAL_WEIGHT, 1.0)
    return weight


def _national(table: pl.DataFrame) -> np.ndarray:
    if "scope" not in table.columns:
        return np.zeros(table.height, dtype=bool)
    return np.asarray(table["scope"].to_numpy() == NATIONAL)


def row_costs(table: pl.DataFrame, name: str = "") -> np.ndarray:
    """How much information a row carries: its applicable answers (all parts together), more
    for headline tables and for England and Wales. The search suppresses the cheapest first."""
    columns = [c for c in table.columns if c.startswith("n_applicable")]
    answers = table.select(pl.sum_horizontal(pl.col(columns).fill_null(0))).to_series().to_numpy()
    return np.asarray(answers * row_weights(table, name))


def subgroup_memberships(atoms: pl.DataFrame) -> pl.DataFrame:
    return atoms.select(
        "_family", pl.lit("subgroups").alias("table"), "row", pl.lit("").alias("part"), "_atom"
    )


def build_systems(
    atoms: pl.DataFrame,
    memberships: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    primary: dict[str, np.ndarray],
    known_by: str | None = None,
) -> list[CellSystem]:
    """One `CellSystem` per family; `primary[table]` flags the table's primary-suppressed rows.

    With `known_by`, every family's sums by that atom column (e.g. era) are public."""
    systems = []
    rows = _RowFacts(
        {name: row_costs(frame, name) for name, frame in tables.items()},
        {name: _national(frame) for name, frame in tables.items()},
        primary,
    )  # once for all families: computing them per family was most of this function's time
    atoms_by_family = atoms.sort("_atom").partition_by("_family", as_dict=True)
    for (family,), members in memberships.sort("_family").group_by("_family", maintain_order=True):
        family_atoms = atoms_by_family.get((family,), atoms.clear())
        systems.append(_system(str(family), family_atoms, members, rows, known_by))
    return systems


@dataclass(frozen=True)
class _RowFacts:
    """Per table, per row: cost to suppress, England and Wales or not, primary or not."""

    cost: dict[str, np.ndarray]
    national: dict[str, np.ndarray]
    primary: dict[str, np.ndarray]


def _system(
    family: str,
    atoms: pl.DataFrame,
    members: pl.DataFrame,
    facts: _RowFacts,
    known_by: str | None,
) -> CellSystem:
    cells = (
        members.select("table", "row", "part")
        .unique(maintain_order=True)
        .sort("table", "row", "part")
    )
    cells = cells.with_row_index("_cell")
    units = cells.select("table", "row").unique(maintain_order=True).with_row_index("_unit")
    cells = cells.join(units, on=["table", "row"])
    pairs = members.join(cells, on=["table", "row", "part"]).select("_cell", "_atom")
    incidence = np.zeros((cells.height, atoms.height))
    incidence[pairs["_cell"].to_numpy(), pairs["_atom"].to_numpy()] = 1.0
    counts = atoms.select(DIMENSIONS).to_numpy().astype(float)
    rows = units.select("table", "row").rows()
    flags = [bool(facts.primary[t][r]) for t, r in rows]
    cost = [float(facts.cost[t][r]) for t, r in rows]
    national_rows = [bool(facts.national[t][r]) for t, r in rows]
    known = np.zeros((0, atoms.height))
    if known_by:
        labels = atoms[known_by].to_numpy()
        known = np.stack([(labels == v).astype(float) for v in np.unique(labels)])
    ordered = cells.sort("_cell")
    return CellSystem(
        family,
        counts,
        incidence,
        ordered["_unit"].to_numpy(),
        ordered["part"].to_numpy(),
        units.select("table", "row").with_columns(
            pl.Series("primary", flags),
            pl.Series("cost", cost),
            pl.Series("national", national_rows),
        ),
        known,
    )
