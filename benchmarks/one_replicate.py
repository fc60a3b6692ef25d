"""Speed of one replicate of the full population, against the firm-by-firm model, in the same run.

The array model (`sim.ensemble.replicate.build_model` — population synthesis, environment — then
every month of `ChangwonModel.step`) and the plain Mesa reference of
`tests/model/reference_model.py` (the same synthesis, then the month stepped firm by firm) run on
the same scenario, parameters and seed, interleaved: each round times the array model `--array`
times, then the reference once, so a change of load on the machine reaches both. Reported per
firm-month (active firms summed over the months), wall and CPU time, medians over the rounds;
synthesis included. Both run with one BLAS thread, as worker processes do.

    .venv/bin/python benchmarks/one_replicate.py            # readable lines
    .venv/bin/python benchmarks/one_replicate.py --json     # one JSON line

The first array replicate, untimed, loads the compiled kernels (and compiles them on a machine's
first run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "model"))

from reference_model import run_reference  # noqa: E402

from sim.ensemble.replicate import base_population, build_model  # noqa: E402
from sim.inputs.parameters import central_parameters  # noqa: E402
from sim.inputs.scenario_files import load_scenario  # noqa: E402
from sim.model.indicators import COLUMN  # noqa: E402


def machine() -> dict:
    import numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def timed(work) -> tuple[float, float, object]:
    """Wall and CPU seconds of `work()`, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def array_replicate(scenario, params, seed: int) -> dict:
    base_population.cache_clear()  # each replicate of a run synthesises its own population
    wall, cpu, model = timed(lambda: build_model(scenario, params, seed, 0))
    step_wall, step_cpu, _ = timed(lambda: [model.step() for _ in model.env.months])
    return {
        "wall": wall + step_wall,
        "cpu": cpu + step_cpu,
        "synthesis_wall": wall,
        "firm_months": float(model.indicators[:, COLUMN["active_firms"]].sum()),
    }


def reference_replicate(scenario, params, seed: int) -> dict:
    base_population.cache_clear()
    wall, cpu, indicators = timed(lambda: run_reference(scenario, params, seed, 0))
    return {
        "wall": wall,
        "cpu": cpu,
        "firm_months": float(indicators[:, COLUMN["active_firms"]].sum()),
    }


def per_firm_month(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] / r["firm_months"] * 1e9 for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    parser.add_argument("--rounds", type=int, default=3, help="reference runs (about 8 s each)")
    parser.add_argument("--array", type=int, default=5, help="array replicates per round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    params = central_parameters()
    array: list[dict] = []
    reference: list[dict] = []
    with threadpool_limits(limits=1, user_api="blas"):
        array_replicate(scenario, params, args.seed)  # loads (or compiles) the kernels
        for _ in range(args.rounds):
            array += [array_replicate(scenario, params, args.seed) for _ in range(args.array)]
            reference.append(reference_replicate(scenario, params, args.seed))
    array_ns = per_firm_month(array, "wall")
    reference_ns = per_firm_month(reference, "wall")
    result = {
        "benchmark": "one_replicate",
        "scenario": args.scenario.name,
        "months": scenario.period.months,
        "firm_months": array[0]["firm_months"],
        "ns_per_firm_month": round(array_ns, 1),
        "ns_per_firm_month_cpu": round(per_firm_month(array, "cpu"), 1),
        "ns_per_firm_month_best": round(min(r["wall"] / r["firm_months"] for r in array) * 1e9, 1),
        "synthesis_ns_per_firm_month": round(per_firm_month(array, "synthesis_wall"), 1),
        "reference_ns_per_firm_month": round(reference_ns, 1),
        "reference_ns_per_firm_month_cpu": round(per_firm_month(reference, "cpu"), 1),
        "speedup": round(reference_ns / array_ns, 1),
        "speedup_cpu": round(per_firm_month(reference, "cpu") / per_firm_month(array, "cpu"), 1),
        "rounds": args.rounds,
        "array_replicates": len(array),
        "blas_threads": 1,
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(result))
        return
    m = result["machine"]
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['numpy']}, "
        f"numba {m['numba']} (load average {m['load_average_1min']})"
    )
    print(
        f"scenario: {result['scenario']}, {result['months']} months, "
        f"{result['firm_months']:.0f} firm-months"
    )
    print(
        f"array model:   {array_ns:8.1f} ns per firm-month wall, "
        f"{result['ns_per_firm_month_cpu']:.1f} CPU (median of {len(array)}; best "
        f"{result['ns_per_firm_month_best']:.1f}; synthesis "
        f"{result['synthesis_ns_per_firm_month']:.1f} of it)"
    )
    print(
        f"firm by firm:  {reference_ns:8.1f} ns per firm-month wall, "
        f"{result['reference_ns_per_firm_month_cpu']:.1f} CPU (median of {len(reference)})"
    )
    print(f"speed-up:      {result['speedup']:8.1f}x wall, {result['speedup_cpu']:.1f}x CPU")


if __name__ == "__main__":
    main()
