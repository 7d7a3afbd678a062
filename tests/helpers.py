"""Builders for small case exports used across the stage tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline import refdata
from pipeline.disclosure import release_tables
from pipeline.domain import KEY_QUESTIONS
from pipeline.tables import build as tables
from pipeline.tables.build import Publication


def valid_row(**overrides: str | None) -> dict[str, str | None]:
    """One canonical, valid post-unification case row (all text), with overrides."""
    row: dict[str, str | None] = {
        "inspection_id": "PDU-2022-test",
        "inspection_type": "pdu",
        "framework": "2021",
        "unit_name": "Test PDU",
        "region": "London",
        "provider": "PS",
        "fieldwork_start": "2022-05-09",
        "fieldwork_end": "2022-05-20",
        "publication_date": "2022-08-01",
        "case_id": "X1",
        "case_type": "community",
        "question_set": "core",
        "start_date": "2021-11-01",
        "rosh": "medium",
        "mappa_level": "0",
        "gender": "male",
        "ethnicity": "white",
        "age_band": "25-34",
        "da_concern": "true",
        "cs_concern": "false",
        "da_enquiry": "yes",
        "cs_enquiry": "na",
    }
    row.update(dict.fromkeys(KEY_QUESTIONS, "yes"))
    row.update(overrides)
    return row


def rows_frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    columns = refdata.contract_columns()["column"].to_list()
    return pl.DataFrame(
        [{c: r.get(c) for c in columns} for r in rows], schema=dict.fromkeys(columns, pl.String)
    )


def write_csv(path: Path, rows: list[dict[str, str | None]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows_frame(rows).write_csv(path)
    return path


def released(
    cases: pl.DataFrame,
    answers: pl.DataFrame,
    inspections: pl.DataFrame,
    published: pl.DataFrame,
    threshold: int | None = None,
    prompt_answers: pl.DataFrame | None = None,
    rationales: pl.DataFrame | None = None,
) -> Publication:
    """The tables a release of these case tables would publish (nothing written)."""
    data = tables.CaseData.of(
        cases, answers, inspections, prompt_answers=prompt_answers, rationales=rationales
    )
    models = tables.model_tables(data, refdata.settings())
    return release_tables.build_release(data, models, published, threshold=threshold)


def stray_cell_workbook(
    path: Path, dimension: str | None = None, padding: int = 0, positional: bool = False
) -> Path:
    """A small hand-made XLSX whose one sheet has a header cell and a cell at XFD1048576.

    `dimension` is the <dimension ref> written (None: no element, which OOXML allows);
    `padding` bytes of XML comment come before it (so it is not in the first 4 KB);
    `positional` writes the far cell without an `r` reference, placed by a row of empty cells."""
    import zipfile

    far = (
        '<row r="1048576">' + "<c/>" * 16383 + '<c t="inlineStr"><is><t>x</t></is></c></row>'
        if positional
        else '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + ("<!--" + " " * padding + "-->" if padding else "")
        + (f'<dimension ref="{dimension}"/>' if dimension else "")
        + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>case_id</t></is></c></row>'
        + far
        + "</sheetData></worksheet>"
    )
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{ns}/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/'
            'relationships"><sheets><sheet name="cases" sheetId="1" r:id="rId1"/></sheets>'
            "</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{ns}/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text)
    return path


def stray_cell_ods(path: Path, rows_repeated: int, columns_repeated: int) -> Path:
    """A small hand-made OpenDocument sheet: a header row, then `rows_repeated` empty rows (one
    `number-rows-repeated` row, as LibreOffice writes them) and a row whose one value sits after
    `columns_repeated` empty cells. Nothing declares the extent: it is counted."""
    import zipfile

    ns = 'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    ns += 'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    ns += 'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    cell = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Cases">'
        f"<table:table-row>{cell.format('case_id')}</table:table-row>"
        f'<table:table-row table:number-rows-repeated="{rows_repeated}"><table:table-cell/>'
        "</table:table-row><table:table-row>"
        f'<table:table-cell table:number-columns-repeated="{columns_repeated}"/>{cell.format("x")}'
        "</table:table-row></table:table></office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        book.writestr("content.xml", content)
        book.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
            ' manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
    return path


def stray_cell_xls(path: Path) -> Path:
    """A legacy Excel 97-2003 workbook with one cell moved to row 60,001, column 65,001 (BIFF
    cells carry 16-bit addresses beyond the format's 65,536 x 256 grid). Made from the small
    .xls test workbook statsmodels ships (BSD licence) by rewriting the address of its first
    LABELSST record in place, so the compound file stays valid. The Excel reader, given it,
    aborts the process (SIGABRT, memory allocation failed)."""
    import statsmodels

    source = Path(statsmodels.__file__).parent.joinpath(
        "tsa", "statespace", "tests", "results", "frbny_nowcast", "Nowcasting", "test_spec.xls"
    )
    data = bytearray(source.read_bytes())
    at = data.find(b"\xfd\x00\x0a\x00")  # LABELSST: type 0x00FD, 10 bytes: row, column, ...
    data[at + 4 : at + 8] = (60000).to_bytes(2, "little") + (65000).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path
