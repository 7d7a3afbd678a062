"""A plain, idiomatic pandas implementation of `probation run`'s stages, for comparison only.

It reads the same files, applies the same rules and variants, and writes the same three tables
(cases, answers, inspections) plus the rejected rows, the way a competent analyst would in
pandas: `read_csv(dtype=str)`, `.str` methods, `.map`, boolean masks, `duplicated`, `melt`,
`groupby`. It is not used by the pipeline and is not tuned beyond ordinary good practice.
The benchmark checks that it accepts and rejects the same rows as the real pipeline, so the
comparison is like for like.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import refdata
from pipeline.domain import KEY_QUESTIONS, QUESTIONS
from pipeline.stages import ingest
from pipeline.stages.validate import answer_columns, coded_columns, date_columns

# The contract's column groups are shared with the pipeline; the rules below are not.
ANSWERS = list(answer_columns())
DATES = list(date_columns())
CODED = list(coded_columns())


def _read(path: Path, raw_dir: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        data = path.read_bytes()
        for encoding in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        sheet = None
    else:
        sheets = pd.ExcelFile(path, engine="calamine").sheet_names
        sheet = next((s for s in sheets if s.lower() == "cases"), sheets[0])
        frame = pd.read_excel(
            path, sheet_name=sheet, dtype=str, engine="calamine", keep_default_na=False
        )  # else "N/A" and "NA" become missing
        frame = frame.fillna("")
    frame.columns = [ingest.canonical_header(c) for c in frame.columns]
    frame["source_file"] = path.relative_to(raw_dir).as_posix()
    frame["sheet"] = sheet
    frame["source_row"] = np.arange(len(frame)) + 2
    return frame


def _date(series: pd.Series, from_sheet: pd.Series) -> pd.Series:
    text = series.str.strip()
    iso = pd.to_datetime(
        text.str.slice(0, 10).where(text.str.match(r"^\d{4}-\d{2}-\d{2}")),
        format="%Y-%m-%d",
        errors="coerce",
    )
    uk = pd.to_datetime(
        text.where(text.str.match(r"^\d{1,2}/\d{1,2}/\d{4}$")), format="%d/%m/%Y", errors="coerce"
    )
    serial_days = pd.to_numeric(
        text.where(from_sheet & text.str.match(r"^\d{1,6}(\.0+)?$")), errors="coerce"
    )
    serial = pd.Timestamp("1899-12-30") + pd.to_timedelta(serial_days, unit="D")
    return iso.fillna(uk).fillna(serial)


def run_pandas(raw_dir: Path, out_dir: Path) -> dict[str, float | int]:
    """Run the baseline; returns stage timings and row counts."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    files = ingest.find_case_files(raw_dir)
    df = pd.concat([_read(p, raw_dir) for p in files], ignore_index=True)
    df = df[~(df[ANSWERS + DATES + CODED].apply(lambda s: s.str.strip()) == "").all(axis=1)]
    timings["ingest"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    codes = refdata.codes()
    variants = refdata.answer_variants()
    booleans = {k: v for k, v in refdata.boolean_variants().items()}
    norm = pd.DataFrame(index=df.index)
    for c in ["inspection_id", "unit_name", "case_id"]:
        norm[c] = df[c].str.strip().replace("", np.nan)
    for c in ANSWERS:
        norm[c] = df[c].str.strip().str.lower().map(variants)
    for c in ["da_concern", "cs_concern"]:
        norm[c] = df[c].str.strip().str.lower().map(booleans)
    for c in CODED:
        text = df[c].str.strip()
        text = (
            text.str.upper()
            if c == "provider"
            else text.str.lower().str.replace(r"\s+", "_", regex=True)
        )
        text = text.str.replace(r"\.0+$", "", regex=True)
        norm[c] = text.where(text.isin(codes[c]))
    key = (
        df["region"]
        .str.strip()
        .str.lower()
        .str.replace("&", " and ")
        .str.replace(r"[^0-9a-z+]+", " ", regex=True)
        .str.strip()
    )
    norm["region"] = key.map(refdata.region_aliases())
    from_sheet = df["sheet"].notna()
    for c in DATES:
        norm[c] = _date(df[c], from_sheet)

    present = df.apply(
        lambda s: (
            s.str.strip() != ""
            if s.dtype == object or pd.api.types.is_string_dtype(s)
            else s.notna()
        )
    )
    reasons = pd.Series("", index=df.index)

    def add(mask: pd.Series, text: str) -> None:
        nonlocal reasons
        reasons = reasons.where(~mask, reasons + np.where(reasons == "", "", "; ") + text)

    for c in refdata.contract_columns()["column"]:
        if c in refdata.required_columns():
            add(~present[c], f"missing_value({c})")
        if c in DATES:
            add(present[c] & norm[c].isna(), f"unparseable_date({c})")
        elif c in [*CODED, *ANSWERS, "da_concern", "cs_concern", "region"]:
            add(present[c] & norm[c].isna(), f"unknown_code({c})")
    add(norm["start_date"] > norm["fieldwork_end"], "start_date_after_fieldwork_end")
    add(norm["fieldwork_start"] > norm["fieldwork_end"], "fieldwork_start_after_end")
    unification = pd.Timestamp(refdata.unification_date())
    add(
        (norm["provider"].isin(["CRC", "NPS"]) & (norm["fieldwork_start"] >= unification))
        | ((norm["provider"] == "PS") & (norm["fieldwork_start"] < unification)),
        "provider_inconsistent_with_dates",
    )
    add(~present[list(KEY_QUESTIONS)].any(axis=1), "no_key_question_answered")
    keyed = norm["inspection_id"].notna() & norm["case_id"].notna()
    dup = norm.duplicated(["inspection_id", "case_id"], keep="first") & keyed
    add(dup, "duplicate_case")
    failed = reasons != ""
    accepted = norm[~failed].copy()
    rejected = df[failed].assign(reasons=reasons[failed])
    timings["validate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    start = accepted["fieldwork_start"]
    accepted["era"] = np.where(start < unification, "pre_unification", "post_unification")
    fy = start.dt.year - (start.dt.month < 4)
    accepted["financial_year"] = fy.astype(str) + "-" + ((fy + 1) % 100).astype(str).str.zfill(2)
    accepted["calendar_year"] = start.dt.year
    accepted["quarter"] = start.dt.year.astype(str) + "-Q" + start.dt.quarter.astype(str)
    timings["clean"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    accepted = accepted.sort_values(["inspection_id", "case_id"])
    cases = accepted.drop(columns=list(QUESTIONS))
    answers = accepted.melt(  # the 12 key questions plus court work and resettlement
        id_vars=["inspection_id", "case_id", "framework"],
        value_vars=list(QUESTIONS),
        var_name="key_question",
        value_name="answer",
    ).dropna(subset=["answer"])
    catalogue = refdata.key_questions().to_pandas()
    generic = catalogue.drop_duplicates("key_question")[
        ["key_question", "standard", "theme", "comparable_id"]
    ]
    answers = (
        answers.merge(generic, on="key_question", how="left")
        .merge(
            catalogue[["framework", "key_question", "kq_code"]],
            on=["framework", "key_question"],
            how="left",
        )
        .sort_values(["inspection_id", "case_id", "key_question"])
    )
    inspections = (
        cases.groupby("inspection_id")
        .agg(
            inspection_type=("inspection_type", "first"),
            framework=("framework", "first"),
            fieldwork_start=("fieldwork_start", "min"),
            fieldwork_end=("fieldwork_end", "max"),
            n_cases=("case_id", "size"),
        )
        .reset_index()
    )
    timings["tidy"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    cases.to_parquet(out_dir / "cases.parquet", index=False)
    answers.to_parquet(out_dir / "answers.parquet", index=False)
    inspections.to_parquet(out_dir / "inspections.parquet", index=False)
    rejected.to_csv(out_dir / "rejected.csv", index=False)
    timings["store"] = time.perf_counter() - t0
    return {
        **{f"time_{k}": v for k, v in timings.items()},
        "rows_read": len(df),
        "rows_accepted": len(accepted),
        "rows_rejected": len(rejected),
        "answers": len(answers),
    }
