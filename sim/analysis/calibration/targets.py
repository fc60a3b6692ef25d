"""What a calibration fits and against what: the moments of `calibration/targets.yaml` (reported
figures with their tolerances, and the smart-factory effects), how a hindcast replicate measures
them, and the free parameters with their triangular priors.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from sim.analysis.hindcast import EFFECTS, EffectDesign, annual_indicator, quarterly_yoy_sd
from sim.analysis.history import load_history
from sim.inputs.parameters import load_registry, triangular
from sim.inputs.paths import CALIBRATION_DIR

TARGETS_FILE = CALIBRATION_DIR / "targets.yaml"
MISSING_Z = 30.0  # standardized miss counted for a moment the simulation could not measure
SMART_FACTORY = "smart_factory"
VOLATILITY = "volatility"


# --- targets --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    """One target: a reported figure, how the model's counterpart is measured, its tolerance."""

    key: str  # e.g. "production_krw:2024", "smart_factory:productivity", "volatility:..."
    group: str  # the indicator name, "smart_factory" or "volatility"
    year: int | None  # None for the smart-factory effects; the last year of a volatility
    month: int | None  # calendar month of a stock; None = sum over the year (or an effect)
    observed: float
    tolerance: float
    relative: bool  # tolerance relative to the observed value (levels) or absolute (effects)

    def z(self, simulated: np.ndarray | float) -> np.ndarray:
        """Standardized miss; NaN where the simulation could not measure the moment."""
        simulated = np.asarray(simulated, dtype=float)
        if self.relative:
            return (simulated / self.observed - 1.0) / self.tolerance
        return (simulated - self.observed) / self.tolerance


@dataclass(frozen=True)
class Targets:
    """The moments a fit uses, with the smart-factory measurement design and required checks."""

    moments: tuple[Moment, ...]
    design: EffectDesign = field(default_factory=EffectDesign)
    required: tuple[dict, ...] = ()
    checks: dict = field(default_factory=dict)
    not_fitted: dict = field(default_factory=dict)  # calibrated parameters left at their priors
    quarters: tuple[str, ...] = ()  # the quarters of the volatility moment

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(m.key for m in self.moments)

    @property
    def observed(self) -> np.ndarray:
        return np.array([m.observed for m in self.moments])

    def needs_effects(self) -> bool:
        return any(m.group == SMART_FACTORY for m in self.moments)

    def select(
        self, groups: Sequence[str] | None = None, through_year: int | None = None
    ) -> Targets:
        """The moments of the given groups, and of years up to `through_year` (effects, which
        have no year, are kept: the ministry's figures were published in 2019)."""
        kept = tuple(
            m
            for m in self.moments
            if (groups is None or m.group in groups)
            and (through_year is None or m.year is None or m.year <= through_year)
        )
        return dataclasses.replace(self, moments=kept)

    def with_observed(self, values: Sequence[float]) -> Targets:
        """The same moments with other observed values (for recovery tests)."""
        moments = tuple(
            dataclasses.replace(m, observed=float(v))
            for m, v in zip(self.moments, values, strict=True)
        )
        return dataclasses.replace(self, moments=moments)

    def z(self, values: np.ndarray) -> np.ndarray:
        """Standardized misses of simulated moments, (..., moments); NaN becomes MISSING_Z."""
        z = np.stack([m.z(values[..., k]) for k, m in enumerate(self.moments)], axis=-1)
        return np.where(np.isfinite(z), z, MISSING_Z)


@cache
def load_targets(path: Path = TARGETS_FILE) -> Targets:
    """Read `targets.yaml` and the series it points to (cached)."""
    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    annual = raw["annual"]
    if annual.get("series_file", "complex_annual.yaml") != "complex_annual.yaml":
        raise ValueError(f"{path}: annual.series_file must be complex_annual.yaml")
    history = load_history()
    moments: list[Moment] = []
    for indicator, spec in annual["indicators"].items():
        series = history.get(indicator)
        if series is None:
            raise ValueError(f"{path}: annual.indicators.{indicator}: no such series")
        by_year = {int(k): float(v) for k, v in (spec.get("tolerance_by_year") or {}).items()}
        months = {int(k): int(v) for k, v in (spec.get("month_by_year") or {}).items()}
        for year in annual["years"]:
            if year not in series:
                continue
            if months and year not in months:
                raise ValueError(f"{path}: {indicator}: no month given for {year}")
            moments.append(
                Moment(
                    key=f"{indicator}:{year}",
                    group=indicator,
                    year=int(year),
                    month=months.get(year),
                    observed=series[year],
                    tolerance=by_year.get(year, float(spec["tolerance"])),
                    relative=True,
                )
            )
    smart = raw["smart_factory"]
    for effect in EFFECTS:
        spec = smart["effects"][effect]
        moments.append(
            Moment(
                key=f"{SMART_FACTORY}:{effect}",
                group=SMART_FACTORY,
                year=None,
                month=None,
                observed=float(spec["value"]),
                tolerance=float(spec["tolerance"]),
                relative=False,
            )
        )
    volatility = raw.get("volatility")
    quarters: tuple[str, ...] = ()
    if volatility:
        quarters = tuple(str(q) for q in volatility["quarters"])
        moments.append(
            Moment(
                key=f"{VOLATILITY}:{volatility['indicator']}_yoy_sd",
                group=VOLATILITY,
                year=max(int(q[:4]) for q in quarters),
                month=None,
                observed=observed_yoy_sd(quarters),
                tolerance=float(volatility["tolerance"]),
                relative=False,
            )
        )
    for m in moments:
        if not (m.tolerance > 0 and math.isfinite(m.observed)):
            raise ValueError(f"{path}: {m.key}: tolerance must be positive, value finite")
    design = EffectDesign(int(smart["lag_months"]), int(smart["window_months"]))
    not_fitted = {
        str(k): " ".join(str(v).split()) for k, v in (raw.get("not_fitted") or {}).items()
    }
    return Targets(
        tuple(moments),
        design,
        tuple(raw.get("required", ())),
        raw.get("checks", {}),
        not_fitted,
        quarters,
    )


def observed_yoy_sd(quarters: Sequence[str]) -> float:
    """The spread of the reported year-on-year log change of quarterly production."""
    spec = yaml.safe_load((CALIBRATION_DIR / "complex_quarterly.yaml").read_text("utf-8"))
    table = {str(k): float(v["production"]) for k, v in spec["quarters"].items()}
    changes = [math.log(table[q] / table[f"{int(q[:4]) - 1}{q[4:]}"]) for q in quarters]
    return float(np.std(changes, ddof=1))


def moment_values(run, targets: Targets, scale: float = 1.0) -> np.ndarray:
    """The simulated counterparts of the targets in one hindcast replicate; levels are multiplied
    by `scale` (the full population over a reduced one, in tests)."""
    out = np.empty(len(targets.moments))
    for k, m in enumerate(targets.moments):
        if m.group == SMART_FACTORY:
            out[k] = run.effects.get(m.key.split(":", 1)[1], float("nan"))
        elif m.group == VOLATILITY:
            out[k] = quarterly_yoy_sd(run, targets.quarters)
        else:
            out[k] = scale * annual_indicator(run, m.group, m.year, m.month)
    return out


# --- the free parameters --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FreeParameter:
    """A fitted parameter and its prior: triangular on [low, high] with its mode at `mode`."""

    name: str
    low: float
    mode: float
    high: float
    where: str  # "model": a field of sim.inputs.parameters.Parameters
    unit: str
    source: str

    @property
    def width(self) -> float:
        return self.high - self.low


def free_parameters(names: Sequence[str] | None = None) -> tuple[FreeParameter, ...]:
    """The fitted parameters: registry entries of kind `calibrated` (but those `targets.yaml`
    lists as not identified); or those named (in the order given)."""
    available: dict[str, FreeParameter] = {}
    for spec in load_registry().values():
        if spec.kind == "calibrated":
            available[spec.name] = FreeParameter(
                spec.name, spec.low, spec.value, spec.high, "model", spec.unit, spec.source
            )
    if names is None:
        skip = load_targets().not_fitted
        return tuple(p for p in available.values() if p.name not in skip)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(
            f"not fitted parameters: {', '.join(unknown)} (choose from {', '.join(available)})"
        )
    return tuple(available[n] for n in names)


def prior_density(free: Sequence[FreeParameter], theta: np.ndarray) -> np.ndarray:
    """Joint prior density (independent triangular priors) of parameter rows `theta`."""
    theta = np.atleast_2d(theta)
    density = np.ones(len(theta))
    for j, p in enumerate(free):
        x = theta[:, j]
        left = np.where(p.mode > p.low, 2 * (x - p.low) / (p.width * (p.mode - p.low + 1e-300)), 0)
        right = np.where(
            p.high > p.mode, 2 * (p.high - x) / (p.width * (p.high - p.mode + 1e-300)), 0
        )
        pdf = np.where(x < p.mode, left, right)
        density *= np.where((x >= p.low) & (x <= p.high), np.maximum(pdf, 0.0), 0.0)
    return density


def prior_sample(free: Sequence[FreeParameter], u: np.ndarray) -> np.ndarray:
    """Parameter rows from uniform rows `u` (inverse CDF of each triangular prior)."""
    low = np.array([p.low for p in free])
    mode = np.array([p.mode for p in free])
    high = np.array([p.high for p in free])
    return triangular(u, low, mode, high)
