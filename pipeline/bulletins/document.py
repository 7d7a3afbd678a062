"""The bulletin as a document: an HTML page and an A4 PDF built from a bulletin's content.

A notebook is where a researcher explores; a reader needs a publication. The document is built
from the same `Bulletin` the notebook shows (the charts, their computed findings and alt text,
and the data each chart plots), not from an export of the notebook, so it carries a title
block, key findings, contents, one section per chart with an accessible data table, a quality
and methods section generated from the settings, sources, the licence and a contact.

HTML: one self-contained file (fonts and charts embedded, no JavaScript, no network), with a
print stylesheet for A4. PDF: Typst (installed from the package index as a wheel with its own
compiler, so no system packages or browser), with the same font and the same SVG charts.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline import refdata
from pipeline.bulletins.bulletin import (
    RATINGS_NOTE,
    Bulletin,
    certainty_note,
    regional_ratings_table,
)
from pipeline.bulletins.sections import SectionSpec
from pipeline.bulletins.theme import register_font
from pipeline.domain import NATIONAL
from pipeline.outputs.labels import COLUMN_LABELS, for_readers

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Section:
    anchor: str
    heading: str
    finding: str
    coverage: str
    context: str
    alt_text: str
    svg: str
    svg_path: str
    table: pl.DataFrame


@dataclass(frozen=True)
class Document:
    title: str
    area: str
    period: str
    published: str
    status: str
    synthetic: bool
    key_findings: list[str]
    sections: list[Section]
    ratings: pl.DataFrame
    ratings_note: str
    quality: list[str]
    sources: list[str]
    licence: str
    contact: str
    publisher: str
    draft: bool


def build(report: Bulletin, published: dt.date | None = None) -> Document:
    """The document for a bulletin (charts must have been saved: the SVGs are embedded)."""
    report.save()
    meta = refdata.publication()
    regional = report.region != NATIONAL
    sections = [_section(report, spec, regional) for spec in report.sections()]
    title = (
        "Probation casework quality in England and Wales"
        if not regional
        else f"Probation casework quality in {report.region}"
    )
    status = (
        "Synthetic sample: illustrative only, not official statistics. No real cases."
        if report.synthetic
        else "Research analysis of inspection case data; not official statistics."
    )
    return Document(
        title=title,
        area=report.region,
        period=f"{report.period_start} to {report.period_end}",
        published=meta.date_line(published),
        status=status,
        synthetic=report.synthetic,
        key_findings=key_findings(report),
        sections=sections,
        ratings=regional_ratings_table(report) if regional else pl.DataFrame(),
        ratings_note=f"{RATINGS_NOTE} {certainty_note()}",
        quality=_quality(report),
        sources=[meta.source(report.synthetic), meta.published_source],
        licence=meta.licence,
        contact=(
            f"Questions about this bulletin: {meta.contact_team}, {meta.contact_email}. "
            f"Responsible statistician: {meta.statistician}."
        ),
        publisher=meta.organisation,
        draft=meta.draft,
    )


def _section(report: Bulletin, spec: SectionSpec, regional: bool) -> Section:
    result = report.chart(spec.chart)
    svg_path = report.chart_file(spec.chart, ".svg")
    assert svg_path is not None  # every chart set has its SVG
    context = (
        "England and Wales context: this chart is the same in every bulletin."
        if (regional and spec.national_context)
        else ""
    )
    return Section(
        anchor=spec.chart.replace("_", "-"),
        heading=spec.heading,
        finding=result.finding,
        coverage=spec.coverage.format(start=report.period_start, end=report.period_end),
        context=context,
        alt_text=result.alt_text,
        svg=_scoped_svg(svg_path.read_text(), spec.chart),
        svg_path=str(svg_path),
        table=for_readers(result.data),
    )


def _scoped_svg(svg: str, prefix: str) -> str:
    """An SVG safe to inline beside others: ids made unique, the XML prolog dropped, and the
    root marked as an image whose description is the figure's caption. The chart is one image:
    the roles Vega gives mark containers inside it (graphics-symbol with no name: axe's
    svg-img-alt) are dropped, so nothing inside the image claims to be a graphic of its own."""
    svg = re.sub(r"<\?xml[^>]*>\s*", "", svg)
    svg = re.sub(r'\s(?:role|aria-roledescription|aria-label)="[^"]*"', "", svg)
    svg = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-labelledby="{prefix}_alt" ', 1)


KEY_FINDING_SECTIONS = ("safety_trend", "court_resettlement")
"""Sections whose finding joins the headline in the key findings, one fact each: the headline
is the before-and-after comparison (implementation safety and how many keeping-safe questions
changed), the trend the latest year against England and Wales, then court work and
resettlement. The unification section's finding repeats the headline's count, so it is not
listed again."""


def key_findings(report: Bulletin) -> list[str]:
    """The key findings: the headline, then one finding per fact (no measure twice)."""
    shown = {spec.chart for spec in report.sections()}
    lead = [report.chart(name).finding for name in KEY_FINDING_SECTIONS if name in shown]
    return [report.headline(), *[text for text in lead if text]]


def _quality(report: Bulletin) -> list[str]:
    """Quality and methods paragraphs, with every rule quoted from the settings."""
    settings = refdata.settings()
    unification = report.tables["unification"].filter(pl.col("scope") == report.region)
    counts = unification.select(
        pl.col("n_inspections_pre").max().fill_null(0),
        pl.col("n_inspections_post").max().fill_null(0),
    )
    before, after = counts.row(0) if counts.height else (0, 0)
    level = round(settings.confidence_level * 100)
    cohort = report.tables["kq_cohort"].filter(pl.col("cohort") == report.cohort)
    cohort_label = cohort["cohort_label"][0] if cohort.height else report.cohort
    return [
        f"Figures for {report.region} rest on the cases inspected in {before} inspections "
        f"before unification and {after} after; each table gives the number of cases "
        "behind every figure. Inspectors judge each key question sufficient, not sufficient or "
        "not applicable; a percentage is the share of applicable cases judged sufficient.",
        f"Intervals are {level}% confidence intervals that allow for cases being clustered in "
        "inspections (cases in one inspection share practitioners, managers and local "
        "services). A change is described as a clear rise or fall only when its interval, "
        "adjusted for case mix and for the number of comparisons made (Holm's method), "
        "excludes zero; otherwise the bulletin says the data cannot tell. Each figure's "
        "interval is the wider of one from all inspections' variation and one from its own "
        "inspections'.",
        f"Figures marked [u] rest on {settings.levels_only_max_inspections} inspections or "
        "fewer: they are shown as levels, with no interval, because so few inspections cannot "
        "show how much inspections differ.",
        f"Figures marked as low reliability rest on fewer than "
        f"{settings.reliable_min_inspections} inspections or an effective sample below "
        f"{settings.reliable_min_effective_n} cases.",
        f"Disclosure control: no figure rests on fewer than {settings.suppression_threshold} "
        f"applicable cases or shows fewer than {settings.min_outcome_count} cases with either "
        "outcome; further figures are withheld where they would let a withheld figure be "
        "worked out by subtraction, and this is checked by attempting that attack on every "
        "published table. Withheld figures are left out of the charts and tables.",
        f"The cohort section uses {cohort_label}.",
        "Inspectors' free-text reasons are never published; only counts of themes in them.",
    ]


def render_html(document: Document) -> str:
    """The bulletin page: self-contained HTML with the chart font embedded."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=True
    )
    env.filters["markup"] = lambda svg: __import__("markupsafe").Markup(svg)
    fonts = register_font()
    faces = {}
    if fonts is not None:
        for weight, name in (
            ("regular", "SourceSansPro-Regular.ttf"),
            ("bold", "SourceSansPro-Bold.ttf"),
        ):
            faces[weight] = base64.b64encode((fonts / name).read_bytes()).decode()
    return env.get_template("bulletin.html.j2").render(
        doc=document, fonts=faces, table_rows=_rows, numeric=numeric_columns
    )


LEVELS_ONLY_HEADER = COLUMN_LABELS["levels_only"]
"""The reader's header of the levels-only flag: a missing number in such a row is shown as [u]."""


def _rows(table: pl.DataFrame) -> list[list[str]]:
    """Cells as text: counts and other numbers with thousands separators (4,797), years as
    written (2024); a missing number in a row that is a level only reads [u]."""
    plain = [
        not dtype.is_numeric() or "year" in name.lower() for name, dtype in table.schema.items()
    ]
    flags = (
        table.get_column(LEVELS_ONLY_HEADER).to_list()
        if LEVELS_ONLY_HEADER in table.columns
        else [None] * table.height
    )
    return [
        [
            ("[u]" if flag == "Yes" and not keep else "")
            if v is None
            else str(v)
            if keep
            else f"{v:,}"
            for v, keep in zip(row, plain, strict=True)
        ]
        for row, flag in zip(table.rows(), flags, strict=True)
    ]


def numeric_columns(table: pl.DataFrame) -> list[bool]:
    """Which columns hold numbers (right-aligned in the HTML and PDF tables)."""
    return [dtype.is_numeric() for dtype in table.schema.values()]


def _typst_text(text: str) -> str:
    """A Typst string literal (escaping quotes, backslashes and control characters)."""
    literal = json.dumps(text, ensure_ascii=False)
    return re.sub(r"\\u([0-9a-fA-F]{4})", r"\\u{\1}", literal)


def render_typst(document: Document, svg_names: dict[str, str]) -> str:
    """Typst source of the A4 document; charts are the SVG files named in `svg_names`."""
    t = _typst_text
    out = [
        f"#set document(title: {t(_pdf_title(document))}, author: {t(document.publisher)})",
        '#set page(paper: "a4", margin: (x: 2cm, y: 2cm), numbering: "1 of 1", '
        f"footer: context align(right, text(size: 8pt)[#{t(document.title)} #h(1fr) "
        '#counter(page).display("1 of 1", both: true)]))',
        '#set text(font: "Source Sans Pro", size: 10.5pt, lang: "en", region: "gb")',
        "#set par(justify: false, leading: 0.6em)",
        "#set heading(numbering: none)",
        # sticky: a heading never ends a page; it moves to the next with what follows it
        "#show heading.where(level: 2): it => block(above: 1.4em, below: 0.6em, sticky: true, "
        'text(size: 14pt, weight: "bold", it.body))',
        f'#text(size: 9pt, fill: rgb("#505a5f"))[#{t(document.publisher)}]',
        f'#block(below: 0.4em, text(size: 22pt, weight: "bold")[#{t(document.title)}])',
        f"#text(size: 11pt)[#{t(_meta_line(document))}]",
        *(
            [
                '#block(stroke: 2pt + rgb("#d4351c"), inset: 8pt, width: 100%)'
                f"[#strong[#{t(document.published + ': figures and wording may change.')}]]"
            ]
            if document.draft
            else []
        ),
        f'#block(fill: rgb("#f3f2f1"), inset: 8pt, width: 100%)[#strong[#{t(document.status)}]]',
        '#block(stroke: (left: 4pt + rgb("#12436D")), inset: (left: 10pt, y: 6pt))['
        '#text(size: 13pt, weight: "bold")[Key findings] \\',
    ]
    out += [f"- #{t(f)}" for f in document.key_findings]
    out.append("]")
    out.append('#outline(title: "Contents", depth: 2)')
    for section in document.sections:
        out.append(f"== #{t(section.heading)}")
        note = f"{section.coverage} {section.context}".strip()
        # the finding and its note stick to the chart, so heading, finding and chart share a page
        out.append(
            f"#block(sticky: true)[#strong[#{t(section.finding)}]"
            f"#parbreak()#text(size: 9pt)[#{t(note)}]]"
        )
        image = f"image({t(svg_names[section.anchor])}, width: 100%, alt: {t(section.alt_text)})"
        out.append(f"#figure({image})")
        out.append(_typst_table(section.table))
    if document.area != NATIONAL:
        out.append("== Regional ratings from pooled PDU cases")
        out.append(f"#{t(document.ratings_note)}")
        out.append(_typst_table(document.ratings))
    out.append("== Quality and methods")
    out += [f"#{t(p)}\n" for p in document.quality]
    out.append("== Sources")
    out += [f"- #{t(s)}" for s in document.sources]
    out.append("== Licence and contact")
    out.append(f"#{t(document.licence)}\n")
    out.append(f"#{t(document.contact)}")
    return "\n".join(out) + "\n"


def _pdf_title(document: Document) -> str:
    draft = "Draft: " if document.draft else ""
    return f"{draft}{document.title}, {document.period}"


_MARK_INFO = b"/MarkInfo<</Marked true/Suspects false>>"


def _without_false_suspects(pdf: bytes) -> bytes:
    """The PDF with `/Suspects false` dropped from its MarkInfo, padded to the same length so
    every cross-reference offset stays right. False is the default, so the document means the
    same; poppler before 23.x (Debian 12's pdfinfo, pdftotext) reports the explicit `false` as
    "Syntax Error: Suspects object is wrong type (boolean)" on every bulletin."""
    plain = b"/MarkInfo<</Marked true>>"
    return pdf.replace(_MARK_INFO, plain + b" " * (len(_MARK_INFO) - len(plain)), 1)


def _meta_line(document: Document) -> str:
    return f"Area: {document.area}. Years: {document.period}. {document.published}."


def _typst_table(table: pl.DataFrame) -> str:
    if table.height == 0:
        return "#text(size: 9pt)[No figures can be shown for this section.]"
    t = _typst_text
    header = ", ".join(f"[#strong[#{t(c)}]]" for c in table.columns)
    rows = _rows(table)
    cells = ", ".join(f"[#{t(v)}]" for row in rows for v in row)
    align = ", ".join("right" if n else "left" for n in numeric_columns(table))
    # no hyphenation: headers broke as "Lower Up-per" and "unifi-cation"; numbers right-aligned
    return (
        f"#text(size: 8pt, hyphenate: false, table(columns: {_column_widths(table, rows)}, "
        f"align: ({align},), "
        f'stroke: 0.4pt + rgb("#b1b4b6"), inset: 3pt, table.header({header}), {cells}))'
    )


def _column_widths(table: pl.DataFrame, rows: list[list[str]]) -> str:
    """Typst column widths in proportion to each column's longest word (header included, at
    least 5 characters): with equal widths a wide table squeezed "Implementation" into a
    column sized for "-14.2", and the word ran over the next cell."""
    longest = [
        max([5, *(len(w) for w in name.split()), *(len(w) for r in rows for w in r[i].split())])
        for i, name in enumerate(table.columns)
    ]
    return "(" + ", ".join(f"{n}fr" for n in longest) + ")"


def write(report: Bulletin, folder: Path, published: dt.date | None = None) -> list[Path]:
    """Write bulletin.html and bulletin.pdf into `folder`; returns the paths."""
    import typst

    document = build(report, published)
    folder.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = folder / "bulletin.html", folder / "bulletin.pdf"
    html_path.write_text(render_html(document))
    fonts = register_font()
    with tempfile.TemporaryDirectory() as work:
        names = {}
        for section in document.sections:
            name = f"{section.anchor}.svg"
            Path(work, name).write_text(Path(section.svg_path).read_text())
            names[section.anchor] = name
        source = Path(work, "bulletin.typ")
        source.write_text(render_typst(document, names))
        pdf = typst.compile(
            str(source),
            root=work,
            font_paths=[str(fonts)] if fonts else [],
            ignore_system_fonts=True,
        )
        pdf_path.write_bytes(_without_false_suspects(pdf))
    return [html_path, pdf_path]
