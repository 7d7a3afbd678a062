"""Benchmark the bulletin batch: whole 13-notebook batch, one notebook, and where one notebook's
time goes (kernel start, imports, data loading, chart building, export).

Usage (after `probation run` has written data/processed/):
    .venv/bin/python benchmarks/bench_bulletins.py [--data DIR] [--workers 2]

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
from pipeline.config import PROCESSED_DIR

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

SPLIT_CODE = """
import json, time
t0 = time.perf_counter()
from pipeline.bulletins import bulletin
import altair, vl_convert
t1 = time.perf_counter()
report = bulletin.Bulletin.load({data!r}, "North East", 2018, 2026, "auto", {out!r})
t2 = time.perf_counter()
report.chart_set()
t3 = time.perf_counter()
report.save()
t4 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "data_loading": t2 - t1, "chart_building": t3 - t2,
                  "export": t4 - t3}}))
"""


def kernel_split(data_dir: Path, out_dir: Path) -> dict[str, float]:
    """Start a kernel, then time the notebook's steps inside it."""
    from jupyter_client.manager import start_new_kernel

    t0 = time.perf_counter()
    manager, client = start_new_kernel(kernel_name=batch.KERNEL_NAME)
    kernel_start = time.perf_counter() - t0
    try:
        outputs: list[str] = []
        client.execute_interactive(
            SPLIT_CODE.format(data=str(data_dir), out=str(out_dir)),
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
            timeout=300,
        )
        split = json.loads("".join(outputs).strip().splitlines()[-1])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return {"kernel_start": kernel_start, **split}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=PROCESSED_DIR)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-bulletins-"))
    try:
        t0 = time.perf_counter()
        single = batch.run_bulletins(
            ["North East"], 1, args.data, scratch / "single", national=False
        )
        single_wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        full = batch.run_bulletins(None, args.workers, args.data, scratch / "batch")
        batch_wall = time.perf_counter() - t0
        split = kernel_split(args.data.resolve(), scratch / "split")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    failed = [r.region for r in [*single, *full] if r.status != "ok"]
    report = {
        "single_notebook_wall_s": single_wall,
        "batch_wall_s": batch_wall,
        "batch_notebooks": len(full),
        "batch_over_single": batch_wall / single_wall,
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
    print("one notebook, split: " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
    if failed:
        print("FAILED: " + ", ".join(failed))


if __name__ == "__main__":
    main()
