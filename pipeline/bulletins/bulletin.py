"""Bulletins: what the notebooks call. Loads only the precomputed tables (and rows) a region
needs, builds its charts and the sentences around them, and saves the chart packs.

Notebooks stay thin: every number they show is computed here, from the publication tables that
a release holds (`probation release`), so the logic is tested once (tests/e2e/test_bulletin.py).
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import refdata
from pipeline.bulletins import export, findings, sections
from pipeline.bulletins.charts import ChartResult
from pipeline.config import FIGURES_DIR, RELEASES_DIR
from pipeline.domain import NATIONAL
from pipeline.release import MANIFEST_NAME, latest_release

TABLES_NEEDED = sections.tables_needed()
"""The release tables a bulletin loads: those its sections declare (`sections.py`)."""
DEFAULT_COHORT = "bulletin_2025"
"""The cohort a bulletin shows unless told otherwise: inspections published February 2022 to
August 2023, the March 2025 research bulletin's cohort (reference/cohorts.csv)."""


class BulletinInputError(ValueError):
    """A bulletin parameter is wrong (unknown region, missing tables, bad period)."""


PARAMETERS: dict[str, str] = {
    "region": "one of the 12 regions, or England and Wales",
    "period_start": "first year of fieldwork the trend charts show",
    "period_end": "last year of fieldwork the trend charts show",
    "data_dir": "release folder to build from; empty means the latest release in data/releases",
    "output_dir": "folder for the chart files and the bulletin; empty means figures/<region>",
    "synthetic_label": "'auto' labels synthetic data as such; any other text forces the label",
    "cohort": "a cohort name from reference/cohorts.csv",
    "publication_date": "date printed on the bulletin, YYYY-MM-DD; empty: the settings' date",
    "png": "also write each chart as a 300-ppi PNG (the HTML and PDF use the SVGs)",
}
"""The parameters every bulletin notebook declares (its parameters cell lists the same names,
checked by tests/e2e/test_bulletin.py)."""
IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})


def refuse_unknown_parameters(namespace: dict[str, Any]) -> None:
    """Stop the notebook if a name was set that the bulletin does not declare: papermill only
    warns about unknown parameters, so `-p regoin Wales` would otherwise build the default
    region without a word. Call it first, right after the parameters cell."""
    import types

    unknown = sorted(
        name
        for name, value in namespace.items()
        if not name.startswith("_")
        and name not in PARAMETERS
        and name not in IPYTHON_NAMES
        and not isinstance(value, types.ModuleType | types.FunctionType | type)
    )
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(PARAMETERS), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise BulletinInputError(
            "unknown parameter(s): "
            + ", ".join(hints)
            + ". This bulletin takes: "
            + ", ".join(PARAMETERS)
        )


def _year(value: object, name: str) -> int:
    """A period bound as a year: 2021, '2021' or '2021-06-26' all mean 2021."""
    if isinstance(value, int):
        return value
    if isinstance(value, dt.date):
        return value.year
    text = str(value).strip()
    try:
        return int(text[:4]) if len(text) in (4, 7, 10) else int(text)
    except ValueError:
        raise BulletinInputError(f"{name} must be a year or a date, got {value!r}") from None


def resolve_region(region: str) -> str:
    """The canonical region name for `region` (aliases allowed); 'England and Wales' passes."""
    if refdata.normalise_label(region) in ("england and wales", "national"):
        return NATIONAL
    canonical = refdata.region_aliases().get(refdata.normalise_label(region))
    if canonical is None:
        raise BulletinInputError(
            f"{region!r} is not one of the 12 regions: " + ", ".join(refdata.region_names())
        )
    return canonical


def check_release(data_dir: Path) -> None:
    """A bulletin is a publication: it is built from a release only, never from the team's
    unsuppressed analysis tables."""
    if not (Path(data_dir) / MANIFEST_NAME).is_file():
        raise BulletinInputError(
            f"{data_dir} is not a release: bulletins are built from a release only (the "
            "analysis run's tables are unsuppressed and not for publication). Run `probation "
            "release`, then build from data/releases/<release-id> (the default is the latest)."
        )


def latest_release_dir(releases_dir: Path = RELEASES_DIR) -> Path:
    """The latest release's folder, or an error saying how to make one."""
    latest = latest_release(releases_dir)
    if latest is None:
        raise BulletinInputError(
            f"no release in {releases_dir}: run `probation run`, then `probation release`"
        )
    return releases_dir / latest


def load_tables(data_dir: Path, scopes: list[str] | None = None) -> dict[str, pl.DataFrame]:
    """Read the release tables a bulletin needs, keeping only the scopes asked for."""
    check_release(data_dir)
    folder = Path(data_dir) / "tables"
    missing = [n for n in sections.tables_needed() if not (folder / f"{n}.parquet").exists()]
    if missing:
        raise BulletinInputError(f"tables not found in the release: {', '.join(missing)}")
    tables = {}
    every_region = sections.tables_read_for_every_region()
    for name in sections.tables_needed():
        scan = pl.scan_parquet(folder / f"{name}.parquet", glob=False)
        if scopes and "scope" in scan.collect_schema().names():
            wanted = [*scopes, *refdata.region_names()] if name in every_region else scopes
            scan = scan.filter(pl.col("scope").is_in(wanted))
        tables[name] = scan.collect()
    published = Path(data_dir) / "published.parquet"
    tables["published"] = (
        pl.read_parquet(published, glob=False) if published.exists() else pl.DataFrame()
    )
    return tables


def _check_period(trend: pl.DataFrame, region: str, start: int, end: int) -> None:
    """Refuse a period in which the region has no inspection data, naming the years it has."""
    years = (
        trend.filter(pl.col("scope") == region, pl.col("period_type") == "calendar_year")
        .get_column("period")
        .cast(pl.Int64, strict=False)
        .drop_nulls()
        .unique()
        .sort()
    )
    if not years.is_between(start, end).any():
        held = f"{years.to_list()[0]} to {years.to_list()[-1]}" if years.len() else "no years"
        raise BulletinInputError(
            f"no inspection data for {region} between {start} and {end}; the data cover {held}"
        )


@dataclass(frozen=True)
class SavedChart:
    """A saved chart as a notebook output: the SVG (and the PNG, when one was written) in one
    display bundle, with its alt text as the plain-text form. An untrusted notebook, where
    SVG is blocked, shows the alt text unless a PNG was asked for."""

    png: Path | None
    svg: Path
    alt_text: str

    def _repr_mimebundle_(self, **_: object) -> tuple[dict[str, Any], dict[str, Any]]:
        import base64
        import re

        svg = self.svg.read_text()
        width = re.search(r'width="([0-9.]+)"', svg)
        data = {"image/svg+xml": svg, "text/plain": self.alt_text}
        if self.png is None:
            return data, {}
        data["image/png"] = base64.b64encode(self.png.read_bytes()).decode()
        # the PNG is at print resolution: show it at the chart's natural size
        metadata = {"image/png": {"width": int(float(width.group(1)))}} if width else {}
        return data, metadata


@dataclass
class Bulletin:
    """A region's (or England and Wales') bulletin content."""

    region: str
    period_start: int
    period_end: int
    tables: dict[str, pl.DataFrame]
    synthetic_label: str = "auto"
    output_dir: Path | None = None
    cohort: str = DEFAULT_COHORT
    png: bool = False
    """Also write a 300-ppi PNG of each chart (`probation bulletins --png`)."""
    results: list[ChartResult] = field(default_factory=list)
    saved: dict[str, list[Path]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        data_dir: str | Path,
        region: str,
        period_start: object = 2018,
        period_end: object = 2026,
        synthetic_label: str = "auto",
        output_dir: str | Path | None = None,
        cohort: str = DEFAULT_COHORT,
        png: bool = False,
    ) -> Bulletin:
        """Validate parameters and load the region's rows of the publication tables."""
        canonical = resolve_region(region)
        start, end = _year(period_start, "period_start"), _year(period_end, "period_end")
        if start > end:
            raise BulletinInputError(f"period_start {start} is after period_end {end}")
        # the national overview shows every region
        scopes = None if canonical == NATIONAL else [canonical, NATIONAL]
        tables = load_tables(Path(data_dir), scopes)
        known = sorted(set(tables["kq_cohort"]["cohort"]))
        if cohort not in known:
            raise BulletinInputError(
                f"cohort {cohort!r} is not in the tables; known cohorts: {', '.join(known)}"
            )
        _check_period(tables["kq_trend"], canonical, start, end)
        if canonical != NATIONAL:
            rated = tables["regional_ratings"]
            tables["regional_ratings"] = rated.filter(pl.col("region") == canonical)
        out = Path(output_dir) if output_dir else None
        return cls(canonical, start, end, tables, synthetic_label, out, cohort, png)

    @property
    def synthetic(self) -> bool:
        """True if the case-level figures come from the synthetic sample (or told so)."""
        if self.synthetic_label not in ("auto", ""):
            return True
        trend = self.tables["kq_trend"]
        return bool(trend["synthetic"].any()) if trend.height else False

    @property
    def slug(self) -> str:
        return refdata.region_slug(self.region)

    def headline(self) -> str:
        """Two or three sentences with the headline numbers, computed from the tables."""
        return findings.headline(self.tables["unification"], self.region, self.synthetic)[0]

    def headline_claims(self) -> list[findings.Claim]:
        """What the headline claims, for checking against the table it quotes."""
        return findings.headline(self.tables["unification"], self.region, self.synthetic)[1]

    def headline_markdown(self) -> str:
        """The headline, HTML-escaped for notebook Markdown."""
        return html.escape(self.headline())

    def sections(self) -> list[sections.SectionSpec]:
        """The chart sections this bulletin shows, in order (the section registry)."""
        return sections.for_area(self.region)

    def chart_set(self) -> list[ChartResult]:
        """Every chart of the bulletin, built once and kept."""
        if not self.results:
            inputs = sections.Inputs(
                self.tables,
                self.region,
                self.synthetic,
                (self.period_start, self.period_end),
                self.cohort,
            )
            self.results = [spec.build(inputs) for spec in self.sections()]
        return self.results

    def chart(self, name: str) -> ChartResult:
        """One chart of the set by name."""
        for result in self.chart_set():
            if result.name == name:
                return result
        raise KeyError(name)

    def save_chart(self, name: str) -> list[Path]:
        """Write one chart set into `output_dir` (once; later calls reuse the files)."""
        if self.output_dir is None:
            raise BulletinInputError("no output_dir: pass one to Bulletin.load")
        if name not in self.saved:
            cache = self.output_dir.parent / ".chart-cache"
            ppi = export.PRINT_PPI if self.png else None
            self.saved[name] = export.save_chart_set(
                self.chart(name), self.output_dir, ppi, cache_dir=cache
            )
        return self.saved[name]

    def chart_file(self, name: str, suffix: str) -> Path | None:
        """One saved file of a chart set by suffix ('.svg', '.png'...); None if not written."""
        return next((p for p in self.save_chart(name) if p.name.endswith(suffix)), None)

    def show(self, name: str) -> object:
        """What a notebook cell displays for a chart: the saved SVG (with the PNG when one is
        written: JupyterLab shows it in an untrusted notebook, where SVG is blocked; static, so
        no JavaScript or network) when there is an output folder, else the live chart."""
        if self.output_dir is None:
            return self.chart(name).chart
        svg = self.chart_file(name, ".svg")
        assert svg is not None  # every chart set has its SVG
        return SavedChart(self.chart_file(name, ".png"), svg, self.chart(name).alt_text)

    def save(self, output_dir: str | Path | None = None) -> list[Path]:
        """Write every chart set (SVG, spec, CSV, alt text; PNG if asked); returns the files."""
        if output_dir is not None:
            self.output_dir = Path(output_dir)
        written = []
        for result in self.chart_set():
            written += self.save_chart(result.name)
        return written


RATINGS_NOTE = (
    "Derived by the configured rule (band of the lowest key question, pooled over the round's "
    "PDU cases), which no published source states: an illustration of the method, not a rating."
)


def certainty_note() -> str:
    """How the 'how sure' column reads, with its bands quoted from certainty_words.csv."""
    bands = "; ".join(
        f"{words}: the rating stays in its band with at least {floor:.0%} chance"
        for floor, words in refdata.certainty_words()
        if floor > 0
    )
    return (
        "'How sure' is the chance that drawing the cases again from the same inspections would "
        f"move the rating into another band ({bands})."
    )


def regional_ratings_table(report: Bulletin) -> pl.DataFrame:
    """The region's derived domain-two ratings per regional round, beside the published
    overall rating, with reader headers (empty when the region had no round in the data)."""
    rows = []
    for r in report.tables["regional_ratings"].iter_rows(named=True):
        lowest = (
            f"{findings.key_question_label(r['rule_key_question'])} ({r['rule_pct']:.0f}%)"
            if r["rule_key_question"] and r["rule_pct"] is not None
            else ""
        )
        rows.append(
            {
                "Round (PDU fieldwork)": f"{r['round_fieldwork_start']:%b %Y} to "
                f"{r['round_fieldwork_end']:%b %Y}",
                "Standard": r["standard_label"],
                "Derived rating": r["rating"] or f"none: {r['reason']}",
                "Lowest key question": lowest,
                "How sure is the derived rating": certainty_words(r),
                "Published overall rating (real)": r["published_overall_rating"]
                or "not in the compilation",
            }
        )
    return pl.DataFrame(rows, schema=dict.fromkeys(RATINGS_COLUMNS, pl.String))


RATINGS_COLUMNS = (
    "Round (PDU fieldwork)",
    "Standard",
    "Derived rating",
    "Lowest key question",
    "How sure is the derived rating",
    "Published overall rating (real)",
)


def certainty_words(row: dict[str, Any]) -> str:
    """A derived rating's certainty in plain words: the chance that another sample of cases
    from the same inspections would put it in a different band, and its reading (from
    reference/certainty_words.csv, carried in the release's `rating_certainty`)."""
    chance, words = row.get("rating_chance_differs_pct"), row.get("rating_certainty")
    if row.get("rating") is None or chance is None or not words:
        return "no rating to assess"
    shown = "under 1%" if chance < 0.5 else f"{chance:.0f}%"
    odds = f"the chance that another sample of cases would give a different rating is {shown}"
    if words == "could go either way":
        return f"Could go either way: {odds}"
    return f"{str(words).capitalize()} to stay {row['rating']}: {odds}"


def regional_ratings_markdown(report: Bulletin) -> str:
    """The regional ratings table as Markdown (or a sentence when there is no round)."""
    table = regional_ratings_table(report)
    if table.height == 0:
        return f"No regional round of PDU inspections in {html.escape(report.region)} in the data."
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * table.width]
    lines += ["| " + " | ".join(row) + " |" for row in table.rows()]
    return (
        html.escape("\n".join(lines), quote=False) + "\n\n" + RATINGS_NOTE + " " + certainty_note()
    )


def national_ratings_markdown(report: Bulletin) -> str:
    """The April 2025 national inspection's published standard ratings (real data)."""
    published = report.tables["published"]
    if published.height == 0:
        return "No published figures were loaded."
    rated = published.filter(
        pl.col("level").cast(pl.String) == "national",
        pl.col("rating").is_not_null(),
        pl.col("source_url").str.contains("national-inspection-april-2025"),
    )
    lines = ["| Standard | Published rating |", "|---|---|"]
    ordered = rated.sort(pl.col("standard") == "overall", "source_row")
    for r in ordered.iter_rows(named=True):
        label = findings.standard_label(str(r["standard"]))
        lines.append(f"| {label} | {r['rating']} |")
    return "\n".join(lines) + (
        "\n\nRated by inspectors' judgement; the case inspection informed the judgements "
        "but did not contribute directly to the ratings (HM Inspectorate of Probation, "
        "National Inspection, April 2025)."
    )


def finding_markdown(result: ChartResult) -> str:
    """A chart's computed sentence, escaped for notebook Markdown."""
    return f"**{html.escape(result.finding)}**"


def show_sections(report: Bulletin) -> None:
    """Display every chart section of the bulletin in a notebook, in registry order: heading,
    computed finding, chart. The notebooks call this rather than one cell per chart, so a
    section added to the registry appears in them as in the HTML and PDF."""
    from IPython.display import Markdown, display

    regional = report.region != NATIONAL
    for spec in report.sections():
        context = " (England and Wales context)" if regional and spec.national_context else ""
        display(Markdown(f"## {html.escape(spec.heading)}{context}"))
        display(Markdown(finding_markdown(report.chart(spec.chart))))
        display(report.show(spec.chart))


def publication_day(text: str | None) -> dt.date | None:
    """The date printed on a bulletin: `text` as YYYY-MM-DD, or None when empty (the
    publication settings' date then applies, so bulletin, workbook and release agree)."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise BulletinInputError(
            f"publication_date must be a date as YYYY-MM-DD, got {text!r}"
        ) from None


def resolve_dirs(
    data_dir: str | Path | None, output_dir: str | Path | None, region: str
) -> tuple[Path, Path]:
    """Parameter folders made absolute; empty means the project defaults (the latest release
    and figures/<region-slug>/), so a notebook runs the same from any working directory."""
    data = Path(data_dir).expanduser().resolve() if data_dir else latest_release_dir()
    slug = refdata.region_slug(resolve_region(region))
    out = Path(output_dir).expanduser().resolve() if output_dir else FIGURES_DIR / slug
    return data, out


def summary_markdown(report: Bulletin) -> str:
    """The bulletin's opening: region, period and headline, escaped for Markdown."""
    label = (
        " **Synthetic sample: illustrative, not official statistics.**" if report.synthetic else ""
    )
    return (
        f"## {html.escape(report.region)}, {report.period_start} to {report.period_end}"
        f"\n\n{report.headline_markdown()}{label}"
    )
