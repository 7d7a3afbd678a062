"""Synthetic cases: context, case mix and answers drawn from a multilevel logistic model.

Key question x programme baseline, region effect, inspection (cluster) effect, case effect shared
across a case's questions, and case-mix effects. Baselines are solved numerically so that each
programme's expected sufficiency equals the design table in `reference/sample_design.csv`. The
random draws happen in a fixed order, so a seed always gives the same cases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.domain import DIPP_PROGRAMME, KEY_QUESTIONS, THEMES
from pipeline.synthetic.schedule import Inspection

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


@dataclass
class _Frame:
    """Per-case arrays shared by the drawing steps."""

    inspections: list[Inspection]
    insp_idx: np.ndarray
    programme: np.ndarray
    provider: np.ndarray
    framework: np.ndarray
    group: np.ndarray
    fw_start: np.ndarray

    @property
    def n(self) -> int:
        return len(self.insp_idx)


def _frame(inspections: list[Inspection]) -> _Frame:
    n_per = np.array([i.n_cases for i in inspections])
    insp_idx = np.repeat(np.arange(len(inspections)), n_per)

    def per_insp(attr: str) -> np.ndarray:
        return np.asarray([getattr(i, attr) for i in inspections], dtype=object)[insp_idx]

    programme, provider = per_insp("programme"), per_insp("provider")
    starts = np.asarray([i.fieldwork_start for i in inspections], dtype="datetime64[D]")
    return _Frame(
        inspections,
        insp_idx,
        programme,
        provider,
        per_insp("framework"),
        np.where(programme == DIPP_PROGRAMME, "DIPP", provider),
        starts[insp_idx],
    )


def draw_cases(rng: np.random.Generator, inspections: list[Inspection]) -> pl.DataFrame:
    """Draw every case with context, case mix and answers, in canonical contract values."""
    f = _frame(inspections)
    region = _regions(rng, f)
    columns = _case_mix(rng, f, region)
    adjusted = _question_sets(rng, f, columns["case_type"])
    columns["question_set"] = np.where(adjusted, "adjusted", "core").astype(object)
    # Dates: the order or licence started 3-11 months before fieldwork (framework.md 6.3).
    start_date = f.fw_start - rng.integers(90, 331, f.n).astype("timedelta64[D]")
    effects = _random_effects(rng, f, region)
    columns |= _answers(rng, f, columns, adjusted, effects)
    columns |= _enquiries(rng, f, effects)
    return _cases_frame(f, region, start_date, columns)


def _regions(rng: np.random.Generator, f: _Frame) -> np.ndarray:
    """Region per case (split CRC/NPS footprints give cases in more than one region)."""
    region = np.empty(f.n, dtype=object)
    for k, insp in enumerate(f.inspections):
        mask = f.insp_idx == k
        region[mask] = _choice(rng, list(insp.regions), list(insp.region_weights), int(mask.sum()))
    return region


def _case_mix(rng: np.random.Generator, f: _Frame, region: np.ndarray) -> dict[str, np.ndarray]:
    """Case type, risk, MAPPA level, gender, ethnicity (London differs) and age band."""
    codes = refdata.codes()
    columns: dict[str, np.ndarray] = {}
    for col in ("case_type", "rosh", "mappa_level"):
        out = np.empty(f.n, dtype=object)
        for g, mix in CASE_MIX.items():
            mask = f.group == g
            out[mask] = _choice(rng, codes[col], mix[col], int(mask.sum()))
        columns[col] = out
    columns["mappa_level"][rng.random(f.n) < 0.02] = None  # optional field, sometimes unrecorded
    columns["gender"] = _choice(rng, codes["gender"], GENDER_P, f.n)
    eth = _choice(rng, codes["ethnicity"], ETHNICITY_P["default"], f.n)
    london = region == "London"
    eth[london] = _choice(rng, codes["ethnicity"], ETHNICITY_P["London"], int(london.sum()))
    columns["ethnicity"] = eth
    columns["age_band"] = _choice(rng, codes["age_band"], AGE_P, f.n)
    return columns


def _question_sets(rng: np.random.Generator, f: _Frame, case_type: np.ndarray) -> np.ndarray:
    """Adjusted question set for Probation Reset / suspended-contact cases (framework.md
    3.4-3.5); an inspection with a published count of adjusted cases gets exactly that many."""
    adjusted = np.zeros(f.n, dtype=bool)
    dipp = f.programme == DIPP_PROGRAMME
    adjusted |= dipp & ((case_type == "pss") | (rng.random(f.n) < 0.08))
    reset_era = (f.programme == "pdu_regional_2023") & (f.fw_start >= np.datetime64("2024-10-01"))
    adjusted |= reset_era & (rng.random(f.n) < 0.05)
    for k, insp in enumerate(f.inspections):
        if insp.n_adjusted is not None:
            idx = np.flatnonzero(f.insp_idx == k)
            adjusted[idx] = False
            adjusted[rng.choice(idx, insp.n_adjusted, replace=False)] = True
    return adjusted


@dataclass
class _Effects:
    """Random effects of the multilevel model, per case."""

    region: np.ndarray
    inspection: np.ndarray
    inspection_theme: dict[str, np.ndarray]
    case: np.ndarray


def _random_effects(rng: np.random.Generator, f: _Frame, region: np.ndarray) -> _Effects:
    """Region offsets (two anchored to published regional results), inspection, inspection x
    theme and case effects."""
    region_eff = refdata.sample_region_effects()
    count = len(f.inspections)
    u_insp = rng.normal(0, SD_INSPECTION, count)[f.insp_idx]
    u_theme = {t: rng.normal(0, SD_INSPECTION_THEME, count)[f.insp_idx] for t in THEMES}
    u_case = rng.normal(0, SD_CASE, f.n)
    return _Effects(np.asarray([region_eff[r] for r in region]), u_insp, u_theme, u_case)


def _linear_predictor(kq: str, columns: dict[str, np.ndarray], effects: _Effects) -> np.ndarray:
    """Logit of sufficiency before the programme baseline: random effects plus case mix
    (risk matters for safety questions; age, gender and case type for the others)."""
    theme = kq.split("_")[1]
    case_type, mappa = columns["case_type"], columns["mappa_level"]
    eta = effects.region + effects.inspection + effects.inspection_theme[theme] + effects.case
    if theme == "safety":
        rosh_eff = np.asarray([ROSH_SAFETY[r] for r in columns["rosh"]])
        eta = eta + rosh_eff - 0.10 * (case_type == "licence") - 0.20 * (case_type == "pss")
        return eta + 0.10 * ((mappa != "0") & (mappa != None))  # noqa: E711 (object array)
    eta = eta - 0.20 * (columns["age_band"] == "18-24") + 0.10 * (columns["age_band"] == "50+")
    eta = eta + 0.15 * (columns["gender"] == "female")
    return eta - 0.20 * (case_type == "pss")


def _answers(
    rng: np.random.Generator,
    f: _Frame,
    columns: dict[str, np.ndarray],
    adjusted: np.ndarray,
    effects: _Effects,
) -> dict[str, np.ndarray]:
    """Yes / no / na per key question; each programme's baseline solved to its design value."""
    asked = {fw: set(refdata.questions_asked(fw)) for fw in refdata.codes()["framework"]}
    design_pct = _design_pct()
    exact = _exact_targets(f)
    out: dict[str, np.ndarray] = {}
    for kq in KEY_QUESTIONS:
        standard = kq.split("_")[0]
        eta = _linear_predictor(kq, columns, effects)
        is_asked = np.asarray([kq in asked[fw] for fw in f.framework])
        na_p = np.where(adjusted, NA_P_ADJUSTED[standard], NA_P[standard])
        is_na = rng.random(f.n) < na_p
        p = np.zeros(f.n)
        for (prog, prov), mask in _groups(f.programme, f.provider):
            target = design_pct.get((prog, prov, kq))
            if target is None:
                continue
            shift = calibrate_shift(eta[mask & is_asked & ~is_na], target)
            p[mask] = _sigmoid(eta[mask] + shift)
        yes = rng.random(f.n) < p
        for target_kq, mask, share in exact:
            group = mask & is_asked & ~is_na
            if target_kq == kq and group.any():
                yes[group] = _exactly(rng, p[group], share)
        answer = np.where(yes, "yes", "no").astype(object)
        answer[is_na] = "na"
        answer[~is_asked] = None
        out[kq] = answer
    return out


def _exact_targets(f: _Frame) -> list[tuple[str, np.ndarray, float]]:
    """(key question, case mask, share) for each published figure that describes one
    inspection, or one regional round, exactly: the national inspection's Annexe One and the
    regional results in calibration_targets.csv. Their answers reproduce the figure to within
    one case, as the real inspection's did; pooled figures (many inspections) stay random."""
    out = []
    targets = refdata.calibration_targets().filter(pl.col("measure") == "kq")
    for t in targets.iter_rows(named=True):
        chosen = [k for k, i in enumerate(f.inspections) if _selected(i, t)]
        rounds = {f.inspections[k].regional_round for k in chosen}
        if len(chosen) == 1 or (chosen and len(rounds) == 1 and None not in rounds):
            mask = np.isin(f.insp_idx, chosen)
            out.append((t["key_question"], mask, float(t["target_pct"]) / 100))
    return out


def _selected(insp: Inspection, target: dict) -> bool:
    """Whether a calibration target's selection takes this inspection."""
    checks = [
        not target["inspection_type"]
        or insp.inspection_type in target["inspection_type"].split(";"),
        not target["region"] or insp.regions == (target["region"],),
    ]
    for bound, value, after in (
        ("published_from", insp.publication_date, True),
        ("published_to", insp.publication_date, False),
        ("fieldwork_from", insp.fieldwork_start, True),
        ("fieldwork_to", insp.fieldwork_start, False),
    ):
        if target[bound]:
            limit = dt.date.fromisoformat(target[bound])
            checks.append(value >= limit if after else value <= limit)
    return all(checks)


def _exactly(rng: np.random.Generator, p: np.ndarray, target: float) -> np.ndarray:
    """Exactly round(target x n) yes answers, drawn with weights following each case's odds
    (so the model's case-mix and risk effects still decide who is judged sufficient)."""
    k = round(target * len(p))
    odds = p / np.clip(1 - p, 1e-12, None)
    yes = np.zeros(len(p), dtype=bool)
    if k:
        yes[rng.choice(len(p), size=k, replace=False, p=odds / odds.sum())] = True
    return yes


def _design_pct() -> dict[tuple[str, str, str], float]:
    design = refdata.sample_design().select("programme", "provider", "measure", "design_pct")
    return {(p, prov, m): v / 100 for p, prov, m, v in design.iter_rows()}


def _enquiries(rng: np.random.Generator, f: _Frame, effects: _Effects) -> dict[str, np.ndarray]:
    """Domestic abuse and child safeguarding: concern flags, and whether the enquiry was made."""
    design_pct = _design_pct()
    out: dict[str, np.ndarray] = {}
    for flag, enquiry, key in (
        ("da_concern", "da_enquiry", "da"),
        ("cs_concern", "cs_enquiry", "cs"),
    ):
        concern = np.zeros(f.n, dtype=bool)
        for g, mix in CASE_MIX.items():
            mask = f.group == g
            concern[mask] = rng.random(int(mask.sum())) < mix[key][0]
        eta = 0.25 * effects.inspection + 0.5 * effects.case  # enquiry practice varies less
        p = np.zeros(f.n)
        for (prog, _), mask in _groups(f.programme, f.provider):
            shift = calibrate_shift(eta[mask & concern], design_pct[(prog, "all", enquiry)])
            p[mask] = _sigmoid(eta[mask] + shift)
        made = np.where(rng.random(f.n) < p, "yes", "no").astype(object)
        made[~concern] = "na"
        out[flag] = np.where(concern, "true", "false").astype(object)
        out[enquiry] = made
    return out


def _cases_frame(
    f: _Frame, region: np.ndarray, start_date: np.ndarray, columns: dict[str, np.ndarray]
) -> pl.DataFrame:
    """The drawn cases as text columns in contract order, with their export and the flag."""

    def insp_col(attr: str) -> pl.Series:
        return pl.Series(attr, [getattr(i, attr) for i in f.inspections])[f.insp_idx]

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
            "regional_round": pl.Series(
                "regional_round", [i.regional_round for i in f.inspections], dtype=pl.String
            )[f.insp_idx],
            "case_id": pl.Series(_case_ids(f.insp_idx), dtype=pl.String),
            "start_date": pl.Series(start_date.astype("datetime64[D]").tolist(), dtype=pl.Date),
            **{c: pl.Series(v.tolist(), dtype=pl.String) for c, v in columns.items()},
            "export": insp_col("export"),
        }
    )
    contract = refdata.contract_columns()["column"].to_list()
    return frame.select(*contract, "export").with_columns(synthetic=pl.lit("true"))


def _groups(
    programme: np.ndarray, provider: np.ndarray
) -> Iterator[tuple[tuple[str, str], np.ndarray]]:
    keys = sorted(set(zip(programme.tolist(), provider.tolist(), strict=True)))
    for prog, prov in keys:
        yield (prog, prov), (programme == prog) & (provider == prov)


def _case_ids(insp_idx: np.ndarray) -> list[str]:
    """Pseudonymised case ids: unique within an inspection, no meaning outside it."""
    position = np.arange(len(insp_idx)) - np.searchsorted(insp_idx, insp_idx)
    mixed = (insp_idx.astype(np.uint64) * 100_003 + position.astype(np.uint64) + 1) * 2_654_435_761
    mixed = mixed % np.uint64(2**32)
    return [f"C{v ^ 0x5A17C0DE:08X}" for v in mixed.tolist()]
