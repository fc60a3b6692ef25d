"""`changwon-sim params [--format table|csv|json] [--sources]`: every model parameter of the
registry with its value, range, kind, unit and source, its citations spelled out from
`calibration/SOURCES.md`; with --sources, the published sources themselves.
"""

from __future__ import annotations

import argparse
import json
import sys

from sim.cli.common import EXIT_OK


def add_params_command(subparsers) -> argparse.ArgumentParser:
    """Add the `params` subcommand to the `changwon-sim` subparsers; returns its parser."""
    params = subparsers.add_parser(
        "params",
        help="list every model parameter with its range and source",
        description="List every model parameter (value, range, kind, unit, source, and the "
        "published sources it cites), or with --sources every published source. "
        "Example: changwon-sim params --format csv > parameters.csv",
    )
    params.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table for reading (default), csv for a spreadsheet, json for programs, "
        "e.g. --format csv",
    )
    params.add_argument(
        "--sources",
        action="store_true",
        help="list the published sources (outlet, date, what it says, what uses it) instead, "
        "e.g. changwon-sim params --sources",
    )
    params.set_defaults(command=command_params)
    return params


def command_params(args: argparse.Namespace) -> int:
    from sim.inputs.sources import load_sources

    sources = load_sources()
    rows = _source_rows(sources) if args.sources else _parameter_rows(sources)
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif args.sources:
        for r in rows:
            print(f"{r['key']}  [{r['section']}. {r['topic']}]")
            print(f"    {r['outlet']}, {r['date']}")
            print(f"    says: {r['says']}")
            print(f"    used for: {r['used_for']}")
    else:
        width = max(len(r["name"]) for r in rows)
        print(f"{'name':<{width}}  {'value':>10}  {'range':>23}  {'kind':<11} source")
        for r in rows:
            span = f"[{r['low']:.4g}, {r['high']:.4g}]"
            print(
                f"{r['name']:<{width}}  {r['value']:>10.4g}  {span:>23}  {r['kind']:<11} "
                f"{r['source']}"
            )
            if r["references"]:
                print(f"{'':<{width}}  {'':>10}  {'':>23}  {'':<11} = {r['references']}")
    return EXIT_OK


def _parameter_rows(sources) -> list[dict]:
    from sim.inputs.parameters import load_registry

    return [
        {
            "name": s.name,
            "value": s.value,
            "low": s.low,
            "high": s.high,
            "kind": s.kind,
            "unit": s.unit,
            "source": sources.spell_out(s.source),
            "references": sources.references(s.source),
        }
        for s in load_registry().values()
    ]


def _source_rows(sources) -> list[dict]:
    return [
        {
            "key": e.key,
            "section": e.section,
            "topic": e.topic,
            "outlet": e.outlet,
            "date": e.date,
            "says": e.says,
            "used_for": e.used_for,
        }
        for e in sources.entries
    ]
