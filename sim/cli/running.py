"""Running scenarios from the command line, shared by `run` and `compare`: the run options, the
guard against jobs above the time, memory or disk limits, and running every replicate of a
scenario in chunks (resuming from saved chunks when asked).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import MODEL_VERSION
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
        "--replicates",
        type=replicate_count,
        metavar="N",
        help="number of runs (1..100,000), instead of the scenario's `runs.replicates`, "
        "e.g. --replicates 200",
    )
    parser.add_argument(
        "--seed",
        type=seed_number,
        metavar="S",
        help="master seed, instead of the scenario's `runs.seed` (the same seed gives the same "
        "results), e.g. --seed 7",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=worker_count,
        metavar="N",
        help="worker processes on this machine (default: all cores), e.g. --workers 2",
    )
    where.add_argument(
        "--scheduler",
        type=scheduler_address,
        metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. --scheduler tcp://10.0.0.5:8786",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="results root (default: ./results), e.g. --out /data/changwon-results",
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
        help="refuse a job estimated to take longer than M minutes (default 60), unless --yes; "
        "e.g. --max-minutes 180",
    )
    parser.add_argument(
        "--max-memory-gb",
        type=positive_float,
        metavar="GB",
        help="refuse a job estimated to need more memory (default: this machine's), unless "
        "--yes; e.g. --max-memory-gb 8",
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
    of the firms over them (`net_entry_rate`) and, with --resume, the chunks already saved."""
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
        firm_growth=net_entry_rate(scenario_inputs(scenario).ranges),
        saved=saved,
    )


def net_entry_rate(ranges) -> float:
    """The fastest yearly growth of the firms a replicate can draw: entries at the top of their
    range, exits (other than by distress) at the bottom of theirs."""
    return max(0.0, ranges["entry_rate"][1] - ranges["exit_rate"][0])


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
    from sim.inputs.scenario_files import scenario_hash, with_runs

    if seed is None:
        seed = scenario.runs.seed if args.seed is None else args.seed
    key = job_id(
        scenario_hash(with_runs(scenario, replicates, seed)),
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

    def inputs(self):
        from sim.ensemble.execution import inputs_table

        return inputs_table(self.store, self.parts, self.manifest["seed"])

    def annual(self):
        import pandas as pd

        from sim.ensemble.tables import annual_table

        return pd.concat([annual_table(chunk) for chunk in self.monthly()], ignore_index=True)


class Tail:
    """Work for this process while a run's last chunks are running, once at most
    `start_when_left` replicates are left, when a worker, and so a core, would otherwise be idle:
    `prepare` (imports and first drawing of what writing the results folder needs) in a thread,
    and `aside` (quick: it starts processes that draw the figures) at once in this one. `wait`
    joins the thread. With one worker the simulation runs in this process, so both start at the
    end.
    """

    def __init__(
        self,
        prepare: Callable[[], None] | None,
        left: int,
        start_when_left: int,
        aside: Callable[[], None] | None = None,
    ):
        self.prepare, self.aside = prepare, aside
        self.left, self.start_when_left = left, start_when_left
        self.started = False
        self.thread: threading.Thread | None = None
        self.finished(0)

    def finished(self, count: int) -> None:
        self.left -= count
        if self.started or self.left > self.start_when_left:
            return
        self.started = True
        if self.aside is not None:
            self.aside()
        if self.prepare is not None:
            self.thread = threading.Thread(target=self.prepare, daemon=True)
            self.thread.start()

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()


def run_scenario(
    scenario,
    args,
    replicates: int | None = None,
    seed: int | None = None,
    tail: Callable[[], None] | None = None,
    aside: Callable[[], None] | None = None,
) -> Run:
    """Run every replicate of a scenario (resuming from saved chunks if asked). `tail`, if
    given, is called in a thread of this process while the last chunks run, and `aside` in this
    thread at the same moment (see `Tail`); `tail` has finished when this returns."""
    from sim.ensemble.execution import (
        CHUNK_REPLICATES,
        chunks,
        make_executor,
        period_months,
        run_replicates,
    )
    from sim.ensemble.locks import JobBusy
    from sim.ensemble.results import run_manifest
    from sim.inputs.scenario_files import resolved_yaml, with_runs

    replicates = replicates or args.replicates or scenario.runs.replicates
    seed = seed if seed is not None else (scenario.runs.seed if args.seed is None else args.seed)
    store = job_store(scenario, args, replicates, seed)
    # scenario.yaml, its hash and so the run id record what was run, command-line overrides too.
    scenario = with_runs(scenario, replicates, seed)
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
    workers = executor.description.get("workers")  # none given for a cluster: it is elsewhere
    ending = Tail(
        tail,
        replicates,
        replicates if workers is None else (workers - 1) * CHUNK_REPLICATES,
        aside,
    )

    def finished(count: int) -> None:
        ending.finished(count)
        if advance is not None:
            advance(count)

    try:
        with (
            executor,
            disk_errors(store.folder, store),
            progress_bar(replicates, scenario.name) as advance,
        ):
            parts = run_replicates(
                scenario, replicates, seed, args.fixed_parameters, executor, store, finished
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
    manifest = run_manifest(
        scenario,
        seed=seed,
        replicates=replicates,
        fixed_parameters=args.fixed_parameters,
        command_line=command_line(args),
        executor=executor.description,
        seconds=time.time() - started,
        resumed_chunks=kept if args.resume else 0,
    )
    ending.wait()
    return Run(store, parts, period_months(scenario), manifest, resolved_yaml(scenario))


def command_line(args: argparse.Namespace) -> str:
    """The command as typed (for manifests), quoted so that it can be pasted into a shell."""
    import shlex

    return shlex.join(["changwon-sim", *getattr(args, "argv", [])])


def write_run_folder(run: Run, scenario, args: argparse.Namespace, figures=None) -> Path:
    """Write a finished run's results folder (annual.csv and .xlsx, inputs.csv, summary, monthly
    Parquet, fan charts unless --no-figures: drawn here, or given by `figures` if they are drawn
    elsewhere); its chunks are discarded once it is complete."""
    from sim.report.run_folder import write_run_folder as write_folder

    with disk_errors(args.out / scenario.name, run.store):
        folder = write_folder(
            args.out,
            scenario,
            run.manifest,
            run.monthly,
            run.inputs(),
            yaml=run.yaml,
            figure_langs=None if args.no_figures else figure_langs(args),
            figures=figures,
        )
    run.store.discard()  # the result is complete: its chunks are no longer needed
    return folder


def figure_langs(args: argparse.Namespace) -> tuple[str, ...]:
    """The languages figures are drawn in: --lang, else English."""
    return (getattr(args, "lang", None) or "en",)


def add_lang_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        choices=("en", "ko"),
        default="en",
        help="language of the figures and of the summary printed at the end (default: en), "
        "e.g. --lang ko",
    )
