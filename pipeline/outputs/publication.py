"""Publication outputs: the tables as Parquet and CSV under `tables/`, plus the data workbook.

Only disclosure-controlled tables from `analysis.tables` are written here; case-level data never
is. CSV copies are formula-safe and carry the same columns as the workbook sheets. Every text
that quotes a rule (threshold, confidence level, rating bands) is generated from the settings
the tables were built with and from the reference data, so it cannot go stale.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import refdata
from pipeline.config import Settings
from pipeline.outputs.workbook import TableSheet, write_workbook
from pipeline.stages import store
from pipeline.tables import registry
from pipeline.tables.build import Publication, Status

WORKBOOK_NAME = "probation_inspection_tables.xlsx"


def notes(settings: Settings) -> list[str]:
    """The Notes sheet, numbered as referenced by the table descriptions."""
    return [*_data_notes(settings), *_method_notes(settings)]


def _data_notes(settings: Settings) -> list[str]:
    """Notes 1-5: what a cell counts, disclosure control, intervals, the dynamic inspection,
    the differences."""
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
        f"{level} intervals. The primary interval (ci_cluster_low, ci_cluster_high) allows for "
        "cases in one inspection being alike: an intra-inspection correlation pooled over "
        "every inspection of the key question gives each cell a design effect and an "
        "effective sample size, and a Korn-Graubard (Clopper-Pearson) interval is drawn on it. "
        "ci_low and ci_high are Wilson intervals, which treat cases as independent and are "
        "too narrow; they are kept for reference. low_reliability marks cells on fewer than "
        f"{settings.reliable_min_inspections} inspections or an effective sample below "
        f"{settings.reliable_min_effective_n}.",
        "The dynamic inspection of public protection (2025-26) is a separate series ('dipp'): "
        "its sample is public-protection-focused and partly assessed by local assessors, so it "
        "is not pooled with core inspections.",
        "Differences are post minus pre, in percentage points. The headline is the adjusted "
        "difference (adjusted_*), which allows for case mix, weights pre-unification CRC and "
        "NPS cases to the providers' caseload shares, clusters errors by inspection and uses "
        "Student's t on (inspections - 1) degrees of freedom. Its p-values are adjusted for "
        "the number of comparisons in the family (12 key questions for England and Wales, 12 "
        "regions x 12 key questions for the regions) by Holm's method (significant_holm, "
        "used in bulletins) and Benjamini-Hochberg's; mdd_pp is the smallest difference "
        "detectable with 80% power. diff_clustered_* use the weighted pre level and pooled "
        "design effects; diff_pp, diff_ci_* and p_value treat cases as independent "
        "(Newcombe) and are kept for reference only. A comparison resting on fewer than "
        f"{settings.min_inspections_per_era} inspections in either era is withheld "
        "(comparison_note says so).",
    ]


def _method_notes(settings: Settings) -> list[str]:  # noqa: ARG001 - same call as the data notes
    """Notes 6-10: case mix, ratings, published ratings, time series, funnels."""
    return [
        "The adjusted difference is the average marginal effect of the post-unification period "
        "from a logistic regression on risk of serious harm, case type, gender and age band. "
        "It differs from the raw difference when the case mix differs between periods: CRCs "
        "supervised mostly low and medium risk cases, the NPS high risk ones, while a unified "
        "PDU sample mixes both; the provider weighting corrects for which providers happened "
        "to be inspected in a region before unification.",
        f"Ratings use the commonly cited rule: {refdata.rating_rule_text()}. "
        "The rule_verified column says so on every row. Overall ratings need every rated "
        "standard of the framework and known score bands, which case data alone cannot give.",
        "Published ratings are real: HM Inspectorate of Probation inspection reports, press "
        "releases and annual reports, compiled with the address of its source for every "
        "figure.",
        "Segmented regression (interrupted time series) of inspection-level sufficiency on "
        "time, a step and a change of slope at unification, a Covid-period term (23 March "
        "2020 to 1 March 2022) and a 2023-standards term, weighted by applicable answers, "
        "errors clustered by inspection (t on inspections - 1). Models: main; excluding "
        "fieldwork between unification and March 2022; breakpoint moved to March 2022; 'after' "
        "defined by the start of the case's supervision. Not estimated with fewer than 3 "
        "inspections on either side.",
        "Funnel plots (Spiegelhalter 2005): each unit against England and Wales in the same "
        "programme; limits at 95% and 99.8% include a between-unit variance estimated from the "
        "units' winsorised z-scores (DerSimonian-Laird); pct_shrunk pulls each unit towards "
        "England and Wales by shrinkage_weight. Only published cells are used.",
    ]


def write_publication(publication: Publication, folder: Path) -> list[Path]:
    """Write tables/<name>.parquet, tables/<name>.csv and the workbook; returns the paths."""
    return [*write_tables(publication, folder), write_publication_workbook(publication, folder)]


def write_tables(publication: Publication, folder: Path) -> list[Path]:
    """Write tables/<name>.parquet and tables/<name>.csv; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in publication.tables.items():
        registry.spec(name)  # an undeclared table has no protection rule: refused
        store.write_parquet(frame, folder / f"{name}.parquet")
        store.write_csv(frame, folder / f"{name}.csv")
        written += [folder / f"{name}.parquet", folder / f"{name}.csv"]
    return written


def write_publication_workbook(publication: Publication, folder: Path) -> Path:
    """Write the workbook of every publication table; returns its path."""
    tables = publication.tables
    folder.mkdir(parents=True, exist_ok=True)
    synthetic = any(
        bool(frame["synthetic"].any())
        for name, frame in tables.items()
        if "synthetic" in frame.columns and name != "published_ratings" and frame.height
    )
    sheets = [
        TableSheet(
            sheet_name(name),
            registry.spec(name).title,
            registry.spec(name).description,
            frame,
            table=name,
        )
        for name, frame in tables.items()
    ]
    title = "Probation inspection analytics: sufficiency, unification and ratings tables"
    if publication.status is Status.INTERNAL:
        title += " (INTERNAL, UNSUPPRESSED: NOT FOR PUBLICATION)"
    if synthetic:
        title += " (SYNTHETIC SAMPLE - not official statistics)"
    write_workbook(
        folder / WORKBOOK_NAME,
        sheets,
        title,
        synthetic,
        notes(publication.settings),
        publication.settings,
        internal=publication.status is Status.INTERNAL,
    )
    return folder / WORKBOOK_NAME


SHEET_NAME_LIMIT = 31
"""Excel's longest sheet name."""


def sheet_name(table: str) -> str:
    """The workbook sheet of a registered table: its registry `sheet` (a short readable name),
    else the table's name; refused when longer than Excel allows or holding a character a
    sheet name cannot (or a Contents link could not quote)."""
    name = registry.spec(table).sheet or table
    if len(name) > SHEET_NAME_LIMIT or set(name) & set("[]:*?/\\'"):
        raise ValueError(f"sheet name for table {table!r} is not allowed in Excel: {name!r}")
    return name
