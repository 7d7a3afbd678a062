"""Key findings a reader can trust: one finding per fact, the unification date named, and no
before-and-after pair printed where the comparison is withheld."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pipeline import refdata
from pipeline.bulletins import bulletin, document
from pipeline.domain import NATIONAL
from pipeline.outputs.labels import for_readers

PAIR = re.compile(r"\d+% of cases.*against \d+%")
YEAR_SPLIT = re.compile(r"\b(after|before) (it|\d{4})\b")
COUNT = "keeping-safe key questions"


def test_every_bulletin_gives_one_finding_per_fact(sample_release: Path) -> None:
    unification = pl.read_parquet(sample_release / "tables" / "unification.parquet")
    withheld_seen = 0
    for region in [NATIONAL, *refdata.region_names()]:
        found = document.key_findings(bulletin.Bulletin.load(sample_release, region))
        text = " ".join(found)
        assert not YEAR_SPLIT.search(text), (region, YEAR_SPLIT.search(text))
        assert sum(COUNT in f for f in found) <= 1, (region, found)
        pairs = [m.group(0) for f in found for m in PAIR.finditer(f)]
        assert len(pairs) == len(set(pairs)), (region, pairs)
        row = unification.filter(pl.col("scope") == region, pl.col("comparable_id") == "IMPL_SAFE")
        if row.height and row["significant_holm"][0] is None:
            withheld_seen += 1
            assert "not assessed" in found[0], (region, found[0])
            assert not PAIR.search(found[0]), (region, found[0])
        else:
            assert "26 June 2021" in found[0], (region, found[0])
    assert withheld_seen >= 1, "the sample has regions whose comparison is withheld"


def test_a_comparison_never_made_reads_not_assessed() -> None:
    shown = for_readers(pl.DataFrame({"significant_holm": [True, False, None]}))
    assert shown.to_series().to_list() == ["Yes", "No", "Not assessed"]
