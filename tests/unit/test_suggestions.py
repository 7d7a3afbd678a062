"""Suggestions for an unknown code: drawn from the valid values, over every code list.

The code lists are read here from the reference CSVs with the csv module (not through the code
under test); each code's variants are built by hand rules: upper case, spaces for underscores,
its label, and the first letter of each word but the last plus the last word ('V High')."""

from __future__ import annotations

import csv
import re

import pytest

from pipeline.config import REFERENCE_DIR
from pipeline.stages import validate


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _code_cases() -> list[tuple[str, str, str]]:
    """(column, code, label) for every code list, every region and every answer."""
    cases = [(r["column"], r["code"], r["label"]) for r in _rows("codes.csv")]
    cases += [("region", r["region"], r["region"]) for r in _rows("regions.csv")]
    answers = {"yes": "Yes", "no": "No", "na": "Not applicable"}
    cases += [("assessment_safety", code, label) for code, label in answers.items()]
    cases += [("prompt_risk_of_harm_identified", code, label) for code, label in answers.items()]
    return cases


def _initials(code: str) -> str:
    """'very_high' -> 'V High'; 'Kent, Surrey and Sussex' -> 'K S A Sussex'."""
    words = [w for w in re.split(r"[_\s,-]+", code) if w]
    return " ".join([w[0].upper() for w in words[:-1]] + [words[-1].title()])


def _variants(code: str, label: str) -> set[str]:
    return {code.upper(), code.replace("_", " "), label, _initials(code)}


CASES = _code_cases()


@pytest.mark.parametrize(("column", "code", "label"), CASES, ids=[f"{c}:{v}" for c, v, _ in CASES])
def test_every_variant_of_a_code_suggests_that_code(column: str, code: str, label: str) -> None:
    for variant in sorted(_variants(code, label)):
        assert validate.suggest(column, variant) == code, (column, variant)


def test_every_code_list_is_covered() -> None:
    columns = {c for c, _, _ in CASES}
    assert {"rosh", "gender", "age_band", "mappa_level", "framework", "region"} <= columns
    assert len(CASES) == 70 + 12 + 6  # 64 codes, then adjusted_reason (4) and assessor_type (2)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("rosh", "V High", "very_high"),  # used to be 'high'
        ("rosh", "very-high", "very_high"),
        ("rosh", "medum", "medium"),
        ("gender", "M", "male"),
        ("region", "Walse", "Wales"),
        ("age_band", "50 and over", "50+"),
        ("mappa_level", "Level 2", "2"),
        ("caseload_band", "60+", None),
        ("rosh", "severe", None),
        ("practitioner_grade", "p", None),  # po, pso, pqip: not unique
        ("assessment_safety", "maybe", None),
    ],
)
def test_suggestions_by_hand(column: str, value: str, expected: str | None) -> None:
    assert validate.suggest(column, value) == expected


@pytest.mark.parametrize("value", ["zzz", "V High", "x y z", "Very", "2", "n/a", "-", ""])
def test_a_suggestion_is_always_a_valid_value(value: str) -> None:
    valid: dict[str, set[str]] = {}
    for row in _rows("codes.csv"):
        valid.setdefault(row["column"], set()).add(row["code"])
    for column, codes in valid.items():
        suggestion = validate.suggest(column, value)
        assert suggestion is None or suggestion in codes, (column, value, suggestion)
