"""Global sensitivity analysis: which uncertain inputs drive a forecast.

The factors are a scenario's `uncertain` inputs (parameter names and dotted scenario paths) plus
one dummy factor. The pipeline is SALib's `sample -> evaluate -> analyze`:

1. **design** (`design.make_design`): a SALib design on the unit cube [0, 1]^D — Saltelli/Sobol' for
   `sobol`, Morris trajectories (4 levels) for `morris`, a Latin hypercube for `delta`. A factor's
   value is its distribution's `ppf(u)`, so non-uniform inputs are sampled by their distribution and
   the indices answer "how much of the forecast range comes from this input as the scenario states
   its uncertainty".
2. **evaluate** (`evaluate.evaluate_points`): each design point is simulated for
   `replicates_per_point` replicates and the output is their mean. Points are cut into chunks that
   run in worker processes; finished chunks are written to a `.partial` folder so that an
   interrupted job resumes where it stopped. The result does not depend on the number of workers.
3. **analyze** (`indices.analyse`): Sobol' first and total order (second order on request) with
   bootstrap confidence intervals; Morris mu*, mu, sigma; the moment-independent delta index
   (which needs no special design, so `analyse(..., method="delta")` also runs on a Sobol' or
   Morris design). A convergence table repeats the analysis on the first N/4, N/2 and N base
   samples.

Randomness handled honestly. Everything that is not a factor — non-factor parameters drawn from
their priors, the population, the monthly shocks — comes from the replicate's seed, exactly as in
`run`. Common random numbers: a design point runs replicates `b*R .. b*R+R-1`, where the block `b`
is picked by the dummy factor's value. The dummy sets no model input; it only decides which random
numbers a point uses. So every pair of points an estimator compares to measure a real factor (A and
AB_i in Sobol', neighbours on a Morris trajectory) shares its seeds, and the dummy's own index
measures the model's randomness: it is the noise floor. Noise can lift a factor's total-order index,
Morris mu* or delta up to the dummy's, so a factor whose interval does not clear the dummy's cannot
be told from noise (`indices.floor_rule`; column `above_noise_floor`). (A dummy that left the seeds
alone would be exactly 0 for Sobol' and Morris, whatever the noise: useless as a floor.) Besides,
the spread between a point's replicates gives the `noise_share`: the part of the output's variance
that the model's own randomness explains after averaging R replicates; it should agree with the
dummy's total-order index.

`run_sensitivity` runs the three steps; `results.write_sensitivity_results` writes the folder.
Model code never imports plotting: figures live in `sim.report.sensitivity_plots`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.sensitivity.design import (
    DEFAULT_SAMPLES,
    DUMMY,
    MAIN_MEASURE,
    METHODS,
    Design,
    Factor,
    Output,
    SensitivityError,
    design_values,
    make_design,
    resolve_outputs,
    scenario_factors,
    through_time_outputs,
)
from sim.analysis.sensitivity.evaluate import (
    Evaluation,
    PointModel,
    chunk_points,
    evaluate_replicates,
    inputs_of,
    paired_point,
    simulate_point,
)
from sim.analysis.sensitivity.indices import analyse_all, floor_rule, noise_table, review
from sim.ensemble.execution import ChunkStore, Executor


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
    #: The baseline of a paired analysis (outputs are scenario minus baseline), else None.
    baseline: Any = None

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
    baseline=None,
) -> SensitivityResult:
    """Design, evaluate and analyse: the whole sensitivity analysis of a scenario.

    `factors` default to `scenario_factors(scenario)`; `outputs` to `resolve_outputs(scenario,
    None)`; `seed` to the scenario's. `through_time` adds the indicator's value in every full
    year. `fixed_parameters` holds the parameters that are not factors at their central values
    (the noise is then only the model's shocks). `model` replaces the simulation of one
    replicate at a point (tests use analytic functions; then `scenario` may be None if factors,
    outputs and seed are given). With
    `out_root`, finished chunks are kept under `out_root/.partial/` (see `partial_folder`)
    and `resume` reuses them. With a `baseline` scenario, every output is the paired effect
    scenario minus baseline (`evaluate.paired_point`: common random numbers, so the noise the two
    share cancels); factors that exist only in one of them move that one alone.
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
    model_name = _model_name(model)
    if baseline is not None:
        from sim.inputs.scenario_files import scenario_hash

        names = [f.name for f in factors]
        model = functools.partial(
            model or paired_point,
            baseline=baseline,
            baseline_inputs=inputs_of(baseline, names),
            scenario_inputs=inputs_of(scenario, names),
            fixed_parameters=fixed_parameters,
        )
        model_name = f"paired_point(baseline={scenario_hash(baseline)}, fixed={fixed_parameters})"
    elif model is None and fixed_parameters:
        model = functools.partial(simulate_point, fixed_parameters=True)
        model_name = _model_name(model)
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
            model=model_name,
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
        baseline=baseline,
    )
