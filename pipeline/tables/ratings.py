"""Ratings by the configured rule: key-question % -> band, standard = band of its lowest KQ.

The bands (80 / 65 / 50 %) and the lowest-key-question rule are the commonly cited rules and
are NOT verified against HMIP's guidance manuals (framework.md 5.2); they live in
`reference/rating_bands.csv` with a `verified` flag that travels with every result. Overall
ratings need every rated standard of the framework and configured score bands; case data holds
only the four case-supervision standards, so an overall rating is given only where both
conditions hold, and otherwise a reason is given instead of a guess.
"""

from __future__ import annotations

import re

import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.domain import RATING, THEMES
from pipeline.statistics.rating_uncertainty import chance_band_differs

THEME_COLUMNS = {t: f"pct_{t}" for t in THEMES}


def band_expr(pct: pl.Expr, framework: str, settings: Settings | None = None) -> pl.Expr:
    """Rating band of a key-question percentage under `framework`'s configured bands."""
    settings = settings or refdata.settings()
    bands = (
        refdata.rating_bands()
        .filter(pl.col("framework") == framework)
        .sort("min_pct", descending=True)
    )
    if bands.height == 0:
        return pl.lit(None, dtype=RATING)
    if settings.round_before_banding:
        pct = pct.round(0)
    # bands run from the best down, so the first one the percentage reaches is its band
    return pl.coalesce(
        pl.when(pct >= min_pct).then(pl.lit(rating))
        for rating, min_pct in bands.select("rating", "min_pct").iter_rows()
    ).cast(RATING)


def band(pct: float, framework: str = "2023") -> str | None:
    """Scalar convenience for `band_expr` (used by tests and the `rate` command)."""
    value = pl.select(band_expr(pl.lit(pct, dtype=pl.Float64), framework)).item()
    return None if value is None else str(value)


def rate_standards(kq_pct: pl.DataFrame) -> pl.DataFrame:
    """Rate each inspection x standard from its key-question percentages.

    Input columns: inspection_id, framework, standard, theme, pct (0-100). A standard with all
    three key questions is rated by its lowest; with fewer, the rating is determined only when
    the lowest known percentage already falls in the bottom band (the missing ones cannot raise
    it), otherwise `rating_upper_bound` says how good it could be at most.
    """
    wide = _lowest(_wide_percentages(kq_pct))
    frames = [
        _rate_framework(group, str(framework))
        for (framework,), group in wide.group_by("framework", maintain_order=True)
    ]
    if not frames:  # nothing to rate: the same columns, no rows
        frames = [_rate_framework(wide, "2021")]
    return (
        pl.concat(frames, how="diagonal_relaxed")
        .with_columns(pl.lit("lowest_key_question").alias("rule"))
        .sort("inspection_id", "standard")
    )


def _wide_percentages(kq_pct: pl.DataFrame) -> pl.DataFrame:
    """One row per inspection x standard with pct_engagement, pct_desistance, pct_safety."""
    wide = (
        kq_pct.select("inspection_id", "framework", "standard", "theme", "pct")
        .with_columns(pl.col("theme", "framework", "standard").cast(pl.String))
        .pivot(
            on="theme",
            index=["inspection_id", "framework", "standard"],
            values="pct",
            aggregate_function="first",
        )
    )
    for theme, column in THEME_COLUMNS.items():
        wide = (
            wide.rename({theme: column})
            if theme in wide.columns
            else wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(column))
        )
    return wide


def _lowest(wide: pl.DataFrame) -> pl.DataFrame:
    """The lowest known percentage, how many are known, and which theme is lowest."""
    pct_cols = list(THEME_COLUMNS.values())
    lowest_theme = pl.coalesce(
        *[
            pl.when(pl.col(c) == pl.col("lowest_pct")).then(pl.lit(t))
            for t, c in THEME_COLUMNS.items()
        ]
    )
    return wide.with_columns(
        pl.min_horizontal(pct_cols).alias("lowest_pct"),
        pl.sum_horizontal(pl.col(pct_cols).is_not_null()).alias("n_key_questions"),
    ).with_columns(
        pl.when(pl.col("lowest_pct").is_null())
        .then(None)
        .otherwise(lowest_theme)
        .alias("lowest_key_question"),
    )


def _rate_framework(group: pl.DataFrame, framework: str) -> pl.DataFrame:
    """Ratings for one framework's standards under its configured bands (with the reason where
    no rating can be given)."""
    configured = refdata.rating_bands().filter(pl.col("framework") == framework)
    bottom = configured.sort("min_pct")["rating"][0] if configured.height else None
    complete = pl.col("n_key_questions") == 3
    determined = complete | (
        pl.col("rating_upper_bound").cast(pl.String) == pl.lit(bottom, dtype=pl.String)
    )
    reason = (
        pl.when(pl.lit(configured.height == 0))
        .then(pl.lit(f"no rating bands configured for framework {framework}"))
        .when(pl.col("n_key_questions") == 0)
        .then(pl.lit("no key-question percentages"))
        .when(~complete & pl.col("rating").is_null())
        .then(
            pl.format(
                "only {} of 3 key questions: rating cannot be determined",
                pl.col("n_key_questions"),
            )
        )
        .otherwise(None)
    )
    verified = configured.height > 0 and bool(configured["verified"].all())
    check = configured["check_against"][0] if configured.height else None
    if check:  # the project's own note references are not for readers
        check = re.sub(r"\s*\([^)]*\.md\b[^)]*\)", "", check)
    return (
        group.with_columns(band_expr(pl.col("lowest_pct"), framework).alias("rating_upper_bound"))
        .with_columns(
            pl.when(determined).then(pl.col("rating_upper_bound")).otherwise(None).alias("rating"),
            pl.lit(verified).alias("rule_verified"),
            pl.lit(check, dtype=pl.String).alias("check_against"),
        )
        .with_columns(reason.alias("reason"))
    )


def overall_ratings(standard_ratings: pl.DataFrame) -> pl.DataFrame:
    """Overall score and rating per inspection where the framework's bands allow it.

    Needs a rating for every standard an inspection of its type rates under its framework
    (frameworks.csv `rated_standards`: a PDU 7, a region 8, the national inspection 4 in 2023)
    and score bands in overall_bands.csv; otherwise the row says why no overall rating is given.
    """
    required = {
        (f, t): n for f, t, n in refdata.rated_standards().iter_rows()
    }  # (framework, inspection_type) -> standards rated
    bands = refdata.overall_bands()
    scores = dict(refdata.rating_scores().select("rating", "score").iter_rows())
    rows = []
    per_inspection = standard_ratings.group_by("inspection_id", "framework", "inspection_type").agg(
        pl.col("rating").drop_nulls().cast(pl.String)
    )
    for inspection_id, framework, kind, ratings in per_inspection.sort("inspection_id").iter_rows():
        need = required.get((framework, kind), 0)
        configured = bands.filter(pl.col("framework") == framework)
        score, overall, reason = None, None, None
        if configured.height == 0:
            reason = f"no overall score bands configured for framework {framework}"
        elif len(ratings) < need:
            reason = (
                f"overall rating needs all {need} rated standards of a {kind} inspection under "
                f"framework {framework}; case data gives {len(ratings)}"
            )
        else:
            score = sum(scores[r] for r in ratings)
            overall = configured.filter(pl.col("min_score") <= score).sort(
                "min_score", descending=True
            )["rating"][0]
        rows.append(
            {
                "inspection_id": inspection_id,
                "framework": framework,
                "standards_rated": len(ratings),
                "standards_required": need,
                "overall_score": score,
                "overall_rating": overall,
                "rule_verified": bool(configured["verified"].all()) if configured.height else False,
                "reason": reason,
            }
        )
    schema = {
        "inspection_id": pl.String,
        "framework": pl.String,
        "standards_rated": pl.Int64,
        "standards_required": pl.Int64,
        "overall_score": pl.Int64,
        "overall_rating": pl.String,
        "rule_verified": pl.Boolean,
        "reason": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def rate_published_percentages(frame: pl.DataFrame, framework: str = "2023") -> pl.DataFrame:
    """Rate a long table of published key-question percentages (the `probation rate` input).

    Columns: inspection_id, standard, key_question, pct, and optionally framework. Standards may
    be written 'implementation_and_delivery' or 'implementation'; key questions as the contract
    name ('implementation_safety') or just the theme ('safety').
    """
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = {"inspection_id", "standard", "key_question", "pct"} - set(frame.columns)
    if missing:
        raise ValueError(f"missing column(s): {', '.join(sorted(missing))}")
    if "framework" not in frame.columns:
        frame = frame.with_columns(pl.lit(framework).alias("framework"))
    theme = (
        pl.col("key_question")
        .str.strip_chars()
        .str.to_lowercase()
        .str.extract(r"(engagement|desistance|safety)$")
    )
    standard = (
        pl.col("standard")
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace("implementation_and_delivery", "implementation", literal=True)
        .str.replace(" and delivery", "", literal=True)
    )
    tidy = frame.select(
        pl.col("inspection_id").cast(pl.String),
        pl.col("framework").cast(pl.String),
        standard.alias("standard"),
        theme.alias("theme"),
        pl.col("pct").cast(pl.Float64, strict=False).alias("pct"),
    )
    bad = tidy.filter(
        pl.col("theme").is_null() | pl.col("pct").is_null() | ~pl.col("pct").is_between(0, 100)
    )
    if bad.height:
        raise ValueError(
            f"{bad.height} row(s) with an unknown key question or a percentage outside 0-100"
        )
    return rate_standards(tidy)


def standard_ratings(by_inspection: pl.DataFrame) -> pl.DataFrame:
    """Standard ratings by the configured rule, only where HMIP rates that standard of that
    inspection type from the inspected cases (reference/inspection_model.csv): CRC, NPS and PDU
    case-supervision standards. National and dynamic inspections publish case findings without
    rating them, and regional standards come from pooled PDU data (`rounds.py`).

    Works on unsuppressed percentages; disclosure control then hides the rows whose
    key-question cells are suppressed."""
    rated_here = refdata.rated_from_case_data()
    kq = (
        by_inspection.filter(pl.col("n_applicable") > 0)
        .with_columns(pl.col("inspection_type", "framework", "standard").cast(pl.String))
        .join(rated_here, on=["inspection_type", "framework", "standard"], how="semi")
        .select("inspection_id", "framework", "standard", "theme", "pct", "n_yes", "n_applicable")
    )
    smallest = kq.group_by("inspection_id", "standard").agg(
        pl.col("n_applicable").min().alias("n_applicable_min"),
        pl.struct("n_yes", "n_applicable").alias("_counts"),
    )
    rated = with_uncertainty(
        rate_standards(kq).join(smallest, on=["inspection_id", "standard"], how="left")
    )
    return (
        rated.with_columns(pl.lit("case_data").alias("rated_by"))
        .join(_inspection_info(by_inspection), on="inspection_id", how="left")
        .sort("fieldwork_start", "inspection_id", "standard")
    )


def _inspection_info(by_inspection: pl.DataFrame) -> pl.DataFrame:
    return by_inspection.select(
        "inspection_id", "unit_name", "inspection_type", "region", "programme", "era",
        "fieldwork_start", "synthetic",
    ).unique("inspection_id")  # fmt: skip


def overall_table(rated: pl.DataFrame, by_inspection: pl.DataFrame) -> pl.DataFrame:
    """Overall ratings (or the reason there is none) per inspection whose standards are rated
    from case data (the others are not rated by rule at all)."""
    return (
        overall_ratings(rated)
        .join(_inspection_info(by_inspection), on="inspection_id", how="left")
        .sort("fieldwork_start", "inspection_id")
    )


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
            "published (real): HM Inspectorate of Probation inspection reports, press releases "
            "and annual reports"
        ).alias("data_source"),
        pl.col("rating").cast(RATING),
    )
    return table.sort("grouping", "inspection_type", "group", "rating")


def certainty_words(chance_differs: float | None) -> str | None:
    """Plain words for how likely a rating's band is to stay the same with another sample of
    cases (reference/certainty_words.csv: 'very likely', 'likely', 'could go either way')."""
    if chance_differs is None:
        return None
    same = 1.0 - chance_differs
    return next(words for floor, words in refdata.certainty_words() if same >= floor - 1e-12)


def with_uncertainty(rated: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """`rated` (with `framework`, `rating` and `_counts`: a list of {n_yes, n_applicable} per key
    question the rating rests on) plus `rating_chance_differs_pct`, the chance in percent that
    resampling the inspection's cases puts the standard in another band, and
    `rating_certainty`, that chance in words. Only where a rating is given; `_counts` is
    dropped."""
    settings = settings or refdata.settings()
    bands = refdata.rating_bands()
    chances = []
    if "_pooled" in rated.columns:  # a rule that pools its key questions rests on one count
        pooled = pl.struct(
            pl.col("_counts")
            .list.eval(pl.element().struct.field("n_yes"))
            .list.sum()
            .alias("n_yes"),
            pl.col("_counts")
            .list.eval(pl.element().struct.field("n_applicable"))
            .list.sum()
            .alias("n_applicable"),
        )
        rated = rated.with_columns(
            pl.when(pl.col("_pooled"))
            .then(pl.concat_list(pooled))
            .otherwise(pl.col("_counts"))
            .alias("_counts")
        ).drop("_pooled")
    for framework, rating, counts in rated.select("framework", "rating", "_counts").iter_rows():
        cut_offs = bands.filter(pl.col("framework") == str(framework))["min_pct"].to_list()
        chance = None
        pairs = [(c["n_yes"], c["n_applicable"]) for c in counts or []]
        if rating is not None and pairs and cut_offs and None not in {*sum(pairs, ())}:
            chance = chance_band_differs(pairs, cut_offs, settings.round_before_banding)
        chances.append(chance)
    return rated.drop("_counts").with_columns(
        pl.Series(
            "rating_chance_differs_pct",
            [None if c is None else 100 * c for c in chances],
            pl.Float64,
        ),
        pl.Series("rating_certainty", [certainty_words(c) for c in chances], pl.String),
    )
