"""Running many replicates: chunks of replicates, run in this process or in worker processes.

A chunk's result depends only on the scenario, the seed and its replicate numbers (see
`sim.runner`), so the assembled table is the same whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
import pandas as pd

from sim.calendar import format_month
from sim.indicators import INDICATOR_NAMES
from sim.runner import run_replicate

CHUNK_REPLICATES = 25


def run_chunk(scenario, seed: int, replicates: range, fixed_parameters: bool) -> np.ndarray:
    """Indicators of a run of consecutive replicates: (replicates, months, indicators)."""
    return np.stack(
        [run_replicate(scenario, seed, r, fixed_parameters).indicators for r in replicates]
    )


def chunks(replicates: int, size: int = CHUNK_REPLICATES) -> list[range]:
    return [range(start, min(start + size, replicates)) for start in range(0, replicates, size)]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_ensemble(
    scenario,
    replicates: int,
    seed: int,
    workers: int = 1,
    fixed_parameters: bool = False,
    on_chunk_done: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Every replicate's monthly indicators as one table (replicate, month, indicators...)."""
    parts = chunks(replicates)
    results: list[np.ndarray] = [None] * len(parts)  # type: ignore[list-item]
    if workers <= 1 or len(parts) == 1:
        for k, part in enumerate(parts):
            results[k] = run_chunk(scenario, seed, part, fixed_parameters)
            if on_chunk_done:
                on_chunk_done(len(part))
    else:
        # forkserver: forking a process that already runs threads (BLAS, pyarrow) is unsafe.
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {
                pool.submit(run_chunk, scenario, seed, part, fixed_parameters): k
                for k, part in enumerate(parts)
            }
            for future in as_completed(futures):
                k = futures[future]
                results[k] = future.result()
                if on_chunk_done:
                    on_chunk_done(len(parts[k]))
    cube = np.concatenate(results)
    months = [
        format_month(m) for m in range(scenario.period.start_month, scenario.period.end_month + 1)
    ]
    return monthly_table(cube, months)


def monthly_table(cube: np.ndarray, months: list[str]) -> pd.DataFrame:
    """(replicates, months, indicators) -> the long table of `monthly.parquet`."""
    n_rep, n_month, _ = cube.shape
    table = pd.DataFrame(cube.reshape(n_rep * n_month, -1), columns=list(INDICATOR_NAMES))
    table.insert(0, "month", np.tile(np.array(months, dtype=object), n_rep))
    table.insert(0, "replicate", np.repeat(np.arange(n_rep, dtype=np.int64), n_month))
    return table
