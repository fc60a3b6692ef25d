"""The `calibrate` and `validate` commands.

    changwon-sim calibrate [--preset full|quick] [--seed S] [--workers N] [--out DIR]
                           [--no-figures]
    changwon-sim validate  [--preset full|quick] [--seed S] [--workers N] [--out DIR]
                           [--posterior DIR] [--replicates N] [--reference N]

Wired into `sim.cli.main` with one line in `build_parser`: `add_calibrate_commands(sub)`. Only
parses and calls `sim.analysis.calibration.fit` / `sim.analysis.calibration.validation`. Cheap to
import, and `sim.cli.main` is imported inside the functions, so `sim.cli.main` may import this
module at its top.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PRESET_CHOICES = ("full", "quick")


def add_calibrate_commands(subparsers) -> None:
    """Add `calibrate` and `validate` to the `changwon-sim` subparsers."""
    from sim.cli.main import non_negative_int, positive_int
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
        help="full: the committed fit (about 5 minutes on 2 quiet cores); quick: a smoke test "
        "on a reduced population in seconds, not a fit to use",
    )
    calibrate.add_argument("--seed", type=non_negative_int, help="override the preset's seed")
    where = calibrate.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="worker processes (default: all cores)")
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="simulate on an existing Dask cluster (tcp://host:8786)",
    )
    calibrate.add_argument(
        "--out",
        type=Path,
        default=CALIBRATION_DIR,
        help=f"folder of the fit (default: {CALIBRATION_DIR})",
    )
    calibrate.add_argument("--no-figures", action="store_true", help="skip the report's figures")
    calibrate.set_defaults(command=command_calibrate)

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
    validate.add_argument("--preset", choices=PRESET_CHOICES, default="full")
    validate.add_argument("--seed", type=non_negative_int, help="override the preset's seed")
    where = validate.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="worker processes (default: all cores)")
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="simulate on an existing Dask cluster (tcp://host:8786)",
    )
    validate.add_argument(
        "--out",
        type=Path,
        default=CALIBRATION_DIR / "validation",
        help="report folder (default: calibration/validation); replaced whole",
    )
    validate.add_argument(
        "--posterior",
        type=Path,
        default=CALIBRATION_DIR,
        help="folder holding the fit's posterior_draws.csv (default: calibration/)",
    )
    validate.add_argument(
        "--replicates", type=positive_int, help="hindcast replicates (default: the preset's)"
    )
    validate.add_argument(
        "--reference",
        type=positive_int,
        help="prior simulations of the rolling checks' reference table (default: the preset's)",
    )
    validate.add_argument("--no-figures", action="store_true", help="skip the figures")
    validate.set_defaults(command=command_validate)


def command_calibrate(args: argparse.Namespace) -> int:
    import dataclasses
    import time

    from sim.analysis.calibration.fit import calibrate
    from sim.analysis.calibration.problem import PRESETS
    from sim.analysis.calibration.report import write_fit
    from sim.cli.main import EXIT_OK, check_out_folder
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


def command_validate(args: argparse.Namespace) -> int:
    import dataclasses

    from sim.analysis.calibration.validation import PRESETS, validate
    from sim.cli.main import EXIT_OK, InputError, check_out_folder
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


class Progress:
    """One tqdm bar per stage on a terminal; silent in logs and pipes (stage notes go to
    stderr only on a terminal too)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.stage = None

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.tty:
            return
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit="step", leave=False)
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def log(self, message: str) -> None:
        if self.tty:
            self.close()
            print(message, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.stage = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
