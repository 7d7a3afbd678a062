"""Workbook guards: refuse, before the Excel reader sees it, a workbook that would make it
allocate the sheet's whole extent and abort the process (an abort cannot be caught; the good files
beside it would be lost).

The reader (calamine) allocates rows x columns for a sheet's used range. Nothing a file declares is
trusted: an OOXML sheet's `<dimension>` is optional, may understate and may sit anywhere, so the
extent is measured from the cells it holds; an OpenDocument sheet's extent is counted from its
rows and cells with their repeat counts; a legacy Excel 97-2003 (BIFF) workbook is opened first in
a child process with a memory limit, since its cells carry 16-bit addresses beyond the format's
own 65,536 x 256 grid and a stray one aborts the reader (seen: SIGABRT at row 60,000, column
65,000)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from typing import IO

MAX_XLSX_CELLS = 50_000_000
"""A worksheet whose declared extent is larger than this is refused before it is parsed: one
stray cell at XFD1048576 declares 17 billion cells, and the Excel reader then tries to allocate
hundreds of GiB and aborts the whole process (an abort cannot be caught)."""
MAX_XLSX_UNPACKED = 2 * 1024**3
"""Refuse a workbook whose parts would unpack to more than this (a zip bomb): 2 GiB."""


class UnsafeWorkbook(ValueError):
    """A workbook the reader must not open: it would exhaust memory and abort the process."""


def check_zip_workbook(path: IO[bytes]) -> None:
    """Refuse, before parsing, a workbook that would abort the reader: too large unpacked, or
    a sheet that reaches an absurd extent. The extent is measured from the cells the sheet
    holds, not taken from its <dimension>: that element is optional, may understate the range
    and may sit anywhere. Every XML part is measured, whatever it is called."""
    with zipfile.ZipFile(path) as book:
        parts = book.infolist()
        unpacked = sum(p.file_size for p in parts)
        if unpacked > MAX_XLSX_UNPACKED:
            raise UnsafeWorkbook(
                f"the workbook would unpack to {unpacked / 1024**3:.1f} GiB (limit 2 GiB); "
                "save it again from Excel or export the sheet as CSV"
            )
        for part in parts:
            if part.filename.lower().endswith(".xml"):
                with book.open(part) as stream:
                    _check_extent(_sheet_extent(stream))
                if part.filename.lower().endswith("content.xml"):  # OpenDocument
                    with book.open(part) as stream:
                        _check_extent(_ods_extent(stream))


def _check_extent(extent: tuple[int, int, str]) -> None:
    """Refuse a sheet whose rows x columns exceed the cell limit."""
    rows, columns, where = extent
    if rows * columns > MAX_XLSX_CELLS:
        raise UnsafeWorkbook(
            f"a sheet {where} {_column_letters(columns)}{rows} ({rows * columns:,} cells): a "
            "stray cell far from the table. Delete the empty rows and columns after the table "
            "in Excel, or export the sheet as CSV"
        )


CELL_REF = re.compile(
    rb"""<(?:[\w.-]+:)?c\s[^>]*?(?<=\s)r\s*=\s*["']([A-Z]{1,4})([0-9]{1,9})["']"""
)
"""A cell with its reference (`<c r="B7" ...>`, any namespace prefix, either quote)."""
ROW_REF = re.compile(rb"""<(?:[\w.-]+:)?row\s[^>]*?(?<=\s)r\s*=\s*["']([0-9]{1,9})["']""")
ANY_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
DIMENSION = re.compile(
    rb"""<(?:[\w.-]+:)?dimension\s[^>]*?ref\s*=\s*["'][A-Z]{1,4}[0-9]{1,9}:([A-Z]{1,4})([0-9]{1,9})"""
)
SHEET_CHUNK = 1 << 20


def _tag_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The decompressed part in pieces that each end before a `<`, so no tag is split."""
    rest = b""
    while chunk := stream.read(SHEET_CHUNK):
        data = rest + chunk
        cut = data.rfind(b"<")
        cut = cut if cut > 0 else len(data)
        yield data[:cut]
        rest = data[cut:]
    if rest:
        yield rest


def _sheet_extent(stream: IO[bytes]) -> tuple[int, int, str]:
    """(rows, columns, wording) the sheet reaches: the largest of its declared <dimension> and
    every cell and row reference. Cells without a reference (they follow the previous one)
    are counted positionally by `_positional_extent`."""
    rows = columns = declared = 0
    positional = False
    for chunk in _tag_chunks(stream):
        refs = CELL_REF.findall(chunk)
        if refs:
            rows = max(rows, max(int(r) for _, r in refs))
            columns = max(columns, max(_column_number(c.decode()) for c in {c for c, _ in refs}))
        row_refs = ROW_REF.findall(chunk)
        rows = max(rows, max((int(r) for r in row_refs), default=0))
        positional = positional or len(ANY_CELL.findall(chunk)) > len(refs)
        for letters, number in DIMENSION.findall(chunk):
            declared = max(declared, _column_number(letters.decode()) * int(number))
            if declared > MAX_XLSX_CELLS:
                return int(number), _column_number(letters.decode()), "declares cells up to"
    if positional:
        stream.seek(0)
        rows, columns = _positional_extent(stream, rows, columns)
    return rows, columns, "has cells up to"


TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
REF_ATTRIBUTE = re.compile(rb"""(?<=\s)r\s*=\s*["']([A-Z]{0,4})([0-9]{1,9})["']""")


def _positional_extent(stream: IO[bytes], rows: int, columns: int) -> tuple[int, int]:
    """The extent when some cells or rows carry no reference: walk every row and cell tag,
    a row without `r` following the previous row and a cell without `r` the previous cell."""
    row = column = 0
    for chunk in _tag_chunks(stream):
        for kind, attributes in TAG.findall(chunk):
            ref = REF_ATTRIBUTE.search(attributes)
            if kind == b"row":
                row, column = (int(ref.group(2)) if ref else row + 1), 0
            elif ref and ref.group(1):
                column, row = _column_number(ref.group(1).decode()), int(ref.group(2))
            else:
                column += 1
            rows, columns = max(rows, row), max(columns, column)
    return rows, columns


def _column_letters(number: int) -> str:
    """Spreadsheet column letters of a 1-based column number (16384 -> XFD)."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


ODS_TAG = re.compile(
    rb"<(/?)(?:[\w.-]+:)?(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*?)(/?)>"
)
ROWS_REPEATED = re.compile(rb"""number-rows-repeated\s*=\s*["']([0-9]{1,10})["']""")
COLUMNS_REPEATED = re.compile(rb"""number-columns-repeated\s*=\s*["']([0-9]{1,10})["']""")
VALUE_TYPE = re.compile(rb"value-type\s*=")


def _ods_extent(stream: IO[bytes]) -> tuple[int, int, str]:
    """(rows, columns, wording) of the largest used range of any sheet in an OpenDocument
    `content.xml`: a row repeated n times counts n rows, a cell repeated n times n columns, and
    the range ends at the last cell holding something (a value type, or text inside it)."""
    worst = (0, 0)
    rows = columns = row = column = row_repeat = 0
    for chunk in _tag_chunks(stream):
        for closing, kind, attributes, empty in ODS_TAG.findall(chunk):
            if kind == b"table" and not closing:
                rows = columns = row = 0
            elif kind == b"table-row" and not closing:
                match = ROWS_REPEATED.search(attributes)
                row_repeat, column = (int(match.group(1)) if match else 1), 0
                row += row_repeat
            elif kind in (b"table-cell", b"covered-table-cell") and not closing:
                match = COLUMNS_REPEATED.search(attributes)
                column += int(match.group(1)) if match else 1
                if VALUE_TYPE.search(attributes) or not empty:
                    rows, columns = max(rows, row), max(columns, column)
            if rows * columns > worst[0] * worst[1]:
                worst = (rows, columns)
    return worst[0], worst[1], "has cells up to"


LEGACY_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
"""The first bytes of an OLE2 compound file: an Excel 97-2003 (.xls) workbook."""
PROBE_MEMORY = 3 * 1024**3
"""Address space the child process that opens a legacy workbook may use: a sheet within the
format's grid (65,536 x 256 cells) reads in well under this."""
PROBE_SECONDS = 120.0
_PROBE = (
    "import resource, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "import fastexcel\n"
    "reader = fastexcel.read_excel(sys.stdin.buffer.read())\n"
    "for name in reader.sheet_names:\n"
    "    reader.load_sheet(name, header_row=None, dtypes='string')\n"
)
"""The child: limits its own address space before the reader is imported (no `preexec_fn`,
which is unsafe in a process with threads), then opens every sheet."""


def check_legacy_workbook(data: bytes, memory: int | None = None) -> None:
    """Open every sheet of a legacy (.xls) workbook in a child process limited to `memory`
    bytes of address space (default PROBE_MEMORY): if the reader aborts or runs out there,
    the workbook is refused here and this process goes on. Other formats pass at once."""
    if not data.startswith(LEGACY_MAGIC):
        return
    limit = PROBE_MEMORY if memory is None else memory
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE, str(limit)],
            input=data,
            capture_output=True,
            timeout=PROBE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UnsafeWorkbook(
            f"the workbook took more than {PROBE_SECONDS:g} s to open; save it again from "
            "Excel as .xlsx or export the sheet as CSV"
        ) from None
    out_of_memory = (b"MemoryError", b"memory allocation", b"Cannot allocate memory")
    if probe.returncode < 0 or any(sign in probe.stderr for sign in out_of_memory):
        raise UnsafeWorkbook(
            f"a sheet reaches so far that opening it needs more than {limit / 1024**3:.0f} GiB "
            "(a stray cell far from the table). Delete the empty rows and columns after the "
            "table in Excel and save as .xlsx, or export the sheet as CSV"
        )
