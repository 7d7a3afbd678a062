"""Declared output contracts, checked on every run before anything is committed.

Each stored table declares its key (unique, never missing) and the rules its rows obey; the
case tables form a collection in which every answer belongs to a stored case and every case has
an answer. Publication tables add the statistical invariants: percentages within 0-100, every
interval containing its estimate, and no visible cell resting on fewer answers than the
suppression threshold.

The checks use dataframely (Quantco's Polars-native schema library): schemas are declared as
Polars expressions, evaluated lazily over whole columns, and a failure names the rule and
returns the offending rows. It was chosen over pandera's Polars backend (a pandas-first library
with a Polars adapter) and patito (row models built on pydantic) because its rules are plain
Polars expressions and its collections check relations between tables.

This module must not use `from __future__ import annotations`: dataframely reads the
collection's member annotations at class creation.
"""

import logging
from collections.abc import Callable

import dataframely as dy
import polars as pl

from pipeline.domain import ANSWER_STANDARDS, ANSWERS, ERAS, QUESTIONS, THEMES
from pipeline.tables import registry

log = logging.getLogger(__name__)

TOLERANCE = 1e-9  # floating-point slack when comparing an estimate with its interval
ROWS_SHOWN = 5

STORED_KEYS: dict[str, tuple[str, ...]] = {
    "cases": ("inspection_id", "case_id"),
    "answers": ("inspection_id", "case_id", "key_question"),
    "inspections": ("inspection_id",),
    "prompt_answers": ("inspection_id", "case_id", "prompt"),
    "rationales": ("inspection_id", "case_id", "key_question"),
    "rejected": ("source_file", "source_row"),
    "field_issues": ("source_file", "source_row", "column"),
    "published": ("source_file", "source_row"),
    "published_rejected": ("source_file", "source_row"),
    "cohorts": ("cohort",),
}
"""Key columns of every stored table: unique and never missing."""

PUBLICATION_KEYS = registry.PUBLICATION_KEYS
"""Key columns of every publication table: one row per cell (declared in the registry)."""


class ContractViolation(RuntimeError):
    """A table breaks its declared contract: a pipeline defect, never published."""


# --- the case tables -------------------------------------------------------------------------


class CaseSchema(dy.Schema):
    """`cases`: one row per accepted case."""

    inspection_id = dy.String(primary_key=True)
    case_id = dy.String(primary_key=True)
    era = dy.Enum(list(ERAS))
    fieldwork_start = dy.Date()
    fieldwork_end = dy.Date()
    start_date = dy.Date()

    @dy.rule()
    def fieldwork_in_order(cls) -> pl.Expr:
        return pl.col("fieldwork_start") <= pl.col("fieldwork_end")

    @dy.rule()
    def started_before_fieldwork_ended(cls) -> pl.Expr:
        return pl.col("start_date") <= pl.col("fieldwork_end")


class AnswerSchema(dy.Schema):
    """`answers`: one row per case x key question answered."""

    inspection_id = dy.String(primary_key=True)
    case_id = dy.String(primary_key=True)
    key_question = dy.Enum(list(QUESTIONS), primary_key=True)
    standard = dy.Enum(list(ANSWER_STANDARDS))
    theme = dy.Enum(list(THEMES), nullable=True)  # court work and resettlement have none
    comparable_id = dy.String()
    answer = dy.Enum(list(ANSWERS))


class CaseTables(dy.Collection):
    """Cases and their answers: every answer belongs to a stored case, every case has one."""

    cases: dy.LazyFrame[CaseSchema]
    answers: dy.LazyFrame[AnswerSchema]

    @dy.filter()
    def answers_link_to_cases(self) -> pl.LazyFrame:
        return dy.require_relationship_one_to_at_least_one(
            self.cases, self.answers, on=["inspection_id", "case_id"]
        )


def check_case_tables(cases: pl.DataFrame, answers: pl.DataFrame) -> None:
    """Raise `ContractViolation` unless cases and answers meet their schemas and link up."""
    members = {
        "cases": cases.lazy().select(CaseSchema.column_names()),
        "answers": answers.lazy().select(AnswerSchema.column_names()),
    }
    result = CaseTables.filter(members)
    for name, failure in result.failure.items():
        counts = failure.counts()
        if counts:
            _raise(name, counts, failure.invalid())


# --- every stored and publication table ------------------------------------------------------


def _column(dtype: pl.DataType, key: bool) -> dy.Column:
    """The dataframely column for a Polars dtype (keys unique and never missing)."""
    if isinstance(dtype, pl.Enum):
        categories = dtype.categories.to_list()
        if key:
            return dy.Enum(categories, primary_key=True)
        return dy.Enum(categories, nullable=True)
    simple: list[tuple[object, Callable[..., dy.Column]]] = [
        (pl.String, dy.String),
        (pl.Float64, dy.Float64),  # NaN never reaches a table: missing values are nulls
        (pl.Int64, dy.Int64),
        (pl.Int32, dy.Int32),
        (pl.Int16, dy.Int16),
        (pl.Int8, dy.Int8),
        (pl.UInt32, dy.UInt32),
        (pl.Boolean, dy.Bool),
        (pl.Date, dy.Date),
    ]
    for kind, column in simple:
        if dtype == kind:
            return column(primary_key=True) if key else column(nullable=True)
    return dy.Any()


def _within(low: str, value: str, high: str) -> Callable[[type], pl.Expr]:
    """low <= value <= high wherever all three are present."""

    def rule(_cls: type) -> pl.Expr:
        inside = (pl.col(low) <= pl.col(value) + TOLERANCE) & (
            pl.col(value) <= pl.col(high) + TOLERANCE
        )
        return pl.any_horizontal(pl.col(low, value, high).is_null()) | inside

    return rule


def _percentage(column: str) -> Callable[[type], pl.Expr]:
    def rule(_cls: type) -> pl.Expr:
        return pl.col(column).is_null() | pl.col(column).is_between(0, 100)

    return rule


def _visible_not_small(
    columns: list[str], threshold: int, min_outcome: int
) -> Callable[[type], pl.Expr]:
    """No visible (unsuppressed) cell rests on fewer than `threshold` applicable answers or
    shows fewer than `min_outcome` sufficient or insufficient cases."""
    denominators = [c for c in columns if c.startswith("n_applicable")]
    outcomes = [c for c in columns if c.startswith(("n_yes", "n_no"))]

    def rule(_cls: type) -> pl.Expr:
        small = pl.any_horizontal(
            *[pl.col(d).is_not_null() & (pl.col(d) < threshold) for d in denominators],
            *[pl.col(o).is_not_null() & (pl.col(o) < min_outcome) for o in outcomes],
        )
        return pl.col("suppressed").fill_null(False) | ~small

    return rule


def _reason_given(_cls: type) -> pl.Expr:
    """A suppressed row says why; a visible one has no reason."""
    return pl.col("suppressed").fill_null(False) == pl.col("suppression").is_not_null()


def _rules(columns: list[str], threshold: int, min_outcome: int) -> dict[str, object]:
    """The statistical rules that apply to a table, by the columns it has."""
    rules: dict[str, object] = {}
    for suffix in ("", "_pre", "_post"):
        pct = f"pct{suffix}"
        if pct in columns:
            rules[f"{pct}_within_0_100"] = dy.rule()(_percentage(pct))
            if f"ci_low{suffix}" in columns:
                within = _within(f"ci_low{suffix}", pct, f"ci_high{suffix}")
                rules[f"interval_contains_{pct}"] = dy.rule()(within)
    if "ci_cluster_low" in columns:
        within = _within("ci_cluster_low", "pct", "ci_cluster_high")
        rules["cluster_interval_contains_pct"] = dy.rule()(within)
    if "diff_ci_low" in columns:
        rules["interval_contains_diff_pp"] = dy.rule()(
            _within("diff_ci_low", "diff_pp", "diff_ci_high")
        )
    if "share_pct" in columns:
        rules["share_pct_within_0_100"] = dy.rule()(_percentage("share_pct"))
    if "suppressed" in columns and any(c.startswith("n_applicable") for c in columns):
        rules["no_visible_cell_below_threshold"] = dy.rule()(
            _visible_not_small(columns, threshold, min_outcome)
        )
    if "suppression" in columns:
        rules["suppressed_rows_say_why"] = dy.rule()(_reason_given)
    return rules


def table_schema(
    name: str, frame: pl.DataFrame, keys: tuple[str, ...], threshold: int, min_outcome: int = 0
) -> type:
    """A dataframely schema for one table: its columns typed as they are, its key declared and
    the statistical rules that apply to its columns."""
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise ContractViolation(f"table {name}: key column(s) missing: {', '.join(missing)}")
    attributes: dict[str, object] = {
        column: _column(dtype, column in keys) for column, dtype in frame.schema.items()
    }
    attributes |= _rules(frame.columns, threshold, min_outcome)
    return type(f"{name}_contract", (dy.Schema,), attributes)


def check_tables(
    tables: dict[str, pl.DataFrame],
    keys: dict[str, tuple[str, ...]],
    threshold: int,
    min_outcome: int = 0,
) -> None:
    """Raise `ContractViolation` for the first table that breaks its contract."""
    for name, frame in tables.items():
        if name not in keys:
            raise ContractViolation(f"table {name} has no declared contract (add its key)")
        schema = table_schema(name, frame, keys[name], threshold, min_outcome)
        _, failure = schema.filter(frame)  # type: ignore[attr-defined]
        counts = failure.counts()
        if counts:
            _raise(name, counts, failure.invalid())
    log.debug("contracts hold for %s", ", ".join(tables))


def _raise(table: str, counts: dict[str, int], rows: pl.DataFrame) -> None:
    rules = ", ".join(f"{rule} ({n:,} row(s))" for rule, n in sorted(counts.items()))
    sample = rows.head(ROWS_SHOWN).to_dicts()
    raise ContractViolation(f"table {table} breaks its contract: {rules}. First rows: {sample}")
