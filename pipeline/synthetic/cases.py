"""Synthetic cases: context, case mix and answers drawn from a multilevel logistic model.

Key question x programme baseline, region effect, inspection (cluster) effect, case effect shared
across a case's questions, and case-mix effects. Baselines are solved numerically so that each
programme's expected sufficiency equals the design table in `reference/sample_design.csv`. The
random draws happen in a fixed order, so a seed always gives the same cases.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.domain import DIPP_PROGRAMME, KEY_QUESTIONS, THEMES
from pipeline.synthetic import blocks, rationales
from pipeline.synthetic.model import (
    Effects,
    Frame,
    bound_targets,
    calibrate_shift,
    choice,
    design_pct,
    exact_targets,
    exactly,
    groups,
    make_frame,
    sigmoid,
    with_denominators,
    within_bound,
)
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
RESET = "reset_or_impact_within_8_weeks"
ADJUSTED_SHORT_LICENCE_P = 0.04
"""Dynamic inspection: of the non-PSS cases drawn onto the adjusted set (8 %), licence cases
below this draw had a licence of eight weeks or less; the rest had Reset or Impact (assumed)."""
REASON_RECORDED = ("pdu_regional_2023", "national_2024", DIPP_PROGRAMME)
"""Programmes whose exports record `adjusted_reason` (the adjusted set exists from 2024)."""
LOCAL_ASSESSOR_SHARE = {"pdu_regional_2023": 0.20, "national_2024": 0.20, DIPP_PROGRAMME: 0.35}
"""Share of cases assessed by local assessors rather than inspectors (assumed)."""
TRUTH_PREFIX = "_truth_"
"""Columns the canonical cases carry for tests (the themes each synthetic rationale was written
with); never written to an export."""


def draw_cases(rng: np.random.Generator, inspections: list[Inspection]) -> pl.DataFrame:
    """Draw every case with context, case mix and answers, in canonical contract values."""
    f = make_frame(inspections)
    region = _regions(rng, f)
    columns = _case_mix(rng, f, region)
    adjusted, columns["adjusted_reason"] = _question_sets(rng, f, columns["case_type"])
    columns["question_set"] = np.where(adjusted, "adjusted", "core").astype(object)
    columns["assessor_type"] = _assessors(rng.spawn(1)[0], f)
    f.question_set = columns["question_set"]
    # Dates: the order or licence started 3-11 months before fieldwork (framework.md 6.3).
    start_date = f.fw_start - rng.integers(90, 331, f.n).astype("timedelta64[D]")
    effects = _random_effects(rng, f, region)
    columns |= blocks.practitioner(rng, f)
    columns |= _answers(rng, f, columns, adjusted, effects)
    columns |= _enquiries(rng, f, effects)
    columns |= blocks.single_questions(rng, f, columns, effects)
    columns |= blocks.oversight(rng, f, columns, effects)
    columns |= blocks.prompts(rng, f, columns, effects)
    columns |= blocks.needs(rng.spawn(1)[0], f, columns, effects)  # own stream: see needs()
    texts, truth = rationales.draw(rng, f.programme, columns)
    columns |= texts
    frame = _cases_frame(f, region, start_date, columns)
    return frame.with_columns(
        pl.Series(f"{TRUTH_PREFIX}{c}", v.tolist(), dtype=pl.String) for c, v in truth.items()
    )


def _regions(rng: np.random.Generator, f: Frame) -> np.ndarray:
    """Region per case (split CRC/NPS footprints give cases in more than one region)."""
    region = np.empty(f.n, dtype=object)
    for k, insp in enumerate(f.inspections):
        mask = f.insp_idx == k
        region[mask] = choice(rng, list(insp.regions), list(insp.region_weights), int(mask.sum()))
    return region


def _case_mix(rng: np.random.Generator, f: Frame, region: np.ndarray) -> dict[str, np.ndarray]:
    """Case type, risk, MAPPA level, gender, ethnicity (London differs) and age band."""
    codes = refdata.codes()
    columns: dict[str, np.ndarray] = {}
    for col in ("case_type", "rosh", "mappa_level"):
        out = np.empty(f.n, dtype=object)
        for g, mix in CASE_MIX.items():
            mask = f.group == g
            out[mask] = choice(rng, codes[col], mix[col], int(mask.sum()))
        columns[col] = out
    columns["mappa_level"][rng.random(f.n) < 0.02] = None  # optional field, sometimes unrecorded
    columns["gender"] = choice(rng, codes["gender"], GENDER_P, f.n)
    eth = choice(rng, codes["ethnicity"], ETHNICITY_P["default"], f.n)
    london = region == "London"
    eth[london] = choice(rng, codes["ethnicity"], ETHNICITY_P["London"], int(london.sum()))
    columns["ethnicity"] = eth
    columns["age_band"] = choice(rng, codes["age_band"], AGE_P, f.n)
    return columns


def _question_sets(
    rng: np.random.Generator, f: Frame, case_type: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which cases are inspected against the adjusted question set, and why (`adjusted_reason`).

    The dynamic inspection's rule (question page; CARaG v1.1, 20 October 2025): post-sentence
    supervision only from release, a licence of eight weeks or less from release, or Probation
    Reset or Impact applied within eight weeks. In the 2023 programme's later PDU inspections and
    the national inspection the adjusted set followed Probation Reset (framework.md 3.4). An
    inspection with a published count of adjusted cases gets exactly that many. Core-set cases
    are 'not_applicable' where the column was recorded (2023 programme onwards), else missing."""
    adjusted = np.zeros(f.n, dtype=bool)
    reason = np.full(f.n, None, dtype=object)
    dipp = f.programme == DIPP_PROGRAMME
    u = rng.random(f.n)
    pss = dipp & (case_type == "pss")
    other = dipp & ~pss & (u < 0.08)
    short_licence = other & (case_type == "licence") & (u < ADJUSTED_SHORT_LICENCE_P)
    reason[pss] = "pss_only_from_release"
    reason[short_licence] = "licence_8_weeks_or_less"
    reason[other & ~short_licence] = RESET
    adjusted |= pss | other
    reset_era = (f.programme == "pdu_regional_2023") & (f.fw_start >= np.datetime64("2024-10-01"))
    reset = reset_era & (rng.random(f.n) < 0.05)
    adjusted |= reset
    reason[reset] = RESET
    for k, insp in enumerate(f.inspections):
        if insp.n_adjusted is not None:
            idx = np.flatnonzero(f.insp_idx == k)
            adjusted[idx] = False
            chosen = rng.choice(idx, insp.n_adjusted, replace=False)
            adjusted[chosen] = True
            reason[chosen] = RESET
    recorded = np.isin(f.programme, REASON_RECORDED)
    reason[recorded & ~adjusted] = "not_applicable"
    return adjusted, reason


def _assessors(rng: np.random.Generator, f: Frame) -> np.ndarray:
    """Inspector or local assessor per case where the programme records it (shares assumed;
    the CARaG says cases are assessed by inspectors and local assessors). Drawn from its own
    random stream, so adding the column left every other value of the sample as it was."""
    out = np.full(f.n, None, dtype=object)
    draw = rng.random(f.n)
    for programme, share in LOCAL_ASSESSOR_SHARE.items():
        mask = f.programme == programme
        out[mask] = np.where(draw[mask] < share, "local_assessor", "inspector")
    return out


def _random_effects(rng: np.random.Generator, f: Frame, region: np.ndarray) -> Effects:
    """Region offsets (two anchored to published regional results), inspection, inspection x
    theme and case effects."""
    region_eff = refdata.sample_region_effects()
    count = len(f.inspections)
    u_insp = rng.normal(0, SD_INSPECTION, count)[f.insp_idx]
    u_theme = {t: rng.normal(0, SD_INSPECTION_THEME, count)[f.insp_idx] for t in THEMES}
    u_case = rng.normal(0, SD_CASE, f.n)
    return Effects(np.asarray([region_eff[r] for r in region]), u_insp, u_theme, u_case)


def _linear_predictor(kq: str, columns: dict[str, np.ndarray], effects: Effects) -> np.ndarray:
    """Logit of sufficiency before the programme baseline: random effects plus case mix
    (risk matters for safety questions; age, gender and case type for the others) plus the
    practitioner's grade, caseload and experience."""
    theme = kq.split("_")[1]
    case_type, mappa = columns["case_type"], columns["mappa_level"]
    eta = effects.region + effects.inspection + effects.inspection_theme[theme] + effects.case
    eta = eta + blocks.practitioner_eta(theme, columns)
    if theme == "safety":
        rosh_eff = np.asarray([ROSH_SAFETY[r] for r in columns["rosh"]])
        eta = eta + rosh_eff - 0.10 * (case_type == "licence") - 0.20 * (case_type == "pss")
        return np.asarray(eta + 0.10 * ((mappa != "0") & (mappa != None)))  # noqa: E711 (object array)
    eta = eta - 0.20 * (columns["age_band"] == "18-24") + 0.10 * (columns["age_band"] == "50+")
    eta = eta + 0.15 * (columns["gender"] == "female")
    return np.asarray(eta - 0.20 * (case_type == "pss"))


def _answers(
    rng: np.random.Generator,
    f: Frame,
    columns: dict[str, np.ndarray],
    adjusted: np.ndarray,
    effects: Effects,
) -> dict[str, np.ndarray]:
    """Yes / no / na per key question; each programme's baseline solved to its design value."""
    asked = {fw: set(refdata.questions_asked(fw)) for fw in refdata.codes()["framework"]}
    design = design_pct()
    exact, bounds = exact_targets(f), bound_targets(f)
    out: dict[str, np.ndarray] = {}
    for kq in KEY_QUESTIONS:
        standard = kq.split("_")[0]
        eta = _linear_predictor(kq, columns, effects)
        is_asked = np.asarray([kq in asked[fw] for fw in f.framework])
        na_p = np.where(adjusted, NA_P_ADJUSTED[standard], NA_P[standard])
        is_na = ~with_denominators(rng, kq, is_asked, rng.random(f.n) >= na_p, f)
        p = np.zeros(f.n)
        for (prog, prov), mask in groups(f.programme, f.provider):
            target = design.get((prog, prov, kq))
            if target is None:
                continue
            shift = calibrate_shift(eta[mask & is_asked & ~is_na], target)
            p[mask] = sigmoid(eta[mask] + shift)
        yes = rng.random(f.n) < p
        for published in exact:
            group = published.mask & is_asked & ~is_na
            if published.column == kq and published.share is not None and group.any():
                yes[group] = exactly(rng, p[group], published.share)
        for bound in bounds:
            if bound.column == kq:
                yes = within_bound(yes, p, bound.mask & is_asked & ~is_na, bound)
        answer = np.where(yes, "yes", "no").astype(object)
        answer[is_na] = "na"
        answer[~is_asked] = None
        out[kq] = answer
    return out


def _enquiries(rng: np.random.Generator, f: Frame, effects: Effects) -> dict[str, np.ndarray]:
    """Domestic abuse and child safeguarding: concern flags, and whether the enquiry was made."""
    design = design_pct()
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
        for (prog, _), mask in groups(f.programme, f.provider):
            shift = calibrate_shift(eta[mask & concern], design[(prog, "all", enquiry)])
            p[mask] = sigmoid(eta[mask] + shift)
        made = np.where(rng.random(f.n) < p, "yes", "no").astype(object)
        made[~concern] = "na"
        out[flag] = np.where(concern, "true", "false").astype(object)
        out[enquiry] = made
    return out


def _cases_frame(
    f: Frame, region: np.ndarray, start_date: np.ndarray, columns: dict[str, np.ndarray]
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
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in contract if c not in frame.columns]
    return (
        frame.with_columns(missing)
        .select(*contract, "export")
        .with_columns(synthetic=pl.lit("true"))
    )


def _case_ids(insp_idx: np.ndarray) -> list[str]:
    """Pseudonymised case ids: unique within an inspection, no meaning outside it."""
    position = np.arange(len(insp_idx)) - np.searchsorted(insp_idx, insp_idx)
    mixed = (insp_idx.astype(np.uint64) * 100_003 + position.astype(np.uint64) + 1) * 2_654_435_761
    mixed = mixed % np.uint64(2**32)
    return [f"C{v ^ 0x5A17C0DE:08X}" for v in mixed.tolist()]
