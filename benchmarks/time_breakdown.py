"""Where a run's time goes: the figures behind "What is left for the targets" in the README.

- replicate: CPU time of one replicate of the `run` benchmark's scenario (us_tariff_15 cut to 36
  months) as a worker runs it (`run_replicate`), and of its set-up alone (synthesis and
  environment, `build_model`), medians over `--replicates`;
- slots: the share of slot-months that belong to firms that have left, in a 72-month replicate
  (the passes skip them);
- month: CPU time of a month of `combined.yaml` with a small population (95 firms at the end),
  which is mostly the month's fixed cost, median over replicates;
- action floor: each action of the step (`ChangwonModel.step`) at its quickest, in the months of
  10 replicates of the `run` benchmark's scenario at full size: its least time in any month per
  firm alive at the month's start, in ns. Their sum is a floor for a month's cost per firm: every
  action at its best month, nothing between them;
- mesa_step: Mesa's clock, the step of a model that does nothing;
- kernel call: a compiled function's call with 1 and 27 array arguments, and with 7 (empty)
  arrays returned;
- start-up: importing Mesa, then loading the model's kernels (`sim.ensemble.workers`), each in a
  fresh process, as a run's forkserver does.

    .venv/bin/python benchmarks/time_breakdown.py          # readable lines
    .venv/bin/python benchmarks/time_breakdown.py --json   # one JSON line
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from run_and_check import cut_scenario
from threadpoolctl import threadpool_limits

from sim.ensemble.replicate import base_population, build_model, run_replicate
from sim.inputs.parameters import central_parameters
from sim.inputs.scenario_files import load_scenario
from sim.model.changwon_model import ChangwonModel
from sim.model.indicators import COLUMN

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def cpu_seconds(work) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def best_call_us(call, repeats: int = 5, calls: int = 20000) -> float:
    """Microseconds a call takes, best of `repeats` loops."""
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def replicate_costs(replicates: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        scenario = load_scenario(cut_scenario(SCENARIOS / "us_tariff_15.yaml", 36, Path(folder)))
    params = central_parameters()
    run_replicate(scenario, 1, 0, False)  # loads the kernels
    whole, setup = [], []
    for r in range(1, replicates + 1):
        base_population.cache_clear()
        whole.append(cpu_seconds(lambda r=r: run_replicate(scenario, 1, r, False)))
        base_population.cache_clear()
        setup.append(cpu_seconds(lambda r=r: build_model(scenario, params, 1, r)))
    return {
        "replicate_ms": round(statistics.median(whole) * 1e3, 1),
        "replicate_setup_ms": round(statistics.median(setup) * 1e3, 1),
    }


def left_share() -> float:
    model = build_model(load_scenario(SCENARIOS / "us_tariff_15.yaml"), central_parameters(), 1, 0)
    slot_months = 0
    for _ in model.env.months:
        model.step()
        slot_months += model.firms_created
    active = model.indicators[:, COLUMN["active_firms"]].sum()
    return round(1.0 - active / slot_months, 3)


def small_month_us(replicates: int = 10) -> float:
    scenario, params = load_scenario(SCENARIOS / "combined.yaml"), central_parameters()
    per_month = []
    for r in range(replicates + 1):
        model = build_model(scenario, params, 1, r, firms=60)
        seconds = cpu_seconds(lambda model=model: [model.step() for _ in model.env.months])
        per_month.append(seconds / len(model.env.months))
    return round(statistics.median(per_month[1:]) * 1e6, 1)  # the first loads the kernels


#: The actions `ChangwonModel.step` calls (`self.<action>(...)`), in its order, read from its
#: source so that an action added to the step is timed too.
ACTIONS = tuple(re.findall(r"self\.(\w+)\(", inspect.getsource(ChangwonModel.step)))


def timed(action, spent: dict, name: str):
    """`action`, recording the nanoseconds of its last call in `spent[name]`."""

    def run(*args):
        start = time.perf_counter_ns()
        result = action(*args)
        spent[name] = time.perf_counter_ns() - start
        return result

    return run


def action_floor_ns(replicates: int = 10) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        scenario = load_scenario(cut_scenario(SCENARIOS / "us_tariff_15.yaml", 36, Path(folder)))
    params = central_parameters()
    least = dict.fromkeys(ACTIONS, float("inf"))
    for r in range(replicates + 1):  # the first loads the kernels
        model = build_model(scenario, params, 1, r)
        spent = dict.fromkeys(ACTIONS, 0)
        for name in ACTIONS:  # an instance attribute: step() calls it instead of the method
            setattr(model, name, timed(getattr(model, name), spent, name))
        for _ in model.env.months:
            alive = int(np.count_nonzero(model.firms.alive))
            model.step()
            if r:
                for name in ACTIONS:
                    least[name] = min(least[name], spent[name] / alive)
    floor = {f"floor_{name}_ns": round(least[name], 1) for name in ACTIONS}
    floor["floor_month_ns_per_firm"] = round(sum(least.values()), 1)
    return floor


def mesa_step_us() -> float:
    import mesa

    class Idle(mesa.Model):
        def step(self) -> None:
            pass

    return round(best_call_us(Idle().step), 2)


def kernel_call_us() -> dict:
    arrays = [np.zeros(100) for _ in range(27)]
    names = ", ".join(f"a{k}" for k in range(27))
    namespace: dict = {}
    exec(f"def takes_27({names}):\n    return 0.0\n", namespace)
    takes_1 = numba.njit(lambda a: 0.0)
    takes_27 = numba.njit(namespace["takes_27"])
    gives_0 = numba.njit(lambda: 0.0)
    gives_7 = numba.njit(
        lambda: (
            np.empty(0),
            np.empty(0),
            np.empty(0),
            np.empty(0),
            np.empty(0),
            np.empty(0),
            np.empty(0),
        )
    )
    return {
        "kernel_call_1_arg_us": round(best_call_us(lambda: takes_1(arrays[0])), 2),
        "kernel_call_27_args_us": round(best_call_us(lambda: takes_27(*arrays)), 2),
        "kernel_return_7_arrays_us": round(best_call_us(gives_7) - best_call_us(gives_0), 2),
    }


def import_seconds(before: str, measured: str) -> float:
    """Seconds to run `measured` in a fresh interpreter after `before`."""
    code = (
        f"{before}\nimport time\nstart = time.perf_counter()\n{measured}\n"
        "print(time.perf_counter() - start)"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    return round(float(out.stdout.split()[-1]), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    with threadpool_limits(limits=1, user_api="blas"):
        result = {
            **replicate_costs(args.replicates),
            "left_share_of_slot_months": left_share(),
            "small_month_us": small_month_us(),
            **action_floor_ns(),
            "mesa_step_us": mesa_step_us(),
            **kernel_call_us(),
        }
    result["import_mesa_s"] = import_seconds("import numpy, numba", "import mesa")
    result["load_kernels_s"] = import_seconds(
        "import sim.ensemble.replicate", "import sim.ensemble.workers"
    )
    result["machine"] = {
        "cpu": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    for name, value in result.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
