"""The section registry: one declaration per chart section of a bulletin.

Each `SectionSpec` names the chart, its heading and what it covers, the release tables it
needs, which bulletins show it (every area, regions only, or England and Wales only), whether a
regional bulletin shows it as England and Wales context, and the builder that draws it. The
bulletin's charts (`Bulletin.chart_set`), the tables a bulletin loads, the HTML and PDF
(`document.py`) and both notebooks (which iterate `Bulletin.sections()`) all read this list, so
a new section is one builder plus one entry here (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from pipeline.bulletins import bridge_chart, casework_charts, charts, rating_charts, standing
from pipeline.bulletins.charts import ChartResult
from pipeline.domain import NATIONAL


@dataclass(frozen=True)
class Inputs:
    """What a section's builder may read: the release tables, the area and the choices."""

    tables: dict[str, pl.DataFrame]
    scope: str
    synthetic: bool
    years: tuple[int, int]
    cohort: str


class Shown(StrEnum):
    """Which bulletins show a section."""

    EVERY_AREA = "every area"
    NATIONAL_ONLY = "England and Wales only"
    REGIONS_ONLY = "regional bulletins only"


@dataclass(frozen=True)
class SectionSpec:
    """One chart section: identity, words, inputs, audience and builder."""

    chart: str
    heading: str
    coverage: str
    tables: tuple[str, ...]
    build: Callable[[Inputs], ChartResult]
    shown: Shown = Shown.EVERY_AREA
    national_context: bool = False
    """Shown in a regional bulletin as England and Wales context (the same in every one)."""
    every_region: bool = False
    """Reads every region's rows of its tables, not only the bulletin's area and England and
    Wales (a chart placing the region among all twelve)."""

    def shown_in(self, area: str) -> bool:
        if self.shown is Shown.REGIONS_ONLY:
            return area != NATIONAL
        return self.shown is Shown.EVERY_AREA or area == NATIONAL


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "safety_trend",
        "Keeping people safe over time",
        "Years {start} to {end}.",
        ("kq_trend", "unification"),
        lambda i: charts.safety_trend(
            i.tables["kq_trend"],
            i.scope,
            synthetic=i.synthetic,
            years=i.years,
            unification=i.tables["unification"],
        ),
    ),
    SectionSpec(
        "region_among_twelve",
        "Among the twelve regions",
        "The latest inspection programme with regional figures; every region's published figure.",
        ("kq_trend",),
        lambda i: standing.region_among_twelve(i.tables["kq_trend"], i.scope, i.synthetic),
        shown=Shown.REGIONS_ONLY,
        every_region=True,
    ),
    SectionSpec(
        "unification",
        "Before and after unification",
        "All inspections before and after the service was unified on 26 June 2021; the years "
        "chosen for this bulletin do not apply.",
        ("unification",),
        lambda i: charts.unification_dumbbell(i.tables["unification"], i.scope, i.synthetic),
    ),
    SectionSpec(
        "same_area",
        "Same areas: the last CRC and NPS round against the first unified inspections",
        "As HM Inspectorate of Probation's 2022-23 annual report compared them: each area's last "
        "CRC and NPS inspections against the first inspection of each of its PDUs since "
        "unification. An area is a region; England and Wales pools the matched regions.",
        ("same_area",),
        lambda i: charts.same_area_chart(i.tables["same_area"], i.scope, i.synthetic),
    ),
    SectionSpec(
        "same_area_needs",
        "Same areas: needs met",
        "The same areas and inspections; among people with each kind of need, the share whose "
        "need was addressed. For England and Wales, on its own inspection data, the annual report "
        "found the unified service 'less successful at meeting every kind of need'; the finding "
        "above says what this comparison can and cannot conclude here.",
        ("same_area_needs",),
        lambda i: charts.same_area_chart(
            i.tables["same_area_needs"], i.scope, i.synthetic, needs=True
        ),
    ),
    SectionSpec(
        "kq_profile",
        "Key-question profile",
        "The latest inspection programme.",
        ("kq_trend",),
        lambda i: charts.kq_profile(i.tables["kq_trend"], i.scope, synthetic=i.synthetic),
    ),
    SectionSpec(
        "subgroup_rosh",
        "By risk of serious harm",
        "Inspections after unification, England and Wales.",
        ("subgroups",),
        lambda i: charts.subgroup_chart(i.tables["subgroups"], "rosh", synthetic=i.synthetic),
        national_context=True,
    ),
    SectionSpec(
        "enquiries",
        "Domestic abuse and child safeguarding enquiries",
        "Every financial year.",
        ("enquiries",),
        lambda i: charts.enquiries_chart(i.tables["enquiries"], i.scope, synthetic=i.synthetic),
    ),
    SectionSpec(
        "cohort_profile",
        "A cohort of inspections",
        "The cohort named in the chart.",
        ("kq_cohort",),
        lambda i: charts.cohort_profile(
            i.tables["kq_cohort"], i.scope, i.cohort, synthetic=i.synthetic
        ),
    ),
    SectionSpec(
        "court_resettlement",
        "Court work and resettlement",
        "Each inspection programme.",
        ("kq_trend",),
        lambda i: casework_charts.court_and_resettlement(
            i.tables["kq_trend"], i.scope, i.synthetic
        ),
    ),
    SectionSpec(
        "oversight",
        "Management oversight",
        "Every financial year.",
        ("oversight",),
        lambda i: casework_charts.oversight_chart(i.tables["oversight"], i.scope, i.synthetic),
    ),
    SectionSpec(
        "published_ratings",
        "Published inspection ratings",
        "Every published inspection, by year of publication.",
        ("published_ratings",),
        lambda i: charts.published_ratings_chart(i.tables["published_ratings"]),
        shown=Shown.NATIONAL_ONLY,
    ),
    SectionSpec(
        "rating_movement",
        "Latest ratings and movement since the previous inspection",
        "Every rated unit's latest inspection against its previous one.",
        ("rating_movement",),
        lambda i: rating_charts.rating_movement_chart(i.tables["rating_movement"], i.scope),
    ),
    SectionSpec(
        "annexe_one",
        "The April 2025 national inspection",
        "Published figures.",
        (),
        lambda i: charts.annexe_one_profile(i.tables["published"]),
        shown=Shown.NATIONAL_ONLY,
    ),
    SectionSpec(
        "prompts",
        "Prompts under the key questions",
        "The latest programme.",
        ("prompts",),
        lambda i: casework_charts.prompts_chart(i.tables["prompts"], i.scope, i.synthetic),
        shown=Shown.NATIONAL_ONLY,
    ),
    SectionSpec(
        "practitioners",
        "Practitioner factors",
        "Inspections after unification.",
        ("practitioner_effects",),
        lambda i: casework_charts.practitioner_chart(i.tables["practitioner_effects"], i.synthetic),
        shown=Shown.NATIONAL_ONLY,
    ),
    SectionSpec(
        "rationale_themes",
        "What inspectors' reasons mention",
        "After unification.",
        ("rationale_themes",),
        lambda i: casework_charts.rationale_themes_chart(i.tables["rationale_themes"], i.synthetic),
        shown=Shown.NATIONAL_ONLY,
    ),
    SectionSpec(
        "regional_small_multiples",
        "Regions compared",
        "Years {start} to {end}.",
        ("kq_trend",),
        lambda i: charts.regional_small_multiples(
            i.tables["kq_trend"], synthetic=i.synthetic, years=i.years
        ),
        shown=Shown.NATIONAL_ONLY,
    ),
    SectionSpec(
        "funnel",
        "Probation delivery units compared",
        "The latest programme.",
        ("funnel",),
        lambda i: charts.funnel_chart(i.tables["funnel"], synthetic=i.synthetic),
        shown=Shown.NATIONAL_ONLY,
    ),
    SectionSpec(
        "dipp_bridge",
        "Core inspections and the dynamic inspection of public protection",
        "The region's latest core inspections before its dynamic inspection, and the dynamic "
        "inspection itself (2025-26). Not directly comparable: see the note under the chart.",
        ("dipp_bridge",),
        lambda i: bridge_chart.bridge_chart(i.tables["dipp_bridge"], i.scope, i.synthetic),
        shown=Shown.REGIONS_ONLY,
    ),
)
"""Every section a bulletin can have, in the order the notebook, HTML and PDF show them."""

OTHER_TABLES = ("regional_ratings",)
"""Release tables a bulletin reads outside the chart sections (its ratings section)."""


def for_area(area: str) -> list[SectionSpec]:
    """The sections a bulletin for `area` shows, in order."""
    return [spec for spec in SECTIONS if spec.shown_in(area)]


def tables_read_for_every_region() -> frozenset[str]:
    """Tables some section reads for all twelve regions: a regional bulletin loads every
    region's published rows of these (regions are published areas; nothing else is added)."""
    return frozenset(t for spec in SECTIONS if spec.every_region for t in spec.tables)


def tables_needed() -> tuple[str, ...]:
    """Every release table some section (or the ratings section) reads, without repeats."""
    names = [t for spec in SECTIONS for t in spec.tables]
    return tuple(dict.fromkeys([*names, *OTHER_TABLES]))
