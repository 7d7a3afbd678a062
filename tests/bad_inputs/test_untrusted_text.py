"""User text reaches the terminal as text: never as Rich markup, never as control codes.

Each CLI entry point is fed file names, headers, values, ids and arguments holding markup
(`[/red]`, `[/i]`, `[/link]`, `Cases [final].csv`) and terminal escapes (clear screen, retitle,
colour); the command must not fail with a traceback and must show the text literally, with
ESC as the four characters `\\x1b`."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.terminal import SafeConsole, SafeFormatter, visible
from tests.helpers import rows_frame, valid_row, write_csv

CLEAR = "\x1b[2J"
RETITLE = "\x1b]0;pwned\x07"
IDS = ["PDU-0", "[/i] PDU-1", f"PDU-{RETITLE}-2", "PDU-[/red]3"]


def _cli(*args: str | Path, cwd: Path) -> tuple[int, str]:
    """Run `python -m pipeline` as a user would; returns the exit code and everything shown."""
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        capture_output=True, text=True, errors="replace", cwd=cwd, env=env, timeout=300,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def _assert_literal(shown: str, *texts: str) -> None:
    assert "Traceback" not in shown, shown
    assert "MarkupError" not in shown, shown
    assert "\x1b" not in shown, repr(shown)
    assert "\x07" not in shown, repr(shown)
    for text in texts:
        assert text in shown, (text, shown)


def _rows(tag: str, n: int = 20, **overrides: str) -> list[dict]:
    return [valid_row(case_id=f"{tag}{i}", inspection_id=IDS[i % 4], **overrides) for i in range(n)]


def _hostile_exports(raw: Path) -> None:
    """Exports whose names, headers and ids hold markup and escapes, one of them unusable."""
    raw.mkdir(parents=True)
    write_csv(raw / "Cases [final].csv", _rows("A"))
    write_csv(raw / f"export[{CLEAR}.csv", _rows("B"))
    extra = rows_frame(_rows("C"))
    extra.with_columns(extra["case_id"].alias("[/red]")).write_csv(raw / "extra.csv")
    (raw / "bad.csv").write_text(f"[/red],{CLEAR}foo\n1,2\n")


def test_run_shows_names_headers_and_ids_literally(tmp_path: Path) -> None:
    _hostile_exports(tmp_path / "raw")
    code, shown = _cli("run", "--raw", "raw", "--out", "out", cwd=tmp_path)
    assert code == 0, shown
    _assert_literal(shown, "Cases [final].csv", "export[\\x1b[2J.csv", "[/red]")


def test_validate_shows_rejected_values_and_ids_literally(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _hostile_exports(raw)
    rows = _rows("D", gender="[/link]")
    rows[1]["rosh"] = "\x1b[31mhuge"
    write_csv(raw / "export[" / "i].csv", rows)  # shown as export[/i].csv
    code, shown = _cli("validate", *sorted(raw.rglob("*.csv")), "--verbose", cwd=tmp_path)
    assert code == 0, shown
    _assert_literal(
        shown, "Cases [final].csv", "export[/i].csv", "[/link]", "[/i] PDU-1", "\\x1b[31mhuge"
    )


def test_rate_shows_inspection_ids_literally(tmp_path: Path) -> None:
    (tmp_path / "rates.csv").write_text(
        "inspection_id,standard,key_question,pct\n"
        "[/i] PDU-1,assessment,assessment_engagement,80\n"
        f"{CLEAR}X,assessment,assessment_safety,70\n"
    )
    code, shown = _cli("rate", "rates.csv", cwd=tmp_path)
    assert code == 0, shown
    _assert_literal(shown, "[/i] PDU-1", "\\x1b[2JX")


@pytest.mark.parametrize("region", ["[/red]", "[/i]", CLEAR, RETITLE])
def test_bulletins_regions_are_shown_literally(tmp_path: Path, region: str) -> None:
    code, shown = _cli("bulletins", "--regions", region, cwd=tmp_path)
    assert code == 2, shown
    _assert_literal(shown, "not one of the 12 regions", visible(region, lines=False))


def test_a_missing_file_name_with_escapes_is_named_literally(tmp_path: Path) -> None:
    code, shown = _cli("validate", f"x{CLEAR}[/red].csv", cwd=tmp_path)
    assert code == 2
    _assert_literal(shown, "x\\x1b[2J[/red].csv")


def test_visible_escapes_control_characters_and_keeps_text() -> None:
    assert visible("Cases [final].csv") == "Cases [final].csv"
    assert visible("a\x1b[2Jb\rc\x9bd\u202ee") == "a\\x1b[2Jb\\x0dc\\x9bd\\u202ee"
    assert visible("two\nlines") == "two\nlines"
    assert visible("two\nlines", lines=False) == "two\\x0alines"
    assert visible(os.fsdecode(b"caf\xe9.csv")) == "caf\ufffd.csv"


def test_the_console_never_parses_markup() -> None:
    console = SafeConsole(record=True, width=200, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print("[/red] Cases [final].csv [bold]x[/bold] :smile:")
    assert console.export_text().strip() == "[/red] Cases [final].csv [bold]x[/bold] :smile:"


def test_log_lines_show_arguments_on_one_line_and_escapes_visibly() -> None:
    record = logging.LogRecord(
        "pipeline", logging.WARNING, __file__, 1, "skipped %s", (f"a{CLEAR}\nb.csv",), None
    )
    line = SafeFormatter("%(levelname)s %(message)s").format(record)
    assert line == "WARNING skipped a\\x1b[2J\\x0ab.csv"
