"""`changwon-sim compare BASE ALTERNATIVE ...`: run scenarios with common random numbers (the base's
seed and replicates for all) and write their paired differences
(`sim.ensemble.results.write_compare_results`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import EXIT_OK, InputError, check_out_folder, disk_errors
from sim.cli.running import (
    add_lang_option,
    add_run_options,
    command_line,
    figure_langs,
    guard,
    run_scenario,
    write_run_folder,
)


def add_compare_command(subparsers) -> argparse.ArgumentParser:
    """Add the `compare` subcommand to the `changwon-sim` subparsers; returns its parser."""
    compare = subparsers.add_parser(
        "compare",
        help="run scenarios with common random numbers and write paired differences",
        description="Run a base scenario and alternatives with the same seeds and parameter "
        "draws (common random numbers); write each scenario's results folder and "
        "results/compare-<base>-vs-<alternatives>/<run-id>/ with differences.csv (paired "
        "differences by year), levels.csv and charts. Example: changwon-sim compare "
        "scenarios/baseline.yaml scenarios/us_tariff_15.yaml --replicates 200",
    )
    compare.add_argument(
        "base",
        type=Path,
        metavar="BASE",
        help="the reference scenario, e.g. scenarios/baseline.yaml",
    )
    compare.add_argument(
        "alternatives",
        type=Path,
        nargs="+",
        metavar="ALT",
        help="one or more scenarios compared with BASE, e.g. scenarios/us_tariff_15.yaml",
    )
    add_run_options(compare)
    add_lang_option(compare)
    compare.set_defaults(command=command_compare)
    return compare


def command_compare(args: argparse.Namespace) -> int:
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
    from sim.ensemble.tables import annual_summary, compare_annual
    from sim.report.headline import compare_headline
    from sim.report.run_folder import compare_manifest, write_compare_folder

    quantiles = base.outputs.quantiles
    annual = {name: run.annual() for name, run in runs.items()}
    tables = {
        a.name: compare_annual(annual[base.name], annual[a.name], quantiles) for a in alternatives
    }
    summaries = {name: annual_summary(table, quantiles) for name, table in annual.items()}
    # Each scenario's own results folder too, so that `brief ALT --baseline BASE` can pair them.
    run_folders = {s.name: write_run_folder(runs[s.name], s, args) for s in (base, *alternatives)}
    manifest = compare_manifest(
        base,
        alternatives,
        {name: run.manifest for name, run in runs.items()},
        run_folders,
        seed=seed,
        replicates=replicates,
        command_line=command_line(args),
    )
    with disk_errors(args.out / compare_name, None):
        folder = write_compare_folder(
            args.out,
            base.name,
            tables,
            summaries,
            manifest,
            figure_langs=None if args.no_figures else figure_langs(args),
        )
    from sim.report.headline import next_steps_compare

    lines = []
    for alternative in alternatives:
        lines += compare_headline(
            tables[alternative.name],
            base=base.name,
            alternative=alternative.name,
            replicates=replicates,
            lang=args.lang,
        )
        paths = manifest["inputs_that_differ"][alternative.name]
        lines.append(
            f"inputs of {alternative.name} that differ from {base.name} (each drawn with the "
            f"same uniform in both): {', '.join(paths) if paths else 'none'}"
        )
    lines += next_steps_compare(folder, list(run_folders.values()))
    print("\n".join(lines))
    return EXIT_OK
