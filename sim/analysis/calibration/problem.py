"""The calibration problem: its settings and presets, one hindcast replicate as a task for a worker
(`simulate`), the workers that simulate for a whole fit, and `Problem`, which turns parameter
rows into simulated moments with common random numbers and scores them (the MSM objective and
the ABC distance).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.calibration.targets import FreeParameter, Targets, moment_values
from sim.analysis.hindcast import base_year_totals, run_hindcast
from sim.ensemble.execution import make_executor

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
