"""Compare a case table with the published figures the synthetic sample is calibrated to.

Used by the tests (the bundled sample must land within tolerance) and by `probation sample`
to print the calibration achieved. Works on any frame holding canonical case columns, so the
same check can later run on the pipeline's accepted cases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from pipeline import refdata
from pipeline.domain import KEY_QUESTIONS
from pipeline.synthetic.model import target_column


def _selection(target: dict[str, Any]) -> pl.Expr:
    cond = pl.lit(True)
    if target["inspection_type"]:
        cond &= pl.col("inspection_type").is_in(target["inspection_type"].split(";"))
    if target["region"]:
        cond &= pl.col("region") == target["region"]
    for bound, column, op in (
        ("published_from", "publication_date", "ge"),
        ("published_to", "publication_date", "le"),
        ("fieldwork_from", "fieldwork_start", "ge"),
        ("fieldwork_to", "fieldwork_start", "le"),
    ):
        if target[bound]:
            value = dt.date.fromisoformat(target[bound])
            cond &= getattr(pl.col(column), op)(value)
    return cond


def _answers_measured(selected: pl.DataFrame, target: dict[str, Any]) -> pl.DataFrame:
    """The answers a target measures, one row each (`inspection_id`, `answer`): a column's
    answers; every keeping-people-safe key question's for a 'theme' measure; an enquiry among
    cases with the matching concern flagged (the enquiry was relevant)."""
    column = target_column(target)
    if column is not None:
        return selected.select("inspection_id", pl.col(column).alias("answer"))
    if target["measure"] == "cases":  # every case of the selection, counted once
        return selected.select("inspection_id", pl.lit("yes").alias("answer"))
    if target["measure"] == "court_concern":  # the concern flag among court reports
        reports = selected.filter(pl.col("court_work").is_in(["yes", "no"]))
        flagged = pl.col(target["key_question"]) == "true"
        return reports.select(
            "inspection_id",
            pl.when(flagged).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("answer"),
        )
    if target["measure"] == "theme":
        themed = [k for k in KEY_QUESTIONS if k.endswith("_" + target["key_question"])]
        return selected.unpivot(themed, index="inspection_id", value_name="answer").drop("variable")
    flag = "da_concern" if target["measure"] == "da_enquiry" else "cs_concern"
    return selected.filter(pl.col(flag) == "true").select(
        "inspection_id", pl.col(target["measure"]).alias("answer")
    )


def _met(
    target: dict[str, Any], pct: float | None, n_yes: int, n: int, lowest: float | None
) -> bool:
    goal, tol = target["target_pct"], target["tolerance_pp"]
    if target["comparison"] == "some_below":
        return lowest is not None and bool(lowest < goal)
    if target["comparison"] == "exact":  # a published count (cases inspected)
        return n == int(target["target_denominator"])
    if pct is None:
        return False
    if target["comparison"] == "below":
        return bool(pct < goal)
    if target["comparison"] == "above":
        return bool(pct > goal)
    counts_ok = (
        not target.get("target_numerator") or n_yes == int(target["target_numerator"])
    ) and (not target.get("target_denominator") or n == int(target["target_denominator"]))
    return bool(abs(pct - goal) <= tol) and counts_ok


def calibration_report(cases: pl.DataFrame) -> pl.DataFrame:
    """One row per calibration target: target, sample value, counts and whether it is met.

    Key-question measures are % yes of (yes + no); enquiry measures are % made among cases
    with the matching concern flagged (the enquiry was relevant); a 'theme' measure pools the
    theme's key questions. Where the target gives the published counts (31 of 118), the sample
    must hold exactly those counts; 'some_below' asks that at least one inspection is below;
    'below' and 'above' are published bounds ('fewer than half', 'just over half'); a 'cases'
    measure with 'exact' counts the selection's cases (the published number inspected).
    """
    rows = []
    for target in refdata.calibration_targets().to_dicts():
        selected = cases.filter(_selection(target))
        if target.get("question_set"):
            selected = selected.filter(pl.col("question_set") == target["question_set"])
        answers = _answers_measured(selected, target).filter(pl.col("answer").is_in(["yes", "no"]))
        n_yes = int((answers["answer"] == "yes").sum())
        n = answers.height
        pct = 100 * n_yes / n if n else None
        per_inspection = answers.group_by("inspection_id").agg(
            (100 * (pl.col("answer") == "yes").mean()).alias("pct")
        )
        lowest = per_inspection["pct"].min() if per_inspection.height else None
        rows.append(
            {
                "target_id": target["target_id"],
                "measure": target_column(target) or target["measure"],
                "selection": target["selection"],
                "comparison": target["comparison"],
                "target_pct": target["target_pct"],
                "tolerance_pp": target["tolerance_pp"],
                "sample_pct": _sample_value(target["comparison"], pct, lowest),  # type: ignore[arg-type]
                "n_yes": n_yes,
                "n_applicable": n,
                "target_counts": _counts_text(target),
                "met": _met(target, pct, n_yes, n, lowest),  # type: ignore[arg-type]
                "source": target["source"],
            }
        )
    return pl.DataFrame(rows)


def _sample_value(comparison: str, pct: float | None, lowest: float | None) -> float | None:
    """What the report shows as the sample's value: the lowest inspection for 'some_below',
    nothing for an exact count (the count is `n_applicable`), else the percentage."""
    if comparison == "some_below":
        return lowest
    return None if comparison == "exact" else pct


def _counts_text(target: dict[str, Any]) -> str | None:
    num, den = target.get("target_numerator"), target.get("target_denominator")
    if num and den:
        return f"{num} of {den}"
    return f"{den} applicable" if den else None


def design_report(cases: pl.DataFrame) -> pl.DataFrame:
    """Design sufficiency vs what the sample holds, per programme x provider x measure.

    The generator solves each programme's baseline so that the *expected* sufficiency equals
    the design value; this shows the realised values (binomial noise around the design).
    Provider 'all' rows (enquiry measures) pool every provider in the programme.
    """
    programmes = refdata.programmes().select("inspection_type", "framework", "programme")
    with_programme = cases.with_columns(
        pl.col("inspection_type").cast(pl.String),
        pl.col("framework").cast(pl.String),
        pl.col("provider").cast(pl.String),
    ).join(programmes, on=["inspection_type", "framework"], how="left")
    rows = []
    for target in refdata.sample_design().to_dicts():
        selected = with_programme.filter(pl.col("programme") == target["programme"])
        if target["provider"] != "all":
            selected = selected.filter(pl.col("provider") == target["provider"])
        measure = target["measure"]
        if measure in ("da_enquiry", "cs_enquiry"):
            flag = "da_concern" if measure == "da_enquiry" else "cs_concern"
            selected = selected.filter(pl.col(flag).cast(pl.String) == "true")
        answers = selected[measure].cast(pl.String)
        n_yes, n_no = int((answers == "yes").sum()), int((answers == "no").sum())
        rows.append(
            {
                "programme": target["programme"],
                "provider": target["provider"],
                "measure": measure,
                "design_pct": target["design_pct"],
                "sample_pct": 100 * n_yes / (n_yes + n_no) if n_yes + n_no else None,
                "n_applicable": n_yes + n_no,
                "anchored_to": target["anchored_to"],
            }
        )
    return pl.DataFrame(rows)
