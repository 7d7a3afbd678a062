"""Validate and quarantine: apply the data contract's row rules, normalise tolerated variants.

Each rule is a named Polars expression evaluated over all records at once (no Python loop over
rows). A record collects every reason it fails, so a user fixing an export sees all problems in
one pass. Tolerated variants (answer and boolean spellings, region aliases, UK dates, Excel
serial dates) are normalised, never rejected. Duplicates of (inspection_id, case_id) keep the
first copy, in file-then-row order, that passes every other rule (the first copy if none does),
and the others name it.

Accounting is checked, not assumed: for every file, rows read = accepted + rejected.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

import polars as pl

from pipeline import refdata
from pipeline.domain import ANSWER, KEY_QUESTIONS, QUESTIONS, Rule
from pipeline.stages.ingest import PROVENANCE, FileRead

log = logging.getLogger(__name__)

EXCEL_EPOCH = dt.date(1899, 12, 30)
ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?$"
"""A date, optionally with a time of day that exists (2022-05-09 25:99 is not a date: it is
rejected as unparseable, never read as 2022-05-09)."""
UK_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"
SERIAL_DATE = r"^\d{1,6}(?:\.0+)?$"


def text_columns() -> tuple[str, ...]:
    """Free-text contract columns (ids and names), from contract_columns.csv."""
    return refdata.column_group("text")


def coded_columns() -> tuple[str, ...]:
    """Coded contract columns (values listed in codes.csv)."""
    return refdata.column_group("code")


def date_columns() -> tuple[str, ...]:
    """Date contract columns."""
    return refdata.column_group("date")


def bool_columns() -> tuple[str, ...]:
    """True/false contract columns."""
    return refdata.column_group("bool")


def answer_columns() -> tuple[str, ...]:
    """Yes/no/not-applicable contract columns: the key questions and the enquiries."""
    return refdata.column_group("answer")


ISSUE_SCHEMA = {
    "source_file": pl.String,
    "sheet": pl.String,
    "source_row": pl.Int64,
    "inspection_id": pl.String,
    "case_id": pl.String,
    "column": pl.String,
    "value": pl.String,
    "issue": pl.String,
    "suggestion": pl.String,
}
"""One row per optional field set to missing in an accepted case (the case itself is kept)."""


class AccountingError(RuntimeError):
    """Rows read did not equal rows accepted plus rows rejected: a pipeline defect."""


@dataclass
class FileAccount:
    """Per-file row accounting, stored in the manifest and printed at the end."""

    source_file: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    blank_rows_skipped: int = 0
    file_error: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    unmapped_columns: list[str] = field(default_factory=list)
    field_issues: int = 0


@dataclass
class ValidationResult:
    """Accepted records (normalised, typed), quarantined records (as read) and accounting."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    accounts: list[FileAccount]
    field_issues: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ISSUE_SCHEMA))
    lost: pl.DataFrame | None = None  # per-inspection accounting, taken before `accepted` is freed

    @property
    def rows_read(self) -> int:
        return sum(a.rows_read for a in self.accounts)

    def field_issues_by_column(self) -> dict[str, int]:
        """Optional fields set to missing in accepted cases, counted per column."""
        counts = self.field_issues.group_by("column").len().sort("column")
        return dict(counts.iter_rows())

    def inspections_lost(self) -> pl.DataFrame:
        """Inspections with rejected rows: how many rows each kept and lost, and whether it
        was lost entirely (every row rejected) or partly. Computed once, by `validate`, while
        the accepted rows are still held: a run frees them before it reports."""
        if self.lost is None:
            self.lost = inspections_lost(self.accepted, self.rejected)
        return self.lost

    def rejected_by_rule(self) -> dict[str, int]:
        """Count of rejected rows per rule name (a row failing two rules counts in both)."""
        if self.rejected.height == 0:
            return {}
        counts = (
            self.rejected.select(pl.col("reasons").str.split("; ").alias("reason"))
            .explode("reason")
            .select(pl.col("reason").str.extract(r"^([a-z_]+)").alias("rule"))
            .group_by("rule")
            .len()
            .sort("rule")
        )
        return dict(counts.iter_rows())


def inspections_lost(accepted: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """Rows kept and rejected per file and inspection, for inspections that lost rows. The
    rejected rows hold the id as written, so it is normalised like the accepted one first."""
    key = ["source_file", "inspection_id"]
    lost = (
        rejected.select("source_file", _clean("inspection_id").alias("inspection_id"))
        .group_by(key)
        .agg(pl.len().alias("rows_rejected"))
    )
    kept = (
        accepted.select("source_file", pl.col("inspection_id").cast(pl.String))
        .group_by(key)
        .agg(pl.len().alias("rows_accepted"))
    )
    return (
        lost.join(kept, on=key, how="left", nulls_equal=True)
        .with_columns(pl.col("rows_accepted").fill_null(0))
        .with_columns(
            pl.when(pl.col("rows_accepted") == 0)
            .then(pl.lit("entirely"))
            .otherwise(pl.lit("partly"))
            .alias("lost")
        )
        .sort("lost", "source_file", "inspection_id", nulls_last=True)
    )


# --- normalisation expressions ---------------------------------------------------------------


INVISIBLE = "[\u0000\u00ad\u200b-\u200f\u2060\ufeff]"
"""Characters a reader cannot see (NUL, soft hyphen, zero-width spaces and joiners, direction
marks, byte-order marks): removed before any comparison, so 'A1' and 'A\u200b1' are one id."""


def _clean(column: str) -> pl.Expr:
    """Trimmed text without invisible characters, in Unicode's composed form (NFC: 'ô' typed
    as one character or as 'o' and a combining accent is one value); empty becomes null."""
    text = pl.col(column).str.replace_all(INVISIBLE, "").str.normalize("NFC").str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


CASE_KEY = ["n__inspection_id", "_case_key"]
"""Duplicates are found on the inspection and the case id compared without letter case: 'a1'
and 'A1' in one inspection are the same person exported twice."""


def _norm_answer(column: str) -> pl.Expr:
    variants = refdata.answer_variants()
    return (
        _clean(column)
        .str.to_lowercase()
        .replace_strict(variants, default=None, return_dtype=ANSWER)
    )


def _norm_bool(column: str) -> pl.Expr:
    variants = {k: ("true" if v else "false") for k, v in refdata.boolean_variants().items()}
    return _clean(column).str.to_lowercase().replace_strict(variants, default=None) == "true"


def _norm_code(column: str) -> pl.Expr:
    allowed = refdata.codes()[column]
    text = _clean(column)
    if column == "provider":
        text = text.str.to_uppercase()
    else:
        text = text.str.to_lowercase().str.replace_all(r"\s+", "_")
    if column in ("framework", "mappa_level"):  # numbers that passed through a spreadsheet
        text = text.str.replace(r"\.0+$", "")
    if column == "mappa_level":
        return text.replace_strict({c: int(c) for c in allowed}, default=None, return_dtype=pl.Int8)
    return text.replace_strict({c: c for c in allowed}, default=None, return_dtype=pl.Enum(allowed))


def _norm_region() -> pl.Expr:
    aliases = refdata.region_aliases()
    key = refdata.normalise_label_expr(_clean("region"))
    return key.replace_strict(aliases, default=None, return_dtype=pl.Enum(refdata.region_names()))


def _norm_date(column: str) -> pl.Expr:
    """ISO dates (with an optional midnight time from spreadsheets), UK DD/MM/YYYY, Excel serials.

    US month-first dates are never tried: '12/31/2020' is unparseable rather than misread.
    Serial numbers are only accepted from XLSX sheets, where Excel stores dates that way.
    """
    text = _clean(column)
    iso = pl.when(text.str.contains(ISO_DATE)).then(
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    )
    uk = pl.when(text.str.contains(UK_DATE)).then(text.str.to_date("%d/%m/%Y", strict=False))
    days = text.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
    serial = pl.when(
        pl.col("sheet").is_not_null() & text.str.contains(SERIAL_DATE) & days.is_between(1, 2958465)
    ).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=days))
    return pl.coalesce(iso, uk, serial).cast(pl.Date)


def normalised_columns() -> dict[str, pl.Expr]:
    """Canonical column -> expression giving its normalised value from the raw text."""
    exprs: dict[str, pl.Expr] = {c: _clean(c) for c in text_columns()}
    exprs["region"] = _norm_region()
    exprs.update({c: _norm_code(c) for c in coded_columns()})
    exprs.update({c: _norm_date(c) for c in date_columns()})
    exprs.update({c: _norm_bool(c) for c in bool_columns()})
    exprs.update({c: _norm_answer(c) for c in answer_columns()})
    return exprs


# --- rules -----------------------------------------------------------------------------------


def _present(column: str) -> pl.Expr:
    """True where the raw cell holds something other than white space (precomputed)."""
    return pl.col(f"p__{column}")


def _distinct_values(
    records: pl.DataFrame, columns: list[str]
) -> dict[tuple[str, bool], pl.Series]:
    """Distinct raw values per column, split by spreadsheet vs text rows; one parallel query."""
    from_sheet = pl.col("sheet").is_not_null()
    exprs = []
    for column in columns:
        for sheet in (False, True):
            rows = pl.col(column).filter(from_sheet if sheet else ~from_sheet)
            exprs.append(rows.drop_nulls().unique().sort().implode().alias(f"{column}|{sheet}"))
    row = records.lazy().select(exprs).collect().row(0, named=True)
    return {
        (k.split("|")[0], k.endswith("True")): pl.Series(k, v, dtype=pl.String)
        for k, v in row.items()
    }


def _by_distinct_values(
    distinct: dict[tuple[str, bool], pl.Series], column: str, expr: pl.Expr
) -> tuple[pl.Expr, pl.Expr]:
    """Normalise a column by evaluating `expr` on its distinct raw values, then mapping back.

    A million case rows hold a few dozen answer spellings, a dozen region spellings and a few
    thousand dates, so string work runs on those, not on every row. Spreadsheet and text rows
    are mapped separately, because Excel serial dates are only read from sheets.
    Returns (normalised value, present) expressions over the full frame.
    """

    def lookup(sheet: bool) -> tuple[pl.Expr, pl.Expr]:
        old = distinct[(column, sheet)]
        values = pl.DataFrame(
            {
                column: old,
                "sheet": pl.Series(["sheet" if sheet else None] * len(old), dtype=pl.String),
            }
        ).select(expr.alias("n"), _clean(column).is_not_null().alias("p"))
        raw = pl.col(column)
        return (
            raw.replace_strict(old, values["n"], default=None, return_dtype=values["n"].dtype),
            raw.replace_strict(old, values["p"], default=False, return_dtype=pl.Boolean),
        )

    (text_norm, text_present), (sheet_norm, sheet_present) = lookup(False), lookup(True)
    from_sheet = pl.col("sheet").is_not_null()
    return (
        pl.when(from_sheet).then(sheet_norm).otherwise(text_norm),
        pl.when(from_sheet).then(sheet_present).otherwise(text_present),
    )


def rule_flags() -> dict[str, pl.Expr]:
    """Every row rule of the contract as a boolean expression (True = the row fails it).

    Keys are the reason text written to the quarantine file (names from `domain.Rule`).
    Evaluated on a frame holding the raw text columns and the normalised columns prefixed
    `n__`. Flags are cheap to compute for every row; reason text is only built for the few
    rows that fail. Flags named in `field_rules()` concern one optional field: they do not
    reject the case (the field becomes missing and is reported), unless the row fails for
    another reason, when they are listed with its reasons.
    """
    return {
        **_column_flags(),
        **{str(rule): expr for rule, expr in _row_flags().items()},
        **_consistency_flags(),
        **_plausibility_flags(),
        **_not_asked_flags(),
        **_adjusted_reason_flags(),
    }


def field_rules() -> set[str]:
    """Flags that concern a single optional field: an unknown code or an unparseable date in
    a column the contract does not require (gender 'M', mappa_level 'N/A', a prompt 'maybe').

    An unknown code in a key-question answer (`QUESTIONS`: 'maybe' for assessment_safety) is
    not one of them: setting it to missing would drop the case from that question's
    denominator unseen, so the row is quarantined instead."""
    optional = set(refdata.contract_columns()["column"]) - set(refdata.required_columns())
    rules = {
        rule.on(column)
        for column in optional
        for rule in (
            Rule.UNKNOWN_CODE,
            Rule.UNPARSEABLE_DATE,
            Rule.IMPLAUSIBLE_DATE,
            Rule.QUESTION_NOT_ASKED,
        )
    }
    rules.add(Rule.ADJUSTED_REASON_INCONSISTENT.on("adjusted_reason"))
    return rules - {Rule.UNKNOWN_CODE.on(question) for question in QUESTIONS}


def _column_flags() -> dict[str, pl.Expr]:
    """Missing required values, unparseable dates and unknown codes, per column."""
    required = set(refdata.required_columns())
    dates = set(date_columns())
    coded = {*coded_columns(), *answer_columns(), *bool_columns(), "region"}
    flags: dict[str, pl.Expr] = {}
    for column in refdata.contract_columns()["column"]:
        normalised = pl.col(f"n__{column}")
        if column in required:
            flags[Rule.MISSING_VALUE.on(column)] = ~_present(column)
        if column in dates:
            flags[Rule.UNPARSEABLE_DATE.on(column)] = _present(column) & normalised.is_null()
        elif column in coded:
            flags[Rule.UNKNOWN_CODE.on(column)] = _present(column) & normalised.is_null()
    return flags


def _row_flags() -> dict[Rule, pl.Expr]:
    """Rules that look at several columns of a row, or at other rows (duplicates)."""
    unification = refdata.unification_date()
    start, fw_start, fw_end = (
        pl.col(f"n__{c}") for c in ("start_date", "fieldwork_start", "fieldwork_end")
    )
    provider = pl.col("n__provider")
    key_ok = pl.col("n__inspection_id").is_not_null() & pl.col("n__case_id").is_not_null()
    return {
        Rule.START_DATE_AFTER_FIELDWORK_END: (start > fw_end).fill_null(False),
        Rule.FIELDWORK_START_AFTER_END: (fw_start > fw_end).fill_null(False),
        Rule.PROVIDER_INCONSISTENT_WITH_DATES: (
            (provider.is_in(["CRC", "NPS"]) & (fw_start >= unification))
            | ((provider == "PS") & (fw_start < unification))
        ).fill_null(False),
        Rule.NO_KEY_QUESTION_ANSWERED: ~pl.any_horizontal(
            pl.col(f"n__{k}").is_not_null() for k in KEY_QUESTIONS
        ),
        Rule.WRONG_NUMBER_OF_FIELDS: pl.col("_ragged").fill_null(False),
        # the copy kept is the first one that passes every other rule (else the first copy)
        Rule.DUPLICATE_CASE: key_ok & (pl.col("_order") != pl.col("_kept")),
    }


INSPECTION_FIELDS = ("inspection_type", "framework", "fieldwork_start", "fieldwork_end", "region")
"""What every row of one inspection must agree on. A row that disagrees with the inspection's
majority is rejected, naming the field, rather than silently making a 'multiple regions'
inspection or mixing frameworks. Region is exempt for CRC and NPS inspections, whose
footprints could span several of today's regions, and for the national inspection, which
samples cases from every region."""


def _plausibility_flags() -> dict[str, pl.Expr]:
    """Dates that parse but cannot be right (reference/key_dates.csv): fieldwork outside the
    programme's years (2099), a supervision starting before 1970, publication before the
    fieldwork ended."""
    dates = refdata.key_dates()
    first, last = dates["earliest_fieldwork"], dates["latest_fieldwork"]
    fieldwork = {
        c: ~pl.col(f"n__{c}").is_between(pl.lit(first), pl.lit(last))
        for c in ("fieldwork_start", "fieldwork_end")
    }
    flags = {Rule.IMPLAUSIBLE_DATE.on(c): e.fill_null(False) for c, e in fieldwork.items()}
    start = pl.col("n__start_date") < pl.lit(dates["earliest_case_start"])
    flags[Rule.IMPLAUSIBLE_DATE.on("start_date")] = start.fill_null(False)
    published = pl.col("n__publication_date") < pl.col("n__fieldwork_end")
    flags[Rule.IMPLAUSIBLE_DATE.on("publication_date")] = published.fill_null(False)
    return flags


def _not_asked_flags() -> dict[str, pl.Expr]:
    """A judgement (yes or no) on a key question the case's framework does not ask (an
    engagement answer in the dynamic inspection, which asks only the safety questions): the
    answer is set to missing and reported, the case kept."""
    frameworks = refdata.frameworks()["framework"].to_list()
    flags = {}
    for question in KEY_QUESTIONS:
        silent = [f for f in frameworks if question not in refdata.questions_asked(f)]
        if silent:
            judged = pl.col(f"n__{question}").cast(pl.String).is_in(["yes", "no"])
            flags[Rule.QUESTION_NOT_ASKED.on(question)] = (
                judged & pl.col("n__framework").cast(pl.String).is_in(silent)
            ).fill_null(False)
    return flags


def _adjusted_reason_flags() -> dict[str, pl.Expr]:
    """`adjusted_reason` must give a reason exactly when the case was on the adjusted question
    set: 'not_applicable' on an adjusted case, or a reason on a core case, is reported and the
    field set to missing (the case kept). A dynamic-inspection case on the adjusted set with no
    reason at all is reported too: its rules (question page, CARaG) always name one. Exports
    from before the column existed leave it empty and are not flagged."""
    question_set = pl.col("n__question_set").cast(pl.String)
    reason = pl.col("n__adjusted_reason").cast(pl.String)
    dipp = pl.col("n__framework").cast(pl.String) == "dipp2025"
    inconsistent = (
        ((question_set == "adjusted") & (reason == "not_applicable"))
        | ((question_set == "core") & reason.is_not_null() & (reason != "not_applicable"))
        | ((question_set == "adjusted") & dipp & ~_present("adjusted_reason"))
    )
    return {Rule.ADJUSTED_REASON_INCONSISTENT.on("adjusted_reason"): inconsistent.fill_null(False)}


def _consistency_flags() -> dict[str, pl.Expr]:
    flags = {}
    for column in INSPECTION_FIELDS:
        value, usual = pl.col(f"n__{column}"), pl.col(f"_usual__{column}")
        differs = value.is_not_null() & usual.is_not_null() & (value != usual)
        if column == "region":
            national_or_old = pl.col("n__inspection_type").is_in(["crc", "nps", "national"])
            differs = differs & ~national_or_old.fill_null(False)
        flags[Rule.INCONSISTENT_INSPECTION.on(column)] = differs.fill_null(False)
    return flags


def _with_usual_values(frame: pl.LazyFrame) -> pl.LazyFrame:
    """For each inspection and field, the value most of its rows hold (ties: the smallest)."""
    key = "n__inspection_id"
    for column in INSPECTION_FIELDS:
        value = f"n__{column}"
        usual = (
            frame.filter(pl.col(key).is_not_null() & pl.col(value).is_not_null())
            .group_by(key, value)
            .agg(pl.len().alias("_n"))
            .sort(key, "_n", value, descending=[False, True, False])
            .group_by(key, maintain_order=True)
            .agg(pl.col(value).first().alias(f"_usual__{column}"))
        )
        frame = frame.join(usual, on=key, how="left", nulls_equal=False)
    return frame


def _reason_text(flag_names: list[str]) -> pl.Expr:
    """'; '-joined reasons from flag columns f__0..f__n; duplicates name the first occurrence."""
    parts = []
    for i, name in enumerate(flag_names):
        text = (
            pl.format(
                "duplicate_case(first: {} row {})", pl.col("_first_file"), pl.col("_first_row")
            )
            if name == Rule.DUPLICATE_CASE
            else pl.lit(name)
        )
        parts.append(pl.when(pl.col(f"f__{i}")).then(text))
    return pl.concat_list(parts).list.drop_nulls().list.join("; ")


# --- the stage -------------------------------------------------------------------------------


def typed_accepted(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Normalised columns under their canonical names, with analysis types (enums, dates)."""
    casts = [pl.col(f"n__{c}").alias(c) for c in refdata.contract_columns()["column"]]
    synthetic = (
        pl.col("synthetic")
        .str.strip_chars()
        .str.to_lowercase()
        .is_in(["true", "yes", "y", "1"])
        .fill_null(False)
    )
    return frame.select(*PROVENANCE, *casts, synthetic.alias("synthetic"))


def _records(reads: list[FileRead]) -> pl.DataFrame:
    """Every readable record as text, in file-then-row order (an empty frame if none)."""
    contract = refdata.contract_columns()["column"].to_list()
    empty = pl.DataFrame(
        schema={
            "source_file": pl.String,
            "sheet": pl.String,
            "source_row": pl.Int64,
            **dict.fromkeys(contract, pl.String),
            "synthetic": pl.String,
            "_ragged": pl.Boolean,
        }
    )
    usable = [r.frame for r in reads if r.frame is not None]
    return pl.concat([empty, *usable], how="vertical_relaxed", rechunk=False) if usable else empty


def _checked(records: pl.DataFrame, flags: dict[str, pl.Expr]) -> pl.DataFrame:
    """Records with normalised (`n__`), presence (`p__`) and rule flag (`f__i`) columns;
    `_failed` where a flag that rejects the row is set (field-level flags do not)."""
    field_level = field_rules()
    rejecting = [i for i, name in enumerate(flags) if name not in field_level]
    normalised, present = {}, {}
    exprs = normalised_columns()
    distinct = _distinct_values(records, [c for c in exprs if c != "case_id"])
    for column, expr in exprs.items():
        if column == "case_id":  # nearly every value distinct: normalise row by row
            normalised[column], present[column] = expr, _clean(column).is_not_null()
        else:
            normalised[column], present[column] = _by_distinct_values(distinct, column, expr)
    names = list(flags)
    duplicate = names.index(str(Rule.DUPLICATE_CASE))
    others = [i for i in rejecting if i != duplicate]
    key = CASE_KEY
    order = pl.col("_order")
    valid_other = ~pl.any_horizontal(pl.lit(False), *[pl.col(f"f__{i}") for i in others])
    return (
        records.lazy()
        .with_row_index("_order")
        .with_columns(
            *[e.alias(f"n__{c}") for c, e in normalised.items()],
            *[e.alias(f"p__{c}") for c, e in present.items()],
        )
        .with_columns(pl.col("n__case_id").str.to_lowercase().alias("_case_key"))
        .pipe(_with_usual_values)
        .sort("_order")
        .with_columns(
            expr.alias(f"f__{i}") for i, expr in enumerate(flags.values()) if i != duplicate
        )
        .with_columns(
            pl.coalesce(
                pl.when(valid_other).then(order).min().over(key), order.min().over(key)
            ).alias("_kept")
        )
        .with_columns(flags[names[duplicate]].alias(f"f__{duplicate}"))
        .with_columns(
            pl.any_horizontal(pl.lit(False), *[pl.col(f"f__{i}") for i in rejecting]).alias(
                "_failed"
            )
        )
        .with_columns(_fields_set_to_missing(names, field_level))
        .collect()
    )


def _fields_set_to_missing(names: list[str], field_level: set[str]) -> list[pl.Expr]:
    """An optional field that fails a field-level rule becomes missing in the accepted case
    (an unknown code is already missing; a date that parses but cannot be right, or an answer
    to a question the framework does not ask, is not)."""
    flagged: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        if name in field_level:
            flagged.setdefault(name[name.index("(") + 1 : -1], []).append(f"f__{i}")
    return [
        pl.when(pl.any_horizontal(*[pl.col(f) for f in flags]))
        .then(None)
        .otherwise(pl.col(f"n__{column}"))
        .alias(f"n__{column}")
        for column, flags in flagged.items()
    ]


def _rejected(checked: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Failing records as read, with every reason; duplicates name the first occurrence."""
    contract = refdata.contract_columns()["column"].to_list()
    key = CASE_KEY
    first = (
        checked.lazy()
        .filter(pl.col("_order") == pl.col("_kept"))
        .group_by(key)
        .agg(
            pl.col("source_file").first().alias("_first_file"),
            pl.col("source_row").first().alias("_first_row"),
        )
    )
    return (
        checked.lazy()
        .filter(pl.col("_failed"))
        .join(first, on=key, how="left", nulls_equal=False)
        .sort("_order")
        .select(*PROVENANCE, _reason_text(names).alias("reasons"), *contract, "synthetic")
        .collect()
        .pipe(_with_details)
    )


def validate(reads: list[FileRead]) -> ValidationResult:
    """Split readable records into accepted (normalised) and rejected (with every reason)."""
    flags = rule_flags()
    records = _records(reads)
    _report_composed_forms(records)
    checked = _checked(records, flags)
    del records
    accepted = typed_accepted(checked.lazy().filter(~pl.col("_failed"))).collect()
    rejected = _rejected(checked, list(flags))
    issues = _field_issues(checked, list(flags))
    del checked
    accounts = _account(reads, accepted, rejected, issues)
    return ValidationResult(
        accepted=accepted,
        rejected=rejected,
        accounts=accounts,
        field_issues=issues,
        lost=inspections_lost(accepted, rejected),
    )


IDENTIFIERS = ("inspection_id", "case_id", "unit_name", "regional_round")
"""Columns compared to tell inspections, cases and units apart."""


def _report_composed_forms(records: pl.DataFrame) -> None:
    """Warn how many identifiers were written in decomposed Unicode (NFD, as macOS file names
    and some exports write accents): they are compared and stored composed (NFC), so that two
    spellings that look identical are one inspection or case, and the user hears of it."""
    counts = records.select(
        (pl.col(c) != pl.col(c).str.normalize("NFC")).sum().alias(c) for c in IDENTIFIERS
    ).row(0, named=True)
    changed = {column: n for column, n in counts.items() if n}
    if changed:
        log.warning(
            "%d identifier value(s) were not in composed Unicode form (NFC) and were normalised "
            "before comparison, so that look-alike spellings match: %s",
            sum(changed.values()),
            ", ".join(f"{column} {n:,}" for column, n in changed.items()),
        )


def _with_details(rejected: pl.DataFrame) -> pl.DataFrame:
    """A `details` column after `reasons`: each value-level reason in words, with the value as
    written and the closest valid value where one is close ("region 'Walse' is not a known
    value (did you mean 'Wales'?)")."""
    parts = []
    for column in (*coded_columns(), *answer_columns(), *bool_columns(), "region"):
        if column not in rejected.columns:
            continue
        failing = rejected.filter(
            pl.col("reasons").str.contains(f"unknown_code({column})", literal=True)
        )
        values = failing.get_column(column).drop_nulls().unique().to_list()
        hints = {v: _hint(column, v) for v in values}
        parts.append(
            pl.when(pl.col("reasons").str.contains(f"unknown_code({column})", literal=True)).then(
                pl.format(
                    "{} '{}' is not a known value{}",
                    pl.lit(column),
                    pl.col(column),
                    pl.col(column).replace_strict(hints, default="", return_dtype=pl.String),
                )
            )
        )
    for column in date_columns():
        reason = f"unparseable_date({column})"
        serial = pl.col(column).str.strip_chars().str.contains(r"^\d{5}(\.0+)?$")
        parts.append(
            pl.when(pl.col("reasons").str.contains(reason, literal=True)).then(
                pl.when(serial)
                .then(pl.format(SERIAL_IN_TEXT, pl.lit(column), pl.col(column)))
                .otherwise(pl.format(BAD_DATE, pl.lit(column), pl.col(column)))
            )
        )
    if not parts:
        return rejected.with_columns(pl.lit("").alias("details"))
    details = pl.concat_list(parts).list.drop_nulls().list.join("; ").alias("details")
    frame = rejected.with_columns(details)
    order = [*PROVENANCE, "reasons", "details"]
    return frame.select(*order, pl.exclude(order))


SERIAL_IN_TEXT = (
    "{} '{}' looks like an Excel serial date: serial numbers are read only from XLSX date "
    "columns, because in a CSV a number cannot be told from a date; write it as YYYY-MM-DD "
    "or DD/MM/YYYY"
)
BAD_DATE = "{} '{}' is not a date as YYYY-MM-DD or DD/MM/YYYY (month-first dates are never guessed)"


def _hint(column: str, value: str) -> str:
    close = suggest(column, value)
    if close:
        return f" (did you mean '{close}'?)"
    options = _valid_values(column)
    return f" (valid: {', '.join(options)})" if 0 < len(options) <= 8 else ""


def _field_issues(checked: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """One row per optional field set to missing in an accepted case: file, row, column, the
    value as written, what is wrong and the closest valid value where one is close."""
    field_level = field_rules()
    parts = []
    kept = checked.lazy().filter(~pl.col("_failed"))
    for i, name in enumerate(names):
        if name not in field_level:
            continue
        column = name[name.index("(") + 1 : -1]
        parts.append(
            kept.filter(pl.col(f"f__{i}")).select(
                *PROVENANCE,
                pl.col("n__inspection_id").alias("inspection_id"),
                pl.col("n__case_id").alias("case_id"),
                pl.lit(column).alias("column"),
                pl.col(column).alias("value"),
                pl.lit(name).alias("issue"),
            )
        )
    if not parts:
        return pl.DataFrame(schema=ISSUE_SCHEMA)
    issues = pl.concat(parts).collect().sort("source_file", "source_row", "column")
    return _with_suggestions(issues).select(list(ISSUE_SCHEMA))


def _with_suggestions(issues: pl.DataFrame) -> pl.DataFrame:
    """The closest valid value for each distinct (column, value), where one is close."""
    pairs = issues.select("column", "value").unique()
    rows = [(c, v, suggest(c, v)) for c, v in pairs.iter_rows()]
    schema = {"column": pl.String, "value": pl.String, "suggestion": pl.String}
    lookup = pl.DataFrame(rows, schema=schema, orient="row")
    return issues.join(lookup, on=["column", "value"], how="left", nulls_equal=True)


def suggest(column: str, value: str | None) -> str | None:
    """The valid value of `column` that `value` most likely means, or None when nothing is
    close. Spaces, hyphens and dots read as `_`; a code's label ('Very high') or a tolerated
    spelling means its code; then a word-by-word prefix ('V High' -> very_high, 'M' -> male)
    when exactly one value fits; then spelling ('Walse' -> 'Wales'). Only valid values are
    ever suggested."""
    import difflib

    text = suggestion_key(value or "")
    if not text:
        return None
    names = _names_of_values(column)
    for match in (
        lambda key: key == text,
        lambda key: _prefix_match(text, key),
    ):
        found = {code for key, code in names if match(key)}
        if len(found) == 1:
            return found.pop()
        if found:
            return None  # ambiguous: no guess
    close = difflib.get_close_matches(text, [key for key, _ in names], n=1, cutoff=0.6)
    return next(code for key, code in names if key == close[0]) if close else None


def suggestion_key(text: str) -> str:
    """`text` folded for comparison: lower case, '&' as 'and', every run of spaces, hyphens,
    dots and other punctuation as one `_` ('V High' -> 'v_high', '18-24' -> '18_24')."""
    text = text.strip().lower().replace("&", " and ")
    return re.sub(r"[^0-9a-z+]+", "_", text).strip("_")


def _prefix_match(text: str, key: str) -> bool:
    """Each word of `text` starts the word of `key` in the same place ('v_high' fits
    'very_high'), or `text` starts `key` whole ('med' fits 'medium')."""
    if key.startswith(text):
        return True
    words, targets = text.split("_"), key.split("_")
    if len(words) != len(targets):
        return False
    return all(t.startswith(w) for w, t in zip(words, targets, strict=True))


def _names_of_values(column: str) -> list[tuple[str, str]]:
    """(comparison key, valid value) for every valid value of `column` and every name of one:
    the value itself, its label in codes.csv, a tolerated spelling or a region alias."""
    options = _valid_values(column)
    names = [(suggestion_key(o), o) for o in options]
    if column in answer_columns():
        names += [(suggestion_key(v), a) for v, a in refdata.answer_variants().items()]
    elif column in bool_columns():
        variants = refdata.boolean_variants().items()
        names += [(suggestion_key(v), str(b).lower()) for v, b in variants]
    elif column == "region":
        names += [(suggestion_key(a), r) for a, r in refdata.region_aliases().items()]
    else:
        labels = refdata._read("codes.csv").filter(pl.col("column") == column)
        names += [(suggestion_key(label), c) for c, label in labels.select("code", "label").rows()]
    return [(key, value) for key, value in names if key and value in options]


def _valid_values(column: str) -> list[str]:
    if column in answer_columns():
        return list(ANSWER.categories)
    if column in bool_columns():
        return ["true", "false"]
    if column == "region":
        return refdata.region_names()
    return refdata.codes().get(column, [])


def _account(
    reads: list[FileRead], accepted: pl.DataFrame, rejected: pl.DataFrame, issues: pl.DataFrame
) -> list[FileAccount]:
    acc = dict(accepted.group_by("source_file").len().iter_rows())
    rej = dict(rejected.group_by("source_file").len().iter_rows())
    fields = dict(issues.group_by("source_file").len().iter_rows())
    accounts = []
    for read in reads:
        name = read.display_name
        if read.rejected:
            account = FileAccount(
                name,
                read.rows_read,
                0,
                read.rows_read,
                read.blank_rows,
                read.error,
                read.encoding,
                read.sheet,
                read.unmapped_columns,
            )
        else:
            account = FileAccount(
                name,
                read.rows_read,
                acc.get(name, 0),
                rej.get(name, 0),
                read.blank_rows,
                None,
                read.encoding,
                read.sheet,
                read.unmapped_columns,
                fields.get(name, 0),
            )
        if account.rows_read != account.rows_accepted + account.rows_rejected:
            raise AccountingError(
                f"{name}: read {account.rows_read} != accepted {account.rows_accepted} "
                f"+ rejected {account.rows_rejected}"
            )
        accounts.append(account)
    return accounts
