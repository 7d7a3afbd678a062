"""Finding sentences and titles: pure functions from plotted data to text.

Every sentence a chart, alt text or bulletin states about the data is computed here from the
frame the chart plots, so the wording is tested once (tests/e2e/test_findings.py) and never drifts
from the numbers. Nothing here draws or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline import refdata
from pipeline.domain import NATIONAL, STANDARD_LABELS, SUBGROUP_LABELS, THEME_LABELS


def trend_finding(
    core: pl.DataFrame,
    region: str,
    comparison: dict[str, Any] | None = None,
    measure: str = "on keeping other people safe in implementation and delivery",
) -> tuple[str, str]:
    """One sentence and a title for the region's series. The sentence gives the latest year's
    level beside England and Wales in the same year (the before-and-after comparison is the
    headline's, so it is not restated here with other numbers); the title states a direction
    only where the clustered, multiplicity-adjusted comparison supports one."""
    reg = core.filter(pl.col("scope") == region)
    if reg.height == 0:
        return (
            f"No published yearly figures for {region} in the years chosen.",
            f"Work to keep people safe over time in {region}",
        )
    latest = reg.sort("year").row(-1, named=True)
    national = core.filter(pl.col("scope") == NATIONAL, pl.col("year") == latest["year"])
    finding = (
        f"In {latest['year']}, the latest year with published figures, {latest['pct']:.0f}% "
        f"of cases inspected in {region} were judged sufficient {measure}"
    )
    if region != NATIONAL and national.height:
        finding += f", against {national['pct'][0]:.0f}% in England and Wales"
    if latest.get("levels_only"):
        finding += (
            " ([u]: a level on 2 inspections or fewer, with no interval; read it as a sign, "
            "not a measurement)"
        )
    return finding + ".", trend_title(region, comparison)


def trend_title(region: str, comparison: dict[str, Any] | None) -> str:
    """A title that says only what the comparison supports."""
    if comparison is None or comparison.get("significant_holm") is None:
        return f"Work to keep people safe over time in {region}: too few inspections to compare"
    if not comparison["significant_holm"]:
        return f"No clear change after unification in work to keep people safe in {region}"
    lower = comparison["adjusted_diff_pp"] < 0
    return (
        f"Work to keep people safe was judged sufficient {'less' if lower else 'more'} often "
        f"after unification in {region}"
    )


def _weighted_pct(cells: pl.DataFrame) -> float:
    total = float(cells["n_applicable"].sum())
    return float((cells["pct"] * cells["n_applicable"]).sum()) / total


def unification_finding(data: pl.DataFrame, scope: str) -> str:
    """How many keeping-safe key questions were significantly lower (clustered, case-mix
    adjusted, Holm-adjusted for the family of comparisons), and how far adjustment moved the
    differences."""
    safety = data.filter(pl.col("theme") == "safety", pl.col("significant_holm").is_not_null())
    if safety.height == 0:
        return (
            f"In {scope}, too few inspections before or after unification to judge whether "
            "any change is real; the levels are shown without a comparison."
        )
    worse = safety.filter(pl.col("significant_holm"), pl.col("adjusted_diff_pp") < 0).height
    case_mix = (data["adjusted_diff_unweighted_pp"] - data["diff_clustered_pp"]).abs().max()
    weights = (data["adjusted_diff_pp"] - data["adjusted_diff_unweighted_pp"]).abs().max()
    return (
        f"In {scope}, {worse} of {safety.height} keeping-safe key questions were judged "
        "sufficient significantly less often after 26 June 2021, allowing for clustering, case "
        "mix and the number of comparisons. Allowing for case mix moved the differences by at "
        f"most {_number(case_mix):.1f} percentage points; weighting CRC and NPS cases to "
        "caseload shares (national shares, not yet verified for regions) by at most "
        f"{_number(weights):.1f} more."
    )


def same_area_finding(data: pl.DataFrame, scope: str, what: str) -> str:
    """How many of the compared key questions or kinds of need were significantly lower, or
    higher, in the first unified inspections than in the same areas' last CRC and NPS round
    (clustered, case-mix adjusted, Holm-adjusted within the table's family)."""
    judged = data.filter(pl.col("significant_holm").is_not_null())
    if judged.height == 0:
        return (
            f"In {scope}, too few inspections on one side of the same-area comparison to judge "
            "whether any change is real; the levels are shown without a comparison."
        )
    significant = judged.filter(pl.col("significant_holm"))
    lower = significant.filter(pl.col("adjusted_diff_pp") < 0).height
    higher = significant.filter(pl.col("adjusted_diff_pp") > 0).height
    verb = "met" if what == "kinds of need" else "judged sufficient"
    return (
        f"In {scope}, {lower} of {judged.height} {what} were {verb} significantly less often, and "
        f"{higher} significantly more often, in the first inspections since unification than "
        "in the same areas' last CRC and NPS inspections, allowing for clustering, case mix "
        "and the number of comparisons."
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


def annexe_one_finding(data: pl.DataFrame) -> str:
    """Published national figures: keeping people safe against desistance at each stage."""
    safety, desistance = THEME_LABELS["safety"], THEME_LABELS["desistance"]
    wide = data.pivot(on="theme", index="standard", values="pct")
    if wide.height == 0 or not {safety, desistance} <= set(wide.columns):
        return "The national inspection's published key-question percentages are not available."
    rank = {label: i for i, label in enumerate(STANDARD_LABELS.values())}
    wide = wide.sort(pl.col("standard").replace_strict(rank, default=len(rank)))
    pairs = ", ".join(
        f"{r['standard'].lower()} {r[safety]:.0f}% against {r[desistance]:.0f}%"
        for r in wide.iter_rows(named=True)
    )
    if (wide[safety] < wide[desistance]).all():
        return (
            "In the April 2025 national inspection, work to keep other people safe was judged "
            f"sufficient less often than work to support desistance at every stage: {pairs}."
        )
    return (
        "In the April 2025 national inspection, keeping other people safe against supporting "
        f"desistance: {pairs}."
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


# --- the headline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """What a headline says about one comparison, so tests can check it against the table."""

    comparable_id: str
    significant: bool | None  # None: the comparison is withheld
    direction: str  # 'lower', 'higher' or '' (withheld)


def _change_sentence(region: str, r: dict[str, Any]) -> tuple[str, Claim]:
    """The implementation-and-delivery safety sentence: levels, then what can be concluded."""
    if r["comparison_note"] or r["adjusted_diff_pp"] is None:
        reason = r["comparison_note"] or "the comparison could not be estimated"
        reason = reason.removeprefix("comparison withheld: ")
        text = (
            f"In {region}, whether implementation and delivery supported the safety of other "
            f"people more or less often after unification (26 June 2021) was not assessed: "
            f"{_lower_first(reason)}."
        )
        return text, Claim(r["comparable_id"], None, "")
    levels = (
        f"In {region}, implementation and delivery supported the safety of other people in "
        f"{r['pct_post']:.0f}% of cases inspected after unification (26 June 2021), against "
        f"{r['pct_pre']:.0f}% before."
    )
    direction = "lower" if r["adjusted_diff_pp"] < 0 else "higher"
    interval = (
        f"{r['adjusted_diff_pp']:+.0f} percentage points (95% interval "
        f"{r['adjusted_ci_low']:+.0f} to {r['adjusted_ci_high']:+.0f})"
    )
    family_size = r["test_family_size"]
    basis = "Allowing for case mix and for cases being clustered in inspections, the change was"
    if r["significant_holm"]:
        verdict = (
            f"{basis} {interval}: sufficiency was {direction} after unification, and this holds "
            f"after allowing for the {family_size} comparisons made."
        )
    else:
        verdict = (
            f"{basis} {interval}; allowing for the {family_size} comparisons made, this is not "
            f"statistically significant, and changes smaller than about {r['mdd_pp']:.0f} points "
            "could not reliably have been detected."
        )
    return f"{levels} {verdict}", Claim(r["comparable_id"], bool(r["significant_holm"]), direction)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def headline(unify: pl.DataFrame, region: str, synthetic: bool) -> tuple[str, list[Claim]]:
    """Two or three sentences on keeping people safe before and after unification, from the
    visible rows of the unification table, with the claims they make."""
    rows = unify.filter(
        pl.col("scope") == region, ~pl.col("suppressed"), pl.col("theme") == "safety"
    )
    if rows.height == 0:
        return f"There are not enough published cells to summarise {region}.", []
    sentences, claims = [], []
    impl = rows.filter(pl.col("comparable_id") == "IMPL_SAFE")
    if impl.height:
        text, claim = _change_sentence(region, impl.row(0, named=True))
        sentences.append(text)
        claims.append(claim)
    judged = rows.filter(pl.col("significant_holm").is_not_null())
    if judged.height:
        lower = judged.filter(pl.col("significant_holm"), pl.col("adjusted_diff_pp") < 0).height
        verb = "was" if lower == 1 else "were"
        sentences.append(
            f"Of the {judged.height} keeping-safe key questions that could be compared, {lower} "
            f"{verb} significantly lower after unification on the same basis."
        )
    if synthetic:
        sentences.append("These figures come from the synthetic sample and are illustrative only.")
    return " ".join(sentences), claims


def funnel_finding(data: pl.DataFrame, level: str) -> str:
    """How many units fall outside the 99.8% and 95% limits."""
    outside_998 = data.filter(pl.col("position").str.contains("99.8%")).height
    outside_95 = data.filter(pl.col("position").str.contains("95%")).height
    units = "inspections" if level == "inspection" else "regions"
    return (
        f"Of {data.height} {units}, {outside_998} fell outside the 99.8% limits and "
        f"{outside_95} more outside the 95% limits; the rest differ from England and Wales by "
        "no more than chance and ordinary variation between units would give."
    )


def key_question_label(key_question: str) -> str:
    """'implementation_safety' -> 'implementation and delivery: keeping other people safe'."""
    standard, _, theme = key_question.partition("_")
    if standard in STANDARD_LABELS and theme in THEME_LABELS:
        return f"{STANDARD_LABELS[standard].lower()}: {THEME_LABELS[theme].lower()}"
    return key_question.replace("_", " ")


def standard_label(standard: str) -> str:
    """A standard's name as HMIP writes it (inspection_model.csv), 'Overall' for overall."""
    if standard == "overall":
        return "Overall"
    labels = dict(refdata.inspection_model().select("standard", "standard_label").iter_rows())
    return str(labels.get(standard, standard.replace("_", " ").capitalize()))


def single_question_finding(reg: pl.DataFrame, region: str) -> str:
    """Court work and resettlement in the region's latest programme with published cells."""
    if reg.height == 0:
        return f"No published court work or resettlement cells for {region}."
    latest = reg.sort("programme")["programme"][-1]
    rows = reg.filter(pl.col("programme") == latest).sort("question")
    parts = [f"{q.lower()} {p:.0f}%" for q, p in rows.select("question", "pct").iter_rows()]
    return f"In {region}, {latest}: " + "; ".join(parts) + " of relevant cases were sufficient."


def prompts_finding(reg: pl.DataFrame, region: str) -> str:
    """The least often met prompt."""
    if reg.height == 0:
        return f"No published prompt cells for {region}."
    worst = reg.sort("pct").row(0, named=True)
    return (
        f"In {region}, the prompt least often met was '{worst['prompt']}' "
        f"({worst['pct']:.0f}% of relevant cases)."
    )


def oversight_finding(reg: pl.DataFrame, region: str) -> str:
    """Management oversight in the region's latest financial year."""
    if reg.height == 0:
        return f"No published management oversight cells for {region}."
    last = reg.sort("financial_year").row(-1, named=True)
    return (
        f"In {region} in {last['financial_year']}, management oversight was sufficient in "
        f"{last['pct']:.0f}% of cases ({interval_words(last)})."
    )


def interval_words(row: dict[str, Any]) -> str:
    """'95% interval 40 to 52', or why there is none (a level on 2 inspections or fewer)."""
    if row.get("levels_only") or row.get("interval_low") is None:
        return "[u] a level on 2 inspections or fewer, with no interval"
    return f"95% interval {row['interval_low']:.0f} to {row['interval_high']:.0f}"


def practitioner_finding(data: pl.DataFrame) -> str:
    """Which practitioner levels differ from their reference after Holm's adjustment."""
    if data.height == 0:
        return "No practitioner comparison could be estimated."
    significant = data.filter(pl.col("significant_holm").fill_null(False))
    if significant.height == 0:
        return (
            "No practitioner level differed from its reference by more than chance would give, "
            "allowing for case mix and the number of comparisons."
        )
    parts = [
        f"{level[0].lower() + level[1:]} {diff:+.0f} points"
        for level, diff in significant.select("level", "adjusted_diff_pp").iter_rows()
    ]
    return (
        "Allowing for case mix and the number of comparisons, keeping-people-safe work differed "
        "from the reference level for: " + "; ".join(parts) + "."
    )


def themes_finding(data: pl.DataFrame) -> str:
    """The most common theme in the reasons for insufficient judgements."""
    if data.height == 0:
        return "No published theme cells."
    top = data.sort("pct", descending=True).row(0, named=True)
    return (
        f"The most frequent theme was {top['theme'].lower()}, mentioned for "
        f"{top['pct']:.0f}% of cases judged insufficient on keeping people safe."
    )
