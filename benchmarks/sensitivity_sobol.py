"""Wall time of the sensitivity benchmark: Sobol' first and total order, 10 factors,
N = 512, 4 replicates a point, 72 months, the full population (target: 4 minutes on 2 cores).

The 10 factors are the `uncertain` inputs of `scenarios/combined.yaml` (nine), then the first
parameter of the registry; the dummy
factor (noise floor) makes 11, so the design has N * (11 + 2) = 6,656 points, 26,624 simulations.
The outputs are the defaults (production, exports, employment in 2030) plus production through
time, as `changwon-sim sensitivity` would compute them.

    .venv/bin/python benchmarks/sensitivity_sobol.py                  # the full benchmark
    .venv/bin/python benchmarks/sensitivity_sobol.py --fraction 0.02  # time 2% of the points

With `--fraction F < 1`, the first F of the design points are simulated and timed, worker
start-up is timed apart, the analysis (with its convergence check) is timed on a full-size
output table, and the full wall time is extrapolated as start-up + simulation / F + analysis.
On a machine shared with other jobs that figure depends on them, so the CPU time of one
simulation (measured in this process) also gives the wall time on dedicated cores.
With F = 1 the whole command runs (`run_sensitivity` and the results folder, in a temporary
directory) and the wall time is measured.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from sim.analysis.sensitivity.design import (
    design_values,
    make_design,
    resolve_outputs,
    scenario_factors,
    through_time_outputs,
)
from sim.analysis.sensitivity.evaluate import evaluate_points, simulate_point
from sim.analysis.sensitivity.indices import analyse_all
from sim.analysis.sensitivity.results import write_sensitivity_results
from sim.analysis.sensitivity.run import run_sensitivity
from sim.inputs.scenario import Scenario
from sim.inputs.scenario_files import load_scenario
from sim.report.result_figures import sensitivity_figures

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 240.0


def benchmark_scenario(path: Path, factors: int) -> Scenario:
    """The scenario with its first `factors` uncertain inputs; if it has fewer, model parameters
    (registry order, over their prior ranges) make up the number: the cost does not depend on
    which inputs the factors are."""
    from sim.inputs.parameters import load_registry

    scenario = load_scenario(path)
    data = scenario.model_dump(mode="json")
    uncertain = {name: data["uncertain"][name] for name in list(scenario.uncertain)[:factors]}
    for name, spec in load_registry().items():
        if len(uncertain) == factors:
            break
        if name not in uncertain and name not in scenario.parameters and spec.low < spec.high:
            uncertain[name] = {
                "dist": "triangular",
                "low": spec.low,
                "mode": spec.value,
                "high": spec.high,
            }
    data["uncertain"] = uncertain
    data["name"] = "sensitivity-benchmark"
    return Scenario.model_validate(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=1.0, help="share of points to time")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--replicates-per-point", type=int, default=4)
    parser.add_argument("--factors", type=int, default=10)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    args = parser.parse_args()
    if not 0 < args.fraction <= 1:
        raise SystemExit("--fraction must lie in (0, 1]")

    scenario = benchmark_scenario(args.scenario, args.factors)
    factors = scenario_factors(scenario)
    headline = resolve_outputs(scenario, None)
    outputs = headline + [
        o for o in through_time_outputs(scenario, "production_krw") if o not in headline
    ]
    r = args.replicates_per_point
    points = args.samples * (len(factors) + 2)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}, Python {platform.python_version()}"
    )
    print(
        f"design: Sobol' N={args.samples}, {len(factors)} factors ({args.factors} + dummy), "
        f"{points} points x {r} replicates = {points * r} simulations of "
        f"{scenario.period.months} months, {args.workers} workers"
    )

    if args.fraction >= 1:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = run_sensitivity(
                scenario,
                samples=args.samples,
                outputs=headline,
                through_time="production_krw",
                replicates_per_point=r,
                workers=args.workers,
                factors=factors,
                out_root=Path(tmp),
            )
            write_sensitivity_results(Path(tmp), scenario, result, figures=sensitivity_figures)
            wall = time.perf_counter() - started
        print(f"timings: {result.timings}")
        print(f"measured wall time: {wall:.0f} s (target {TARGET_SECONDS:.0f} s)")
        return

    design = make_design("sobol", [f.name for f in factors], args.samples, scenario.runs.seed)
    values = design_values(design, factors)
    timed = max(args.workers, math.ceil(args.fraction * design.points))
    fraction = timed / design.points

    simulate_point(scenario, scenario.runs.seed, 0, values[0], outputs)  # warm caches
    started, cpu = time.perf_counter(), time.process_time()
    for k in range(1, 9):
        simulate_point(scenario, scenario.runs.seed, k, values[k], outputs)
    one_replicate = (time.perf_counter() - started) / 8
    cpu_replicate = (time.process_time() - cpu) / 8
    started = time.perf_counter()
    probe = {k: values[k : k + 1] for k in range(args.workers)}
    evaluate_points(
        scenario,
        [v for part in probe.values() for v in part],
        1,
        0,
        args.workers,
        outputs,
        points_per_chunk=1,
    )
    startup = max(0.0, time.perf_counter() - started - one_replicate)

    started = time.perf_counter()
    means = evaluate_points(scenario, values[:timed], r, scenario.runs.seed, args.workers, outputs)
    simulation = time.perf_counter() - started
    per_simulation = (simulation - startup) / (timed * r) * args.workers

    # Analysis on a full-size table: the measured outputs' spread, repeated over the design.
    rng = np.random.default_rng(0)
    full = means[rng.integers(0, timed, design.points)] * (
        1 + 0.01 * design.unit @ rng.normal(size=(design.unit.shape[1], 1))
    )
    started = time.perf_counter()
    analyse_all(design, full, outputs, seed=1, workers=args.workers)
    analysis = time.perf_counter() - started

    total = startup + (simulation - startup) / fraction + analysis
    # On a machine shared with other jobs, wall time depends on them; CPU time much less.
    dedicated = startup + design.points * r * cpu_replicate / args.workers + analysis
    print(
        f"one replicate in this process: {one_replicate * 1e3:.0f} ms wall, "
        f"{cpu_replicate * 1e3:.0f} ms CPU"
    )
    print(f"worker start-up: {startup:.1f} s")
    print(
        f"timed: {timed} points ({fraction:.1%}) x {r} replicates in {simulation:.1f} s "
        f"({per_simulation * 1e3:.0f} ms per simulation per worker)"
    )
    print(f"analysis of {len(outputs)} outputs with convergence check: {analysis:.1f} s")
    print(
        f"extrapolated wall time: {total:.0f} s = {total / 60:.1f} min "
        f"(target {TARGET_SECONDS:.0f} s)"
    )
    print(
        f"estimate for {args.workers} dedicated cores (CPU time per simulation): "
        f"{dedicated:.0f} s = {dedicated / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
