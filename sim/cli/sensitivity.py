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
from sim.cli.running import add_limit_options, check_estimate, estimate

METHOD_CHOICES = ("sobol", "morris", "delta")
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
            "plus a dummy factor whose index is the noise floor. Writes "
            "OUT/<name>/sensitivity-<run-id>/ with indices.csv, figures and manifest.json."
        ),
    )
    parser.add_argument("scenario", type=Path, metavar="SCENARIO")
    parser.add_argument(
        "--method",
        choices=METHOD_CHOICES,
        default="sobol",
        help="sobol: variance shares with intervals (default); morris: cheap screening; "
        "delta: moment-independent, from any sample",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        metavar="N",
        help="base samples: Sobol' N (a power of 2; N*(factors+2) points, default 512), "
        "Morris trajectories (default 50), delta points (default 1024)",
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
        "'none' to skip)",
    )
    parser.add_argument(
        "--replicates-per-point",
        type=replicates_spec,
        default=4,
        metavar="R",
        help="replicates averaged at each design point (default 4)",
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
    from sim.analysis.sensitivity.design import (
        DEFAULT_SAMPLES,
        SensitivityError,
        check_samples,
        resolve_outputs,
        scenario_factors,
    )
    from sim.analysis.sensitivity.results import write_sensitivity_results
    from sim.analysis.sensitivity.run import run_sensitivity
    from sim.ensemble.execution import default_workers, make_executor

    method = args.method
    samples = args.samples or DEFAULT_SAMPLES[method]
    try:
        if args.second_order and method != "sobol":
            raise SensitivityError("--second-order needs --method sobol")
        check_samples(method, samples)
        factors = scenario_factors(scenario)
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
    simulations = points * args.replicates_per_point
    if simulations > MAX_SIMULATIONS:
        raise InputError(
            f"the design has {points:,} points x {args.replicates_per_point} replicates = "
            f"{simulations:,} simulations, above the cap of {MAX_SIMULATIONS:,}; use fewer "
            "--samples or --replicates-per-point"
        )
    check_estimate(args, estimate(args, scenario, simulations))
    started = time.time()
    try:
        with (
            executor,
            progress_bar(points * args.replicates_per_point, f"{scenario.name} ({method})") as bar,
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
                on_chunk_done=bar,
            )
    except SensitivityError as error:
        raise InputError(str(error)) from None
    except KeyboardInterrupt:
        print(
            "interrupted: finished chunks are kept; run the same command with --resume to continue",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    extra = {
        "executor": executor.description,
        "wall_seconds": round(time.time() - started, 3),
    }
    from sim.report.result_figures import sensitivity_figures

    folder = write_sensitivity_results(
        args.out,
        scenario,
        result,
        figures=None if args.no_figures else sensitivity_figures,
        manifest_extra=extra,
    )
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(folder)
    return EXIT_OK


def _points(method: str, samples: int, factors: int, second_order: bool) -> int:
    """Design points of a method (for the progress bar's total)."""
    if method == "sobol":
        return samples * (2 * factors + 2 if second_order else factors + 2)
    if method == "morris":
        return samples * (factors + 1)
    return samples
