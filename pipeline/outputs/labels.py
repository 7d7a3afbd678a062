"""Reader labels: what a published table shows instead of a code name.

A researcher reading a bulletin table or a workbook should see "Lower limit (%)", not
`interval_low`, and "Very high", not `very_high`. Labels come from the reference data that
defines the codes (codes.csv, programmes.csv, prompts.csv, rationale_themes.csv) and from the
domain vocabulary, so a code added there is labelled everywhere at once.
"""

from __future__ import annotations

import re
from functools import cache

import polars as pl

from pipeline import refdata
from pipeline.domain import (
    ERA_LABELS,
    PRACTITIONER,
    SAME_AREA_LABELS,
    STANDARD_LABELS,
    SUBGROUPS,
    THEME_LABELS,
)

COLUMN_LABELS = {
    "scope": "Area",
    "region": "Region",
    "series": "Series",
    "year": "Year",
    "financial_year": "Financial year",
    "programme": "Inspection programme",
    "period": "Period",
    "standard": "Standard",
    "theme": "Theme",
    "question": "Question",
    "measure": "Measure",
    "prompt": "Prompt",
    "parent_question": "Key question",
    "rosh": "Risk of serious harm",
    "pct": "Sufficient (%)",
    "interval_low": "Lower limit (%)",
    "interval_high": "Upper limit (%)",
    "n_applicable": "Cases (n)",
    "n_inspections": "Inspections (n)",
    "n_rated": "Inspections rated (n)",
    "share_pct": "Share of inspections (%)",
    "rating": "Rating",
    "inspection_type": "Inspection type",
    "pct_pre": "Before unification (%)",
    "pct_post": "After unification (%)",
    "n_applicable_pre": "Cases before (n)",
    "n_applicable_post": "Cases after (n)",
    "pct_last_crc_nps": "Last CRC and NPS round (%)",
    "pct_last_crc_nps_weighted": "Last CRC and NPS round, weighted to caseload shares (%)",
    "pct_first_unified": "First unified inspections (%)",
    "n_applicable_last_crc_nps": "Cases, last CRC and NPS round (n)",
    "n_applicable_first_unified": "Cases, first unified inspections (n)",
    "diff_clustered_pp": "Change (percentage points)",
    "diff_clustered_ci_low": "Change, lower limit",
    "diff_clustered_ci_high": "Change, upper limit",
    "adjusted_diff_pp": "Change allowing for case mix (percentage points)",
    "adjusted_diff_unweighted_pp": "Same, without provider weights (percentage points)",
    "adjusted_ci_low": "Lower limit",
    "adjusted_ci_high": "Upper limit",
    "significant_holm": "Clear difference after allowing for multiple comparisons",
    "characteristic": "Characteristic",
    "level": "Group",
    "wording": "Published wording",
    "national_pct": "England and Wales (%)",
    "unit_name": "Probation delivery unit",
    "target_pct": "Expected (%)",
    "position": "Position against expected range",
    "low_reliability": "Low reliability",
    "levels_only": "Level only, no interval [u]",
    "interval_basis": "Interval from",
}
"""Column headers; a column not listed keeps a tidied version of its name."""

HIDDEN_COLUMNS = frozenset(
    {"source_url", "comparable_id", "segment", "adjusted_diff_unweighted_pp"}
)
"""Columns a reader's table leaves out (the source is cited in the sources list; a question's
code where its label is shown; the unweighted sensitivity estimate, which the chart data and the
workbook carry and the methods paragraph summarises)."""
HIDDEN_IF_CONSTANT = frozenset({"series", "scope"})
"""Columns left out when they hold one value (the table's caption says it)."""
HIDDEN_IF_NEVER_TRUE = frozenset({"levels_only"})
"""Flags left out when no row has them (a table with no level-only cell needs no [u] column)."""

MEASURE_LABELS = {
    "da_enquiry": "Domestic abuse enquiry (police)",
    "cs_enquiry": "Child safeguarding enquiry (children's services)",
    "management_oversight": "Management oversight sufficient",
}
"""The case measures that are not key questions or prompts."""


CODE_COLUMNS: dict[str, tuple[str, ...]] = {
    "subgroup_value": SUBGROUPS,
    "level": (*PRACTITIONER, "published_level"),
    "reference_level": PRACTITIONER,
}
"""Columns whose values are codes of other columns' code lists (a breakdown's category, a
practitioner characteristic's level). Every other column uses its own code list, if it has one."""


@cache
def _code_lists() -> dict[str, dict[str, str]]:
    """Column -> code -> label, from codes.csv."""
    lists: dict[str, dict[str, str]] = {}
    for column, code, label in refdata._read("codes.csv").select("column", "code", "label").rows():
        lists.setdefault(str(column), {})[str(code)] = str(label)
    return lists


@cache
def _shared_labels() -> dict[str, str]:
    """Labels of the project's own vocabulary (programmes, eras, standards, themes, measures,
    key questions, prompts, series, period types): distinctive names, never numbers, valid in
    any column. Code lists (codes.csv) are not here: '2018' is a framework only in `framework`."""
    labels: dict[str, str] = {}
    programmes = refdata.programmes().select("programme", "programme_label").unique("programme")
    labels.update(dict(programmes.iter_rows()))
    labels.update(ERA_LABELS | STANDARD_LABELS | THEME_LABELS | MEASURE_LABELS)
    questions = refdata.key_questions().select("key_question", "standard", "theme")
    for question, standard, theme in questions.unique("key_question").iter_rows():
        parts = [STANDARD_LABELS.get(standard, standard)]
        if theme:
            parts.append(THEME_LABELS.get(theme, theme).lower())
        labels[question] = ": ".join(parts)
    labels.update(dict(refdata.prompts().select("prompt", "wording").iter_rows()))
    labels.update(dict(refdata.rationale_themes().select("theme", "label").iter_rows()))
    labels.update(SAME_AREA_LABELS | _need_labels())
    labels.update({"core": "Core inspections", "dipp": "Dynamic inspection of public protection"})
    labels.update(
        {
            "calendar_year": "Calendar year",
            "financial_year": "Financial year",
            "half_year": "Half year",
            "era": "Before or after unification",
        }
    )
    return {code: label for code, label in labels.items() if not code.isdigit()}


def _need_labels() -> dict[str, str]:
    """Need areas, the two need measures and each '<area>|<measure>' code."""
    words = {"identified": "need identified", "met": "need met"}
    labels = {measure: text.capitalize() for measure, text in words.items()}
    for need, label in refdata.needs().select("need", "label").iter_rows():
        labels[need] = label
        labels.update({f"{need}|{m}": f"{label}: {text}" for m, text in words.items()})
        labels[f"NEED_{need.upper()}"] = f"{label}: need met"  # same_area.need_comparable_id
    return labels


COLUMN_NAME_COLUMNS = frozenset({"subgroup", "characteristic", "grouping"})
"""Columns whose values name other columns ('age_band', 'practitioner_grade'): each value is
labelled with that column's header, the one source of a column's name."""


@cache
def _value_labels() -> dict[str, dict[str, str]]:
    """Column -> code -> label for the project's own per-column vocabularies (sensitivity
    models, suppression reasons, rating rules, source documents), from value_labels.csv."""
    lists: dict[str, dict[str, str]] = {}
    table = refdata._read("value_labels.csv").select("column", "code", "label")
    for column, code, label in table.rows():
        lists.setdefault(str(column), {})[str(code)] = str(label)
    return lists


@cache
def labels_for(column: str) -> dict[str, str]:
    """Code -> label for the values of `column`: its own code list (or the lists
    `CODE_COLUMNS` names), its own vocabulary in value_labels.csv, column headers for a column
    of column names, and the shared vocabulary. Labels are chosen by column, never by value
    alone, so a year is never read as a framework code."""
    lists = _code_lists()
    own: dict[str, str] = {}
    for name in CODE_COLUMNS.get(column, (column,)):
        own |= lists.get(name, {})
    own |= _value_labels().get(column, {})
    if column in COLUMN_NAME_COLUMNS:
        names = set(refdata.contract_columns()["column"]) | set(COLUMN_LABELS)
        own |= {name: column_label(name) for name in names}
    return _shared_labels() | own


def label_value(column: str, value: str) -> str:
    """One value of `column` as a reader sees it: its label; a compound measure
    ('childrens_services|safety|no') as its parts' labels; source file paths as the
    documents' names."""
    found = labels_for(column).get(value)
    if found is not None:
        return found
    if column in COLUMN_NAME_COLUMNS and re.fullmatch(r"[a-z][a-z0-9_]*", value):
        return column_label(value)
    if column == "measure" and "|" in value:
        theme, group, judgement = [*value.split("|"), "", ""][:3]
        parts = [
            labels_for("theme").get(theme, theme),
            labels_for("question_group").get(group, group),
            labels_for("judgement").get(judgement, judgement),
        ]
        return ": ".join(p for p in parts if p)
    documents = _value_labels().get("source_document", {})
    return SOURCE_PATH.sub(lambda m: documents.get(m.group(0), m.group(0)), value)


SOURCE_PATH = re.compile(r"\bsources/[\w.-]+")


def column_label(name: str) -> str:
    """A column's header for readers."""
    return COLUMN_LABELS.get(name, name.replace("_", " ").capitalize())


def for_readers(frame: pl.DataFrame, decimals: int = 1) -> pl.DataFrame:
    """`frame` as a reader sees it: labelled headers and values, numbers rounded, yes/no for
    flags; hidden columns dropped, and number columns with no value at all (a comparison
    withheld for the whole table says so in words, not in empty columns)."""
    columns, seen = [], set()
    first = [c for c in ("question", "prompt", "theme_label") if c in frame.columns]
    frame = frame.select(*first, pl.exclude(first))
    for name, dtype in frame.schema.items():
        values = frame.get_column(name)
        if (
            name in HIDDEN_COLUMNS
            or (name in HIDDEN_IF_CONSTANT and values.n_unique() <= 1)
            or (name in HIDDEN_IF_NEVER_TRUE and not values.fill_null(False).any())
            or (dtype.is_numeric() and frame.height > 0 and values.null_count() == frame.height)
            or (name in ("standard", "theme") and "question" in frame.columns)
        ):
            continue
        column = pl.col(name)
        if dtype == pl.Boolean:
            column = (
                pl.when(column.is_null())
                .then(pl.lit("Not assessed"))
                .when(column)
                .then(pl.lit("Yes"))
                .otherwise(pl.lit("No"))
            )
        elif dtype.is_float():
            column = column.round(decimals)
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            column = column.cast(pl.String).replace(labels_for(name))
        label = column_label(name)
        label = label if label not in seen else f"{label} ({name.replace('_', ' ')})"
        seen.add(label)
        columns.append(column.alias(label))
    return frame.select(columns)


WORKBOOK_LABELS = {
    "pct": "Sufficient",
    "ci_low": "Lower limit, cases as independent",
    "ci_high": "Upper limit, cases as independent",
    "ci_cluster_low": "Lower limit",
    "ci_cluster_high": "Upper limit",
    "n_yes": "Cases judged sufficient",
    "n_no": "Cases judged not sufficient",
    "n_na": "Cases where not applicable",
    "n_applicable": "Applicable cases",
    "n_inspections": "Inspections",
    "n_effective": "Effective sample size",
    "n_cases": "Cases",
    "icc": "Intra-inspection correlation",
    "icc_df": "Intra-inspection correlation, degrees of freedom",
    "design_effect": "Design effect",
    "design_effect_empirical": "Design effect, this cell alone",
    "low_reliability": "Low reliability",
    "levels_only": "Level only, no interval [u]",
    "interval_basis": "Interval from",
    "suppressed": "Withheld",
    "suppression": "Why withheld",
    "synthetic": "Synthetic data",
    "comparable_id": "Question code",
    "key_question": "Key question",
    "period_type": "Period type",
    "scope": "Area",
    "diff_pp": "Change, cases as independent",
    "diff_ci_low": "Change lower limit, cases as independent",
    "diff_ci_high": "Change upper limit, cases as independent",
    "p_value": "p-value, cases as independent",
    "diff_clustered_pp": "Change, clustered",
    "diff_clustered_ci_low": "Change lower limit, clustered",
    "diff_clustered_ci_high": "Change upper limit, clustered",
    "diff_clustered_df": "Change, clustered, degrees of freedom",
    "p_value_clustered": "p-value, clustered",
    "adjusted_diff_pp": "Change allowing for case mix",
    "adjusted_diff_unweighted_pp": "Change allowing for case mix, without provider weights",
    "adjusted_ci_low": "Change allowing for case mix, lower limit",
    "adjusted_ci_high": "Change allowing for case mix, upper limit",
    "adjusted_p_value": "p-value allowing for case mix",
    "adjusted_se_pp": "Standard error allowing for case mix",
    "adjusted_df": "Degrees of freedom allowing for case mix",
    "adjusted_odds_ratio": "Odds ratio allowing for case mix",
    "model_n_inspections": "Inspections in the model",
    "model_converged": "Model converged",
    "p_value_holm": "p-value adjusted for multiple comparisons (Holm)",
    "p_value_bh": "p-value adjusted for multiple comparisons (Benjamini-Hochberg)",
    "significant_holm": "Clear difference after allowing for multiple comparisons (Holm)",
    "significant_bh": (
        "Clear difference after allowing for multiple comparisons (Benjamini-Hochberg)"
    ),
    "mdd_pp": "Smallest difference detectable with 80% power",
    "pct_pre_weighted": "Sufficient before unification, weighted to provider shares",
    "test_family": "Comparisons family",
    "test_family_size": "Comparisons in the family",
    "comparison_note": "Note on the comparison",
    "diff_clustered": "Change, clustered",
    "diff_ci": "Change limits, cases as independent",
    "adjusted": "Change allowing for case mix",
}
"""Workbook headers (before the unit) where the generic rule would read badly."""
_UNIT_WORDS = {"pct": "", "pp": "", "n": ""}
_WORDS = {
    "ci": "limit",
    "df": "degrees of freedom",
    "se": "standard error",
    "mdd": "minimum detectable difference",
    "kq": "key question",
    "pdu": "PDU",
    "id": "code",
    "pp2": "",
    "998": "99.8%",
    "95": "95%",
    "pre": "before-unification",
    "post": "after-unification",
    "z": "z",
}


COUNT_COLUMNS = frozenset(
    {"model_n_inspections", "standards_rated", "standards_required", "test_family_size"}
)
"""Counts whose names do not start with `n_`."""
RATIO_COLUMNS = frozenset({"design_effect", "overdispersion", "shrinkage_weight"})
"""Ratios and weights with no unit (shown to two decimal places)."""

KIND_UNITS = {
    "percentage": "%",
    "percentage_points": "percentage points",
    "percentage_points_squared": "percentage points squared",
    "count": "number",
}
"""The unit a workbook header carries, per column kind; every other kind (p-value, degrees of
freedom, odds ratio, correlation, z-score, design effect, year) carries none."""


def column_kind(name: str) -> str:
    """What a numeric column holds, from its name: 'p_value', 'degrees_of_freedom',
    'odds_ratio', 'correlation', 'z_score', 'ratio', 'percentage_points_squared',
    'percentage_points', 'percentage', 'count', 'year' or 'other'. The statistic's own kind
    wins over the scale it is on: a step's p-value ('step_pp_p_value') is a p-value."""
    base = re.sub(r"_(pre|post)$", "", name)
    if "p_value" in base:
        return "p_value"
    if base == "df" or base.endswith("_df"):
        return "degrees_of_freedom"
    if "odds_ratio" in base:
        return "odds_ratio"
    if base == "icc":
        return "correlation"
    if base == "z_score" or base.startswith("z_"):
        return "z_score"
    if base in RATIO_COLUMNS:
        return "ratio"
    return _scale_kind(base)


def _scale_kind(base: str) -> str:
    if base.endswith("_pp2"):
        return "percentage_points_squared"
    if "_pp" in base or base.startswith(("diff_", "adjusted_ci", "adjusted_diff")):
        return "percentage_points"
    if base.startswith(("pct", "ci_", "share_pct", "lower_", "upper_")) or base.endswith("_pct"):
        return "percentage"
    if base.startswith("n_") or base in COUNT_COLUMNS:
        return "count"
    if base == "year" or base.endswith("_year"):
        return "year"
    return "other"


def workbook_unit(name: str) -> str:
    """The unit a workbook header carries: %, percentage points or number (or none: p-values,
    degrees of freedom, odds ratios, correlations, z-scores and design effects have no unit)."""
    return KIND_UNITS.get(column_kind(name), "")


def workbook_header(name: str) -> str:
    """A workbook column header: plain English, with its unit ('Sufficient (%)')."""
    era = re.search(r"_(pre|post)$", name)
    base = name[: era.start()] if era else name
    if base in WORKBOOK_LABELS:
        text = WORKBOOK_LABELS[base]
    elif base in COLUMN_LABELS:
        text = re.sub(r"\s*\([^)]*\)$", "", COLUMN_LABELS[base])
    else:
        words = [_WORDS.get(t, _UNIT_WORDS.get(t, t)) for t in base.split("_")]
        text = " ".join(w for w in words if w).strip() or base
        text = text.replace("limit low", "lower limit").replace("limit high", "upper limit")
        text = text.replace(" p value", " p-value")
        text = text[0].upper() + text[1:]
    if era:
        text += ", before unification" if era.group(1) == "pre" else ", after unification"
    unit = workbook_unit(name)
    return f"{text} ({unit})" if unit else text
