"""Benchmark `probation run` against a plain pandas implementation at several input sizes.

Usage (from the repository root):
    .venv/bin/python benchmarks/bench_pipeline.py [--scales 10 30 100] [--repeat 1]

For each scale the synthetic sample is generated once (cached under benchmarks/data/), then the
Polars/DuckDB pipeline and the pandas baseline each run in a fresh subprocess, so wall time
includes interpreter start and imports, and peak memory (max RSS) is that process's own. The two
must accept and reject the same rows, or the benchmark stops. Results go to
benchmarks/results/pipeline.json and a Markdown table on stdout; figures are ratios measured in
the same run, so they compare like with like on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"

POLARS_RUN = """
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from pipeline.run import run_pipeline
t_import = time.perf_counter() - t0
rss = {}  # peak resident memory so far, read as each stage starts: the peak of the stage before
def on_stage(name):
    rss[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
r = run_pipeline(Path(sys.argv[1]), Path(sys.argv[2]), on_stage=on_stage)
print(json.dumps({"wall": time.perf_counter() - t0, "imports": t_import,
                  "stages": r.timings, "peak_mb_at_stage_start": rss, "rows_read": r.rows_read,
                  "rows_accepted": r.rows_accepted, "rows_rejected": r.rows_rejected,
                  "answers": r.table_rows["answers"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS_RUN = """
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from pandas_baseline import run_pandas
t_import = time.perf_counter() - t0
r = run_pandas(Path(sys.argv[1]), Path(sys.argv[2]))
stages = {k[5:]: v for k, v in r.items() if k.startswith("time_")}
print(json.dumps({"wall": time.perf_counter() - t0, "imports": t_import, "stages": stages,
                  "rows_read": r["rows_read"], "rows_accepted": r["rows_accepted"],
                  "rows_rejected": r["rows_rejected"], "answers": r["answers"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


FLOOR_READ = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
import polars as pl
rows = 0
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if path.suffix == ".csv" and "published" not in path.parts:
        rows += pl.read_csv(path, infer_schema_length=0).height
    elif path.suffix == ".xlsx":
        rows += pl.read_excel(path, infer_schema_length=0).height
print(json.dumps({"wall": time.perf_counter() - t0, "rows": rows}))
"""
"""The floor: the same case files read as text with Polars (interpreter start and import of
Polars included, as in the pipeline's own process)."""


def timed_command(args: list[str]) -> float:
    """Wall seconds of a whole `probation` process."""
    t0 = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - t0


def sample_rows(repeat: int) -> dict[str, float]:
    """On the bundled sample: the floor, `probation run` (in full and unchanged) and
    `probation release`, each a whole process, best of `repeat`, measured in this run."""
    raw, out, releases = ROOT / "data" / "raw", DATA / "out_sample", DATA / "releases_sample"
    probation = str(Path(sys.executable).parent / "probation")
    shutil.rmtree(releases, ignore_errors=True)
    best: dict[str, float] = {}
    for _ in range(repeat):
        floor = run_child(FLOOR_READ, raw, out)["wall"]
        full = timed_command(
            [probation, "run", "--raw", str(raw), "--out", str(out), "-q", "--force"]
        )
        unchanged = timed_command([probation, "run", "--raw", str(raw), "--out", str(out), "-q"])
        release = timed_command(
            [probation, "release", "--data", str(out), "--releases", str(releases)]
        )
        for name, value in (
            ("floor", floor),
            ("run", full),
            ("rerun_unchanged", unchanged),
            ("release", release),
        ):
            best[name] = min(best.get(name, value), value)
    best["run_over_floor"] = best["run"] / best["floor"]
    best["rerun_over_floor"] = best["rerun_unchanged"] / best["floor"]
    best["release_over_floor"] = best["release"] / best["floor"]
    return best


def ensure_sample(scale: float) -> Path:
    """Generate (or reuse) the sample at this scale; returns the raw folder to run on."""
    raw = DATA / f"scale_{scale:g}"
    sample_dir = raw / "sample"
    manifest = sample_dir / "sample_manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("scale") == scale:
        return raw
    print(f"generating sample at scale {scale:g}...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "sample",
            "--scale",
            str(scale),
            "--out",
            str(sample_dir),
            "-q",
        ],
        check=True,
        cwd=ROOT,
    )
    print(f"  generated in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return raw


def run_child(code: str, raw: Path, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, str(raw), str(out), str(ROOT / "benchmarks")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[10, 30, 100])
    parser.add_argument("--repeat", type=int, default=1, help="runs per scale (best is kept)")
    parser.add_argument("--sample-repeat", type=int, default=2, help="0: skip the sample rows")
    args = parser.parse_args()
    sample = sample_rows(args.sample_repeat) if args.sample_repeat else None
    if sample:
        print(
            "sample (best of {n}): floor {floor:.2f} s; run {run:.2f} s = {run_over_floor:.1f}x; "
            "unchanged rerun {rerun_unchanged:.2f} s = {rerun_over_floor:.1f}x; release "
            "{release:.2f} s = {release_over_floor:.1f}x".format(n=args.sample_repeat, **sample),
            flush=True,
        )
    rows = []
    for scale in args.scales:
        raw = ensure_sample(scale)
        best: dict[str, dict] = {}
        for name, code in (("polars", POLARS_RUN), ("pandas", PANDAS_RUN)):
            for _ in range(args.repeat):
                print(f"scale {scale:g}: {name} run...", file=sys.stderr, flush=True)
                result = run_child(code, raw, DATA / f"out_{name}_{scale:g}")
                if name not in best or result["wall"] < best[name]["wall"]:
                    best[name] = result
        pol, pan = best["polars"], best["pandas"]
        for key in ("rows_read", "rows_accepted", "rows_rejected", "answers"):
            if pol[key] != pan[key]:
                raise SystemExit(
                    f"scale {scale}: {key} differs: polars {pol[key]}, "
                    f"pandas {pan[key]} (not like for like)"
                )
        # the analysis tables have no pandas counterpart: compare the stages both
        # implementations run (imports, ingest ... store; store now also writes the tables'
        # files and workbook, beside the database)
        extra = sum(pol["stages"].get(k, 0.0) for k in ("tables", "contracts"))
        pol["wall_without_tables"] = pol["wall"] - extra
        for name, result in (("polars", pol), ("pandas", pan)):
            result["core_s"] = sum(result["stages"].get(k, 0.0) for k in CORE[name])
        rows.append(
            {
                "scale": scale,
                "answers": pol["answers"],
                "polars": pol,
                "pandas": pan,
                "speedup": pan["wall"] / pol["wall_without_tables"],
                "core_speedup": pan["core_s"] / pol["core_s"],
            }
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": _cpus(),
            "platform": platform.platform(),
        },
        "sample": sample,
        "runs": rows,
    }
    (RESULTS / "pipeline.json").write_text(json.dumps(report, indent=2) + "\n")
    print(_markdown(rows))


STAGES = ("ingest", "validate", "clean", "derive", "tidy", "published", "tables", "store")
CORE = {
    "polars": ("ingest", "validate", "derive", "tidy"),
    "pandas": ("ingest", "validate", "clean", "tidy"),
}
"""The stages both implementations run in full: read, validate, derive periods, tidy."""


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _markdown(rows: list[dict]) -> str:
    lines = [
        "| scale | answers | polars wall s (all stages) | polars wall s (same stages as pandas) "
        "| per M answers s | peak MB | pandas wall s | pandas peak MB | pandas / polars |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pol, pan = r["polars"], r["pandas"]
        lines.append(
            f"| {r['scale']:g} | {r['answers']:,} | {pol['wall']:.1f} | "
            f"{pol['wall_without_tables']:.1f} | "
            f"{pol['wall_without_tables'] / r['answers'] * 1e6:.2f} | {pol['peak_rss_mb']:.0f} | "
            f"{pan['wall']:.1f} | {pan['peak_rss_mb']:.0f} | {r['speedup']:.1f}x |"
        )
    lines.append("")
    for r in rows:
        lines.append(
            f"- scale {r['scale']:g}, read + validate + derive + tidy (both in full): polars "
            f"{r['polars']['core_s']:.1f} s, pandas {r['pandas']['core_s']:.1f} s, "
            f"{r['core_speedup']:.1f}x"
        )
    lines.append("")
    lines.append("Stage seconds (polars | pandas):")
    for r in rows:
        stages = ", ".join(
            f"{k} {r['polars']['stages'].get(k, 0):.2f} | {r['pandas']['stages'].get(k, 0):.2f}"
            for k in STAGES
        )
        lines.append(
            f"- scale {r['scale']:g}: imports {r['polars']['imports']:.2f} | "
            f"{r['pandas']['imports']:.2f}; {stages}"
        )
        peaks = ", ".join(
            f"{k} {v:,.0f}" for k, v in r["polars"].get("peak_mb_at_stage_start", {}).items()
        )
        lines.append(f"  peak MB so far as each polars stage starts: {peaks}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
