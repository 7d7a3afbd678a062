"""Finding sentences and titles: pure functions from plotted data to text.

Every sentence a chart, alt text or bulletin states about the data is computed here from the
frame the chart plots, so the wording is tested once (tests/test_findings.py) and never drifts
from the numbers. Nothing here draws or writes files.
"""

from __future__ import annotations

import polars as pl

from pipeline import refdata
from pipeline.domain import SUBGROUP_LABELS


def trend_finding(core: pl.DataFrame, region: str) -> tuple[str, str]:
    """One sentence and a title stating what the region's series shows before and after
    unification (answer-weighted means of the yearly cells)."""
    unification_year = refdata.unification_date().year
    reg = core.filter(pl.col("scope") == region)
    pre = reg.filter(pl.col("year") < unification_year)
    post = reg.filter(pl.col("year") > unification_year)
    if pre.height == 0 or post.height == 0:
        return (
            f"Not enough published cells for {region} to compare before and after unification.",
            f"Safety sufficiency over time in {region}",
        )
    pre_pct = _weighted_pct(pre)
    post_pct = _weighted_pct(post)
    direction = "lower" if post_pct < pre_pct else "higher"
    title = (
        f"Work to keep people safe was judged sufficient less often after unification in {region}"
        if post_pct < pre_pct
        else f"Work to keep people safe was judged sufficient more often after unification in "
        f"{region}"
    )
    finding = (
        f"In {region}, {post_pct:.0f}% of cases inspected after {unification_year} were "
        f"sufficient, {direction} than {pre_pct:.0f}% before it."
    )
    return finding, title


def _weighted_pct(cells: pl.DataFrame) -> float:
    total = float(cells["n_applicable"].sum())
    return float((cells["pct"] * cells["n_applicable"]).sum()) / total


def unification_finding(data: pl.DataFrame, scope: str) -> str:
    """How many keeping-safe key questions fell significantly, and how far adjustment moved
    the differences."""
    safety = data.filter(pl.col("theme") == "safety")
    worse = int((safety["diff_ci_high"] < 0).sum())
    moved = (data["adjusted_diff_pp"] - data["diff_pp"]).abs().max()
    return (
        f"In {scope}, {worse} of {safety.height} keeping-safe key questions were judged "
        "sufficient significantly less often after unification than before; "
        f"adjusting for case mix moved the differences by at most "
        f"{_number(moved):.1f} percentage points."
    )


def profile_finding(reg: pl.DataFrame, region: str, programme_label: str) -> str:
    """The region's strongest and weakest key question in the profile."""
    if reg.height == 0:
        return "No published cells for this region."
    ranked = reg.sort("pct")
    best, worst = ranked.row(-1, named=True), ranked.row(0, named=True)
    return (
        f"In {region} ({programme_label}), the strongest key question was "
        f"{best['standard'].lower()} ({best['theme'].lower()}, {best['pct']:.0f}%) and the "
        f"weakest {worst['standard'].lower()} ({worst['theme'].lower()}, {worst['pct']:.0f}%)."
    )


def subgroup_finding(data: pl.DataFrame, variable: str) -> str:
    """The widest gap between groups of a case characteristic, across the standards."""
    spread = data.group_by("standard").agg((pl.col("pct").max() - pl.col("pct").min()).alias("gap"))
    if spread.height == 0:
        return "No published cells."
    return (
        f"Across the four standards, sufficiency differed by up to "
        f"{_number(spread['gap'].max()):.0f} percentage points between "
        f"{SUBGROUP_LABELS.get(variable, variable)} groups."
    )


def ratings_finding(data: pl.DataFrame) -> tuple[str, bool]:
    """How many PDU and regional inspections were rated Inadequate or Requires improvement,
    and whether that is almost all of them (more than 90 %)."""
    post = data.filter(pl.col("inspection_type").is_in(["PDU", "Region"]))
    total = int(post["n_inspections"].sum())
    bad = int(
        post.filter(pl.col("rating").is_in(["Inadequate", "Requires improvement"]))[
            "n_inspections"
        ].sum()
    )
    finding = (
        f"Of {total} PDU and regional inspections with a published overall rating, "
        f"{bad} were rated Inadequate or Requires improvement."
    )
    return finding, bool(total and bad / total > 0.9)


def enquiries_finding(reg: pl.DataFrame, region: str) -> str:
    """The region's enquiry rates in its latest financial year."""
    if reg.height == 0:
        return "No published cells for this region."
    latest = reg.sort("financial_year")["financial_year"][-1]
    last = reg.filter(pl.col("financial_year") == latest)
    parts = [
        f"{m.split(' (')[0].lower()} {p:.0f}%" for m, p in last.select("measure", "pct").iter_rows()
    ]
    return f"In {region} in {latest}, necessary enquiries were made in: " + "; ".join(parts) + "."


def small_multiples_finding(data: pl.DataFrame) -> str:
    """How many regions were below England and Wales in the latest year."""
    if data.height == 0:
        return "No published cells."
    latest_year = int(_number(data["year"].max()))
    latest = data.filter(pl.col("year") == latest_year)
    below = latest.filter(pl.col("pct") < pl.col("national_pct")).height
    return (
        f"In {latest_year}, {below} of {latest.height} regions with published "
        "cells were below the England and Wales figure."
    )


def _number(value: object) -> float:
    """A statistic from a frame as a float (0 where it is missing)."""
    return float(value) if isinstance(value, int | float) else 0.0
