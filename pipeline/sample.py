"""Seeded synthetic sample of case-level inspection records.

There is no public case-level inspection data, so the bundled input is generated. The generator
mirrors the structure of the real inspection programme (CRC/NPS inspections 2018-20, the Covid
pause, the 2021 PDU programme, refreshed PDU and regional rounds 2023-25, the national inspection
and the dynamic inspection of public protection 2025-26) and draws answers from a multilevel
logistic model: key question x programme baseline, region effect, inspection (cluster) effect,
case effect shared across a case's questions, and case-mix effects. Baselines are solved
numerically so that each programme's expected sufficiency equals the design table in
`reference/sample_design.csv`, which in turn is anchored to published figures where they exist
(`reference/calibration_targets.csv`).

The output is written like a real export: several CSV and XLSX files with tolerated variant
spellings and a small, recorded number of genuinely invalid rows. Same seed and scale give
byte-identical files. Nothing here is evidence about real probation practice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from pipeline import refdata
from pipeline.refdata import KEY_QUESTIONS

log = logging.getLogger(__name__)

DEFAULT_SEED = 20210626
"""Default seed (the unification date), so the bundled sample is reproducible."""

EXCEL_EPOCH = dt.date(1899, 12, 30)
FIXED_TIMESTAMP = dt.datetime(2021, 6, 26)  # stamped into XLSX metadata instead of 'now'


@dataclass(frozen=True)
class Inspection:
    """One inspection event in the synthetic programme."""

    inspection_id: str
    inspection_type: str
    framework: str
    programme: str
    export: str
    unit_name: str
    provider: str
    regions: tuple[str, ...]
    region_weights: tuple[float, ...]
    fieldwork_start: dt.date
    fieldwork_end: dt.date
    publication_date: dt.date
    n_cases: int
    n_adjusted: int | None = None  # exact count of adjusted-question-set cases, if fixed
    anchored: bool = False  # its region offset was set from this inspection's published result


@dataclass
class SampleSummary:
    """What a generator run wrote, for the CLI summary and tests."""

    out_dir: Path
    files: dict[str, int] = field(default_factory=dict)  # file name -> data rows
    injected: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    n_cases: int = 0
    n_answers: int = 0


# --------------------------------------------------------------------------------------------
# Programme schedule
# --------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return refdata.normalise_label(text).replace(" ", "-")


def _days(start: dt.date, n: int) -> dt.date:
    return start + dt.timedelta(days=int(n))


def _scaled(n: float, scale: float) -> int:
    return max(1, round(n * scale))


def build_schedule(rng: np.random.Generator, scale: float) -> list[Inspection]:
    """Lay out every inspection event 2018-2026 with dates, unit, region and case count."""
    units = refdata.pre_unification_units()
    pdus = refdata.pdus()
    inspections: list[Inspection] = []

    def pre_unit(row: dict, start: dt.date, duration: int, export: str) -> Inspection:
        other = [r for r in (row["other_regions"] or "").split(";") if r]
        regions = (row["region"], *other)
        weights = (1.0,) if not other else (0.7, *([0.3 / len(other)] * len(other)))
        kind = "crc" if row["provider"] == "CRC" else "nps"
        end = _days(start, duration)
        n = int(rng.integers(85, 126) if kind == "crc" else rng.integers(95, 136))
        return Inspection(
            inspection_id=f"{kind.upper()}-{start:%Y-%m}-{_slug(row['short_name'])}",
            inspection_type=kind,
            framework="2018",
            programme="crc_nps_2018",
            export=export,
            unit_name=row["unit_name"],
            provider=row["provider"],
            regions=regions,
            region_weights=weights,
            fieldwork_start=start,
            fieldwork_end=end,
            publication_date=_days(end, rng.integers(60, 111)),
            n_cases=_scaled(n, scale),
        )

    # CRC/NPS cycle 1 (Jun 2018 - May 2019): every CRC and the 7 NPS divisions of 2018.
    cycle_units = units.filter(pl.col("unit_name") != "NPS South West region").to_dicts()
    order = rng.permutation(len(cycle_units))
    for i, idx in enumerate(order):
        start = _days(dt.date(2018, 6, 4), i * 358 // len(cycle_units))
        inspections.append(pre_unit(cycle_units[idx], start, rng.integers(10, 19), "crc_nps"))
    # Cycle 2 (Jun 2019 - early Mar 2020, stopped by the pause): 12 CRCs and 3 NPS divisions.
    crcs = [u for u in cycle_units if u["provider"] == "CRC"]
    npss = [u for u in cycle_units if u["provider"] == "NPS"]
    second = [crcs[i] for i in rng.choice(len(crcs), 12, replace=False)] + [
        npss[i] for i in rng.choice(len(npss), 3, replace=False)
    ]
    for i, idx in enumerate(rng.permutation(len(second))):
        start = _days(dt.date(2019, 6, 3), i * 270 // len(second))
        inspections.append(pre_unit(second[idx], start, rng.integers(10, 15), "crc_nps"))
    # Restart by video link, Feb 2021: the last CRC/NPS-era inspections (South West).
    by_name = {u["unit_name"]: u for u in units.to_dicts()}
    inspections.append(
        pre_unit(
            by_name["Bristol, Gloucestershire, Somerset and Wiltshire CRC"],
            dt.date(2021, 2, 1),
            32,
            "crc_nps",
        )
    )
    inspections.append(
        pre_unit(by_name["NPS South West region"], dt.date(2021, 2, 15), 32, "crc_nps")
    )

    def pdu_inspections(
        programme: str,
        framework: str,
        export: str,
        regions: list[str],
        share: float,
        window: tuple[dt.date, dt.date],
        cases: tuple[int, int],
    ) -> None:
        chosen: list[tuple[str, str]] = []
        for region in regions:
            names = pdus.filter(pl.col("region") == region)["pdu_name"].to_list()
            k = max(1, round(share * len(names)))
            chosen += [(region, names[i]) for i in sorted(rng.choice(len(names), k, replace=False))]
        span = (window[1] - window[0]).days
        offsets = np.sort(rng.integers(0, span, len(chosen)))
        chosen = [chosen[j] for j in rng.permutation(len(chosen))]  # regions interleave in time
        for (region_name, pdu_name), off in zip(chosen, offsets, strict=True):
            start = _days(window[0], off)
            end = _days(start, rng.integers(9, 15))
            inspections.append(
                Inspection(
                    inspection_id=f"PDU-{start:%Y-%m}-{_slug(pdu_name)}",
                    inspection_type="pdu",
                    framework=framework,
                    programme=programme,
                    export=export,
                    unit_name=f"{pdu_name} PDU",
                    provider="PS",
                    regions=(region_name,),
                    region_weights=(1.0,),
                    fieldwork_start=start,
                    fieldwork_end=end,
                    publication_date=_days(end, rng.integers(70, 120)),
                    n_cases=_scaled(int(rng.integers(cases[0], cases[1] + 1)), scale),
                )
            )

    all_regions = refdata.region_names()
    pdu_inspections(
        "pdu_2021",
        "2021",
        "pdu_2021",
        all_regions,
        0.45,
        (dt.date(2021, 9, 6), dt.date(2023, 6, 16)),
        (40, 60),
    )

    # 2023 framework: regional rounds (cases aggregated across the region's PDUs) ...
    rounds = [  # region, fieldwork start, end, publication, cases (Y&H, EM, NE dates and sizes
        # are published: framework.md 6.3; the others are assumed)
        (
            "Kent, Surrey and Sussex",
            dt.date(2023, 11, 6),
            dt.date(2024, 2, 16),
            dt.date(2024, 5, 9),
            300,
        ),
        ("East of England", dt.date(2024, 1, 15), dt.date(2024, 4, 26), dt.date(2024, 8, 15), 320),
        (
            "Yorkshire and the Humber",
            dt.date(2024, 7, 1),
            dt.date(2024, 10, 25),
            dt.date(2025, 1, 23),
            546,
        ),
        ("Wales", dt.date(2024, 11, 4), dt.date(2025, 2, 14), dt.date(2025, 5, 22), 300),
        ("East Midlands", dt.date(2025, 2, 24), dt.date(2025, 4, 4), dt.date(2025, 7, 10), 330),
        ("North East", dt.date(2025, 4, 28), dt.date(2025, 7, 29), dt.date(2025, 10, 16), 292),
    ]
    anchored = {r for r, v in refdata.sample_region_effects_notes().items() if "anchored" in v}
    for region, start, end, published, n in rounds:
        inspections.append(
            Inspection(
                anchored=region in anchored,
                inspection_id=f"REG-{start:%Y-%m}-{refdata.region_slug(region)}",
                inspection_type="regional",
                framework="2023",
                programme="pdu_regional_2023",
                export="pdu_regional_2023",
                unit_name=f"{region} region",
                provider="PS",
                regions=(region,),
                region_weights=(1.0,),
                fieldwork_start=start,
                fieldwork_end=end,
                publication_date=published,
                n_cases=_scaled(n, scale),
            )
        )
    # ... and refreshed standalone PDU inspections in the other six regions.
    round_regions = {r[0] for r in rounds}
    pdu_inspections(
        "pdu_regional_2023",
        "2023",
        "pdu_regional_2023",
        [r for r in all_regions if r not in round_regions],
        0.4,
        (dt.date(2023, 7, 3), dt.date(2025, 6, 27)),
        (40, 55),
    )

    # National inspection: 165 cases, fieldwork Dec 2024 - Feb 2025, 8 on the adjusted set.
    pdu_counts = pdus.group_by("region").len()
    counts = dict(pdu_counts.iter_rows())
    weights = np.array([counts[r] for r in all_regions], dtype=float)
    inspections.append(
        Inspection(
            inspection_id="NAT-2024-12-england-and-wales",
            inspection_type="national",
            framework="2023",
            programme="national_2024",
            export="national_2024",
            unit_name="National inspection (England and Wales)",
            provider="PS",
            regions=tuple(all_regions),
            region_weights=tuple(weights / weights.sum()),
            fieldwork_start=dt.date(2024, 12, 2),
            fieldwork_end=dt.date(2025, 2, 28),
            publication_date=dt.date(2025, 4, 29),
            n_cases=_scaled(165, scale),
            n_adjusted=_scaled(8, scale),
        )
    )

    # Dynamic inspection of public protection, Oct 2025 - Mar 2026: 56-84 cases per region
    # (published sizes where known: framework.md 6.3).
    known = {
        "Kent, Surrey and Sussex": 56,
        "South Central": 56,
        "South West": 64,
        "Greater Manchester": 72,
        "West Midlands": 84,
    }
    dipp_order = list(known) + [r for r in all_regions if r not in known]
    for i, region in enumerate(dipp_order):
        start = _days(dt.date(2025, 10, 13), i * 12)
        end = _days(start, 25)
        n = known.get(region) or int(rng.integers(56, 85))
        inspections.append(
            Inspection(
                inspection_id=f"DIPP-{start:%Y-%m}-{refdata.region_slug(region)}",
                inspection_type="dipp",
                framework="dipp2025",
                programme="dipp_2025",
                export="dipp_2025",
                unit_name=f"{region} region (dynamic inspection)",
                provider="PS",
                regions=(region,),
                region_weights=(1.0,),
                fieldwork_start=start,
                fieldwork_end=end,
                publication_date=_days(end, 80 + 7 * (i % 3)),
                n_cases=_scaled(n, scale),
            )
        )
    return inspections


# --------------------------------------------------------------------------------------------
# Cases and answers
# --------------------------------------------------------------------------------------------

# Case-mix distributions by population group (assumed; CRC low/medium, NPS high RoSH is from
# framework.md 2.1). Orders follow reference/codes.csv.
CASE_MIX: dict[str, dict[str, list[float]]] = {
    "CRC": {
        "case_type": [0.70, 0.20, 0.10],
        "rosh": [0.38, 0.57, 0.03, 0.0, 0.02],
        "mappa_level": [0.98, 0.02, 0.0, 0.0],
        "da": [0.50],
        "cs": [0.35],
    },
    "NPS": {
        "case_type": [0.45, 0.55, 0.0],
        "rosh": [0.02, 0.16, 0.70, 0.11, 0.01],
        "mappa_level": [0.62, 0.30, 0.07, 0.01],
        "da": [0.60],
        "cs": [0.42],
    },
    "PS": {
        "case_type": [0.60, 0.36, 0.04],
        "rosh": [0.20, 0.47, 0.29, 0.03, 0.01],
        "mappa_level": [0.84, 0.13, 0.025, 0.005],
        "da": [0.56],
        "cs": [0.38],
    },
    "DIPP": {
        "case_type": [0.50, 0.44, 0.06],
        "rosh": [0.04, 0.38, 0.50, 0.07, 0.01],
        "mappa_level": [0.68, 0.25, 0.06, 0.01],
        "da": [0.62],
        "cs": [0.42],
    },
}
GENDER_P = [0.88, 0.11, 0.003, 0.007]
ETHNICITY_P = {
    "default": [0.80, 0.06, 0.07, 0.04, 0.02, 0.01],
    "London": [0.45, 0.26, 0.14, 0.08, 0.05, 0.02],
}
AGE_P = [0.14, 0.36, 0.35, 0.14, 0.01]
NA_P = {"assessment": 0.01, "planning": 0.03, "implementation": 0.04, "reviewing": 0.18}
NA_P_ADJUSTED = {"assessment": 0.02, "planning": 0.06, "implementation": 0.15, "reviewing": 0.45}
ROSH_SAFETY = {"low": 0.30, "medium": 0.0, "high": -0.25, "very_high": -0.45, "unknown": -0.35}
SD_INSPECTION, SD_INSPECTION_THEME, SD_CASE = 0.30, 0.15, 0.6


def _choice(rng: np.random.Generator, values: list[str], p: list[float], n: int) -> np.ndarray:
    p_arr = np.asarray(p, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), n, p=p_arr / p_arr.sum())]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def calibrate_shift(eta: np.ndarray, target: float, tol: float = 1e-10) -> float:
    """Shift on the logit scale so that mean(sigmoid(eta + shift)) equals `target` (0-1).

    The mean is monotone in the shift, so bisection converges; this is how each programme's
    baseline is solved given the realised case mix and random effects.
    """
    lo, hi = -20.0, 20.0
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if _sigmoid(eta + mid).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def draw_cases(rng: np.random.Generator, inspections: list[Inspection]) -> pl.DataFrame:
    """Draw every case with context, case mix and answers, in canonical contract values."""
    codes = refdata.codes()
    design = refdata.sample_design()
    region_eff = refdata.sample_region_effects()
    n_per = np.array([i.n_cases for i in inspections])
    insp_idx = np.repeat(np.arange(len(inspections)), n_per)
    n = int(n_per.sum())

    def per_insp(attr: str) -> np.ndarray:
        return np.asarray([getattr(i, attr) for i in inspections], dtype=object)[insp_idx]

    programme, provider = per_insp("programme"), per_insp("provider")
    framework = per_insp("framework")
    group = np.where(programme == "dipp_2025", "DIPP", provider)

    # Region per case (split CRC/NPS footprints give cases in more than one region).
    region = np.empty(n, dtype=object)
    for k, insp in enumerate(inspections):
        mask = insp_idx == k
        region[mask] = _choice(rng, list(insp.regions), list(insp.region_weights), int(mask.sum()))

    columns: dict[str, np.ndarray] = {}
    for col in ("case_type", "rosh", "mappa_level"):
        out = np.empty(n, dtype=object)
        for g, mix in CASE_MIX.items():
            mask = group == g
            out[mask] = _choice(rng, codes[col], mix[col], int(mask.sum()))
        columns[col] = out
    columns["mappa_level"][rng.random(n) < 0.02] = None  # optional field, sometimes unrecorded
    columns["gender"] = _choice(rng, codes["gender"], GENDER_P, n)
    eth = _choice(rng, codes["ethnicity"], ETHNICITY_P["default"], n)
    london = region == "London"
    eth[london] = _choice(rng, codes["ethnicity"], ETHNICITY_P["London"], int(london.sum()))
    columns["ethnicity"] = eth
    columns["age_band"] = _choice(rng, codes["age_band"], AGE_P, n)

    # Question set: adjusted for Probation Reset / suspended-contact cases (framework.md 3.4-3.5).
    adjusted = np.zeros(n, dtype=bool)
    fw_start = np.asarray([i.fieldwork_start for i in inspections], dtype="datetime64[D]")[insp_idx]
    dipp = programme == "dipp_2025"
    adjusted |= dipp & ((columns["case_type"] == "pss") | (rng.random(n) < 0.08))
    reset_era = (programme == "pdu_regional_2023") & (fw_start >= np.datetime64("2024-10-01"))
    adjusted |= reset_era & (rng.random(n) < 0.05)
    for k, insp in enumerate(inspections):
        if insp.n_adjusted is not None:
            idx = np.flatnonzero(insp_idx == k)
            adjusted[idx] = False
            adjusted[rng.choice(idx, insp.n_adjusted, replace=False)] = True
    columns["question_set"] = np.where(adjusted, "adjusted", "core").astype(object)

    # Dates: the order or licence started 3-11 months before fieldwork (framework.md 6.3).
    start_date = fw_start - rng.integers(90, 331, n).astype("timedelta64[D]")

    # Random effects of the multilevel model. An anchored inspection's own effect is already
    # inside its region offset (set from its published result), so it gets none of its own.
    free = np.asarray([not i.anchored for i in inspections])
    u_insp = (rng.normal(0, SD_INSPECTION, len(inspections)) * free)[insp_idx]
    u_insp_theme = {
        t: (rng.normal(0, SD_INSPECTION_THEME, len(inspections)) * free)[insp_idx]
        for t in refdata.THEMES
    }
    u_case = rng.normal(0, SD_CASE, n)
    u_region = np.asarray([region_eff[r] for r in region])
    rosh_eff = np.asarray([ROSH_SAFETY[r] for r in columns["rosh"]])
    case_type = columns["case_type"]
    mappa = columns["mappa_level"]
    age = columns["age_band"]
    female = columns["gender"] == "female"

    asked = {fw: set(refdata.questions_asked(fw)) for fw in refdata.codes()["framework"]}
    design_pct = {
        (p, prov, m): v / 100
        for p, prov, m, v in design.select(
            "programme", "provider", "measure", "design_pct"
        ).iter_rows()
    }
    for kq in KEY_QUESTIONS:
        standard, theme = kq.split("_")
        eta = u_region + u_insp + u_insp_theme[theme] + u_case
        if theme == "safety":
            eta = eta + rosh_eff - 0.10 * (case_type == "licence") - 0.20 * (case_type == "pss")
            eta = eta + 0.10 * ((mappa != "0") & (mappa != None))  # noqa: E711 (object array)
        else:
            eta = eta - 0.20 * (age == "18-24") + 0.10 * (age == "50+") + 0.15 * female
            eta = eta - 0.20 * (case_type == "pss")
        is_asked = np.asarray([kq in asked[f] for f in framework])
        na_p = np.where(adjusted, NA_P_ADJUSTED[standard], NA_P[standard])
        is_na = rng.random(n) < na_p
        p = np.zeros(n)
        for (prog, prov), mask in _groups(programme, provider):
            target = design_pct.get((prog, prov, kq))
            if target is None:
                continue
            applicable = mask & is_asked & ~is_na
            shift = calibrate_shift(eta[applicable], target)
            p[mask] = _sigmoid(eta[mask] + shift)
        yes = rng.random(n) < p
        answer = np.where(yes, "yes", "no").astype(object)
        answer[is_na] = "na"
        answer[~is_asked] = None
        columns[kq] = answer

    # Domestic abuse and child safeguarding: concern flags, and whether the enquiry was made.
    for flag, enquiry, key in (
        ("da_concern", "da_enquiry", "da"),
        ("cs_concern", "cs_enquiry", "cs"),
    ):
        concern = np.zeros(n, dtype=bool)
        for g, mix in CASE_MIX.items():
            mask = group == g
            concern[mask] = rng.random(int(mask.sum())) < mix[key][0]
        eta = 0.25 * u_insp + 0.5 * u_case  # enquiry practice varies less by inspection
        p = np.zeros(n)
        for (prog, _), mask in _groups(programme, provider):
            target = design_pct[(prog, "all", enquiry)]
            shift = calibrate_shift(eta[mask & concern], target)
            p[mask] = _sigmoid(eta[mask] + shift)
        made = np.where(rng.random(n) < p, "yes", "no").astype(object)
        made[~concern] = "na"
        columns[flag] = np.where(concern, "true", "false").astype(object)
        columns[enquiry] = made

    def insp_col(attr: str) -> pl.Series:
        return pl.Series(attr, [getattr(i, attr) for i in inspections])[insp_idx]

    frame = pl.DataFrame(
        {
            "inspection_id": insp_col("inspection_id"),
            "inspection_type": insp_col("inspection_type"),
            "framework": insp_col("framework"),
            "unit_name": insp_col("unit_name"),
            "region": pl.Series(region.tolist(), dtype=pl.String),
            "provider": insp_col("provider"),
            "fieldwork_start": insp_col("fieldwork_start"),
            "fieldwork_end": insp_col("fieldwork_end"),
            "publication_date": insp_col("publication_date"),
            "case_id": pl.Series(_case_ids(insp_idx), dtype=pl.String),
            "start_date": pl.Series(start_date.astype("datetime64[D]").tolist(), dtype=pl.Date),
            **{c: pl.Series(v.tolist(), dtype=pl.String) for c, v in columns.items()},
            "export": insp_col("export"),
        }
    )
    contract = refdata.contract_columns()["column"].to_list()
    return frame.select(*contract, "export").with_columns(synthetic=pl.lit("true"))


def _groups(programme: np.ndarray, provider: np.ndarray):
    keys = sorted(set(zip(programme.tolist(), provider.tolist(), strict=True)))
    for prog, prov in keys:
        yield (prog, prov), (programme == prog) & (provider == prov)


def _case_ids(insp_idx: np.ndarray) -> list[str]:
    """Pseudonymised case ids: unique within an inspection, no meaning outside it."""
    position = np.arange(len(insp_idx)) - np.searchsorted(insp_idx, insp_idx)
    mixed = (insp_idx.astype(np.uint64) * 100_003 + position.astype(np.uint64) + 1) * 2_654_435_761
    mixed = mixed % np.uint64(2**32)
    return [f"C{v ^ 0x5A17C0DE:08X}" for v in mixed.tolist()]


# --------------------------------------------------------------------------------------------
# Export styles: how each file departs from the canonical form (all tolerated by the contract)
# --------------------------------------------------------------------------------------------

ANSWER_SPELLINGS = {
    "yes": ["Y", "Yes", "YES", " yes ", "TRUE", "1"],
    "no": ["N", "No", "NO", " no", "FALSE", "0"],
    "na": ["N/A", "NA", "n.a.", "N/A "],
}


@dataclass(frozen=True)
class ExportStyle:
    """How one export file is written."""

    file_name: str
    kind: str  # csv or xlsx
    encoding: str = "utf-8"  # utf-8, utf-8-sig or cp1252 for CSV
    header_style: str = "canonical"  # canonical, title, spaces or dotted (see _header)
    uk_dates: bool = False
    answer_style: dict[str, str] | None = None  # canonical -> this file's usual spelling
    variant_share: float = 0.03  # share of answer cells in a random tolerated spelling
    alias_share: float = 0.02  # share of region cells written as an alias
    serial_share: float = 0.0  # XLSX: share of date cells stored as bare serial numbers
    boolean_style: tuple[str, str] = ("true", "false")


EXPORTS: dict[str, ExportStyle] = {
    "crc_nps": ExportStyle("crc_nps_2018_2021.csv", "csv"),
    "pdu_2021": ExportStyle(
        "pdu_2021_2023.xlsx",
        "xlsx",
        header_style="title",
        answer_style={"yes": "Yes", "no": "No", "na": "N/A"},
        serial_share=0.03,
        boolean_style=("Yes", "No"),
    ),
    "pdu_regional_2023": ExportStyle(
        "pdu_regional_2023_2025.csv",
        "csv",
        encoding="utf-8-sig",
        header_style="spaces",
        uk_dates=True,
        answer_style={"yes": "Y", "no": "N", "na": "NA"},
        alias_share=0.15,
        boolean_style=("Y", "N"),
    ),
    "national_2024": ExportStyle("national_2024_25.xlsx", "xlsx"),
    "dipp_2025": ExportStyle(
        "dipp_2025_26.csv",
        "csv",
        encoding="cp1252",
        header_style="dotted",
        answer_style={"yes": "Yes", "no": "No", "na": "N/A"},
        boolean_style=("TRUE", "FALSE"),
    ),
}


def _header(header_style: str, column: str) -> str:
    """A column name as a given export writes it (all map back to the contract name)."""
    if header_style == "title":
        return column.replace("_", " ").title()
    if header_style == "spaces":
        return column.replace("_", " ")
    if header_style == "dotted":
        return (
            column.replace("_", "-").upper()
            if column.endswith("_date")
            else (column.replace("_", ".").capitalize())
        )
    return column


DATE_COLUMNS = ("fieldwork_start", "fieldwork_end", "publication_date", "start_date")
ANSWER_COLUMNS = (*KEY_QUESTIONS, "da_enquiry", "cs_enquiry")
INVALID_KINDS = (
    "unknown_code",
    "unparseable_date",
    "start_after_fieldwork_end",
    "fieldwork_start_after_end",
    "duplicate_case",
    "provider_inconsistent_with_dates",
    "no_key_question_answered",
)


def _styled(frame: pl.DataFrame, style: ExportStyle, rng: np.random.Generator) -> pl.DataFrame:
    """Apply a file's usual spellings plus a share of random tolerated variants."""
    n = frame.height
    out = frame
    if style.answer_style:
        out = out.with_columns(
            pl.col(c).replace_strict(style.answer_style, default=pl.col(c)) for c in ANSWER_COLUMNS
        )
    for c in ANSWER_COLUMNS:
        values = out[c].to_numpy().astype(object)
        pick = np.flatnonzero(
            (rng.random(n) < style.variant_share) & (frame[c].is_not_null().to_numpy())
        )
        canon = frame[c].to_numpy()[pick]
        values[pick] = [
            ANSWER_SPELLINGS[a][int(rng.integers(len(ANSWER_SPELLINGS[a])))] for a in canon
        ]
        out = out.with_columns(pl.Series(c, values.tolist(), dtype=pl.String))
    t, f = style.boolean_style
    out = out.with_columns(
        pl.col("da_concern", "cs_concern").replace_strict({"true": t, "false": f}, default=None)
    )
    # Region aliases as a real export would hold them.
    aliases = refdata.region_aliases()
    by_region: dict[str, list[str]] = {}
    for alias, region in sorted(aliases.items()):
        if alias != refdata.normalise_label(region):
            by_region.setdefault(region, []).append(alias)
    regions = out["region"].to_numpy().astype(object)
    pick = np.flatnonzero(rng.random(n) < style.alias_share)
    for i in pick:
        options = by_region.get(regions[i], [])
        if options:
            alias = options[int(rng.integers(len(options)))]
            regions[i] = alias.title() if rng.random() < 0.5 else alias.upper()
    out = out.with_columns(pl.Series("region", regions.tolist(), dtype=pl.String))
    if style.kind == "csv":
        fmt = "%d/%m/%Y" if style.uk_dates else "%Y-%m-%d"
        out = out.with_columns(pl.col(c).dt.strftime(fmt) for c in DATE_COLUMNS)
    return out


def _date_text(d: dt.date, style: ExportStyle) -> str:
    return d.strftime("%d/%m/%Y" if style.uk_dates else "%Y-%m-%d")


def _inject_invalid(
    frame: pl.DataFrame, canonical: pl.DataFrame, style: ExportStyle, rng: np.random.Generator
) -> tuple[dict[str, list], dict[str, list[int]]]:
    """Corrupt a few rows, each breaking exactly one contract rule.

    Returns the columns as Python lists (an XLSX export may now hold text in a date column)
    and, per rule, the source rows corrupted (header = row 1, first data row = 2).
    """
    n = frame.height
    n_bad = max(len(INVALID_KINDS), round(0.0025 * n))
    candidates = rng.choice(np.arange(1, n), size=min(n_bad, n - 1), replace=False)
    corrupted = set(candidates.tolist())
    rows = {c: frame[c].to_list() for c in frame.columns}
    injected: dict[str, list[int]] = {k: [] for k in INVALID_KINDS}
    unification = refdata.unification_date()
    for j, i in enumerate(sorted(candidates.tolist())):
        kind = INVALID_KINDS[j % len(INVALID_KINDS)]
        fw_end = canonical["fieldwork_end"][i]
        fw_start = canonical["fieldwork_start"][i]
        if kind == "unknown_code":
            rows["rosh"][i] = "severe"
        elif kind == "unparseable_date":
            rows["start_date"][i] = "31/02/2019" if style.kind == "csv" else "not known"
        elif kind == "start_after_fieldwork_end":
            later = fw_end + dt.timedelta(days=21)
            rows["start_date"][i] = later if style.kind == "xlsx" else _date_text(later, style)
        elif kind == "fieldwork_start_after_end":
            rows["fieldwork_start"][i], rows["fieldwork_end"][i] = (
                rows["fieldwork_end"][i],
                rows["fieldwork_start"][i],
            )
            # keep the case start before the (now earlier) fieldwork end
            early = fw_start - dt.timedelta(days=120)
            rows["start_date"][i] = early if style.kind == "xlsx" else _date_text(early, style)
        elif kind == "duplicate_case":
            same = [
                k
                for k in np.flatnonzero(
                    canonical["inspection_id"].to_numpy()[:i] == canonical["inspection_id"][i]
                ).tolist()
                if k not in corrupted
            ]
            if not same:
                continue
            rows["case_id"][i] = canonical["case_id"][int(same[0])]
        elif kind == "provider_inconsistent_with_dates":
            rows["provider"][i] = "PS" if fw_start < unification else "CRC"
        elif kind == "no_key_question_answered":
            for kq in KEY_QUESTIONS:
                rows[kq][i] = None
        injected[kind].append(i + 2)  # source row: the header is row 1
    return rows, injected


def _write_csv(rows: dict[str, list], path: Path, style: ExportStyle) -> None:
    frame = pl.DataFrame(
        {_header(style.header_style, c): pl.Series(v, dtype=pl.String) for c, v in rows.items()}
    )
    text = frame.write_csv(line_terminator="\r\n" if style.encoding == "cp1252" else "\n")
    path.write_bytes(text.encode(style.encoding))


def _write_xlsx(
    rows: dict[str, list], path: Path, style: ExportStyle, rng: np.random.Generator
) -> None:
    """Write an XLSX export with real date cells (a few as bare serials) and fixed metadata."""
    wb = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "default_date_format": "dd/mm/yyyy"}
    )
    wb.set_properties(
        {
            "created": FIXED_TIMESTAMP,
            "author": "probation sample generator",
            "title": "Synthetic inspection case records (not real data)",
        }
    )
    if style.serial_share:  # a cover sheet first, so the reader must find the 'cases' sheet
        notes = wb.add_worksheet("notes")
        notes.write_string(0, 0, "Synthetic case records generated by `probation sample`.")
        notes.write_string(1, 0, "Not real data. Case rows are on the sheet named 'cases'.")
    ws = wb.add_worksheet("cases")
    columns = list(rows)
    ws.write_row(0, 0, [_header(style.header_style, c) for c in columns])
    date_idx = [columns.index(c) for c in DATE_COLUMNS]
    n = len(rows[columns[0]])
    serial = rng.random((n, len(date_idx))) < style.serial_share
    for r, row in enumerate(zip(*rows.values(), strict=True)):
        values = list(row)
        for k, ci in enumerate(date_idx):
            v = values[ci]
            if serial[r, k] and isinstance(v, dt.date):
                values[ci] = (v - EXCEL_EPOCH).days
        ws.write_row(r + 1, 0, values)
    wb.close()


SAMPLE_README = """# Synthetic sample (not real data)

Generated by `probation sample --seed {seed} --scale {scale}`. Every row is synthetic: it follows
the data contract and the structure of the real inspection programme, and is calibrated to a few
published national figures, but it describes no real person, case or inspection. Do not cite it.
`sample_manifest.json` lists the files, row counts and the rows deliberately made invalid.
"""


def _streams(seed: int) -> list[np.random.SeedSequence]:
    """Independent random streams: schedule, cases, export styling."""
    return np.random.SeedSequence(seed).spawn(3)


def canonical_cases(seed: int = DEFAULT_SEED, scale: float = 1.0) -> pl.DataFrame:
    """The sample's cases in canonical values, before export styling and planted errors."""
    schedule_seq, cases_seq, _ = _streams(seed)
    inspections = build_schedule(np.random.default_rng(schedule_seq), scale)
    return draw_cases(np.random.default_rng(cases_seq), inspections)


def generate_sample(out_dir: Path, seed: int = DEFAULT_SEED, scale: float = 1.0) -> SampleSummary:
    """Generate the synthetic export into `out_dir` (created if needed); deterministic."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    out_dir.mkdir(parents=True, exist_ok=True)
    export_seq = _streams(seed)[2]
    cases = canonical_cases(seed, scale)
    summary = SampleSummary(out_dir=out_dir, n_cases=cases.height)
    summary.n_answers = int(
        cases.select(pl.sum_horizontal(pl.col(list(KEY_QUESTIONS)).is_not_null())).sum().item()
    )
    export_rngs = dict(
        zip(
            EXPORTS, [np.random.default_rng(s) for s in export_seq.spawn(len(EXPORTS))], strict=True
        )
    )
    for key, style in EXPORTS.items():
        rng = export_rngs[key]
        canonical = (
            cases.filter(pl.col("export") == key)
            .drop("export")
            .sort("fieldwork_start", "inspection_id", "case_id")
        )
        styled = _styled(canonical, style, rng)
        rows, injected = _inject_invalid(styled, canonical, style, rng)
        path = out_dir / style.file_name
        tmp = path.with_name(path.name + ".tmp")
        if style.kind == "csv":
            _write_csv(rows, tmp, style)
        else:
            _write_xlsx(rows, tmp, style, rng)
        tmp.replace(path)
        summary.files[style.file_name] = styled.height
        summary.injected[style.file_name] = injected
    manifest = {
        "generator": "pipeline.sample",
        "seed": seed,
        "scale": scale,
        "synthetic": True,
        "n_cases": summary.n_cases,
        "n_key_question_answers": summary.n_answers,
        "files": {
            name: {
                "rows": rows,
                "sha256": hashlib.sha256((out_dir / name).read_bytes()).hexdigest(),
                "invalid_rows": summary.injected[name],
            }
            for name, rows in summary.files.items()
        },
        "row_numbering": "source rows as a spreadsheet shows them: the header is row 1",
    }
    (out_dir / "sample_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out_dir / "README.md").write_text(SAMPLE_README.format(seed=seed, scale=scale))
    log.info(
        "sample: %d cases, %d answers in %d files",
        summary.n_cases,
        summary.n_answers,
        len(summary.files),
    )
    return summary
