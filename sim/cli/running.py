"""Running scenarios from the command line, shared by `run` and `compare`: the run options, the
guard against jobs above the time, memory or disk limits, and running every replicate of a
scenario in chunks (resuming from saved chunks when asked).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import MODEL_VERSION, __version__
from sim.cli.common import (
    InputError,
    Interrupted,
    disk_errors,
    positive_float,
    positive_int,
    progress_bar,
    scheduler_address,
    seed_number,
    worker_count,
)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--replicates", type=replicate_count, help="override the scenario's runs (1..100,000)"
    )
    parser.add_argument("--seed", type=seed_number, help="override the scenario's seed")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=worker_count, help="worker processes (default: all cores)")
    where.add_argument(
        "--scheduler",
        type=scheduler_address,
        metavar="ADDRESS",
        help="run on an existing Dask cluster (tcp://host:8786)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("results"), help="results root (default: ./results)"
    )
    parser.add_argument(
        "--fixed-parameters",
        action="store_true",
        help="every replicate uses the central parameter values (no parameter uncertainty)",
    )
    parser.add_argument("--no-figures", action="store_true", help="skip the fan charts")
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="finish an interrupted run from its saved chunks"
    )
    again.add_argument(
        "--restart", action="store_true", help="discard an interrupted run's chunks, start over"
    )
    add_limit_options(parser)


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """--max-minutes, --max-memory-gb and --yes: the guard against jobs above the limits."""
    parser.add_argument(
        "--max-minutes",
        type=positive_float,
        default=60.0,
        metavar="M",
        help="refuse a run estimated to take longer than M minutes (default 60), unless --yes",
    )
    parser.add_argument(
        "--max-memory-gb",
        type=positive_float,
        metavar="GB",
        help="refuse a run estimated to need more memory (default: this machine's), unless --yes",
    )
    parser.add_argument(
        "--yes", action="store_true", help="run even if the estimate is above those limits"
    )


def replicate_count(text: str) -> int:
    """argparse type of `--replicates`: the same cap as a scenario file's `runs.replicates`."""
    from sim.inputs.scenario_fields import MAX_REPLICATES

    value = positive_int(text)
    if value > MAX_REPLICATES:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_REPLICATES:,} (got {text})")
    return value


def guard(
    args: argparse.Namespace,
    scenarios: list,
    replicates: int | None = None,
    seed: int | None = None,
) -> None:
    """Refuse a run estimated above --max-minutes or --max-memory-gb (or the free disk space)
    unless --yes; see `sim.ensemble.guards`. The estimate counts the period's months, the growth
    of the firms over them (entries at the top of the scenario's entry_rate range) and, with
    --resume, the chunks already saved."""
    from sim.ensemble.execution import chunks

    estimates = []
    for scenario in scenarios:
        count = replicates or args.replicates or scenario.runs.replicates
        saved = 0
        if args.resume:
            done = job_store(scenario, args, count, seed).finished()
            saved = sum(len(part) for i, part in enumerate(chunks(count)) if i in done)
        estimates.append(estimate(args, scenario, count, saved))
    check_estimate(args, sum(estimates[1:], estimates[0]))


def estimate(args: argparse.Namespace, scenario, replicates: int, saved: int = 0):
    """The `sim.ensemble.guards.Estimate` of `replicates` replicates of `scenario` where the
    command runs (--workers or --scheduler), `saved` of them already on disk."""
    from sim.ensemble.guards import estimate_run
    from sim.inputs.validity import scenario_inputs

    if args.scheduler:
        workers = None  # a cluster: its size and memory are not known here
    else:
        from sim.ensemble.execution import default_workers

        workers = args.workers or default_workers()
    return estimate_run(
        replicates,
        scenario.period.months,
        workers=workers,
        firm_growth=scenario_inputs(scenario).ranges["entry_rate"][1],
        saved=saved,
    )


def check_estimate(args: argparse.Namespace, total) -> None:
    """Raise `InputError` if `total` passes --max-minutes, --max-memory-gb or the free disk under
    --out, unless --yes."""
    from sim.ensemble.guards import (
        LimitError,
        check_limits,
        free_disk_bytes,
        machine_memory_bytes,
    )

    max_memory = args.max_memory_gb * 1e9 if args.max_memory_gb else machine_memory_bytes()
    try:
        check_limits(
            total,
            max_seconds=args.max_minutes * 60,
            max_memory_bytes=max_memory,
            confirmed=args.yes,
            free_disk_bytes=free_disk_bytes(args.out),
        )
    except LimitError as error:
        raise InputError(str(error)) from None


def job_store(scenario, args, replicates: int, seed: int | None):
    """The folder of this job's chunks: named by everything its results depend on."""
    from sim.ensemble.execution import CHUNK_REPLICATES, ChunkStore, job_id
    from sim.inputs.parameters import registry_id
    from sim.inputs.scenario_files import scenario_hash

    if seed is None:
        seed = scenario.runs.seed if args.seed is None else args.seed
    key = job_id(
        scenario_hash(scenario),
        seed,
        replicates,
        args.fixed_parameters,
        MODEL_VERSION,
        registry_id(),
        CHUNK_REPLICATES,
    )
    return ChunkStore(args.out / scenario.name / ".jobs" / key)


@dataclass
class Run:
    """A finished run of replicates, its chunks on disk."""

    store: Any
    parts: list
    months: list[str]
    manifest: dict
    yaml: str

    def monthly(self):
        from sim.ensemble.execution import monthly_chunks

        return monthly_chunks(self.store, self.parts, self.months)

    def annual(self):
        import pandas as pd

        from sim.ensemble.tables import annual_table

        return pd.concat([annual_table(chunk) for chunk in self.monthly()], ignore_index=True)


def run_scenario(scenario, args, replicates: int | None = None, seed: int | None = None) -> Run:
    """Run every replicate of a scenario (resuming from saved chunks if asked).

    The job's folder is locked for this process until its chunks are discarded (or the process
    ends): the same job started again into the same --out is refused (exit 2).
    """
    import platform

    import mesa
    import numpy as np

    from sim.ensemble.execution import chunks, make_executor, period_months, run_replicates
    from sim.ensemble.locks import JobBusy
    from sim.inputs.parameters import registry_id
    from sim.inputs.scenario_files import resolved_yaml, scenario_hash

    replicates = replicates or args.replicates or scenario.runs.replicates
    seed = seed if seed is not None else (scenario.runs.seed if args.seed is None else args.seed)
    store = job_store(scenario, args, replicates, seed)
    try:
        with disk_errors(store.folder, None):
            store.claim()
    except JobBusy as error:
        raise InputError(str(error)) from None
    except (NotADirectoryError, FileExistsError) as error:  # e.g. a file named .jobs
        raise InputError(f"--out {args.out}: {error.filename} is not a folder") from None
    total = len(chunks(replicates))
    kept = len(store.finished())
    if args.restart:
        store.remove_chunks()
    elif kept and not args.resume:
        store.lock.release()
        raise InputError(
            f"{kept} of {total} chunks of an interrupted run of {scenario.name} are kept in "
            f"{store.folder}: add --resume to finish it, or --restart to discard them"
        )
    executor = make_executor(args.workers, args.scheduler)
    started = time.time()
    try:
        with (
            executor,
            disk_errors(store.folder, store),
            progress_bar(replicates, scenario.name) as advance,
        ):
            parts = run_replicates(
                scenario, replicates, seed, args.fixed_parameters, executor, store, advance
            )
    except KeyboardInterrupt:
        done = len(store.finished())
        if not done:
            store.discard()
        store.lock.release()  # the kept chunks are for the next --resume, in any process
        raise Interrupted(
            f"{done} of {total} chunks of {scenario.name} are kept; run the same command with "
            "--resume to finish"
        ) from None
    except BaseException:
        if not store.finished():
            store.discard()  # nothing to resume: leave no empty job folder behind
        store.lock.release()
        raise
    manifest = {
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_hash": scenario_hash(scenario),
        "seed": seed,
        "replicates": replicates,
        "seeding": "numpy SeedSequence(seed, spawn_key=(replicate, stream))",
        "parameters": "central values" if args.fixed_parameters else "drawn per replicate",
        "calibration_id": registry_id(),
        "package_version": __version__,
        "model_version": MODEL_VERSION,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "mesa": mesa.__version__,
        },
        "executor": executor.description,
        "resumed_chunks": kept if args.resume else 0,
        "timings": {"simulation_seconds": round(time.time() - started, 3)},
    }
    return Run(store, parts, period_months(scenario), manifest, resolved_yaml(scenario))
