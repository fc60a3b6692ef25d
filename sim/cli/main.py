"""The command line: `changwon-sim` (also `python -m sim`).

Only parses arguments and calls library functions; heavy modules are imported inside the
commands that need them, so `check` stays quick. Exit codes: 0 success, 1 unexpected failure,
2 invalid input, 130 interrupted. Each command is a module of `sim.cli` with an
`add_<command>_command(subparsers)` that adds its parser and a `command_<command>(args)` that
runs it; what several commands share is in `sim.cli.common` and `sim.cli.running`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from sim import __version__
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
from sim.ensemble.locks import JobBusy

#: The commands, in the order `--help` lists them; each is the module `sim.cli.<command>`.
COMMANDS = (
    "run",
    "compare",
    "check",
    "schema",
    "params",
    "sensitivity",
    "calibrate",
    "validate",
    "brief",
    "runs",
    "explore",
)


def main(argv: list[str] | None = None) -> int:
    # Pydantic looks for plugins in every installed package's metadata the first time a model is
    # built (tens of milliseconds, most of them for nothing); the scenario's models have no use
    # for plugins. An explicit setting of the user's stands.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    parser = build_parser(sys.argv[1:] if argv is None else argv)
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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of the command `argv` starts with: a command's
    module is imported only when it can be asked for, so `check` starts quickly."""
    parser = argparse.ArgumentParser(
        prog="changwon-sim",
        description="Agent-based forecasts for the Changwon National Industrial Complex.",
        epilog="Example: changwon-sim run scenarios/us_tariff_15.yaml --replicates 200. "
        "`changwon-sim COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    named = argv[:1] if argv and argv[0] in COMMANDS else COMMANDS
    for name in named:
        module = importlib.import_module(f"sim.cli.{name}")
        getattr(module, f"add_{name}_command")(sub)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
