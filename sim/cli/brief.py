"""`changwon-sim brief RESULTS [--lang ko|en] [--baseline RESULTS]
[--format md|html|docx|hwpx|pdf ...] [--title TEXT] [--year YEAR ...]`.

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
        help="write a policy brief (Markdown, HTML, Word or PDF) from a results folder",
        description=(
            "Write brief.<format> (brief.ko.<format> in Korean) into a results folder of "
            "`changwon-sim run`, with the figures it shows; a new brief replaces the previous "
            "one of the same language and format. Example: changwon-sim brief "
            "results/us-tariff-15/<run-id> --baseline results/baseline/<run-id> --format docx"
        ),
    )
    brief.add_argument(
        "results",
        type=Path,
        metavar="RESULTS",
        help="a results folder written by `run`, "
        "e.g. results/us-tariff-15/20250801T120000Z-1a2b3c4d",
    )
    brief.add_argument(
        "--lang",
        choices=("ko", "en"),
        default="ko",
        help="language of the brief (default: ko), e.g. --lang en",
    )
    brief.add_argument(
        "--baseline",
        type=Path,
        metavar="RESULTS",
        help="results folder of the baseline scenario, run with the same seed and replicates, "
        "e.g. --baseline results/baseline/20250801T115500Z-9f8e7d6c",
    )
    brief.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=FORMAT_CHOICES,
        metavar="FORMAT",
        help="md, html, docx (Word), hwpx (Hangul) or pdf; repeat for several (default: md and "
        "html), e.g. --format docx --format hwpx",
    )
    brief.add_argument(
        "--title",
        help="the brief's title, instead of the scenario's (a Korean brief of a scenario with an "
        "English title gets a Korean one made from its contents), e.g. --title '미국 관세 15%%'",
    )
    brief.add_argument(
        "--year",
        type=int,
        action="append",
        dest="years",
        metavar="YEAR",
        help="year(s) the summary quotes (default: the second and the last full year), "
        "e.g. --year 2026 --year 2030",
    )
    brief.set_defaults(command=command_brief)
    return brief


FORMAT_CHOICES = ("md", "html", "docx", "hwpx", "pdf")


def command_brief(args: argparse.Namespace) -> int:
    from sim.report.brief.folders import BriefError
    from sim.report.brief.write import DEFAULT_FORMATS, write_brief

    try:
        paths = write_brief(
            args.results,
            args.lang,
            args.baseline,
            years=args.years,
            formats=args.formats or DEFAULT_FORMATS,
            title=args.title,
        )
    except BriefError as error:
        raise InputError(str(error)) from None
    for path in paths:
        print(path)
    return EXIT_OK
