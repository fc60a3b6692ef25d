"""Evaluating a sensitivity design: each point is simulated for `replicates_per_point` replicates
(the dummy factor picks their seeds: common random numbers), in chunks on an executor of
`sim.ensemble.execution`; finished chunks are saved, so an interrupted job resumes where it
stopped. The result does not depend on the number of workers or on the chunking.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.sensitivity.design import (
    DRIVERS,
    DUMMY,
    GROUPED,
    NOISE_BLOCKS,
    POSTERIOR,
    Output,
    SensitivityError,
    as_output,
)
from sim.ensemble.execution import ChunkStore, Executor, chunks, make_executor
from sim.model.indicators import COLUMN, annual_from_monthly

MAX_REPLICATES_PER_POINT = 1000  # keeps replicate numbers (block * R + r) below 2**32
#: A chunk holds about this many replicate simulations (a second or so of work).
CHUNK_REPLICATES = 64

PointModel = Callable[..., np.ndarray]


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


def point_driver_draw(values: Mapping[str, float]) -> int | None:
    """The driver draw the `DRIVERS` factor picks for every replicate of a point (None when the
    drivers are not a factor: each replicate draws its own)."""
    if DRIVERS not in values:
        return None
    return min(int(float(values[DRIVERS]) * NOISE_BLOCKS), NOISE_BLOCKS - 1)


def point_inputs(
    scenario,
    seed: int,
    replicate: int,
    values: Mapping[str, float],
    fixed_parameters: bool = False,
):
    """The scenario and parameters of one replicate at a design point.

    As `sim.ensemble.replicate.replicate_inputs`, minus the draws of `uncertain`: parameters come
    from their priors and the posterior, drawn by name as in runs (central values with
    `fixed_parameters`),
    then the posterior draw the `POSTERIOR` factor picks (if it is a factor), then the
    scenario's point overrides, then the design point's values (parameter names via
    `Parameters.replace`, dotted paths via `apply_values`). The dummy and the drivers factor set
    nothing here (see `point_replicates` and `point_driver_draw`).
    """
    from sim.ensemble.replicate import input_uniform
    from sim.inputs.parameters import (
        PARAMETER_NAMES,
        central_parameters,
        draw_parameters,
        load_posterior,
    )
    from sim.inputs.scenario import apply_values

    params = (
        central_parameters()
        if fixed_parameters
        else draw_parameters(lambda name: input_uniform(seed, replicate, name))
    )
    posterior = load_posterior() if POSTERIOR in values else None
    if posterior is not None:
        params = params.replace(**posterior.draw(float(values[POSTERIOR])))
    params = params.replace(**scenario.parameters)
    params = params.replace(**{k: v for k, v in values.items() if k in PARAMETER_NAMES})
    paths = {
        k: v for k, v in values.items() if k not in PARAMETER_NAMES and k not in (DUMMY, *GROUPED)
    }
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
    model = build_model(
        scenario_p, params, seed, replicate, firms, driver_draw=point_driver_draw(values)
    )
    months = model.env.months
    for k in range(len(months)):
        model.step()
        check_finite(model.indicators[k], replicate, int(months[k]))
    years, annual = annual_from_monthly(model.indicators, months)
    row = {int(y): k for k, y in enumerate(years)}
    return np.array([annual[row[o.year], COLUMN[o.indicator]] for o in outputs])


def paired_point(
    scenario,
    seed: int,
    replicate: int,
    values: Mapping[str, float],
    outputs: Sequence[Output],
    *,
    baseline,
    baseline_inputs: frozenset[str],
    scenario_inputs: frozenset[str],
    firms: int | None = None,
    fixed_parameters: bool = False,
) -> np.ndarray:
    """The effect of a scenario at a design point: its outputs minus the baseline's, both run
    with the same seed, replicate and factor values (common random numbers), so that what the
    two share — parameters, population, monthly shocks — cancels out of the difference.

    `baseline_inputs` and `scenario_inputs` (see `inputs_of`) name the factors that exist in each
    (parameters, and the dotted paths it has): a tariff only the scenario imposes moves the
    scenario alone.
    """

    def own(names: frozenset[str]) -> dict[str, float]:
        return {k: v for k, v in values.items() if k in names or k in (DUMMY, *GROUPED)}

    alternative = simulate_point(
        scenario, seed, replicate, own(scenario_inputs), outputs, firms, fixed_parameters
    )
    base = simulate_point(
        baseline, seed, replicate, own(baseline_inputs), outputs, firms, fixed_parameters
    )
    return alternative - base


def inputs_of(scenario, names: Sequence[str]) -> frozenset[str]:
    """The factor names that are inputs of `scenario`: parameter names, and dotted paths that
    exist in it (a tariff's rate exists only in a scenario that lists that tariff)."""
    from sim.inputs.parameters import PARAMETER_NAMES
    from sim.inputs.scenario import apply_values
    from sim.inputs.scenario_errors import ScenarioError

    found = set()
    for name in names:
        if name in PARAMETER_NAMES:
            found.add(name)
        elif name not in (DUMMY, *GROUPED):
            try:
                value = _current_value(scenario, name)
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            try:
                apply_values(scenario, {name: value})
            except ScenarioError:
                continue
            found.add(name)
    return frozenset(found)


def _current_value(scenario, path: str) -> float:
    """The number at a dotted path of the scenario (KeyError if there is none)."""
    data = scenario.model_dump(mode="json")
    node = data
    for part in path.split("."):
        if isinstance(node, list):  # list items are addressed by their `name`
            node = next(
                (item for item in node if isinstance(item, dict) and item.get("name") == part), None
            )
            if node is None:
                raise KeyError(path)
        else:
            node = node[part]
    return float(node)


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
    if store is not None:
        store.claim()  # a second identical analysis into the same --out is refused (JobBusy)
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
