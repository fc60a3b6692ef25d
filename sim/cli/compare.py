"""`changwon-sim compare BASE ALTERNATIVE ...`: run scenarios with common random numbers (the base's
seed and replicates for all) and write their paired differences
(`sim.ensemble.results.write_compare_results`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import EXIT_OK, InputError, check_out_folder, disk_errors
from sim.cli.running import add_run_options, guard, run_scenario


def add_compare_command(subparsers) -> argparse.ArgumentParser:
    """Add the `compare` subcommand to the `changwon-sim` subparsers; returns its parser."""
    compare = subparsers.add_parser(
        "compare", help="run scenarios with common random numbers and write paired differences"
    )
    compare.add_argument("base", type=Path)
    compare.add_argument("alternatives", type=Path, nargs="+")
    add_run_options(compare)
    compare.set_defaults(command=command_compare)
    return compare


def command_compare(args: argparse.Namespace) -> int:
    import hashlib

    from sim.inputs.scenario_errors import ScenarioError
    from sim.inputs.scenario_files import load_scenario

    loaded, problems = [], []
    for path in (args.base, *args.alternatives):
        try:
            loaded.append(load_scenario(path))
        except ScenarioError as error:  # every file's problems, all at once
            problems.extend(error.messages)
    if problems:
        raise ScenarioError(problems)
    base, *alternatives = loaded
    names = [base.name, *(a.name for a in alternatives)]
    if len(set(names)) != len(names):
        raise InputError(f"compared scenarios need distinct names (got {', '.join(names)})")
    for alternative in alternatives:
        if alternative.period != base.period:
            raise InputError(
                f"{alternative.name} covers {alternative.period.start}..{alternative.period.end} "
                f"but {base.name} covers {base.period.start}..{base.period.end}: compared "
                "scenarios need the same period"
            )
    from sim.ensemble.results import compare_folder_name

    compare_name = compare_folder_name(base.name, [a.name for a in alternatives])
    for name in (*names, compare_name):
        check_out_folder(args.out, name)
    # Every scenario runs with the base's seed and replicates: common random numbers.
    replicates = args.replicates or base.runs.replicates
    seed = base.runs.seed if args.seed is None else args.seed
    guard(args, [base, *alternatives], replicates, seed)
    runs = {
        s.name: run_scenario(s, args, replicates=replicates, seed=seed)
        for s in (base, *alternatives)
    }
    from sim.ensemble.results import write_compare_results
    from sim.ensemble.tables import annual_summary, compare_annual
    from sim.report.result_figures import compare_figures

    quantiles = base.outputs.quantiles
    annual = {name: run.annual() for name, run in runs.items()}
    tables = {
        a.name: compare_annual(annual[base.name], annual[a.name], quantiles) for a in alternatives
    }
    summaries = {name: annual_summary(table, quantiles) for name, table in annual.items()}
    combined = hashlib.sha256(
        "".join(run.manifest["scenario_hash"] for run in runs.values()).encode()
    ).hexdigest()
    manifest = {
        "command": "compare",
        "base": base.name,
        "alternatives": [a.name for a in alternatives],
        "seed": seed,
        "replicates": replicates,
        "runs": {name: run.manifest for name, run in runs.items()},
    }
    with disk_errors(args.out / compare_name, None):
        folder = write_compare_results(
            args.out,
            base.name,
            [a.name for a in alternatives],
            tables,
            summaries,
            manifest,
            scenario_hash=combined,
            figures=None if args.no_figures else compare_figures,
        )
    for run in runs.values():
        run.store.discard()
    print(folder)
    return EXIT_OK
