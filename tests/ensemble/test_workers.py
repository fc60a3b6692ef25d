"""Local worker processes start ready: one BLAS thread, the simulation imported and its compiled
kernels loaded by the forkserver before it forks them."""

from __future__ import annotations

import os
import sys

from sim.ensemble.execution import ONE_BLAS_THREAD, LocalProcesses


def worker_state(_: int) -> dict:
    """What a worker holds when its first task starts."""
    from threadpoolctl import threadpool_info

    from sim.model import demography, month_kernels
    from sim.model.counter_rng import month_draws
    from sim.model.network import balance

    return {
        "preloaded": "sim.ensemble.workers" in sys.modules,
        "blas_threads": [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"],
        # Every kernel of the step, those of entry and exit included: loaded before the fork.
        "kernels_loaded": all(
            kernel.signatures
            for kernel in (
                month_draws,
                balance,
                month_kernels.demand_and_production,
                month_kernels.settle_and_finance,
                month_kernels.employment_and_adoption,
                month_kernels.ramp_adoption,
                month_kernels.month_totals,
                demography.close_firms,
                demography.place_entrants,
            )
        ),
        "pid": os.getpid(),
    }


def test_workers_start_with_one_blas_thread_and_loaded_kernels():
    states = {}
    with LocalProcesses(2) as executor:
        executor.run(worker_state, [(k,) for k in range(4)], states.__setitem__)
    assert len(states) == 4
    for state in states.values():
        assert state["preloaded"]
        assert state["blas_threads"] and set(state["blas_threads"]) == {1}
        assert state["kernels_loaded"]
        assert state["pid"] != os.getpid()


def test_the_parents_environment_is_left_as_it_was():
    before = {name: os.environ.get(name) for name in ONE_BLAS_THREAD}
    with LocalProcesses(1) as executor:
        executor.run(worker_state, [(0,)], lambda *_: None)
    assert {name: os.environ.get(name) for name in ONE_BLAS_THREAD} == before
