"""`changwon-sim brief RESULTS [--lang ko|en] [--baseline RESULTS] [--year YEAR ...]`.

Like the other commands it only parses and calls the library (`sim.report.brief.write.write_brief`);
bad input becomes `sim.cli.common.InputError` (exit 2, one line), and the written files are
printed, one per line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import EXIT_OK, InputError


def add_brief_command(subparsers) -> argparse.ArgumentParser:
    """Add the `brief` subcommand to the `changwon-sim` subparsers; returns its parser."""
    brief = subparsers.add_parser(
        "brief",
        help="write a policy brief (markdown and self-contained HTML) from a results folder",
        description=(
            "Write brief.md and brief.html (brief.ko.md / brief.ko.html in Korean) into a "
            "results folder of `changwon-sim run`, with the figures they show. An existing "
            "brief is never overwritten: the next is named brief-2, brief-3, ..."
        ),
    )
    brief.add_argument("results", type=Path, help="a results folder written by `run`")
    brief.add_argument(
        "--lang", choices=("ko", "en"), default="ko", help="language of the brief (default: ko)"
    )
    brief.add_argument(
        "--baseline",
        type=Path,
        help="results folder of the baseline scenario, run with the same seed and replicates",
    )
    brief.add_argument(
        "--year",
        type=int,
        action="append",
        dest="years",
        metavar="YEAR",
        help="year(s) the summary quotes (default: the second and the last full year)",
    )
    brief.set_defaults(command=command_brief)
    return brief


def command_brief(args: argparse.Namespace) -> int:
    from sim.report.brief.folders import BriefError
    from sim.report.brief.write import write_brief

    try:
        paths = write_brief(args.results, args.lang, args.baseline, years=args.years)
    except BriefError as error:
        raise InputError(str(error)) from None
    for path in paths:
        print(path)
    return EXIT_OK
