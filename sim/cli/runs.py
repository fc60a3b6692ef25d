"""`changwon-sim runs [--out DIR]`: the results folders present, newest first, with their
scenario, seed, replicates and date (`sim.ensemble.listing.list_results`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import EXIT_OK


def add_runs_command(subparsers) -> argparse.ArgumentParser:
    """Add the `runs` subcommand to the `changwon-sim` subparsers; returns its parser."""
    runs = subparsers.add_parser(
        "runs",
        help="list the results folders present, newest first",
        description="List the results folders of run, compare and sensitivity under --out, "
        "newest first. Example: changwon-sim runs --out results",
    )
    runs.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="results root to list (default: ./results), e.g. --out /data/changwon-results",
    )
    runs.set_defaults(command=command_runs)
    return runs


def command_runs(args: argparse.Namespace) -> int:
    from sim.ensemble.listing import list_results

    entries = list_results(args.out)
    if not entries:
        print(f"no results under {args.out}")
        return EXIT_OK
    rows = [
        (
            e.created_utc.replace("T", " ").removesuffix("Z")[:16] or "?",
            e.kind,
            e.scenario,
            "" if e.seed is None else str(e.seed),
            "" if e.replicates is None else f"{e.replicates:,}",
            str(e.path),
        )
        for e in entries
    ]
    header = ("created (UTC)", "kind", "scenario", "seed", "replicates", "folder")
    widths = [max(len(r[k]) for r in (header, *rows)) for k in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [row[k].ljust(widths[k]) for k in range(len(widths))]
        print("  ".join([*cells, row[-1]]))
    return EXIT_OK
