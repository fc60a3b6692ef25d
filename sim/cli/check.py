"""`changwon-sim check SCENARIO ...`: validate scenario files without running them; every file's
problems at once, one line each. Imports only the scenario loader, so it stays quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import EXIT_INVALID, EXIT_OK, one_line


def add_check_command(subparsers) -> argparse.ArgumentParser:
    """Add the `check` subcommand to the `changwon-sim` subparsers; returns its parser."""
    check = subparsers.add_parser(
        "check",
        help="validate scenario files without running them",
        description="Validate scenario files: every problem of every file, one line each, "
        "exit code 2 if any. Example: changwon-sim check scenarios/*.yaml",
    )
    check.add_argument(
        "scenarios",
        type=Path,
        nargs="+",
        metavar="SCENARIO",
        help="scenario files, e.g. scenarios/baseline.yaml scenarios/us_tariff_15.yaml",
    )
    check.set_defaults(command=command_check)
    return check


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
