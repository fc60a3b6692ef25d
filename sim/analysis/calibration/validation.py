"""`changwon-sim validate`: how well the calibrated model reproduces and forecasts 2020-2024.

Two checks, written as a report folder (`validate`):

1. **Hindcast** with the fitted posterior: replicates of 2020-2024 from the 2020 population and the
   historical drivers, parameters drawn from `posterior_draws.csv` (by weight), the rest from their
   priors, uncertain drivers drawn. For every reported figure: the error of the median and whether
   the figure lies inside the 50% and 90% intervals. In sample: the same figures were fitted.

2. **Rolling out-of-sample checks**: for each origin year Y, the model is fitted to the figures of
   years up to Y only (and the smart-factory effects, published in 2019), then forecasts Y+1 and
   Y+2, which the fit never saw. Refitting by ABC-SMC for every origin would cost a calibration
   each; instead one reference table of simulations with parameters drawn from their priors (fresh
   seeds) is made once, and for each origin the simulations closest to the figures up to Y (the
   same root-mean-square standardized distance as the fit) are kept: ABC rejection (Pritchard et
   al. 1999). The kept simulations' values for Y+1 and Y+2 are the posterior-predictive forecasts,
   conditional on the recorded drivers of those years (exchange rate, prices, defence deliveries):
   the checks test the model and the fitting method, not a forecast of the drivers. Rejection ABC
   keeps wider posteriors than the SMC of the committed fit, so these intervals are, if anything,
   conservative.

Reported per origin and horizon: errors of the median, coverage of the 50% and 90% intervals, and
the relative width of the 90% interval (forecast ranges should widen with the horizon).
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
from matplotlib.figure import Figure

from sim.analysis.calibration.fit import read_posterior_table
from sim.analysis.calibration.posterior import predictive
from sim.analysis.calibration.problem import Problem, Settings, Task, Workers, simulate
from sim.analysis.calibration.report import (
    atomic_write,
    csv_text,
    replace_folder,
    show_level,
    table,
    unit_of,
)
from sim.analysis.calibration.report_figures import LEVEL_UNITS, OBSERVED, plot_annual, save
from sim.analysis.calibration.targets import (
    SMART_FACTORY,
    free_parameters,
    load_targets,
    prior_sample,
)
from sim.inputs.parameters import CALIBRATION_DIR, registry_id


@dataclass(frozen=True)
class ValidationSettings:
    """What a validation depends on besides the data files and the posterior."""

    seed: int = 20240901
    replicates: int = 200  # hindcast replicates with the posterior
    reference: int = 1500  # prior simulations of the rolling checks' reference table
    accept: float = 0.05  # share of the reference table kept for each origin
    origins: tuple[int, ...] = (2020, 2021, 2022)
    horizons: tuple[int, ...] = (1, 2)
    firms: int | None = None
    end: str | None = None


PRESETS: dict[str, ValidationSettings] = {
    "full": ValidationSettings(),
    "quick": ValidationSettings(replicates=8, reference=40, accept=0.25, firms=150, end="2022-12"),
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
    """Run both checks and write the report folder `out` (replaced whole); returns it.
    With `scheduler`, simulations run on that Dask cluster instead of `workers` processes."""
    log = log or (lambda message: None)
    through = int(settings.end[:4]) if settings.end else None
    targets = load_targets().select(through_year=through)
    annual = targets.select([g for g in LEVEL_UNITS])
    names, values, weight = read_posterior_table(posterior_dir)
    free = free_parameters(names)
    options = Settings(seed=settings.seed, firms=settings.firms, end=settings.end)
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
    hindcast = hindcast_rows(targets, annual, moments)
    rolling = rolling_rows(targets, reference, settings, through)
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
        "rolling_by_horizon": by_horizon(rolling),
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
            names_written = write_figures(targets, indicators, months, rolling, folder, scale)
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


def rolling_rows(targets, reference: np.ndarray, settings: ValidationSettings, through) -> list:
    """Fit through each origin by ABC rejection on the reference table; forecast Y+h."""
    rows = []
    keep = max(2, math.ceil(settings.accept * len(reference)))
    for origin in settings.origins:
        fitted = [
            k
            for k, m in enumerate(targets.moments)
            if m.group == SMART_FACTORY or (m.year is not None and m.year <= origin)
        ]
        z = targets.z(reference)[:, fitted]
        distance = np.sqrt((z**2).mean(axis=1))
        kept = np.argsort(distance, kind="stable")[:keep]
        for h in settings.horizons:
            year = origin + h
            if through is not None and year > through:
                continue
            for k, m in enumerate(targets.moments):
                if m.year != year or m.group == SMART_FACTORY:
                    continue
                rows.append(
                    interval_row(
                        m.key,
                        m.observed,
                        reference[kept, k],
                        origin=origin,
                        horizon=h,
                        year=year,
                        kept=int(keep),
                        epsilon=float(distance[kept[-1]]),
                    )
                )
    return rows


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


def by_horizon(rows: list[dict]) -> dict[str, dict]:
    horizons = sorted({r["horizon"] for r in rows})
    return {str(h): coverage([r for r in rows if r["horizon"] == h]) for h in horizons}


# --- writing --------------------------------------------------------------------------------------


def write_tables(summary: dict, folder: Path) -> None:
    for name in ("hindcast", "rolling"):
        rows = summary[name]
        if rows:
            header = list(rows[0])
            text = csv_text(header, [[r[h] for h in header] for r in rows])
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")


def write_figures(targets, indicators, months, rolling, folder: Path, scale: float) -> list[str]:
    figures = folder / "figures"
    figures.mkdir()
    fig = Figure(figsize=(11, 7))
    for i, name in enumerate(LEVEL_UNITS):
        ax = fig.add_subplot(2, 2, i + 1)
        plot_annual(targets, indicators, months, name, ax, scale)
        if i == 0:
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Hindcast 2020-2024 with the fitted posterior against KICOX figures")
    fig.tight_layout()
    save(fig, figures / "hindcast_annual.png")
    written = ["hindcast_annual.png"]
    if rolling:
        fig = Figure(figsize=(11, 7))
        for i, name in enumerate(LEVEL_UNITS):
            plot_rolling(rolling, name, fig.add_subplot(2, 2, i + 1))
        fig.suptitle("Rolling checks: fitted through the origin year, forecast one and two years")
        fig.tight_layout()
        save(fig, figures / "rolling_forecasts.png")
        written.append("rolling_forecasts.png")
    return written


def plot_rolling(rows: list[dict], name: str, ax=None):
    """Forecast intervals (50% thick, 90% thin) by origin, against the reported figures."""
    ax = ax or Figure(figsize=(6.4, 3.8)).add_subplot()
    divisor, unit = LEVEL_UNITS[name]
    mine = [r for r in rows if r["target"].startswith(name + ":")]
    origins = sorted({r["origin"] for r in mine})
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
    for i, origin in enumerate(origins):
        colour = colours[i % len(colours)]
        for r in (r for r in mine if r["origin"] == origin):
            x = r["year"] + (i - (len(origins) - 1) / 2) * 0.12
            ax.plot([x, x], [r["q05"] / divisor, r["q95"] / divisor], color=colour, lw=1.2)
            ax.plot([x, x], [r["q25"] / divisor, r["q75"] / divisor], color=colour, lw=5)
        ax.plot([], [], color=colour, lw=5, label=f"fitted through {origin}")
    observed = {r["year"]: r["observed"] for r in mine}
    ax.plot(
        list(observed),
        [v / divisor for v in observed.values()],
        "D",
        color=OBSERVED,
        ms=6,
        label="reported",
        zorder=5,
    )
    ax.set_title(name)
    ax.set_ylabel(unit)
    ax.set_xticks(sorted(observed))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return ax


def readme(summary: dict, figures: list[str]) -> str:
    s = summary["settings"]
    cov = summary["hindcast_coverage"]
    parts = [
        "# Validation of the calibration",
        "",
        f"Fit validated: `{summary['fit_id']}`. Regenerate with:",
        "",
        f"    {summary['command']}",
        "",
        f"Created {summary['created_utc']}.",
        "",
        "## 1. Hindcast 2020-2024 with the fitted posterior (in sample)",
        "",
        f"{s['replicates']} replicates from the 2020 population, driven by the recorded history, "
        "parameters drawn from the posterior, the rest from their priors, uncertain drivers "
        "drawn. These figures were fitted, so coverage here shows calibration, not forecasting.",
        "",
    ]
    parts.append(
        table(
            ["target", "unit", "reported", "median", "error", "50%", "90%", "inside 50% / 90%"],
            [
                [
                    r["target"],
                    unit_of(r["target"]),
                    show_level(r["target"], r["observed"]),
                    show_level(r["target"], r["median"]),
                    f"{100 * r['error']:+.1f}%",
                    f"{show_level(r['target'], r['q25'])} - {show_level(r['target'], r['q75'])}",
                    f"{show_level(r['target'], r['q05'])} - {show_level(r['target'], r['q95'])}",
                    f"{'yes' if r['in50'] else 'no'} / {'yes' if r['in90'] else 'no'}",
                ]
                for r in summary["hindcast"]
            ],
        )
    )
    if cov.get("checks"):
        parts += [
            "",
            f"Inside the 50% interval: {100 * cov['in50']:.0f}% of {cov['checks']} figures; "
            f"inside the 90% interval: {100 * cov['in90']:.0f}%. Mean absolute error of the "
            f"median: {100 * cov['mean_abs_error']:.1f}%.",
        ]
    parts += [
        "",
        "## 2. Rolling out-of-sample checks",
        "",
        f"A reference table of {s['reference']} simulations with parameters from their priors; "
        f"for each origin year Y the {100 * s['accept']:.0f}% closest to the figures up to Y "
        "(and the smart-factory effects) are kept (ABC rejection) and their values for Y+1 and "
        "Y+2, which were not used, are the forecasts. The drivers of the forecast years (the "
        "won, prices, defence deliveries) are the recorded ones: this tests the model and the "
        "fitting method, not a forecast of the drivers. Origin 2020 has only the base-year "
        "figures, which the population reproduces by construction, so its forecasts are close "
        "to the prior predictive.",
        "",
    ]
    horizons = summary["rolling_by_horizon"]
    if horizons:
        parts.append(
            table(
                ["horizon", "checks", "inside 50%", "inside 90%", "mean abs error", "90% width"],
                [
                    [
                        f"{h} year(s)",
                        str(c["checks"]),
                        f"{100 * c['in50']:.0f}%",
                        f"{100 * c['in90']:.0f}%",
                        f"{100 * c['mean_abs_error']:.1f}%",
                        f"{100 * c['mean_width90']:.1f}%",
                    ]
                    for h, c in horizons.items()
                ],
            )
        )
        parts += [
            "",
            "90% width: the 90% interval's width relative to its median, averaged. Nominal "
            "coverage would be 50% and 90%; with this few checks the shares are themselves "
            "uncertain by about +-15 points.",
            "",
        ]
        parts.append(
            table(
                ["origin", "horizon", "target", "reported", "median", "error", "90%", "in 50/90"],
                [
                    [
                        str(r["origin"]),
                        str(r["horizon"]),
                        r["target"],
                        show_level(r["target"], r["observed"]),
                        show_level(r["target"], r["median"]),
                        f"{100 * r['error']:+.1f}%",
                        f"{show_level(r['target'], r['q05'])} - "
                        f"{show_level(r['target'], r['q95'])}",
                        f"{'yes' if r['in50'] else 'no'} / {'yes' if r['in90'] else 'no'}",
                    ]
                    for r in summary["rolling"]
                ],
            )
        )
    if figures:
        parts += ["", "## Figures", ""] + [f"![{f}](figures/{f})" for f in figures]
    parts += ["", "Files: `hindcast.csv`, `rolling.csv`, `validation.json`.", ""]
    return "\n".join(parts)
