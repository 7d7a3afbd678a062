"""Ratings: band edges, the lowest-key-question rule, partial information, overall rules."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.tables import ratings


@pytest.mark.parametrize(
    ("pct", "rating"),
    [
        (0, "Inadequate"),
        (49.9, "Inadequate"),
        (50, "Requires improvement"),
        (64.9, "Requires improvement"),
        (65, "Good"),
        (79.9, "Good"),
        (80, "Outstanding"),
        (100, "Outstanding"),
    ],
)
@pytest.mark.parametrize("framework", ["2018", "2021", "2023"])
def test_band_edges(pct: float, rating: str, framework: str) -> None:
    assert ratings.band(pct, framework) == rating


def test_dynamic_inspection_has_no_bands() -> None:
    assert ratings.band(50, "dipp2025") is None


def _kq(rows: list[tuple[str, str, str, float]], framework: str = "2023") -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["inspection_id", "standard", "theme", "pct"], orient="row"
    ).with_columns(pl.lit(framework).alias("framework"))


def test_standard_takes_the_band_of_its_lowest_key_question() -> None:
    rated = ratings.rate_standards(
        _kq(
            [
                ("A", "assessment", "engagement", 90),
                ("A", "assessment", "desistance", 81),
                ("A", "assessment", "safety", 64.9),
                ("A", "planning", "engagement", 80),
                ("A", "planning", "desistance", 85),
                ("A", "planning", "safety", 80),
            ]
        )
    ).sort("standard")
    assert rated["rating"].cast(pl.String).to_list() == ["Requires improvement", "Outstanding"]
    assert rated["lowest_key_question"].to_list() == ["safety", "engagement"]
    assert not rated["rule_verified"].any()


def test_published_kss_implementation_safety_is_determined_inadequate() -> None:
    """KSS 2024: implementation and delivery kept people safe in 22% of cases. Whatever the
    other two key questions were, the lowest is at most 22%, so the rule gives Inadequate."""
    rated = ratings.rate_published_percentages(
        pl.DataFrame(
            {
                "inspection_id": ["KSS-2024"],
                "standard": ["implementation_and_delivery"],
                "key_question": ["implementation_safety"],
                "pct": [22.0],
            }
        )
    )
    row = rated.row(0, named=True)
    assert row["rating"] == "Inadequate"
    assert row["reason"] is None


def test_partial_information_above_the_bottom_band_is_not_guessed() -> None:
    rated = ratings.rate_standards(_kq([("B", "reviewing", "safety", 70)]))
    row = rated.row(0, named=True)
    assert row["rating"] is None
    assert row["rating_upper_bound"] == "Good"
    assert "only 1 of 3" in row["reason"]


def test_overall_rating_needs_every_standard_and_configured_bands() -> None:
    standards = pl.DataFrame(
        {
            "inspection_id": ["A"] * 4 + ["C"] * 10,
            "framework": ["2023"] * 4 + ["2018"] * 10,
            "inspection_type": ["pdu"] * 4 + ["crc"] * 10,
            "rating": ["Good"] * 4 + ["Good"] * 5 + ["Requires improvement"] * 5,
        }
    )
    overall = ratings.overall_ratings(standards).sort("inspection_id")
    a, c = overall.row(0, named=True), overall.row(1, named=True)
    assert a["overall_rating"] is None
    assert "no overall score bands" in a["reason"]
    # 2018 bands: 5 Good (2 points) + 5 RI (1 point) = 15 -> Requires improvement (6-15),
    # as London CRC 2019 and NPS South East and Eastern 2019 were rated (published_figures).
    assert (c["overall_score"], c["overall_rating"]) == (15, "Requires improvement")


def test_overall_with_too_few_standards_gives_a_reason() -> None:
    standards = pl.DataFrame(
        {
            "inspection_id": ["D"] * 4,
            "framework": ["2018"] * 4,
            "inspection_type": ["nps"] * 4,
            "rating": ["Inadequate"] * 4,
        }
    )
    row = ratings.overall_ratings(standards).row(0, named=True)
    assert row["overall_rating"] is None
    assert "needs all 10 rated standards" in row["reason"]


def test_rate_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="missing column"):
        ratings.rate_published_percentages(pl.DataFrame({"pct": [1.0]}))
    with pytest.raises(ValueError, match="outside 0-100"):
        ratings.rate_published_percentages(
            pl.DataFrame(
                {
                    "inspection_id": ["x"],
                    "standard": ["planning"],
                    "key_question": ["safety"],
                    "pct": [120.0],
                }
            )
        )


def test_chance_band_differs_single_key_question_by_hand() -> None:
    """40 of 50 'yes' (80 %, Outstanding at the 80 % cut-off): the band holds when a resampled
    count is 40 or more, P(X >= 40) for X ~ Binomial(50, 0.8); and 25 of 50 (50 %) at the
    50 % cut-off holds when X >= 25 and X < 32.5."""
    from scipy.stats import binom

    from pipeline.statistics.rating_uncertainty import chance_band_differs

    cut_offs = [0, 50, 65, 80]
    by_hand = 1 - binom.sf(39, 50, 0.8)  # 1 - P(X >= 40)
    assert chance_band_differs([(40, 50)], cut_offs) == pytest.approx(by_hand, abs=1e-12)
    assert by_hand == pytest.approx(0.4164, abs=1e-4)
    # 50 %: Requires improvement holds for 25 <= X <= 32 (32/50 = 64 %, 33/50 = 66 %)
    same = binom.cdf(32, 50, 0.5) - binom.cdf(24, 50, 0.5)
    assert chance_band_differs([(25, 50)], cut_offs) == pytest.approx(1 - same, abs=1e-12)


def test_chance_band_differs_lowest_of_independent_key_questions() -> None:
    from scipy.stats import binom

    from pipeline.statistics.rating_uncertainty import chance_band_differs

    # 20/50 (40 %, Inadequate) and 45/50 (90 %): the band changes only if the lowest reaches 50 %
    p_up = binom.sf(24, 50, 0.4) * binom.sf(24, 50, 0.9)
    assert chance_band_differs([(20, 50), (45, 50)], [0, 50, 65, 80]) == pytest.approx(p_up)
    assert chance_band_differs([(0, 0)], [0, 50]) is None


def test_ratings_carry_their_uncertainty_in_numbers_and_words() -> None:
    from pipeline.tables.ratings import certainty_words, with_uncertainty

    assert certainty_words(0.05) == "very likely"
    assert certainty_words(0.30) == "likely"
    assert certainty_words(0.5) == "could go either way"
    assert certainty_words(0.8) == "unlikely"
    rated = pl.DataFrame(
        {
            "framework": ["2023", "2023"],
            "rating": ["Outstanding", None],
            "_counts": [[{"n_yes": 40, "n_applicable": 50}], [{"n_yes": 1, "n_applicable": 2}]],
        }
    )
    out = with_uncertainty(rated)
    assert out["rating_chance_differs_pct"][0] == pytest.approx(41.64, abs=0.01)
    assert out["rating_certainty"].to_list() == ["could go either way", None]
