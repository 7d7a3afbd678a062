"""Domain terms shared by every part of the pipeline: one definition each.

The inspection vocabulary (standards, themes, key questions, answers, eras, series, scopes,
ratings) and the names of the contract's row rules live here and nowhere else. Anything with a
source or a value a user may change (regions, codes, dates, bands, thresholds) is reference data
in `reference/` and is read by `refdata.py`; this module holds only the fixed structure.
Sources: HMIP case-assessment structure (framework.md 4.1-4.2), DATA_CONTRACT.md.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

NATIONAL = "England and Wales"
"""The national scope: every case in England and Wales (the 12 regions together)."""
NATIONAL_SLUG = "england-and-wales"
MULTIPLE_REGIONS = "Multiple regions"
"""Region label of a pre-2021 inspection whose cases belong to several of today's regions."""

STANDARDS: tuple[str, ...] = ("assessment", "planning", "implementation", "reviewing")
"""The four case-supervision standards, in the order of the case (ASPIRE)."""
THEMES: tuple[str, ...] = ("engagement", "desistance", "safety")
"""The three lenses of every case-supervision standard."""
KEY_QUESTIONS: tuple[str, ...] = tuple(f"{s}_{t}" for s in STANDARDS for t in THEMES)
"""The 12 case-supervision key questions, as contract column names (standard x theme)."""
SINGLE_QUESTION_STANDARDS: tuple[str, ...] = ("court_work", "resettlement")
"""Standards judged by one key question with no theme split: court work (pre-sentence advice;
rated at PDU level 2021-23, feeding the regional rating from 2023) and resettlement (2023).
Seed 003 reports both beside the 12 (36 % and 42 % nationally)."""
QUESTIONS: tuple[str, ...] = (*KEY_QUESTIONS, *SINGLE_QUESTION_STANDARDS)
"""Every question the `answers` table holds: the 12 key questions, court work, resettlement."""
ANSWER_STANDARDS: tuple[str, ...] = (*STANDARDS, *SINGLE_QUESTION_STANDARDS)
STANDARD_LABELS = {
    "assessment": "Assessment",
    "planning": "Planning",
    "implementation": "Implementation and delivery",
    "reviewing": "Reviewing",
    "court_work": "Court work",
    "resettlement": "Resettlement",
}
THEME_LABELS = {
    "engagement": "Engaging the person",
    "desistance": "Supporting desistance",
    "safety": "Keeping other people safe",
}

ANSWERS: tuple[str, ...] = ("yes", "no", "na")
ANSWER = pl.Enum(list(ANSWERS))
"""An inspector's answer to a key question: sufficient, not sufficient, not applicable."""

ERAS: tuple[str, ...] = ("pre_unification", "post_unification")
ERA = pl.Enum(list(ERAS))
"""Before or after the probation service was unified (26 June 2021, reference/key_dates.csv)."""
ERA_LABELS = {"pre_unification": "Before unification", "post_unification": "After unification"}
SAME_AREA_SIDES = {"pre_unification": "last_crc_nps", "post_unification": "first_unified"}
"""The same-area comparison's two sides, by era (the annual report 2022-23 as seed 004 quotes
it: the unified service's core inspections against the same areas' last CRC and NPS round)."""
SAME_AREA_LABELS = {
    "last_crc_nps": "Last CRC and NPS inspection of the area",
    "first_unified": "First inspection of the area as a unified service",
    "same_area": "Same areas before and after unification",
    "needs": "Needs",
}

SERIES: tuple[str, ...] = ("core", "dipp")
"""Core inspections, or the dynamic inspection of public protection (never pooled)."""
DIPP_PROGRAMME = "dipp_2025"

RATINGS: tuple[str, ...] = ("Inadequate", "Requires improvement", "Good", "Outstanding")
RATING = pl.Enum(list(RATINGS))
"""HMIP's four-point scale, worst first: `ORDER BY rating` sorts from Inadequate up, in every
table that carries a rating (case-based and published alike)."""

PERIOD_TYPES: tuple[str, ...] = ("calendar_year", "financial_year", "half_year", "programme")
"""Periods a trend cell can be grouped by (all taken from the fieldwork start)."""
PRACTITIONER: tuple[str, ...] = ("practitioner_grade", "caseload_band", "experience_band")
"""The practitioner block: grade (PO, PSO, PQiP, SPO), caseload and experience bands."""
SUBGROUPS: tuple[str, ...] = (
    "rosh",
    "case_type",
    "gender",
    "ethnicity",
    "age_band",
    "mappa_level",
    *PRACTITIONER,
)
"""Case and practitioner characteristics sufficiency is broken down by."""
CASE_MIX: tuple[str, ...] = ("rosh", "case_type", "gender", "age_band")
"""Case characteristics the adjusted pre/post comparison allows for."""
SUBGROUP_LABELS = {
    "rosh": "risk of serious harm",
    "case_type": "case type",
    "gender": "gender",
    "ethnicity": "ethnicity",
    "age_band": "age band",
    "mappa_level": "MAPPA level",
    "practitioner_grade": "practitioner grade",
    "caseload_band": "practitioner caseload",
    "experience_band": "practitioner experience",
}

PROMPT_PREFIX = "prompt_"
"""Contract columns `prompt_<code>` hold prompt-level answers (codes in reference/prompts.csv)."""
NEED_PREFIX = "need_"
"""Contract columns `need_<area>_identified` and `need_<area>_addressed` hold the optional needs
block (areas in reference/needs.csv)."""
NEED_STAGES: tuple[str, ...] = ("identified", "addressed")
"""The two judgements per need area: was the need identified, was it addressed (met)."""
RATIONALE_PREFIX = "rationale_"
"""Contract columns `rationale_<question>` hold the inspector's reasons for a judgement: free
text, never published (only theme counts are)."""

COUNT_COLUMNS: tuple[str, ...] = ("n_yes", "n_no", "n_na", "n_applicable")
"""Counts every sufficiency cell carries: n_applicable = n_yes + n_no."""


class Rule(StrEnum):
    """Names of the contract's row rules, as written in the quarantine file's `reasons`.

    The validator reports these and the synthetic generator plants them, from this one list.
    Column-specific rules are written `name(column)`, e.g. `unknown_code(rosh)`.
    """

    MISSING_VALUE = "missing_value"
    UNKNOWN_CODE = "unknown_code"
    UNPARSEABLE_DATE = "unparseable_date"
    START_DATE_AFTER_FIELDWORK_END = "start_date_after_fieldwork_end"
    FIELDWORK_START_AFTER_END = "fieldwork_start_after_end"
    PROVIDER_INCONSISTENT_WITH_DATES = "provider_inconsistent_with_dates"
    NO_KEY_QUESTION_ANSWERED = "no_key_question_answered"
    WRONG_NUMBER_OF_FIELDS = "wrong_number_of_fields"
    DUPLICATE_CASE = "duplicate_case"
    INCONSISTENT_INSPECTION = "inconsistent_inspection"
    IMPLAUSIBLE_DATE = "implausible_date"
    QUESTION_NOT_ASKED = "question_not_asked"
    ADJUSTED_REASON_INCONSISTENT = "adjusted_reason_inconsistent"

    def on(self, column: str) -> str:
        """The reason text for a column-specific rule: 'unknown_code(rosh)'."""
        return f"{self.value}({column})"
