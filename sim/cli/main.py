"""The command line: `changwon-sim` (also `python -m sim`).

Only parses arguments and calls library functions; heavy modules are imported inside the
commands that need them, so `check` stays quick. Exit codes: 0 success, 1 unexpected failure,
2 invalid input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import MODEL_VERSION, __version__

EXIT_OK, EXIT_FAILURE, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


class InputError(Exception):
    """Invalid input found outside the scenario file (a folder, a flag value)."""


class Interrupted(Exception):
    """Work stopped by the user; what was finished is kept."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    from sim.inputs.scenario_errors import ScenarioError

    try:
        return args.command(args)
    except ScenarioError as error:
        for line in error.messages:
            print(one_line(line), file=sys.stderr)
        return EXIT_INVALID
    except InputError as error:
        print(one_line(f"error: {error}"), file=sys.stderr)
        return EXIT_INVALID
    except WriteError as error:
        print(one_line(f"error: {error}"), file=sys.stderr)
        return EXIT_FAILURE
    except Interrupted as interrupted:
        print(f"interrupted: {interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted: no result was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last line of defence: one line, not a traceback
        print(one_line(f"error: {type(error).__name__}: {error}"), file=sys.stderr)
        return EXIT_FAILURE


class WriteError(Exception):
    """The disk refused a write (full, read-only, quota); what was finished is kept."""


#: Characters that `str.splitlines` breaks a line at: never printed raw inside one message.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def one_line(text: str) -> str:
    """A message on one line: a line break inside it (from a key or a file name) is escaped."""
    return "".join(repr(char)[1:-1] if char in _LINE_BREAKS else char for char in text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="changwon-sim",
        description="Agent-based forecasts for the Changwon National Industrial Complex.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and write its results folder")
    run.add_argument("scenario", type=Path)
    add_run_options(run)
    run.set_defaults(command=command_run)

    compare = sub.add_parser(
        "compare", help="run scenarios with common random numbers and write paired differences"
    )
    compare.add_argument("base", type=Path)
    compare.add_argument("alternatives", type=Path, nargs="+")
    add_run_options(compare)
    compare.set_defaults(command=command_compare)

    check = sub.add_parser("check", help="validate scenario files without running them")
    check.add_argument("scenarios", type=Path, nargs="+")
    check.set_defaults(command=command_check)

    schema = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.set_defaults(command=command_schema)

    params = sub.add_parser("params", help="list every model parameter with its range and source")
    params.add_argument("--format", choices=("table", "csv", "json"), default="table")
    params.set_defaults(command=command_params)

    from sim.cli.brief import add_brief_command
    from sim.cli.calibrate import add_calibrate_commands
    from sim.cli.sensitivity import add_sensitivity_command

    add_sensitivity_command(sub)
    add_calibrate_commands(sub)
    add_brief_command(sub)
    return parser


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replicates", type=positive_int, help="override the scenario's runs")
    parser.add_argument("--seed", type=non_negative_int, help="override the scenario's seed")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="worker processes (default: all cores)")
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster (tcp://host:8786)"
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


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {text})")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number (got {text})") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0 (got {text})")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number (got {text})") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative (got {text})")
    return value


# --- commands -------------------------------------------------------------------------------------


def command_check(args: argparse.Namespace) -> int:
    from sim.inputs.scenario_errors import ScenarioError
    from sim.inputs.scenario_files import load_scenario

    problems: list[str] = []
    for path in args.scenarios:
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            problems.extend(error.messages)
            continue
        print(
            f"ok: {path}: {scenario.name}, {scenario.period.start}..{scenario.period.end}, "
            f"{scenario.runs.replicates} replicates, {len(scenario.uncertain)} uncertain inputs"
        )
    for line in problems:
        print(one_line(line), file=sys.stderr)
    return EXIT_INVALID if problems else EXIT_OK


def command_schema(args: argparse.Namespace) -> int:
    from sim.inputs.scenario_files import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def command_params(args: argparse.Namespace) -> int:
    from sim.inputs.parameters import load_registry

    rows = [
        {
            "name": s.name,
            "value": s.value,
            "low": s.low,
            "high": s.high,
            "kind": s.kind,
            "unit": s.unit,
            "source": s.source,
        }
        for s in load_registry().values()
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        width = max(len(r["name"]) for r in rows)
        print(f"{'name':<{width}}  {'value':>10}  {'range':>23}  {'kind':<11} source")
        for r in rows:
            span = f"[{r['low']:.4g}, {r['high']:.4g}]"
            print(
                f"{r['name']:<{width}}  {r['value']:>10.4g}  {span:>23}  {r['kind']:<11} "
                f"{r['source']}"
            )
    return EXIT_OK


def command_run(args: argparse.Namespace) -> int:
    from sim.inputs.scenario_files import load_scenario

    scenario = load_scenario(args.scenario)
    check_out_folder(args.out, scenario.name)
    guard(args, [scenario])
    run = run_scenario(scenario, args)
    from sim.ensemble.results import write_run_results
    from sim.report.result_figures import fan_figures

    with disk_errors(args.out / scenario.name, run.store):
        folder = write_run_results(
            args.out,
            scenario.name,
            run.yaml,
            run.manifest["scenario_hash"],
            run.manifest,
            run.monthly,
            scenario.outputs.quantiles,
            figures=None if args.no_figures else fan_figures,
        )
    run.store.discard()  # the result is complete: its chunks are no longer needed
    print(folder)
    return EXIT_OK


def command_compare(args: argparse.Namespace) -> int:
    import hashlib

    from sim.inputs.scenario_errors import ScenarioError
    from sim.inputs.scenario_files import load_scenario

    loaded, problems = [], []
    for path in (args.base, *args.alternatives):
        try:
            loaded.append(load_scenario(path))
        except ScenarioError as error:  # every file's problems, all at once
            problems.extend(error.messages)
    if problems:
        raise ScenarioError(problems)
    base, *alternatives = loaded
    names = [base.name, *(a.name for a in alternatives)]
    if len(set(names)) != len(names):
        raise InputError(f"compared scenarios need distinct names (got {', '.join(names)})")
    for alternative in alternatives:
        if alternative.period != base.period:
            raise InputError(
                f"{alternative.name} covers {alternative.period.start}..{alternative.period.end} "
                f"but {base.name} covers {base.period.start}..{base.period.end}: compared "
                "scenarios need the same period"
            )
    from sim.ensemble.results import compare_folder_name

    compare_name = compare_folder_name(base.name, [a.name for a in alternatives])
    for name in (*names, compare_name):
        check_out_folder(args.out, name)
    # Every scenario runs with the base's seed and replicates: common random numbers.
    replicates = args.replicates or base.runs.replicates
    seed = base.runs.seed if args.seed is None else args.seed
    guard(args, [base, *alternatives], replicates)
    runs = {
        s.name: run_scenario(s, args, replicates=replicates, seed=seed)
        for s in (base, *alternatives)
    }
    from sim.ensemble.results import write_compare_results
    from sim.ensemble.tables import annual_summary, compare_annual
    from sim.report.result_figures import compare_figures

    quantiles = base.outputs.quantiles
    annual = {name: run.annual() for name, run in runs.items()}
    tables = {
        a.name: compare_annual(annual[base.name], annual[a.name], quantiles) for a in alternatives
    }
    summaries = {name: annual_summary(table, quantiles) for name, table in annual.items()}
    combined = hashlib.sha256(
        "".join(run.manifest["scenario_hash"] for run in runs.values()).encode()
    ).hexdigest()
    manifest = {
        "command": "compare",
        "base": base.name,
        "alternatives": [a.name for a in alternatives],
        "seed": seed,
        "replicates": replicates,
        "runs": {name: run.manifest for name, run in runs.items()},
    }
    with disk_errors(args.out / compare_name, None):
        folder = write_compare_results(
            args.out,
            base.name,
            [a.name for a in alternatives],
            tables,
            summaries,
            manifest,
            scenario_hash=combined,
            figures=None if args.no_figures else compare_figures,
        )
    for run in runs.values():
        run.store.discard()
    print(folder)
    return EXIT_OK


# --- shared by run and compare --------------------------------------------------------------------


def check_out_folder(out: Path, name: str = "") -> None:
    """The results root and the scenario's folder in it must be folders (or not exist yet) that
    can be written, as must the nearest existing folder above them (where they will be made)."""
    import os

    folder = out / name if name else out
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not probe.is_dir():
        raise InputError(f"--out {out}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: cannot write to {probe}")


def guard(args: argparse.Namespace, scenarios: list, replicates: int | None = None) -> None:
    """Refuse a run estimated above --max-minutes or --max-memory-gb (or the free disk space)
    unless --yes; see `sim.ensemble.guards`."""
    from sim.ensemble.guards import (
        LimitError,
        check_limits,
        estimate_run,
        free_disk_bytes,
        machine_memory_bytes,
    )

    if args.scheduler:
        workers = None  # a cluster: its size and memory are not known here
    else:
        from sim.ensemble.execution import default_workers

        workers = args.workers or default_workers()
    estimates = [
        estimate_run(
            replicates or args.replicates or s.runs.replicates, s.period.months, workers=workers
        )
        for s in scenarios
    ]
    total = sum(estimates[1:], estimates[0])
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


class disk_errors:
    """Turn an OSError while writing (disk full, read-only, quota) into a one-line WriteError
    naming the folder and saying what was kept."""

    def __init__(self, folder: Path, store: Any) -> None:
        self.folder, self.store = folder, store

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        import errno
        import os

        disk = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
        if not isinstance(error, OSError) or error.errno not in disk:
            return False  # e.g. a Dask scheduler that cannot be reached is not a disk problem
        reason = error.strerror or os.strerror(error.errno or 0) or str(error)
        kept = ""
        if self.store is not None and self.store.finished():
            kept = (
                f"; the finished chunks are kept in {self.store.folder}: free space, then run "
                "the same command with --resume"
            )
        raise WriteError(f"cannot write to {self.folder}: {reason}{kept}") from None


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
    """Run every replicate of a scenario (resuming from saved chunks if asked)."""
    import platform

    import mesa
    import numpy as np

    from sim.ensemble.execution import (
        CHUNK_REPLICATES,
        ChunkStore,
        chunks,
        job_id,
        make_executor,
        period_months,
        run_replicates,
    )
    from sim.inputs.parameters import registry_id
    from sim.inputs.scenario_files import resolved_yaml, scenario_hash

    replicates = replicates or args.replicates or scenario.runs.replicates
    seed = seed if seed is not None else (scenario.runs.seed if args.seed is None else args.seed)
    executor = make_executor(args.workers, args.scheduler)
    digest = scenario_hash(scenario)
    calibration = registry_id()
    key = job_id(
        digest,
        seed,
        replicates,
        args.fixed_parameters,
        MODEL_VERSION,
        calibration,
        CHUNK_REPLICATES,
    )
    store = ChunkStore(args.out / scenario.name / ".jobs" / key)
    total = len(chunks(replicates))
    kept = len(store.finished())
    if args.restart:
        store.discard()
    elif kept and not args.resume:
        raise InputError(
            f"{kept} of {total} chunks of an interrupted run of {scenario.name} are kept in "
            f"{store.folder}: add --resume to finish it, or --restart to discard them"
        )
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
        raise Interrupted(
            f"{done} of {total} chunks of {scenario.name} are kept; run the same command with "
            "--resume to finish"
        ) from None
    manifest = {
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_hash": digest,
        "seed": seed,
        "replicates": replicates,
        "seeding": "numpy SeedSequence(seed, spawn_key=(replicate, stream))",
        "parameters": "central values" if args.fixed_parameters else "drawn per replicate",
        "calibration_id": calibration,
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


class progress_bar:
    """A tqdm bar on a terminal; silent in logs and pipes."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.bar = total, label, None

    def __enter__(self):
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=self.label, unit="replicate", leave=False)
            return self.bar.update
        return None

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
