"""Scores of probabilistic forecasts against outcomes and against simple benchmarks.

`crps_sample` and `interval_hit` score a forecast sample; `no_change`, `random_walk_drift` and
`ar1_growth` are the benchmark point forecasts of a level series from its history up to an
origin (a point forecast's CRPS is its absolute error); `skill_score` compares the two over
origins with a bootstrap interval. Used by the drivers' record and by `changwon-sim validate`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

LEVELS = (0.5, 0.8, 0.9)  # central intervals scored


def crps_sample(samples: np.ndarray, outcome: float | np.ndarray) -> float | np.ndarray:
    """CRPS of the empirical distribution of `samples` (last axis) at `outcome`, in the energy
    form E|X - y| - E|X - X'|/2, exact for the empirical distribution; the pair term by sorting,
    O(n log n). A single sample gives the absolute error."""
    x = np.sort(np.asarray(samples, float), axis=-1)
    n = x.shape[-1]
    y = np.asarray(outcome, float)[..., None]
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    result = np.abs(x - y).mean(-1) - (x * weights).sum(-1) / n**2
    return float(result) if np.ndim(result) == 0 else result


def interval_hit(
    samples: np.ndarray, outcome: float | np.ndarray, level: float
) -> bool | np.ndarray:
    """Whether `outcome` lies in the central `level` interval of `samples` (last axis)."""
    lo, hi = np.quantile(np.asarray(samples, float), [(1 - level) / 2, (1 + level) / 2], axis=-1)
    hit = (lo <= outcome) & (outcome <= hi)
    return bool(hit) if np.ndim(hit) == 0 else hit


def _level_history(levels: Mapping[int, float], origin: int | None):
    years = sorted(y for y in levels if origin is None or y <= origin)
    if not years:
        raise ValueError("no level at or before the origin")
    growth = {y: math.log(levels[y] / levels[y - 1]) for y in years if y - 1 in levels}
    return years[-1], float(levels[years[-1]]), growth


def no_change(levels: Mapping[int, float], origin: int | None = None, horizon: int = 1) -> float:
    """Point forecast of a level series `horizon` years after its last year <= origin: no change."""
    return _level_history(levels, origin)[1]


def random_walk_drift(
    levels: Mapping[int, float], origin: int | None = None, horizon: int = 1
) -> float:
    """Random walk with drift: last level x exp(horizon x mean annual log growth), the mean over
    consecutive-year pairs of the history (gaps skipped); no change if there are none."""
    _, last, growth = _level_history(levels, origin)
    return last * math.exp(horizon * float(np.mean(list(growth.values())))) if growth else last


def ar1_growth(levels: Mapping[int, float], origin: int | None = None, horizon: int = 1) -> float:
    """AR(1) of annual log growth fitted by least squares on the history's consecutive growth
    pairs, iterated `horizon` years from the last growth. Falls back to `random_walk_drift`
    when there are fewer than 4 growth observations, fewer than 3 pairs, or no growth in the
    last year."""
    year, last, growth = _level_history(levels, origin)
    pairs = [y for y in sorted(growth) if y - 1 in growth]
    if len(growth) < 4 or len(pairs) < 3 or year not in growth:
        return random_walk_drift(levels, origin, horizon)
    x = np.array([[1.0, growth[y - 1]] for y in pairs])
    c, rho = np.linalg.lstsq(x, np.array([growth[y] for y in pairs]), rcond=None)[0]
    g, total = growth[year], 0.0
    for _ in range(horizon):
        g = c + rho * g
        total += g
    return last * math.exp(total)


BENCHMARKS = {
    "no_change": no_change,
    "random_walk_drift": random_walk_drift,
    "ar1_growth": ar1_growth,
}


def skill_score(
    crps_model: Sequence[float],
    crps_benchmark: Sequence[float],
    seed: int = 0,
    n_boot: int = 2000,
    level: float = 0.9,
) -> dict[str, float]:
    """Skill 1 - mean CRPS_model / mean CRPS_benchmark over origins (a point forecast's CRPS is
    its absolute error), with a bootstrap interval: origins resampled with replacement, pairs
    kept together. The ratio of means, not the mean of ratios, which one near-perfect benchmark
    year would swamp."""
    m, b = np.asarray(crps_model, float), np.asarray(crps_benchmark, float)
    if len(m) == 0 or b.mean() == 0:
        return {"skill": math.nan, "low": math.nan, "high": math.nan, "n": len(m)}
    idx = np.random.default_rng(seed).integers(0, len(m), (n_boot, len(m)))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = 1.0 - m[idx].mean(1) / b[idx].mean(1)
    lo, hi = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {
        "skill": float(1.0 - m.mean() / b.mean()),
        "low": float(lo),
        "high": float(hi),
        "n": len(m),
    }
