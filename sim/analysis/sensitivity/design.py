"""Sensitivity designs: the factors (a scenario's `uncertain` inputs, plus a dummy), the outputs
(an indicator in a year), and SALib designs on the unit cube — Saltelli/Sobol', Morris
trajectories, a Latin hypercube — reproducible from a seed.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.model.indicators import INDICATOR_NAMES, INDICATORS

METHODS: tuple[str, ...] = ("sobol", "morris", "delta")
#: Default base samples: Sobol' N (points = N(D+2)), Morris trajectories (N(D+1)), delta points.
DEFAULT_SAMPLES: dict[str, int] = {"sobol": 512, "morris": 50, "delta": 1024}
#: The headline measure of each method: figures, convergence and the through-time chart use it.
MAIN_MEASURE: dict[str, str] = {"sobol": "ST", "morris": "mu_star_scaled", "delta": "delta"}
DEFAULT_OUTPUT_INDICATORS: tuple[str, ...] = ("production_krw", "exports_usd", "employment")
DUMMY = "dummy"
#: The grouped factor of `--factors all`: one uniform number picks a draw of the calibration
#: posterior by weight, so the fitted parameters move together as the fit says they do.
POSTERIOR = "posterior"
#: The grouped factor of the national drivers: one uniform number picks one draw of the driver
#: model (its parameters and yearly innovations), so demand, prices and the won move together as
#: estimated. Left in the noise, they would drown a question about an effect: a tariff costs more
#: where US demand grows faster.
DRIVERS = "drivers"
GROUPED = (POSTERIOR, DRIVERS)
FACTOR_SETS: tuple[str, ...] = ("scenario", "all")
MORRIS_LEVELS = 4
#: Seed blocks the dummy chooses from; many, so that two different dummy values practically
#: never share seeds (a shared block would hide noise from the dummy's index).
NOISE_BLOCKS = 2**20
#: SALib's delta bins each input into classes of at least 10 points: fewer points fail.
MIN_DELTA_SAMPLES = 32
_ANALYSIS_KEY = 2**40  # spawn-key branch of the design and bootstrap streams (never a replicate)


class SensitivityError(ValueError):
    """A sensitivity request that cannot be carried out as asked (bad output, no factors...)."""


# ---------------------------------------------------------------------------------------------
# factors and outputs


@dataclass(frozen=True, slots=True)
class Factor:
    """One uncertain input: a parameter name or dotted scenario path, with its distribution.

    The dummy factor has no distribution: its value is the unit-cube coordinate itself.
    """

    name: str
    distribution: Any = None

    def value(self, u: float) -> float:
        """The factor's value at unit-cube coordinate `u` (the distribution's quantile)."""
        return float(u) if self.distribution is None else float(self.distribution.ppf(float(u)))

    @property
    def kind(self) -> str:
        from sim.inputs.parameters import PARAMETER_NAMES

        if self.name == DUMMY:
            return "dummy"
        if self.name in GROUPED:
            return self.name
        return "parameter" if self.name in PARAMETER_NAMES else "scenario path"

    def describe(self) -> dict[str, Any]:
        """Plain data for the manifest."""
        if self.name == POSTERIOR:
            from sim.inputs.parameters import load_posterior

            posterior = load_posterior()
            return {
                "name": self.name,
                "kind": self.kind,
                "role": "a uniform number picks one weighted draw of the calibration posterior",
                "parameters": list(posterior.names) if posterior is not None else [],
            }
        if self.name == DRIVERS:
            return {
                "name": self.name,
                "kind": self.kind,
                "role": "a uniform number picks one draw of the driver model: the paths of "
                "demand by partner, producer prices and the won that the scenario leaves open",
            }
        if self.distribution is None:
            return {
                "name": self.name,
                "kind": self.kind,
                "role": "sets no model input; picks the seeds of the point (noise floor)",
            }
        low, high = self.distribution.bounds()
        return {
            "name": self.name,
            "kind": self.kind,
            "distribution": self.distribution.model_dump(mode="json"),
            "bounds": [low, high],
        }


def scenario_factors(
    scenario, extra: Sequence[tuple[str, Any]] = (), drivers: bool | None = None
) -> list[Factor]:
    """The scenario's `uncertain` inputs, in file order (then `extra` ones, a baseline's own),
    the drivers as one factor (`DRIVERS`) if the scenario leaves any to the driver model (or as
    `drivers` says: a baseline may draw what the scenario pins), then the dummy factor."""
    factors = [Factor(name, dist) for name, dist in scenario.uncertain.items()]
    factors += [Factor(name, dist) for name, dist in extra if name not in scenario.uncertain]
    if not factors:
        raise SensitivityError(
            f"scenario {scenario.name!r} has no `uncertain` inputs: nothing to analyse "
            "(list the inputs to study under `uncertain:`)"
        )
    _check_names(factors)
    return [*factors, *_drivers_factor(scenario, drivers), Factor(DUMMY)]


def _check_names(factors: Sequence[Factor]) -> None:
    reserved = (DUMMY, *GROUPED)
    if any(f.name in reserved for f in factors):
        names = ", ".join(repr(name) for name in reserved)
        raise SensitivityError(f"an uncertain input may not be called {names}")


def _drivers_factor(scenario, drivers: bool | None) -> list[Factor]:
    from sim.model.macro_paths import draws_drivers

    if drivers is None:
        drivers = draws_drivers(scenario.macro)
    return [Factor(DRIVERS)] if drivers else []


def all_factors(
    scenario, extra: Sequence[tuple[str, Any]] = (), drivers: bool | None = None
) -> list[Factor]:
    """`--factors all`: the scenario's `uncertain` inputs, then every other model parameter over
    its registry range (the triangular prior runs draw from), the parameters the calibration
    posterior draws as one factor (`POSTERIOR`), the drivers (as in `scenario_factors`), and the
    dummy.

    Parameters the scenario fixes (`parameters:`) are not factors; nor are those with an empty
    range. `extra` names more `uncertain` inputs to include (a baseline's own).
    """
    from sim.inputs.parameters import PARAMETER_NAMES, load_posterior, load_registry
    from sim.inputs.scenario_fields import Triangular

    factors = [Factor(name, dist) for name, dist in scenario.uncertain.items()]
    factors += [Factor(name, dist) for name, dist in extra if name not in scenario.uncertain]
    _check_names(factors)
    taken = {f.name for f in factors} | set(scenario.parameters)
    posterior = load_posterior()
    grouped = set(posterior.names) if posterior is not None else set()
    registry = load_registry()
    for name in PARAMETER_NAMES:
        spec = registry[name]
        if name in taken or name in grouped or not spec.low < spec.high:
            continue
        prior = Triangular(dist="triangular", low=spec.low, mode=spec.value, high=spec.high)
        factors.append(Factor(name, prior))
    if grouped - taken:
        factors.append(Factor(POSTERIOR))
    return [*factors, *_drivers_factor(scenario, drivers), Factor(DUMMY)]


@dataclass(frozen=True, slots=True, order=True)
class Output:
    """An indicator's calendar-year value (flows summed, stocks at year end, ratios recomputed)."""

    indicator: str
    year: int

    @property
    def label(self) -> str:
        return f"{self.indicator}:{self.year}"


def parse_output(text: str) -> tuple[str, int | None]:
    """'exports_usd:2027' -> ('exports_usd', 2027); 'exports_usd' -> ('exports_usd', None)."""
    name, sep, year_text = str(text).strip().partition(":")
    if name not in INDICATORS:
        import difflib

        close = difflib.get_close_matches(name, INDICATOR_NAMES, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise SensitivityError(f"unknown indicator {name!r}{hint}")
    if not sep:
        return name, None
    if not (year_text.isdigit() and len(year_text) == 4):
        raise SensitivityError(f"year must be four digits, as in {name}:2027 (got {text!r})")
    return name, int(year_text)


def as_output(output: Output | str) -> Output:
    """An `Output`, or 'KPI:YEAR' text made into one (the year is required here)."""
    if isinstance(output, Output):
        return output
    name, year = parse_output(output)
    if year is None:
        raise SensitivityError(f"output {output!r} needs a year, as in {name}:2027")
    return Output(name, year)


def period_years(scenario) -> list[int]:
    """Calendar years the scenario's period touches."""
    return list(range(scenario.period.start_month // 12, scenario.period.end_month // 12 + 1))


def full_years(scenario) -> list[int]:
    """Years the period covers in full (all years if none is full)."""
    start, end = scenario.period.start_month, scenario.period.end_month
    full = [y for y in period_years(scenario) if start <= 12 * y and 12 * y + 11 <= end]
    return full or period_years(scenario)


def resolve_outputs(scenario, specs: Sequence[str] | None) -> list[Output]:
    """Outputs from 'KPI[:YEAR]' texts (a missing year is the last full year); default: the
    production, exports and employment of the last full year. Years must lie in the period.
    """
    default_year = full_years(scenario)[-1]
    if not specs:
        return [Output(name, default_year) for name in DEFAULT_OUTPUT_INDICATORS]
    years = period_years(scenario)
    outputs: list[Output] = []
    for spec in specs:
        name, year = parse_output(spec)
        year = default_year if year is None else year
        if year not in years:
            raise SensitivityError(
                f"output {name}:{year}: the year lies outside the scenario's period "
                f"({scenario.period.start}..{scenario.period.end})"
            )
        if Output(name, year) not in outputs:
            outputs.append(Output(name, year))
    return outputs


def through_time_outputs(scenario, indicator: str) -> list[Output]:
    """The indicator in every full year of the period (for indices through time)."""
    if indicator not in INDICATORS:
        raise SensitivityError(f"unknown indicator {indicator!r}")
    return [Output(indicator, year) for year in full_years(scenario)]


# ---------------------------------------------------------------------------------------------
# designs


@dataclass(frozen=True)
class Design:
    """A SALib design on the unit cube; rows are points, columns follow `factor_names`."""

    method: str
    samples: int
    factor_names: tuple[str, ...]
    unit: np.ndarray
    second_order: bool = False

    @property
    def points(self) -> int:
        return int(self.unit.shape[0])

    @property
    def rows_per_sample(self) -> int:
        """Rows one base sample adds: N(D+2) Sobol', N(D+1) Morris, N Latin hypercube."""
        d = len(self.factor_names)
        if self.method == "sobol":
            return 2 * d + 2 if self.second_order else d + 2
        if self.method == "morris":
            return d + 1
        return 1

    def problem(self) -> dict[str, Any]:
        """SALib's problem dict: every factor on [0, 1] (values are quantiles)."""
        d = len(self.factor_names)
        # Neutral names: SALib's delta refuses some suffixes and the manifest keeps the real ones.
        return {"num_vars": d, "names": [f"x{k}" for k in range(d)], "bounds": [[0.0, 1.0]] * d}

    def sha256(self) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(self.unit, dtype="<f8").tobytes())
        digest.update("\n".join(self.factor_names).encode())
        return digest.hexdigest()


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_ANALYSIS_KEY, *key)))


def _positive_seed(seed: int, *key: int) -> int:
    """A nonzero int seed for SALib functions that test `if seed:` (0 would mean unseeded)."""
    state = np.random.SeedSequence(seed, spawn_key=(_ANALYSIS_KEY, *key)).generate_state(1)
    return int(state[0]) + 1


def check_samples(method: str, samples: int) -> None:
    """Raise SensitivityError if `samples` does not suit the method."""
    if method not in METHODS:
        raise SensitivityError(f"method must be one of {', '.join(METHODS)} (got {method!r})")
    if method == "sobol" and (samples < 2 or samples & (samples - 1)):
        lower = 2 ** max(1, int(math.log2(max(samples, 2))))
        raise SensitivityError(
            f"Sobol' needs a power of 2 samples, so that the Sobol' sequence stays balanced "
            f"(got {samples}; try {lower} or {2 * lower})"
        )
    if method == "morris" and samples < 2:
        raise SensitivityError(f"Morris needs at least 2 trajectories (got {samples})")
    if method == "delta" and samples < MIN_DELTA_SAMPLES:
        raise SensitivityError(f"delta needs at least {MIN_DELTA_SAMPLES} samples (got {samples})")


def make_design(
    method: str,
    factor_names: Sequence[str],
    samples: int,
    seed: int,
    second_order: bool = False,
) -> Design:
    """The design of `method` with `samples` base samples, reproducible from `seed`."""
    check_samples(method, samples)
    if second_order and method != "sobol":
        raise SensitivityError("second-order indices need the Sobol' method")
    names = tuple(factor_names)
    problem = Design(method, samples, names, np.empty((0, len(names)))).problem()
    rng = _stream(seed, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib's notes on sample sizes; checked above
        if method == "sobol":
            from SALib.sample import sobol

            unit = sobol.sample(problem, samples, calc_second_order=second_order, seed=rng)
        elif method == "morris":
            from SALib.sample import morris

            unit = morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=rng)
        else:
            from SALib.sample import latin

            unit = latin.sample(problem, samples, seed=rng)
    unit = np.clip(np.asarray(unit, dtype=float), 0.0, 1.0)
    return Design(method, samples, names, unit, second_order)


def design_values(design: Design, factors: Sequence[Factor]) -> list[dict[str, float]]:
    """Each design point as {factor name: value}; the dummy keeps its unit coordinate."""
    if tuple(f.name for f in factors) != design.factor_names:
        raise SensitivityError("the factors do not match the design")
    # Map each distinct coordinate once: Morris designs repeat a handful of levels.
    columns = []
    for k, factor in enumerate(factors):
        levels, inverse = np.unique(design.unit[:, k], return_inverse=True)
        mapped = np.array([factor.value(u) for u in levels])
        columns.append(mapped[inverse])
    return [
        {f.name: float(col[i]) for f, col in zip(factors, columns, strict=True)}
        for i in range(design.points)
    ]
