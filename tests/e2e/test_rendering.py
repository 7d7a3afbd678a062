"""Every bulletin as a reader meets it: axe-core (WCAG 2.2 A and AA) in the system Chromium over
each HTML page, and each PDF read back with poppler (pdfinfo, pdftotext): a title, no syntax
errors, no heading left at the foot of a page, no text beyond the page margins.

axe-core and puppeteer-core (which drives an installed Chromium and downloads none) come from the
npm registry at the versions in tests/axe/package-lock.json, installed into tests/axe/node_modules
on first use. The accessibility test is skipped, saying why, only when Chromium is absent;
`.ci/run` installs Chromium, Node and poppler-utils where they are missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from pipeline import refdata
from pipeline.bulletins import bulletin, document, index_page
from pipeline.domain import NATIONAL

pytestmark = pytest.mark.slow

AXE = Path(__file__).parents[1] / "axe"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
XHTML = "{http://www.w3.org/1999/xhtml}"
MARGIN = 2 / 2.54 * 72  # the PDF's 2 cm page margin, in points
HEADING_SIZE = (13.9, 15.0)  # line height of a 14 pt section heading in pdftotext's boxes
BELOW_A_HEADING = 60  # points of content a heading needs under it on its page (about 4 lines)


@pytest.fixture(scope="module")
def bulletins(sample_release: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """All 13 bulletins (12 regions and England and Wales), HTML and PDF."""
    out = tmp_path_factory.mktemp("rendered")
    written = {}
    for region in [*refdata.region_names(), NATIONAL]:
        folder = out / refdata.region_slug(region)
        report = bulletin.Bulletin.load(sample_release, region, output_dir=folder)
        document.write(report, folder)
        written[region] = folder
    index_page.write_index(sample_release, out)
    return written


def _axe_installed() -> Path:
    script = AXE / "run_axe.mjs"
    if not (AXE / "node_modules" / "axe-core").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install axe-core (Node.js; .ci/run installs it)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AXE, check=True)
    return script


def test_axe_finds_no_violations_in_any_bulletin_or_the_index_page(
    bulletins: dict[str, Path],
) -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): axe-core needs it")
    script = _axe_installed()
    node = shutil.which("node")
    assert node, "Node.js is needed to run axe-core"
    pages = [str(folder / "bulletin.html") for folder in bulletins.values()]
    index = next(iter(bulletins.values())).parent / index_page.INDEX_NAME
    assert index.is_file(), "the index page of the batch"
    pages.append(str(index))
    run = subprocess.run(
        [node, str(script), CHROMIUM, *pages], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout)
    assert set(results) == set(pages)
    found = {
        Path(page).relative_to(index.parent).as_posix(): [
            f"{v['id']} ({v['count']}): {v['nodes'][:2]}" for v in violations
        ]
        for page, violations in results.items()
        if violations
    }
    assert not found, found


def _poppler(*command: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is missing: apt-get install poppler-utils (.ci/run does)")
    return subprocess.run(command, capture_output=True, text=True, check=True)


def _page_lines(pdf: Path) -> list[tuple[float, float, list[tuple[dict[str, float], str]]]]:
    """Each page's width, height and text lines (bounding box, words) from pdftotext."""
    root = ElementTree.fromstring(_poppler("pdftotext", "-bbox-layout", str(pdf), "-").stdout)
    pages = []
    for page in root.iter(f"{XHTML}page"):
        lines = []
        for line in page.iter(f"{XHTML}line"):
            box = {k: float(line.get(k, "0")) for k in ("xMin", "yMin", "xMax", "yMax")}
            lines.append((box, " ".join(w.text or "" for w in line.iter(f"{XHTML}word"))))
        pages.append((float(page.get("width", "0")), float(page.get("height", "0")), lines))
    return pages


@pytest.mark.parametrize("region", [*refdata.region_names(), NATIONAL])
def test_the_pdf_has_a_title_and_no_syntax_errors(bulletins: dict[str, Path], region: str) -> None:
    pdf = bulletins[region] / "bulletin.pdf"
    info = _poppler("pdfinfo", str(pdf))
    assert "Error" not in info.stderr, info.stderr
    title = [line for line in info.stdout.splitlines() if line.startswith("Title:")]
    assert title, "the PDF has a document title"
    assert f"Probation casework quality in {region}" in title[0]
    text = _poppler("pdftotext", str(pdf), "-")
    assert "Error" not in text.stderr, text.stderr


@pytest.mark.parametrize("region", ["Wales", NATIONAL])
def test_no_heading_ends_a_page_and_no_text_leaves_it(
    bulletins: dict[str, Path], region: str
) -> None:
    """A section heading keeps its finding and chart on its page (the last heading on a page
    has at least four lines' worth of content under it); every line is inside the margins."""
    pages = _page_lines(bulletins[region] / "bulletin.pdf")
    for number, (width, height, lines) in enumerate(pages, start=1):
        for box, text in lines:
            assert box["xMin"] >= MARGIN - 1, f"p. {number}: {text!r} left of the margin"
            assert box["xMax"] <= width - MARGIN + 1, f"p. {number}: {text!r} past the margin"
            assert box["yMax"] <= height, f"p. {number}: {text!r} below the page"
        body = [(box, text) for box, text in lines if box["yMax"] < height - MARGIN]
        headings = [
            (box, text)
            for box, text in body
            if HEADING_SIZE[0] < box["yMax"] - box["yMin"] < HEADING_SIZE[1]
        ]
        if not headings or number == len(pages):
            continue
        box, text = max(headings, key=lambda line: line[0]["yMin"])
        below = max(other["yMax"] for other, _ in body) - box["yMax"]
        assert below >= BELOW_A_HEADING, f"p. {number}: heading {text!r} at the foot of the page"
