"""The synthetic sample: determinism, contract conformance, programme structure, calibration."""

from __future__ import annotations

import datetime as dt
import filecmp
import json
from pathlib import Path

import polars as pl
import pytest

from pipeline import refdata
from pipeline.config import SAMPLE_DIR
from pipeline.domain import KEY_QUESTIONS, THEMES
from pipeline.synthetic import calibration, sample

SAFETY = [k for k in KEY_QUESTIONS if k.endswith("safety")]


def _pct_yes(frame: pl.DataFrame, columns: list[str]) -> float:
    long = frame.select(columns).unpivot()
    yes = (long["value"] == "yes").sum()
    no = (long["value"] == "no").sum()
    return 100 * yes / (yes + no)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    sample.generate_sample(a, seed=7)
    sample.generate_sample(b, seed=7)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert mismatch == []
    assert errors == []


def test_different_seed_gives_different_answers(tmp_path: Path) -> None:
    one = sample.canonical_cases(seed=1, scale=0.2)
    two = sample.canonical_cases(seed=2, scale=0.2)
    assert not one.select(KEY_QUESTIONS).equals(two.select(KEY_QUESTIONS))


def test_committed_sample_is_what_the_generator_writes(sample_dir: Path) -> None:
    """data/raw/sample/ in git must be exactly the default generator output."""
    committed = sorted(p.name for p in SAMPLE_DIR.iterdir())
    assert committed == sorted(p.name for p in sample_dir.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(SAMPLE_DIR, sample_dir, committed, shallow=False)
    assert mismatch == [], "re-run `probation sample` and commit the result"
    assert errors == [], "re-run `probation sample` and commit the result"


def test_canonical_values_follow_the_contract(default_cases: pl.DataFrame) -> None:
    codes = refdata.codes()
    contract = refdata.contract_columns()
    assert default_cases.columns[: contract.height] == contract["column"].to_list()
    for column in contract.filter(pl.col("type") == "code")["column"]:
        values = set(default_cases[column].drop_nulls())
        assert values <= set(codes[column]), column
    assert set(default_cases["region"]) == set(refdata.region_names())
    for column in [*KEY_QUESTIONS, "da_enquiry", "cs_enquiry"]:
        assert set(default_cases[column].drop_nulls()) <= {"yes", "no", "na"}
    ok = default_cases.select(
        (pl.col("start_date") <= pl.col("fieldwork_end")).all(),
        (pl.col("fieldwork_start") <= pl.col("fieldwork_end")).all(),
        pl.struct("inspection_id", "case_id").is_unique().all(),
        (pl.sum_horizontal(pl.col(KEY_QUESTIONS).is_not_null()) > 0).all(),
    ).row(0)
    assert all(ok)
    unification = refdata.unification_date()
    pre = default_cases.filter(pl.col("fieldwork_start") < unification)
    assert set(pre["provider"]) == {"CRC", "NPS"}
    assert set(default_cases.filter(pl.col("fieldwork_start") >= unification)["provider"]) == {"PS"}
    assert (default_cases["synthetic"] == "true").all()


def test_programme_structure(default_cases: pl.DataFrame) -> None:
    cases = default_cases
    pause = refdata.key_dates()["inspection_pause"]
    # nothing inspected between the Covid pause and the February 2021 restart
    gap = cases.filter(pl.col("fieldwork_start").is_between(pause, dt.date(2021, 1, 31)))
    assert gap.height == 0
    assert (
        cases.filter(pl.col("fieldwork_end") >= pause, pl.col("fieldwork_start") < pause).height
        == 0
    )
    national = cases.filter(pl.col("inspection_type") == "national")
    assert national.height == 165
    assert (national["question_set"] == "adjusted").sum() == 8
    assert national["fieldwork_start"].min() == dt.date(2024, 12, 2)
    dipp = cases.filter(pl.col("inspection_type") == "dipp")
    sizes = dipp.group_by("region").len()
    assert sizes.height == 12
    assert sizes["len"].min() >= 56
    assert sizes["len"].max() <= 84
    assert (
        dipp.select(pl.col([k for k in KEY_QUESTIONS if k not in SAFETY]).is_null().all()).row(0)
        == (True,) * 8
    )
    assert dipp["fieldwork_start"].min() >= refdata.key_dates()["dynamic_inspection_start"]
    standalone = cases.filter(
        pl.col("inspection_type") == "pdu", pl.col("regional_round").is_null()
    )
    per_pdu = standalone.group_by("inspection_id").len()
    assert per_pdu["len"].min() >= 40
    assert per_pdu["len"].max() <= 60
    assert cases.filter(pl.col("inspection_type") == "regional").height == 0
    assert set(cases.filter(pl.col("framework") == "2021")["inspection_type"]) == {"pdu"}


def test_regional_rounds_inspect_every_pdu_and_keep_the_published_total(
    default_cases: pl.DataFrame,
) -> None:
    """Seed 001: every PDU in a region is inspected, then the region; the round's PDU cases
    add up to the published regional case count (e.g. 546 in Yorkshire and the Humber)."""
    in_rounds = default_cases.filter(pl.col("regional_round").is_not_null())
    rounds = refdata.sample_regional_rounds()
    assert in_rounds["regional_round"].n_unique() == len(rounds)
    pdus = refdata.pdus()
    for region, start, end, _, n_cases in rounds:
        mine = in_rounds.filter(pl.col("region") == region)
        assert mine.height == n_cases, region
        assert set(mine["inspection_type"]) == {"pdu"}
        assert set(mine["framework"]) == {"2023"}
        names = {u.removesuffix(" PDU") for u in mine["unit_name"]}
        assert names == set(pdus.filter(pl.col("region") == region)["pdu_name"]), region
        assert mine["fieldwork_start"].min() >= start
        assert mine["fieldwork_end"].max() <= end


def test_case_mix_by_provider(default_cases: pl.DataFrame) -> None:
    share_high = (
        default_cases.group_by("provider")
        .agg(pl.col("rosh").is_in(["high", "very_high"]).mean().alias("high"))
        .sort("provider")
    )
    high = dict(share_high.iter_rows())
    assert high["CRC"] < 0.10, "CRCs held mostly low/medium RoSH cases"
    assert high["NPS"] > 0.75, "the NPS held mostly high/very high RoSH cases"
    assert 0.2 < high["PS"] < 0.5


def test_theme_and_era_ordering(default_cases: pl.DataFrame) -> None:
    core = default_cases.filter(pl.col("question_set") == "core")
    post = core.filter(pl.col("provider") == "PS")
    pre = core.filter(pl.col("provider") != "PS")
    by_theme = {t: _pct_yes(post, [k for k in KEY_QUESTIONS if k.endswith(t)]) for t in THEMES}
    assert by_theme["desistance"] > by_theme["engagement"] > by_theme["safety"]
    assert _pct_yes(pre, SAFETY) > _pct_yes(post, SAFETY) + 5


def test_sample_lands_on_published_figures(default_cases: pl.DataFrame) -> None:
    report = calibration.calibration_report(default_cases)
    missed = report.filter(~pl.col("met"))
    assert missed.height == 0, missed.select("target_id", "target_pct", "sample_pct").to_dicts()
    assert report.height == refdata.calibration_targets().height


def test_calibration_check_can_fail(default_cases: pl.DataFrame) -> None:
    """Flip every national safety answer: the national targets must then be missed."""
    flipped = default_cases.with_columns(
        pl.when(pl.col("inspection_type") == "national")
        .then(pl.col(k).replace({"yes": "no", "no": "yes"}))
        .otherwise(pl.col(k))
        .alias(k)
        for k in SAFETY
    )
    report = calibration.calibration_report(flipped)
    assert not report.filter(pl.col("target_id") == "national_impl_safety")["met"][0]


def test_dynamic_inspection_results_are_bound_targets(default_cases: pl.DataFrame) -> None:
    """The published dynamic-inspection results: cases inspected exactly, and the South West
    and Kent, Surrey and Sussex bounds; each check fails when the sample breaks it."""
    report = calibration.calibration_report(default_cases)
    by_id = {r["target_id"]: r for r in report.iter_rows(named=True)}
    cases = {"dipp_sw_cases": 64, "dipp_wm_cases": 84, "dipp_gm_cases": 72}
    cases |= {"dipp_kss_cases": 56, "dipp_sc_cases": 56}
    for target, n in cases.items():
        assert (by_id[target]["n_applicable"], by_id[target]["met"]) == (n, True)
    for kq in ("assess", "impl", "review"):
        row = by_id[f"dipp_sw_{kq}_safety_below_half"]
        assert row["comparison"] == "below"
        assert row["sample_pct"] < 50
    assert by_id["dipp_kss_plan_safety_over_half"]["sample_pct"] > 50
    sw = (pl.col("inspection_type") == "dipp") & (pl.col("region") == "South West")
    kss = (pl.col("inspection_type") == "dipp") & (pl.col("region") == "Kent, Surrey and Sussex")
    broken = default_cases.filter(~(sw & (pl.col("case_id") == pl.col("case_id").first().over(sw))))
    broken = broken.with_columns(
        pl.when(sw)
        .then(pl.col("reviewing_safety").replace({"no": "yes"}))
        .otherwise(pl.col("reviewing_safety")),
        pl.when(kss)
        .then(pl.col("planning_safety").replace({"yes": "no"}))
        .otherwise(pl.col("planning_safety")),
    )
    missed = calibration.calibration_report(broken).filter(~pl.col("met"))["target_id"]
    assert {
        "dipp_sw_cases",
        "dipp_sw_review_safety_below_half",
        "dipp_kss_plan_safety_over_half",
    } <= set(missed)


def test_written_files_follow_the_contract_forms(sample_dir: Path) -> None:
    manifest = json.loads((sample_dir / "sample_manifest.json").read_text())
    assert manifest["synthetic"] is True
    assert "timestamp" not in json.dumps(manifest)
    contract = [refdata.normalise_label(c) for c in refdata.contract_columns()["column"]]
    for name, info in manifest["files"].items():
        path = sample_dir / name
        if name.endswith(".csv"):
            raw = path.read_bytes()
            encoding = (
                "utf-8-sig"
                if raw.startswith(b"\xef\xbb\xbf")
                else ("cp1252" if b"\r\n" in raw[:2000] else "utf-8")
            )
            frame = pl.read_csv(raw.decode(encoding).encode(), infer_schema_length=0)
        else:
            frame = pl.read_excel(path, sheet_name="cases", infer_schema_length=0)
        headers = [refdata.normalise_label(h.replace(".", " ")) for h in frame.columns]
        assert headers[: len(contract)] == contract, name
        assert frame.height == info["rows"], name
        planted = sum(len(v) for v in info["invalid_rows"].values())
        assert 0 < planted < 0.01 * frame.height + 8, name


def test_exports_use_tolerated_variants(sample_dir: Path) -> None:
    regional = (sample_dir / "pdu_regional_2023_2025.csv").read_bytes()
    assert regional.startswith(b"\xef\xbb\xbf"), "one export is UTF-8 with a BOM"
    text = regional.decode("utf-8-sig")
    assert ",Y," in text
    assert ",NA," in text
    assert "/20" in text
    assert any(
        alias in text for alias in ("Kss", "KSS", "Eastern", "EASTERN", "Yorkshire And Humber")
    )
    dipp = (sample_dir / "dipp_2025_26.csv").read_bytes()
    dipp.decode("cp1252")
    assert b"\r\n" in dipp
    assert b"TRUE" in dipp
    sheets = pl.read_excel(sample_dir / "pdu_2021_2023.xlsx", sheet_id=0)
    assert list(sheets) == ["notes", "cases"], "the cases are not on the first sheet"


def test_scale_multiplies_cases() -> None:
    small = sample.canonical_cases(scale=0.5).height
    base = sample.canonical_cases(scale=1.0).height
    assert 0.45 * base < small < 0.55 * base


@pytest.mark.parametrize("scale", [0, -1])
def test_bad_scale_is_refused(tmp_path: Path, scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        sample.generate_sample(tmp_path, scale=scale)


def test_sample_follows_its_design_table(default_cases: pl.DataFrame) -> None:
    """Realised sufficiency sits within sampling error of the design value in every cell."""
    report = calibration.design_report(default_cases)
    assert report.height == refdata.sample_design().height
    p = report["design_pct"] / 100
    se = (p * (1 - p) / report["n_applicable"]).sqrt() * 100
    # random inspection effects add clustering on top of binomial noise: allow 4 SE + 2 pp
    off = report.filter((pl.col("sample_pct") - pl.col("design_pct")).abs() > 4 * se + 2)
    assert off.height == 0, off.to_dicts()
