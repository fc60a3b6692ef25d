"""The `sensitivity` command: which uncertain inputs drive a scenario's forecast.

    changwon-sim sensitivity SCENARIO [--method sobol|morris|delta] [--samples N]
        [--output KPI[:YEAR] ...] [--through-time KPI] [--replicates-per-point R] [--seed S]
        [--workers N] [--out DIR] [--resume] [--second-order] [--fixed-parameters]
        [--no-figures]

Only parses and calls `sim.analysis.sensitivity` (`run_sensitivity`, `write_sensitivity_results`,
with the figures of `sim.report.result_figures.sensitivity_figures`). Cheap to import (no numpy,
no SALib at module level).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
    check_out_folder,
    positive_int,
    progress_bar,
    scheduler_address,
    seed_number,
    worker_count,
)
from sim.cli.running import add_limit_options, estimate

METHOD_CHOICES = ("sobol", "morris", "delta")
FACTOR_CHOICES = ("scenario", "all")
#: Simulations (design points x replicates per point) an analysis may ask for, even with --yes:
#: ten times the replicates of the largest run.
MAX_SIMULATIONS = 1_000_000


def add_sensitivity_command(subparsers) -> argparse.ArgumentParser:
    """Add the `sensitivity` subcommand to `subparsers` (from `add_subparsers`); returns it."""
    parser = subparsers.add_parser(
        "sensitivity",
        help="rank the scenario's uncertain inputs by how much they drive chosen outputs",
        description=(
            "Global sensitivity analysis of a scenario: its `uncertain` inputs are the factors, "
            "with the national drivers it leaves open as one grouped factor (a draw of the "
            "driver model), plus a dummy factor whose index is the noise floor. Writes "
            "OUT/<name>/sensitivity-<run-id>/ with indices.csv, figures and manifest.json. "
            "Example: changwon-sim sensitivity scenarios/us_tariff_15.yaml --baseline "
            "scenarios/baseline.yaml --samples 16"
        ),
    )
    parser.add_argument(
        "scenario",
        type=Path,
        metavar="SCENARIO",
        help="scenario file, e.g. scenarios/us_tariff_15.yaml",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="BASE",
        help="analyse the effect SCENARIO minus BASE, paired run by run (common random numbers, "
        "so the noise both share cancels), e.g. --baseline scenarios/baseline.yaml",
    )
    parser.add_argument(
        "--factors",
        choices=FACTOR_CHOICES,
        default="scenario",
        help="scenario: the scenario's `uncertain` inputs and the drivers (default); all: also "
        "every model parameter over its range, the calibration posterior as one factor, "
        "e.g. --factors all",
    )
    parser.add_argument(
        "--method",
        choices=METHOD_CHOICES,
        default="sobol",
        help="sobol: variance shares with intervals (default); morris: cheap screening; "
        "delta: moment-independent, from any sample; e.g. --method morris",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        metavar="N",
        help="base samples: Sobol' N (a power of 2; N*(factors+2) points, default 512), "
        "Morris trajectories (default 50), delta points (default 1024); e.g. --samples 64",
    )
    parser.add_argument(
        "--output",
        nargs="+",
        type=output_spec,
        metavar="KPI[:YEAR]",
        help="indicators to explain, e.g. exports_usd:2027 (default: production_krw, "
        "exports_usd and employment in the last full year)",
    )
    parser.add_argument(
        "--through-time",
        type=through_time_spec,
        metavar="KPI",
        help="also show indices year by year for this indicator (default: the first output's; "
        "'none' to skip), e.g. --through-time exports_usd",
    )
    parser.add_argument(
        "--replicates-per-point",
        type=replicates_spec,
        default=4,
        metavar="R",
        help="replicates averaged at each design point (default 4), e.g. --replicates-per-point 8",
    )
    parser.add_argument(
        "--seed", type=seed_number, help="override the scenario's seed, e.g. --seed 7"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=worker_count,
        help="worker processes (default: all cores), e.g. --workers 2",
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
        help="results root (default: ./results), e.g. --out /data/changwon-results",
    )
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="reuse the finished chunks of an interrupted run with the same settings",
    )
    again.add_argument(
        "--restart", action="store_true", help="discard an interrupted run's chunks, start over"
    )
    parser.add_argument(
        "--second-order",
        action="store_true",
        help="also estimate pairwise interactions (Sobol' only; about twice the points)",
    )
    parser.add_argument(
        "--fixed-parameters",
        action="store_true",
        help="hold the parameters that are not factors at their central values (by default "
        "they are drawn per replicate, as in `run`, and count as the model's own randomness)",
    )
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    parser.add_argument(
        "--lang",
        choices=("en", "ko"),
        default="en",
        help="language of the figures (default: en), e.g. --lang ko",
    )
    add_limit_options(parser)
    parser.set_defaults(command=command_sensitivity)
    return parser


def output_spec(text: str) -> str:
    """argparse type of `--output`: a known indicator, optionally ':YEAR' (checked later
    against the scenario's period)."""
    from sim.model.indicators import INDICATORS

    name, sep, year = text.strip().partition(":")
    if name not in INDICATORS:
        import difflib

        close = difflib.get_close_matches(name, list(INDICATORS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise argparse.ArgumentTypeError(f"unknown indicator '{name}'{hint}")
    if sep and not (year.isdigit() and len(year) == 4):
        raise argparse.ArgumentTypeError(f"the year must have four digits (got '{text}')")
    return text.strip()


def through_time_spec(text: str) -> str:
    """argparse type of `--through-time`: a known indicator or 'none'."""
    if text.strip().lower() == "none":
        return "none"
    name = output_spec(text)
    if ":" in name:
        raise argparse.ArgumentTypeError(f"give an indicator without a year (got '{text}')")
    return name


def replicates_spec(text: str) -> int:
    value = positive_int(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(f"must be at most 1000 (got {text})")
    return value


def command_sensitivity(args: argparse.Namespace) -> int:
    """Run the analysis and write its results folder; prints the folder's path.

    Scenario problems raise `ScenarioError` (exit 2 in `sim.cli.main.main`); impossible requests
    (a year outside the period, a sample size the method cannot use) raise `InputError`. An
    interruption keeps the finished chunks and exits 130: `--resume` then continues.
    """
    from sim.inputs.scenario_files import load_scenario

    scenario = load_scenario(args.scenario)
    baseline = load_scenario(args.baseline) if args.baseline is not None else None
    from sim.analysis.sensitivity.design import (
        DEFAULT_SAMPLES,
        SensitivityError,
        all_factors,
        check_samples,
        resolve_outputs,
        scenario_factors,
    )
    from sim.analysis.sensitivity.results import write_sensitivity_results
    from sim.analysis.sensitivity.run import run_sensitivity
    from sim.ensemble.execution import default_workers, make_executor
    from sim.model.macro_paths import draws_drivers

    method = args.method
    samples = args.samples or DEFAULT_SAMPLES[method]
    try:
        if args.second_order and method != "sobol":
            raise SensitivityError("--second-order needs --method sobol")
        check_samples(method, samples)
        extra = list(baseline.uncertain.items()) if baseline is not None else []
        if baseline is not None and baseline.period != scenario.period:
            raise SensitivityError(
                f"--baseline {args.baseline}: it covers {baseline.period.start}.."
                f"{baseline.period.end} but {scenario.name} covers {scenario.period.start}.."
                f"{scenario.period.end}; a paired effect needs the same period"
            )
        # The drivers are a factor if either scenario leaves any to the driver model.
        drivers = draws_drivers(scenario.macro) or (
            baseline is not None and draws_drivers(baseline.macro)
        )
        if args.factors == "all":
            factors = all_factors(scenario, extra, drivers)
        else:
            factors = scenario_factors(scenario, extra, drivers)
        outputs = resolve_outputs(scenario, args.output)
    except SensitivityError as error:
        raise InputError(str(error)) from None
    through_time = args.through_time or outputs[0].indicator
    through_time = None if through_time == "none" else through_time
    check_out_folder(args.out)
    seed = scenario.runs.seed if args.seed is None else args.seed
    workers = args.workers or default_workers()
    executor = make_executor(workers, args.scheduler)
    points = _points(method, samples, len(factors), args.second_order)
    simulations = points * args.replicates_per_point * (2 if baseline is not None else 1)
    if simulations > MAX_SIMULATIONS:
        raise InputError(
            f"the design has {points:,} points x {args.replicates_per_point} replicates"
            + (" x 2 scenarios" if baseline is not None else "")
            + f" = {simulations:,} simulations, above the cap of {MAX_SIMULATIONS:,}; use fewer "
            "--samples or --replicates-per-point"
        )
    _guard(args, scenario, simulations, workers, len(factors), points)
    started = time.time()
    try:
        with (
            executor,
            progress_bar(simulations, f"{scenario.name} ({method})") as bar,
        ):
            result = run_sensitivity(
                scenario,
                method=method,
                samples=samples,
                outputs=outputs,
                through_time=through_time,
                replicates_per_point=args.replicates_per_point,
                seed=seed,
                workers=workers,
                executor=executor,
                second_order=args.second_order,
                fixed_parameters=args.fixed_parameters,
                factors=factors,
                out_root=args.out,
                resume=args.resume,
                restart=args.restart,
                on_chunk_done=None if bar is None else _scaled(bar, baseline is not None),
                baseline=baseline,
            )
    except SensitivityError as error:
        raise InputError(str(error)) from None
    except KeyboardInterrupt:
        print(
            "interrupted: finished chunks are kept; run the same command with --resume to continue",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    from sim.cli.running import command_line

    extra = {
        "executor": executor.description,
        "wall_seconds": round(time.time() - started, 3),
        "factor_set": args.factors,
        "command_line": command_line(args),
    }
    from functools import partial

    from sim.report.result_figures import sensitivity_figures

    folder = write_sensitivity_results(
        args.out,
        scenario,
        result,
        figures=None if args.no_figures else partial(sensitivity_figures, lang=args.lang),
        manifest_extra=extra,
    )
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(folder)
    return EXIT_OK


def _guard(
    args: argparse.Namespace,
    scenario,
    simulations: int,
    workers: int,
    factors: int,
    points: int,
) -> None:
    """Say up front how big the analysis is, and refuse one above --max-minutes or
    --max-memory-gb unless --yes (the estimate of `run`, for as many replicates)."""
    from sim.ensemble.guards import LimitError, check_limits, machine_memory_bytes

    months = scenario.period.months
    size_estimate = estimate(args, scenario, simulations)
    where = "on a Dask cluster" if args.scheduler else f"on {workers} worker(s)"
    size = (
        f"{factors} factors, {points:,} design points x {args.replicates_per_point} replicates"
        + (" x 2 scenarios" if args.baseline is not None else "")
        + f" = {simulations:,} simulations of {months} months {where}"
    )
    if size_estimate.seconds is not None:
        size += f": {size_estimate.describe().split(',')[0]}"
    print(f"sensitivity: {size}", file=sys.stderr)
    max_memory = args.max_memory_gb * 1e9 if args.max_memory_gb else machine_memory_bytes()
    try:
        # The chunks of a sensitivity analysis hold outputs, not months: no disk limit needed.
        check_limits(size_estimate, args.max_minutes * 60, max_memory, args.yes, None)
    except LimitError as error:
        message = str(error).split(") ", 1)[-1]
        message = message.replace(
            "Use fewer --replicates or --workers",
            "Use fewer --samples, --replicates-per-point or factors",
        )
        raise InputError(f"this analysis ({size}) {message}") from None


def _scaled(advance, paired: bool):
    """Progress counts simulations: a paired point runs the scenario and the baseline."""
    if not paired:
        return advance
    return lambda n: advance(2 * n)


def _points(method: str, samples: int, factors: int, second_order: bool) -> int:
    """Design points of a method (for the progress bar's total)."""
    if method == "sobol":
        return samples * (2 * factors + 2 if second_order else factors + 2)
    if method == "morris":
        return samples * (factors + 1)
    return samples
