"""`changwon-sim calibrate [--preset full|quick] [--seed S] [--workers N | --scheduler ADDRESS]
[--out DIR] [--no-figures]`: fit the calibrated parameters and write the posterior, fit.json and
the fit report (`sim.analysis.calibration.fit.calibrate`, `sim.analysis.calibration.report`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import (
    EXIT_OK,
    PRESET_CHOICES,
    Progress,
    check_out_folder,
    scheduler_address,
    seed_number,
    worker_count,
)


def add_calibrate_command(subparsers) -> argparse.ArgumentParser:
    """Add the `calibrate` subcommand to the `changwon-sim` subparsers; returns its parser."""
    from sim.inputs.paths import CALIBRATION_DIR

    calibrate = subparsers.add_parser(
        "calibrate",
        help="fit the calibrated parameters to the 2020-2024 figures; write the posterior",
        description=(
            "Fit the parameters of kind `calibrated` (and the hindcast's demand and labour "
            "productivity growth) to calibration/targets.yaml by the method of simulated moments "
            "with common random numbers, then draw the posterior by ABC-SMC. Writes "
            "posterior_draws.csv, fit.json and fit_report/ into --out (default: calibration/), "
            "which runs then draw their parameters from. The same command and seed give the same "
            "files whatever --workers."
        ),
    )
    calibrate.add_argument(
        "--preset",
        choices=PRESET_CHOICES,
        default="full",
        help="full: the committed fit (about 35 minutes on one core); quick: a smoke test "
        "on a reduced population in seconds, not a fit to use; e.g. --preset quick",
    )
    calibrate.add_argument(
        "--seed", type=seed_number, help="override the preset's seed, e.g. --seed 20240601"
    )
    where = calibrate.add_mutually_exclusive_group()
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
    calibrate.add_argument(
        "--out",
        type=Path,
        default=CALIBRATION_DIR,
        help=f"folder of the fit (default: {CALIBRATION_DIR}), e.g. --out /tmp/fit",
    )
    calibrate.add_argument(
        "--no-figures", action="store_true", help="skip the report's figures (faster)"
    )
    calibrate.set_defaults(command=command_calibrate)
    return calibrate


def command_calibrate(args: argparse.Namespace) -> int:
    import dataclasses
    import time

    from sim.analysis.calibration.fit import calibrate
    from sim.analysis.calibration.problem import PRESETS
    from sim.analysis.calibration.report import write_fit
    from sim.ensemble.execution import default_workers

    check_out_folder(args.out)
    settings = PRESETS[args.preset]
    if args.seed is not None:
        settings = dataclasses.replace(settings, seed=args.seed)
    workers = args.workers or default_workers()
    command = f"changwon-sim calibrate --preset {args.preset} --seed {settings.seed}"
    started = time.time()
    with Progress() as progress:
        fit = calibrate(
            settings,
            workers,
            progress=progress.update,
            log=progress.log,
            scheduler=args.scheduler,
        )
    identifier = write_fit(fit, args.out, command, figures=not args.no_figures)
    print(f"{identifier}: {args.out} ({(time.time() - started) / 60:.1f} min)")
    return EXIT_OK
