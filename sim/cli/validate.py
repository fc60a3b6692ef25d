"""`changwon-sim validate [--preset full|quick] [--seed S] [--workers N | --scheduler ADDRESS]
[--out DIR] [--posterior DIR] [--replicates N] [--reference N] [--no-figures]`: the 2020-2024
hindcast with the fitted posterior and rolling out-of-sample checks
(`sim.analysis.calibration.validation.validate`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import (
    EXIT_OK,
    PRESET_CHOICES,
    InputError,
    Progress,
    check_out_folder,
    scheduler_address,
    seed_number,
    worker_count,
)
from sim.cli.running import replicate_count


def add_validate_command(subparsers) -> argparse.ArgumentParser:
    """Add the `validate` subcommand to the `changwon-sim` subparsers; returns its parser."""
    from sim.inputs.paths import CALIBRATION_DIR

    validate = subparsers.add_parser(
        "validate",
        help="hindcast 2020-2024 with the fitted posterior and rolling out-of-sample checks",
        description=(
            "Write a validation report folder: the 2020-2024 hindcast with the fitted "
            "posterior (errors, and how often the reported figure lies inside the 50% and 90% "
            "intervals), and rolling checks that fit through year Y (ABC rejection on a "
            "reference table of prior simulations) and forecast Y+1 and Y+2."
        ),
    )
    validate.add_argument(
        "--preset",
        choices=PRESET_CHOICES,
        default="full",
        help="full: the committed validation; quick: a smoke test in seconds; e.g. --preset quick",
    )
    validate.add_argument(
        "--seed", type=seed_number, help="override the preset's seed, e.g. --seed 20240601"
    )
    where = validate.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=worker_count,
        help="worker processes (default: all cores), e.g. --workers 2",
    )
    where.add_argument(
        "--scheduler",
        type=scheduler_address,
        metavar="ADDRESS",
        help="simulate on an existing Dask cluster, e.g. --scheduler tcp://10.0.0.5:8786",
    )
    validate.add_argument(
        "--out",
        type=Path,
        default=CALIBRATION_DIR / "validation",
        help="report folder (default: calibration/validation); replaced whole; "
        "e.g. --out /tmp/validation",
    )
    validate.add_argument(
        "--posterior",
        type=Path,
        default=CALIBRATION_DIR,
        help="folder holding the fit's posterior_draws.csv (default: calibration/), "
        "e.g. --posterior /tmp/fit",
    )
    validate.add_argument(
        "--replicates",
        type=replicate_count,
        help="hindcast replicates, 1..100,000 (default: the preset's), e.g. --replicates 100",
    )
    validate.add_argument(
        "--reference",
        type=replicate_count,
        help="prior simulations of the rolling checks' reference table (default: the "
        "preset's), e.g. --reference 1000",
    )
    validate.add_argument("--no-figures", action="store_true", help="skip the figures")
    validate.set_defaults(command=command_validate)
    return validate


def command_validate(args: argparse.Namespace) -> int:
    import dataclasses

    from sim.analysis.calibration.validation import PRESETS, validate
    from sim.ensemble.execution import default_workers
    from sim.inputs.parameters import POSTERIOR_FILE

    if not (args.posterior / POSTERIOR_FILE).is_file():
        raise InputError(
            f"--posterior {args.posterior}: no {POSTERIOR_FILE}; run `changwon-sim calibrate` first"
        )
    check_out_folder(args.out.parent)
    settings = PRESETS[args.preset]
    changes = {
        "seed": args.seed,
        "replicates": args.replicates,
        "reference": args.reference,
    }
    settings = dataclasses.replace(settings, **{k: v for k, v in changes.items() if v is not None})
    workers = args.workers or default_workers()
    with Progress() as progress:
        folder = validate(
            settings,
            args.out,
            args.posterior,
            workers,
            figures=not args.no_figures,
            progress=progress.update,
            log=progress.log,
            scheduler=args.scheduler,
        )
    print(folder)
    return EXIT_OK
