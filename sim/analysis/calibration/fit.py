"""Calibration of the model to the reported figures (DESIGN §4): method of simulated moments with
common random numbers, then posterior draws (a quasi-posterior of the MSM objective, or ABC-SMC).

What is fitted: the parameters of kind `calibrated` in `calibration/parameters.yaml` (but those
`targets.yaml` lists under `not_fitted`, with the reason: `demand_shock_sd`) and the three
fitted drivers of the hindcast (`calibration/history_drivers.yaml`: demand growth at home and
abroad, growth of output per worker, 2020-2024). Every other parameter is drawn from its prior in
every replicate, as in forecast runs, so the fit is marginal over them.

Against what: the moments of `calibration/targets.yaml` (`load_targets`): the 2020-2024 annual
production, exports, employment and firm counts of the complex, and the smart-factory effects
measured as the ministry measured them (adopters against matched non-adopters,
`sim.analysis.hindcast`). Each moment's miss is standardized by its tolerance: z = (simulated /
observed - 1) / tolerance for levels, (simulated - observed) / tolerance for effects.

How, in three steps (`calibrate`):
1. Global search. A scrambled Sobol' sample over the prior box; at each point the same
   `crn_replicates` replicates (same seeds: common random numbers, so two points differ by their
   parameters, not their luck) are simulated and the MSM objective J = sum of squared z of the
   replicate mean is computed.
2. Local search. Nelder-Mead from the best Sobol' point on the same CRN objective. Its minimum is
   the point estimate (`fit.json`: `estimate`), used by `--fixed-parameters` runs.
3. Posterior. By default the Laplace-type quasi-posterior of the same objective (Chernozhukov
   and Hong 2003), prior x exp(-J / 2k), with k >= 1 widening it by the misfit the estimate
   leaves, drawn by adaptive importance sampling around the estimate (`quasi_posterior`): the
   tolerances of `targets.yaml` act as the moments' standard errors, as they are meant.
   Alternatively (`posterior="abc"`) ABC-SMC (Toni et al. 2009; Beaumont et al. 2009): a first
   generation by defensive importance sampling around the estimate, then generations that
   perturb weighted particles and keep those whose single-replicate moments, with fresh seeds,
   lie within epsilon in root-mean-square z. Why the default is not ABC-SMC: a replicate's annual
   production carries about 4% of the model's own noise (demand shocks, parameters drawn from
   their priors, uncertain drivers), so single-replicate ABC weighs the 2024 level, which the
   design requires within 1%, no more than that noise allows, and at the epsilon an affordable
   budget reaches (about 2.5 z) its posterior still leans on the prior: its hindcast median of
   2024 production missed by 1.1%. The quasi-posterior fits the replicate means, as the MSM
   estimate does, and keeps the process noise where it belongs, in the simulations. Weighted
   draws are written to `posterior_draws.csv`; runs draw from them.
4. Level. The objective averages a handful of replicates, whose shocks leave the fitted 2024
   level about 1.3% from its expectation; one common shift of the hindcast-only domestic demand
   growth puts the posterior-predictive median of 2024 production within the required 1%
   (`recentre_level`). Forecast runs never use that driver.

All randomness comes from the settings' seed: the CRN replicates use seed S, ABC simulations seed
S + 1 (replicate numbers counted up), predictive runs seed S + 2, and the proposals a generator of
seed S + 3. Work is done in fixed batches whose results are taken in order, so the outputs do not
depend on the number of workers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import minimize
from scipy.stats import qmc

from sim.analysis.hindcast import (
    EFFECTS,
    EffectDesign,
    annual_indicator,
    base_year_totals,
    load_drivers,
    run_hindcast,
)
from sim.analysis.history import load_history
from sim.ensemble.execution import make_executor
from sim.inputs.parameters import load_registry, triangular
from sim.inputs.paths import CALIBRATION_DIR

TARGETS_FILE = CALIBRATION_DIR / "targets.yaml"
MISSING_Z = 30.0  # standardized miss counted for a moment the simulation could not measure
SMART_FACTORY = "smart_factory"


# --- targets --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    """One target: a reported figure, how the model's counterpart is measured, its tolerance."""

    key: str  # e.g. "production_krw:2024" or "smart_factory:productivity"
    group: str  # the indicator name, or "smart_factory"
    year: int | None  # None for the smart-factory effects
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
    for m in moments:
        if not (m.tolerance > 0 and math.isfinite(m.observed)):
            raise ValueError(f"{path}: {m.key}: tolerance must be positive, value finite")
    design = EffectDesign(int(smart["lag_months"]), int(smart["window_months"]))
    not_fitted = {
        str(k): " ".join(str(v).split()) for k, v in (raw.get("not_fitted") or {}).items()
    }
    return Targets(
        tuple(moments), design, tuple(raw.get("required", ())), raw.get("checks", {}), not_fitted
    )


def moment_values(run, targets: Targets, scale: float = 1.0) -> np.ndarray:
    """The simulated counterparts of the targets in one hindcast replicate; levels are multiplied
    by `scale` (the full population over a reduced one, in tests)."""
    out = np.empty(len(targets.moments))
    for k, m in enumerate(targets.moments):
        if m.group == SMART_FACTORY:
            out[k] = run.effects.get(m.key.split(":", 1)[1], float("nan"))
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
    where: str  # "model" (a field of sim.inputs.parameters.Parameters) or "hindcast" (a driver)
    unit: str
    source: str

    @property
    def width(self) -> float:
        return self.high - self.low


def free_parameters(names: Sequence[str] | None = None) -> tuple[FreeParameter, ...]:
    """The fitted parameters: registry entries of kind `calibrated` (but those `targets.yaml`
    lists as not identified), then the fitted drivers of the hindcast; or those named (in the
    order given)."""
    available: dict[str, FreeParameter] = {}
    for spec in load_registry().values():
        if spec.kind == "calibrated":
            available[spec.name] = FreeParameter(
                spec.name, spec.low, spec.value, spec.high, "model", spec.unit, spec.source
            )
    for prior in load_drivers().growth_priors.values():
        available[prior.name] = FreeParameter(
            prior.name, prior.low, prior.value, prior.high, "hindcast", prior.unit, prior.source
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


# --- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything a calibration depends on besides the data files."""

    seed: int = 20240601
    crn_replicates: int = 8  # replicates per candidate in the MSM objective
    sobol_points: int = 128  # global search (a power of two)
    local_evaluations: int = 100  # Nelder-Mead budget
    particles: int = 250  # ABC-SMC population size
    generations: int = 6  # ABC-SMC generations after the first
    quantile: float = 0.5  # epsilon of a generation: this quantile of the previous distances
    min_acceptance: float = 0.08  # stop when a generation accepts fewer proposals than this
    batch: int = 64  # ABC proposals simulated at a time
    abc_budget: int = 4500  # ABC simulations at most; a generation that would exceed it is dropped
    predictive_replicates: int = 200  # posterior-predictive hindcast replicates
    firms: int | None = None  # None: the full population of the base year
    end: str | None = None  # last month of the hindcast (None: the drivers' end)
    parameters: tuple[str, ...] | None = None  # None: every fitted parameter
    groups: tuple[str, ...] | None = None  # target groups; None: all
    fixed_nuisance: bool = False  # other parameters at their prior modes (tests)
    fixed_drivers: bool = False  # uncertain drivers at their central values (tests)
    identification: bool = True  # report the moment sensitivities at the estimate
    posterior: str = "quasi"  # "quasi" (Laplace-type, importance sampling) or "abc" (ABC-SMC)
    quasi_proposals: int = 300  # proposals per importance-sampling round
    quasi_rounds: int = 2  # rounds; each refits the proposal to the weighted sample so far

    def options(self, measure_effects: bool) -> dict:
        return {
            "firms": self.firms,
            "end": self.end,
            "fixed_nuisance": self.fixed_nuisance,
            "fixed_drivers": self.fixed_drivers,
            "measure_effects": measure_effects,
        }


PRESETS: dict[str, Settings] = {
    "full": Settings(),
    # A smoke test of the whole pipeline in seconds: not a fit to quote.
    "quick": Settings(
        crn_replicates=2,
        sobol_points=8,
        local_evaluations=12,
        particles=24,
        generations=1,
        batch=24,
        predictive_replicates=8,
        quasi_proposals=16,
        firms=150,
        end="2022-12",
    ),
}


# --- running simulations --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    """One hindcast replicate to simulate and measure."""

    theta: dict[str, float]
    seed: int
    replicate: int
    options: dict
    targets: Targets
    keep_indicators: bool = False


def simulate(task: Task):
    """Moments of one replicate (and its monthly indicators when asked). Runs in workers."""
    run = run_hindcast(task.theta, task.seed, task.replicate, **task.options)
    firms = task.options.get("firms")
    scale = base_year_totals()["firms"] / firms if firms else 1.0
    values = moment_values(run, task.targets, scale)
    return (values, run.indicators) if task.keep_indicators else values


class Workers:
    """The executor of `sim.ensemble.execution` (local processes, or a Dask cluster with
    `scheduler`)
    that simulates for a whole calibration, kept open between optimiser steps."""

    def __init__(self, workers: int = 1, scheduler: str | None = None) -> None:
        self.workers = max(1, int(workers))
        self.executor = make_executor(self.workers, scheduler)
        self.description = self.executor.description
        self.simulations = 0

    def map(self, function: Callable, tasks: Sequence) -> list:
        """`function(task)` for every task, results in task order."""
        self.simulations += len(tasks)
        results: list = [None] * len(tasks)
        self.executor.run(function, [(task,) for task in tasks], results.__setitem__)
        return results

    def close(self) -> None:
        self.executor.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Problem:
    """The fit: free parameters, targets, settings and the workers that simulate."""

    def __init__(
        self,
        free: Sequence[FreeParameter],
        targets: Targets,
        settings: Settings,
        workers: Workers,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.free = tuple(free)
        self.targets = targets
        self.settings = settings
        self.workers = workers
        self.progress = progress or (lambda stage, done, total: None)
        self.low = np.array([p.low for p in self.free])
        self.high = np.array([p.high for p in self.free])
        self.options = settings.options(targets.needs_effects())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.free)

    def theta(self, row: np.ndarray) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.names, row, strict=True)}

    def to_unit(self, theta: np.ndarray) -> np.ndarray:
        return (theta - self.low) / (self.high - self.low)

    def from_unit(self, x: np.ndarray) -> np.ndarray:
        return self.low + np.clip(x, 0.0, 1.0) * (self.high - self.low)

    def crn_moments(self, thetas: np.ndarray) -> np.ndarray:
        """(points, crn_replicates, moments) with the same seeds at every point."""
        s = self.settings
        tasks = [
            Task(self.theta(row), s.seed, r, self.options, self.targets)
            for row in np.atleast_2d(thetas)
            for r in range(s.crn_replicates)
        ]
        values = np.array(self.workers.map(simulate, tasks))
        return values.reshape(len(np.atleast_2d(thetas)), s.crn_replicates, -1)

    def objective(self, values: np.ndarray) -> np.ndarray:
        """MSM objective of (points, replicates, moments): squared z of the replicate means."""
        return (self.targets.z(nan_mean(values, axis=-2)) ** 2).sum(axis=-1)

    def distance(self, values: np.ndarray) -> np.ndarray:
        """ABC distance of single-replicate moments (..., moments): root-mean-square z."""
        return np.sqrt((self.targets.z(values) ** 2).mean(axis=-1))


def nan_mean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over `axis` ignoring NaN; NaN (silently) where every value is NaN."""
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# --- 1. global search -----------------------------------------------------------------------------


@dataclass
class Search:
    points: np.ndarray  # (evaluations, parameters)
    objective: np.ndarray  # (evaluations,)
    stage: np.ndarray  # (evaluations,) 0 = Sobol', 1 = Nelder-Mead
    best: np.ndarray  # the estimate
    best_objective: float
    best_moments: np.ndarray  # (crn_replicates, moments) at the estimate
    seconds: dict[str, float]


def global_search(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A scrambled Sobol' sample over the prior box: (points, objectives, mean moments)."""
    s = problem.settings
    sampler = qmc.Sobol(d=len(problem.free), scramble=True, seed=s.seed)
    exponent = max(1, math.ceil(math.log2(max(2, s.sobol_points))))
    x = sampler.random_base2(exponent)[: s.sobol_points]
    points = problem.from_unit(x)
    objective = np.empty(len(points))
    chunk = max(1, 64 // max(1, s.crn_replicates))
    for start in range(0, len(points), chunk):
        values = problem.crn_moments(points[start : start + chunk])
        objective[start : start + chunk] = problem.objective(values)
        problem.progress("global search", min(start + chunk, len(points)), len(points))
    return points, objective


def local_search(problem: Problem, start: np.ndarray) -> tuple[np.ndarray, list, list]:
    """Nelder-Mead on the CRN objective from `start`, in unit-box coordinates (clipped to the
    box). Returns the best point and every evaluated point with its objective."""
    s = problem.settings
    p = len(problem.free)
    x0 = problem.to_unit(start)
    # Initial simplex: 10% of the prior box along each axis, pointing inward near a bound.
    simplex = [x0]
    for j in range(p):
        step = np.zeros(p)
        step[j] = 0.1 if x0[j] <= 0.9 else -0.1
        simplex.append(np.clip(x0 + step, 0.0, 1.0))
    seen_x: list[np.ndarray] = []
    seen_f: list[float] = []
    memo: dict[bytes, float] = {}

    def f(x: np.ndarray) -> float:
        x = np.clip(x, 0.0, 1.0)
        key = np.round(x, 12).tobytes()
        if key not in memo:
            value = float(problem.objective(problem.crn_moments(problem.from_unit(x)[None]))[0])
            memo[key] = value
            seen_x.append(problem.from_unit(x))
            seen_f.append(value)
            problem.progress(
                "local search", min(len(memo), s.local_evaluations), s.local_evaluations
            )
        return memo[key]

    if s.local_evaluations > 0:
        result = minimize(
            f,
            x0,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * p,
            options={
                "maxfev": s.local_evaluations,
                "initial_simplex": np.array(simplex),
                "xatol": 1e-3,
                "fatol": 1e-3,
            },
        )
        best = problem.from_unit(np.clip(result.x, 0.0, 1.0))
    else:
        best = start
    return best, seen_x, seen_f


# --- 3. posterior by ABC-SMC ----------------------------------------------------------------------


@dataclass
class Generation:
    epsilon: float
    proposed: int
    accepted: int
    ess: float


@dataclass
class Posterior:
    """Weighted particles of the fitted parameters."""

    names: tuple[str, ...]
    theta: np.ndarray  # (particles, parameters)
    weight: np.ndarray  # (particles,), sums to one
    distance: np.ndarray  # (particles,)
    moments: np.ndarray  # (particles, moments): each particle's accepted simulation
    generations: list[Generation]
    method: str = "abc"  # "abc": generations are ABC-SMC's; "quasi": importance rounds

    @property
    def ess(self) -> float:
        return float(1.0 / (self.weight**2).sum())

    def quantile(self, q: float) -> np.ndarray:
        return np.array([weighted_quantile(col, self.weight, q) for col in self.theta.T])

    def mean(self) -> np.ndarray:
        return self.weight @ self.theta


def weighted_quantile(values: np.ndarray, weight: np.ndarray, q: float) -> float:
    """Quantile of weighted values (midpoint interpolation of the weighted CDF)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weight[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cdf, v))


def abc_smc(
    problem: Problem,
    log: Callable[[str], None] | None = None,
    center: np.ndarray | None = None,
) -> Posterior:
    """ABC-SMC (population Monte Carlo) for the free parameters; see the module docstring.

    With `center` (the MSM estimate), generation 0 is drawn by defensive importance sampling
    rather than from the prior alone: half the proposals from the prior, half from a Gaussian
    around the estimate (sd `CENTER_SD` of each prior range, cut to the box), weighted by prior
    over proposal density. The prior half keeps every region reachable; the other half spends the
    simulations where the data point, so the same budget reaches a smaller epsilon.
    """
    s = problem.settings
    log = log or (lambda message: None)
    rng = np.random.default_rng([s.seed, 3])
    n, p = s.particles, len(problem.free)
    counter = 0  # replicate numbers of seed S + 1, one per simulation

    def simulate_rows(rows: np.ndarray) -> np.ndarray:
        nonlocal counter
        tasks = [
            Task(problem.theta(row), s.seed + 1, counter + k, problem.options, problem.targets)
            for k, row in enumerate(rows)
        ]
        counter += len(rows)
        return np.array(problem.workers.map(simulate, tasks))

    # Generation 0: twice the population proposed, the closer half kept.
    first, first_weight = initial_proposals(problem, rng, 2 * n, center)
    values = np.empty((2 * n, len(problem.targets.moments)))
    for start in range(0, 2 * n, s.batch):
        values[start : start + s.batch] = simulate_rows(first[start : start + s.batch])
        problem.progress("posterior, generation 0", min(start + s.batch, 2 * n), 2 * n)
    distance = problem.distance(values)
    keep = np.argsort(distance, kind="stable")[:n]
    theta, moments, distance = first[keep], values[keep], distance[keep]
    weight = first_weight[keep] / first_weight[keep].sum()
    generations = [Generation(float(distance.max()), 2 * n, n, float(1 / (weight**2).sum()))]
    log(f"ABC generation 0: epsilon {distance.max():.3f}, {n} of {2 * n} kept")

    for g in range(1, s.generations + 1):
        epsilon = weighted_quantile(distance, weight, s.quantile)
        x = problem.to_unit(theta)
        mean = weight @ x
        cov = 2.0 * ((x - mean).T * weight) @ (x - mean) + 1e-10 * np.eye(p)
        chol = np.linalg.cholesky(cov)
        inverse = np.linalg.inv(cov)
        norm = 1.0 / math.sqrt((2 * math.pi) ** p * np.linalg.det(cov))
        new_theta, new_values, new_distance = [], [], []
        proposed = 0
        while len(new_theta) < n:
            # Proposals: weighted particles perturbed, redrawn until inside the prior box.
            rows = np.empty((s.batch, p))
            filled = 0
            while filled < s.batch:
                pick = rng.choice(n, size=s.batch, p=weight)
                candidate = x[pick] + rng.standard_normal((s.batch, p)) @ chol.T
                inside = candidate[((candidate >= 0) & (candidate <= 1)).all(axis=1)]
                take = min(len(inside), s.batch - filled)
                rows[filled : filled + take] = inside[:take]
                filled += take
            batch_theta = problem.from_unit(rows)
            batch_values = simulate_rows(batch_theta)
            batch_distance = problem.distance(batch_values)
            for k in range(s.batch):
                proposed += 1
                if batch_distance[k] <= epsilon:
                    new_theta.append(batch_theta[k])
                    new_values.append(batch_values[k])
                    new_distance.append(batch_distance[k])
                    if len(new_theta) == n:
                        break
            problem.progress(f"posterior, generation {g}", len(new_theta), n)
            if proposed >= s.batch and len(new_theta) / proposed < s.min_acceptance / 2:
                break  # hopeless at this epsilon: stop with the previous generation
            if counter >= s.abc_budget:
                break  # out of budget: stop with the previous generation
        acceptance = len(new_theta) / proposed
        if len(new_theta) < n:
            log(
                f"ABC generation {g}: stopped at epsilon {epsilon:.3f} (acceptance "
                f"{acceptance:.3f}, {counter} simulations); the previous generation is kept"
            )
            break
        new_theta = np.array(new_theta)
        new_x = problem.to_unit(new_theta)
        # Importance weights: prior over the mixture of perturbation kernels.
        diff = new_x[:, None, :] - x[None, :, :]
        kernel = norm * np.exp(-0.5 * np.einsum("abi,ij,abj->ab", diff, inverse, diff))
        new_weight = prior_density(problem.free, new_theta) / (kernel @ weight)
        new_weight /= new_weight.sum()
        theta, moments = new_theta, np.array(new_values)
        distance, weight = np.array(new_distance), new_weight
        generations.append(Generation(float(epsilon), proposed, n, float(1 / (weight**2).sum())))
        log(
            f"ABC generation {g}: epsilon {epsilon:.3f}, acceptance {acceptance:.2f}, "
            f"ESS {1 / (weight**2).sum():.0f}"
        )
        if acceptance < s.min_acceptance:
            break
    return Posterior(problem.names, theta, weight, distance, moments, generations)


CENTER_SD = 0.1  # sd of generation 0's Gaussian proposals, as a share of each prior range


def initial_proposals(
    problem: Problem, rng: np.random.Generator, count: int, center: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Generation 0's proposals and their importance weights (prior over proposal density)."""
    from scipy.stats import norm

    p = len(problem.free)
    prior_rows = prior_sample(problem.free, rng.random((count, p)))
    if center is None:
        return prior_rows, np.ones(count)
    x0 = problem.to_unit(np.asarray(center, dtype=float))
    near = np.empty((count, p))
    filled = 0
    while filled < count:
        candidate = x0 + CENTER_SD * rng.standard_normal((count, p))
        inside = candidate[((candidate >= 0) & (candidate <= 1)).all(axis=1)]
        take = min(len(inside), count - filled)
        near[filled : filled + take] = inside[:take]
        filled += take
    from_prior = rng.random(count) < 0.5
    rows = np.where(from_prior[:, None], prior_rows, problem.from_unit(near))
    # Proposal density in parameter units: the mixture of the prior and the cut Gaussian.
    x = problem.to_unit(rows)
    inside_mass = np.prod(norm.cdf((1 - x0) / CENTER_SD) - norm.cdf(-x0 / CENTER_SD))
    gaussian = np.prod(norm.pdf((x - x0) / CENTER_SD) / CENTER_SD, axis=1) / inside_mass
    gaussian /= np.prod(problem.high - problem.low)
    prior = prior_density(problem.free, rows)
    return rows, prior / (0.5 * prior + 0.5 * gaussian)


def quasi_posterior(
    problem: Problem,
    best: np.ndarray,
    best_objective: float,
    sensitivity: np.ndarray,
    log: Callable[[str], None] | None = None,
) -> Posterior:
    """The Laplace-type quasi-posterior of the MSM objective (Chernozhukov and Hong 2003),
    prior(theta) x exp(-J(theta) / 2k), drawn by adaptive importance sampling around the estimate.

    J is the CRN objective of the fit: squared misses of the replicate means, each in units of its
    tolerance, so the tolerances act as the moments' standard errors, as `targets.yaml` means
    them. k = max(1, J(estimate) / (moments - parameters)) widens the posterior when the model
    misses by more than the tolerances allow (as in nonlinear least squares, whose standard errors
    scale with the residual variance): an honest allowance for misfit rather than a claim of
    precision the fit does not have.

    Proposals: 90% from a Gaussian around the estimate, cut to the prior box, with twice the
    covariance the local sensitivities imply (Gauss-Newton: precision 100 S'S / k in unit-box
    coordinates, S in z per tenth of a range, plus a prior precision of 16); 10% from the prior,
    so no region is out of reach. Each later round centres the Gaussian on the weighted sample
    so far and takes twice its covariance. All rounds' proposals are weighted by prior x
    exp(-J / 2k) over the mixture of every round's proposal density (deterministic-mixture
    weights), so every evaluation counts.
    """
    s = problem.settings
    log = log or (lambda message: None)
    rng = np.random.default_rng([s.seed, 3])
    p, m = len(problem.free), len(problem.targets.moments)
    scale = max(1.0, best_objective / max(1, m - p))
    precision = 100.0 * sensitivity.T @ sensitivity / scale + 16.0 * np.eye(p)
    center, cov = problem.to_unit(best), 2.0 * np.linalg.inv(precision)
    proposals: list[tuple[np.ndarray, np.ndarray, float, int]] = []  # center, cov, mass, count
    rows_all, objective_all, moments_all = [], [], []
    generations = []
    for round_ in range(s.quasi_rounds):
        rows, mass = gaussian_or_prior(problem, rng, s.quasi_proposals, center, cov)
        proposals.append((center, cov, mass, s.quasi_proposals))
        values = []
        for start in range(0, len(rows), max(1, 64 // s.crn_replicates)):
            chunk = rows[start : start + max(1, 64 // s.crn_replicates)]
            values.append(problem.crn_moments(chunk))
            problem.progress(f"posterior, round {round_ + 1}", start + len(chunk), len(rows))
        values = np.concatenate(values)
        rows_all.append(rows)
        objective_all.append(problem.objective(values))
        moments_all.append(nan_mean(values, axis=1))
        theta = np.concatenate(rows_all)
        objective = np.concatenate(objective_all)
        log_target = np.log(prior_density(problem.free, theta) + 1e-300) - objective / (2 * scale)
        mixture = sum(
            count * proposal_density(problem, theta, c, v, q) for c, v, q, count in proposals
        ) / sum(count for *_, count in proposals)
        log_weight = log_target - np.log(mixture + 1e-300)
        weight = np.exp(log_weight - log_weight.max())
        weight /= weight.sum()
        ess = float(1 / (weight**2).sum())
        generations.append(Generation(scale, len(theta), int((weight > 1e-8).sum()), ess))
        log(f"quasi-posterior round {round_ + 1}: {len(theta)} proposals, ESS {ess:.0f}")
        x = problem.to_unit(theta)
        center = weight @ x
        cov = 2.0 * ((x - center).T * weight) @ (x - center) + 1e-6 * np.eye(p)
    keep = weight > 1e-8 * weight.max()
    moments = np.concatenate(moments_all)
    return Posterior(
        problem.names,
        theta[keep],
        weight[keep] / weight[keep].sum(),
        objective[keep],
        moments[keep],
        generations,
        method="quasi",
    )


def gaussian_or_prior(
    problem: Problem, rng: np.random.Generator, count: int, center: np.ndarray, cov: np.ndarray
) -> tuple[np.ndarray, float]:
    """`count` proposals: 90% Gaussian(center, cov) in unit-box coordinates cut to the box, 10%
    from the prior; returns the rows and the Gaussian's probability mass inside the box."""
    p = len(center)
    chol = np.linalg.cholesky(cov)
    near = np.empty((count, p))
    filled = drawn = 0
    while filled < count:
        candidate = center + rng.standard_normal((count, p)) @ chol.T
        drawn += count
        inside = candidate[((candidate >= 0) & (candidate <= 1)).all(axis=1)]
        take = min(len(inside), count - filled)
        near[filled : filled + take] = inside[:take]
        filled += take
        if drawn > 1000 * count:
            raise RuntimeError("proposal distribution lies outside the prior box")
    mass = max(filled / drawn, 1e-12)
    from_prior = rng.random(count) < 0.1
    prior_rows = prior_sample(problem.free, rng.random((count, p)))
    rows = np.where(from_prior[:, None], prior_rows, problem.from_unit(near))
    return rows, mass


def proposal_density(
    problem: Problem, theta: np.ndarray, center: np.ndarray, cov: np.ndarray, mass: float
) -> np.ndarray:
    """Density of `gaussian_or_prior` at parameter rows `theta` (parameter units)."""
    x = problem.to_unit(theta)
    diff = x - center
    inverse = np.linalg.inv(cov)
    quad = np.einsum("ai,ij,aj->a", diff, inverse, diff)
    gaussian = np.exp(-0.5 * quad) / math.sqrt((2 * math.pi) ** len(center) * np.linalg.det(cov))
    inside = ((x >= 0) & (x <= 1)).all(axis=1)
    gaussian = np.where(inside, gaussian / mass, 0.0) / np.prod(problem.high - problem.low)
    return 0.9 * gaussian + 0.1 * prior_density(problem.free, theta)


# --- posterior predictive -------------------------------------------------------------------------


def systematic_resample(weight: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `count` draws by weight, with little resampling noise."""
    positions = (rng.random() + np.arange(count)) / count
    return np.minimum(np.searchsorted(np.cumsum(weight), positions), len(weight) - 1)


def predictive(
    problem: Problem,
    names: Sequence[str],
    theta: np.ndarray,
    weight: np.ndarray,
    count: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hindcast replicates with parameters drawn from weighted rows (fresh seeds, priors for the
    rest, drivers drawn): (chosen rows, moments (count, M), indicators (count, T, I))."""
    rng = np.random.default_rng([seed, 4])
    rows = systematic_resample(weight / weight.sum(), count, rng)
    tasks = [
        Task(
            {n: float(v) for n, v in zip(names, theta[row], strict=True)},
            seed,
            k,
            problem.options,
            problem.targets,
            keep_indicators=True,
        )
        for k, row in enumerate(rows)
    ]
    results = []
    for start in range(0, count, 64):
        results += problem.workers.map(simulate, tasks[start : start + 64])
        problem.progress("posterior predictive", min(start + 64, count), count)
    moments = np.array([r[0] for r in results])
    indicators = np.array([r[1] for r in results])
    return rows, moments, indicators


LEVEL_DRIVER = "hindcast_domestic_growth"


def recentre_level(
    problem: Problem, posterior: Posterior, log: Callable[[str], None] | None = None
) -> tuple[Posterior, np.ndarray, np.ndarray, float]:
    """The posterior-predictive hindcast, with the required level met in its median.

    The fit's objective averages `crn_replicates` replicates; their shocks leave the mean of a
    level about 4% / sqrt(replicates) away from its expectation (1.3% with 8), more than the 1%
    the design allows for 2024 production. So after the posterior is drawn, one common shift of
    the hindcast-only domestic demand growth (`LEVEL_DRIVER`; forecast runs never use it) is
    found by the secant method such that the posterior-predictive median (fresh seeds, the same
    ones at every step) of each `required` target lies within its bound, to a tenth of it. The
    shift is recorded; draws stay inside the prior range. Returns the shifted posterior, the
    predictive moments and indicators, and the shift.
    """
    s = problem.settings
    log = log or (lambda message: None)
    required = [
        (problem.targets.keys.index(f"{r['indicator']}:{r['year']}"), float(r["within"]))
        for r in problem.targets.required
        if f"{r['indicator']}:{r['year']}" in problem.targets.keys
    ]
    column = problem.names.index(LEVEL_DRIVER) if LEVEL_DRIVER in problem.names else None
    low, high = problem.low[column or 0], problem.high[column or 0]

    def run(shift: float):
        theta = posterior.theta.copy()
        if column is not None:
            theta[:, column] = np.clip(theta[:, column] + shift, low, high)
        _, moments, indicators = predictive(
            problem, posterior.names, theta, posterior.weight, s.predictive_replicates, s.seed + 2
        )
        k, _ = required[0] if required else (0, 0.0)
        error = float(np.nanmedian(moments[:, k]) / problem.targets.moments[k].observed - 1)
        return theta, moments, indicators, error

    theta, moments, indicators, error = run(0.0)
    shift = 0.0
    if column is None or not required:
        return posterior, moments, indicators, shift
    within = required[0][1]
    previous = None
    for _ in range(4):
        if abs(error) <= 0.1 * within:
            break
        # Secant step; the first uses the 2024 level's rough elasticity to domestic growth
        # (four years of growth on about 60% of demand).
        slope = (error - previous[1]) / (shift - previous[0]) if previous else 2.4
        if slope <= 0:
            break
        previous = (shift, error)
        shift -= error / slope
        theta, moments, indicators, error = run(shift)
    log(
        f"level re-centred: {LEVEL_DRIVER} shifted by {shift:+.4f} a year; predictive median of "
        f"{problem.targets.keys[required[0][0]]} off by {100 * error:+.2f}%"
    )
    return dataclasses.replace(posterior, theta=theta), moments, indicators, shift


def identification(problem: Problem, estimate: np.ndarray) -> np.ndarray:
    """(moments, parameters): how far each moment's CRN mean moves, in tolerance units, when a
    parameter moves by a tenth of its prior range around the estimate (central differences)."""
    p = len(problem.free)
    h = 0.05
    x = problem.to_unit(estimate)
    rows, steps = [], []
    for j in range(p):
        up, down = x.copy(), x.copy()
        up[j], down[j] = min(1.0, x[j] + h), max(0.0, x[j] - h)
        rows += [problem.from_unit(up), problem.from_unit(down)]
        steps.append(up[j] - down[j])
    values = problem.crn_moments(np.array(rows))
    z = problem.targets.z(nan_mean(values, axis=1))
    z = z.reshape(p, 2, -1)
    return ((z[:, 0] - z[:, 1]) / np.array(steps)[:, None] * 0.1).T


# --- the whole calibration ------------------------------------------------------------------------


@dataclass
class Fit:
    """Everything a calibration produces (written by
    `sim.analysis.calibration.report.write_fit`)."""

    settings: Settings
    free: tuple[FreeParameter, ...]
    targets: Targets
    search: Search
    posterior: Posterior
    predictive_moments: np.ndarray  # (replicates, moments)
    predictive_indicators: np.ndarray  # (replicates, months, indicators)
    months: np.ndarray
    identification: np.ndarray | None  # (moments, parameters)
    seconds: dict[str, float]
    simulations: int
    workers: int
    log: list[str] = field(default_factory=list)
    level_shift: float = 0.0  # common shift of LEVEL_DRIVER in the posterior (recentre_level)

    @property
    def estimate(self) -> dict[str, float]:
        return {p.name: float(v) for p, v in zip(self.free, self.search.best, strict=True)}


def calibrate(
    settings: Settings,
    workers: int = 1,
    targets: Targets | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
    scheduler: str | None = None,
) -> Fit:
    """Run the three steps and the posterior-predictive hindcast; nothing is written here.
    With `scheduler`, simulations run on that Dask cluster instead of `workers` processes."""
    from sim.analysis.hindcast import load_drivers

    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        if log:
            log(message)

    through = int(settings.end[:4]) if settings.end else None
    targets = (targets or load_targets()).select(settings.groups, through)
    free = free_parameters(settings.parameters)
    seconds: dict[str, float] = {}
    with Workers(workers, scheduler) as pool:
        problem = Problem(free, targets, settings, pool, progress)
        started = time.perf_counter()
        points, objective = global_search(problem)
        seconds["global_search"] = time.perf_counter() - started
        start = points[int(np.argmin(objective))]
        note(f"global search: {len(points)} points, best objective {objective.min():.2f}")

        started = time.perf_counter()
        best, local_x, local_f = local_search(problem, start)
        seconds["local_search"] = time.perf_counter() - started
        best_moments = problem.crn_moments(best[None])[0]
        best_objective = float(problem.objective(best_moments[None])[0])
        if best_objective > objective.min():  # Nelder-Mead never loses the Sobol' optimum
            best = start
            best_moments = problem.crn_moments(best[None])[0]
            best_objective = float(problem.objective(best_moments[None])[0])
        note(f"local search: {len(local_f)} evaluations, objective {best_objective:.2f}")
        search = Search(
            points=np.vstack([points, np.array(local_x).reshape(-1, len(free))]),
            objective=np.concatenate([objective, local_f]),
            stage=np.concatenate([np.zeros(len(points)), np.ones(len(local_f))]),
            best=best,
            best_objective=best_objective,
            best_moments=best_moments,
            seconds={},
        )

        started = time.perf_counter()
        sensitivity = identification(problem, best)
        seconds["identification"] = time.perf_counter() - started

        started = time.perf_counter()
        if settings.posterior == "abc":
            posterior = abc_smc(problem, note, center=best)
        elif settings.posterior == "quasi":
            posterior = quasi_posterior(problem, best, best_objective, sensitivity, note)
        else:
            raise ValueError(f"unknown posterior method: {settings.posterior}")
        seconds["posterior"] = time.perf_counter() - started

        started = time.perf_counter()
        posterior, moments, indicators, level_shift = recentre_level(problem, posterior, note)
        seconds["predictive"] = time.perf_counter() - started

        simulations = pool.simulations
    drivers = load_drivers()
    months = np.arange(
        int(drivers.start[:4]) * 12 + int(drivers.start[5:]) - 1,
        int(drivers.start[:4]) * 12 + int(drivers.start[5:]) - 1 + indicators.shape[1],
    )
    return Fit(
        settings=settings,
        free=free,
        targets=targets,
        search=search,
        posterior=posterior,
        predictive_moments=moments,
        predictive_indicators=indicators,
        months=months,
        identification=sensitivity if settings.identification else None,
        seconds=seconds,
        simulations=simulations,
        workers=workers,
        log=messages,
        level_shift=level_shift,
    )


def settings_hash(settings: Settings) -> str:
    text = repr(sorted(dataclasses.asdict(settings).items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def input_hashes() -> dict[str, str]:
    """Hashes of the data files a fit depends on (recorded in fit.json)."""
    names = (
        "parameters.yaml",
        "population.yaml",
        "complex_annual.yaml",
        "targets.yaml",
        "history_drivers.yaml",
    )
    return {
        name: hashlib.sha256((CALIBRATION_DIR / name).read_bytes()).hexdigest()[:16]
        for name in names
    }


def read_posterior_table(
    directory: Path = CALIBRATION_DIR,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """All columns of a written posterior (model parameters and fitted drivers):
    (names, values (draws, names), weights)."""
    from sim.inputs.parameters import POSTERIOR_FILE

    path = Path(directory) / POSTERIOR_FILE
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    weight = table[:, 1]
    return tuple(header[2:]), table[:, 2:], weight / weight.sum()
