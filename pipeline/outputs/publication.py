"""Publication outputs: the tables as Parquet and CSV under `tables/`, plus the data workbook.

Only disclosure-controlled tables from `analysis.tables` are written here; case-level data never
is. CSV copies are formula-safe and carry the same columns as the workbook sheets. Every text
that quotes a rule (threshold, confidence level, rating bands) is generated from the settings
the tables were built with and from the reference data, so it cannot go stale.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import refdata
from pipeline.analysis.tables import Publication
from pipeline.config import Settings
from pipeline.outputs.workbook import TableSheet, write_workbook
from pipeline.stages import store

WORKBOOK_NAME = "probation_inspection_tables.xlsx"

TABLE_INFO: dict[str, tuple[str, str]] = {
    "kq_trend": (
        "Sufficiency by key question over time",
        "Key question x scope (England and Wales, 12 regions) x period (calendar year, "
        "financial year, half-year, inspection programme), with Wilson and "
        "cluster-aware 95% intervals. [note 1] [note 2] [note 3] [note 4]",
    ),
    "unification": (
        "Before and after unification (26 June 2021)",
        "Pre- vs post-unification sufficiency per key question and scope: raw "
        "difference with Newcombe interval and p-value, and the case-mix-adjusted "
        "difference. [note 1] [note 5] [note 6]",
    ),
    "kq_by_inspection": (
        "Sufficiency by inspection and key question",
        "What each inspection report would publish. [note 1] [note 2]",
    ),
    "subgroups": (
        "Sufficiency by case characteristics",
        "By risk of serious harm, case type, gender, ethnicity, age band and MAPPA "
        "level, for each key question and era. [note 1] [note 2]",
    ),
    "enquiries": (
        "Domestic abuse and child safeguarding enquiries",
        "Enquiries made among cases where the concern was flagged. [note 1] [note 2]",
    ),
    "ratings": (
        "Standard ratings by the configured rule",
        "Each case-supervision standard rated by its lowest key question under the "
        "configured bands (see the note). [note 7]",
    ),
    "ratings_overall": (
        "Overall ratings",
        "Overall score and rating where the framework's "
        "bands allow it; otherwise the reason. [note 7]",
    ),
    "published_ratings": (
        "Published overall ratings (real data)",
        "Counts and shares of published overall ratings by inspection type "
        "and year, and before vs after unification. [note 8]",
    ),
}


def notes(settings: Settings) -> list[str]:
    """The Notes sheet, numbered as referenced by the table descriptions."""
    threshold, level = settings.suppression_threshold, settings.confidence_pct
    return [
        "Sufficiency is the percentage of applicable cases judged sufficient: yes / (yes + no). "
        "Not-applicable answers are counted (n_na) but leave the denominator. Only the core "
        "question set is used; adjusted-set cases are judged against different expectations.",
        f"Disclosure control: a cell is suppressed ([c]) when it rests on fewer than {threshold} "
        f"applicable answers, or when fewer than {settings.min_outcome_count} cases were judged "
        "sufficient or not sufficient, including none (primary suppression); further cells are "
        "suppressed so that no suppressed count can be worked out from the published ones, or "
        f"narrowed to a range of less than {settings.min_feasible_range} cases (complementary "
        "suppression). The suppression column says which. Regional figures leave out the "
        "national inspection, whose cases were sampled for England and Wales as a whole, and "
        "are published by "
        + " and ".join(p.replace("_", " ") for p in settings.regional_period_types)
        + " only. The 'synthetic' column is true where every answer in the cell comes "
        "from the generated sample.",
        f"{level} intervals are Wilson score intervals. The cluster-aware interval allows "
        "for cases in one inspection being alike: a cluster-robust (by inspection) variance "
        "gives a design effect and an effective sample size, and a Wilson interval is drawn on "
        "that effective size. It is not available where a cell holds a single inspection.",
        "The dynamic inspection of public protection (2025-26) is a separate series ('dipp'): "
        "its sample is public-protection-focused and partly assessed by local assessors, so it "
        "is not pooled with core inspections.",
        "The difference is post minus pre, in percentage points, with Newcombe's hybrid score "
        "interval and a two-sided two-proportion test.",
        "The adjusted difference is the average marginal effect of the post-unification period "
        "from a logistic regression on risk of serious harm, case type, gender and age band, "
        "with standard errors clustered by inspection. It differs from the raw difference when "
        "the case mix differs between periods: CRCs supervised mostly low and medium risk "
        "cases, the NPS high risk ones, while a unified PDU sample mixes both.",
        f"Ratings use the commonly cited rule: {refdata.rating_rule_text()}. "
        "The rule_verified column says so on every row. Overall ratings need every rated "
        "standard of the framework and known score bands, which case data alone cannot give.",
        "Published ratings are real: HM Inspectorate of Probation inspection reports, press "
        "releases and annual reports, compiled with a source URL per figure in "
        "data/raw/published/published_figures.csv.",
    ]


def write_publication(publication: Publication, folder: Path) -> list[Path]:
    """Write tables/<name>.parquet, tables/<name>.csv and the workbook; returns the paths."""
    tables = publication.tables
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        store.write_parquet(frame, folder / f"{name}.parquet")
        store.write_csv(frame, folder / f"{name}.csv")
        written += [folder / f"{name}.parquet", folder / f"{name}.csv"]
    synthetic = any(
        bool(frame["synthetic"].any())
        for name, frame in tables.items()
        if "synthetic" in frame.columns and name != "published_ratings" and frame.height
    )
    sheets = [
        TableSheet(name, *TABLE_INFO[name], tables[name]) for name in TABLE_INFO if name in tables
    ]
    title = "Probation inspection analytics: sufficiency, unification and ratings tables"
    if synthetic:
        title += " (SYNTHETIC SAMPLE - not official statistics)"
    write_workbook(
        folder / WORKBOOK_NAME,
        sheets,
        title,
        synthetic,
        notes(publication.settings),
        publication.settings,
    )
    written.append(folder / WORKBOOK_NAME)
    return written
