"""The command line: `changwon-sim` (also `python -m sim`).

Only parses arguments and calls library functions; heavy modules are imported inside the
commands that need them, so `check` stays quick. Exit codes: 0 success, 1 unexpected failure,
2 invalid input, 130 interrupted. Each command is a module of `sim.cli` with an
`add_<command>_command(subparsers)` that adds its parser and a `command_<command>(args)` that
runs it; what several commands share is in `sim.cli.common` and `sim.cli.running`.
"""

from __future__ import annotations

import argparse
import sys

from sim import __version__
from sim.cli.brief import add_brief_command
from sim.cli.calibrate import add_calibrate_command
from sim.cli.check import add_check_command
from sim.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    InputError,
    Interrupted,
    WriteError,
    one_line,
    stop_signals_interrupt,
)
from sim.cli.compare import add_compare_command
from sim.cli.explore import add_explore_command
from sim.cli.params import add_params_command
from sim.cli.run import add_run_command
from sim.cli.runs import add_runs_command
from sim.cli.schema import add_schema_command
from sim.cli.sensitivity import add_sensitivity_command
from sim.cli.validate import add_validate_command
from sim.ensemble.locks import JobBusy


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    from sim.inputs.scenario_errors import ScenarioError

    try:
        # Run as the process's own command line (no `argv`), the process ends with the command.
        with stop_signals_interrupt(process_ends=argv is None):
            return args.command(args)
    except BrokenPipeError:
        # The reader stopped reading (`params | head`): nothing is wrong, so say nothing.
        _silence_stdout()
        return EXIT_OK
    except ScenarioError as error:
        for line in error.messages:
            print(one_line(line), file=sys.stderr)
        return EXIT_INVALID
    except InputError as error:
        print(one_line(f"error: {error}"), file=sys.stderr)
        return EXIT_INVALID
    except JobBusy as error:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="changwon-sim",
        description="Agent-based forecasts for the Changwon National Industrial Complex.",
        epilog="Example: changwon-sim run scenarios/us_tariff_15.yaml --replicates 200. "
        "`changwon-sim COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    add_run_command(sub)
    add_compare_command(sub)
    add_check_command(sub)
    add_schema_command(sub)
    add_params_command(sub)
    add_sensitivity_command(sub)
    add_calibrate_command(sub)
    add_validate_command(sub)
    add_brief_command(sub)
    add_runs_command(sub)
    add_explore_command(sub)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
