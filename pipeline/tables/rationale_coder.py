"""Rationale themes: a transparent, reproducible coder for inspectors' free-text reasons.

HMIP's March 2025 bulletin was built on inspectors' rationales for their judgements, coded into
themes. Here the themes are a dictionary (reference/rationale_themes.csv): each theme has a
label, a description and one or more regular expressions; a rationale carries a theme when any of
its patterns matches (case-insensitively where the pattern says so). Nothing is learned, so a
run is reproducible and every decision can be read off the dictionary. To extend it, add a row
(a new theme, or another pattern for an existing theme), rerun, and check precision and recall on
the labelled examples (tests/data/rationale_labelled.csv), adding examples for the new theme.

The text itself is never published: only counts of rationales carrying each theme reach the
publication tables, under disclosure control.
"""

from __future__ import annotations

import polars as pl

from pipeline import refdata


def code_text(text: pl.Expr, themes: pl.DataFrame | None = None) -> dict[str, pl.Expr]:
    """Theme -> boolean expression: does `text` carry the theme (any of its patterns)."""
    themes = refdata.rationale_themes() if themes is None else themes
    patterns: dict[str, list[str]] = {}
    for theme, pattern in themes.select("theme", "pattern").iter_rows():
        patterns.setdefault(theme, []).append(pattern)
    return {
        theme: pl.any_horizontal(text.str.contains(p).fill_null(False) for p in group)
        for theme, group in patterns.items()
    }


def coded(rationales: pl.LazyFrame, themes: pl.DataFrame | None = None) -> pl.LazyFrame:
    """One row per rationale x theme it carries (inspection_id, case_id, key_question, theme)."""
    flags = code_text(pl.col("rationale"), themes)
    wide = rationales.select(
        "inspection_id", "case_id", "key_question", *[e.alias(t) for t, e in flags.items()]
    )
    return (
        wide.unpivot(
            index=["inspection_id", "case_id", "key_question"],
            variable_name="theme",
            value_name="_has",
        )
        .filter(pl.col("_has"))
        .drop("_has")
    )


def precision_recall(labelled: pl.DataFrame, themes: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per theme and overall (micro-averaged): true and false positives, false negatives,
    precision and recall of the coder on hand-labelled texts (`text`, `themes` ';'-joined)."""
    themes = refdata.rationale_themes() if themes is None else themes
    flags = code_text(pl.col("text"), themes)
    truth = pl.col("themes").fill_null("").str.split(";")
    rows = []
    for theme, expr in flags.items():
        scored = labelled.select(expr.alias("p"), truth.list.contains(theme).alias("t"))
        rows.append(
            {
                "theme": theme,
                "tp": int((scored["p"] & scored["t"]).sum()),
                "fp": int((scored["p"] & ~scored["t"]).sum()),
                "fn": int((~scored["p"] & scored["t"]).sum()),
            }
        )
    table = pl.DataFrame(rows)
    total = table.select(pl.lit("all").alias("theme"), pl.col("tp", "fp", "fn").sum())
    return pl.concat([table, total]).with_columns(
        (pl.col("tp") / (pl.col("tp") + pl.col("fp"))).alias("precision"),
        (pl.col("tp") / (pl.col("tp") + pl.col("fn"))).alias("recall"),
    )
