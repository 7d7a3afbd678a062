"""Rules against real ratings, and latest rating and movement (hand-worked cases)."""

from __future__ import annotations

import polars as pl

from pipeline.tables.published_checks import agreement, band_of, rating_movement, rule_check


def _published(rows: list[dict[str, object]]) -> pl.DataFrame:
    base = {
        "level": "pdu", "region": "Wales", "publication_year": 2025, "source_url": "u",
        "key_question": None, "value_pct": None, "rating": None, "numerator": None,
        "denominator": None, "inspection_type": "pdu",
    }  # fmt: skip
    frame = pl.DataFrame([base | r for r in rows], infer_schema_length=None)
    return frame.with_columns(
        pl.col("publication_date").str.to_date("%Y-%m-%d").alias("publication_date_first_day")
    )


def test_rule_variants_at_the_cut_off() -> None:
    assert band_of(64.6, "2023", False, False) == "Requires improvement"
    assert band_of(64.6, "2023", True, False) == "Good"  # rounded to 65 first
    assert band_of(50.0, "2023", False, True) == "Inadequate"  # 50 does not exceed 50


def test_rule_check_agreement_and_named_disagreements() -> None:
    rows = [
        {"unit_name": "A PDU", "publication_date": "2025-01-02", "standard": "assessment",
         "rating": "Requires improvement"},
        *[{"unit_name": "A PDU", "publication_date": "2025-01-02", "standard": "assessment",
           "key_question": f"assessment_{t}", "value_pct": v}
          for t, v in (("engagement", 70.0), ("desistance", 66.0), ("safety", 64.6))],
        {"unit_name": "B PDU", "publication_date": "2025-03-04", "standard": "planning",
         "rating": "Good"},
        {"unit_name": "B PDU", "publication_date": "2025-03-04", "standard": "planning",
         "key_question": "planning_safety", "value_pct": 40.0},
    ]  # fmt: skip
    check = rule_check(_published(rows))
    summary = {r["rule_variant"]: r for r in agreement(check).iter_rows(named=True)}
    configured = summary["configured"]
    assert (configured["n_pairs"], configured["n_agree"]) == (2, 1)
    assert configured["disagreements"] == ["B PDU planning (2025-03-04)"]  # Good above 40 %
    assert summary["round_before_banding"]["n_agree"] == 0  # 64.6 rounds to Good


def test_movement_improved_declined_first_and_renamed_units() -> None:
    history = [
        ("Essex North PDU", "2022-05-17", "Inadequate"),
        ("Essex North PDU", "2024-08-01", "Requires improvement"),
        ("South Tyneside and Gateshead PDU", "2022-12-01", "Good"),
        ("Gateshead and South Tyneside PDU", "2025-01-01", "Requires improvement"),
        ("York PDU", "2024-01-01", "Inadequate"),
    ]
    rows = [
        {"unit_name": u, "publication_date": d, "standard": "overall", "rating": r}
        for u, d, r in history
    ]  # fmt: skip
    rated = pl.DataFrame(
        schema={"unit_name": pl.String, "inspection_type": pl.String, "region": pl.String,
                "standard": pl.String, "fieldwork_start": pl.Date, "rating": pl.String}
    )  # fmt: skip
    moved = rating_movement(_published(rows), rated)
    by_unit = dict(moved.select("unit_key", "movement").iter_rows())
    assert by_unit == {
        "essex north pdu": "improved",
        "gateshead pdu south tyneside": "declined",
        "pdu york": "first inspection",
    }
    assert not moved["synthetic"].any()
