"""The research blocks: court work and resettlement, prompts, management oversight,
practitioners and rationale themes (contract, tables, coder, synthetic sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline import refdata
from pipeline.domain import KEY_QUESTIONS, NATIONAL, PROMPT_PREFIX, QUESTIONS, RATIONALE_PREFIX
from pipeline.synthetic import calibration
from pipeline.synthetic.cases import TRUTH_PREFIX
from pipeline.tables import practitioners, rationale_coder
from pipeline.tables.cells import answers_in_context

LABELLED = Path(__file__).parents[1] / "data" / "rationale_labelled.csv"
BLOCK_COLUMNS = [
    c
    for c in refdata.contract_columns()["column"]
    if c.startswith((PROMPT_PREFIX, RATIONALE_PREFIX))
    or c
    in (
        "court_work",
        "resettlement",
        "management_oversight",
        "practitioner_grade",
        "caseload_band",
        "experience_band",
    )
]


def test_the_contract_lists_every_block_column() -> None:
    columns = set(refdata.contract_columns()["column"])
    prompts = {PROMPT_PREFIX + p for p in refdata.prompts()["prompt"]}
    assert prompts <= columns
    assert {c for c in columns if c.startswith(PROMPT_PREFIX)} == prompts
    assert {RATIONALE_PREFIX + q for q in QUESTIONS} <= columns
    required = set(refdata.required_columns())
    assert not required & set(BLOCK_COLUMNS), "every block is optional"


def test_an_export_without_the_blocks_gives_the_same_key_question_tables(
    tmp_path: Path,
) -> None:
    """Exports without the blocks stay valid; the 12 key questions' figures do not change."""
    from pipeline.run import run_pipeline
    from pipeline.synthetic.sample import canonical_cases

    cases = canonical_cases(scale=0.25)
    cases = cases.drop("export", *[c for c in cases.columns if c.startswith(TRUTH_PREFIX)])
    for name, frame in (("full", cases), ("core", cases.drop(BLOCK_COLUMNS))):
        (tmp_path / name).mkdir()
        frame.write_parquet(tmp_path / name / "export.parquet")
    full = run_pipeline(tmp_path / "full", tmp_path / "out_full")
    core = run_pipeline(tmp_path / "core", tmp_path / "out_core")
    assert core.rows_read == full.rows_read == cases.height
    assert core.rows_accepted == full.rows_accepted == cases.height
    twelve = pl.col("comparable_id").is_in(
        refdata.key_questions().filter(pl.col("theme").is_not_null())["comparable_id"].unique()
    )

    def trend(out: Path) -> pl.DataFrame:
        return pl.read_parquet(out / "tables" / "kq_trend.parquet").filter(twelve)

    assert trend(tmp_path / "out_full").equals(trend(tmp_path / "out_core"))
    assert pl.read_parquet(tmp_path / "out_core" / "prompt_answers.parquet").height == 0
    assert pl.read_parquet(tmp_path / "out_full" / "prompt_answers.parquet").height > 0
    assert pl.read_parquet(tmp_path / "out_core" / "tables" / "prompts.parquet").height == 0


def test_the_coder_on_hand_labelled_rationales() -> None:
    """Precision and recall on 60 rationales labelled by hand (written independently of the
    synthetic templates). Figures are quoted in docs/methodology.md."""
    scores = rationale_coder.precision_recall(pl.read_csv(LABELLED))
    overall = scores.filter(pl.col("theme") == "all").row(0, named=True)
    assert overall["tp"] + overall["fn"] >= 55
    assert overall["precision"] >= 0.9
    assert overall["recall"] >= 0.9
    assert scores.filter(pl.col("theme") != "all")["recall"].min() >= 0.75


def test_the_coder_on_the_synthetic_rationales(default_cases: pl.DataFrame) -> None:
    """Against the themes each synthetic rationale was written with."""
    rows = []
    for question in ("assessment_safety", "planning_safety", "implementation_safety"):
        column = RATIONALE_PREFIX + question
        rows.append(
            default_cases.select(
                pl.col(column).alias("text"), pl.col(TRUTH_PREFIX + column).alias("themes")
            ).filter(pl.col("text").is_not_null())
        )
    labelled = pl.concat(rows)
    assert labelled.height > 5000
    overall = rationale_coder.precision_recall(labelled).filter(pl.col("theme") == "all")
    assert overall["precision"][0] >= 0.9
    assert overall["recall"][0] >= 0.95


def test_free_text_is_never_published(sample_run: Path, sample_release: Path) -> None:
    """No rationale text (nor any long sentence of it) appears in any published file."""
    rationales = pl.read_parquet(sample_run / "rationales.parquet")
    assert rationales.height > 1000
    sentences = rationales["rationale"].str.split(". ").explode().str.strip_chars(" .").unique()
    sentences = [s for s in sentences.to_list() if len(s) > 25]
    published = [
        p
        for p in (sample_release / "tables").rglob("*")
        if p.suffix in (".csv", ".parquet", ".json")
    ]
    blob = "\n".join(
        p.read_text(errors="ignore") if p.suffix != ".parquet" else pl.read_parquet(p).write_csv()
        for p in published
    )
    found = [s for s in sentences if s in blob]
    assert found == []
    for path in (sample_release / "tables").glob("*.parquet"):
        assert not any("rationale" in c for c in pl.read_parquet_schema(path)), path.name


def test_prompt_cells_match_an_independent_count(sample_run: Path, sample_release: Path) -> None:
    table = pl.read_parquet(sample_release / "tables" / "prompts.parquet")
    row = table.filter(
        pl.col("measure") == "da_information_used",
        pl.col("scope") == NATIONAL,
        pl.col("period_type") == "programme",
        pl.col("period") == "pdu_regional_2023",
    ).row(0, named=True)
    prompts = pl.read_parquet(sample_run / "prompt_answers.parquet")
    cases = pl.read_parquet(sample_run / "cases.parquet")
    mine = prompts.join(
        cases.filter(
            pl.col("programme").cast(pl.String) == "pdu_regional_2023",
            pl.col("question_set") == "core",
        ).select("inspection_id", "case_id"),
        on=["inspection_id", "case_id"],
    ).filter(pl.col("prompt").cast(pl.String) == "da_information_used")
    answers = mine["answer"].cast(pl.String)
    assert row["n_yes"] == (answers == "yes").sum()
    assert row["n_no"] == (answers == "no").sum()
    assert row["parent_question"] == "assessment_safety"


def test_oversight_cells_match_an_independent_count(sample_run: Path, sample_release: Path) -> None:
    table = pl.read_parquet(sample_release / "tables" / "oversight.parquet")
    row = table.filter(
        pl.col("scope") == NATIONAL,
        pl.col("period_type") == "era",
        pl.col("period") == "post_unification",
    ).row(0, named=True)
    cases = pl.read_parquet(sample_run / "cases.parquet").filter(
        pl.col("question_set") == "core",
        pl.col("era").cast(pl.String) == "post_unification",
        pl.col("programme").cast(pl.String) != "dipp_2025",
    )
    answer = cases["management_oversight"].cast(pl.String)
    assert row["n_yes"] == (answer == "yes").sum()
    assert row["n_no"] == (answer == "no").sum()


def test_practitioner_estimate_agrees_with_a_case_level_statsmodels_fit(
    sample_run: Path,
) -> None:
    """One estimate recomputed independently: statsmodels GLM on case-level answers with the
    same controls, cluster-robust covariance, average marginal effect by hand."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    table = pl.read_parquet(sample_run / "tables" / "practitioner_effects.parquet")
    ours = table.filter(
        pl.col("characteristic") == "caseload_band",
        pl.col("level") == "60_plus",
        pl.col("theme") == "safety",
    ).row(0, named=True)
    cases = pl.read_parquet(sample_run / "cases.parquet")
    answers = pl.read_parquet(sample_run / "answers.parquet")
    context = answers_in_context(cases.lazy(), answers.lazy()).collect()
    data = (
        context.filter(
            pl.col("series") == "core",
            pl.col("theme").cast(pl.String) == "safety",
            pl.col("answer").cast(pl.String).is_in(["yes", "no"]),
            pl.col("caseload_band").cast(pl.String).is_in(["60_plus", "under_40"]),
        )
        .select(
            (pl.col("answer").cast(pl.String) == "yes").cast(pl.Int8).alias("y"),
            (pl.col("caseload_band").cast(pl.String) == "60_plus").cast(pl.Int8).alias("g"),
            *[pl.col(c).cast(pl.String).fill_null("missing") for c in practitioners.CONTROLS],
            pl.col("inspection_id"),
        )
        .to_pandas()
    )
    controls = " + ".join(f"C({c})" for c in practitioners.CONTROLS)
    groups = data["inspection_id"].astype("category").cat.codes
    fit = smf.glm(f"y ~ g + {controls}", data, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    x1, x0 = data.assign(g=1), data.assign(g=0)
    ame = float((fit.predict(x1) - fit.predict(x0)).mean())
    assert 100 * ame == pytest.approx(ours["adjusted_diff_pp"], abs=1e-6)
    assert np.exp(fit.params["g"]) == pytest.approx(ours["adjusted_odds_ratio"], rel=1e-6)


def test_the_sample_is_calibrated_to_the_block_figures(default_cases: pl.DataFrame) -> None:
    report = calibration.calibration_report(default_cases)
    blocks = report.filter(
        pl.col("measure").is_in(["court_work", "resettlement", "management_oversight"])
        | pl.col("measure").str.starts_with(PROMPT_PREFIX)
    )
    assert blocks.height >= 23
    assert blocks["met"].all()
    national = dict(
        blocks.filter(pl.col("target_id").str.starts_with("national_"))
        .select("target_id", "sample_pct")
        .iter_rows()
    )
    assert abs(national["national_court_work"] - 36) < 1
    assert abs(national["national_oversight"] - 13) < 1


def test_practitioner_levels_are_recovered_in_the_planted_direction(sample_run: Path) -> None:
    """The generator plants lower sufficiency for high caseloads (synthetic/blocks.py); the
    model must find it, and find nothing for a level with no planted effect."""
    table = pl.read_parquet(sample_run / "tables" / "practitioner_effects.parquet")
    safety = table.filter(pl.col("theme") == "safety")
    high = safety.filter(pl.col("level") == "60_plus").row(0, named=True)
    assert high["adjusted_ci_high"] < 0
    assert high["significant_holm"]
    flat = safety.filter(pl.col("level") == "40_to_49").row(0, named=True)
    assert flat["adjusted_ci_low"] < 0 < flat["adjusted_ci_high"]


def test_court_work_and_resettlement_are_tabulated_like_key_questions(sample_release: Path) -> None:
    trend = pl.read_parquet(sample_release / "tables" / "kq_trend.parquet")
    for comparable in ("COURT_PSR", "RESETTLE"):
        rows = trend.filter(pl.col("comparable_id") == comparable, pl.col("scope") == NATIONAL)
        assert rows.height > 0
        assert rows["theme"].is_null().all()
        shown = rows.filter(~pl.col("suppressed"), ~pl.col("levels_only"))
        assert shown["ci_cluster_low"].is_not_null().all()
    unification = pl.read_parquet(sample_release / "tables" / "unification.parquet")
    assert set(unification["comparable_id"]).isdisjoint({"COURT_PSR", "RESETTLE"})
    assert unification.filter(pl.col("scope") == NATIONAL).height == len(KEY_QUESTIONS)
