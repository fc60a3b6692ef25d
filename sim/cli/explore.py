"""`changwon-sim explore`: serve the exploration page (`sim.explore`) on this machine and open it
in a browser; Ctrl-C stops it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    InputError,
    non_negative_int,
    seed_number,
)
from sim.cli.running import replicate_count

DEFAULT_PORT = 8765


def add_explore_command(subparsers) -> argparse.ArgumentParser:
    """Add the `explore` subcommand to the `changwon-sim` subparsers; returns its parser."""
    explore = subparsers.add_parser(
        "explore",
        help="open the interactive page: policy sliders, fan charts against the baseline",
        description="Serve a page on this machine (127.0.0.1 only) with the main policy inputs "
        "(US tariff rate and start, AI-factory programme, a defence contract) and fan charts of "
        "production, exports and jobs against the baseline that fill in as runs arrive, with "
        "the effect by sector. Ctrl-C stops it. Example: changwon-sim explore --port 8800",
    )
    explore.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        metavar="P",
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one), e.g. --port 8800",
    )
    explore.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open a browser (open the printed address yourself), e.g. --no-browser",
    )
    explore.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help="the baseline the page adds its measures to (default scenarios/baseline.yaml), "
        "e.g. --scenario scenarios/us_tariff_15.yaml",
    )
    explore.add_argument(
        "--replicates",
        type=replicate_count,
        default=60,
        metavar="N",
        help="runs of each setting (default 60; more is slower and smoother), "
        "e.g. --replicates 200",
    )
    explore.add_argument(
        "--seed",
        type=seed_number,
        metavar="S",
        help="master seed, instead of the scenario's `runs.seed`, e.g. --seed 7",
    )
    explore.set_defaults(command=command_explore)
    return explore


def port_number(text: str) -> int:
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number, 0..65535 (got {text})")
    return value


def command_explore(args: argparse.Namespace) -> int:
    from sim.explore.ensemble import PageSettings
    from sim.explore.server import listening_socket, serve
    from sim.inputs.paths import SCENARIOS_DIR
    from sim.inputs.scenario_files import load_scenario

    baseline = load_scenario(args.scenario or SCENARIOS_DIR / "baseline.yaml")
    seed = baseline.runs.seed if args.seed is None else args.seed
    try:
        sock = listening_socket(args.port)
    except OSError as error:
        raise InputError(
            f"--port {args.port}: cannot listen on 127.0.0.1:{args.port} ({error.strerror}); "
            "choose another port, or --port 0 for any free one"
        ) from None

    def announce(url: str) -> None:
        print(f"Page: {url}  (Ctrl-C stops it)", flush=True)

    try:
        serve(PageSettings(baseline, args.replicates, seed), sock, not args.no_browser, announce)
    except KeyboardInterrupt:
        print("stopped: the page is closed", file=sys.stderr)
        return EXIT_INTERRUPTED
    # Stopping always comes as a signal: a server that ends by itself failed (its log says why).
    print("error: the page's server stopped", file=sys.stderr)
    return EXIT_FAILURE
