"""The house chart style: Analysis Function palette, an Altair theme, the chart font, captions.

Style follows the Analysis Function's guidance for charts (and its afcharts palette): a
left-aligned title that states the finding, a subtitle, the source as a caption, light horizontal
gridlines only, no axis titles where the title says it, at most six colours from the
colour-blind-safe categorical palette, focus colour against grey for comparisons.
"""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path
from typing import Any, cast

import altair as alt

PALETTE = ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"]
FOCUS, CONTEXT = "#12436D", "#757575"
"""The area in focus, and England and Wales as context: a mid grey at 4.6:1 against white (the
light grey used before, #BFBFBF, was 1.8:1, below the 3:1 that graphics need, WCAG 1.4.11)."""
GRID, AXIS_GREY = "#D9D9D9", "#595959"
FONT = "Source Sans Pro"
WIDTH = 560  # fits a bulletin column at print resolution
RATING_COLOURS = {
    "Outstanding": "#12436D",
    "Good": "#28A197",
    "Requires improvement": "#F46A25",
    "Inadequate": "#801650",
}
"""Ratings, best first, from the Analysis Function palette: dark blue and turquoise for the two
positive ratings, orange and dark pink for the two negative ones. Every colour is at least 3:1
against white (10.3, 3.2, 3.0, 9.8; WCAG 1.4.11) and neighbours differ in hue and lightness, so
adjacent ratings stay apart, also under red-green colour-vision deficiency (blue-green against
orange-pink). The one-hue light-to-dark scale used before put Requires improvement (#6BACE6,
2.4:1) and Inadequate (#A8CCEE, 1.7:1) in adjacent light blues."""


def theme() -> dict[str, Any]:
    """The house theme as a Vega-Lite config."""
    return {
        "config": {
            "font": FONT,
            "background": "white",
            # No ARIA roles inside the SVG: Vega marks each mark container as a graphic of its
            # own with no name (axe: svg-img-alt), while the chart is one image whose text
            # alternative is the bulletin's alt text (on the root <svg>, see document.py).
            "aria": False,
            "view": {"stroke": None, "continuousWidth": WIDTH, "continuousHeight": 300},
            "title": {
                "anchor": "start",
                "fontSize": 17,
                "fontWeight": 600,
                "color": "#0B0C0C",
                "subtitleFontSize": 13,
                "subtitleColor": AXIS_GREY,
                "offset": 12,
                "subtitlePadding": 6,
            },
            "axis": {
                "labelColor": AXIS_GREY,
                "titleColor": AXIS_GREY,
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "domainColor": AXIS_GREY,
                "tickColor": AXIS_GREY,
                "gridColor": GRID,
                "labelFont": FONT,
                "titleFont": FONT,
            },
            "axisX": {"grid": False},
            "axisY": {"grid": True, "domain": False, "ticks": False},
            "legend": {
                "orient": "top",
                "direction": "horizontal",
                "title": None,
                "labelFontSize": 12,
                "labelColor": "#0B0C0C",
                "symbolSize": 120,
            },
            "range": {"category": PALETTE},
            "line": {"strokeWidth": 2.5},
            "point": {"size": 60, "filled": True},
            "header": {
                "labelFont": FONT,
                "titleFont": FONT,
                "labelFontSize": 13,
                "labelColor": "#0B0C0C",
                "labelAnchor": "start",
                "title": None,
            },
        }
    }


@cache
def use_theme() -> str:
    """Register and enable the theme and the chart font (once per process)."""
    register_font()
    alt.theme.register("probation", enable=True)(_theme_config)
    return "probation"


@cache
def register_font() -> Path | None:
    """Register Source Sans Pro (installed with the package, SIL OFL) with vl-convert, so PNG
    and SVG renders use the same font on every machine."""
    import vl_convert

    try:
        import font_source_sans_pro
    except ImportError:  # pragma: no cover - installed with the project
        return None
    folder = Path(font_source_sans_pro.__file__).parent / "files"
    vl_convert.register_font_directory(str(folder))
    return folder


def _theme_config() -> alt.theme.ThemeConfig:
    return cast(alt.theme.ThemeConfig, theme())


def caption(source: str, synthetic: bool) -> str:
    """Source line; synthetic data never claims a real source."""
    if synthetic:
        return (
            "Source: a synthetic sample made to resemble inspection data; no real cases. "
            "Illustrative only, not official statistics."
        )
    return f"Source: {source}."


TITLE_CHARS = 60
"""Characters of a 17 pt semibold title that fit the chart's width (560 px): a longer title is
wrapped onto more lines, never cut ("...in England and Wal")."""


def title(text: str, subtitle: str | list[str]) -> alt.TitleParams:
    """A chart title, wrapped to the chart's width, with its subtitle lines."""
    lines = textwrap.wrap(text, TITLE_CHARS)
    return alt.TitleParams(text=lines if len(lines) > 1 else text, subtitle=subtitle)


CASE_SOURCE = "HM Inspectorate of Probation case assessments"


def case_title(text: str, description: str | list[str], synthetic: bool) -> alt.TitleParams:
    """Title, a line (or lines) of description and the source caption of a case-data chart."""
    lines = [description] if isinstance(description, str) else list(description)
    return title(text, [*lines, caption(CASE_SOURCE, synthetic)])


def wrapped_labels(labels: list[str], width: int = 40, **axis: Any) -> alt.Axis:
    """An axis whose long category labels are wrapped onto several lines, never cut with
    "…": Vega truncates a label longer than `labelLimit`, so each label longer than `width`
    characters is drawn as a list of lines (a Vega text array) and the limit is lifted. The
    data keep the full label; only the drawing wraps it."""
    import json
    import textwrap

    wrapped = {label: textwrap.wrap(label, width) for label in dict.fromkeys(labels)}
    long = {label: lines for label, lines in wrapped.items() if len(lines) > 1}
    lines = " : ".join(
        [f"datum.label === {json.dumps(label)} ? {json.dumps(v)}" for label, v in long.items()]
        + ["datum.label"]
    )
    # a block of n lines is drawn from its first line down: move it up by half its extra height
    # so it stays centred on its tick
    offset = " : ".join(
        [
            f"datum.label === {json.dumps(label)} ? {-(len(v) - 1) * LABEL_LINE_HEIGHT / 2}"
            for label, v in long.items()
        ]
        + ["0"]
    )
    return alt.Axis(
        labelExpr=lines,
        labelLimit=0,
        labelLineHeight=LABEL_LINE_HEIGHT,
        labelOffset=alt.ExprRef(offset),
        **axis,
    )


LABEL_LINE_HEIGHT = 14


def label_lines(labels: list[str], width: int) -> int:
    """How many lines the labels take when wrapped at `width` characters (for a chart's
    height: each category needs room for its wrapped label)."""
    import textwrap

    return sum(max(1, len(textwrap.wrap(label, width))) for label in dict.fromkeys(labels))
