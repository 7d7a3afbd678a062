"""Synthetic data blocks beyond the 12 key questions: the practitioner managing the case, court
work, resettlement, management oversight and prompt-level answers.

Designed like the key questions: the same random effects (so a weak inspection is weak on every
block), baselines solved to design values in reference/sample_design.csv (provider 'all'), and
the national inspection's published figures reproduced exactly (seed 003). Practitioner effects
are assumed, in the direction HMIP's caseload research reports (higher caseloads and less
experience go with lower quality); the practitioner model in the tables should recover them.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.domain import NEED_PREFIX, PROMPT_PREFIX
from pipeline.synthetic.model import Effects, Frame, choice, draw_answers, selected

GRADE_P = {  # po, pso, pqip, spo, other, unknown (codes.csv order)
    "CRC": [0.30, 0.60, 0.05, 0.02, 0.02, 0.01],
    "NPS": [0.70, 0.18, 0.08, 0.02, 0.01, 0.01],
    "PS": [0.52, 0.30, 0.13, 0.02, 0.01, 0.02],
    "DIPP": [0.55, 0.28, 0.12, 0.02, 0.01, 0.02],
}
CASELOAD_P = {  # under_40, 40_to_49, 50_to_59, 60_plus, unknown
    "CRC": [0.15, 0.25, 0.30, 0.27, 0.03],
    "NPS": [0.35, 0.35, 0.20, 0.07, 0.03],
    "PS": [0.25, 0.32, 0.25, 0.15, 0.03],
    "DIPP": [0.30, 0.33, 0.22, 0.12, 0.03],
}
EXPERIENCE_P = {  # under_2_years, 2_to_5_years, over_5_years, unknown; by grade
    "pqip": [0.90, 0.08, 0.0, 0.02],
    "po": [0.20, 0.35, 0.43, 0.02],
    "pso": [0.35, 0.35, 0.28, 0.02],
    "spo": [0.0, 0.15, 0.83, 0.02],
    "other": [0.30, 0.30, 0.38, 0.02],
    "unknown": [0.0, 0.0, 0.0, 1.0],
}
PRACTITIONER_EFFECT: dict[tuple[str, str], dict[str, float]] = {
    ("practitioner_grade", "pso"): {"safety": -0.30, "other": -0.10},
    ("practitioner_grade", "pqip"): {"safety": -0.20, "other": -0.10},
    ("practitioner_grade", "spo"): {"safety": 0.10, "other": 0.05},
    ("caseload_band", "50_to_59"): {"safety": -0.15, "other": -0.15},
    ("caseload_band", "60_plus"): {"safety": -0.40, "other": -0.35},
    ("experience_band", "under_2_years"): {"safety": -0.15, "other": -0.15},
}
"""Logit effects on sufficiency (assumed): keeping people safe, and every other question."""
COURT_REPORT_P = {"community": 0.75, "licence": 0.35, "pss": 0.35}
"""Share of cases with a pre-sentence report to inspect (regional counts: 149 of 330, 204 of
292, 299 of 546 court reports in published rounds)."""
RELEASED_IN_SCOPE = 0.85
"""Share of licence and post-sentence cases whose resettlement work was inspected (published
rounds: 104 of 330, 102 of 292, 209 of 546 resettlement cases)."""
OVERSIGHT_NA = 0.08
"""Cases where management oversight was not expected (e.g. allocated days before)."""


def practitioner(rng: np.random.Generator, f: Frame) -> dict[str, np.ndarray]:
    """Grade, caseload band and experience band of the practitioner managing each case."""
    codes = refdata.codes()
    grade = np.empty(f.n, dtype=object)
    caseload = np.empty(f.n, dtype=object)
    for group in GRADE_P:
        mask = f.group == group
        grade[mask] = choice(rng, codes["practitioner_grade"], GRADE_P[group], int(mask.sum()))
        caseload[mask] = choice(rng, codes["caseload_band"], CASELOAD_P[group], int(mask.sum()))
    experience = np.empty(f.n, dtype=object)
    for level, p in EXPERIENCE_P.items():
        mask = grade == level
        experience[mask] = choice(rng, codes["experience_band"], p, int(mask.sum()))
    return {"practitioner_grade": grade, "caseload_band": caseload, "experience_band": experience}


def practitioner_eta(theme: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    """The practitioner's contribution to the logit of sufficiency for a question theme."""
    key = "safety" if theme == "safety" else "other"
    eta = np.zeros(len(columns["practitioner_grade"]))
    for (column, level), effect in PRACTITIONER_EFFECT.items():
        eta = eta + effect[key] * (columns[column] == level)
    return eta


def _shared_eta(effects: Effects, columns: dict[str, np.ndarray], theme: str) -> np.ndarray:
    return np.asarray(
        effects.region + effects.inspection + effects.case + practitioner_eta(theme, columns)
    )


def single_questions(
    rng: np.random.Generator, f: Frame, columns: dict[str, np.ndarray], effects: Effects
) -> dict[str, np.ndarray]:
    """Court work (cases with a pre-sentence report) and resettlement (cases released from
    custody), in the frameworks that ask them (key_questions.csv)."""
    case_type = columns["case_type"]
    out: dict[str, np.ndarray] = {}
    report = rng.random(f.n) < np.asarray([COURT_REPORT_P[t] for t in case_type])
    out |= court_report_concerns(rng, f, columns, report)
    columns = columns | out
    released = np.isin(case_type, ["licence", "pss"]) & (rng.random(f.n) < RELEASED_IN_SCOPE)
    for question, relevant, theme in (
        ("court_work", report, "desistance"),
        ("resettlement", released, "safety"),
    ):
        asked = np.isin(f.framework, _frameworks_asking(question))
        eta = _shared_eta(effects, columns, theme)
        out[question] = draw_answers(rng, f, question, eta, asked, relevant)
    return out


def court_report_concerns(
    rng: np.random.Generator, f: Frame, columns: dict[str, np.ndarray], report: np.ndarray
) -> dict[str, np.ndarray]:
    """Domestic abuse and child safeguarding indications among an inspection's court reports,
    set exactly where a published figure gives them (calibration_targets.csv, measure
    'court_concern': the national inspection's 62 % and two-thirds). Cases flagged or
    unflagged here get their enquiry redrawn (made at the inspection's own rate) or 'na'."""
    out: dict[str, np.ndarray] = {}
    targets = refdata.calibration_targets().filter(pl.col("measure") == "court_concern")
    for t in targets.iter_rows(named=True):
        chosen = [k for k, i in enumerate(f.inspections) if selected(i, t)]
        reports = np.flatnonzero(np.isin(f.insp_idx, chosen) & report)
        if len(reports) == 0:
            continue
        flag = t["key_question"]
        enquiry = flag.replace("_concern", "_enquiry")
        concern = (out.get(flag, columns[flag]) == "true").copy()
        made = out.get(enquiry, columns[enquiry]).copy()
        rate = (
            float(np.mean(made[reports][concern[reports]] == "yes"))
            if concern[reports].any()
            else 0.5
        )
        concern[reports] = False
        flagged = rng.choice(reports, round(t["target_pct"] / 100 * len(reports)), replace=False)
        concern[flagged] = True
        made[reports] = np.where(rng.random(len(reports)) < rate, "yes", "no")
        made[~concern] = "na"
        out[flag] = np.where(concern, "true", "false").astype(object)
        out[enquiry] = made
    return out


def _frameworks_asking(question: str) -> list[str]:
    catalogue = refdata.key_questions()
    return catalogue.filter(catalogue["key_question"] == question)["framework"].to_list()


def oversight(
    rng: np.random.Generator, f: Frame, columns: dict[str, np.ndarray], effects: Effects
) -> dict[str, np.ndarray]:
    """Management oversight: a team-level practice, so mostly the inspection's effect."""
    eta = effects.region + 1.5 * effects.inspection + 0.5 * effects.case
    eta = eta + 0.3 * (columns["practitioner_grade"] == "pqip")  # trainees are overseen more
    asked = np.ones(f.n, dtype=bool)
    relevant = rng.random(f.n) >= OVERSIGHT_NA
    return {
        "management_oversight": draw_answers(rng, f, "management_oversight", eta, asked, relevant)
    }


def prompts(
    rng: np.random.Generator, f: Frame, columns: dict[str, np.ndarray], effects: Effects
) -> dict[str, np.ndarray]:
    """Prompt answers under their parent question: asked where the framework asks the prompt
    and the parent was judged (yes or no); 'na' where the prompt does not apply (e.g. no
    domestic abuse concern). A prompt is much more often met when its parent is sufficient."""
    out = {}
    for row in refdata.prompts().iter_rows(named=True):
        parent = columns[row["key_question"]]
        asked = np.isin(f.framework, row["frameworks"]) & np.isin(parent, ["yes", "no"])
        eta = 2.0 * (parent == "yes") - 1.0 + 0.5 * effects.case + 0.5 * effects.inspection
        relevant = _applies(row["applies_when"], columns)
        answer = draw_answers(rng, f, PROMPT_PREFIX + row["prompt"], eta, asked, relevant)
        answer[np.isin(parent, ["na"]) & np.isin(f.framework, row["frameworks"])] = "na"
        out[PROMPT_PREFIX + row["prompt"]] = answer
    return out


def needs(
    rng: np.random.Generator, f: Frame, columns: dict[str, np.ndarray], effects: Effects
) -> dict[str, np.ndarray]:
    """The needs block: per area, whether the person has the need (reference/needs.csv,
    assumed shares), whether it was identified and whether it was addressed. A need that was
    not identified is seldom addressed. Design values (sample_design.csv) make the first
    unified programme meet every kind of need less often than the last CRC/NPS round (seed
    004: the unified service is 'less successful at meeting every kind of need'). Drawn from
    `rng` (a generator of its own), so adding the block leaves every other column unchanged."""
    out = {}
    desistance = columns["implementation_desistance"]
    for row in refdata.needs().iter_rows(named=True):
        present = rng.random(f.n) < row["sample_present_pct"] / 100
        asked = np.ones(f.n, dtype=bool)
        stem = f"{NEED_PREFIX}{row['need']}_"
        base = effects.region + 0.5 * effects.inspection + 0.5 * effects.case
        identified = draw_answers(rng, f, stem + "identified", base, asked, present)
        eta = base + 1.5 * (identified == "yes") + 0.5 * (desistance == "yes")
        out[stem + "identified"] = identified
        out[stem + "addressed"] = draw_answers(rng, f, stem + "addressed", eta, asked, present)
    return out


def _applies(rule: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Which cases a prompt applies to (prompts.csv `applies_when`)."""
    n = len(columns["case_type"])
    if rule == "da_concern":
        return np.asarray(columns["da_concern"] == "true")
    if rule == "cs_concern":
        return np.asarray(columns["cs_concern"] == "true")
    if rule == "mappa":
        mappa = columns["mappa_level"]
        return np.isin(mappa, ["1", "2", "3"])
    return np.ones(n, dtype=bool)
