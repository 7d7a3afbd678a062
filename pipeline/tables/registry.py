"""The table registry: one declaration per publication table, read by everything that writes one.

Each `TableSpec` names the table, its key columns (one row per cell), its title and description
(workbook sheet, DuckDB comment, data dictionary) and **how it is protected when released**:

* `SUPPRESSED`: its cells belong to the linked cell systems of `disclosure.py`; primary and
  complementary suppression apply and the differencing attack tests every suppressed cell.
* `FROM_PROTECTED`: built in a release only from the published cells of suppressed tables (a
  rating is withheld where a key question it rests on is suppressed).
* `MODEL`: model estimates from case data, published under the table's `ModelRule` (estimates
  rounded, no case counts, only the scopes the rule names), so no estimate can be inverted into a
  suppressed count.
* `NOT_CASE_DATA`: real published figures, public already.
* `INSPECTION_FACTS`: which inspections an analysis used and how they were matched (counts of
  inspections, never of cases or answers): inspections are public events.

A table that is not declared here cannot be written (`spec` raises `UndeclaredTable`), so a new
table cannot reach a workbook, database or release without a protection rule. Adding a table is
its builder plus one entry here (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

from pipeline.domain import NATIONAL


class UndeclaredTable(RuntimeError):
    """A table with no registry entry (so no protection rule) was about to be written."""


class Protection(StrEnum):
    """How a table is protected in a release (see the module docstring)."""

    SUPPRESSED = "cell suppression, tested by the differencing attack"
    FROM_PROTECTED = "built from published (protected) cells only"
    MODEL = "model estimates: rounded, no case counts"
    NOT_CASE_DATA = "real published figures, not case data"
    INSPECTION_FACTS = "counts of inspections used: no case counts"


@dataclass(frozen=True)
class ModelRule:
    """What a release publishes of a model table built from case data.

    `scopes`: the scopes kept (None keeps every row); `drop`: columns never published (counts of
    cases, which with full-precision estimates would let a reader solve for suppressed cells);
    `decimals`: column-name suffix -> decimal places (first match wins; unmatched floats keep
    `default_decimals`)."""

    scopes: tuple[str, ...] | None
    drop: tuple[str, ...]
    decimals: tuple[tuple[str, int], ...]
    default_decimals: int = 0

    def apply(self, table: pl.DataFrame) -> pl.DataFrame:
        """The table as released under this rule."""
        if self.scopes is not None and "scope" in table.columns:
            table = table.filter(pl.col("scope").is_in(list(self.scopes)))
        table = table.drop([c for c in self.drop if c in table.columns])
        floats = [c for c, t in table.schema.items() if t.is_float()]
        return table.with_columns(pl.col(c).round(self._places(c)) for c in floats)

    def _places(self, column: str) -> int:
        for suffix, places in self.decimals:
            if column.endswith(suffix):
                return places
        return self.default_decimals


@dataclass(frozen=True)
class Precision:
    """What a release shows of a counted-cell table beyond its counts.

    The attack models the counts (linear sums); second-moment statistics on a published row
    (the pooled ICC, the design effect, the effective sample size, the cluster intervals that
    rest on them, clustered and model-based differences) are functions of every inspection's
    count in the cell, suppressed ones included, and at full precision let an intruder solve for
    suppressed cells (sum of squared sizes from the design effect). A release therefore drops
    the statistics a reader does not need and rounds the rest to what a reader uses:
    `decimals` is a list of (regular expression on the column name, places); the first match
    wins; other float columns get `default_decimals`."""

    drop: tuple[str, ...]
    decimals: tuple[tuple[str, int], ...]
    default_decimals: int = 1

    def apply(self, table: pl.DataFrame) -> pl.DataFrame:
        """The table as released at this precision."""
        table = table.drop([c for c in self.drop if c in table.columns])
        floats = [c for c, t in table.schema.items() if t.is_float()]
        return table.with_columns(self._rounded(c) for c in floats)

    def _rounded(self, column: str) -> pl.Expr:
        import re

        places = next(
            (p for pattern, p in self.decimals if re.search(pattern, column)),
            self.default_decimals,
        )
        if places < 0:  # to the nearest 10, 100, ...
            step = 10 ** (-places)
            scaled: pl.Expr = (pl.col(column) / step).round(0) * step
            return scaled.alias(column)
        return pl.col(column).round(places)


CELL_PRECISION = Precision(
    drop=("design_effect_empirical", "icc_df"),
    decimals=(
        (r"p_value", 3),
        (r"^icc$", 2),
        (r"odds_ratio", 2),
        (r"n_effective", -1),
    ),
)
"""Counted-cell tables in a release: percentages, intervals, differences and design effects to
1 decimal place (what the workbook and bulletins show), p-values to 3, the ICC to 2, the
effective sample size to the nearest 10; the cell's own empirical design effect is not
released."""

ITS_RULE = ModelRule(
    scopes=(NATIONAL,),
    drop=("n_cases",),
    decimals=(("p_value", 3), ("max_leverage", 2), ("df", 1)),
)
"""Regional segmented regressions rest on 10-23 inspection-level points each (issue 25): they are
analysis outputs only. England and Wales estimates are published to whole percentage points
without the count of cases."""

PRACTITIONER_RULE = ModelRule(
    scopes=None,
    drop=(),
    decimals=(("p_value", 3), ("p_value_holm", 3), ("odds_ratio", 2)),
)
"""National logistic models over every post-unification case: marginal effects to whole
percentage points, odds ratios to 2 places, p-values to 3."""


@dataclass(frozen=True)
class TableSpec:
    """One publication table: identity, words and protection."""

    name: str
    keys: tuple[str, ...]
    title: str
    description: str
    protection: Protection
    model_rule: ModelRule | None = field(default=None)
    sheet: str = ""  # the workbook sheet's name (<= 31 characters); empty: the table's name
    headline: bool = False
    """A comparison bulletins lead with: the suppression search avoids hiding its rows
    (`disclosure.linked_cells.HEADLINE_WEIGHT`)."""

    def __post_init__(self) -> None:
        if (self.protection is Protection.MODEL) != (self.model_rule is not None):
            raise UndeclaredTable(f"table {self.name}: a MODEL table needs a model_rule")


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "kq_trend",
        sheet="Key questions over time",
        keys=("series", "comparable_id", "scope", "period_type", "period"),
        title="Sufficiency by key question over time",
        description=(
            "Key question x scope (England and Wales, 12 regions) x period (calendar year, "
            "financial year, half-year, inspection programme), with intervals that allow for "
            "cases being clustered in inspections, and Wilson intervals that do not. [note 1] "
            "[note 2] [note 3] [note 4]"
        ),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "unification",
        sheet="Before and after unification",
        keys=("comparable_id", "scope"),
        title="Before and after unification (26 June 2021)",
        description=(
            "Pre- vs post-unification sufficiency per key question and scope: the "
            "case-mix-adjusted clustered difference (the headline), the clustered difference, "
            "and the raw difference that ignores clustering; adjusted p-values for many "
            "comparisons and the minimum detectable difference. [note 1] [note 5] [note 6]"
        ),
        protection=Protection.SUPPRESSED,
        headline=True,
    ),
    TableSpec(
        "same_area",
        sheet="Same areas before and after",
        keys=("comparable_id", "scope"),
        title="Same areas: last CRC and NPS round against the first unified inspections",
        description=(
            "As the 2022-23 annual report compared them: per region, the last inspection of "
            "each CRC and NPS division with cases there (before 26 June 2021) against each "
            "PDU's first inspection as a unified service; England and Wales pools the matched "
            "regions. Differences as in the before-and-after table. [note 1] [note 5] [note 6]"
        ),
        protection=Protection.SUPPRESSED,
        headline=True,
    ),
    TableSpec(
        "same_area_needs",
        sheet="Same areas, needs met",
        keys=("comparable_id", "scope"),
        title="Same areas: needs met in the last CRC and NPS round and since unification",
        description=(
            "Share of people with each kind of need whose need was addressed, compared for the "
            "same areas and inspections as the same-areas table. [note 1] [note 5] [note 6]"
        ),
        protection=Protection.SUPPRESSED,
        headline=True,
    ),
    TableSpec(
        "same_area_matching",
        sheet="Same areas, matching",
        keys=("scope",),
        title="Same areas: which inspections were matched",
        description=(
            "Per region, the CRC and NPS inspections (the last of each division) and the PDU "
            "inspections (the first of each PDU since unification) the same-area comparison "
            "uses; a region without both is not matched, and the reason is given. England and "
            "Wales counts each inspection once, so a CRC or NPS division with cases in two "
            "regions makes the regions' counts add to more."
        ),
        protection=Protection.INSPECTION_FACTS,
    ),
    TableSpec(
        "kq_by_inspection",
        sheet="By inspection",
        keys=("inspection_id", "comparable_id"),
        title="Sufficiency by inspection and key question",
        description=("What each inspection report would publish. [note 1] [note 2]"),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "subgroups",
        sheet="By case characteristics",
        keys=("series", "comparable_id", "era", "subgroup", "subgroup_value", "scope"),
        title="Sufficiency by case characteristics",
        description=(
            "By risk of serious harm, case type, gender, ethnicity, age band and MAPPA level, "
            "for each key question and era. [note 1] [note 2]"
        ),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "enquiries",
        sheet="Abuse and safeguarding enquiry",
        keys=("measure", "series", "scope", "period_type", "period"),
        title="Domestic abuse and child safeguarding enquiries",
        description=("Enquiries made among cases where the concern was flagged. [note 1] [note 2]"),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "prompts",
        sheet="Prompts",
        keys=("measure", "series", "scope", "period_type", "period"),
        title="Prompts under the key questions",
        description=(
            "Share of relevant cases meeting each prompt (e.g. domestic abuse information "
            "used to assess risk), by scope and programme or era, with the key question it "
            "sits under. [note 1] [note 2] [note 3]"
        ),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "needs",
        sheet="Needs",
        keys=("measure", "series", "scope", "period_type", "period"),
        title="Needs identified and met",
        description=(
            "Per kind of need (accommodation, employment, drugs, ...), among people with the "
            "need: the share whose need was identified and the share whose need was addressed "
            "(met), by scope and programme or era, and for the same-area comparison. [note 1] "
            "[note 2] [note 3]"
        ),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "oversight",
        sheet="Management oversight",
        keys=("measure", "series", "scope", "period_type", "period"),
        title="Management oversight",
        description=(
            "Share of cases where management oversight was judged sufficient, by scope and "
            "period. [note 1] [note 2] [note 3]"
        ),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "rationale_themes",
        sheet="Themes in inspectors reasons",
        keys=("measure", "series", "scope", "period_type", "period"),
        title="Themes in inspectors' reasons",
        description=(
            "Share of cases judged sufficient (or not) whose rationale mentions each theme "
            "(e.g. information from the police, home visits), coded by a published "
            "dictionary; the text itself is never published. [note 2] [note 3]"
        ),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "practitioner_effects",
        sheet="By practitioner",
        keys=("characteristic", "level", "theme"),
        title="Sufficiency by practitioner grade, caseload and experience",
        description=(
            "Each level against a reference level (probation officer; under 40 cases; over 5 "
            "years in post), allowing for case mix, the key question and the programme, with "
            "errors clustered by inspection; Holm-adjusted within each characteristic and "
            "theme. Model estimates only. [note 5] [note 6]"
        ),
        protection=Protection.MODEL,
        model_rule=PRACTITIONER_RULE,
    ),
    TableSpec(
        "its",
        sheet="Segmented regression",
        keys=("comparable_id", "scope", "model"),
        title="Step or trend: segmented regression around unification",
        description=(
            "Level change (step) and change of slope at 26 June 2021 per key question and "
            "scope, with Covid-period and 2023-standards terms and three sensitivity "
            "analyses. [note 9]"
        ),
        protection=Protection.MODEL,
        model_rule=ITS_RULE,
    ),
    TableSpec(
        "funnel",
        sheet="Funnel plot data",
        keys=("comparable_id", "programme", "level", "unit"),
        title="Funnel plot data: inspections and regions against England and Wales",
        description=(
            "Each unit's sufficiency against England and Wales in the same programme, with "
            "95% and 99.8% limits allowing for over-dispersion, and shrunken estimates. [note "
            "10]"
        ),
        protection=Protection.FROM_PROTECTED,
    ),
    TableSpec(
        "kq_cohort",
        sheet="By cohort of inspections",
        keys=("cohort", "series", "comparable_id", "scope"),
        title="Sufficiency by cohort of inspections",
        description=(
            "Key question x named cohort (a selection of inspections by type, programme, "
            "fieldwork window or publication window, e.g. reports published February 2022 to "
            "August 2023) x scope, with intervals that allow for clustering. [note 1] [note "
            "2] [note 3]"
        ),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "kq_round",
        sheet="Regional rounds",
        keys=("regional_round", "series", "comparable_id"),
        title="Regional rounds: PDU cases pooled per regional inspection",
        description=(
            "Key question x regional round: every PDU inspected in the round, pooled, as the "
            "regional inspection's evidence for its desistance and public protection "
            "standards. [note 1] [note 2] [note 3]"
        ),
        protection=Protection.SUPPRESSED,
    ),
    TableSpec(
        "ratings",
        sheet="Standard ratings",
        keys=("inspection_id", "standard"),
        title="Standard ratings by the configured rule",
        description=(
            "Each case-supervision standard of a CRC, NPS or PDU inspection rated by its "
            "lowest key question under the configured bands (see the note). National and "
            "dynamic inspections do not rate case standards and are not included. [note 7]"
        ),
        protection=Protection.FROM_PROTECTED,
    ),
    TableSpec(
        "regional_ratings",
        sheet="Regional ratings (derived)",
        keys=("regional_round", "regional_standard"),
        title="Regional ratings derived from pooled PDU case data",
        description=(
            "Desistance, public protection, resettlement and court work per regional round, "
            "rated from the round's pooled PDU cases by the configured rule (unverified), "
            "beside the ratings HM Inspectorate of Probation published for the region where "
            "known. [note 7]"
        ),
        protection=Protection.FROM_PROTECTED,
    ),
    TableSpec(
        "ratings_overall",
        sheet="Overall ratings",
        keys=("inspection_id",),
        title="Overall ratings",
        description=(
            "Overall score and rating where the framework's bands allow it; otherwise the "
            "reason. [note 7]"
        ),
        protection=Protection.FROM_PROTECTED,
    ),
    TableSpec(
        "published_ratings",
        sheet="Published ratings (real data)",
        keys=("inspection_type", "grouping", "group", "rating"),
        title="Published overall ratings (real data)",
        description=(
            "Counts and shares of published overall ratings by inspection type and year, and "
            "before vs after unification. [note 8]"
        ),
        protection=Protection.NOT_CASE_DATA,
    ),
    TableSpec(
        "rating_rules_check",
        sheet="Rules against real ratings",
        keys=("unit_name", "publication_date", "standard", "rule_variant"),
        title="The configured rating rules against real published ratings",
        description=(
            "Each real published pair (key-question percentages beside the published rating of "
            "their standard, same unit and report) under the configured rule and variants "
            "(rounding before banding, cut-off strictly exceeded), and the 2024 annual "
            "report's statement on regional desistance ratings. [note 7] [note 8]"
        ),
        protection=Protection.NOT_CASE_DATA,
    ),
    TableSpec(
        "rating_movement",
        sheet="Latest rating and movement",
        keys=("synthetic", "level", "unit_key", "standard"),
        title="Latest rating and movement since the previous inspection",
        description=(
            "Per PDU and region and standard: the latest rating and the movement since the "
            "same unit's previous inspection (improved, same, declined, first inspection), "
            "from real published ratings and, labelled synthetic, the standard ratings derived "
            "here from the synthetic case data (as published). [note 7] [note 8]"
        ),
        protection=Protection.FROM_PROTECTED,
    ),
    TableSpec(
        "dipp_bridge",
        sheet="Dynamic inspection bridge",
        keys=("scope", "comparable_id", "measurement"),
        title="Before and after: the region's core round beside its dynamic inspection",
        description=(
            "Per region with a dynamic inspection of public protection, the four "
            "keeping-people-safe key questions: the region's latest core round of PDU "
            "inspections before it (pooled) and the dynamic inspection, each a level with its "
            "cases and intervals. Not directly comparable (scope, wording, sample design, "
            "adjusted set left out, months apart: see the caveat column); no difference is "
            "tested. [note 1] [note 2] [note 3]"
        ),
        protection=Protection.SUPPRESSED,
    ),
)
"""Every publication table, in workbook order."""

BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}


def spec(name: str) -> TableSpec:
    """The declaration of table `name`; a table without one cannot be written or released."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise UndeclaredTable(
            f"table {name!r} is not declared in pipeline/tables/registry.py, so it has no "
            "protection rule and cannot be written"
        ) from None


def require_declared(names: object) -> None:
    """Raise `UndeclaredTable` for the first of `names` with no declaration."""
    for name in names:  # type: ignore[attr-defined]
        spec(name)


def names(protection: Protection) -> tuple[str, ...]:
    """The tables protected in the given way, in registry order."""
    return tuple(t.name for t in TABLES if t.protection is protection)


PUBLICATION_KEYS: dict[str, tuple[str, ...]] = {t.name: t.keys for t in TABLES}
"""Key columns of every publication table (one row per cell), as the contracts check them."""
