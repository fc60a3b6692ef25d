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
    run = run_scenario(scenario, args, tail=prepare_results if args.no_figures else prepare_figures)
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


def prepare_results() -> None:
    """Imports of the results folder's writers, made while the last chunks run."""
    import pyarrow.parquet  # noqa: F401

    import sim.ensemble.results  # noqa: F401


def prepare_figures() -> None:
    """As `prepare_results`, plus the plotting modules and a first drawing (fonts loaded)."""
    prepare_results()
    from sim.report.plots import figure_png_bytes, new_axes
    from sim.report.result_figures import fan_figures  # noqa: F401

    ax = new_axes()  # a first drawing loads the fonts and text layout
    ax.plot([2025, 2026], [1.0, 2.0])
    ax.set_title("2025")
    figure_png_bytes(ax.figure)
