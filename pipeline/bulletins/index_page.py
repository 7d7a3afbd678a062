"""The index page of a batch of bulletins: one link per area, the date and status from the
publication settings, and a small multiple of where each region stands on keeping people safe.

Written by `probation bulletins` into the output folder (figures/index.html) after the batch,
from the same release the bulletins were built from; it lists every area whose bulletin is in
the folder, so a batch of two regions keeps the links to the others. Links are relative, so the
folder can be moved or published as it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline import refdata
from pipeline.bulletins import bulletin, export, standing
from pipeline.bulletins.document import TEMPLATES, _scoped_svg
from pipeline.bulletins.theme import register_font
from pipeline.domain import NATIONAL

INDEX_NAME = "index.html"
CHART_FOLDER = "index-charts"
"""Where the index page's chart set (PNG, SVG, spec, data, alt text) is written."""


@dataclass(frozen=True)
class AreaLink:
    """One area's bulletin: its name and the relative links to its HTML and PDF."""

    area: str
    html: str
    pdf: str | None


def area_links(out_dir: Path) -> list[AreaLink]:
    """Every area (the 12 regions, then England and Wales) with a bulletin in `out_dir`."""
    links = []
    for area in [*refdata.region_names(), NATIONAL]:
        slug = refdata.region_slug(area)
        if (out_dir / slug / "bulletin.html").is_file():
            pdf = f"{slug}/bulletin.pdf" if (out_dir / slug / "bulletin.pdf").is_file() else None
            links.append(AreaLink(area, f"{slug}/bulletin.html", pdf))
    return links


def write_index(data_dir: Path, out_dir: Path) -> Path:
    """Write the index page (and its chart files) into `out_dir`; returns the page's path."""
    import jinja2

    tables = bulletin.load_tables(Path(data_dir), None)
    trend = tables["kq_trend"]
    synthetic = bool(trend["synthetic"].any()) if trend.height else False
    result = standing.where_regions_stand(trend, synthetic)
    written = export.save_chart_set(result, out_dir / CHART_FOLDER)
    svg_path = next(path for path in written if path.suffix == ".svg")
    meta = refdata.publication()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=True
    )
    page = env.get_template("index.html.j2").render(
        fonts=_font_faces(),
        title="Probation casework quality: bulletins by area",
        publisher=meta.organisation,
        date_line=meta.date_line(),
        draft=meta.draft,
        status=(
            "Synthetic sample: illustrative only, not official statistics. No real cases."
            if synthetic
            else "Research analysis of inspection case data; not official statistics."
        ),
        links=area_links(out_dir),
        chart_svg=_scoped_svg(svg_path.read_text(), "standing"),
        chart_alt=result.alt_text,
        finding=result.finding,
        table=_table_rows(result.data),
        release=Path(data_dir).name,
        levels_note=(
            f"[u]: a level on {refdata.settings().levels_only_max_inspections} inspections or "
            "fewer, shown without an interval."
        ),
    )
    target = out_dir / INDEX_NAME
    tmp = target.with_name(f"{INDEX_NAME}.{os.getpid()}.tmp")
    tmp.write_text(page)
    os.replace(tmp, target)
    return target


def _font_faces() -> dict[str, str]:
    """The chart font, base64, for @font-face: the inlined chart's text uses it, as in the
    bulletins, whatever fonts the reader's machine has."""
    import base64

    fonts = register_font()
    if fonts is None:
        return {}
    return {
        weight: base64.b64encode((fonts / name).read_bytes()).decode()
        for weight, name in (
            ("regular", "SourceSansPro-Regular.ttf"),
            ("bold", "SourceSansPro-Bold.ttf"),
        )
    }


def _table_rows(data: pl.DataFrame) -> list[tuple[str, str, str]]:
    """Region, figure and interval as the reader's table shows them ([u]: a level only)."""
    rows = []
    for r in data.sort("region").iter_rows(named=True):
        if r["levels_only"] or r["interval_low"] is None:
            interval = "[u]"
        else:
            interval = f"{r['interval_low']:.1f} to {r['interval_high']:.1f}"
        rows.append((r["region"], f"{r['pct']:.1f}", interval))
    return rows
