"""Where things live and the typed analysis settings (the bottom layer: imports nothing of ours).

Paths are derived from the package location (never the working directory), so `probation run`
works from any directory; every stage still takes explicit paths so tests and users can
redirect them. `Settings` is the typed form of `reference/settings.csv`; `refdata.settings()`
loads it once and callers pass it down.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from statistics import NormalDist

PACKAGE_DIR = Path(__file__).resolve().parent
REFERENCE_DIR = PACKAGE_DIR / "reference"
REPO_ROOT = PACKAGE_DIR.parent

DATA_DIR = REPO_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
SAMPLE_DIR = RAW_DIR / "sample"
PUBLISHED_DIR = RAW_DIR / "published"
PROCESSED_DIR = DATA_DIR / "processed"
RELEASES_DIR = DATA_DIR / "releases"
FIGURES_DIR = REPO_ROOT / "figures"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"

DEFAULT_SEED = 20210626
"""Default seed of the synthetic sample (the unification date), so the bundled sample is
reproducible."""

EXIT_OK, EXIT_INTERNAL, EXIT_UNUSABLE_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
"""Exit codes of every command: success, internal error, unusable input, interrupted."""


class SettingsError(ValueError):
    """A value in reference/settings.csv is missing or not of the expected type."""


@dataclass(frozen=True)
class Settings:
    """Analysis settings from `reference/settings.csv` (each row there names its source)."""

    suppression_threshold: int = 10
    round_before_banding: bool = False
    confidence_level: float = 0.95
    min_outcome_count: int = 10
    min_feasible_range: int = 5
    regional_period_types: tuple[str, ...] = ("calendar_year", "programme")
    reliable_min_inspections: int = 3
    levels_only_max_inspections: int = 2
    reliable_min_effective_n: int = 30
    min_inspections_per_era: int = 5
    its_min_inspections_each_side: int = 3
    its_max_leverage: float = 0.9

    @property
    def z(self) -> float:
        """Two-sided normal quantile for `confidence_level` (1.96 at 95 %)."""
        return NormalDist().inv_cdf(0.5 + self.confidence_level / 2)

    @property
    def confidence_pct(self) -> str:
        """The confidence level as readers see it: '95%'."""
        return f"{100 * self.confidence_level:g}%"

    @classmethod
    def from_mapping(cls, values: dict[str, str]) -> Settings:
        """Typed settings from the CSV's name -> text mapping; unknown names are ignored,
        missing names keep their defaults, bad values raise `SettingsError`."""
        typed: dict[str, object] = {}
        for field in fields(cls):
            if field.name not in values:
                continue
            text = values[field.name].strip()
            try:
                typed[field.name] = _parse(text, field.type)
            except ValueError:
                raise SettingsError(
                    f"settings.csv: {field.name} = {text!r} is not a valid {field.type}"
                ) from None
        settings = cls(**typed)  # type: ignore[arg-type]
        if not 0 < settings.confidence_level < 1:
            raise SettingsError("settings.csv: confidence_level must be between 0 and 1")
        if settings.suppression_threshold < 1:
            raise SettingsError("settings.csv: suppression_threshold must be at least 1")
        return settings


def _parse(text: str, kind: object) -> object:
    if kind in ("tuple[str, ...]",):
        return tuple(part.strip() for part in text.split(";") if part.strip())
    if kind in ("int", int):
        return int(text)
    if kind in ("float", float):
        return float(text)
    if kind in ("bool", bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    return text
