"""Reference data: regions, units, key questions, dates, rating bands, codes.

The facts live in CSV files under `pipeline/reference/` (each row names its source); this module
only loads them, checks they are internally consistent, and exposes them with the types analysis
needs. Loading is lazy and cached, so importing the package reads nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.config import REFERENCE_DIR, Settings
from pipeline.domain import (
    KEY_QUESTIONS,
    NATIONAL,
    NATIONAL_SLUG,
    NEED_PREFIX,
    NEED_STAGES,
    QUESTIONS,
)


class ReferenceDataError(ValueError):
    """A reference table is missing, malformed or inconsistent with another one."""


def reference_files() -> list[Path]:
    """Every file of the reference data (settings included), sorted: what a run's outputs
    depend on besides the exports and the code (hashed to decide whether a rerun can reuse)."""
    return sorted(p for p in REFERENCE_DIR.rglob("*") if p.is_file() and p.suffix == ".csv")


def _read(name: str) -> pl.DataFrame:
    path = REFERENCE_DIR / name
    if not path.exists():
        raise ReferenceDataError(f"reference table missing: {path}")
    return pl.read_csv(path, infer_schema_length=0)  # all text; cast explicitly below


def normalise_label(text: str) -> str:
    """Fold a free-text label (region, header) to a comparable key.

    Lower case, '&' read as 'and', every run of non-alphanumerics becomes one space. Shared by
    region-alias matching so that 'Kent, Surrey & Sussex' and 'kent surrey and sussex' meet.
    """
    text = text.strip().lower().replace("&", " and ")
    return re.sub(r"[^0-9a-z+]+", " ", text).strip()


def normalise_label_expr(text: pl.Expr) -> pl.Expr:
    """`normalise_label` as a Polars expression, for whole columns (same rules)."""
    return (
        text.str.strip_chars()
        .str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[^0-9a-z+]+", " ")
        .str.strip_chars()
    )


@cache
def regions() -> pl.DataFrame:
    """The 12 regions of the Probation Service (from June 2021), with URL-safe slugs."""
    df = _read("regions.csv").with_columns(pl.col("name_verified") == "true")
    if df.height != 12 or df["region"].n_unique() != 12 or df["slug"].n_unique() != 12:
        raise ReferenceDataError("regions.csv must list 12 distinct regions and slugs")
    return df


def region_names() -> list[str]:
    """Region names in reference order."""
    return regions()["region"].to_list()


@cache
def region_aliases() -> dict[str, str]:
    """Normalised alias -> canonical region name (includes every canonical name)."""
    df = _read("region_aliases.csv")
    known = set(region_names())
    unknown = set(df["region"]) - known
    if unknown:
        raise ReferenceDataError(f"region_aliases.csv maps to unknown regions: {sorted(unknown)}")
    mapping = {normalise_label(r): r for r in known}
    for alias, region in df.select("alias", "region").iter_rows():
        key = normalise_label(alias)
        if mapping.get(key, region) != region:
            raise ReferenceDataError(f"alias {alias!r} maps to two regions")
        mapping[key] = region
    return mapping


def region_slug(region: str) -> str:
    """The file-system slug of a canonical region (or 'england-and-wales' for the nation)."""
    if region == NATIONAL:
        return NATIONAL_SLUG
    slugs = dict(regions().select("region", "slug").iter_rows())
    if region not in slugs:
        raise KeyError(f"not one of the 12 regions: {region!r}")
    return str(slugs[region])


@cache
def pre_unification_units() -> pl.DataFrame:
    """21 CRCs and the NPS divisions, with the region each maps to (mapping unverified)."""
    df = _read("units_pre_unification.csv").with_columns(
        pl.col("mapping_verified") == "true", pl.col("name_verified") == "true"
    )
    if df.filter(pl.col("provider") == "CRC").height != 21:
        raise ReferenceDataError("units_pre_unification.csv must list the 21 CRCs")
    _check_regions(df, "region", "units_pre_unification.csv")
    return df


@cache
def pdus() -> pl.DataFrame:
    """Probation delivery units by region (names seen in sources are flagged verified)."""
    df = _read("pdus.csv").with_columns(pl.col("name_verified") == "true")
    _check_regions(df, "region", "pdus.csv")
    return df


@cache
def key_questions() -> pl.DataFrame:
    """Key-question catalogue: one row per framework x key question asked."""
    df = _read("key_questions.csv").with_columns(pl.col("wording_verified") == "true")
    bad = set(df["key_question"]) - set(QUESTIONS)
    if bad:
        raise ReferenceDataError(f"key_questions.csv has unknown key questions: {sorted(bad)}")
    if df.select("framework", "key_question").is_duplicated().any():
        raise ReferenceDataError("key_questions.csv repeats a framework x key question")
    return df


def questions_asked(framework: str) -> list[str]:
    """Key questions a framework asks, in catalogue order."""
    df = key_questions().filter(pl.col("framework") == framework)
    return df["key_question"].to_list()


@cache
def codes() -> dict[str, list[str]]:
    """Allowed codes per coded contract column, in display order."""
    df = _read("codes.csv").with_columns(pl.col("order").cast(pl.Int32)).sort("column", "order")
    return {
        column: group["code"].to_list()
        for (column,), group in df.group_by("column", maintain_order=True)
    }


@cache
def answer_variants() -> dict[str, str]:
    """Tolerated answer spellings (lower-cased, trimmed) -> canonical yes/no/na."""
    df = _read("answer_variants.csv")
    return dict(df.select("variant", "answer").iter_rows())


@cache
def boolean_variants() -> dict[str, bool]:
    """Tolerated boolean spellings (lower-cased, trimmed) -> True/False."""
    df = _read("answer_variants.csv").filter(pl.col("boolean") != "")
    return {v: b == "true" for v, b in df.select("variant", "boolean").iter_rows()}


@cache
def key_dates() -> dict[str, dt.date]:
    """Named key dates (unification, inspection pause, ...) as dates."""
    df = _read("key_dates.csv")
    return {n: dt.date.fromisoformat(d) for n, d in df.select("name", "date").iter_rows()}


def unification_date() -> dt.date:
    """26 June 2021: the CRC/NPS split ended and one Probation Service began."""
    return key_dates()["unification"]


@cache
def frameworks() -> pl.DataFrame:
    """Inspection frameworks (standards versions) and the programmes that used them."""
    return _read("frameworks.csv")


NOT_RATED_AT_THIS_LEVEL = ("not_rated", "contributes_to_regional")
"""inspection_model.csv `rated_by` values that give no rating to the inspection itself."""


@cache
def rated_standards() -> pl.DataFrame:
    """(framework, inspection_type, n_rated_standards): how many standards an inspection of that
    type rates (frameworks.csv `rated_standards`, e.g. 'pdu:7;regional:8;national:4'), checked
    against the standards inspection_model.csv rates at that level."""
    rows = []
    for framework, spec in frameworks().select("framework", "rated_standards").iter_rows():
        for part in spec.split(";"):
            inspection_type, n = part.split(":")
            rows.append((framework, inspection_type.strip(), int(n)))
    declared = pl.DataFrame(
        rows, schema=["framework", "inspection_type", "n_rated_standards"], orient="row"
    )
    model = inspection_model().filter(~pl.col("rated_by").is_in(NOT_RATED_AT_THIS_LEVEL))
    counted = model.group_by("framework", "inspection_type").agg(pl.len().alias("n_model"))
    check = declared.join(counted, on=["framework", "inspection_type"], how="left")
    bad = check.filter(pl.col("n_model").fill_null(0) != pl.col("n_rated_standards"))
    if bad.height:
        raise ReferenceDataError(
            "frameworks.csv rated_standards disagrees with inspection_model.csv: "
            + str(bad.to_dicts())
        )
    return declared


@cache
def rating_bands() -> pl.DataFrame:
    """Key-question % -> rating bands per framework, with their `verified` flag."""
    return _read("rating_bands.csv").with_columns(
        pl.col("min_pct").cast(pl.Float64), pl.col("verified") == "true"
    )


@cache
def certainty_words() -> list[tuple[float, str]]:
    """(smallest chance that the band stays the same, plain words), most certain first: how a
    rating's uncertainty is read out ('very likely', 'likely', 'could go either way')."""
    df = _read("certainty_words.csv").with_columns(pl.col("min_chance_same").cast(pl.Float64))
    rows = sorted(df.select("min_chance_same", "words").iter_rows(), reverse=True)
    if not rows or rows[-1][0] != 0.0:
        raise ReferenceDataError("certainty_words.csv needs a row with min_chance_same 0")
    return [(float(c), str(w)) for c, w in rows]


@cache
def overall_bands() -> pl.DataFrame:
    """Score -> overall rating bands, only for frameworks where they are configured."""
    return _read("overall_bands.csv").with_columns(
        pl.col("n_standards", "max_score", "min_score").cast(pl.Int32),
        pl.col("verified") == "true",
    )


@cache
def rating_scores() -> pl.DataFrame:
    """Rating labels with their rank and points (points unverified)."""
    return _read("rating_scores.csv").with_columns(
        pl.col("rank", "score").cast(pl.Int32), pl.col("verified") == "true"
    )


@cache
def calibration_targets() -> pl.DataFrame:
    """Published figures the synthetic sample is calibrated to, with tolerances and sources."""
    return _read("calibration_targets.csv").with_columns(
        pl.col("target_pct", "tolerance_pp").cast(pl.Float64)
    )


@cache
def sample_design() -> pl.DataFrame:
    """Design sufficiency (%) per programme x provider x measure used by the generator."""
    return _read("sample_design.csv").with_columns(pl.col("design_pct").cast(pl.Float64))


@cache
def sample_regional_rounds() -> list[tuple[str, dt.date, dt.date, dt.date, int]]:
    """The 2023-framework regional inspections the generator lays out: region, fieldwork start
    and end, publication date and cases (published where the status column says so)."""
    df = _read("sample_regional_rounds.csv")
    _check_regions(df, "region", "sample_regional_rounds.csv")
    day = dt.date.fromisoformat
    return [
        (r, day(s), day(e), day(p), int(n))
        for r, s, e, p, n in df.select(
            "region", "fieldwork_start", "fieldwork_end", "publication_date", "n_cases"
        ).iter_rows()
    ]


@cache
def sample_dipp_sizes() -> dict[str, int]:
    """Published dynamic-inspection sample sizes by region (the others are drawn)."""
    df = _read("sample_dipp_sizes.csv")
    _check_regions(df, "region", "sample_dipp_sizes.csv")
    return {r: int(n) for r, n in df.select("region", "n_cases").iter_rows()}


@cache
def sample_region_effects() -> dict[str, float]:
    """Region logit offsets used by the generator (two anchored, the rest assumed)."""
    df = _read("sample_region_effects.csv")
    _check_regions(df, "region", "sample_region_effects.csv")
    return {r: float(v) for r, v in df.select("region", "logit_offset").iter_rows()}


def _check_regions(df: pl.DataFrame, column: str, name: str) -> None:
    unknown = set(df[column]) - set(region_names())
    if unknown:
        raise ReferenceDataError(f"{name}: unknown regions {sorted(unknown)}")


@cache
def contract_columns() -> pl.DataFrame:
    """The case-level data contract: column, type, required, description (DATA_CONTRACT.md)."""
    df = _read("contract_columns.csv").with_columns(pl.col("required") == "true")
    kq = df.filter(pl.col("type") == "answer", pl.col("column").is_in(KEY_QUESTIONS))
    if kq.height != len(KEY_QUESTIONS):
        raise ReferenceDataError("contract_columns.csv must list the 12 key questions")
    return df


def required_columns() -> list[str]:
    """Columns a case file must have; a file lacking any is rejected whole."""
    return contract_columns().filter(pl.col("required"))["column"].to_list()


@cache
def programmes() -> pl.DataFrame:
    """(inspection_type, framework) -> inspection programme id, label and display order."""
    return _read("programmes.csv").with_columns(pl.col("order").cast(pl.Int32))


def regional_programmes() -> list[str]:
    """Programmes whose cases count towards regional figures (regional_cells = true); the
    national inspection's cases were sampled for England and Wales as a whole."""
    table = programmes().filter(pl.col("regional_cells") == "true")
    return sorted(set(table["programme"].to_list()))


@cache
def provider_shares() -> dict[str, dict[str, float]]:
    """Scope -> {'CRC': share, 'NPS': share} of the pre-unification caseload, used to
    post-stratify pre-unification samples whose CRC/NPS mix is an accident of which inspections
    took place (unverified: the file names what to check them against)."""
    df = _read("provider_shares.csv")
    known = {*region_names(), NATIONAL}
    unknown = set(df["scope"]) - known
    if unknown:
        raise ReferenceDataError(f"provider_shares.csv: unknown scopes {sorted(unknown)}")
    shares = {}
    for scope, crc, nps in df.select("scope", "share_crc", "share_nps").iter_rows():
        crc_share, nps_share = float(crc), float(nps)
        if abs(crc_share + nps_share - 1) > 1e-9:
            raise ReferenceDataError(f"provider_shares.csv: {scope} shares do not add to 1")
        shares[scope] = {"CRC": crc_share, "NPS": nps_share}
    return shares


@cache
def settings() -> Settings:
    """The typed analysis settings (suppression threshold, confidence level, rating rounding),
    loaded once from settings.csv; pass the object down rather than re-reading it."""
    return Settings.from_mapping(dict(_read("settings.csv").select("name", "value").iter_rows()))


def column_group(kind: str) -> tuple[str, ...]:
    """Contract columns of one type (text, code, region, date, bool, answer), in contract order.

    The validator's column groups come from here, so adding a column to contract_columns.csv
    is enough for it to be read, normalised and checked.
    """
    df = contract_columns().filter(pl.col("type") == kind)
    if df.height == 0:
        raise ReferenceDataError(f"contract_columns.csv has no columns of type {kind!r}")
    return tuple(df["column"].to_list())


@cache
def column_descriptions() -> dict[str, str]:
    """Meaning of every output column that is not a contract column."""
    return dict(_read("column_descriptions.csv").select("column", "description").iter_rows())


@cache
def rating_aliases() -> dict[str, str]:
    """Lower-cased rating spellings -> the four canonical labels."""
    return dict(_read("rating_aliases.csv").select("alias", "rating").iter_rows())


def rating_rule_text(framework: str = "2023") -> str:
    """The configured rating rule in words, generated from rating_bands.csv so that every text
    quoting it (workbook notes, CLI help) changes when the bands are edited."""
    bands = rating_bands().filter(pl.col("framework") == framework).sort("min_pct", descending=True)
    if bands.height == 0:
        return f"no rating bands are configured for framework {framework}"
    rows = bands.select("rating", "min_pct").rows()
    parts = [f"{pct:g}% or more {rating}" for rating, pct in rows[:-1]]
    parts.append(f"below {rows[-2][1]:g}% {rows[-1][0]}" if len(rows) > 1 else rows[-1][0])
    verified = "verified" if bool(bands["verified"].all()) else "not verified"
    return (
        "a standard takes the band of its lowest key question ("
        + ", ".join(parts)
        + f"); this rule is {verified} against HM Inspectorate of Probation's guidance"
    )


RATED_BY = (
    "case_data",
    "aggregated_pdu_case_data",
    "contributes_to_regional",
    "other_case_sample",
    "inspector_judgement",
    "not_rated",
)
"""How a standard is rated (inspection_model.csv): from the inspected cases' key questions;
from PDU cases pooled over a regional round; not at this level but in the regional rating; from
a case sample outside the case-supervision data; by inspectors' judgement; or not at all."""


@cache
def inspection_model() -> pl.DataFrame:
    """Inspection type x framework x standard: how HMIP rates it, with the source."""
    df = _read("inspection_model.csv").with_columns(
        pl.col("rule_verified") == "true", pl.col("domain").cast(pl.Int8)
    )
    unknown = set(df["rated_by"]) - set(RATED_BY)
    if unknown:
        raise ReferenceDataError(f"inspection_model.csv: unknown rated_by {sorted(unknown)}")
    if df.select("inspection_type", "framework", "standard").is_duplicated().any():
        raise ReferenceDataError("inspection_model.csv repeats an inspection type x standard")
    return df


def rated_from_case_data() -> pl.DataFrame:
    """(inspection_type, framework, standard) rated by rule from the inspected cases."""
    return (
        inspection_model()
        .filter(pl.col("rated_by") == "case_data")
        .select("inspection_type", "framework", "standard")
    )


@cache
def regional_rating_rules() -> pl.DataFrame:
    """Regional domain-two standards rated from aggregated PDU case data: which key questions
    feed each, how they combine, and whether the rule is verified."""
    df = _read("regional_rating_rules.csv").with_columns(
        pl.col("verified") == "true", pl.col("key_questions").str.split(";")
    )
    if set(df["combine"]) - {"lowest", "pooled"}:
        raise ReferenceDataError("regional_rating_rules.csv: combine must be lowest or pooled")
    modelled = inspection_model().filter(pl.col("rated_by") == "aggregated_pdu_case_data")
    if set(df["regional_standard"]) != set(modelled["standard"]):
        raise ReferenceDataError(
            "regional_rating_rules.csv must give a rule for each regional standard "
            "rated from aggregated PDU case data (inspection_model.csv)"
        )
    return df


COHORT_COLUMNS = (
    "cohort",
    "label",
    "inspection_types",
    "programmes",
    "fieldwork_from",
    "fieldwork_to",
    "published_from",
    "published_to",
    "source",
)


def parse_cohorts(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """Check and type a cohort table (a named selection of inspections); errors name the file,
    row and column."""
    missing = [c for c in COHORT_COLUMNS if c not in df.columns]
    if missing:
        raise ReferenceDataError(f"{name}: missing column(s) {', '.join(missing)}")
    df = df.select(COHORT_COLUMNS).with_columns(
        pl.col("inspection_types", "programmes")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars())
    )
    for row, record in enumerate(df.iter_rows(named=True), start=2):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", record["cohort"] or ""):
            raise ReferenceDataError(
                f"{name} row {row}, column cohort: {record['cohort']!r} is not a lower-case name"
            )
        for column in COHORT_COLUMNS[4:8]:
            value = record[column]
            if value and not _is_iso_date(value):
                raise ReferenceDataError(
                    f"{name} row {row}, column {column}: {value!r} is not a YYYY-MM-DD date"
                )
        _check_cohort_codes(record, name, row)
        _check_cohort_windows(record, name, row)
    if df["cohort"].is_duplicated().any():
        raise ReferenceDataError(f"{name}: a cohort name is repeated")
    return df.with_columns(pl.col(c).str.to_date("%Y-%m-%d") for c in COHORT_COLUMNS[4:8])


def _check_cohort_windows(record: dict[str, Any], name: str, row: int) -> None:
    """A window that ends before it starts selects nothing: refuse it rather than tabulate an
    empty cohort without a word."""
    for window in ("fieldwork", "published"):
        start, end = record[f"{window}_from"], record[f"{window}_to"]
        if start and end and _is_iso_date(start) and _is_iso_date(end) and start > end:
            raise ReferenceDataError(
                f"{name} row {row}: {window}_from {start} is after {window}_to {end} "
                "(the window would select nothing)"
            )


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def _check_cohort_codes(record: dict[str, Any], name: str, row: int) -> None:
    known = {
        "inspection_types": set(codes()["inspection_type"]),
        "programmes": set(programmes()["programme"]),
    }
    for column, allowed in known.items():
        bad = [v for v in record[column] or [] if v and v not in allowed]
        if bad:
            raise ReferenceDataError(
                f"{name} row {row}, column {column}: unknown {', '.join(bad)} "
                f"(known: {', '.join(sorted(allowed))})"
            )


@cache
def cohorts() -> pl.DataFrame:
    """The named cohorts every run tabulates (reference/cohorts.csv)."""
    return parse_cohorts(_read("cohorts.csv"), "cohorts.csv")


@cache
def prompts() -> pl.DataFrame:
    """Prompts under the key questions (reference/prompts.csv): code, parent question, the
    frameworks that ask it, when it applies, wording and whether the wording is verified."""
    df = _read("prompts.csv").with_columns(
        pl.col("wording_verified") == "true", pl.col("frameworks").str.split(";")
    )
    unknown = set(df["key_question"]) - set(QUESTIONS)
    if unknown:
        raise ReferenceDataError(f"prompts.csv: unknown parent questions {sorted(unknown)}")
    if df["prompt"].is_duplicated().any():
        raise ReferenceDataError("prompts.csv repeats a prompt code")
    return df


@cache
def needs() -> pl.DataFrame:
    """Need areas of the optional needs block (reference/needs.csv): code, label, the share of
    synthetic cases with the need, source. The contract must declare exactly the two columns
    per area (`need_<area>_identified`, `need_<area>_addressed`): one list, checked here."""
    df = _read("needs.csv").with_columns(
        pl.col("sample_present_pct").cast(pl.Float64), pl.col("verified") == "true"
    )
    if df["need"].is_duplicated().any():
        raise ReferenceDataError("needs.csv repeats a need area")
    declared = {c for c in contract_columns()["column"] if c.startswith(NEED_PREFIX)}
    expected = set(need_columns(df["need"].to_list()))
    if declared != expected:
        raise ReferenceDataError(
            "contract_columns.csv and needs.csv disagree on the need columns: "
            f"{sorted(declared ^ expected)}"
        )
    return df


def need_columns(areas: list[str] | None = None) -> list[str]:
    """The contract's need columns, area by area (identified, then addressed)."""
    areas = needs()["need"].to_list() if areas is None else areas
    return [f"{NEED_PREFIX}{a}_{stage}" for a in areas for stage in NEED_STAGES]


@cache
def rationale_themes() -> pl.DataFrame:
    """The rationale theme dictionary: theme, label, description, regex pattern, source."""
    df = _read("rationale_themes.csv")
    for theme, pattern in df.select("theme", "pattern").iter_rows():
        try:
            pl.select(pl.lit("").str.contains(pattern))
        except pl.exceptions.PolarsError as exc:
            raise ReferenceDataError(
                f"rationale_themes.csv: bad pattern for {theme}: {exc}"
            ) from None
    return df


DRAFT_WORDING = "Draft: not for publication"
"""What every output says while the publication settings' status is draft (the bulletin's
date line and banner, the workbook cover, the release manifest): one wording everywhere."""


@dataclass(frozen=True)
class PublicationSettings:
    """Who publishes, who to contact, and whether the outputs are a draft (publication.csv)."""

    organisation: str
    contact_team: str
    contact_email: str
    statistician: str
    status: str
    publication_date: dt.date | None
    next_update: dt.date | None
    licence: str
    case_source: str
    synthetic_source: str
    published_source: str

    @property
    def draft(self) -> bool:
        return self.status == "draft"

    @property
    def contact(self) -> str:
        return f"{self.contact_team}, {self.contact_email}"

    def date_line(self, date: dt.date | None = None) -> str:
        """ "Published 7 December 2026", or the draft wording (with any planned date)."""
        day = date or self.publication_date
        if self.draft:
            planned = f" (planned publication {_long_date(day)})" if day else ""
            return f"{DRAFT_WORDING}{planned}"
        return f"Published {_long_date(day)}" if day else "Published"

    def next_update_line(self) -> str:
        return _long_date(self.next_update) if self.next_update else "not yet scheduled"

    def source(self, synthetic: bool) -> str:
        """The case-level source line: the synthetic sample never claims HMIP's assessments."""
        return self.synthetic_source if synthetic else self.case_source


def _long_date(day: dt.date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else ""


@cache
def publication() -> PublicationSettings:
    """The publication settings, checked: status draft or published, dates as YYYY-MM-DD, and
    a published status needs its publication date."""
    values = dict(_read("publication.csv").select("name", "value").iter_rows())
    dates: dict[str, dt.date | None] = {}
    for name in ("publication_date", "next_update"):
        text = (values.get(name) or "").strip()
        if text and not _is_iso_date(text):
            raise ReferenceDataError(f"publication.csv: {name} must be YYYY-MM-DD, got {text!r}")
        dates[name] = dt.date.fromisoformat(text) if text else None
    status = (values.get("status") or "").strip()
    if status not in ("draft", "published"):
        raise ReferenceDataError(f"publication.csv: status is draft or published, not {status!r}")
    if status == "published" and dates["publication_date"] is None:
        raise ReferenceDataError("publication.csv: status published needs a publication_date")
    texts = {name: (values.get(name) or "").strip() for name in _PUBLICATION_TEXTS}
    missing = [name for name, text in texts.items() if not text]
    if missing:
        raise ReferenceDataError(f"publication.csv: empty value(s) for {', '.join(missing)}")
    return PublicationSettings(
        **texts,
        status=status,
        publication_date=dates["publication_date"],
        next_update=dates["next_update"],
    )


_PUBLICATION_TEXTS = (
    "organisation",
    "contact_team",
    "contact_email",
    "statistician",
    "licence",
    "case_source",
    "synthetic_source",
    "published_source",
)


NONCASE_COLUMNS = (
    "question_id",
    "asked_of",
    "topic",
    "wording",
    "answered_by",
    "evidence_sources",
    "reported_as",
    "verified",
    "source",
    "note",
)
NONCASE_ASKED_OF = (
    "region_leadership",
    "workforce",
    "partnerships",
    "policies",
    "quality_assurance",
)
"""What a dynamic-inspection non-case question is asked of (not of a case)."""


@cache
def dipp_noncase_questions() -> pl.DataFrame:
    """The dynamic inspection's non-case questions: what each is asked of, how it is answered
    (evidence and interviews, never a case yes/no) and how a report shows it (narrative, never a
    percentage); `verified` only where the wording was confirmed from the cited source."""
    return check_noncase_questions(
        _read("dipp_noncase_questions.csv"), "dipp_noncase_questions.csv"
    )


def check_noncase_questions(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """The table with `verified` as a boolean, or `ReferenceDataError` naming the row."""
    if tuple(df.columns) != NONCASE_COLUMNS:
        raise ReferenceDataError(f"{name}: columns must be {', '.join(NONCASE_COLUMNS)}")
    if df["question_id"].is_duplicated().any():
        raise ReferenceDataError(f"{name}: question_id repeated")
    for row, record in enumerate(df.to_dicts(), start=2):
        verified, source = record["verified"], record["source"] or ""
        if verified not in ("true", "false"):
            raise ReferenceDataError(f"{name} row {row}: verified is true or false")
        if record["asked_of"] not in NONCASE_ASKED_OF:
            raise ReferenceDataError(f"{name} row {row}: asked_of {record['asked_of']!r}")
        if verified == "true" and not source.startswith("https://"):
            raise ReferenceDataError(f"{name} row {row}: a verified row must cite its source")
        if verified == "false" and "assumed" not in (record["note"] or "").lower():
            raise ReferenceDataError(f"{name} row {row}: an unverified row must say it is assumed")
        if not (record["wording"] or "").strip():
            raise ReferenceDataError(f"{name} row {row}: wording is empty")
    return df.with_columns(pl.col("verified") == "true")
