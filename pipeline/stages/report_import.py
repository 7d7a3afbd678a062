"""Published inspection reports (HMIP report pages) into rows of the published-figures dataset.

Since 2025 each HM Inspectorate of Probation report is an HTML page: a title, a publication
date, a Ratings section, a methodology sentence ("We inspected a total of 165 cases, with 157
inspected against core standards, and eight against adjusted standards") and an Annexe One of
key-question tables ("Does assessment focus sufficiently on keeping other people safe? 25%").
This module reads such a page, as published (HTML) or saved as text, and returns its figures in
the long published-figures layout (`published_figures.PUBLISHED_COLUMNS`), each row naming its
source: the page's address where it gives one, the file and the place in it (section and line).

Nothing is guessed. A page whose title, date, ratings or Annexe One cannot be found, or whose
key-question wording is not in the key-question reference, is refused with a message naming the
file and everything that was missing. The file's text is only ever matched by regular
expressions and the standard library's `html.parser`: it is data, never code.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import polars as pl

from pipeline import refdata
from pipeline.domain import NATIONAL
from pipeline.stages.published_figures import OPTIONAL_COLUMNS, PUBLISHED_COLUMNS

OUTPUT_COLUMNS = (*PUBLISHED_COLUMNS, *OPTIONAL_COLUMNS)
MAX_BYTES = 20_000_000
"""A report page is well under 1 MB; anything over this is not one."""
SUFFIXES = (".html", ".htm", ".txt")
BACK_TO_TOP = re.compile(r"\s*\(\s*back to top\s*\)\s*$", re.IGNORECASE)
PCT_CELL = re.compile(r"^(\d{1,3}(?:\.\d)?)\s*%$")
PCT_LINE = re.compile(r"^(.*\?)\s*(\d{1,3}(?:\.\d)?)\s*%$")
ANNEXE_ONE = re.compile(r"^annexe?\s*(?:one|1)\b", re.IGNORECASE)
RATINGS_HEADING = re.compile(r"^ratings?$", re.IGNORECASE)
METHOD = re.compile(
    r"inspected a total of (?P<total>\w+) cases"
    r"(?:, with (?P<core>\w+) inspected against core standards,? and (?P<adjusted>\w+) "
    r"against adjusted standards)?",
    re.IGNORECASE,
)
OVERALL = re.compile(
    r"(?:rated\b[^.]{0,120}?[‘'\"](?P<a>[A-Za-z ]+)[’'\"]\s+overall"
    r"|overall rating of [‘'\"](?P<b>[A-Za-z ]+)[’'\"]"
    r"|rated overall as [‘'\"](?P<c>[A-Za-z ]+)[’'\"])",
    re.IGNORECASE,
)
PUBLISHED = re.compile(r"^published:?\s*(?P<date>\d{1,2} [A-Za-z]+ \d{4})?\s*$", re.IGNORECASE)
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES.split())}
_NUMBER_NAMES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
NUMBER_WORDS = {w: i for i, w in enumerate(_NUMBER_NAMES.split())}
"""Counts a report writes in words ('eight against adjusted standards')."""


class ReportLayoutError(ValueError):
    """A file is not a report page in a layout this reader knows; the message names the file
    and every piece that was missing."""


@dataclass(frozen=True)
class Block:
    """One piece of a page: a heading, a table row (cells) or a run of text, with its line."""

    kind: str  # "heading", "subheading", "row" or "text"
    cells: tuple[str, ...]
    line: int

    @property
    def text(self) -> str:
        return " ".join(self.cells)


@dataclass
class Page:
    """A page as blocks, with the page address and date its HTML head gives (if any)."""

    blocks: list[Block]
    url: str | None = None
    date: str | None = None


@dataclass
class Report:
    """What one page published, as published-figures rows and a summary for the console."""

    file: str
    inspection_type: str
    unit_name: str
    region: str | None
    publication_date: str
    rows: list[dict[str, str]] = field(default_factory=list)

    def count(self, kind: str) -> int:
        """Rows of one kind: 'rating', 'key_question' or 'cases'."""
        if kind == "rating":
            return sum(1 for r in self.rows if r["rating"])
        if kind == "cases":
            return sum(1 for r in self.rows if r["standard"] == "case_sample")
        return sum(1 for r in self.rows if r["wording"])


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _PageParser(HTMLParser):
    """HTML to blocks: headings (h1, h2 are sections; h3-h6 sub-headings), table rows (one
    block per `tr`, one cell per `td`/`th`) and text blocks; scripts and styles are skipped."""

    SKIP = frozenset({"script", "style", "template", "noscript", "svg"})
    BREAKS = frozenset(
        {"p", "li", "div", "dt", "dd", "section", "article", "main", "header", "footer",
         "caption", "blockquote", "ul", "ol", "table", "br", "nav", "aside", "span"}
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page([])
        self._text: list[str] = []
        self._kind = "text"
        self._start = 1
        self._cells: list[str] | None = None
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
            return
        self._head(tag, dict(attrs))
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._flush()
            self._kind = "heading" if tag in ("h1", "h2") else "subheading"
        elif tag == "tr":
            self._flush()
            self._cells, self._start = [], self.getpos()[0]
        elif tag in ("td", "th") or tag in self.BREAKS:
            self._flush()

    def _head(self, tag: str, attrs: dict[str, str | None]) -> None:
        """The page address and publication date from the HTML head or a `time` element."""
        if tag == "link" and (attrs.get("rel") or "").lower() == "canonical":
            self.page.url = self.page.url or attrs.get("href")
        elif tag == "meta" and (attrs.get("property") or "") == "og:url":
            self.page.url = self.page.url or attrs.get("content")
        elif tag == "meta" and (attrs.get("property") or "") == "article:published_time":
            self.page.date = self.page.date or (attrs.get("content") or "")[:10] or None
        elif tag == "time" and attrs.get("datetime"):
            self.page.date = self.page.date or (attrs.get("datetime") or "")[:10]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in ("td", "th") and self._cells is not None:
            self._cells.append(_squash("".join(self._text)))
            self._text = []
        elif tag == "tr" and self._cells is not None:
            cells = tuple(c for c in self._cells if c)
            if cells:
                self.page.blocks.append(Block("row", cells, self._start))
            self._cells = None
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6") or tag in self.BREAKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if not self._text and not _squash(data):
            return
        if not self._text:
            self._start = self.getpos()[0]
        self._text.append(data)

    def _flush(self) -> None:
        if self._cells is not None:
            return  # inside a table row: text waits for its cell
        text = _squash("".join(self._text))
        self._text = []
        if text:
            kind = self._kind
            if kind != "text":
                text = BACK_TO_TOP.sub("", text)
            self.page.blocks.append(Block(kind, (text,), self._start))
        self._kind = "text"


def parse_html(text: str) -> Page:
    """A page published as HTML, as blocks."""
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    parser._flush()
    return parser.page


def parse_text(text: str) -> Page:
    """A page saved as text (one block per non-empty line): a line ending '(Back to top)' is a
    section heading, as the saved page shows it."""
    blocks = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = _squash(line.lstrip("•").strip())
        if not line:
            continue
        if BACK_TO_TOP.search(line):
            blocks.append(Block("heading", (BACK_TO_TOP.sub("", line),), number))
        else:
            blocks.append(Block("text", (line,), number))
    return Page(blocks)


def _sections(blocks: list[Block]) -> list[tuple[Block | None, list[Block]]]:
    """The page cut at its section headings: (heading, blocks under it); the first part, before
    any heading, has none."""
    parts: list[tuple[Block | None, list[Block]]] = [(None, [])]
    for block in blocks:
        if block.kind == "heading":
            parts.append((block, []))
        else:
            parts[-1][1].append(block)
    return parts


def _title(page: Page) -> Block | None:
    """The report's title: the first h1 of a page, or the line before 'Published:' in text."""
    for i, block in enumerate(page.blocks):
        if block.kind == "heading" and i + 1 < len(page.blocks):
            following = page.blocks[i + 1].text
            if PUBLISHED.match(following) or page.url is not None or page.date is not None:
                return block
        if block.kind == "text" and PUBLISHED.match(block.text) and i > 0:
            return page.blocks[i - 1]
    return None


def _date(page: Page) -> tuple[str, int] | None:
    """The publication date (ISO) and the line it was read from."""
    for block in page.blocks:
        found = PUBLISHED.match(block.text)
        if found and found.group("date"):
            day, month, year = found.group("date").split()
            if month.lower() in MONTHS:
                return f"{year}-{MONTHS[month.lower()]:02d}-{int(day):02d}", block.line
    if page.date and re.fullmatch(r"\d{4}-\d{2}-\d{2}", page.date):
        return page.date, 0
    return None


@dataclass(frozen=True)
class Unit:
    """Who was inspected, read from the title."""

    inspection_type: str  # national, pdu, regional or dynamic
    level: str  # the published-figures level
    unit_name: str
    region: str | None


def _unit(title: str) -> Unit | None:
    """Inspection type and unit from the report title; None for a title of no known form."""
    plain = title.replace("–", "-").replace("—", "-")
    if re.search(r"dynamic inspection", plain, re.IGNORECASE):
        region = _region_in(plain)
        if region is None:
            return None
        unit = f"{region} region (Dynamic Inspection of Public Protection)"
        return Unit("dynamic", "region", unit, region)
    if re.match(r"^national inspection\b", plain, re.IGNORECASE):
        return Unit("national", "national", _squash(title), NATIONAL)
    pdu = re.match(r"^an inspection of probation services in (?P<name>.+? PDU)$", plain, re.I)
    if pdu:
        name = pdu.group("name")
        return Unit("pdu", "pdu", name, _pdu_region(name.removesuffix(" PDU")))
    region_match = re.match(
        r"^an inspection of probation services\s*-\s*(?P<r>.+) region$", plain, re.I
    )
    if region_match:
        region = _region_in(region_match.group("r"))
        if region is not None:
            return Unit("regional", "region", f"{region} region", region)
    return None


def _region_in(text: str) -> str | None:
    """The region a text names (aliases allowed), longest name first; None if none."""
    key = f" {refdata.normalise_label(text)} "
    aliases = refdata.region_aliases()
    for alias in sorted(aliases, key=len, reverse=True):
        if len(alias) > 3 and f" {alias} " in key:  # 'ne', 'sc' would match ordinary words
            return aliases[alias]
    return None


def _pdu_region(name: str) -> str | None:
    pdus = refdata.pdus()
    key = refdata.normalise_label(name)
    for region, pdu_name in pdus.select("region", "pdu_name").iter_rows():
        if refdata.normalise_label(pdu_name) == key:
            return str(region)
    return None


def _ratings_in(blocks: list[Block]) -> list[tuple[str, str, int]]:
    """(standard as printed, rating, line) for each rating in a Ratings section: table rows of
    two cells, or text lines ending in a rating ('LeadershipRequires improvement' as a saved
    page runs the cells together)."""
    labels = sorted(set(refdata.rating_aliases().values()), key=len, reverse=True)
    found = []
    for block in blocks:
        cells = block.cells if block.kind == "row" else (block.text,)
        standard: str | None
        if block.kind == "row" and len(cells) >= 2:
            standard, rating = cells[0], _rating_label(cells[-1])
        else:
            standard, rating = _split_rating(cells[0], labels)
        if standard and rating:
            found.append((standard.strip(" :–-"), rating, block.line))
    return found


def _rating_label(text: str) -> str | None:
    return refdata.rating_aliases().get(_squash(text.strip("‘’'\" ")).lower())


def _split_rating(text: str, labels: list[str]) -> tuple[str | None, str | None]:
    stripped = text.strip("‘’'\" ")
    for label in labels:
        if stripped.lower().endswith(label.lower()) and len(stripped) > len(label):
            head = stripped[: -len(label)].strip(" :–-‘’'\"")
            if head and len(head) <= 60:
                return head, label
    return None, None


def standard_code(printed: str) -> str:
    """A standard's name as the published-figures layout writes it ('IT and infrastructure'
    -> 'it_and_infrastructure')."""
    return re.sub(r"[^0-9a-z]+", "_", printed.lower().replace("&", " and ")).strip("_")


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word.lower())


def _cases(page: Page) -> tuple[dict[str, int | None], int] | None:
    """Cases inspected (total, core, adjusted) from the methodology sentence, and its line."""
    for block in page.blocks:
        found = METHOD.search(block.text)
        if found:
            counts = {k: _number(v) if v else None for k, v in found.groupdict().items()}
            return counts, block.line
    return None


def _overall(page: Page) -> tuple[str, int] | None:
    """The overall rating stated in the text ('rated ... as ‘Requires improvement’ overall')."""
    for block in page.blocks:
        if block.kind == "row":
            continue
        found = OVERALL.search(block.text)
        if found:
            label = _rating_label(next(g for g in found.groups() if g))
            if label:
                return label, block.line
    return None


def _wordings() -> dict[str, tuple[str, str]]:
    """Normalised key-question wording -> (key_question, standard) over every framework's
    reference wording (the 2023 wording is the published reports')."""
    table = refdata.key_questions().filter(pl.col("question_text").is_not_null())
    out: dict[str, tuple[str, str]] = {}
    for kq, standard, text in table.select("key_question", "standard", "question_text").iter_rows():
        out.setdefault(normalise_wording(text), (str(kq), _published_standard(str(standard))))
    return out


def _published_standard(standard: str) -> str:
    return "implementation_and_delivery" if standard == "implementation" else standard


def normalise_wording(text: str) -> str:
    """Wording compared as words: case, curly quotes, spaces and a closing '?' ignored."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().rstrip("?").strip().lower()


@dataclass(frozen=True)
class KeyQuestionRow:
    """One row of an Annexe One key-question table."""

    wording: str
    pct: str
    section: str
    line: int


def _annexe_rows(blocks: list[Block]) -> list[KeyQuestionRow]:
    """Key-question rows under Annexe One: a question and its percentage 'Yes', as two table
    cells or (saved as text) one line ending in 'NN%'; with the sub-section they sit in."""
    rows, section = [], ""
    for block in blocks:
        if block.kind == "subheading":
            section = block.text
            continue
        if block.kind == "row" and len(block.cells) >= 2:
            pct = PCT_CELL.match(block.cells[-1])
            if pct and block.cells[0].rstrip().endswith("?"):
                rows.append(KeyQuestionRow(block.cells[0], pct.group(1), section, block.line))
            continue
        line = PCT_LINE.match(block.text)
        if line:
            rows.append(KeyQuestionRow(line.group(1), line.group(2), section, block.line))
        elif _is_subheading(block):
            section = block.text  # a saved page's sub-heading: a short line, no full stop
    return rows


def _is_subheading(block: Block) -> bool:
    """A saved page's sub-heading: a short line with no full stop, not a table header."""
    text = block.text
    return (
        block.kind == "text"
        and len(text) <= 40
        and not text.endswith(".")
        and not text.lower().startswith("key question")
    )


@dataclass
class _Found:
    """What was found on a page, and what was missing (every piece, for one message)."""

    missing: list[str] = field(default_factory=list)
    ratings: list[tuple[str, str, int]] = field(default_factory=list)
    annexe: list[KeyQuestionRow] = field(default_factory=list)
    ratings_heading: int = 0
    annexe_heading: str = ""


def _find_sections(page: Page) -> _Found:
    found = _Found()
    headings = []
    for heading, blocks in _sections(page.blocks):
        if heading is None:
            continue
        headings.append(heading.text)
        if RATINGS_HEADING.match(heading.text) and not found.ratings:
            found.ratings, found.ratings_heading = _ratings_in(blocks), heading.line
        elif ANNEXE_ONE.match(heading.text) and not found.annexe:
            found.annexe, found.annexe_heading = _annexe_rows(blocks), heading.text
    seen = "; ".join(h[:40] for h in headings[:12]) or "none"
    if not found.ratings_heading:
        found.missing.append(f"no 'Ratings' section heading (headings seen: {seen})")
    elif not found.ratings:
        found.missing.append("the 'Ratings' section holds no standard with a rating")
    if not found.annexe_heading:
        found.missing.append(f"no 'Annexe One' section heading (headings seen: {seen})")
    elif not found.annexe:
        found.missing.append("Annexe One holds no key-question table ('question? NN%')")
    return found


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_report(path: Path, name: str | None = None) -> Report:
    """The figures of one report page (`.html`/`.htm` as published, `.txt` saved as text).

    Raises `ReportLayoutError` naming the file and everything missing when the page is not in
    a layout this reader knows, or a key question's wording is not in the reference."""
    from pipeline.stages.ingest import read_regular

    name = name or path.name
    data = read_regular(path)
    if len(data) > MAX_BYTES:
        raise ReportLayoutError(f"{name}: {len(data):,} bytes is too large for a report page")
    text = _decode(data)
    page = parse_html(text) if path.suffix.lower() in (".html", ".htm") else parse_text(text)
    title, date = _title(page), _date(page)
    unit = _unit(title.text) if title else None
    found = _find_sections(page)
    missing = []
    if title is None:
        missing.append("no report title (an h1, or the line before 'Published:')")
    elif unit is None:
        missing.append(
            f"title {title.text[:80]!r} is not a national, PDU, regional or dynamic "
            "inspection title this reader knows"
        )
    if date is None:
        missing.append("no publication date ('Published: 29 April 2025' or <time datetime>)")
    missing += found.missing
    if missing or unit is None or date is None or title is None:
        raise ReportLayoutError(f"{name}: refused, " + "; ".join(missing))
    unmatched = _unmatched(found.annexe)
    if unmatched:
        raise ReportLayoutError(
            f"{name}: refused, key-question wording not in the key-question reference "
            "(pipeline/reference/key_questions.csv): "
            + "; ".join(f"line {r.line}: {r.wording[:100]!r}" for r in unmatched)
        )
    report = Report(name, unit.inspection_type, unit.unit_name, unit.region, date[0])
    report.rows = _rows(page, unit, date[0], title.text, name, found)
    return report


def _unmatched(rows: list[KeyQuestionRow]) -> list[KeyQuestionRow]:
    wordings = _wordings()
    return [r for r in rows if normalise_wording(r.wording) not in wordings]


def _rows(
    page: Page, unit: Unit, date: str, title: str, name: str, found: _Found
) -> list[dict[str, str]]:
    """Published-figures rows: ratings, overall rating, cases inspected, key questions."""
    base = {c: "" for c in OUTPUT_COLUMNS} | {
        "source_url": page.url or f"file:{name}",
        "source_title": f"{title} (HM Inspectorate of Probation report; read from {name})",
        "publication_date": date,
        "level": unit.level,
        "unit_name": unit.unit_name,
        "region": unit.region or "",
    }
    rows = []
    for printed, rating, line in found.ratings:
        where = f"Ratings section, line {line}"
        rows.append(base | _with(standard=standard_code(printed), rating=rating, at=(name, where)))
    overall = _overall(page)
    if overall and not any(standard_code(p) == "overall" for p, _, _ in found.ratings):
        where = f"line {overall[1]}: 'rated ... overall'"
        rows.append(base | _with(standard="overall", rating=overall[0], at=(name, where)))
    rows += [base | r for r in _case_rows(page, name)]
    wordings = _wordings()
    for kq in found.annexe:
        key_question, standard = wordings[normalise_wording(kq.wording)]
        annexe = found.annexe_heading.split(":")[0][:40]
        where = f"{annexe} > {kq.section or 'table'}, line {kq.line}"
        rows.append(
            base
            | _with(standard=standard, key_question=key_question, at=(name, where))
            | {"value_pct": kq.pct, "wording": kq.wording}
        )
    return rows


def _with(
    standard: str, at: tuple[str, str], rating: str = "", key_question: str = ""
) -> dict[str, str]:
    return {
        "standard": standard,
        "key_question": key_question,
        "rating": rating,
        "notes": f"import-reports: {at[0]}, {at[1]}",
    }


def _case_rows(page: Page, name: str) -> list[dict[str, str]]:
    """Cases inspected, and against core and adjusted standards, from the methodology."""
    found = _cases(page)
    if found is None or found[0]["total"] is None:
        return []
    counts, line = found
    total = str(counts["total"])
    at = (name, f"methodology, line {line}")
    rows = [_with("case_sample", at, key_question="cases_inspected") | {"n_cases": total}]
    for part in ("core", "adjusted"):
        if counts[part] is not None:
            row = _with("case_sample", at, key_question=f"cases_{part}_standards")
            rows.append(
                row | {"numerator": str(counts[part]), "denominator": total, "n_cases": total}
            )
    return rows


def report_files(paths: list[Path]) -> list[Path]:
    """The report pages named: files as given, folders searched (sorted) for .html/.htm/.txt."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
        else:
            files.append(path)
    return files


def unit_key(unit_name: str) -> str:
    """A unit compared by its words: case, punctuation, 'and'/'the', a bracketed remark and word
    order ignored ('Gateshead and South Tyneside PDU' is 'South Tyneside and Gateshead PDU')."""
    plain = re.sub(r"\([^)]*\)", " ", unit_name)
    words = refdata.normalise_label(plain).split()
    return " ".join(sorted(w for w in words if w not in ("and", "the", "of")))


def _figure_key(row: dict[str, str]) -> tuple[str, str, str]:
    return unit_key(row["unit_name"]), row["standard"].strip(), row["key_question"].strip()


def _same_date(a: str, b: str) -> bool:
    """Two publication dates at possibly different precision ('2025-04', '2025-04-29')."""
    a, b = a.strip(), b.strip()
    return bool(a) and bool(b) and (a.startswith(b) or b.startswith(a))


FIGURE_FIELDS = ("value_pct", "numerator", "denominator", "n_cases", "rating")


def _agree(a: dict[str, str], b: dict[str, str]) -> bool:
    """Two rows agree when every figure both give is the same (numbers compared as numbers,
    ratings without case); a figure only one of them gives is no disagreement."""
    for column in FIGURE_FIELDS:
        x, y = (a.get(column) or "").strip().lower(), (b.get(column) or "").strip().lower()
        if x and y and x != y:
            try:
                if float(x) != float(y):
                    return False
            except ValueError:
                return False
    return True


@dataclass
class MergeResult:
    """What a merge wrote: rows added, rows already held (skipped), and conflicts (a figure
    held elsewhere with another value: not written, named for a person to resolve)."""

    added: int = 0
    already_held: int = 0
    conflicts: list[str] = field(default_factory=list)


def _read_rows(path: Path) -> list[dict[str, str]]:
    from pipeline.stages.ingest import read_regular

    text = _decode(read_regular(path))
    return [
        {k.strip().lower(): (v or "") for k, v in row.items() if k}
        for row in csv.DictReader(io.StringIO(text))
    ]


def merge(reports: list[Report], out: Path) -> MergeResult:
    """Add the reports' rows to the published-figures CSV `out` (created if absent), skipping
    any figure already held in `out` or another CSV of its folder; a figure held with another
    value is a conflict, not written. Every row written names its source."""
    held: list[tuple[str, dict[str, str]]] = []
    folder = out.parent
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        held += [(path.name, row) for row in _read_rows(path)]
    existing = _read_rows(out) if out.exists() else []
    result, new_rows = MergeResult(), []
    for report in reports:
        for row in report.rows:
            if not (row["source_url"] and row["notes"]):
                raise ValueError(f"{report.file}: a row without its source")  # never written
            status = _status(row, held)
            if status == "held":
                result.already_held += 1
            elif status:
                result.conflicts.append(f"{report.file}: {status}")
            else:
                new_rows.append(row)
                held.append((out.name, row))
    result.added = len(new_rows)
    if new_rows:
        _write(out, existing + new_rows)
    return result


def _status(row: dict[str, str], held: list[tuple[str, dict[str, str]]]) -> str:
    """'' (new), 'held' (the same figure is held) or a description of the conflict."""
    key = _figure_key(row)
    for file, other in held:
        if _figure_key(other) != key:
            continue
        if not _same_date(row["publication_date"], other.get("publication_date", "")):
            continue
        if _agree(other, row):
            return "held"
        label = "/".join(k for k in key[1:] if k)
        there, here = _show(other), _show(row)
        return f"{row['unit_name']} {label} differs from {file} ({there} there, {here} here)"
    return ""


def _show(row: dict[str, str]) -> str:
    return (
        row.get("rating")
        or row.get("value_pct")
        or row.get("numerator")
        or row.get("n_cases")
        or "-"
    )


def _write(out: Path, rows: list[dict[str, str]]) -> None:
    """The CSV written whole to a temporary file, then moved into place."""
    columns = list(OUTPUT_COLUMNS)
    for row in rows:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.partial")
    staging.write_text(buffer.getvalue(), encoding="utf-8")
    staging.replace(out)
