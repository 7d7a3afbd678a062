"""Benchmark the bulletin batch: whole 13-notebook batch, one notebook, the plain sequential
papermill loop a researcher would write (the peer baseline, same run), and where one notebook's
time goes (kernel start, imports, data loading, chart building, export).

Usage (after `probation run` has written data/processed/):
    .venv/bin/python benchmarks/bench_bulletins.py [--data DIR] [--workers 2] [--skip-loop]

The split is measured inside a real `probation` kernel started with jupyter_client, running the
same calls the notebook makes. Results go to benchmarks/results/bulletins.json and stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from pipeline.bulletins import batch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

SPLIT_CODE = """
import json, time
t0 = time.perf_counter()
from pipeline.bulletins import bulletin
import altair, vl_convert
t1 = time.perf_counter()
report = bulletin.Bulletin.load({data!r}, "North East", 2018, 2026, "auto", {out!r}, png={png!r})
t2 = time.perf_counter()
report.chart_set()
t3 = time.perf_counter()
report.save()
t4 = time.perf_counter()
from pipeline.bulletins import document
from pathlib import Path
document.write(report, Path({out!r}), bulletin.publication_day(""))
t5 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "data_loading": t2 - t1, "chart_building": t3 - t2,
                  "chart_export": t4 - t3, "html_and_pdf": t5 - t4}}))
"""


def kernel_split(data_dir: Path, out_dir: Path, png: bool) -> dict[str, float]:
    """Start a kernel, then time the notebook's steps inside it."""
    from jupyter_client.manager import start_new_kernel

    t0 = time.perf_counter()
    manager, client = start_new_kernel(kernel_name=batch.KERNEL_NAME)
    kernel_start = time.perf_counter() - t0
    try:
        outputs: list[str] = []
        client.execute_interactive(
            SPLIT_CODE.format(data=str(data_dir), out=str(out_dir), png=png),
            output_hook=lambda msg: outputs.append(
                msg["content"].get("text", "") + "\n".join(msg["content"].get("traceback", []))
            ),
            timeout=300,
        )
        text = "".join(outputs).strip()
        if not text.endswith("}"):
            raise SystemExit(f"the timed notebook steps failed in the kernel:\n{text[-3000:]}")
        split = json.loads(text.splitlines()[-1])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return {"kernel_start": kernel_start, **split}


def plain_loop(data_dir: Path, out_dir: Path) -> float:
    """The 13 bulletins the way a researcher would run them without the batch: one papermill
    call after another, default kernel manager, same notebooks and parameters. Seconds."""
    import papermill as pm

    from pipeline import refdata
    from pipeline.domain import NATIONAL

    notebooks = ROOT / "notebooks"
    jobs = [(batch.REGIONAL_NOTEBOOK, r) for r in refdata.region_names()]
    jobs.append((batch.NATIONAL_NOTEBOOK, NATIONAL))
    t0 = time.perf_counter()
    for notebook, region in jobs:
        folder = out_dir / refdata.region_slug(region)
        folder.mkdir(parents=True, exist_ok=True)
        pm.execute_notebook(
            str(notebooks / notebook),
            str(folder / notebook),
            parameters={"region": region, "data_dir": str(data_dir), "output_dir": str(folder)},
            kernel_name=batch.KERNEL_NAME,
            cwd=str(notebooks),
            progress_bar=False,
        )
    return time.perf_counter() - t0


def _single_and_batch(
    data: Path, workers: int | None, out: Path, png: bool
) -> tuple[list[batch.JobResult], float, list[batch.JobResult], float]:
    """One regional bulletin through the batch (worker start included), then all 13."""
    extra = {"png": True} if png else {}
    t0 = time.perf_counter()
    single = batch.run_bulletins(["North East"], 1, data, out / "single", False, extra)
    single_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = batch.run_bulletins(None, workers, data, out / "batch", True, extra)
    return single, single_wall, full, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a release folder")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--skip-loop", action="store_true", help="leave out the plain papermill loop (slow)"
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-bulletins-"))
    try:
        # before (every chart also as a 300-ppi PNG, `--png`) and after (SVG only, the default)
        runs = {
            png: _single_and_batch(args.data, args.workers, scratch / f"png{png}", png)
            for png in (True, False)
        }
        split = {
            png: kernel_split(args.data.resolve(), scratch / f"split{png}", png)
            for png in (True, False)
        }
        loop_wall = None if args.skip_loop else plain_loop(args.data.resolve(), scratch / "loop")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _, single_wall, full, batch_wall = runs[False]
    _, single_png, _, batch_png = runs[True]
    split_png = split[True]
    split = split[False]
    failed = [r.region for png in runs for r in [*runs[png][0], *runs[png][2]] if r.status != "ok"]
    report = {
        "with_png": {
            "single_notebook_wall_s": single_png,
            "batch_wall_s": batch_png,
            "batch_over_single": batch_png / single_png,
            "loop_over_batch": None if loop_wall is None else loop_wall / batch_png,
            "one_notebook_split_s": split_png,
        },
        "single_notebook_wall_s": single_wall,
        "batch_wall_s": batch_wall,
        "batch_notebooks": len(full),
        "batch_over_single": batch_wall / single_wall,
        "plain_papermill_loop_wall_s": loop_wall,
        "loop_over_batch": None if loop_wall is None else loop_wall / batch_wall,
        "per_notebook_s": {r.region: r.seconds for r in full},
        "one_notebook_split_s": split,
        "failed": failed,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bulletins.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"single notebook (batch of one, incl. worker start): {single_wall:.1f} s")
    print(
        f"batch of {len(full)} notebooks: {batch_wall:.1f} s "
        f"({batch_wall / single_wall:.1f}x one notebook)"
    )
    if loop_wall is not None:
        print(
            f"plain sequential papermill loop over the same 13: {loop_wall:.1f} s "
            f"(the batch is {loop_wall / batch_wall:.1f}x faster)"
        )
    print("one notebook, split: " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
    print(
        f"with 300-ppi PNGs (--png, the previous default): one {single_png:.1f} s, batch "
        f"{batch_png:.1f} s ({batch_png / single_png:.1f}x one); split: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in split_png.items())
    )
    if failed:
        print("FAILED: " + ", ".join(failed))


if __name__ == "__main__":
    main()
