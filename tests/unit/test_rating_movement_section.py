"""The bulletin's ratings words (issue 27) on hand-built rows: each derived rating's certainty
in plain words, and latest ratings with their movement, real and synthetic counted apart."""

from __future__ import annotations

import polars as pl

from pipeline.bulletins import bulletin, rating_charts, sections
from pipeline.domain import NATIONAL


def test_certainty_in_plain_words() -> None:
    sure = {
        "rating": "Inadequate",
        "rating_chance_differs_pct": 3.2,
        "rating_certainty": "very likely",
    }
    assert bulletin.certainty_words(sure) == (
        "Very likely to stay Inadequate: the chance that another sample of cases would give "
        "a different rating is 3%"
    )
    coin = {
        "rating": "Good",
        "rating_chance_differs_pct": 47.7,
        "rating_certainty": "could go either way",
    }
    assert bulletin.certainty_words(coin).startswith("Could go either way: the chance")
    assert bulletin.certainty_words(coin).endswith("is 48%")
    tiny = {**sure, "rating_chance_differs_pct": 0.1}
    assert bulletin.certainty_words(tiny).endswith("is under 1%")  # never "a 0% chance"
    none = {"rating": None, "rating_chance_differs_pct": None, "rating_certainty": None}
    assert bulletin.certainty_words(none) == "no rating to assess"
    assert "90%" in bulletin.certainty_note()


def _movement() -> pl.DataFrame:
    rows = [
        (False, "Wales", "Inadequate", "same"),
        (False, "Wales", "Requires improvement", "improved"),
        (False, "Wales", "Inadequate", "first inspection"),
        (True, "Wales", "Inadequate", "declined"),
        (True, "London", "Good", "same"),
        (False, "London", None, "first inspection"),
    ]
    return pl.DataFrame(
        rows, schema=["synthetic", "region", "latest_rating", "movement"], orient="row"
    )


def test_movement_counts_keep_real_and_synthetic_apart() -> None:
    wales = rating_charts.movement_counts(_movement(), "Wales")
    assert wales["n_ratings"].sum() == 4
    real = wales.filter(pl.col("source") == rating_charts.REAL)
    assert dict(zip(real["movement"], real["n_ratings"], strict=True)) == {
        "improved": 1,
        "same": 1,
        "first inspection": 1,
    }
    assert real["movement"].to_list() == ["improved", "same", "first inspection"]
    finding = rating_charts.movement_finding(wales, "Wales")
    assert finding.startswith(
        "Real published ratings: of 2 ratings of units inspected before, 1 improved, 1 "
        "stayed the same and 0 declined; 1 is a first inspection."
    )
    assert "Synthetic derived ratings: of 1 rating of a unit" in finding
    national = rating_charts.movement_counts(_movement(), NATIONAL)
    assert national["n_ratings"].sum() == 5, "a unit with no latest rating is not counted"
    assert "No rating" in rating_charts.movement_finding(national.head(0), "Wales")


def test_movement_section_is_declared_for_every_area() -> None:
    assert "rating_movement" in [s.chart for s in sections.for_area("Wales")]
    assert "rating_movement" in [s.chart for s in sections.for_area(NATIONAL)]
    assert "rating_movement" in sections.tables_needed()
