"""The record of the national drivers: rolling-origin scores of the driver model, the errors of
published outlooks, and the drivers section of the calibration fit report."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import yaml

from sim.analysis.scoring import BENCHMARKS, LEVELS, crps_sample, interval_hit, skill_score
from sim.inputs.paths import CALIBRATION_DIR
from sim.model.drivers import (
    DRIVERS,
    DRIVERS_FILE,
    EQUATIONS,
    N_NORMALS,
    PARTNERS,
    PHI_BOUND,
    PRIOR_YEARS,
    DriverHistory,
    DriverModel,
    estimate,
    load_driver_history,
    simulate_with_equations,
)

OUTLOOKS_FILE = CALIBRATION_DIR / "outlooks.yaml"
SCORED_SERIES: tuple[str, ...] = (
    "domestic",
    "exports",
    "US",
    "China",
    "producer_prices",
    "krw_per_usd",
)


def rolling_driver_scores(
    first_origin: int = 2012,
    last_origin: int = 2023,
    draws: int = 2000,
    seed: int = 2024,
    history: DriverHistory | None = None,
) -> dict:
    """Rolling-origin scores of the driver model, one year ahead.

    For each origin t: the model is re-estimated on data <= t only, `draws` replicates each draw
    parameters and one year of innovations, and each series of `SCORED_SERIES` with levels known
    in t and t+1 is scored on its level in t+1 (level_t x exp(growth)): coverage of the 50/80/90%
    central intervals, CRPS, and the absolute errors of the three benchmarks on the level
    history <= t. Returns {"rows": one dict per (series, origin), "summary": per series} with
    coverage, mean CRPS, `skill` (the sample's CRPS against each benchmark's absolute error) and
    `median_skill` (the median's absolute error against the same), each with a bootstrap 90%
    interval over origins.
    Deterministic for a seed (one SeedSequence child per origin).
    """
    full = history or load_driver_history()
    origins = list(range(first_origin, last_origin + 1))
    rows = []
    for origin, child in zip(
        origins, np.random.SeedSequence(seed).spawn(len(origins)), strict=True
    ):
        model = estimate(full.truncate(origin))
        param_rng, normal_rng = (np.random.default_rng(s) for s in child.spawn(2))
        normals = normal_rng.standard_normal((draws, 1, N_NORMALS))
        sims = np.empty((draws, len(SCORED_SERIES)))
        for k in range(draws):
            out, eq = simulate_with_equations(
                model.draw_parameters(param_rng), model.start_state, 1, normals[k]
            )
            sims[k] = [
                eq[0, 1] if s == "exports" else out[0, DRIVERS.index(s)] for s in SCORED_SERIES
            ]
        for j, series in enumerate(SCORED_SERIES):
            levels = full.levels[series]
            if origin not in levels or origin + 1 not in levels or np.isnan(sims[:, j]).any():
                continue
            eq_name = "exports" if series in PARTNERS else series
            sample = levels[origin] * np.exp(sims[:, j])
            outcome = levels[origin + 1]
            row = {
                "series": series,
                "origin": origin,
                "year": origin + 1,
                "outcome": outcome,
                "median": float(np.median(sample)),
                "crps": crps_sample(sample, outcome),
                "equation": model.equations[EQUATIONS.index(eq_name)].kind,
            }
            for lev in LEVELS:
                row[f"hit{round(lev * 100)}"] = interval_hit(sample, outcome, lev)
            for name, bench in BENCHMARKS.items():
                point = bench({y: v for y, v in levels.items() if y <= origin})
                row[name] = point
                row[f"crps_{name}"] = abs(point - outcome)
            rows.append(row)
    summary = {}
    for series in SCORED_SERIES:
        r = [row for row in rows if row["series"] == series]
        if not r:
            continue
        crps = [row["crps"] for row in r]
        median_err = [abs(row["median"] - row["outcome"]) for row in r]
        summary[series] = {
            "n": len(r),
            "years": [row["year"] for row in r],
            "coverage": {
                f"{round(lev * 100)}": float(np.mean([row[f"hit{round(lev * 100)}"] for row in r]))
                for lev in LEVELS
            },
            "crps": float(np.mean(crps)),
            "skill": {
                name: skill_score(crps, [row[f"crps_{name}"] for row in r], seed=seed)
                for name in BENCHMARKS
            },
            "median_skill": {
                name: skill_score(median_err, [row[f"crps_{name}"] for row in r], seed=seed)
                for name in BENCHMARKS
            },
        }
    return {"rows": rows, "summary": summary}


# --- outlooks -------------------------------------------------------------------------------------


def _error_stats(pairs: Sequence[tuple[int, float, float]]) -> dict:
    err = np.array([actual - forecast for _, forecast, actual in pairs])
    return {
        "years": [y for y, _, _ in pairs],
        "n": len(err),
        "mean_error": float(err.mean()),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
    }


def outlook_errors(path: Path | None = None) -> dict[str, dict]:
    """Mean error, MAE and RMSE (percentage points; error = actual - forecast, so negative means
    optimistic) of each outlook series of `calibration/outlooks.yaml`, years with both figures.

    Keys: "gdp_growth/KDI", "gdp_growth/BOK", "gdp_growth/IMF", "kdi_components/<component>",
    "customs_export_growth". For a scenario, an outlook's RMSE / 100 is its sd in growth units
    (close to log growth at these sizes). Check: the customs export record gives mean -0.70 pp,
    MAE 7.78 pp, RMSE 9.50 pp over the 13 years 2011-2024 with a forecast (2014 has none),
    matching the figures reported with the record (-0.7, 7.8, 9.5); recomputed here, not copied.
    """
    spec = yaml.safe_load(Path(path or OUTLOOKS_FILE).read_text(encoding="utf-8"))
    out = {}
    gdp = spec["gdp_growth"]
    for who in gdp["forecasters"]:
        out[f"gdp_growth/{who}"] = _error_stats(
            [(y, r[who], r["actual"]) for y, r in sorted(gdp["record"].items()) if who in r]
        )
    for comp, rec in spec["kdi_components"].items():
        if isinstance(rec, Mapping) and all(isinstance(y, int) for y in rec):
            out[f"kdi_components/{comp}"] = _error_stats(
                [(y, r["forecast"], r["actual"]) for y, r in sorted(rec.items())]
            )
    exp = spec["customs_export_growth"]["record"]
    out["customs_export_growth"] = _error_stats(
        [(y, r["forecast"], r["actual"]) for y, r in sorted(exp.items())]
    )
    return out


# --- fit report -----------------------------------------------------------------------------------

_DRIVER_SERIES = {
    "domestic": "domestic",
    "exports (total, drives the partners)": "exports",
    "US": "US",
    "EU": None,
    "China": "China",
    "rest_of_world": None,
    "producer_prices": "producer_prices",
    "krw_per_usd": "krw_per_usd",
}


def _interval(x: np.ndarray, scale: float = 100.0) -> str:
    lo, mid, hi = np.quantile(x, [0.05, 0.5, 0.95])
    return f"{scale * mid:.2f} [{scale * lo:.2f}, {scale * hi:.2f}]"


def drivers_report_markdown(
    model: DriverModel, draws: int = 4000, seed: int = 0, path: Path | None = None
) -> str:
    """The drivers section of the calibration fit report (Markdown): series and sources, the
    estimated processes with posterior medians and 90% intervals, the innovation correlation."""
    rng = np.random.default_rng(seed)
    post = [model.draw_parameters(rng) for _ in range(draws)]
    a, phi, sig = (np.array([getattr(p, k) for p in post]) for k in ("a", "phi", "sigma"))
    mean = a / (1.0 - phi)
    corr = np.array([p.correlation for p in post])
    central = model.central_parameters()
    lines = [
        f"## National drivers (estimated on data through {model.through})",
        "",
        "Annual log growths of annual averages: four AR(1) equations y_t = a + phi y_(t-1) + "
        "sigma e_t (domestic demand, total customs exports, producer prices, won per dollar) "
        "with correlated innovations; each export partner grows as total exports plus its own "
        "deviation d ~ N(0, s_d^2), iid over partners and years. The deviations have mean zero: "
        "partner shares drift (the US share of exports went from 10.7% in 2010 to 18.7% in "
        "2024), but no drift is forecast; its spread covers it.",
        "",
        "Why not a VAR: the series are annual, short and gappy (the won has "
        f"{model.equations[-1].n} usable consecutive-year pairs, the common years of all four "
        f"are {len(model.common_years)}). A VAR(1) in four variables needs 16 slopes and 4 "
        "intercepts (20 coefficients) from about that many years; it would fit noise. The AR(1)s "
        "use every pair each series has, and the cross-links that matter for ranges, "
        "contemporaneous co-movement, are kept in the innovation correlation.",
        "",
        "Posterior: flat prior on (a, phi), Jeffreys on sigma (sigma^2 = SSR/chi2(n-2)), "
        f"|phi| <= {PHI_BOUND}; s_d^2 = SSR/chi2(n). Innovation correlation: inverse-Wishart "
        f"with {model.correlation_df} degrees of freedom, centred on the residual correlation "
        f"shrunk toward the identity with weight {PRIOR_YEARS}/({PRIOR_YEARS}+n) "
        f"(n = {len(model.common_years)} common years: "
        f"{', '.join(map(str, model.common_years))}). Figures below: log growth x 100; "
        f"posterior median [90% interval] from {draws} draws.",
        "",
        "### Series",
        "",
    ]
    for driver, series in _DRIVER_SERIES.items():
        if series is None:
            lines.append(
                f"- **{driver}**: no customs series found; total exports + deviation "
                "with the s_d estimated from the US and China."
            )
            continue
        info = model.info[series]
        eq = "exports" if series in PARTNERS else series
        years = (
            model.equations[EQUATIONS.index(eq)].years
            if eq == series
            else sorted(model.deviations[series])
        )
        kind = model.equations[EQUATIONS.index(eq)].kind
        used = (
            "deviations from total exports in"
            if eq != series
            else "AR(1) pairs ending"
            if kind == "ar1"
            else "growth years"
        )
        lines.append(
            f"- **{driver}**: `{info.key}` ({info.unit}); transform {info.transform}; "
            f"{used} {years[0]}-{years[-1]} ({len(years)} years). Vintage: "
            f"{info.vintage.rstrip('.')}. Source: {info.source}"
        )
    lines += [
        "",
        "### Processes",
        "",
        "| equation | form | years (n) | mean | phi | innovation sd | start (last year) |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, e in enumerate(model.equations):
        if e.kind == "none":
            lines.append(f"| {e.name} | not estimated | {len(e.years)} | | | | |")
            continue
        lines.append(
            f"| {e.name} | {e.kind} | {e.years[0]}-{e.years[-1]} ({e.n}) | "
            f"{_interval(mean[:, i])} | {_interval(phi[:, i], 1.0)} | "
            f"{_interval(sig[:, i])} | {100 * model.start_state[e.name]:.2f} |"
        )
    s_d = np.array([p.s_d for p in post])
    lines += [
        "",
        f"Partner deviation sd s_d: {_interval(s_d)} (central {100 * central.s_d:.2f}; "
        f"{model.deviation_n} deviations: "
        + "; ".join(f"{p} {', '.join(map(str, sorted(d)))}" for p, d in model.deviations.items())
        + ").",
    ]
    eu = (
        yaml.safe_load(Path(path or DRIVERS_FILE).read_text(encoding="utf-8"))["series"]
        .get("customs_exports_eu", {})
        .get("reported_yoy_percent", {})
    )
    total = model.history.growth["exports"]
    checks = [
        f"{y}: {100 * (math.log1p(v / 100) - total[y]):+.1f}"
        for y, v in sorted(eu.items())
        if y in total and y <= model.through
    ]
    if checks:
        lines.append(
            "Check: the two reported EU growths deviate from total growth by "
            + ", ".join(checks)
            + " (not used in the estimate)."
        )
    lines += [
        "",
        "### Innovation correlation (central; posterior 90% interval)",
        "",
        "| | " + " | ".join(EQUATIONS) + " |",
        "|---" * (len(EQUATIONS) + 1) + "|",
    ]
    for i, name in enumerate(EQUATIONS):
        cells = [
            f"{central.correlation[i, j]:.2f} [{np.quantile(corr[:, i, j], 0.05):.2f}, "
            f"{np.quantile(corr[:, i, j], 0.95):.2f}]"
            if i != j
            else "1"
            for j in range(len(EQUATIONS))
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
