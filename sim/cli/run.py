"""`changwon-sim run SCENARIO`: run every replicate of a scenario and write its results folder
(`sim.ensemble.results.write_run_results`, with the fan charts of
`sim.report.result_figures.fan_figures` unless --no-figures).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import EXIT_OK, check_out_folder
from sim.cli.running import (
    add_lang_option,
    add_run_options,
    figure_langs,
    guard,
    run_scenario,
    write_run_folder,
)


def add_run_command(subparsers) -> argparse.ArgumentParser:
    """Add the `run` subcommand to the `changwon-sim` subparsers; returns its parser."""
    run = subparsers.add_parser(
        "run",
        help="run a scenario and write its results folder",
        description="Run every replicate of a scenario and write results/<name>/<run-id>/: "
        "annual.csv and annual.xlsx, inputs.csv, summary.json, monthly.parquet, fan charts. "
        "Example: changwon-sim run scenarios/us_tariff_15.yaml --replicates 200 --seed 7",
    )
    run.add_argument(
        "scenario",
        type=Path,
        metavar="SCENARIO",
        help="scenario file, e.g. scenarios/us_tariff_15.yaml",
    )
    add_run_options(run)
    add_lang_option(run)
    run.set_defaults(command=command_run)
    return run


def command_run(args: argparse.Namespace) -> int:
    from sim.ensemble.execution import start_local_workers_early
    from sim.inputs.scenario_files import load_scenario

    scenario = load_scenario(args.scenario)
    check_out_folder(args.out, scenario.name)
    start_local_workers_early(args.workers, args.scheduler)
    guard(args, [scenario])
    with figure_drawers(args) as drawers:
        # Figures are drawn by the drawers, if there are any, else here once the tables are written.
        here = drawers is None and not args.no_figures
        run = run_scenario(
            scenario,
            args,
            tail=prepare_figures if here else prepare_results,
            aside=None if drawers is None else drawers.start,
        )
        from sim.ensemble.tables import annual_summary
        from sim.report.headline import next_steps_run, run_headline

        summary = annual_summary(run.annual(), scenario.outputs.quantiles)  # before the chunks go
        figures = None
        if drawers is not None:
            replicates = run.manifest["replicates"]
            title = scenario.title or scenario.name
            figures = drawers.fan_figures(summary, replicates, figure_langs(args), title)
        folder = write_run_folder(run, scenario, args, figures)
    lines = run_headline(
        summary,
        title=scenario.title or scenario.name,
        replicates=run.manifest["replicates"],
        lang=args.lang,
    )
    lines += next_steps_run(
        folder,
        args.scenario,
        run.manifest["seed"],
        run.manifest["replicates"],
        _baseline_beside(args.scenario, scenario.name),
    )
    print("\n".join(lines))
    return EXIT_OK


def _baseline_beside(path: Path, name: str) -> Path | None:
    """scenarios/baseline.yaml next to the scenario file, unless the scenario is the baseline."""
    candidate = path.parent / "baseline.yaml"
    if name == "baseline" or not candidate.is_file() or candidate.resolve() == path.resolve():
        return None
    return candidate


def prepare_results() -> None:
    """Imports of the results folder's writers, made while the last chunks run."""
    import pyarrow.parquet  # noqa: F401

    import sim.ensemble.results
    import sim.report.headline
    import sim.report.workbook  # noqa: F401


def prepare_figures() -> None:
    """As `prepare_results`, plus the plotting modules and a first drawing (fonts loaded)."""
    prepare_results()
    from sim.report.figure_processes import warm_up

    warm_up()


def figure_drawers(args: argparse.Namespace):
    """Processes that draw the figures while this one writes the tables
    (`sim.report.figure_processes`), when the run has local workers (their forkserver forks
    the drawers); else none (a context giving None), and figures are drawn here."""
    import contextlib

    from sim.ensemble.execution import local_processes

    if args.no_figures or not local_processes(args.workers, args.scheduler):
        return contextlib.nullcontext()
    from sim.report.figure_processes import FigureProcesses

    return FigureProcesses()
