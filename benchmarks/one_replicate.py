"""Speed of one replicate of the full population over 72 months, against the firm-by-firm model.

Prints ns per firm-month of the array model (`ChangwonModel.step`) and of the plain Mesa reference
in `tests/model/reference_model.py`, stepped on the same population and draws in the same run.
Firm-months count active firms. Run: `.venv/bin/python benchmarks/one_replicate.py [--repeats N]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "model"))

from reference_model import run_reference  # noqa: E402

from sim.ensemble.replicate import build_model  # noqa: E402
from sim.inputs.parameters import central_parameters  # noqa: E402
from sim.inputs.scenario_files import load_scenario  # noqa: E402
from sim.model.indicators import COLUMN  # noqa: E402


def time_array_model(scenario, params, seed: int) -> tuple[float, float]:
    model = build_model(scenario, params, seed, 0)
    started = time.perf_counter()
    for _ in range(len(model.env.months)):
        model.step()
    elapsed = time.perf_counter() - started
    return elapsed, float(model.indicators[:, COLUMN["active_firms"]].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "combined.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    params = central_parameters()
    array_runs = [time_array_model(scenario, params, args.seed) for _ in range(args.repeats)]
    best, firm_months = min(array_runs)
    started = time.perf_counter()
    reference = run_reference(scenario, params, args.seed, 0)
    reference_seconds = time.perf_counter() - started
    reference_firm_months = float(reference[:, COLUMN["active_firms"]].sum())
    array_ns = best / firm_months * 1e9
    reference_ns = reference_seconds / reference_firm_months * 1e9
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"scenario: {args.scenario.name}, {len(scenario_months(scenario))} months")
    print(
        f"array model:   {array_ns:8.1f} ns per firm-month (best of {args.repeats}, "
        f"{firm_months:.0f} firm-months, {best * 1e3:.1f} ms)"
    )
    print(f"firm by firm:  {reference_ns:8.1f} ns per firm-month ({reference_seconds:.2f} s)")
    print(f"speed-up:      {reference_ns / array_ns:8.1f}x")


def scenario_months(scenario) -> range:
    return range(scenario.period.start_month, scenario.period.end_month + 1)


if __name__ == "__main__":
    main()
