"""The synthetic inspection programme: every inspection event 2018-2026, in the real order.

CRC/NPS inspections 2018-20 (two cycles, stopped by the Covid pause) and the February 2021
restart; the first PDU programme 2021-23; refreshed PDU and regional rounds 2023-25; the national
inspection (fieldwork December 2024 - February 2025); the dynamic inspection of public protection
2025-26. Published dates and sizes are used where known (framework.md 6.3); the rest is drawn.
The random draws happen in a fixed order, so a seed always gives the same programme.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.domain import DIPP_PROGRAMME


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
    regional_round: str | None = None  # the regional inspection its cases feed (2023 rounds)


def _slug(text: str) -> str:
    return refdata.normalise_label(text).replace(" ", "-")


def _days(start: dt.date, n: int | np.integer) -> dt.date:
    return start + dt.timedelta(days=int(n))


def _scaled(n: float, scale: float) -> int:
    return max(1, round(n * scale))


def build_schedule(rng: np.random.Generator, scale: float) -> list[Inspection]:
    """Lay out every inspection event 2018-2026 with dates, unit, region and case count."""
    all_regions = refdata.region_names()
    inspections = _crc_nps(rng, scale)
    inspections += _pdu_programme(
        rng,
        scale,
        ("pdu_2021", "2021"),
        all_regions,
        0.45,
        (dt.date(2021, 9, 6), dt.date(2023, 6, 16)),
        (40, 60),
    )
    inspections += _regional_rounds(rng, scale)
    round_regions = {r[0] for r in refdata.sample_regional_rounds()}
    inspections += _pdu_programme(  # refreshed standalone PDU inspections in the other regions
        rng,
        scale,
        ("pdu_regional_2023", "2023"),
        [r for r in all_regions if r not in round_regions],
        0.4,
        (dt.date(2023, 7, 3), dt.date(2025, 6, 27)),
        (40, 55),
    )
    inspections.append(_national(scale))
    inspections += _dynamic(rng, scale)
    return inspections


def _pre_unit(
    rng: np.random.Generator,
    scale: float,
    row: dict[str, Any],
    start: dt.date,
    duration: int | np.integer,
) -> Inspection:
    """A CRC or NPS division inspection (a split footprint gives cases in several regions)."""
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
        export="crc_nps",
        unit_name=row["unit_name"],
        provider=row["provider"],
        regions=regions,
        region_weights=weights,
        fieldwork_start=start,
        fieldwork_end=end,
        publication_date=_days(end, rng.integers(60, 111)),
        n_cases=_scaled(n, scale),
    )


def _crc_nps(rng: np.random.Generator, scale: float) -> list[Inspection]:
    """Cycle 1 (Jun 2018 - May 2019): every CRC and the 7 NPS divisions of 2018; cycle 2 (Jun
    2019 - early Mar 2020, stopped by the pause): 12 CRCs and 3 NPS divisions; the restart by
    video link in February 2021 (South West), the last CRC/NPS-era inspections."""
    units = refdata.pre_unification_units()
    cycle_units = units.filter(pl.col("unit_name") != "NPS South West region").to_dicts()
    out = []
    for i, idx in enumerate(rng.permutation(len(cycle_units))):
        start = _days(dt.date(2018, 6, 4), i * 358 // len(cycle_units))
        out.append(_pre_unit(rng, scale, cycle_units[idx], start, rng.integers(10, 19)))
    crcs = [u for u in cycle_units if u["provider"] == "CRC"]
    npss = [u for u in cycle_units if u["provider"] == "NPS"]
    second = [crcs[i] for i in rng.choice(len(crcs), 12, replace=False)] + [
        npss[i] for i in rng.choice(len(npss), 3, replace=False)
    ]
    for i, idx in enumerate(rng.permutation(len(second))):
        start = _days(dt.date(2019, 6, 3), i * 270 // len(second))
        out.append(_pre_unit(rng, scale, second[idx], start, rng.integers(10, 15)))
    by_name = {u["unit_name"]: u for u in units.to_dicts()}
    bgsw = by_name["Bristol, Gloucestershire, Somerset and Wiltshire CRC"]
    out.append(_pre_unit(rng, scale, bgsw, dt.date(2021, 2, 1), 32))
    out.append(_pre_unit(rng, scale, by_name["NPS South West region"], dt.date(2021, 2, 15), 32))
    return out


def _pdu_programme(
    rng: np.random.Generator,
    scale: float,
    programme_framework: tuple[str, str],
    regions: list[str],
    share: float,
    window: tuple[dt.date, dt.date],
    cases: tuple[int, int],
) -> list[Inspection]:
    """A share of each region's PDUs, inspected at random dates in the window (regions
    interleave in time)."""
    programme, framework = programme_framework
    pdus = refdata.pdus()
    chosen: list[tuple[str, str]] = []
    for region in regions:
        names = pdus.filter(pl.col("region") == region)["pdu_name"].to_list()
        k = max(1, round(share * len(names)))
        chosen += [(region, names[i]) for i in sorted(rng.choice(len(names), k, replace=False))]
    offsets = np.sort(rng.integers(0, (window[1] - window[0]).days, len(chosen)))
    chosen = [chosen[j] for j in rng.permutation(len(chosen))]
    out = []
    for (region_name, pdu_name), off in zip(chosen, offsets, strict=True):
        start = _days(window[0], off)
        end = _days(start, rng.integers(9, 15))
        out.append(
            Inspection(
                inspection_id=f"PDU-{start:%Y-%m}-{_slug(pdu_name)}",
                inspection_type="pdu",
                framework=framework,
                programme=programme,
                export=programme,
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
    return out


def _regional_rounds(rng: np.random.Generator, scale: float) -> list[Inspection]:
    """2023-programme regional rounds: every PDU of the region is inspected in the round's
    window, then the regional inspection rates desistance, public protection, resettlement and
    court work from the PDUs' cases pooled (programme page, seed 001). The PDU inspections
    share the round's published case total and carry the regional inspection's id; the
    regional inspection's own case sample (unpaid work, victim contact) is outside the data
    contract, so it has no case rows here."""
    pdus = refdata.pdus()
    out = []
    for region, start, end, published, n in refdata.sample_regional_rounds():
        names = pdus.filter(pl.col("region") == region)["pdu_name"].to_list()
        round_id = f"REG-{start:%Y-%m}-{refdata.region_slug(region)}"
        sizes = _split(rng, _scaled(n, scale), len(names))
        span = max((end - start).days - 14, 0)
        for j, (name, size) in enumerate(zip(names, sizes, strict=True)):
            pdu_start = _days(start, j * span // max(len(names) - 1, 1))
            pdu_end = min(_days(pdu_start, rng.integers(9, 15)), end)
            out.append(
                Inspection(
                    inspection_id=f"PDU-{pdu_start:%Y-%m}-{_slug(name)}",
                    inspection_type="pdu",
                    framework="2023",
                    programme="pdu_regional_2023",
                    export="pdu_regional_2023",
                    unit_name=f"{name} PDU",
                    provider="PS",
                    regions=(region,),
                    region_weights=(1.0,),
                    fieldwork_start=pdu_start,
                    fieldwork_end=pdu_end,
                    publication_date=min(_days(pdu_end, rng.integers(70, 120)), published),
                    n_cases=size,
                    regional_round=round_id,
                )
            )
    return out


def _split(rng: np.random.Generator, total: int, parts: int) -> list[int]:
    """`total` cases shared among `parts` inspections of similar size (each at least one)."""
    weights = rng.uniform(0.8, 1.2, parts)
    sizes = np.floor(weights / weights.sum() * total).astype(int)
    sizes[np.argsort(-weights)[: total - int(sizes.sum())]] += 1
    return [max(1, int(s)) for s in sizes]


def _national(scale: float) -> Inspection:
    """The national inspection: 165 cases from every region in proportion to its PDUs,
    fieldwork December 2024 - February 2025, 8 on the adjusted set."""
    all_regions = refdata.region_names()
    counts = dict(refdata.pdus().group_by("region").len().iter_rows())
    weights = np.array([counts[r] for r in all_regions], dtype=float)
    return Inspection(
        inspection_id="NAT-2024-12-england-and-wales",
        inspection_type="national",
        framework="2023",
        programme="national_2024",
        export="national_2024",
        unit_name="National inspection (England and Wales)",
        provider="PS",
        regions=tuple(all_regions),
        region_weights=tuple(float(w) for w in weights / weights.sum()),
        fieldwork_start=dt.date(2024, 12, 2),
        fieldwork_end=dt.date(2025, 2, 28),
        publication_date=dt.date(2025, 4, 29),
        n_cases=_scaled(165, scale),
        n_adjusted=_scaled(8, scale),
    )


def _dynamic(rng: np.random.Generator, scale: float) -> list[Inspection]:
    """Dynamic inspection of public protection, October 2025 - March 2026: every region,
    56-84 cases each (published sizes where known)."""
    known = refdata.sample_dipp_sizes()
    order = list(known) + [r for r in refdata.region_names() if r not in known]
    out = []
    for i, region in enumerate(order):
        start = _days(dt.date(2025, 10, 13), i * 12)
        end = _days(start, 25)
        n = known.get(region) or int(rng.integers(56, 85))
        out.append(
            Inspection(
                inspection_id=f"DIPP-{start:%Y-%m}-{refdata.region_slug(region)}",
                inspection_type="dipp",
                framework="dipp2025",
                programme=DIPP_PROGRAMME,
                export=DIPP_PROGRAMME,
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
    return out
