"""Trend tables, comparisons, subgroups, enquiries and ratings: the statistics researchers publish.

Every proportion row carries its counts (`n_yes`, `n_no`, `n_na`, `n_applicable` = yes + no),
`pct` (0-100, unrounded), a 95 % Wilson interval, `suppressed` and `synthetic`. Sufficiency
tables use the core question set only: answers given against the adjusted set (Probation Reset
or suspended contact) are judged against different expectations (framework.md 7.9). The dynamic
inspection of public protection is its own `series` ('dipp'), never pooled with core inspections
(different sample design, framework.md 7.8).

Disclosure control is applied here, before anything is published: a cell whose denominator is
below the threshold (reference/settings.csv, default 10) has its counts, percentage and
intervals blanked and `suppressed = true`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import polars as pl

from pipeline import ratings, refdata, stats

log = logging.getLogger(__name__)

NATIONAL = "England and Wales"
PERIOD_TYPES = ("calendar_year", "financial_year", "half_year", "programme")
SUBGROUPS = ("rosh", "case_type", "gender", "ethnicity", "age_band", "mappa_level")
CASE_MIX = ("rosh", "case_type", "gender", "age_band")
COUNT_COLUMNS = ("n_yes", "n_no", "n_na", "n_applicable")
VALUE_COLUMNS = ("pct", "ci_low", "ci_high")
CLUSTER_COLUMNS = ("design_effect", "n_effective", "ci_cluster_low", "ci_cluster_high")
KQ_COLUMNS = ("comparable_id", "key_question", "standard", "theme")
MIN_CATEGORY_CASES = 10  # case-mix categories rarer than this in a cell join the reference


# --- building blocks -------------------------------------------------------------------------


def answers_in_context(cases: pl.LazyFrame, answers: pl.LazyFrame) -> pl.LazyFrame:
    """Core-question-set answers joined to their case's context (era, region, periods, mix)."""
    context = cases.select(
        "inspection_id",
        "case_id",
        "era",
        "programme",
        "region",
        "calendar_year",
        "financial_year",
        "half_year",
        "publication_year",
        "question_set",
        *SUBGROUPS,
        "ethnicity" if "ethnicity" not in SUBGROUPS else pl.lit(None).alias("_unused"),
        "synthetic",
    ).drop("_unused", strict=False)
    return (
        answers.join(context, on=["inspection_id", "case_id"], how="inner")
        .filter(pl.col("question_set") == "core")
        .with_columns(
            pl.when(pl.col("programme") == "dipp_2025")
            .then(pl.lit("dipp"))
            .otherwise(pl.lit("core"))
            .alias("series"),
            pl.col("region").cast(pl.String),
        )
    )


def count_answers(frame: pl.LazyFrame, keys: list[str], answer: str = "answer") -> pl.LazyFrame:
    """yes / no / na counts per cell, and whether every answer in it is synthetic."""
    value = pl.col(answer).cast(pl.String)
    return (
        frame.group_by(keys)
        .agg(
            (value == "yes").sum().cast(pl.Int64).alias("n_yes"),
            (value == "no").sum().cast(pl.Int64).alias("n_no"),
            (value == "na").sum().cast(pl.Int64).alias("n_na"),
            pl.col("synthetic").all().alias("synthetic"),
        )
        .with_columns((pl.col("n_yes") + pl.col("n_no")).alias("n_applicable"))
    )


def with_wilson(
    frame: pl.DataFrame, k: str = "n_yes", n: str = "n_applicable", suffix: str = ""
) -> pl.DataFrame:
    """Add pct and the Wilson 95 % interval (0-100 scale)."""
    k_arr = frame[k].to_numpy().astype(float)
    n_arr = frame[n].to_numpy().astype(float)
    low, high = stats.wilson_interval(k_arr, n_arr)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(n_arr > 0, 100 * k_arr / n_arr, np.nan)
    return frame.with_columns(
        pl.Series(f"pct{suffix}", pct).fill_nan(None),
        pl.Series(f"ci_low{suffix}", 100 * low).fill_nan(None),
        pl.Series(f"ci_high{suffix}", 100 * high).fill_nan(None),
    )


def sum_counts(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Add up already-counted cells (n_yes, n_no, n_na) to coarser keys."""
    return (
        frame.group_by(keys)
        .agg(
            pl.col("n_yes", "n_no", "n_na").sum(),
            pl.col("synthetic").all(),
        )
        .with_columns((pl.col("n_yes") + pl.col("n_no")).alias("n_applicable"))
    )


def cluster_columns(counts: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Cluster-robust (by inspection) variance per cell -> design effect, effective n.

    `counts` holds n_yes / n_no per inspection (and finer keys). Vectorised form of
    `stats.cluster_variance`: V = G/(G-1) * sum_i (k_i - p m_i)^2 / N^2, expanded as
    sum k^2 - 2p sum k m + p^2 sum m^2 so that every aggregate is an exact integer sum.
    Floating-point sums in a parallel group-by are added in varying order and differ in the
    last bits from run to run; integer sums do not, so the tables stay byte-identical.
    """
    per_inspection = (
        counts.group_by([*keys, "inspection_id"])
        .agg(
            pl.col("n_yes").sum().cast(pl.Int64).alias("_k"),
            (pl.col("n_yes") + pl.col("n_no")).sum().cast(pl.Int64).alias("_m"),
        )
        .filter(pl.col("_m") > 0)
    )
    cell = per_inspection.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("n_inspections"),
        pl.col("_k").sum().alias("_K"),
        pl.col("_m").sum().alias("_N"),
        (pl.col("_k") * pl.col("_k")).sum().alias("_kk"),
        (pl.col("_k") * pl.col("_m")).sum().alias("_km"),
        (pl.col("_m") * pl.col("_m")).sum().alias("_mm"),
    )
    n = pl.col("_N").cast(pl.Float64)
    p = pl.col("_K").cast(pl.Float64) / n
    g = pl.col("n_inspections").cast(pl.Float64)
    squares = (
        pl.col("_kk").cast(pl.Float64)
        - 2 * p * pl.col("_km").cast(pl.Float64)
        + p * p * pl.col("_mm").cast(pl.Float64)
    ).clip(lower_bound=0)
    variance = pl.when(g >= 2).then(g / (g - 1) * squares / n**2)
    srs = p * (1 - p) / n
    deff = pl.when(srs > 0).then(variance / srs).when(g >= 2).then(1.0)
    return (
        cell.with_columns(deff.alias("design_effect"))
        .with_columns(
            # never more precise than independent sampling: with few inspections an estimated
            # design effect below 1 is noise, so the effective n is at most the actual n
            pl.when(pl.col("design_effect") > 0)
            .then(n / pl.max_horizontal(pl.col("design_effect"), pl.lit(1.0)))
            .alias("n_effective")
        )
        .select(*keys, pl.col("n_inspections").cast(pl.UInt32), "design_effect", "n_effective")
    )


def with_cluster_interval(frame: pl.DataFrame) -> pl.DataFrame:
    """Wilson interval on the effective sample size (0-100 scale)."""
    p = (frame["n_yes"] / frame["n_applicable"]).to_numpy().astype(float)
    n_eff = frame["n_effective"].fill_null(np.nan).to_numpy().astype(float)
    low, high = stats.cluster_wilson_interval(p, n_eff)
    return frame.with_columns(
        pl.Series("ci_cluster_low", 100 * low).fill_nan(None),
        pl.Series("ci_cluster_high", 100 * high).fill_nan(None),
    )


def suppress(
    frame: pl.DataFrame,
    threshold: int,
    denominators: Iterable[str] = ("n_applicable",),
    blank: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Blank counts, percentages and intervals of cells with a denominator below `threshold`.

    `blank` defaults to every count, percentage, interval and cluster column present.
    """
    denominators = list(denominators)
    small = pl.any_horizontal(pl.col(d).fill_null(0) < threshold for d in denominators)
    if blank is None:
        blank = [
            c
            for c in frame.columns
            if c.startswith(("n_", "pct", "ci_", "diff_", "adjusted_")) or c in CLUSTER_COLUMNS
        ]
    blank = list(blank)
    return frame.with_columns(
        *[pl.when(small).then(None).otherwise(pl.col(c)).alias(c) for c in blank],
        small.alias("suppressed"),
    )


def _scopes(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Each row once for England and Wales and once for its region, as `scope`."""
    national = frame.with_columns(pl.lit(NATIONAL).alias("scope"))
    regional = frame.with_columns(pl.col("region").alias("scope"))
    return pl.concat([national, regional])


def _periods(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Each row once per period type, with the period label as text."""
    return pl.concat(
        [
            frame.with_columns(
                pl.lit(t).alias("period_type"), pl.col(t).cast(pl.String).alias("period")
            )
            for t in PERIOD_TYPES
        ]
    )


def _order(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.sort(keys, nulls_last=True)


# --- the tables ------------------------------------------------------------------------------


def kq_by_inspection(context: pl.LazyFrame, inspections: pl.DataFrame) -> pl.DataFrame:
    """Per inspection x key question: what an inspection report publishes (unsuppressed)."""
    keys = ["inspection_id", *KQ_COLUMNS]
    counts = count_answers(context, keys).collect()
    table = with_wilson(counts).join(
        inspections.select(
            "inspection_id",
            "unit_name",
            "inspection_type",
            "framework",
            "programme",
            "era",
            "region",
            "fieldwork_start",
            "publication_year",
        ),
        on="inspection_id",
        how="left",
    )
    return _order(table, ["fieldwork_start", "inspection_id", "key_question"])


def kq_trend(context: pl.LazyFrame) -> pl.DataFrame:
    """Key question (comparable id) x scope x period, for several period types, with Wilson
    and cluster-aware intervals. Safety sufficiency over time is the headline series.

    Answers are first counted per inspection at the finest grain (every period type at once),
    so the expansion to scopes and period types works on thousands of rows, not millions.
    """
    grain = ["series", *KQ_COLUMNS, "region", "inspection_id", *PERIOD_TYPES]
    base = count_answers(context, grain).collect().lazy()
    expanded = _periods(_scopes(base))
    keys = ["series", *KQ_COLUMNS, "scope", "period_type", "period"]
    counts = sum_counts(expanded, keys)
    clusters = cluster_columns(expanded, keys)
    table = counts.join(clusters, on=keys, how="left", nulls_equal=True).collect()
    table = with_cluster_interval(with_wilson(table))
    return _order(table, ["series", "comparable_id", "scope", "period_type", "period"])


def unification(context: pl.LazyFrame, threshold: int) -> pl.DataFrame:
    """Pre vs post unification for every comparable key question, nationally and per region:
    both proportions with Wilson intervals, the difference (post - pre, percentage points) with
    Newcombe's interval and a two-sided test, and a case-mix-adjusted difference (logistic
    regression on RoSH, case type, gender and age band, errors clustered by inspection)."""
    core = _scopes(context.filter(pl.col("series") == "core"))
    keys = [*KQ_COLUMNS, "scope"]
    base = (
        count_answers(context.filter(pl.col("series") == "core"), [*KQ_COLUMNS, "region", "era"])
        .collect()
        .lazy()
    )
    counts = sum_counts(_scopes(base), [*keys, "era"]).collect()
    pre = counts.filter(pl.col("era") == "pre_unification").drop("era")
    post = counts.filter(pl.col("era") == "post_unification").drop("era")
    both = pre.join(post, on=keys, how="full", coalesce=True, suffix="_post").rename(
        {c: f"{c}_pre" for c in (*COUNT_COLUMNS, "synthetic")}
    )
    both = (
        both.with_columns(
            pl.col(f"{c}_{e}").fill_null(0) for c in COUNT_COLUMNS for e in ("pre", "post")
        )
        .with_columns(
            (
                pl.col("synthetic_pre").fill_null(True) & pl.col("synthetic_post").fill_null(True)
            ).alias("synthetic")
        )
        .drop("synthetic_pre", "synthetic_post")
    )
    both = with_wilson(both, "n_yes_pre", "n_applicable_pre", "_pre")
    both = with_wilson(both, "n_yes_post", "n_applicable_post", "_post")
    arrays = [
        both[c].to_numpy().astype(float)
        for c in ("n_yes_post", "n_applicable_post", "n_yes_pre", "n_applicable_pre")
    ]
    diff, low, high = stats.newcombe_difference(*arrays)
    both = both.with_columns(
        pl.Series("diff_pp", 100 * diff).fill_nan(None),
        pl.Series("diff_ci_low", 100 * low).fill_nan(None),
        pl.Series("diff_ci_high", 100 * high).fill_nan(None),
        pl.Series("p_value", stats.two_proportion_p_value(*arrays)).fill_nan(None),
    )
    adjusted = _adjusted_differences(core, threshold)
    both = both.join(adjusted, on=["comparable_id", "scope"], how="left")
    return _order(both, ["comparable_id", "scope"])


def _case_mix_dummies(patterns: pl.DataFrame) -> pl.DataFrame:
    """0/1 columns for each case-mix category except the reference, which is the variable's
    most common category (ties by name): a fixed choice, so estimates never depend on row
    order."""
    columns = []
    for variable in CASE_MIX:
        counts = (
            patterns.group_by(pl.col(variable).fill_null("missing"))
            .agg(pl.col("n").sum())
            .sort(["n", variable], descending=[True, False])
        )
        for category in counts[variable].to_list()[1:]:
            columns.append(
                (pl.col(variable).fill_null("missing") == category)
                .cast(pl.Float64)
                .alias(f"{variable}={category}")
            )
    return patterns.select(columns)


def _adjusted_differences(core: pl.LazyFrame, threshold: int) -> pl.DataFrame:
    """Fit one cluster-robust logistic model per comparable key question x scope.

    Answers are first collapsed to covariate patterns within each inspection (yes count out of
    n), which gives the same estimates as a case-level fit (tests/test_stats.py) while keeping
    ten million answers to a few thousand rows.
    """
    patterns = (
        core.filter(pl.col("answer").cast(pl.String).is_in(["yes", "no"]))
        .group_by(
            "comparable_id",
            "scope",
            "inspection_id",
            "era",
            *[pl.col(c).cast(pl.String) for c in CASE_MIX],
        )
        .agg(
            (pl.col("answer").cast(pl.String) == "yes").sum().cast(pl.Float64).alias("k"),
            pl.len().cast(pl.Float64).alias("n"),
        )
        .sort("comparable_id", "scope", "inspection_id", "era", *CASE_MIX, nulls_last=True)
        .collect()
    )
    dummies = _case_mix_dummies(patterns)
    frame = pl.concat([patterns.drop(CASE_MIX), dummies], how="horizontal")
    covariates = dummies.columns
    rows = []
    for (comparable_id, scope), cell in frame.group_by(
        "comparable_id", "scope", maintain_order=True
    ):
        post = (cell["era"] == "post_unification").cast(pl.Float64).to_numpy()
        trials = cell["n"].to_numpy()
        row = {"comparable_id": comparable_id, "scope": scope}
        n_pre, n_post = trials[post == 0].sum(), trials[post == 1].sum()
        if min(n_pre, n_post) < threshold:
            rows.append(row)
            continue
        x = cell.select(covariates).to_numpy().astype(float)
        # A category with very few cases in this cell (or none) cannot be estimated and makes
        # the fit unstable; it is folded into the reference category instead.
        cases_with = trials @ x
        x = x[
            :,
            (cases_with >= MIN_CATEGORY_CASES) & (cases_with <= trials.sum() - MIN_CATEGORY_CASES),
        ]
        result = stats.adjusted_difference(
            cell["k"].to_numpy(), post, x, cell["inspection_id"].to_numpy(), trials=trials
        )
        row.update(
            {
                "adjusted_diff_pp": 100 * result.difference,
                "adjusted_ci_low": 100 * result.low,
                "adjusted_ci_high": 100 * result.high,
                "adjusted_p_value": result.p_value,
                "adjusted_odds_ratio": result.odds_ratio,
                "model_n_inspections": result.n_clusters,
                "model_converged": result.converged,
            }
        )
        rows.append(row)
    schema = {
        "comparable_id": pl.String,
        "scope": pl.String,
        "adjusted_diff_pp": pl.Float64,
        "adjusted_ci_low": pl.Float64,
        "adjusted_ci_high": pl.Float64,
        "adjusted_p_value": pl.Float64,
        "adjusted_odds_ratio": pl.Float64,
        "model_n_inspections": pl.Int64,
        "model_converged": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema).with_columns(
        pl.col(c).fill_nan(None) for c, t in schema.items() if t == pl.Float64
    )


def subgroups(context: pl.LazyFrame) -> pl.DataFrame:
    """Sufficiency by RoSH, case type, gender, ethnicity, age band and MAPPA level, for each
    key question, series and era (England and Wales)."""
    grain = ["series", *KQ_COLUMNS, "era", *SUBGROUPS]
    base = count_answers(context, grain).collect().lazy()
    parts = [
        base.with_columns(
            pl.lit(variable).alias("subgroup"),
            pl.col(variable).cast(pl.String).fill_null("not recorded").alias("subgroup_value"),
        )
        for variable in SUBGROUPS
    ]
    keys = ["series", *KQ_COLUMNS, "era", "subgroup", "subgroup_value"]
    table = with_wilson(sum_counts(pl.concat(parts, how="diagonal_relaxed"), keys).collect())
    return _order(table.with_columns(pl.lit(NATIONAL).alias("scope")), keys)


def enquiries(cases: pl.LazyFrame) -> pl.DataFrame:
    """Domestic abuse and child safeguarding enquiries made, among cases where the concern was
    flagged (the enquiry was relevant), by scope and period (financial year, programme, era)."""
    base = cases.with_columns(
        pl.col("region").cast(pl.String),
        pl.when(pl.col("programme") == "dipp_2025")
        .then(pl.lit("dipp"))
        .otherwise(pl.lit("core"))
        .alias("series"),
        pl.col("era").cast(pl.String),
    )
    parts = []
    for measure, flag in (("da_enquiry", "da_concern"), ("cs_enquiry", "cs_concern")):
        relevant = base.filter(pl.col(flag)).with_columns(
            pl.lit(measure).alias("measure"), pl.col(measure).alias("answer")
        )
        parts.append(relevant)
    frame = _scopes(pl.concat(parts))
    frame = pl.concat(
        [
            frame.with_columns(
                pl.lit(t).alias("period_type"), pl.col(t).cast(pl.String).alias("period")
            )
            for t in ("financial_year", "programme", "era")
        ]
    )
    keys = ["measure", "series", "scope", "period_type", "period"]
    return _order(with_wilson(count_answers(frame, keys).collect()), keys)


def rating_tables(by_inspection: pl.DataFrame, threshold: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Standard ratings per inspection by the configured rule, and overall where possible.

    Ratings are computed from unsuppressed percentages; a standard any of whose key questions
    has fewer than `threshold` applicable answers is then suppressed (too few cases to rate).
    """
    kq = by_inspection.filter(pl.col("n_applicable") > 0).select(
        "inspection_id",
        "framework",
        pl.col("standard").cast(pl.String),
        "theme",
        "pct",
        "n_applicable",
    )
    rated = ratings.rate_standards(kq)
    smallest = kq.group_by("inspection_id", "standard").agg(
        pl.col("n_applicable").min().alias("n_applicable_min")
    )
    rated = rated.join(smallest, on=["inspection_id", "standard"], how="left")
    small = pl.col("n_applicable_min") < threshold
    rated = rated.with_columns(
        *[
            pl.when(small).then(None).otherwise(pl.col(c)).alias(c)
            for c in (
                "pct_engagement",
                "pct_desistance",
                "pct_safety",
                "lowest_pct",
                "n_applicable_min",
            )
        ],
        *[
            pl.when(small).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("rating", "rating_upper_bound", "lowest_key_question")
        ],
        pl.when(small)
        .then(pl.lit(f"suppressed: fewer than {threshold} applicable answers"))
        .otherwise(pl.col("reason"))
        .alias("reason"),
        small.alias("suppressed"),
    )
    info = by_inspection.select(
        "inspection_id", "unit_name", "region", "programme", "era", "fieldwork_start", "synthetic"
    ).unique("inspection_id")
    rated = rated.join(info, on="inspection_id", how="left").sort(
        "fieldwork_start", "inspection_id", "standard"
    )
    overall = (
        ratings.overall_ratings(rated)
        .join(info, on="inspection_id", how="left")
        .sort("fieldwork_start", "inspection_id")
    )
    return rated, overall


def published_ratings(published: pl.DataFrame) -> pl.DataFrame:
    """Real published overall ratings: counts and shares by inspection type and publication
    year, and by inspection type and era (pre vs post unification). Not synthetic."""
    rated = published.filter(
        (pl.col("standard") == "overall")
        & pl.col("rating").is_not_null()
        & pl.col("inspection_type").is_not_null()
    ).with_columns(pl.col("rating").cast(pl.String))
    parts = []
    for grouping, column in (("publication_year", "publication_year"), ("era", "era")):
        g = rated.with_columns(
            pl.lit(grouping).alias("grouping"),
            pl.col(column).cast(pl.String).fill_null("unknown").alias("group"),
        )
        counts = g.group_by("inspection_type", "grouping", "group", "rating").agg(
            pl.len().cast(pl.Int64).alias("n_inspections")
        )
        totals = counts.group_by("inspection_type", "grouping", "group").agg(
            pl.col("n_inspections").sum().alias("n_rated")
        )
        parts.append(counts.join(totals, on=["inspection_type", "grouping", "group"]))
    table = pl.concat(parts).with_columns(
        (100 * pl.col("n_inspections") / pl.col("n_rated")).alias("share_pct"),
        pl.lit(False).alias("synthetic"),
        pl.lit(
            "published (real): HM Inspectorate of Probation reports, as compiled in "
            "data/raw/published"
        ).alias("data_source"),
        pl.col("rating").cast(ratings.RATING),
    )
    return table.sort("grouping", "inspection_type", "group", "rating")


def build_tables(
    cases: pl.DataFrame,
    answers: pl.DataFrame,
    inspections: pl.DataFrame,
    published: pl.DataFrame,
    threshold: int | None = None,
) -> dict[str, pl.DataFrame]:
    """Every publication table, with disclosure control applied."""
    threshold = refdata.suppression_threshold() if threshold is None else threshold
    context = answers_in_context(cases.lazy(), answers.lazy())
    by_inspection = kq_by_inspection(context, inspections)
    standard_ratings, overall = rating_tables(by_inspection, threshold)
    unify = unification(context, threshold)
    tables = {
        "kq_by_inspection": suppress(by_inspection, threshold),
        "kq_trend": suppress(kq_trend(context), threshold),
        "unification": suppress(
            unify, threshold, denominators=("n_applicable_pre", "n_applicable_post")
        ),
        "subgroups": suppress(subgroups(context), threshold),
        "enquiries": suppress(enquiries(cases.lazy()), threshold),
        "ratings": standard_ratings,
        "ratings_overall": overall,
        "published_ratings": published_ratings(published),
    }
    for name, table in tables.items():
        log.info("table %s: %d rows", name, table.height)
    return tables
