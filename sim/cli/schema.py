"""`changwon-sim schema`: print the JSON Schema of scenario files, for editors."""

from __future__ import annotations

import argparse
import json

from sim.cli.common import EXIT_OK


def add_schema_command(subparsers) -> argparse.ArgumentParser:
    """Add the `schema` subcommand to the `changwon-sim` subparsers; returns its parser."""
    schema = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of scenario files",
        description="Print the JSON Schema of scenario files (every key, its default and "
        "allowed values), for an editor's YAML plugin. Example: changwon-sim schema > "
        "scenario.schema.json",
    )
    schema.set_defaults(command=command_schema)
    return schema


def command_schema(args: argparse.Namespace) -> int:
    from sim.inputs.scenario_files import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK
