"""The point estimate: a global search (a scrambled Sobol' sample over the prior box), then
Nelder-Mead on the same common-random-numbers objective, and the moments' sensitivities at the
estimate (identification).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

from sim.analysis.calibration.problem import Problem, nan_mean

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
