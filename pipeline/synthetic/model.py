"""The synthetic answer model's shared parts: the per-case frame, random effects, baseline
calibration and exact reproduction of single-inspection published figures. Used by `cases.py`
(context and the key questions) and `blocks.py` (court work, resettlement, prompts, oversight,
practitioners, rationales)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline import refdata
from pipeline.domain import DIPP_PROGRAMME
from pipeline.synthetic.schedule import Inspection


def choice(rng: np.random.Generator, values: list[str], p: list[float], n: int) -> np.ndarray:
    p_arr = np.asarray(p, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), n, p=p_arr / p_arr.sum())]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def calibrate_shift(eta: np.ndarray, target: float, tol: float = 1e-10) -> float:
    """Shift on the logit scale so that mean(sigmoid(eta + shift)) equals `target` (0-1).

    The mean is monotone in the shift, so bisection converges; this is how each programme's
    baseline is solved given the realised case mix and random effects.
    """
    lo, hi = -20.0, 20.0
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if sigmoid(eta + mid).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass
class Frame:
    """Per-case arrays shared by the drawing steps."""

    inspections: list[Inspection]
    insp_idx: np.ndarray
    programme: np.ndarray
    provider: np.ndarray
    framework: np.ndarray
    group: np.ndarray
    fw_start: np.ndarray
    question_set: np.ndarray | None = None
    """'core' or 'adjusted' per case, once drawn (targets may select one set)."""

    @property
    def n(self) -> int:
        return len(self.insp_idx)


def make_frame(inspections: list[Inspection]) -> Frame:
    n_per = np.array([i.n_cases for i in inspections])
    insp_idx = np.repeat(np.arange(len(inspections)), n_per)

    def per_insp(attr: str) -> np.ndarray:
        return np.asarray([getattr(i, attr) for i in inspections], dtype=object)[insp_idx]

    programme, provider = per_insp("programme"), per_insp("provider")
    starts = np.asarray([i.fieldwork_start for i in inspections], dtype="datetime64[D]")
    return Frame(
        inspections,
        insp_idx,
        programme,
        provider,
        per_insp("framework"),
        np.where(programme == DIPP_PROGRAMME, "DIPP", provider),
        starts[insp_idx],
    )


@dataclass
class Effects:
    """Random effects of the multilevel model, per case."""

    region: np.ndarray
    inspection: np.ndarray
    inspection_theme: dict[str, np.ndarray]
    case: np.ndarray


def target_column(target: dict[str, Any]) -> str | None:
    """The contract column a calibration target measures (None for enquiry targets, which
    are shares among flagged cases)."""
    measure, code = target["measure"], target["key_question"]
    return {"kq": code, "prompt": f"prompt_{code}", "oversight": "management_oversight"}.get(
        measure
    )


@dataclass
class ExactTarget:
    """A published figure the generator reproduces: which answers (column, case mask), the
    share judged sufficient (None for a pooled figure, left random) and the number of relevant
    answers where the source gives it (31 of 118; the bulletin's 1,748)."""

    column: str
    mask: np.ndarray
    share: float | None
    denominator: int | None


def exact_targets(f: Frame) -> list[ExactTarget]:
    """Published figures reproduced exactly: each figure that describes one inspection, or one
    regional round (the national inspection's Annexe One, court work, resettlement, prompts
    and oversight, and the regional results in calibration_targets.csv), to within one case
    (to the case where the source gives numerator and denominator), as the real inspection's
    did; and the number of relevant answers of any target that gives one. Pooled figures'
    percentages (many inspections) stay random."""
    out = []
    for t in refdata.calibration_targets().iter_rows(named=True):
        column = target_column(t)
        if column is None or t["comparison"] != "approx":
            continue
        chosen = [k for k, i in enumerate(f.inspections) if selected(i, t)]
        rounds = {f.inspections[k].regional_round for k in chosen}
        single = len(chosen) == 1 or (chosen and len(rounds) == 1 and None not in rounds)
        denominator = int(t["target_denominator"]) if t.get("target_denominator") else None
        if not single and denominator is None:
            continue
        mask = np.isin(f.insp_idx, chosen)
        if t.get("question_set") and f.question_set is not None:
            mask &= f.question_set == t["question_set"]
        share = float(t["target_pct"]) / 100 if single else None
        if single and t.get("target_numerator") and denominator:
            share = int(t["target_numerator"]) / denominator
        out.append(ExactTarget(column, mask, share, denominator))
    return out


@dataclass
class BoundTarget:
    """A published bound the generator keeps to: the answers of `column` in `mask` judged
    sufficient in a share below (`below`) or above (not `below`) `share`."""

    column: str
    mask: np.ndarray
    share: float
    below: bool


def bound_targets(f: Frame) -> list[BoundTarget]:
    """Published bounds on one inspection's key-question or prompt answers ('fewer than half
    of cases met the standard for keeping people safe in assessment')."""
    out = []
    for t in refdata.calibration_targets().iter_rows(named=True):
        column = target_column(t)
        if column is None or t["comparison"] not in ("below", "above"):
            continue
        chosen = [k for k, i in enumerate(f.inspections) if selected(i, t)]
        mask = np.isin(f.insp_idx, chosen)
        if t.get("question_set") and f.question_set is not None:
            mask &= f.question_set == t["question_set"]
        below = t["comparison"] == "below"
        out.append(BoundTarget(column, mask, float(t["target_pct"]) / 100, below))
    return out


def within_bound(
    yes: np.ndarray, p: np.ndarray, group: np.ndarray, bound: BoundTarget
) -> np.ndarray:
    """`yes` with as few answers changed as keep the share of yes in `group` strictly on the
    bound's side: the yes answers least likely under the model become no (or the likeliest no
    answers yes). Deterministic, so the rest of the sample keeps its random draws."""
    idx = np.flatnonzero(group)
    n = len(idx)
    if n == 0:
        return yes
    yes = yes.copy()
    if bound.below:
        allowed = int(np.ceil(bound.share * n)) - 1  # the most yes answers under the bound
        chosen = idx[yes[idx]]
        excess = len(chosen) - max(allowed, 0)
        if excess > 0:
            yes[chosen[np.argsort(p[chosen], kind="stable")[:excess]]] = False
        return yes
    needed = int(np.floor(bound.share * n)) + 1  # the fewest yes answers over the bound
    chosen = idx[~yes[idx]]
    short = min(needed - (n - len(chosen)), len(chosen))
    if short > 0:
        yes[chosen[np.argsort(-p[chosen], kind="stable")[:short]]] = True
    return yes


def with_denominators(
    rng: np.random.Generator, column: str, asked: np.ndarray, relevant: np.ndarray, f: Frame
) -> np.ndarray:
    """`relevant`, changed where a target gives the number of relevant answers: cases of the
    target's selection that were asked are made relevant or not applicable at random until
    exactly that many are judged (as many as there are, if fewer were asked)."""
    relevant = relevant.copy()
    for t in exact_targets(f):
        if t.column != column or t.denominator is None:
            continue
        group = t.mask & asked
        judged = np.flatnonzero(group & relevant)
        spare = np.flatnonzero(group & ~relevant)
        if len(judged) > t.denominator:
            relevant[rng.choice(judged, len(judged) - t.denominator, replace=False)] = False
        elif len(judged) < t.denominator:
            take = min(t.denominator - len(judged), len(spare))
            relevant[rng.choice(spare, take, replace=False)] = True
    return relevant


def selected(insp: Inspection, target: dict[str, Any]) -> bool:
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


def exactly(rng: np.random.Generator, p: np.ndarray, target: float) -> np.ndarray:
    """Exactly round(target x n) yes answers, drawn with weights following each case's odds
    (so the model's case-mix and risk effects still decide who is judged sufficient)."""
    k = round(target * len(p))
    odds = p / np.clip(1 - p, 1e-12, None)
    yes = np.zeros(len(p), dtype=bool)
    if k:
        yes[rng.choice(len(p), size=k, replace=False, p=odds / odds.sum())] = True
    return yes


def design_pct() -> dict[tuple[str, str, str], float]:
    design = refdata.sample_design().select("programme", "provider", "measure", "design_pct")
    return {(p, prov, m): v / 100 for p, prov, m, v in design.iter_rows()}


def groups(
    programme: np.ndarray, provider: np.ndarray
) -> Iterator[tuple[tuple[str, str], np.ndarray]]:
    keys = sorted(set(zip(programme.tolist(), provider.tolist(), strict=True)))
    for prog, prov in keys:
        yield (prog, prov), (programme == prog) & (provider == prov)


def draw_answers(
    rng: np.random.Generator,
    f: Frame,
    column: str,
    eta: np.ndarray,
    asked: np.ndarray,
    relevant: np.ndarray,
) -> np.ndarray:
    """yes / no / na / None for one question: None where not asked, 'na' where asked but not
    relevant; otherwise each programme's baseline is solved to its design value for `column`
    (provider 'all' in sample_design.csv) and exact targets are reproduced."""
    design = design_pct()
    designed = np.isin(f.programme, [p for p, prov, m in design if m == column and prov == "all"])
    asked = asked & designed  # a programme without a design value does not ask it
    relevant = with_denominators(rng, column, asked, relevant, f)
    judged = asked & relevant
    p = np.zeros(f.n)
    for prog in sorted(set(f.programme.tolist())):
        mask = f.programme == prog
        target = design.get((prog, "all", column))
        if target is not None and (mask & judged).any():
            p[mask] = sigmoid(eta[mask] + calibrate_shift(eta[mask & judged], target))
    yes = rng.random(f.n) < p
    for published in exact_targets(f):
        group = published.mask & judged
        if published.column == column and published.share is not None and group.any():
            yes[group] = exactly(rng, p[group], published.share)
    answer = np.where(yes, "yes", "no").astype(object)
    answer[~relevant] = "na"
    answer[~asked] = None
    return answer
