"""`changwon-sim validate`: how well the calibrated model reproduces 2020-2024 and how well its
forecasts, made the same way at past origins, held.

Three checks, written as a report folder (`validate`):

1. **Hindcast** with the fitted posterior: replicates of 2020-2024 from the 2020 population and the
   historical drivers, parameters drawn from `posterior_draws.csv` (by weight), the rest from their
   priors, uncertain drivers drawn. In sample: the same figures were fitted.

2. **Rolling-origin forecasts with the whole method** (`sim.analysis.calibration.rolling`): at
   each origin year the fit and the driver model are re-estimated on the data up to it, drivers
   are drawn, policies are as they were; forecasts of the next one and two years are scored
   against the first releases and against three benchmarks, and again conditional on the
   realised drivers.

3. **The national drivers' record** (`sim.analysis.drivers_record`): the driver model's own
   one-year-ahead forecasts from 2012 on, where the national series are long enough to score.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.analysis.calibration.fit import read_posterior_table
from sim.analysis.calibration.posterior import predictive
from sim.analysis.calibration.problem import Problem, Settings, Task, Workers, simulate
from sim.analysis.calibration.report import atomic_write, replace_folder
from sim.analysis.calibration.report_figures import LEVEL_UNITS
from sim.analysis.calibration.rolling import pooled_coverage, record, run_origins
from sim.analysis.calibration.targets import free_parameters, load_targets, prior_sample
from sim.analysis.calibration.validation_report import readme, write_figures, write_tables
from sim.analysis.drivers_record import rolling_driver_scores
from sim.inputs.parameters import CALIBRATION_DIR, registry_id


@dataclass(frozen=True)
class ValidationSettings:
    """What a validation depends on besides the data files and the posterior."""

    seed: int = 20240901
    replicates: int = 200  # hindcast replicates with the posterior
    reference: int = 800  # prior simulations of the rolling fits' reference table
    accept: float = 0.1  # share of the reference table kept for each origin
    origins: tuple[int, ...] = (2020, 2021, 2022, 2023)
    horizons: tuple[int, ...] = (1, 2)
    forecasts: int = 200  # forecast replicates per origin, with drawn and with realised drivers
    driver_origins: tuple[int, int] = (2012, 2023)  # the national drivers' rolling record
    driver_draws: int = 2000
    firms: int | None = None
    end: str | None = None


PRESETS: dict[str, ValidationSettings] = {
    "full": ValidationSettings(),
    "quick": ValidationSettings(
        replicates=8,
        reference=40,
        accept=0.25,
        origins=(2020, 2021),
        horizons=(1,),
        forecasts=8,
        driver_origins=(2019, 2021),
        driver_draws=200,
        firms=150,
        end="2022-12",
    ),
}


def validate(
    settings: ValidationSettings,
    out: Path,
    posterior_dir: Path = CALIBRATION_DIR,
    workers: int = 1,
    figures: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
    scheduler: str | None = None,
) -> Path:
    """Run the three checks and write the report folder `out` (replaced whole); returns it.
    With `scheduler`, simulations run on that Dask cluster instead of `workers` processes."""
    log = log or (lambda message: None)
    through = int(settings.end[:4]) if settings.end else None
    targets = load_targets().select(through_year=through)
    annual = targets.select([g for g in LEVEL_UNITS])
    names, values, weight = read_posterior_table(posterior_dir)
    free = free_parameters(names)
    options = Settings(seed=settings.seed, firms=settings.firms, end=settings.end)
    origins = [o for o in settings.origins if through is None or o < through]
    with Workers(workers, scheduler) as pool:
        problem = Problem(free, targets, options, pool, progress)
        _, moments, indicators = predictive(
            problem, names, values, weight, settings.replicates, settings.seed
        )
        log(f"hindcast: {settings.replicates} replicates with the posterior")
        reference_theta = prior_sample(
            free, np.random.default_rng([settings.seed, 5]).random((settings.reference, len(free)))
        )
        reference = np.empty((settings.reference, len(targets.moments)))
        for start in range(0, settings.reference, 64):
            rows = reference_theta[start : start + 64]
            tasks = [
                Task(problem.theta(row), settings.seed + 1, start + k, problem.options, targets)
                for k, row in enumerate(rows)
            ]
            reference[start : start + len(rows)] = np.array(pool.map(simulate, tasks))
            if progress:
                progress("rolling: reference table", start + len(rows), settings.reference)
        log(f"rolling: reference table of {settings.reference} prior simulations")
        keep = max(2, math.ceil(settings.accept * settings.reference))
        rolling, _ = run_origins(
            reference_theta,
            reference,
            [p.name for p in free],
            targets,
            origins,
            settings.horizons,
            keep,
            settings.forecasts,
            settings.seed + 2,
            pool,
            settings.firms,
            progress,
        )
        log(f"rolling: forecasts from {len(origins)} origins")
    entries = record(rolling, settings.seed)
    drivers = rolling_driver_scores(*settings.driver_origins, settings.driver_draws, settings.seed)
    hindcast = hindcast_rows(targets, annual, moments)
    summary = {
        "created_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "changwon-sim validate "
        + ("--preset quick " if settings.firms else "")
        + f"--seed {settings.seed}",
        "fit_id": registry_id(posterior_dir),
        "settings": dataclasses.asdict(settings),
        "hindcast": hindcast,
        "hindcast_coverage": coverage(hindcast),
        "rolling": rolling,
        "record": entries,
        "coverage": {
            label: pooled_coverage(entries, label, settings.horizons)
            for label in ("drawn", "realised")
        },
        "drivers": drivers["summary"],
        "drivers_rows": drivers["rows"],
    }
    scale = 1.0
    if settings.firms:
        from sim.analysis.hindcast import base_year_totals

        scale = base_year_totals()["firms"] / settings.firms
    months = np.arange(2020 * 12, 2020 * 12 + indicators.shape[1])

    def build(folder: Path) -> None:
        write_tables(summary, folder)
        names_written = []
        if figures:
            names_written = write_figures(targets, indicators, months, summary, folder, scale)
        (folder / "README.md").write_text(readme(summary, names_written), encoding="utf-8")
        text = json.dumps(summary, indent=2, ensure_ascii=False, default=float) + "\n"
        atomic_write(folder / "validation.json", text.encode("utf-8"))

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    replace_folder(build, out)
    return out


# --- the checks -----------------------------------------------------------------------------------


def interval_row(key: str, observed: float, sims: np.ndarray, **extra) -> dict:
    sims = sims[np.isfinite(sims)]
    q = np.quantile(sims, [0.05, 0.25, 0.5, 0.75, 0.95]) if len(sims) else [math.nan] * 5
    return {
        "target": key,
        **extra,
        "observed": float(observed),
        "median": float(q[2]),
        "q05": float(q[0]),
        "q25": float(q[1]),
        "q75": float(q[3]),
        "q95": float(q[4]),
        "error": float(q[2] / observed - 1.0),
        "width90": float((q[4] - q[0]) / q[2]) if q[2] else math.nan,
        "in50": bool(q[1] <= observed <= q[3]),
        "in90": bool(q[0] <= observed <= q[4]),
    }


def hindcast_rows(targets, annual, moments: np.ndarray) -> list[dict]:
    index = {key: k for k, key in enumerate(targets.keys)}
    return [
        interval_row(m.key, m.observed, moments[:, index[m.key]], year=m.year)
        for m in annual.moments
    ]


def coverage(rows: list[dict]) -> dict:
    n = len(rows)
    if not n:
        return {"checks": 0}
    return {
        "checks": n,
        "in50": sum(r["in50"] for r in rows) / n,
        "in90": sum(r["in90"] for r in rows) / n,
        "mean_abs_error": float(np.mean([abs(r["error"]) for r in rows])),
        "mean_width90": float(np.mean([r["width90"] for r in rows])),
    }
