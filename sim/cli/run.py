"""`changwon-sim run SCENARIO`: run every replicate of a scenario and write its results folder
(`sim.ensemble.results.write_run_results`, with the fan charts of
`sim.report.result_figures.fan_figures` unless --no-figures).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import EXIT_OK, check_out_folder, disk_errors
from sim.cli.running import add_run_options, guard, run_scenario


def add_run_command(subparsers) -> argparse.ArgumentParser:
    """Add the `run` subcommand to the `changwon-sim` subparsers; returns its parser."""
    run = subparsers.add_parser("run", help="run a scenario and write its results folder")
    run.add_argument("scenario", type=Path)
    add_run_options(run)
    run.set_defaults(command=command_run)
    return run


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
