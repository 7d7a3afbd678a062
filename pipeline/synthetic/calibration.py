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


def calibration_report(cases: pl.DataFrame) -> pl.DataFrame:
    """One row per calibration target: target, sample value, counts and whether it is met.

    Key-question measures are % yes of (yes + no); enquiry measures are % made among cases
    with the matching concern flagged (the enquiry was relevant).
    """
    rows = []
    for target in refdata.calibration_targets().to_dicts():
        selected = cases.filter(_selection(target))
        column = target_column(target)
        if column is not None:
            answers = selected[column]
        else:
            flag = "da_concern" if target["measure"] == "da_enquiry" else "cs_concern"
            answers = selected.filter(pl.col(flag) == "true")[target["measure"]]
        n_yes = int((answers == "yes").sum())
        n_no = int((answers == "no").sum())
        n = n_yes + n_no
        pct = 100 * n_yes / n if n else None
        goal, tol = target["target_pct"], target["tolerance_pp"]
        if pct is None:
            met = False
        elif target["comparison"] == "below":
            met = pct < goal
        else:
            met = abs(pct - goal) <= tol
        rows.append(
            {
                "target_id": target["target_id"],
                "measure": column or target["measure"],
                "selection": target["selection"],
                "comparison": target["comparison"],
                "target_pct": goal,
                "tolerance_pp": tol,
                "sample_pct": pct,
                "n_applicable": n,
                "met": met,
                "source": target["source"],
            }
        )
    return pl.DataFrame(rows)


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
