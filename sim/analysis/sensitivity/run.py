"""Global sensitivity analysis: which uncertain inputs drive a forecast (DESIGN §6, §8, §9).

The factors are a scenario's `uncertain` inputs (parameter names and dotted scenario paths) plus
one dummy factor. The pipeline is SALib's `sample -> evaluate -> analyze`:

1. **design** (`make_design`): a SALib design on the unit cube [0, 1]^D — Saltelli/Sobol' for
   `sobol`, Morris trajectories (4 levels) for `morris`, a Latin hypercube for `delta`. A factor's
   value is its distribution's `ppf(u)`, so non-uniform inputs are sampled by their distribution
   and the indices answer "how much of the forecast range comes from this input as the scenario
   states its uncertainty".
2. **evaluate** (`evaluate_points`): each design point is simulated for `replicates_per_point`
   replicates and the output is their mean. Points are cut into chunks that run in worker
   processes; finished chunks are written to a `.partial` folder so that an interrupted job
   resumes where it stopped. The result does not depend on the number of workers.
3. **analyze** (`analyse`): Sobol' first and total order (second order on request) with
   bootstrap confidence intervals; Morris mu*, mu, sigma; the moment-independent delta index
   (which needs no special design, so `analyse(..., method="delta")` also runs on a Sobol' or
   Morris design). A convergence table repeats the analysis on the first N/4, N/2 and N base
   samples.

Randomness handled honestly. Everything that is not a factor — non-factor parameters drawn from
their priors, the population, the monthly shocks — comes from the replicate's seed, exactly as in
`run`. Common random numbers: a design point runs replicates `b*R .. b*R+R-1`, where the block
`b` is picked by the dummy factor's value. The dummy sets no model input; it only decides which
random numbers a point uses. So every pair of points an estimator compares to measure a real
factor (A and AB_i in Sobol', neighbours on a Morris trajectory) shares its seeds, and the
dummy's own index measures the model's randomness: it is the noise floor. Noise can lift a
factor's total-order index, Morris mu* or delta up to the dummy's, so a factor whose interval
does not clear the dummy's cannot be told from noise (`floor_rule`; column `above_noise_floor`).
(A dummy that left the seeds alone would be exactly 0 for Sobol' and Morris, whatever the noise:
useless as a floor.) Besides, the spread between a point's replicates gives the `noise_share`:
the part of the output's variance that the model's own randomness explains after averaging R
replicates; it should agree with the dummy's total-order index.

Model code never imports plotting: figures live in `sim.report.sensitivity_plots`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import math
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.ensemble.execution import ChunkStore, Executor, chunks, make_executor
from sim.model.indicators import COLUMN, INDICATOR_NAMES, INDICATORS, annual_from_monthly

METHODS: tuple[str, ...] = ("sobol", "morris", "delta")
#: Default base samples: Sobol' N (points = N(D+2)), Morris trajectories (N(D+1)), delta points.
DEFAULT_SAMPLES: dict[str, int] = {"sobol": 512, "morris": 50, "delta": 1024}
#: The headline measure of each method: figures, convergence and the through-time chart use it.
MAIN_MEASURE: dict[str, str] = {"sobol": "ST", "morris": "mu_star_scaled", "delta": "delta"}
DEFAULT_OUTPUT_INDICATORS: tuple[str, ...] = ("production_krw", "exports_usd", "employment")
DUMMY = "dummy"
MORRIS_LEVELS = 4
#: Seed blocks the dummy chooses from; many, so that two different dummy values practically
#: never share seeds (a shared block would hide noise from the dummy's index).
NOISE_BLOCKS = 2**20
MAX_REPLICATES_PER_POINT = 1000  # keeps replicate numbers (block * R + r) below 2**32
#: A chunk holds about this many replicate simulations (a second or so of work).
CHUNK_REPLICATES = 64
CONF_LEVEL = 0.95
BOOTSTRAP_RESAMPLES: dict[str, int] = {"sobol": 500, "morris": 500, "delta": 100}
#: A 95% half-width above this (in index units) triggers a warning; Morris uses mu*/sd(output).
WIDE_CI = 0.1
NOISE_WARNING_SHARE = 0.5
#: SALib's delta bins each input into classes of at least 10 points: fewer points fail.
MIN_DELTA_SAMPLES = 32
_ANALYSIS_KEY = 2**40  # spawn-key branch of the design and bootstrap streams (never a replicate)

PointModel = Callable[..., np.ndarray]


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
        return "parameter" if self.name in PARAMETER_NAMES else "scenario path"

    def describe(self) -> dict[str, Any]:
        """Plain data for the manifest."""
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


def scenario_factors(scenario) -> list[Factor]:
    """The scenario's `uncertain` inputs, in file order, then the dummy factor."""
    factors = [Factor(name, dist) for name, dist in scenario.uncertain.items()]
    if not factors:
        raise SensitivityError(
            f"scenario {scenario.name!r} has no `uncertain` inputs: nothing to analyse "
            "(list the inputs to study under `uncertain:`)"
        )
    if any(f.name == DUMMY for f in factors):
        raise SensitivityError(f"an uncertain input may not be called {DUMMY!r}")
    return [*factors, Factor(DUMMY)]


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


# ---------------------------------------------------------------------------------------------
# evaluating one point


def point_replicates(values: Mapping[str, float], replicates_per_point: int) -> range:
    """Replicate numbers of a design point: block b of R, with b chosen by the dummy (else 0).

    Points with the same dummy value share their seeds (common random numbers).
    """
    u = float(values.get(DUMMY, 0.0))
    block = min(int(u * NOISE_BLOCKS), NOISE_BLOCKS - 1)
    start = block * replicates_per_point
    return range(start, start + replicates_per_point)


def point_inputs(
    scenario,
    seed: int,
    replicate: int,
    values: Mapping[str, float],
    fixed_parameters: bool = False,
):
    """The scenario and parameters of one replicate at a design point.

    As `sim.ensemble.replicate.replicate_inputs`, minus the draws of `uncertain`: parameters come
    from their priors (the replicate's parameter stream; central values with `fixed_parameters`),
    then the scenario's point overrides, then the design point's values (parameter names via
    `Parameters.replace`, dotted paths via `apply_values`). The dummy sets nothing.
    """
    from sim.ensemble.replicate import STREAM_PARAMETERS, stream
    from sim.inputs.parameters import PARAMETER_NAMES, central_parameters, draw_parameters
    from sim.inputs.scenario import apply_values

    params = (
        central_parameters()
        if fixed_parameters
        else draw_parameters(stream(seed, replicate, STREAM_PARAMETERS))
    )
    params = params.replace(**scenario.parameters)
    params = params.replace(**{k: v for k, v in values.items() if k in PARAMETER_NAMES})
    paths = {k: v for k, v in values.items() if k not in PARAMETER_NAMES and k != DUMMY}
    if paths:
        scenario = apply_values(scenario, paths)
    return scenario, params


def simulate_point(
    scenario,
    seed: int,
    replicate: int,
    values: Mapping[str, float],
    outputs: Sequence[Output],
    firms: int | None = None,
    fixed_parameters: bool = False,
) -> np.ndarray:
    """The outputs of one replicate of the model at a design point (`firms` scales the
    population, for tests; `fixed_parameters`: see `point_inputs`)."""
    from sim.ensemble.replicate import build_model, check_finite

    scenario_p, params = point_inputs(scenario, seed, replicate, values, fixed_parameters)
    model = build_model(scenario_p, params, seed, replicate, firms)
    months = model.env.months
    for k in range(len(months)):
        model.step()
        check_finite(model.indicators[k], replicate, int(months[k]))
    years, annual = annual_from_monthly(model.indicators, months)
    row = {int(y): k for k, y in enumerate(years)}
    return np.array([annual[row[o.year], COLUMN[o.indicator]] for o in outputs])


# ---------------------------------------------------------------------------------------------
# evaluating many points: chunks, worker processes, partial results


def chunk_points(replicates_per_point: int) -> int:
    """Design points per chunk: about CHUNK_REPLICATES simulations."""
    return max(1, CHUNK_REPLICATES // replicates_per_point)


def _evaluate_chunk(
    model: PointModel,
    scenario,
    seed: int,
    points: list[dict[str, float]],
    replicates_per_point: int,
    outputs: tuple[Output, ...],
) -> np.ndarray:
    """(points, outputs, replicates) of one chunk; runs in a worker process."""
    cube = np.empty((len(points), len(outputs), replicates_per_point))
    for i, values in enumerate(points):
        for j, replicate in enumerate(point_replicates(values, replicates_per_point)):
            cube[i, :, j] = model(scenario, seed, replicate, values, outputs)
    return cube


def _load_chunk(store: ChunkStore, k: int, shape: tuple[int, ...]) -> np.ndarray | None:
    """A saved chunk, if it is whole and has the expected shape."""
    if k not in store.finished():
        return None
    try:
        cube = store.load(k)
    except (OSError, ValueError):
        return None
    return cube if cube.shape == shape and cube.dtype == np.float64 else None


@dataclass
class Evaluation:
    """Outputs of every replicate at every design point, and how they were obtained."""

    replicates: np.ndarray  # (points, outputs, replicates per point)
    chunks: int
    chunks_resumed: int
    seconds: float

    @property
    def means(self) -> np.ndarray:
        """(points, outputs): the mean over each point's replicates — the analysed output."""
        return self.replicates.mean(axis=2)


def evaluate_replicates(
    scenario,
    values: Sequence[Mapping[str, float]],
    replicates_per_point: int,
    seed: int,
    workers: int | Executor,
    outputs: Sequence[Output],
    *,
    model: PointModel | None = None,
    partial_dir: Path | None = None,
    resume: bool = False,
    on_chunk_done: Callable[[int], None] | None = None,
    points_per_chunk: int | None = None,
) -> Evaluation:
    """Evaluate design points in chunks with an executor of `sim.ensemble.execution` (or `workers`
    local processes); see `evaluate_points`.

    With `partial_dir`, each finished chunk is saved there; with `resume`, chunks already saved
    are loaded instead of run again (without it, saved chunks are an error: finished work is
    never silently thrown away; remove the folder to start over). A chunk holds
    `points_per_chunk` points (default `chunk_points(replicates_per_point)`); the chunking
    changes no number, only how work is shared and saved.
    `on_chunk_done(n)` is called with the number of simulations each finished chunk did.
    """
    if not 1 <= replicates_per_point <= MAX_REPLICATES_PER_POINT:
        raise SensitivityError(
            f"replicates per point must lie in 1..{MAX_REPLICATES_PER_POINT} "
            f"(got {replicates_per_point})"
        )
    model = model or simulate_point
    outputs = tuple(as_output(o) for o in outputs)
    points = [dict(v) for v in values]
    parts = chunks(len(points), points_per_chunk or chunk_points(replicates_per_point))
    results: dict[int, np.ndarray] = {}
    store = ChunkStore(Path(partial_dir)) if partial_dir is not None else None
    if store is not None and store.finished():
        if not resume:
            raise SensitivityError(
                f"{len(store.finished())} finished chunks of an interrupted run are kept in "
                f"{store.folder}: add --resume to finish it, or --restart to discard them"
            )
        for k, part in enumerate(parts):
            cube = _load_chunk(store, k, (len(part), len(outputs), replicates_per_point))
            if cube is not None:
                results[k] = cube
    resumed = len(results)
    started = time.perf_counter()
    todo = [k for k in range(len(parts)) if k not in results]
    tasks = [
        (model, scenario, seed, [points[i] for i in parts[k]], replicates_per_point, outputs)
        for k in todo
    ]

    def keep(position: int, cube: np.ndarray) -> None:
        k = todo[position]
        results[k] = cube
        if store is not None:
            store.save(k, cube)
        if on_chunk_done:
            on_chunk_done(len(parts[k]) * replicates_per_point)

    if isinstance(workers, int):
        with make_executor(workers, None) as executor:
            executor.run(_evaluate_chunk, tasks, keep)
    else:
        workers.run(_evaluate_chunk, tasks, keep)
    cube = (
        np.concatenate([results[k] for k in range(len(parts))])
        if parts
        else np.empty((0, len(outputs), replicates_per_point))
    )
    return Evaluation(cube, len(parts), resumed, time.perf_counter() - started)


def evaluate_points(
    scenario,
    values: Sequence[Mapping[str, float]],
    replicates_per_point: int,
    seed: int,
    workers: int,
    outputs: Sequence[Output | str],
    **options: Any,
) -> np.ndarray:
    """(points, outputs): each design point's outputs, averaged over its replicates.

    `outputs` are `Output`s or 'KPI:YEAR' texts. Point i runs replicates
    `point_replicates(values[i], R)` of master seed `seed`: the same replicate numbers wherever
    the dummy factor has the same value (all points, if `values` has no dummy). Deterministic:
    the array does not depend on `workers` or on the chunking.
    Options: `model` (a function (scenario, seed, replicate, values, outputs) -> outputs,
    default `simulate_point`), `partial_dir`, `resume`, `on_chunk_done`, `points_per_chunk`
    (see `evaluate_replicates`).
    """
    return evaluate_replicates(
        scenario, values, replicates_per_point, seed, workers, outputs, **options
    ).means


# ---------------------------------------------------------------------------------------------
# analysis


def _sobol_rows(design: Design, n: int) -> np.ndarray:
    return np.arange(n * design.rows_per_sample)


def _independent_rows(design: Design, n: int | None = None) -> np.ndarray:
    """Rows that form an independent sample of the inputs, for given-data methods (delta):
    the A and B rows of a Sobol' design, every row of a Morris or Latin hypercube design.
    """
    n = design.samples if n is None else n
    rows = np.arange(n * design.rows_per_sample)
    if design.method == "sobol":
        step = design.rows_per_sample
        return np.sort(np.r_[rows[::step], rows[step - 1 :: step]])
    return rows


def _quiet_salib(call: Callable[[], Any]) -> Any:
    """Run a SALib call without its warnings printing and without lasting side effects.

    SALib's delta seeds numpy's global generator, replaces `warnings.formatwarning` and prints
    notes to stdout; the first two are restored here and the prints dropped, so nothing else in
    the process sees a changed random state and stdout keeps only what the CLI prints. BLAS runs
    single-threaded where threadpoolctl is installed: delta's many tiny density estimates ran
    ten times slower with BLAS threads on a busy 2-core machine.
    """
    try:
        from threadpoolctl import threadpool_limits

        limits: Any = threadpool_limits(limits=1)
    except ImportError:  # optional: only speed depends on it
        limits = contextlib.nullcontext()
    state = np.random.get_state()  # noqa: NPY002 - saving what SALib overwrites
    formatwarning = warnings.formatwarning
    try:
        with (
            limits,
            warnings.catch_warnings(record=True),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            return call()
    finally:
        warnings.formatwarning = formatwarning
        np.random.set_state(state)  # noqa: NPY002


def analyse_output(
    design: Design,
    y: np.ndarray,
    method: str | None = None,
    *,
    seed: int = 0,
    samples: int | None = None,
) -> dict[str, Any]:
    """Indices of one output: {measure: (values per factor, 95% half-widths or None)}.

    `method` defaults to the design's; `delta` works on any design (it reuses the design's
    independent rows). `samples` uses only the first base samples (convergence checks). A
    constant output gives NaN everywhere (there is no variance to share out).
    """
    method = method or design.method
    n = design.samples if samples is None else samples
    d = len(design.factor_names)
    problem = design.problem()
    key = (METHODS.index(method), n)
    rows = _independent_rows(design, n) if method == "delta" else _sobol_rows(design, n)
    if method == "sobol" and design.method != "sobol":
        raise SensitivityError("Sobol' indices need a Sobol' design")
    if method == "morris" and design.method != "morris":
        raise SensitivityError("Morris measures need a Morris design")
    y_used = np.asarray(y, dtype=float)[rows]
    nan = np.full(d, np.nan)
    if not np.all(np.isfinite(y_used)) or np.ptp(y_used) <= 1e-12 * max(1.0, np.abs(y_used).max()):
        measures = {
            "sobol": ("S1", "ST"),
            "morris": ("mu_star", "mu_star_scaled", "mu", "sigma"),
            "delta": ("delta", "S1"),
        }[method]
        out: dict[str, Any] = {m: (nan, nan) for m in measures}
        if method == "sobol" and design.second_order:
            out["S2"] = (np.full((d, d), np.nan), np.full((d, d), np.nan))
        out["constant"] = True
        return out
    if method == "sobol":
        from SALib.analyze import sobol

        result = _quiet_salib(
            lambda: sobol.analyze(
                problem,
                y_used,
                calc_second_order=design.second_order,
                num_resamples=BOOTSTRAP_RESAMPLES["sobol"],
                conf_level=CONF_LEVEL,
                seed=_positive_seed(seed, 1, *key),
            )
        )
        out = {
            "S1": (np.asarray(result["S1"]), np.asarray(result["S1_conf"])),
            "ST": (np.asarray(result["ST"]), np.asarray(result["ST_conf"])),
        }
        if design.second_order:
            out["S2"] = (np.asarray(result["S2"]), np.asarray(result["S2_conf"]))
        return out
    if method == "morris":
        from SALib.analyze import morris

        x_used = design.unit[rows]
        result = _quiet_salib(
            lambda: morris.analyze(
                problem,
                x_used,
                y_used,
                num_resamples=BOOTSTRAP_RESAMPLES["morris"],
                conf_level=CONF_LEVEL,
                num_levels=MORRIS_LEVELS,
                seed=_positive_seed(seed, 1, *key),
            )
        )
        sd = float(np.std(y_used))
        mu_star = np.asarray(result["mu_star"], dtype=float)
        conf = np.asarray(result["mu_star_conf"], dtype=float)
        return {
            "mu_star": (mu_star, conf),
            # mu* in standard deviations of the output: comparable across outputs and years.
            "mu_star_scaled": (mu_star / sd, conf / sd),
            "mu": (np.asarray(result["mu"], dtype=float), None),
            "sigma": (np.asarray(result["sigma"], dtype=float), None),
        }
    from SALib.analyze import delta

    x_used = design.unit[rows]
    result = _quiet_salib(
        lambda: delta.analyze(
            problem,
            x_used,
            y_used,
            num_resamples=BOOTSTRAP_RESAMPLES["delta"],
            conf_level=CONF_LEVEL,
            seed=_positive_seed(seed, 1, *key),
            method="all",
        )
    )
    # 'raw' is Plischke et al.'s bias-reduced estimator with plain bootstrap resampling.
    return {
        "delta": (np.asarray(result["delta_raw"]), np.asarray(result["delta_raw_conf"])),
        "S1": (np.asarray(result["S1"]), np.asarray(result["S1_conf"])),
    }


INDEX_COLUMNS = (
    "output",
    "indicator",
    "year",
    "measure",
    "factor",
    "factor_2",
    "value",
    "conf",
    "above_noise_floor",
)


def floor_rule(method: str, measure: str) -> str:
    """How a measure's noise floor is set: 'dummy' (the upper end of the dummy's interval),
    'zero' (the interval must exclude 0) or 'none'.

    The dummy carries all the model's own randomness, so noise can lift a factor's total-order
    index, Morris mu* or delta up to the dummy's value: a factor must clear it. A Sobol' first-
    order index is not lifted by noise (the noise averages out of E[Y | x_i]; it only widens
    the interval), so there the test is that the interval excludes 0 — the dummy's own S1 is the
    share of variance the randomness explains, a comparison, not a floor.
    """
    if measure in ("S2", "mu", "sigma"):
        return "none"
    if method == "sobol" and measure == "S1":
        return "zero"
    return "dummy"


def _index_rows(
    output: Output, result: Mapping[str, Any], factor_names: Sequence[str], method: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    dummy = factor_names.index(DUMMY) if DUMMY in factor_names else None
    for measure, pair in result.items():
        if measure == "constant":
            continue
        values, conf = pair
        if measure == "S2":
            for i, a in enumerate(factor_names):
                for j in range(i + 1, len(factor_names)):
                    rows.append(
                        _row(output, measure, a, factor_names[j], values[i, j], conf[i, j], "")
                    )
            continue
        rule = floor_rule(method, measure)
        floor = None
        if rule == "zero":
            floor = 0.0
        elif rule == "dummy" and dummy is not None and np.isfinite(values[dummy]):
            floor = values[dummy] + (conf[dummy] if np.isfinite(conf[dummy]) else 0.0)
        for k, name in enumerate(factor_names):
            c = np.nan if conf is None else conf[k]
            flag = ""
            if floor is not None and name != DUMMY and np.isfinite(values[k]):
                flag = "yes" if values[k] - (c if np.isfinite(c) else 0.0) > floor else "no"
            rows.append(_row(output, measure, name, "", values[k], c, flag))
    return rows


def _row(output, measure, factor, factor_2, value, conf, flag) -> dict[str, Any]:
    return {
        "output": output.label,
        "indicator": output.indicator,
        "year": output.year,
        "measure": measure,
        "factor": factor,
        "factor_2": factor_2,
        "value": float(value),
        "conf": float(conf),
        "above_noise_floor": flag,
    }


def _analyse_one(
    design: Design, y: np.ndarray, output: Output, seed: int, method: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Index rows and convergence rows of one output (a task for a worker process)."""
    method = method or design.method
    result = analyse_output(design, y, method, seed=seed)
    rows = _index_rows(output, result, design.factor_names, method)
    measures = ("S1", "ST") if method == "sobol" else (MAIN_MEASURE[method],)
    conv: list[dict[str, Any]] = []
    for n in convergence_samples(design):
        part = (
            result
            if n == design.samples
            else analyse_output(design, y, method, seed=seed, samples=n)
        )
        for measure in measures:
            values, conf = part[measure]
            for f, name in enumerate(design.factor_names):
                conv.append(
                    {
                        "output": output.label,
                        "indicator": output.indicator,
                        "year": output.year,
                        "measure": measure,
                        "factor": name,
                        "samples": n,
                        "value": float(values[f]),
                        "conf": float(conf[f]),
                    }
                )
    return rows, conv


def analyse_all(
    design: Design,
    y: np.ndarray,
    outputs: Sequence[Output],
    *,
    seed: int = 0,
    method: str | None = None,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(index table, convergence table) of every output; y is (points, outputs).

    The index table has the columns `INDEX_COLUMNS`: `conf` is the half-width of the 95%
    bootstrap confidence interval; `above_noise_floor` is 'yes' when the lower end of a factor's
    interval lies above the upper end of the dummy's. The convergence table holds the main
    measure (and S1 for Sobol') on the first N/4, N/2 and N base samples (columns output,
    indicator, year, measure, factor, samples, value, conf). Outputs are analysed in parallel
    with `workers` (delta's density estimates are slow); the tables do not depend on it.
    """
    y = np.asarray(y, dtype=float).reshape(design.points, len(outputs))
    tasks = [(design, y[:, k].copy(), o, seed, method) for k, o in enumerate(outputs)]
    parts: dict[int, tuple] = {}
    with make_executor(workers, None) as executor:
        executor.run(_analyse_one, tasks, parts.__setitem__)
    rows = [row for k in range(len(outputs)) for row in parts[k][0]]
    conv = [row for k in range(len(outputs)) for row in parts[k][1]]
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS)), pd.DataFrame(conv)


def analyse(
    design: Design,
    y: np.ndarray,
    outputs: Sequence[Output],
    *,
    seed: int = 0,
    method: str | None = None,
) -> pd.DataFrame:
    """The index table of every output (see `analyse_all`), without the convergence check."""
    y = np.asarray(y, dtype=float).reshape(design.points, len(outputs))
    rows = []
    for k, output in enumerate(outputs):
        result = analyse_output(design, y[:, k], method, seed=seed)
        rows += _index_rows(output, result, design.factor_names, method or design.method)
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def convergence_samples(design: Design) -> list[int]:
    """Base-sample counts of the convergence check: N/4, N/2, N (those large enough)."""
    minimum = {"sobol": 4, "morris": 2, "delta": MIN_DELTA_SAMPLES}[design.method]
    n = design.samples
    counts = [m for m in (n // 4, n // 2) if m >= minimum and m < n]
    if design.method == "sobol":  # balanced Sobol' prefixes: powers of 2 only
        counts = [m for m in counts if m & (m - 1) == 0]
    return [*sorted(set(counts)), n]


def noise_table(replicates: np.ndarray, outputs: Sequence[Output]) -> pd.DataFrame:
    """Per output: the variance share of replicate noise in the point means, estimated from the
    spread between each point's replicates (NaN with one replicate per point)."""
    points, _, r = replicates.shape
    rows = []
    for k, output in enumerate(outputs):
        values = replicates[:, k, :]
        means = values.mean(axis=1)
        total = float(np.var(means, ddof=1)) if points > 1 else np.nan
        if r > 1 and total > 0:
            noise = float(np.var(values, axis=1, ddof=1).mean()) / r
            share = min(noise / total, 1.0)
        else:
            share = np.nan
        rows.append(
            {
                "output": output.label,
                "mean": float(means.mean()),
                "sd": math.sqrt(total) if np.isfinite(total) else np.nan,
                "noise_share": share,
            }
        )
    return pd.DataFrame(rows)


def review(
    method: str,
    indices: pd.DataFrame,
    convergence: pd.DataFrame,
    noise: pd.DataFrame,
    replicates_per_point: int,
) -> list[str]:
    """Warnings a reader must see: wide intervals, unsettled indices, constant outputs, noise."""
    notes: list[str] = []
    measure = MAIN_MEASURE[method]
    main = indices[(indices["measure"] == measure) & (indices["factor"] != DUMMY)]
    for output, rows in main.groupby("output", sort=False):
        if rows["value"].isna().all():
            sd = noise.loc[noise["output"] == output, "sd"]
            if len(sd) and sd.iloc[0] > 0:
                notes.append(f"{output}: the indices could not be estimated (too few samples?)")
            else:
                notes.append(f"{output}: the output does not vary across the design: no indices")
            continue
        # Morris's mu* has no natural scale: its intervals are judged against the largest mu*.
        scale = float(rows["value"].abs().max()) if method == "morris" else 1.0
        limit = WIDE_CI * (2.5 * scale if method == "morris" else 1.0)
        widest = rows.loc[rows["conf"].idxmax()] if rows["conf"].notna().any() else None
        if widest is not None and widest["conf"] > limit:
            notes.append(
                f"{output}: {measure} of {widest['factor']} is {widest['value']:.2f} ± "
                f"{widest['conf']:.2f} (95% interval wider than ±{limit:.2g}): "
                "increase --samples before relying on the ranking"
            )
        conv = convergence[
            (convergence["output"] == output)
            & (convergence["measure"] == measure)
            & (convergence["factor"] != DUMMY)
        ]
        counts = sorted(conv["samples"].unique())
        if len(counts) >= 2:
            last = conv[conv["samples"] == counts[-1]].set_index("factor")["value"]
            before = conv[conv["samples"] == counts[-2]].set_index("factor")["value"]
            change = (last - before).abs().max()
            if np.isfinite(change) and change > limit:
                notes.append(
                    f"{output}: {measure} still moves by up to {change:.2f} between "
                    f"{counts[-2]} and {counts[-1]} samples: not converged"
                )
    for row in noise.itertuples():
        if np.isfinite(row.noise_share) and row.noise_share > NOISE_WARNING_SHARE:
            notes.append(
                f"{row.output}: {row.noise_share:.0%} of the variance is the model's own "
                "randomness (shocks, and parameters that are not factors): raise "
                "--replicates-per-point, or list the parameters that matter under `uncertain`"
            )
    if replicates_per_point == 1:
        notes.append(
            "one replicate per point: the noise share cannot be estimated (the dummy factor "
            "still gives the noise floor)"
        )
    return notes


# ---------------------------------------------------------------------------------------------
# the pipeline


@dataclass
class SensitivityResult:
    """Everything a sensitivity run produced; `write_sensitivity_results` turns it into files."""

    method: str
    samples: int
    seed: int
    replicates_per_point: int
    second_order: bool
    fixed_parameters: bool
    factors: tuple[Factor, ...]
    headline: tuple[Output, ...]
    outputs: tuple[Output, ...]  # headline first, then the through-time years
    through_time: str | None
    design: Design
    evaluation: Evaluation
    indices: pd.DataFrame
    convergence: pd.DataFrame
    noise: pd.DataFrame
    warnings: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    partial_key: str | None = None

    @property
    def main_measure(self) -> str:
        return MAIN_MEASURE[self.method]

    def noise_floor(self, output: Output, measure: str | None = None) -> float:
        """The value a factor's interval must clear for `measure` (default: the main one):
        see `floor_rule`. NaN if there is none."""
        measure = measure or self.main_measure
        rule = floor_rule(self.method, measure)
        if rule != "dummy":
            return 0.0 if rule == "zero" else float("nan")
        rows = self.indices[
            (self.indices["output"] == output.label)
            & (self.indices["measure"] == measure)
            & (self.indices["factor"] == DUMMY)
        ]
        if rows.empty:
            return float("nan")
        value, conf = float(rows["value"].iloc[0]), float(rows["conf"].iloc[0])
        return value + (conf if np.isfinite(conf) else 0.0)


def partial_key(
    scenario_hash: str,
    method: str,
    samples: int,
    seed: int,
    outputs: Sequence[Output],
    **more: Any,
) -> str:
    """16 hex digits naming the `.partial` folder of a sensitivity job: the same inputs (and
    package and model versions) give the same key, so `--resume` finds its chunks."""
    from sim import MODEL_VERSION, __version__

    data = {
        "scenario_hash": scenario_hash,
        "method": method,
        "samples": samples,
        "seed": seed,
        "outputs": [o.label for o in outputs],
        "package_version": __version__,
        "model_version": MODEL_VERSION,
        **more,
    }
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _model_name(model: PointModel | None) -> str:
    if model is None:
        return "simulate_point"
    if isinstance(model, functools.partial):
        keywords = ",".join(f"{k}={v!r}" for k, v in sorted(model.keywords.items()))
        return f"{_model_name(model.func)}({keywords})"
    return f"{getattr(model, '__module__', '')}.{getattr(model, '__qualname__', repr(model))}"


def partial_folder(out_root: Path, name: str, key: str) -> Path:
    """Where a job's finished chunks wait: `<out_root>/.partial/<name>/sensitivity-<key>/`."""
    return Path(out_root) / ".partial" / name / f"sensitivity-{key}"


def run_sensitivity(
    scenario,
    *,
    method: str = "sobol",
    samples: int | None = None,
    outputs: Sequence[Output] | None = None,
    through_time: str | None = None,
    replicates_per_point: int = 4,
    seed: int | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    restart: bool = False,
    second_order: bool = False,
    fixed_parameters: bool = False,
    factors: Sequence[Factor] | None = None,
    model: PointModel | None = None,
    out_root: Path | None = None,
    resume: bool = False,
    on_chunk_done: Callable[[int], None] | None = None,
) -> SensitivityResult:
    """Design, evaluate and analyse: the whole sensitivity analysis of a scenario.

    `factors` default to `scenario_factors(scenario)`; `outputs` to `resolve_outputs(scenario,
    None)`; `seed` to the scenario's. `through_time` adds the indicator's value in every full
    year. `fixed_parameters` holds the parameters that are not factors at their central values
    (the noise is then only the model's shocks). `model` replaces the simulation of one
    replicate at a point (tests use analytic functions; then `scenario` may be None if factors,
    outputs and seed are given). With
    `out_root`, finished chunks are kept under `out_root/.partial/` (see `partial_folder`)
    and `resume` reuses them.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if method not in METHODS:
        raise SensitivityError(f"method must be one of {', '.join(METHODS)} (got {method!r})")
    samples = DEFAULT_SAMPLES[method] if samples is None else int(samples)
    factors = tuple(factors) if factors is not None else tuple(scenario_factors(scenario))
    headline = tuple(outputs) if outputs else tuple(resolve_outputs(scenario, None))
    evaluated = list(headline)
    if through_time:
        years = (
            through_time_outputs(scenario, through_time)
            if scenario is not None
            else [o for o in headline if o.indicator == through_time]
        )
        evaluated += [o for o in years if o not in evaluated]
    if seed is None:
        seed = int(scenario.runs.seed)
    if model is None and fixed_parameters:
        model = functools.partial(simulate_point, fixed_parameters=True)
    design = make_design(method, [f.name for f in factors], samples, seed, second_order)
    values = design_values(design, factors)
    timings["design_seconds"] = time.perf_counter() - started

    key = folder = None
    if out_root is not None:
        from sim.inputs.scenario_files import scenario_hash

        scenario_id = scenario_hash(scenario) if scenario is not None else "none"
        key = partial_key(
            scenario_id,
            method,
            samples,
            seed,
            evaluated,
            replicates_per_point=replicates_per_point,
            second_order=second_order,
            fixed_parameters=fixed_parameters,
            chunk_points=chunk_points(replicates_per_point),
            design=design.sha256(),
            model=_model_name(model),
        )
        name = scenario.name if scenario is not None else "analytic"
        folder = partial_folder(out_root, name, key)
        if restart:
            ChunkStore(folder).discard()
    evaluation = evaluate_replicates(
        scenario,
        values,
        replicates_per_point,
        seed,
        executor or workers,
        evaluated,
        model=model,
        partial_dir=folder,
        resume=resume,
        on_chunk_done=on_chunk_done,
    )
    timings["simulation_seconds"] = evaluation.seconds

    started = time.perf_counter()
    y = evaluation.means
    # Only delta's density estimates are slow enough to be worth starting worker processes.
    analysis_workers = workers if method == "delta" else 1
    indices, convergence = analyse_all(design, y, evaluated, seed=seed, workers=analysis_workers)
    noise = noise_table(evaluation.replicates, evaluated)
    notes = review(method, indices, convergence, noise, replicates_per_point)
    timings["analysis_seconds"] = time.perf_counter() - started
    return SensitivityResult(
        method=method,
        samples=samples,
        seed=seed,
        replicates_per_point=replicates_per_point,
        second_order=second_order,
        fixed_parameters=fixed_parameters,
        factors=factors,
        headline=headline,
        outputs=tuple(evaluated),
        through_time=through_time,
        design=design,
        evaluation=evaluation,
        indices=indices,
        convergence=convergence,
        noise=noise,
        warnings=notes,
        timings={k: round(v, 3) for k, v in timings.items()},
        partial_key=key,
    )


# ---------------------------------------------------------------------------------------------
# the results folder


def design_table(result: SensitivityResult) -> pd.DataFrame:
    """One row per design point: its factor values (the dummy as its unit coordinate), the
    replicate numbers it ran, and each output's mean — enough to re-analyse with any method.
    """
    values = design_values(result.design, result.factors)
    frame = pd.DataFrame(values, columns=[f.name for f in result.factors])
    frame.insert(0, "point", np.arange(result.design.points, dtype=np.int64))
    first = [point_replicates(v, result.replicates_per_point).start for v in values]
    frame["first_replicate"] = np.asarray(first, dtype=np.int64)
    means = result.evaluation.means
    for k, output in enumerate(result.outputs):
        frame[output.label] = means[:, k]
    return frame


def sensitivity_manifest(result: SensitivityResult, scenario=None) -> dict[str, Any]:
    """manifest.json contents (without `files` and `created_utc`, added when writing)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from sim import MODEL_VERSION, __version__

    try:
        salib_version = version("SALib")
    except PackageNotFoundError:  # pragma: no cover - metadata missing in odd installs
        salib_version = "unknown"
    manifest: dict[str, Any] = {
        "command": "sensitivity",
        "method": result.method,
        "samples": result.samples,
        "design_points": result.design.points,
        "second_order": result.second_order,
        "replicates_per_point": result.replicates_per_point,
        "simulations": result.design.points * result.replicates_per_point,
        "seed": result.seed,
        "other_parameters": (
            "central values" if result.fixed_parameters else "drawn per replicate from priors"
        ),
        "seeding": (
            "replicate r of a point uses numpy SeedSequence(seed, spawn_key=(r,)); a point runs "
            f"replicates b*R..b*R+R-1 with block b = floor(dummy * {NOISE_BLOCKS}), so points "
            "with the same dummy value share their random numbers (common random numbers)"
        ),
        "factors": [f.describe() for f in result.factors],
        "dummy": (
            f"'{DUMMY}' sets no model input; its value only picks the random numbers of the point. "
            "Its index is the noise floor: an index whose interval does not clear the dummy's "
            "cannot be told from the model's own randomness."
        ),
        "outputs": [o.label for o in result.headline],
        "through_time": result.through_time,
        "main_measure": result.main_measure,
        "conf": f"half-width of the {CONF_LEVEL:.0%} bootstrap confidence interval",
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES[result.method],
        "noise": {
            row.output: {
                "noise_share": row.noise_share,
                "dummy_floor": result.noise_floor(Output(*_split_label(row.output))),
            }
            for row in result.noise.itertuples()
        },
        "warnings": list(result.warnings),
        "convergence_samples": convergence_samples(result.design),
        "chunks": result.evaluation.chunks,
        "chunks_resumed": result.evaluation.chunks_resumed,
        "partial_key": result.partial_key,
        "package_version": __version__,
        "model_version": MODEL_VERSION,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "SALib": salib_version,
        },
        "timings": dict(result.timings),
    }
    if scenario is not None:
        from sim.inputs.parameters import registry_id
        from sim.inputs.scenario_files import scenario_hash

        manifest |= {
            "scenario": scenario.name,
            "title": scenario.title,
            "scenario_hash": scenario_hash(scenario),
            "calibration_id": registry_id(),
        }
    return manifest


def _split_label(label: str) -> tuple[str, int]:
    name, _, year = label.partition(":")
    return name, int(year)


def sensitivity_figures(
    result: SensitivityResult, title: str | None = None
) -> Iterator[tuple[str, bytes]]:
    """(relative path, PNG bytes) of every figure of a result."""
    from sim.ensemble.results import _render
    from sim.report import sensitivity_plots as plots

    floor_of = {o.label: result.noise_floor(o) for o in result.outputs}
    for output in result.headline:
        stem = f"{output.indicator}_{output.year}"
        yield (
            f"figures/indices_{stem}.png",
            _render(
                lambda o=output: plots.index_bars(
                    result.indices, o.indicator, o.year, result.method, title=title
                )
            ),
        )
        if result.method == "morris":
            yield (
                f"figures/morris_{stem}.png",
                _render(lambda o=output: plots.morris_scatter(result.indices, o.indicator, o.year)),
            )
        if result.second_order:
            yield (
                f"figures/second_order_{stem}.png",
                _render(
                    lambda o=output: plots.second_order_heatmap(result.indices, o.indicator, o.year)
                ),
            )
        yield (
            f"figures/convergence_{stem}.png",
            _render(
                lambda o=output: plots.convergence_chart(
                    result.convergence,
                    o.indicator,
                    o.year,
                    MAIN_MEASURE[result.method],
                    noise_floor=floor_of[o.label],
                )
            ),
        )
    if result.through_time:
        yield (
            f"figures/through_time_{result.through_time}.png",
            _render(
                lambda: plots.through_time_chart(
                    result.indices, result.through_time, MAIN_MEASURE[result.method]
                )
            ),
        )


def write_sensitivity_results(
    out_root: Path,
    scenario,
    result: SensitivityResult,
    *,
    make_figures: bool = True,
    manifest_extra: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Path:
    """Write `out_root/<name>/sensitivity-<run-id>/` atomically; returns its path.

    Contents: indices.csv (every index with its interval and noise-floor flag), convergence.csv,
    design.csv (points, factor values, output means), noise.csv, scenario.yaml, figures/*.png
    and manifest.json. CSV files are UTF-8 with BOM for Excel. After publishing, the job's
    `.partial` chunks are removed.
    """
    from sim.ensemble.results import _check_name, _utc, _write_result_folder, csv_bytes, make_run_id
    from sim.inputs.scenario_files import resolved_yaml, scenario_hash

    name = scenario.name if scenario is not None else "analytic"
    _check_name(name, "scenario name")
    created = _utc(now)
    digest = scenario_hash(scenario) if scenario is not None else hashlib.sha256(b"").hexdigest()
    run_id = "sensitivity-" + make_run_id(digest, created)
    manifest = sensitivity_manifest(result, scenario) | dict(manifest_extra or {})
    title = getattr(scenario, "title", None) or name

    def files() -> Iterator[tuple[str, bytes]]:
        yield "indices.csv", csv_bytes(result.indices)
        yield "convergence.csv", csv_bytes(result.convergence)
        yield "noise.csv", csv_bytes(result.noise)
        yield "design.csv", csv_bytes(design_table(result))
        if scenario is not None:
            yield "scenario.yaml", resolved_yaml(scenario).encode("utf-8")
        if make_figures:
            yield from sensitivity_figures(result, title)

    folder = _write_result_folder(Path(out_root) / name, run_id, files, manifest, created)
    if result.partial_key is not None:
        partial = partial_folder(out_root, name, result.partial_key)
        shutil.rmtree(partial, ignore_errors=True)
        for parent in (partial.parent, partial.parent.parent):
            try:
                parent.rmdir()  # only if empty: other jobs' chunks stay
            except OSError:
                break
    return folder
