"""Calibration of the model to the reported figures: method of simulated moments with
common random numbers, then posterior draws (a quasi-posterior of the MSM objective, or ABC-SMC).

What is fitted: the parameters of kind `calibrated` in `calibration/parameters.yaml` (but those
`targets.yaml` lists under `not_fitted`, with the reason). The hindcast runs through the realised
national drivers (`calibration/drivers.yaml`) and the defence contracts; every other parameter is
drawn from its prior in every replicate, as in forecast runs, so the fit is marginal over them.

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
   level about 1.3% from its expectation; one common shift of the complex's own demand trend
   (which forecasts use as well) puts the posterior-predictive median of 2024 production within
   the required bound (`recentre_level`).

All randomness comes from the settings' seed: the CRN replicates use seed S, ABC simulations seed
S + 1 (replicate numbers counted up), predictive runs seed S + 2, and the proposals a generator of
seed S + 3. Work is done in fixed batches whose results are taken in order, so the outputs do not
depend on the number of workers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.analysis.calibration.posterior import Posterior, abc_smc, quasi_posterior, recentre_level
from sim.analysis.calibration.problem import Problem, Settings, Workers
from sim.analysis.calibration.search import Search, global_search, identification, local_search
from sim.analysis.calibration.targets import FreeParameter, Targets, free_parameters, load_targets
from sim.analysis.hindcast import load_drivers
from sim.inputs.paths import CALIBRATION_DIR

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
