"""What the forkserver of local worker processes loads before it forks any worker.

`sim.ensemble.execution.LocalProcesses` starts its workers through a forkserver: a clean process,
started once, that forks every worker. The server imports this module first, and importing it
imports the simulation and loads the compiled kernels (`load_kernels`: from numba's cache, or
compiled into it on a machine's first run). Each worker, a fork of the server, starts with both:
imports and kernels cost once per run, not once per worker. Nothing else imports this module.
"""

from __future__ import annotations

from sim.ensemble.replicate import build_model, run_replicate  # noqa: F401  (for the workers)
from sim.inputs.parameters import central_parameters
from sim.inputs.scenario_files import scenario_from_data

#: A small scenario whose months pass through every path of the step that has a kernel: a US
#: tariff (re-routed sales), an AI-factory programme with slots (adoption), entry and exit.
WARM_UP = {
    "name": "warm-up",
    "period": {"start": "2025-01", "end": "2025-06"},
    "tariffs": [{"name": "warm_up", "partner": "US", "rate": 0.15, "start": "2025-02"}],
    "ai_factory": {"start": "2025-01", "subsidised_firms_per_year": 1200, "subsidy_share": 0.5},
}


def load_kernels() -> None:
    """Step a small model through a few months, so that every kernel of the model is loaded into
    this process with the argument types the model passes."""
    model = build_model(scenario_from_data(WARM_UP), central_parameters(), 0, 0, firms=200)
    for _ in model.env.months:
        model.step()


load_kernels()
