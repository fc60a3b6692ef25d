"""`changwon-sim params [--format table|csv|json]`: every model parameter of the registry with its
value, range, kind, unit and source.
"""

from __future__ import annotations

import argparse
import json
import sys

from sim.cli.common import EXIT_OK


def add_params_command(subparsers) -> argparse.ArgumentParser:
    """Add the `params` subcommand to the `changwon-sim` subparsers; returns its parser."""
    params = subparsers.add_parser(
        "params", help="list every model parameter with its range and source"
    )
    params.add_argument("--format", choices=("table", "csv", "json"), default="table")
    params.set_defaults(command=command_params)
    return params


def command_params(args: argparse.Namespace) -> int:
    from sim.inputs.parameters import load_registry

    rows = [
        {
            "name": s.name,
            "value": s.value,
            "low": s.low,
            "high": s.high,
            "kind": s.kind,
            "unit": s.unit,
            "source": s.source,
        }
        for s in load_registry().values()
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        width = max(len(r["name"]) for r in rows)
        print(f"{'name':<{width}}  {'value':>10}  {'range':>23}  {'kind':<11} source")
        for r in rows:
            span = f"[{r['low']:.4g}, {r['high']:.4g}]"
            print(
                f"{r['name']:<{width}}  {r['value']:>10.4g}  {span:>23}  {r['kind']:<11} "
                f"{r['source']}"
            )
    return EXIT_OK
