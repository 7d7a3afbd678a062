"""Chart files: the five files of a chart set (PNG, SVG, Vega-Lite spec, plotted data, alt text).

Renders are deterministic (the font is registered, nothing variable is embedded), so the same
chart gives byte-identical files; a cache shared by a batch renders a chart that is the same in
every bulletin once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pipeline.bulletins.charts import ChartResult
from pipeline.bulletins.theme import register_font
from pipeline.stages.store import write_csv


def save_chart_set(
    result: ChartResult, folder: Path, ppi: int = 300, cache_dir: Path | None = None
) -> list[Path]:
    """Write <name>.png (300 pixels per inch at the chart's natural size), .svg, .vl.json,
    .csv and .alt.txt. The CSV is exactly the plotted data.

    The SVG is rendered once and the PNG rasterised from it (half the cost of a second render).
    With `cache_dir`, renders are shared by spec hash, so a chart that is the same in every
    regional bulletin (published ratings) is drawn once per batch.
    """
    register_font()
    folder.mkdir(parents=True, exist_ok=True)
    spec = result.chart.to_dict()
    spec_text = json.dumps(spec, indent=1, sort_keys=True, default=_json_default) + "\n"
    stem = folder / result.name
    paths = [
        stem.with_suffix(".png"),
        stem.with_suffix(".svg"),
        folder / f"{result.name}.vl.json",
        stem.with_suffix(".csv"),
        folder / f"{result.name}.alt.txt",
    ]
    svg, png = _render(spec, spec_text, ppi, cache_dir)
    paths[0].write_bytes(png)
    paths[1].write_text(svg)
    paths[2].write_text(spec_text)
    write_csv(result.data, paths[3])
    paths[4].write_text(result.alt_text + "\n")
    return paths


def _render(
    spec: dict[str, Any], spec_text: str, ppi: int, cache_dir: Path | None
) -> tuple[str, bytes]:
    """SVG and PNG of a spec, from the batch's cache when another bulletin drew it already."""
    import vl_convert

    if cache_dir is None:
        svg = vl_convert.vegalite_to_svg(spec)
        return svg, vl_convert.svg_to_png(svg, ppi=ppi)
    digest = hashlib.sha256(f"{ppi}|{spec_text}".encode()).hexdigest()[:24]
    svg_path, png_path = cache_dir / f"{digest}.svg", cache_dir / f"{digest}.png"
    if svg_path.exists() and png_path.exists():
        return svg_path.read_text(), png_path.read_bytes()
    svg = vl_convert.vegalite_to_svg(spec)
    png = vl_convert.svg_to_png(svg, ppi=ppi)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for target, content in ((svg_path, svg.encode()), (png_path, png)):
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, target)  # atomic: another worker may write the same file
    return svg, png


def _json_default(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value))
