"""`probation`: the one entry point for every job (also `python -m pipeline`).

The CLI is the top layer: it configures logging once, turns user input into stage calls, prints
summaries and maps failures to exit codes (0 success, 1 internal error, 2 unusable input).
Stages never print or exit; they return results or raise.
"""

from __future__ import annotations

import io
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from pipeline import config
from pipeline.config import DEFAULT_SEED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_UNUSABLE_INPUT
from pipeline.terminal import SafeConsole, SafeFormatter, cell, styled, visible

if TYPE_CHECKING:
    from pipeline.run import RunResult
    from pipeline.stages import validate


class _PlainHelp:
    """--help with no value type beside it (Typer would print `<bool>`)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class _Command(_PlainHelp, TyperCommand):
    """Every command of the CLI."""


class _Group(_PlainHelp, TyperGroup):
    """The top-level group."""


app = typer.Typer(
    cls=_Group,
    name="probation",
    help=(
        "Probation inspection analytics: synthetic sample, pipeline, trend tables, bulletins."
        "\n\n"
        "Typical day: `probation sample` (or drop an export in data/raw/), then `probation run`."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = SafeConsole(stderr=True)
"""Every string printed is plain text (pipeline/terminal.py): user text is never markup."""


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("probation-inspection-analytics")
        except PackageNotFoundError:  # pragma: no cover - run from a source tree
            number = "unknown"
        print(f"probation {number}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the version and exit.",
            callback=_version,
            is_eager=True,
            metavar="",
        ),
    ] = False,
) -> None:
    """Probation inspection analytics: synthetic sample, pipeline, trend tables, bulletins."""


def _configure_logging(quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


@app.command(cls=_Command)
def sample(
    out: Annotated[Path, typer.Option(help="Folder to write the export files into.")] = (
        config.SAMPLE_DIR
    ),
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives identical files.")] = (
        DEFAULT_SEED
    ),
    scale: Annotated[
        float,
        typer.Option(help="Multiplies cases per inspection; 100 gives about 13 million answers."),
    ] = 1.0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors.", metavar="")
    ] = False,
) -> None:
    """Write the seeded synthetic sample (CSV and XLSX exports in the data contract's form).

    The sample is NOT real data: it mirrors the inspection programme's structure and is
    calibrated to a few published national figures, printed at the end.
    """
    from pipeline.synthetic.sample import generate_sample

    _configure_logging(quiet, False)
    if scale <= 0:
        console.print(styled("error:", "--scale must be positive"))
        raise typer.Exit(EXIT_UNUSABLE_INPUT)
    with console.status(f"generating synthetic sample (seed {seed}, scale {scale})..."):
        summary = generate_sample(out, seed=seed, scale=scale)
    if quiet:
        return
    table = Table(title=f"Synthetic sample written to {out}", title_justify="left")
    for col in ("file", "rows", "invalid rows planted"):
        table.add_column(col, justify="right" if col != "file" else "left")
    for name, rows in summary.files.items():
        planted = sum(len(v) for v in summary.injected[name].values())
        table.add_row(cell(name), f"{rows:,}", f"{planted:,}")
    console.print(table)
    console.print(f"{summary.n_cases:,} cases, {summary.n_answers:,} key-question answers.")
    if scale == 1.0:
        _print_calibration(seed, scale)


def _print_calibration(seed: int, scale: float) -> None:
    from pipeline.synthetic import calibration
    from pipeline.synthetic.sample import canonical_cases

    report = calibration.calibration_report(canonical_cases(seed=seed, scale=scale))
    cal = Table(title="Calibration against published figures", title_justify="left")
    for col in ("target", "published %", "sample %", "n", "met"):
        cal.add_column(col, justify="left" if col == "target" else "right")
    for row in report.iter_rows(named=True):
        sample_pct = "-" if row["sample_pct"] is None else f"{row['sample_pct']:.1f}"
        target = _target_text(row)
        cal.add_row(
            row["target_id"],
            target,
            sample_pct,
            f"{row['n_applicable']:,}",
            "yes" if row["met"] else styled("NO"),
        )
    console.print(cal)


def _target_text(row: dict[str, Any]) -> str:
    """The published figure as the calibration table shows it: '< 50', '> 50', '64 cases',
    'lowest < 20', '35 ± 4'."""
    comparison = row["comparison"]
    if comparison == "exact":
        return str(row["target_counts"]).replace("applicable", "cases")
    if comparison in ("below", "above"):
        return f"{'<' if comparison == 'below' else '>'} {row['target_pct']:g}"
    if comparison == "some_below":
        return f"lowest < {row['target_pct']:g}"
    return f"{row['target_pct']:g} ± {row['tolerance_pp']:g}"


@app.command(cls=_Command)
def run(
    raw: Annotated[Path, typer.Option(help="Folder of case exports (and published/).")] = (
        config.RAW_DIR
    ),
    out: Annotated[Path, typer.Option(help="Folder for tables and the DuckDB database.")] = (
        config.PROCESSED_DIR
    ),
    cohorts: Annotated[
        Path | None,
        typer.Option(
            help="CSV of extra cohorts to tabulate (columns as pipeline/reference/cohorts.csv: "
            "cohort, label, inspection_types, programmes, fieldwork_from/to, published_from/to, "
            "source).",
            dir_okay=False,
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            help="Worksheet to read in XLSX files (default: 'cases', else the first "
            "sheet whose top rows hold the required columns)."
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors.", metavar="")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug detail.", metavar="")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Run in full even when the inputs, reference data and code are those of the "
            "last run in --out (whose unchanged outputs are otherwise kept).",
            metavar="",
        ),
    ] = False,
) -> None:
    """Ingest, validate, derive, tabulate and store every case export under --raw.

    Writes cases, answers, inspections, rejected rows (with every reason), published figures,
    probation.duckdb and manifest.json to --out. Exit 0 on success (quarantined rows are
    reported, not fatal), 2 when the input is unusable, 1 on an internal error.
    """
    _configure_logging(quiet, verbose)
    result = _run_guarded(raw, out, cohorts, quiet, sheet, force)
    if not quiet:
        _print_run(result, raw, out)


def _run_guarded(
    raw: Path,
    out: Path,
    cohorts: Path | None,
    quiet: bool,
    sheet: str | None = None,
    force: bool = False,
) -> RunResult:
    """The pipeline with a status line; its known failures become exit codes with a message."""
    from pipeline.run import UnusableInputError, run_pipeline

    try:
        if quiet:
            return run_pipeline(raw, out, cohorts_file=cohorts, sheet=sheet, force=force)
        with console.status("starting") as status:
            return run_pipeline(
                raw,
                out,
                on_stage=lambda name: status.update(f"{name}..."),
                cohorts_file=cohorts,
                sheet=sheet,
                force=force,
            )
    except UnusableInputError as exc:
        console.print(styled("unusable input:", exc))
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from None
    except Exception as exc:
        # imported here: the contracts module loads the table builders, which a run whose
        # outputs are kept never needs
        from pipeline.outputs.contracts import ContractViolation

        if not isinstance(exc, ContractViolation):
            raise
        console.print(styled("an output table breaks its contract; nothing was written:", exc))
        console.print("This is a defect in the pipeline: please report it.")
        raise typer.Exit(EXIT_INTERNAL) from None


def _print_run(result: RunResult, raw: Path, out: Path) -> None:
    """The closing summary of a run: accounting, rejections, outputs, disclosure, timings."""
    _print_accounts(result.accounts, f"Read {len(result.accounts)} case file(s) from {raw}")
    _print_rejections(result.rejected_by_rule, result.rows_rejected, out / "rejected.csv")
    _print_inspections_lost(result.inspections_lost)
    _print_field_issues(result.field_issues_by_column, out / "field_issues.csv")
    console.print(
        f"{'Kept' if result.reused else 'Wrote'} {len(result.outputs)} files in {out}: "
        + ", ".join(f"{k} ({v:,} rows)" for k, v in result.table_rows.items())
    )
    console.print(
        styled(
            "These are analysis outputs: internal, unsuppressed, not for publication.",
            "`probation release` protects them for the public; bulletins are built from a release.",
            "bold",
        )
    )
    if result.reused:
        console.print(
            f"Inputs, reference data and code unchanged since the last run: its outputs in {out} "
            f"were kept as they are ({result.timings['reused']:.1f}s; `--force` runs in full)."
        )
        return
    console.print("Stage times: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))


@app.command(cls=_Command)
def release(
    data: Annotated[
        Path, typer.Option(help="Folder of the analysis run to release (probation run's --out).")
    ] = config.PROCESSED_DIR,
    releases: Annotated[
        Path, typer.Option(help="Folder of releases (one sub-folder per release, index.csv).")
    ] = config.RELEASES_DIR,
    threshold: Annotated[
        int | None,
        typer.Option(help="Suppression threshold for this release (default: settings.csv)."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors.", metavar="")
    ] = False,
) -> None:
    """Protect an analysis run for the public and write it as a new, immutable release.

    Every table is protected as the registry declares it (cell suppression tested by the
    differencing attack, revisions against the previous release included; model tables
    rounded). Exit 0 released, 2 when it cannot be protected (nothing is written), 1 on an
    internal error.
    """
    from pipeline.outputs.contracts import ContractViolation
    from pipeline.release import ReleaseRefused, make_release
    from pipeline.run import UnusableInputError

    _configure_logging(quiet, False)
    try:
        with console.status("protecting the tables (suppression and differencing attack)..."):
            result = make_release(data, releases, threshold)
    except (UnusableInputError, ReleaseRefused) as exc:
        console.print(styled("not released; nothing was written:", exc))
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from None
    except ContractViolation as exc:
        console.print(styled("a release table breaks its contract; nothing was written:", exc))
        raise typer.Exit(EXIT_INTERNAL) from None
    if quiet:
        return
    console.print(f"Release {result.release_id} written to {result.folder}.")
    console.print(f"Disclosure control: {result.summary}.")
    if result.previous:
        console.print(
            f"Against release {result.previous}: {result.cells_revised:,} cell(s) revised, "
            f"{result.cells_held_back:,} held back (suppressed there, or a change too small "
            "to publish)."
        )


@app.command("releases", cls=_Command)
def list_releases(
    releases: Annotated[Path, typer.Option(help="Folder of releases.")] = config.RELEASES_DIR,
) -> None:
    """List the releases in the release log (newest last)."""
    from pipeline.release import read_index

    index = read_index(releases)
    if not index.height:
        console.print(f"No releases in {releases} yet: run `probation release`.")
        return
    table = Table(title=f"Releases in {releases}", title_justify="left")
    shown = {
        "release_id": "release",
        "created_utc": "created (UTC)",
        "previous_release": "previous",
        "cells_revised": "cells revised",
        "cells_held_back": "held back",
        "tables_revised": "tables revised",
        "suppression_threshold": "threshold",
        "inputs_sha256": "inputs (SHA-256)",
    }
    for label in shown.values():
        table.add_column(label, overflow="fold")
    for row in index.iter_rows(named=True):
        values = {
            **row,
            "inputs_sha256": str(row["inputs_sha256"])[:12],
            "created_utc": str(row["created_utc"])[:16].replace("T", " "),
        }
        table.add_row(*[cell(values[c]) for c in shown])
    SafeConsole().print(table)


@app.command("validate", cls=_Command)
def validate_files(
    files: Annotated[list[Path], typer.Argument(help="Case files (CSV, XLSX, Parquet).")],
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List each rejected row.", metavar="")
    ] = (False),
    sheet: Annotated[
        str | None, typer.Option(help="Worksheet to read in XLSX files (default: found).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the rows a run would reject, with every reason, to this CSV.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Report what a run would accept and reject; writes nothing unless --out is given."""
    import polars as pl

    from pipeline.stages import ingest, validate

    _configure_logging(False, False)
    missing = [f for f in files if not f.exists()]
    if missing:
        console.print(styled("not found:", ", ".join(str(m) for m in missing)))
        raise typer.Exit(EXIT_UNUSABLE_INPUT)
    odd = [f"{f} ({ingest.file_kind(f) or 'a folder'})" for f in files if not f.is_file()]
    if odd:
        console.print(styled("not a regular file:", ", ".join(odd)))
        raise typer.Exit(EXIT_UNUSABLE_INPUT)
    unique = list(dict.fromkeys(f.resolve() for f in files))
    if len(unique) < len(files):
        console.print("note: a file given more than once is read once")
    reads = []
    for path in unique:
        read = ingest.read_case_file(path, sheet=sheet)
        # the same text in the accounting and the rows, even for a name that is not UTF-8
        read.display_name = ingest.printable_name(str(path))
        if read.frame is not None:
            read.frame = read.frame.with_columns(source_file=pl.lit(read.display_name))
        reads.append(read)
    result = validate.validate(reads)
    _print_accounts(result.accounts, "Validation (nothing written)")
    n_rejected = sum(a.rows_rejected for a in result.accounts)
    if out is not None:
        from pipeline.stages import store

        out.parent.mkdir(parents=True, exist_ok=True)
        store.write_csv(result.rejected, out)
    _print_rejections(result.rejected_by_rule(), n_rejected, out)
    _print_inspections_lost(result.inspections_lost().to_dicts())
    for read in reads:
        if read.error:
            console.print(styled("file rejected:", read.error))
    _print_field_issues(result.field_issues_by_column(), None)
    if verbose:
        _print_rows(result)
    if all(r.rejected for r in reads):
        raise typer.Exit(EXIT_UNUSABLE_INPUT)


def _print_rows(result: validate.ValidationResult) -> None:
    """Each field issue and each rejected row, with its value and any suggestion."""
    if result.field_issues.height:
        for f, r, column, value, suggestion in result.field_issues.select(
            "source_file", "source_row", "column", "value", "suggestion"
        ).iter_rows():
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            console.print(f"  {f} row {r}: {column} {value!r} is not valid; set to missing{hint}")
    if result.rejected.height:
        for f, r, reasons, details in result.rejected.select(
            "source_file", "source_row", "reasons", "details"
        ).iter_rows():
            text = f"{reasons}: {details}" if details else reasons
            console.print(f"  {f} row {r}: {text}", soft_wrap=True)


@app.command(cls=_Command)
def rate(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: inspection_id, standard, key_question, pct (optionally framework)."
        ),
    ],
    framework: Annotated[str, typer.Option(help="Framework for rows without one.")] = "2023",
    out: Annotated[Path | None, typer.Option(help="Also write the ratings to this CSV.")] = None,
) -> None:
    """Rate published key-question percentages by the configured rule.

    Lets a published report be checked against the rule in reference/rating_bands.csv (printed
    with the result, with whether it is verified). With fewer than three key questions the
    rating is given only when the lowest known one already fixes it.
    """
    import polars as pl

    from pipeline import refdata
    from pipeline.stages.ingest import read_regular
    from pipeline.tables import ratings

    _configure_logging(False, False)
    if not file.exists():
        console.print(styled("not found:", file))
        raise typer.Exit(EXIT_UNUSABLE_INPUT)
    try:  # bytes, not a path: Polars would read '[' in a file name as a glob
        table = pl.read_csv(io.BytesIO(read_regular(file)), infer_schema_length=0)
        rated = ratings.rate_published_percentages(table, framework)
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        console.print(styled(f"cannot rate {visible(file)}:", exc))
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from None
    _print_ratings(rated, file.name)
    console.print(f"Rule: {refdata.rating_rule_text(framework)}.")
    if out:
        from pipeline.stages.store import write_csv

        write_csv(rated.with_columns(pl.col(pl.Enum).cast(pl.String)), out)


def _print_ratings(rated: object, name: str) -> None:
    table = Table(title=f"Ratings by the lowest-key-question rule ({name})", title_justify="left")
    for col in ("inspection", "standard", "engagement %", "desistance %", "safety %"):
        table.add_column(col)
    table.add_column("rating")
    table.add_column("note")
    for row in rated.iter_rows(named=True):  # type: ignore[attr-defined]
        cells = [
            f"{row[c]:g}" if row[c] is not None else "-"
            for c in ("pct_engagement", "pct_desistance", "pct_safety")
        ]
        rating = str(row["rating"] or "-")
        table.add_row(
            cell(row["inspection_id"]),
            cell(row["standard"]),
            *cells,
            cell(rating),
            cell(row["reason"]),
        )
    console.print(table)


@app.command("import-reports", cls=_Command)
def import_reports(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Report pages (.html as published, .txt saved) or folders of them."),
    ],
    out: Annotated[
        Path, typer.Option(help="Published-figures CSV to add the figures to (created if absent).")
    ] = Path("data/raw/published/imported_reports.csv"),
) -> None:
    """Read published inspection report pages into the published-figures dataset.

    Takes the title, type, unit, publication date, ratings, overall rating, cases inspected and
    every Annexe One key-question percentage, each row with its source (file, section, line).
    A page in a layout this reader does not know is refused with what was missing (exit 2);
    the other pages are still added. Figures already held in the folder are not repeated.
    """
    from pipeline.stages import report_import

    _configure_logging(False, False)
    files = report_import.report_files(paths)
    if not files:
        console.print(styled("no report pages (.html, .htm, .txt) in:", ", ".join(map(str, paths))))
        raise typer.Exit(EXIT_UNUSABLE_INPUT)
    reports, refused = [], []
    for file in files:
        try:
            reports.append(report_import.read_report(file))
        except (OSError, report_import.ReportLayoutError) as exc:
            refused.append(str(exc) if isinstance(exc, ValueError) else f"{file.name}: {exc}")
    _print_reports(reports)
    merged = report_import.merge(reports, out)
    console.print(
        f"{merged.added:,} row(s) added to {visible(out)}; {merged.already_held:,} already held."
    )
    for problem in [*merged.conflicts, *refused]:
        console.print(styled("not imported:", problem, style="yellow"), soft_wrap=True)
    if refused:
        raise typer.Exit(EXIT_UNUSABLE_INPUT)


def _print_reports(reports: list[Any]) -> None:
    table = Table(title="Report pages read", title_justify="left")
    for col in ("file", "type", "unit", "region", "published", "ratings", "key questions", "cases"):
        table.add_column(col)
    for r in reports:
        cases = next((x["n_cases"] for x in r.rows if x["key_question"] == "cases_inspected"), "-")
        table.add_row(
            cell(r.file), cell(r.inspection_type), cell(r.unit_name), cell(r.region),
            cell(r.publication_date), str(r.count("rating")), str(r.count("key_question")),
            cell(cases),
        )  # fmt: skip
    console.print(table)


class _RegionsEpilog(_Command):
    """`bulletins --help` ends with the 12 region names, read only when help is shown (so
    the CLI starts without loading the reference data)."""

    @property
    def epilog(self) -> str:
        from pipeline import refdata

        names = "; ".join(refdata.region_names())
        return f"Regions: {names}. Aliases such as KSS are accepted."

    @epilog.setter
    def epilog(self, value: str | None) -> None:
        pass


PNG_HELP = "Also write each chart as a 300-ppi PNG (for documents; the HTML and PDF use the SVGs)."


@app.command(
    cls=_RegionsEpilog,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": False},
)
def bulletins(
    ctx: typer.Context,
    regions: Annotated[
        list[str] | None,
        typer.Option(
            "--regions",
            help="'all' (default) or region names; quote names with spaces: "
            '--regions "North East" Wales',
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel notebooks (default: cores).")] = (
        None
    ),
    data: Annotated[
        Path | None,
        typer.Option(help="Release folder to build from (default: the latest release)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where chart packs go (one folder per region).")] = (
        config.FIGURES_DIR
    ),
    national: Annotated[
        bool, typer.Option(help="Also run the England and Wales overview.", metavar="")
    ] = (True),
    param: Annotated[
        list[str] | None,
        typer.Option(help="Extra notebook parameter NAME=VALUE (checked against the notebook)."),
    ] = None,
    png: Annotated[bool, typer.Option("--png", help=PNG_HELP, metavar="")] = False,
) -> None:
    """Run the regional bulletin notebook for each region (all 12 by default) and the national
    overview, in parallel; writes figures/<region>/ chart packs, executed notebooks,
    and each bulletin as an HTML page and an A4 PDF."""
    from pipeline.bulletins import batch

    _configure_logging(False, False)
    requested = [*(regions or []), *ctx.args] or None
    extra = _parse_params(param or []) | ({"png": True} if png else {})
    try:
        chosen = batch.select_regions(requested)
        with console.status(f"running {len(chosen) + int(national)} notebooks..."):
            results = batch.run_bulletins(chosen, workers, data, out, national, extra)
    except batch.BatchInputError as exc:
        console.print(styled("cannot start:", exc))
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from None
    _print_bulletins(results, out)
    failed = [r for r in results if r.status != "ok"]
    if failed:
        console.print(
            styled(
                f"{len(failed)} notebook(s) failed;",
                "logs: " + ", ".join(str(out / r.slug / "bulletin.log") for r in failed),
            )
        )
        raise typer.Exit(EXIT_INTERNAL)


def _parse_params(items: list[str]) -> dict[str, object]:
    """NAME=VALUE pairs for the notebooks; whole numbers become integers."""
    extra: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            console.print(styled("--param needs NAME=VALUE, got", repr(item)))
            raise typer.Exit(EXIT_UNUSABLE_INPUT)
        extra[name.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value
    return extra


def _print_bulletins(results: list[Any], out: Path) -> None:
    table = Table(title=f"Bulletins written to {out}", title_justify="left")
    for col in ("region", "status", "seconds", "attempts", "error"):
        table.add_column(col)
    for r in results:
        status = "ok" if r.status == "ok" else styled("failed")
        table.add_row(cell(r.region), status, f"{r.seconds:.1f}", str(r.attempts), cell(r.error))
    console.print(table)
    console.print(f"Index page: {cell(str(out / 'index.html'))}")


@app.command(cls=_Command)
def docs(
    data: Annotated[Path, typer.Option(help="Folder `probation run` wrote.")] = (
        config.PROCESSED_DIR
    ),
    out: Annotated[Path, typer.Option(help="Markdown file to write.")] = (
        config.REPO_ROOT / "docs" / "data-dictionary.md"
    ),
) -> None:
    """Regenerate the data dictionary from the tables a run wrote."""
    from pipeline.outputs import dictionary

    if not (data / "cases.parquet").exists():
        console.print(styled(f"no tables in {visible(data)}:", "run `probation run` first"))
        raise typer.Exit(EXIT_UNUSABLE_INPUT)
    missing = dictionary.undescribed(data)
    out.write_text(dictionary.render(data))
    console.print(f"wrote {out}")
    if missing:
        console.print(styled("columns without a description:", ", ".join(missing), "yellow"))


def _print_field_issues(by_column: dict[str, int], path: Path | None) -> None:
    """One line on optional fields set to missing (their cases were kept)."""
    if not by_column:
        return
    total = sum(by_column.values())
    where = f" (see {path})" if path else ""
    console.print(
        f"{total:,} optional field(s) were not valid and were set to missing; their cases were "
        f"kept{where}. By column: " + ", ".join(f"{c} {n:,}" for c, n in by_column.items())
    )


def _print_accounts(accounts: list[Any], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for col in ("file", "read", "accepted", "rejected", "note"):
        table.add_column(col, justify="left" if col in ("file", "note") else "right")
    for a in accounts:
        note = a.file_error or (
            f"{a.blank_rows_skipped} blank row(s) skipped" if a.blank_rows_skipped else ""
        )
        table.add_row(
            cell(a.source_file),
            f"{a.rows_read:,}",
            f"{a.rows_accepted:,}",
            f"{a.rows_rejected:,}",
            cell(note),
        )
    total = [
        sum(getattr(a, k) for a in accounts)
        for k in ("rows_read", "rows_accepted", "rows_rejected")
    ]
    table.add_row(styled("total", style="bold"), *(f"{t:,}" for t in total), "")
    console.print(table)


def _print_inspections_lost(lost: list[dict[str, Any]], limit: int = 20) -> None:
    """Inspections that lost rows: entirely (every row rejected) first, then partly."""
    if not lost:
        return
    entirely = sum(1 for row in lost if row["lost"] == "entirely")
    console.print(
        f"{len(lost)} inspection(s) lost rows: {entirely} entirely, {len(lost) - entirely} partly."
    )
    for row in lost[:limit]:
        console.print(
            f"  {row['source_file']} inspection {row['inspection_id']}: {row['rows_rejected']} "
            f"rejected, {row['rows_accepted']} kept ({row['lost']} lost)",
            soft_wrap=True,
        )
    if len(lost) > limit:
        console.print(f"  ... and {len(lost) - limit} more (see the rejected rows file)")


def _print_rejections(by_rule: dict[str, int], n_rejected: int, path: Path | None) -> None:
    if not by_rule and not n_rejected:
        console.print("No rows rejected.")
        return
    where = f"listed in {path}" if path else "use --out FILE to list them"
    console.print(
        f"{n_rejected:,} row(s) quarantined ({where}); by rule: "
        + (", ".join(f"{rule} {n:,}" for rule, n in by_rule.items()) or "whole file rejected")
    )


_INTERRUPTED = threading.Event()
"""Set when Ctrl-C or SIGTERM arrives: a library may turn the KeyboardInterrupt into its own error
(DuckDB: "RuntimeError: Query interrupted"), which is still an interruption, not an internal
error."""
_SIGNAL_RECEIVED = [signal.SIGINT]
"""The signal that interrupted the run: the exit code is 128 + its number (130, 143)."""


def _on_signal(signum: int, _frame: object) -> None:
    """SIGINT or SIGTERM: remember it, then interrupt as Python does for Ctrl-C, so every step's
    clean-up runs (staging removed, previous outputs kept) instead of the process vanishing."""
    _SIGNAL_RECEIVED[0] = signal.Signals(signum)
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def _interrupted() -> NoReturn:
    console.print("interrupted: the previous outputs are unchanged")
    sys.exit(128 + int(_SIGNAL_RECEIVED[0]) if _INTERRUPTED.is_set() else EXIT_INTERRUPTED)


def main() -> None:
    """Console-script entry: run the app, turning unexpected errors into exit code 1."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        app()
    except SystemExit:
        if _INTERRUPTED.is_set():  # Typer turns KeyboardInterrupt into exit 130, silently
            _interrupted()
        raise
    except KeyboardInterrupt:
        _interrupted()
    except Exception as exc:  # an internal error: say so plainly, keep the detail for -v
        if _INTERRUPTED.is_set() or type(exc).__name__ == "InterruptException":
            _interrupted()
        logging.getLogger("pipeline").debug("internal error", exc_info=True)
        console.print(styled("internal error:", f"{type(exc).__name__}: {exc}"))
        console.print("Re-run with --verbose for the traceback, and please report it.")
        sys.exit(EXIT_INTERNAL)
