"""Chart files: a chart set is the SVG, the Vega-Lite spec, the plotted data and the alt text,
plus a 300-ppi PNG when one is asked for (`probation bulletins --png`).

The HTML and PDF bulletins draw the SVGs, so the PNG (the costliest file: rasterising at print
resolution took about as long as rendering the SVG) is written only for analysts who paste charts
into documents.

Renders are deterministic (the font is registered, nothing variable is embedded), so the same
chart gives byte-identical files; a cache shared by a batch renders a chart that is the same in
every bulletin once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.bulletins.charts import ChartResult
from pipeline.bulletins.theme import register_font
from pipeline.stages.store import write_csv

PRINT_PPI = 300
"""Pixels per inch of a chart's PNG at its natural size, when a PNG is asked for."""


def save_chart_set(
    result: ChartResult, folder: Path, png_ppi: int | None = None, cache_dir: Path | None = None
) -> list[Path]:
    """Write <name>.svg, .vl.json, .csv and .alt.txt, and with `png_ppi` (e.g. `PRINT_PPI`)
    <name>.png first. The CSV is exactly the plotted data.

    The SVG is rendered once and any PNG rasterised from it (half the cost of a second render).
    With `cache_dir`, renders are shared by spec hash, so a chart that is the same in every
    regional bulletin (published ratings) is drawn once per batch.
    """
    register_font()
    folder.mkdir(parents=True, exist_ok=True)
    spec = result.chart.to_dict()
    spec_text = json.dumps(spec, indent=1, sort_keys=True, default=_json_default) + "\n"
    stem = folder / result.name
    paths = [
        stem.with_suffix(".svg"),
        folder / f"{result.name}.vl.json",
        stem.with_suffix(".csv"),
        folder / f"{result.name}.alt.txt",
    ]
    svg = _cached(cache_dir, f"svg|{spec_text}", ".svg", lambda: _svg(spec))
    paths[0].write_bytes(svg)
    paths[1].write_text(spec_text)
    write_csv(result.data, paths[2])
    paths[3].write_text(result.alt_text + "\n")
    if png_ppi is not None:
        png = _cached(cache_dir, f"{png_ppi}|{spec_text}", ".png", lambda: _png(svg, png_ppi))
        paths.insert(0, stem.with_suffix(".png"))
        paths[0].write_bytes(png)
    return paths


def _svg(spec: dict[str, Any]) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_svg(spec).encode()


def _png(svg: bytes, ppi: int) -> bytes:
    import vl_convert

    return bytes(vl_convert.svg_to_png(svg.decode(), ppi=ppi))


def _cached(cache_dir: Path | None, key: str, suffix: str, render: Callable[[], bytes]) -> bytes:
    """A render, from the batch's cache when another bulletin drew the same chart already."""
    if cache_dir is None:
        return render()
    path = cache_dir / (hashlib.sha256(key.encode()).hexdigest()[:24] + suffix)
    if path.exists():
        return path.read_bytes()
    content = render()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)  # atomic: another worker may write the same file
    return content


def _json_default(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value))
