"""Synthetic rationales: inspectors' reasons for the keeping-people-safe judgements, written from
templates whose themes are known, so the coder's accuracy on them can be measured.

Each rationale holds one to three theme sentences (phrased for a sufficient or an insufficient
judgement) and often a sentence with no theme. Templates are deliberately varied in wording;
the hand-labelled examples in tests/ are written independently of them.
"""

from __future__ import annotations

import numpy as np

from pipeline.domain import RATIONALE_PREFIX

QUESTIONS = ("assessment_safety", "planning_safety", "implementation_safety", "reviewing_safety")
PROGRAMMES = ("pdu_2021", "pdu_regional_2023", "national_2024")
"""Rationales are generated for the safety questions of these programmes only (the March 2025
bulletin's subject), which keeps the committed sample small."""

TEMPLATES: dict[str, tuple[list[str], list[str]]] = {  # theme -> (insufficient, sufficient)
    "police_information": (
        [
            "No enquiry was made with the police about domestic abuse.",
            "Domestic abuse call-out information from the police was not requested.",
            "The police were not asked for information about his previous partners.",
        ],
        [
            "Police information about domestic abuse was obtained and used well.",
            "A domestic abuse check with the police informed the work.",
        ],
    ),
    "childrens_services": (
        [
            "A safeguarding enquiry with children's services was not made.",
            "Children's social care were not contacted despite contact with children.",
            "Information from the local authority about the children was not sought.",
        ],
        [
            "Children's services were contacted and their information was used.",
            "Safeguarding information from children's social care was obtained promptly.",
        ],
    ),
    "home_visits": (
        [
            "No home visit was carried out to check the address.",
            "Home visits were needed but did not take place.",
        ],
        [
            "A home visit was used to check who was living at the address.",
            "Regular home visits helped to monitor the risk.",
        ],
    ),
    "risk_assessment_not_updated": (
        [
            "The risk assessment was not updated after the new offence.",
            "RoSH was not reviewed when his circumstances changed.",
            "The OASys had not been updated following the arrest.",
        ],
        [],
    ),
    "mappa": (
        [
            "MAPPA level 2 management was not considered.",
            "The case was not referred to MAPPA although it met the criteria.",
        ],
        [
            "MAPPA arrangements were used well to manage the risk.",
            "Actions from the MAPPA meeting were followed up.",
        ],
    ),
    "contact_frequency": (
        [
            "Contact was infrequent for a case of this risk.",
            "There were long gaps in contact during the order.",
            "The frequency of contact did not reflect the risk.",
        ],
        [
            "The level of contact was increased when the risk rose.",
        ],
    ),
    "recording": (
        [
            "Records were unclear about the reasons for decisions.",
            "Key discussions were not recorded on the case file.",
        ],
        [],
    ),
    "interventions": (
        [
            "No referral was made to address domestic abuse behaviour.",
            "The accredited programme required by the order was not delivered.",
            "Interventions to reduce the risk were not started.",
        ],
        [
            "A referral to a domestic abuse programme was made promptly.",
            "Interventions addressed the main risk factors.",
        ],
    ),
    "multi_agency_working": (
        [
            "There was little liaison with other agencies involved in the case.",
            "Information-sharing with partner agencies was weak.",
        ],
        [
            "Liaison with other agencies was effective.",
            "Multi-agency work supported the management of risk.",
        ],
    ),
    "management_oversight": (
        [
            "There was no management oversight when the risk increased.",
            "The manager did not check the quality of the plan.",
        ],
        [
            "Management oversight was evident at key points.",
        ],
    ),
    "professional_curiosity": (
        [
            "The practitioner accepted his account of the new relationship at face value.",
            "There was a lack of professional curiosity about his contact with children.",
            "The practitioner did not question the further arrest or explore what had happened.",
        ],
        [
            "The practitioner showed professional curiosity about his new relationship.",
        ],
    ),
    "contingency_planning": (
        [
            "Contingency planning was missing.",
            "There was no contingency plan for a return to the victim's area.",
        ],
        [
            "Contingency planning set out clear actions if the risk escalated.",
        ],
    ),
}
THEME_P = {  # chance a theme is raised: (insufficient, sufficient)
    "police_information": (0.35, 0.20),
    "childrens_services": (0.25, 0.15),
    "home_visits": (0.15, 0.08),
    "risk_assessment_not_updated": (0.20, 0.0),
    "mappa": (0.08, 0.06),
    "contact_frequency": (0.15, 0.05),
    "recording": (0.12, 0.0),
    "interventions": (0.18, 0.12),
    "multi_agency_working": (0.18, 0.12),
    "management_oversight": (0.10, 0.04),
    "contingency_planning": (0.15, 0.06),
    "professional_curiosity": (0.15, 0.05),
}
FILLERS = (
    "He engaged with appointments throughout.",
    "She had stable accommodation at the time.",
    "The person on probation was open about his circumstances.",
    "Overall the work seen was of a reasonable standard in other respects.",
    "This was a complex case with several needs.",
)
GENERIC = (
    ["Work to keep other people safe was not sufficient."],
    ["Work to keep other people safe was sufficient."],
)


def draw(
    rng: np.random.Generator, programme: np.ndarray, columns: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Rationale text per safety question (None where not generated), and the themes each
    carries (';'-joined; the truth the coder is measured against)."""
    texts, truths = {}, {}
    in_scope = np.isin(programme, PROGRAMMES)
    themes = list(TEMPLATES)
    for question in QUESTIONS:
        answer = columns[question]
        text = np.full(len(answer), None, dtype=object)
        truth = np.full(len(answer), None, dtype=object)
        for i in np.flatnonzero(in_scope & np.isin(answer, ["yes", "no"])):
            text[i], truth[i] = _one(rng, answer[i] == "no", themes)
        texts[RATIONALE_PREFIX + question] = text
        truths[RATIONALE_PREFIX + question] = truth
    return texts, truths


def _one(rng: np.random.Generator, insufficient: bool, themes: list[str]) -> tuple[str, str]:
    """One rationale: theme sentences (at most three), maybe a filler, and its themes."""
    side = 0 if insufficient else 1
    chosen = [t for t in themes if TEMPLATES[t][side] and rng.random() < THEME_P[t][side]][:3]
    sentences = [_pick(rng, TEMPLATES[t][side]) for t in chosen]
    if not sentences:
        sentences = [_pick(rng, GENERIC[side])]
    if rng.random() < 0.5:
        sentences.insert(int(rng.integers(len(sentences) + 1)), _pick(rng, list(FILLERS)))
    return " ".join(sentences), ";".join(chosen)


def _pick(rng: np.random.Generator, options: list[str] | tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]
