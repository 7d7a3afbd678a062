"""Interrupted time series: was there a step at unification, or a trend that was already there?

A before/after difference cannot tell a step at 26 June 2021 from a decline that started earlier.
A segmented regression can: sufficiency on time, a step and a change of slope at the breakpoint,
a term for the Covid period of restricted delivery (23 March 2020 to 1 March 2022) and a term for
the refreshed 2023 standards. The model is logistic (binomial, logit link), so it lives on the
share's own scale and no fitted share leaves 0-100 %; each term is reported in percentage points
at the breakpoint (`SegmentedFit`). Rows are inspections (yes out of applicable answers: the same
estimates as a case-level fit). Standard errors are clustered by inspection with the CR2
correction on the model's working weights, and each effect is tested on Student's t with the
Bell-McCaffrey degrees of freedom of its delta-method gradient (statistics/small_sample.py): with
10 to 25 inspections and six terms, the usual CR1 with (inspections - 1) degrees of freedom made 27
regional steps significant on the sample, many of them driven by one or two inspections.

Sensitivity analyses (`model`):

* `main`: breakpoint at unification, "after" by fieldwork start;
* `exclude_transition`: inspections with fieldwork between unification and March 2022 left out;
* `lag_to_march_2022`: breakpoint moved to 1 March 2022, when restrictions ended;
* `after_by_supervision_start`: "after" means the case's order or licence began after unification
  (early post-unification inspections looked mostly at supervision that began before it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import special

from pipeline import refdata
from pipeline.config import Settings
from pipeline.statistics import distributions as dist
from pipeline.statistics.small_sample import CR2Fit, cr2_binomial
from pipeline.tables.cells import asked_before_and_after, ordered, scopes

MODELS = ("main", "exclude_transition", "lag_to_march_2022", "after_by_supervision_start")
TERMS = ("intercept", "time", "step", "slope_change", "covid", "framework_2023")
SCALE_LIMIT_PP = 100.0
"""A level shift (step, Covid, 2023-standards term) or an interval bound beyond +/-100
percentage points is outside what a share can move: the model is not identified by these data,
and its estimates are withheld (the row's note says so)."""


LEVEL_TERMS = ("step", "covid", "framework_2023")
"""Terms that shift the level: reported as the change in the share they make at the breakpoint."""


@dataclass(frozen=True)
class SegmentedFit:
    """A segmented logistic regression with its CR2 covariance. Each term is reported on the
    share's own scale, in percentage points, at the breakpoint: a level term as the share with
    it minus the share without it (from the pre-breakpoint trend's level there, without the
    Covid and 2023-standards terms), a slope as the change in the share per year there. The
    interval is the delta method's, on Student's t with the Bell-McCaffrey degrees of freedom of
    the effect's gradient."""

    terms: tuple[str, ...]
    fit: CR2Fit

    def _share_effect(self, term: str, beta: np.ndarray) -> float:
        """The effect of `term` on the share (0-1) at the breakpoint."""
        b = dict(zip(self.terms, beta, strict=True))
        base = special.expit(b["intercept"])
        if term in LEVEL_TERMS:
            return float(special.expit(b["intercept"] + b[term]) - base)
        slope_before = base * (1 - base) * b.get("time", 0.0)
        if term == "time":
            return float(slope_before)
        after = special.expit(b["intercept"] + b.get("step", 0.0))
        slope_after = after * (1 - after) * (b.get("time", 0.0) + b["slope_change"])
        return float(slope_after - slope_before)

    def effect(self, term: str) -> tuple[float, np.ndarray]:
        """(effect in percentage points, its gradient in the coefficients)."""
        beta = self.fit.beta
        step = 1e-6 * np.maximum(1.0, np.abs(beta))
        gradient = np.array(
            [
                (
                    self._share_effect(term, beta + np.eye(len(beta))[j] * step[j])
                    - self._share_effect(term, beta - np.eye(len(beta))[j] * step[j])
                )
                / (2 * step[j])
                for j in range(len(beta))
            ]
        )
        return 100 * self._share_effect(term, beta), 100 * gradient

    def estimate(self, term: str) -> float:
        return self.effect(term)[0]

    def df(self, term: str) -> float:
        return self.fit.df_contrast(self.effect(term)[1])

    def interval(self, term: str, level: float) -> tuple[float, float, float, float]:
        """Estimate, low, high and two-sided p-value for one term's effect."""
        estimate, gradient = self.effect(term)
        se = float(np.sqrt(max(float(gradient @ self.fit.cov @ gradient), 0.0)))
        df = self.fit.df_contrast(gradient)
        t = float(dist.t_ppf(0.5 + level / 2, df))
        p = float(2 * dist.t_sf(abs(estimate / se), df)) if se > 0 else float("nan")
        return estimate, estimate - t * se, estimate + t * se, p


def _design(frame: pl.DataFrame, breakpoint: dt.date) -> tuple[np.ndarray, tuple[str, ...]]:
    """The regressors that vary in these data (a constant term is dropped, not estimated)."""
    years = (frame["start"] - breakpoint).dt.total_days().to_numpy() / 365.25
    post = frame["post"].to_numpy().astype(float)
    columns = {
        "intercept": np.ones(len(years)),
        "time": years,
        "step": post,
        "slope_change": years * post,
        "covid": frame["covid"].to_numpy().astype(float),
        "framework_2023": frame["framework_2023"].to_numpy().astype(float),
    }
    keep = [t for t in TERMS if t == "intercept" or np.ptp(columns[t]) > 0]
    x = np.column_stack([columns[t] for t in keep])
    rank = np.linalg.matrix_rank(x)
    while rank < x.shape[1]:  # drop the last collinear term (covid, then framework)
        keep = keep[:-1]
        x = np.column_stack([columns[t] for t in keep])
        rank = np.linalg.matrix_rank(x)
    return x, tuple(keep)


def _answer_counts(core: pl.LazyFrame) -> pl.LazyFrame:
    """Sufficient (k) of applicable (m) answers per key question x inspection x everything the
    models split or filter on. Counted once from the answers, so the four models and the two
    scopes work on thousands of rows instead of expanding millions of answers each time."""
    unified = refdata.key_dates()["unification"]
    return (
        core.filter(pl.col("answer").cast(pl.String).is_in(["yes", "no"]))
        .group_by(
            "comparable_id",
            "inspection_id",
            "region",
            "programme",
            "fieldwork_start",
            "framework",
            (pl.col("start_date") >= unified).alias("started_after"),
        )
        .agg(
            (pl.col("answer").cast(pl.String) == "yes").sum().alias("k"),
            pl.len().alias("m"),
        )
    )


def _inspection_rows(counts: pl.LazyFrame, model: str) -> pl.LazyFrame:
    """Applicable answers per key question x scope x inspection (x 'after' group), from
    `_answer_counts` expanded to scopes."""
    dates = refdata.key_dates()
    unified, lifted = dates["unification"], dates["covid_restrictions_lifted"]
    breakpoint = lifted if model == "lag_to_march_2022" else unified
    frame = counts
    if model == "exclude_transition":
        frame = frame.filter(~pl.col("fieldwork_start").is_between(unified, lifted, closed="left"))
    post = (
        pl.col("started_after")
        if model == "after_by_supervision_start"
        else pl.col("fieldwork_start") >= breakpoint
    )
    return (
        frame.with_columns(post.alias("post"))
        .group_by("comparable_id", "scope", "inspection_id", "post")
        .agg(
            pl.col("k").sum(),
            pl.col("m").sum(),
            pl.col("fieldwork_start").min().alias("start"),
            (pl.col("framework").cast(pl.String) == "2023").first().alias("framework_2023"),
        )
        .with_columns(
            pl.col("start")
            .is_between(dates["inspection_pause"], lifted, closed="left")
            .alias("covid")
        )
    )


ROW_SCHEMA: dict[str, type[pl.DataType]] = {
    "comparable_id": pl.String,
    "scope": pl.String,
    "model": pl.String,
    "n_cases": pl.Int64,
    "n_inspections": pl.Int64,
    "n_inspections_pre": pl.Int64,
    "n_inspections_post": pl.Int64,
    "terms": pl.String,
    "df": pl.Float64,
    **{
        f"{name}_{part}": pl.Float64
        for name in ("pre_slope_pp_per_year", "step_pp", "slope_change_pp_per_year")
        for part in ("estimate", "ci_low", "ci_high", "p_value")
    },
    "covid_pp": pl.Float64,
    "framework_2023_pp": pl.Float64,
    "max_leverage": pl.Float64,
    "note": pl.String,
}


def _fit_row(
    key: tuple[Any, ...], rows: pl.DataFrame, model: str, settings: Settings
) -> dict[str, Any]:
    """One segmented regression (or the reason there is none)."""
    out: dict[str, object] = {"comparable_id": key[0], "scope": key[1], "model": model}
    ids, after = rows["inspection_id"].to_list(), rows["post"].to_list()
    pre = len({i for i, a in zip(ids, after, strict=True) if a is False})
    post = len({i for i, a in zip(ids, after, strict=True) if a is True})
    out |= {
        "n_cases": int(rows["m"].sum()),
        "n_inspections": len(set(ids)),
        "n_inspections_pre": pre,
        "n_inspections_post": post,
    }
    least = settings.its_min_inspections_each_side
    if min(pre, post) < least:
        out["note"] = (
            f"not estimated: {pre} inspections before and {post} after the breakpoint "
            f"(at least {least} needed on each side)"
        )
        return out
    breakpoint = _breakpoint(model)
    x, terms = _design(rows, breakpoint)
    y = (rows["k"] / rows["m"]).to_numpy()
    weights = rows["m"].to_numpy().astype(float)
    fitted = cr2_binomial(y, x, weights, rows["inspection_id"].to_numpy())
    if fitted is None or not fitted[1]:
        out["note"] = "not estimated: the logistic model did not converge (a share at 0 or 100%)"
        return out
    fit = SegmentedFit(terms, fitted[0])
    leverage = inspection_leverage(x, weights, rows["inspection_id"])
    out |= {"terms": ", ".join(terms[1:]), "max_leverage": leverage}
    if "step" in terms:
        out["df"] = fit.df("step")
    for name, term in (
        ("pre_slope_pp_per_year", "time"),
        ("step_pp", "step"),
        ("slope_change_pp_per_year", "slope_change"),
    ):
        if term in terms:
            values = fit.interval(term, settings.confidence_level)
            out |= dict(
                zip(
                    (f"{name}_{p}" for p in ("estimate", "ci_low", "ci_high", "p_value")),
                    values,
                    strict=True,
                )
            )
    for name, term in (("covid_pp", "covid"), ("framework_2023_pp", "framework_2023")):
        if term in terms:
            out[name] = fit.estimate(term)
    return _withheld_if_unidentified(out, settings)


LEVEL_COLUMNS = ("step_pp_estimate", "step_pp_ci_low", "step_pp_ci_high", "covid_pp",
                 "framework_2023_pp")  # fmt: skip
"""Level shifts in percentage points: each must lie within +/-SCALE_LIMIT_PP."""


def _withheld_if_unidentified(out: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Withhold every estimate of a fit that one inspection determines (leverage above the
    setting) or that puts a level shift beyond what a share can move; the note says which."""
    beyond = [c for c in LEVEL_COLUMNS if abs(out.get(c) or 0.0) > SCALE_LIMIT_PP]
    reason = None
    if out["max_leverage"] > settings.its_max_leverage:
        reason = (
            f"one inspection determines the fit (leverage {out['max_leverage']:.2f}, above "
            f"{settings.its_max_leverage:g})"
        )
    elif beyond:
        reason = f"{beyond[0]} of {out[beyond[0]]:+.0f} points is beyond what a share can move"
    if reason is None:
        return out
    estimates = [c for c, t in ROW_SCHEMA.items() if t == pl.Float64 and c != "max_leverage"]
    return {**out, **dict.fromkeys(estimates), "note": f"estimates withheld: {reason}"}


def inspection_leverage(x: np.ndarray, weights: np.ndarray, inspections: pl.Series) -> float:
    """The largest share of the fit one inspection determines: the sum of the weighted hat
    values h_i = w_i x_i (X'WX)^-1 x_i' over the inspection's rows (1 means the fit passes
    through it whatever it is)."""
    bread = np.linalg.pinv(x.T @ (x * weights[:, None]))
    hat = weights * np.einsum("ij,jk,ik->i", x, bread, x)
    _, group = np.unique(inspections.to_numpy(), return_inverse=True)
    return float(np.bincount(group, weights=hat).max())


def _breakpoint(model: str) -> dt.date:
    dates = refdata.key_dates()
    return (
        dates["covid_restrictions_lifted"] if model == "lag_to_march_2022" else dates["unification"]
    )


def its_table(context: pl.LazyFrame, settings: Settings | None = None) -> pl.DataFrame:
    """Segmented regressions per key question x scope (England and Wales, each region) x model."""
    settings = settings or refdata.settings()
    core = asked_before_and_after(context.filter(pl.col("series") == "core"))
    counts = scopes(_answer_counts(core).collect().lazy())
    rows = []
    for model in MODELS:
        frame = (
            _inspection_rows(counts, model)
            .collect()
            .sort("comparable_id", "scope", "inspection_id", "post")
        )
        for key, group in frame.group_by("comparable_id", "scope", maintain_order=True):
            rows.append(_fit_row(key, group, model, settings))
    table = pl.DataFrame(rows, schema=ROW_SCHEMA)
    labels = (
        refdata.key_questions()
        .unique("comparable_id", keep="first")
        .select("comparable_id", "key_question", "standard", "theme")
    )
    table = table.join(labels, on="comparable_id", how="left")
    return ordered(table, ["comparable_id", "scope", "model"])
