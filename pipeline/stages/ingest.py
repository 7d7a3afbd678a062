"""Ingest: find case exports, read them as text, map headers, keep provenance.

Everything is read as text so that validation sees exactly what the file held (a date typed as
'31/02/2019' must reach the quarantine file as written, not as a null). Each record keeps its
source file, sheet and 1-based source row (the header is row 1, as a spreadsheet shows it).
A file that cannot be used at all (unreadable, or missing required columns) is rejected whole
with one message; its rows are counted as read and rejected so the accounting still adds up.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import os
import re
import stat
import unicodedata
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import polars as pl
import pyarrow.parquet as pq

from pipeline import refdata
from pipeline.stages import sheet_limits

log = logging.getLogger(__name__)

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
"""Workbooks the Excel reader (calamine) opens: Excel 2007+, macro-enabled (macros never run),
Excel 97-2003 and OpenDocument."""
CASE_SUFFIXES = (".csv", *SPREADSHEET_SUFFIXES, ".parquet")
PUBLISHED_SUBDIR = "published"
PROVENANCE = ("source_file", "sheet", "source_row")


@dataclass
class FileRead:
    """The outcome of reading one file: its records (text) or why it was rejected whole."""

    path: Path
    display_name: str
    sheet: str | None = None
    encoding: str | None = None
    rows_read: int = 0
    blank_rows: int = 0  # wholly empty rows (e.g. trailing rows in a sheet): not records
    frame: pl.DataFrame | None = None
    error: str | None = None
    unmapped_columns: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)  # every sheet of an XLSX file
    sha256: str | None = None  # of the bytes parsed
    date1904: bool = False  # the workbook counts serial dates from 1904 (old Mac Excel)

    @property
    def rejected(self) -> bool:
        return self.error is not None


class NotRegularFile(ValueError):
    """A path that names a FIFO, device, socket or folder rather than a file."""


FILE_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


READ_TIMEOUT = 600.0
"""Seconds a file may take to read before it is given up as unreadable (a stalled network drive
would otherwise hold the run forever); a 200 MB export on a local disk takes about a second."""


class ReadTimeout(OSError):
    """A file that delivered no complete read within READ_TIMEOUT."""


def read_regular(path: Path, timeout: float | None = None) -> bytes:
    """The bytes of a regular file, read with a time limit. The read runs in a daemon thread:
    if the file system stalls, the caller gets `ReadTimeout` and goes on (the thread is left
    waiting, and does not keep the process alive)."""
    import queue
    import threading

    box: queue.Queue[tuple[bytes | None, BaseException | None]] = queue.Queue(maxsize=1)

    def work() -> None:
        try:
            box.put((_read_regular(path), None))
        except BaseException as exc:  # handed to the caller's thread
            box.put((None, exc))

    threading.Thread(target=work, name="read-file", daemon=True).start()
    limit = READ_TIMEOUT if timeout is None else timeout
    try:
        data, error = box.get(timeout=limit)
    except queue.Empty:
        raise ReadTimeout(f"no data within {limit:g} s (a stalled network drive?)") from None
    if error is not None:
        raise error
    assert data is not None
    return data


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file (a symbolic link to one is followed). Anything else is
    refused at once: reading a FIFO waits for a writer forever, and a device may never end.
    The file is opened without blocking and checked on the open handle, so it cannot be
    swapped for a pipe between the check and the read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise NotRegularFile(f"{kind}, not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as handle:
            fd = -1  # the handle owns it now
            return handle.read()
    finally:
        if fd >= 0:
            os.close(fd)


def file_kind(path: Path) -> str | None:
    """What a path that is not a regular file is ('a named pipe (FIFO)', 'a broken link'), or
    None for a regular file or a folder."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "a broken link" if path.is_symlink() else "unreadable"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")


def canonical_header(name: str) -> str:
    """Map a header to its canonical form: case-insensitive; spaces, hyphens, dots become '_'."""
    name = name.replace("\ufeff", "").strip().lower()
    name = re.sub(r"[^0-9a-z+]+", "_", name)
    return name.strip("_")


SKIP_REASONS = {
    ".gz": "a compressed file: unpack it first",
    ".zip": "a compressed file: unpack it first",
    ".txt": "a text file: if it holds cases, rename it to .csv",
    ".tsv": "a tab-separated file: rename it to .csv (the delimiter is detected)",
}
"""Why a file under the input folder is not read (anything else: not a case export type)."""


def skipped_files(raw_dir: Path) -> list[tuple[str, str]]:
    """Files under `raw_dir` that a run does not read, with the reason, so nothing is dropped
    without a word (hidden files, Excel lock files and published/ are not listed)."""
    read = set(find_case_files(raw_dir))
    skipped = []
    for path in sorted(raw_dir.rglob("*")):
        rel = path.relative_to(raw_dir)
        kind = file_kind(path)
        if (
            path in read
            or (path.is_dir() and kind is None)
            or any(part.startswith((".", "~$")) for part in rel.parts)
            or rel.parts[0] == PUBLISHED_SUBDIR
        ):
            continue
        reason = (
            f"{kind}, not a regular file"
            if kind
            else SKIP_REASONS.get(path.suffix.lower(), "not a CSV, XLSX or Parquet file")
        )
        skipped.append((rel.as_posix(), reason))
    return skipped


def find_case_files(raw_dir: Path) -> list[Path]:
    """Every CSV, XLSX and Parquet file under `raw_dir`, except published aggregates.

    Sorted by relative path so that 'first occurrence' (for duplicates) is well defined.
    Hidden files and Excel lock files (~$name.xlsx) are skipped. Symlinked folders are
    followed (data often lives elsewhere), each real folder once, so a link loop cannot recurse.
    """
    files = []
    seen: set[str] = set()
    for folder, dirs, names in os.walk(raw_dir, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        rel_folder = Path(folder).relative_to(raw_dir)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and not (rel_folder == Path(".") and d == PUBLISHED_SUBDIR)
        )
        for name in names:
            path = Path(folder) / name
            if name.startswith((".", "~$")) or path.suffix.lower() not in CASE_SUFFIXES:
                continue
            if path.is_file():
                files.append(path)
    return sorted(files, key=lambda p: p.relative_to(raw_dir).as_posix())


def _decode(raw: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-16 with a byte-order mark; UTF-8 (with or without BOM); else line
    by line, UTF-8 where a line is valid UTF-8 and Windows-1252 where it is not (a file edited
    on two machines), reported as mixed; else Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    decoded, kinds = [], set()
    for line in lines:
        try:
            decoded.append(line.decode("utf-8"))
            if not line.isascii():
                kinds.add("utf-8")
        except UnicodeDecodeError:
            decoded.append(line.decode("cp1252", errors="replace"))
            kinds.add("cp1252")
    encoding = "mixed utf-8 and cp1252" if kinds == {"utf-8", "cp1252"} else "cp1252"
    return "\n".join(decoded), encoding


def _preamble(text: str) -> tuple[str, str | None, int]:
    """Lines above the header that are not records: Excel's 'sep=;' line (which names the
    delimiter) and title lines. Returns the text from the header on, the delimiter named by a
    'sep=' line (or None) and how many lines were dropped."""
    lines = text.split("\n", HEADER_SEARCH_ROWS + 1)
    separator, start = None, 0
    if lines and lines[0].strip().lower().startswith("sep=") and len(lines[0].strip()) == 5:
        separator, start = lines[0].strip()[4], 1
    required = set(refdata.required_columns())
    for i in range(start, min(len(lines), HEADER_SEARCH_ROWS)):
        delimiter = separator or sniff_delimiter(lines[i])
        cells = {canonical_header(c) for c in lines[i].split(delimiter)}
        if required <= cells:
            start = i
            break
    dropped = sum(len(line) + 1 for line in lines[:start])
    return text[dropped:], separator, start


DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_ROWS = 20


def sniff_delimiter(first_line: str) -> str:
    """The delimiter of a CSV from its header line: comma, or semicolon, tab or pipe when one
    of those is commoner (Excel writes semicolons in many locales)."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _read_ragged(text: str, separator: str) -> pl.DataFrame:
    """Parse a CSV whose rows have different numbers of fields (slow path, Python csv).

    Rows are padded or cut to the header's width and flagged in `_ragged`, so each one is
    quarantined with a reason instead of the whole file failing.
    """
    rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    width = len(rows[0]) if rows else 0
    columns: list[list[str | None]] = [[] for _ in range(width)]
    ragged = []
    for i, row in enumerate(rows):
        ragged.append(i > 0 and len(row) != width)
        padded = (row + [None] * width)[:width]
        for c in range(width):
            value = padded[c]
            columns[c].append(value if value != "" else None)
    frame = pl.DataFrame(
        {f"column_{i + 1}": pl.Series(v, dtype=pl.String) for i, v in enumerate(columns)}
    )
    return frame.with_columns(pl.Series("_ragged", ragged, dtype=pl.Boolean))


def _read_csv(raw: bytes) -> tuple[list[str], pl.DataFrame, str, int]:
    text, encoding = _decode(raw)
    if "\r" in text and "\n" not in text:  # classic Mac line endings
        text = text.replace("\r", "\n")
    if not text.strip():
        return [], pl.DataFrame(), encoding, 0
    text, named, skipped = _preamble(text)
    separator = named or sniff_delimiter(text.split("\n", 1)[0])
    data = text.encode("utf-8")
    try:
        frame = pl.read_csv(data, has_header=False, infer_schema_length=0, separator=separator)
    except pl.exceptions.ComputeError:  # rows with more fields than the header
        frame = _read_ragged(text, separator)
    header, body, offset = _split_header(frame)
    return header, body, encoding, offset + skipped


def _split_header(frame: pl.DataFrame) -> tuple[list[str], pl.DataFrame, int]:
    """Find the header row: the first of the top rows that holds every required column (a
    spreadsheet may have a title or merged rows above it), else the first row. Returns the
    header, the rows below it and the header's 0-based position."""
    if frame.height == 0:
        return [], frame, 0
    required = set(refdata.required_columns())
    values = [c for c in frame.columns if c != "_ragged"]
    position = 0
    for i in range(min(HEADER_SEARCH_ROWS, frame.height)):
        cells = {canonical_header(str(v)) for v in frame.select(values).row(i) if v is not None}
        if required <= cells:
            position = i
            break
    header = [str(v) if v is not None else "" for v in frame.select(values).row(position)]
    return header, frame.slice(position + 1), position


def _uses_1904_dates(source: io.BytesIO) -> bool:
    """Does the workbook count dates from 1904 (<workbookPr date1904="1">)?"""
    with zipfile.ZipFile(source) as book:
        try:
            head = book.read("xl/workbook.xml")[:4096].decode("utf-8", "replace")
        except KeyError:
            return False
    return bool(re.search(r'date1904="(1|true)"', head))


EPOCH_1904 = dt.date(1904, 1, 1)


def _serials_from_1904(frame: pl.DataFrame) -> pl.DataFrame:
    """Bare serial numbers in the date columns of a 1904-system workbook, as ISO dates: read
    with the usual 1900 system they would land four years and a day early."""
    dates = [c for c in refdata.column_group("date") if c in frame.columns]
    serial = r"^\s*\d{4,5}(\.0+)?\s*$"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(serial))
        .then(
            (
                pl.lit(EPOCH_1904)
                + pl.duration(days=pl.col(c).str.strip_chars().cast(pl.Float64).cast(pl.Int64))
            ).cast(pl.String)
        )
        .otherwise(pl.col(c))
        .alias(c)
        for c in dates
    )


def _holds_contract(frame: pl.DataFrame) -> bool:
    """Do the top rows of a sheet hold every required column (a header row)?"""
    required = set(refdata.required_columns())
    for i in range(min(HEADER_SEARCH_ROWS, frame.height)):
        cells = {canonical_header(str(v)) for v in frame.row(i) if v is not None}
        if required <= cells:
            return True
    return False


def _pick_sheet(reader: fastexcel.ExcelReader, wanted: str | None) -> str:
    """The sheet to read: `wanted` if given; else a sheet called 'cases'; else the first sheet
    whose top rows hold the contract's header; else the first sheet."""
    names = reader.sheet_names
    if wanted is not None:
        match = [n for n in names if n.strip().lower() == wanted.strip().lower()]
        if not match:
            raise ValueError(f"no sheet {wanted!r}; sheets: {', '.join(map(repr, names))}")
        return match[0]
    for name in names:
        if name.strip().lower() == "cases":
            return name
    for name in names:
        top = reader.load_sheet(name, header_row=None, n_rows=HEADER_SEARCH_ROWS, dtypes="string")
        frame = pl.from_arrow(top.to_arrow())
        if isinstance(frame, pl.DataFrame) and frame.height and _holds_contract(frame):
            return name
    return names[0]


def _read_xlsx(
    data: bytes, wanted: str | None = None, result: FileRead | None = None
) -> tuple[list[str], pl.DataFrame, str, int]:
    if data[:4] == b"PK\x03\x04":  # a zip container (xlsx, xlsm, ods): check before parsing
        sheet_limits.check_zip_workbook(io.BytesIO(data))
        if result is not None:
            result.date1904 = _uses_1904_dates(io.BytesIO(data))
    sheet_limits.check_legacy_workbook(data)
    reader = fastexcel.read_excel(data)
    if result is not None:
        result.sheets = list(reader.sheet_names)
    sheet = _pick_sheet(reader, wanted)
    loaded = reader.load_sheet(sheet, header_row=None, dtypes="string")
    frame = pl.from_arrow(loaded.to_arrow())
    assert isinstance(frame, pl.DataFrame)
    header, body, offset = _split_header(frame)
    return header, body, sheet, offset


def _read_parquet(data: bytes) -> tuple[list[str], pl.DataFrame]:
    table = pq.read_table(io.BytesIO(data))
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    # Text is the common currency: dates become ISO text, booleans 'true'/'false', numbers digits.
    return frame.columns, frame.select(
        _as_text(name, dtype) for name, dtype in frame.schema.items()
    )


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A Parquet column as text. Time-zone-aware timestamps (pandas' default) become the date in
    England and Wales; nested columns (lists, structs) become readable text instead of making
    the whole file unreadable."""
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return column.dt.convert_time_zone("Europe/London").dt.date().cast(pl.String)
    if isinstance(dtype, pl.List | pl.Array):
        return column.cast(pl.List(pl.String)).list.join("; ")
    if isinstance(dtype, pl.Struct):
        return column.struct.json_encode()
    return column.cast(pl.String)


def _parse(
    path: Path, result: FileRead, sheet: str | None = None
) -> tuple[list[str], pl.DataFrame, int]:
    """Header, body (text) and the number of rows above the header, by file type. The file is
    read once, and its hash is taken from exactly the bytes parsed (a file changed or deleted
    during the run cannot give a manifest that disagrees with what was ingested)."""
    suffix = path.suffix.lower()
    if suffix not in CASE_SUFFIXES:
        raise ValueError("not a CSV, XLSX or Parquet file")
    data = read_regular(path)
    result.sha256 = hashlib.sha256(data).hexdigest()
    if suffix == ".csv":
        header, body, result.encoding, offset = _read_csv(data)
        if result.encoding.startswith("mixed"):
            log.warning(
                "%s: some lines are UTF-8 and others Windows-1252 (edited on two machines?); "
                "each line was read in its own encoding: check accented names",
                result.display_name,
            )
        return header, body, offset
    if suffix in SPREADSHEET_SUFFIXES:
        header, body, result.sheet, offset = _read_xlsx(data, sheet, result)
        return header, body, offset
    header, body = _read_parquet(data)
    return header, body, 0


def _has_values(body: pl.DataFrame, position: int) -> bool:
    """Does the column at `position` hold any value (a blank-headed column that does is worth
    a word; an empty one, e.g. from a trailing comma, is not)?"""
    if position >= body.width:
        return False
    return bool(body.to_series(position).drop_nulls().str.strip_chars().str.len_chars().sum())


def _header_problem(display: str, header: list[str], mapped: list[str]) -> str | None:
    """Why the header makes the file unusable (duplicated or missing columns), or None."""
    duplicates = sorted({m for m in mapped if m and mapped.count(m) > 1})
    if duplicates:
        return (
            f"{display}: the same column appears more than once after header matching: "
            f"{', '.join(duplicates)}"
        )
    missing = [c for c in refdata.required_columns() if c not in mapped]
    if missing:
        found = _columns_found(header, mapped) + _lookalike_hint(header, missing)
        return f"{display}: missing required column(s): {', '.join(missing)}. {found}"
    return None


CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁԛԝАВЕКМНОРСТХІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧοα", "aeopcyxijsdqwABEKMHOPCTXIJSABEZHIKMNOPTYXoa"
)
"""Cyrillic and Greek letters drawn like Latin ones: a header typed or pasted with one of them
looks right and matches nothing."""


def _lookalike_hint(header: list[str], missing: list[str]) -> str:
    """Name each header cell that would be a missing column but for a look-alike letter (a
    Cyrillic 'о' in 'rosh'), with the letter's code point, so the user can see what to retype."""
    hints = []
    for cell in header:
        latin = canonical_header(unicodedata.normalize("NFKC", cell).translate(CONFUSABLES))
        if latin in missing and latin != canonical_header(cell):
            odd = sorted({c for c in cell if not c.isascii()})
            letters = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in odd)
            hints.append(f"{cell!r} looks like {latin!r} but has the non-Latin letter(s) {letters}")
    return ". " + "; ".join(hints) + ": retype them" if hints else ""


FOUND_LIMIT = 10
"""Header cells named in a rejection note; the rest are counted."""
NAME_LIMIT = 40
"""Characters shown of one header cell."""


def _columns_found(header: list[str], mapped: list[str]) -> str:
    """The header's column names for a rejection note (console and manifest). Only a header
    that holds at least one contract column is quoted, at most ten names of at most 40
    characters: the first line of a file that is not an export (a note, a key or token in a
    file linked from elsewhere) is never copied out."""
    known = {*refdata.contract_columns()["column"].to_list(), "synthetic"}
    named = [h for h in header if h.strip()]
    if not any(m in known for m in mapped):
        return (
            f"None of its {len(named)} header cell(s) is a contract column (is this a case "
            "export?); the first line is not shown"
        )
    shown = [repr(h if len(h) <= NAME_LIMIT else h[:NAME_LIMIT] + "...") for h in named]
    more = len(shown) - FOUND_LIMIT
    text = ", ".join(shown[:FOUND_LIMIT]) + (f" and {more} more" if more > 0 else "")
    return f"Columns found: {text}"


def _contract_frame(
    body: pl.DataFrame, mapped: list[str], ragged: pl.Series | None, display: str, result: FileRead
) -> pl.DataFrame:
    """The contract's columns (absent optional ones empty) with provenance, as text."""
    contract = refdata.contract_columns()["column"].to_list()
    known = {*contract, "synthetic"}
    body = body.rename(dict(zip(body.columns, mapped, strict=True)))
    flags = ragged if ragged is not None else pl.repeat(False, body.height, dtype=pl.Boolean)
    frame = (
        body.select([c for c in mapped if c in known])
        .with_columns(pl.all().cast(pl.String))
        .with_columns(flags.alias("_ragged"))
    )
    absent = [c for c in (*contract, "synthetic") if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in absent)
    return frame.select(
        pl.lit(display).alias("source_file"),
        pl.lit(result.sheet, dtype=pl.String).alias("sheet"),
        *contract,
        "synthetic",
        "_ragged",
    )


def _drop_blank_rows(frame: pl.DataFrame, result: FileRead) -> pl.DataFrame:
    """Rows that are entirely blank (trailing rows a spreadsheet leaves behind) are not records."""
    contract = refdata.contract_columns()["column"].to_list()
    blank = pl.all_horizontal(
        pl.col([*contract, "synthetic"]).str.strip_chars().fill_null("") == ""
    )
    n_blank = frame.select(blank.sum()).item()
    if n_blank:
        log.info("%s: %d blank row(s) skipped", result.display_name, n_blank)
        result.rows_read -= n_blank
        result.blank_rows = n_blank
        return frame.filter(~blank)
    return frame


def printable_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (a name made on another system) are shown
    as the replacement character instead of breaking every message and file that names it."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_case_file(path: Path, raw_dir: Path | None = None, sheet: str | None = None) -> FileRead:
    """Read one case file into text columns with canonical names and provenance.

    Never raises for bad input: an unreadable file or one missing required columns comes back
    with `error` set (and `rows_read` counted where the rows could be counted).
    """
    display = printable_name(path.relative_to(raw_dir).as_posix() if raw_dir else path.name)
    result = FileRead(path=path, display_name=display)
    try:
        # rows above the header (titles, merged cells) are not records
        header, body, offset = _parse(path, result, sheet)
    except (sheet_limits.UnsafeWorkbook, NotRegularFile, ReadTimeout) as exc:
        result.error = f"{display}: not read, {exc}"
        return result
    except Exception as exc:  # any reader failure is a property of the file, not a crash
        result.error = f"{display}: could not be read ({type(exc).__name__}: {_short(exc)})"
        return result
    result.rows_read = body.height
    if not header:
        result.error = f"{display}: empty file (no header row)"
        return result
    ragged = body["_ragged"] if "_ragged" in body.columns else None
    body = body.drop("_ragged", strict=False)
    # a blank header cell (a trailing comma, a note typed right of the table) names no column
    mapped = [canonical_header(h) or f"_blank_{i + 1}" for i, h in enumerate(header)]
    where = f"{display} (sheet {result.sheet!r})" if result.sheet else display
    result.error = _header_problem(where, header, mapped)
    if result.error and len(result.sheets) > 1 and "missing required" in result.error:
        others = ", ".join(repr(n) for n in result.sheets if n != result.sheet)
        result.error += (
            f". No sheet of this workbook holds the required columns in its top rows; "
            f"other sheets: {others}. Name the sheet to read with --sheet"
        )
    if result.error:
        return result
    known = {*refdata.contract_columns()["column"].to_list(), "synthetic"}
    result.unmapped_columns = [
        h if h.strip() else f"(blank header, column {i + 1})"
        for i, (h, m) in enumerate(zip(header, mapped, strict=True))
        if m not in known and (h.strip() or _has_values(body, i))
    ]
    frame = _contract_frame(body, mapped, ragged, display, result).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2 + offset).alias("source_row")
    )
    frame = frame.select("source_file", "sheet", "source_row", pl.exclude(PROVENANCE))
    if result.date1904:
        frame = _serials_from_1904(frame)
    result.frame = _drop_blank_rows(frame, result)
    return result


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def read_case_files(
    paths: list[Path],
    raw_dir: Path | None = None,
    workers: int | None = None,
    sheet: str | None = None,
) -> list[FileRead]:
    """Read several files concurrently (the parsers release the GIL), keeping their order;
    `sheet` names the worksheet to read in every XLSX file."""
    workers = workers or min(len(paths), os.cpu_count() or 1) or 1
    if workers == 1:
        return [read_case_file(p, raw_dir, sheet) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: read_case_file(p, raw_dir, sheet), paths))
