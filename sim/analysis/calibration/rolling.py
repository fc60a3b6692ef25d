"""Rolling-origin forecasts with the whole method, and their scores against simple benchmarks.

For each origin year Y, everything a forecast made at the end of Y could have known:
1. **Fit** on the figures up to Y (and the smart-factory effects, published in 2019): ABC
   rejection (Pritchard et al. 1999) on one reference table of hindcast simulations with the
   fitted parameters drawn from their priors — the simulations closest to the figures up to Y
   (the fit's standardized distance) are that origin's posterior. A reference simulation is driven
   by the realised history, but its moments up to Y never depend on what came after Y.
2. **Forecast** Y+1 and Y+2 as forecasts are made: a population synthesised to Y's reported
   totals, the driver model estimated on the national histories up to Y and drawn from Y's state,
   the complex's momentum of Y's second half, parameters from that origin's posterior and the
   rest from their priors. Policies are as they were: the defence contracts and the national
   smart-factory support, no tariff.
3. The same forecasts **conditional on the realised drivers** (the national drivers of Y+1 and
   Y+2 pinned to what happened), to tell the model's error from the drivers'.
4. **Scores** against the first releases: coverage of the 50/80/90% intervals, CRPS, and the
   skill against three benchmarks applied to the complex's own series up to Y (no change, random
   walk with drift, AR(1) of growth; with the complex's short series, drift needs two years and
   the AR(1) falls back to drift below four growths).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.calibration.targets import SMART_FACTORY, VOLATILITY, Targets
from sim.analysis.hindcast import Drivers, driver_values, load_drivers, price_change_since
from sim.analysis.history import load_history
from sim.analysis.scoring import BENCHMARKS, LEVELS, crps_sample, interval_hit, skill_score
from sim.ensemble.replicate import (
    STREAM_POPULATION,
    check_finite,
    driver_model,
    forecast_macro,
    input_uniform,
    month_seeds,
    stream,
)
from sim.inputs.names import anchor_ids
from sim.inputs.parameters import PARAMETER_NAMES, draw_parameters
from sim.model.changwon_model import ChangwonModel
from sim.model.defence import base_year_defence, book_deliveries, load_order_book
from sim.model.environment import build_environment
from sim.model.indicators import COLUMN
from sim.model.macro_paths import macro_paths, second_half_momentum
from sim.model.population import synthesise

SCORED = ("production_krw", "exports_usd", "employment")
KRW_2024_PARAMETERS = (
    "annual_wage_krw",
    "adoption_cost_base_krw",
    "adoption_cost_per_employee_krw",
)
FIRMS_BY_YEAR_END = {2023: 2965}  # no first release: KICOX quarterly table, end of 2023


@dataclass(frozen=True)
class OriginTask:
    """One forecast replicate from an origin: picklable for the workers."""

    theta: dict[str, float]  # fitted parameters (one posterior draw of that origin)
    seed: int
    replicate: int
    origin: int
    end_year: int
    conditional: bool  # drivers after the origin pinned to what happened
    firms: int | None = None


def origin_totals(year: int) -> dict[str, float]:
    """The totals a forecast made at the end of `year` starts from (first releases)."""
    history = load_history()
    firms = history["active_firms"].get(year, FIRMS_BY_YEAR_END.get(year))
    return {
        "production_krw": history["production_krw"][year],
        "exports_usd": history["exports_usd"][year],
        "employment": history["employment"][year],
        "firms": float(firms),
        "krw_per_usd": driver_model().history.levels["krw_per_usd"][year],
    }


def origin_scenario(drivers: Drivers, origin: int, end_year: int):
    """The policies of the years forecast from `origin`: the national smart-factory support
    (at its central size), no tariff on the complex's goods before 2025."""
    from sim.inputs.scenario import Scenario

    values = driver_values(drivers, None)
    return Scenario.model_validate(
        {
            "name": f"forecast-from-{origin}",
            "period": {"start": f"{origin + 1}-01", "end": f"{end_year}-12"},
            "runs": {"replicates": 1, "seed": 0},
            "ai_factory": {
                "start": f"{origin + 1}-01",
                "end": drivers.end,
                "subsidised_firms_per_year": values.programme_slots,
                "subsidy_share": values.programme_subsidy,
            },
        }
    )


def forecast_from_origin(task: OriginTask) -> np.ndarray:
    """Annual values of `SCORED` (rows: the years after the origin) of one forecast replicate."""
    drivers = load_drivers()
    origin, seed, r = task.origin, task.seed, task.replicate
    params = draw_parameters(lambda name: input_uniform(seed, r, name), posterior=None)
    params = params.replace(**{k: v for k, v in task.theta.items() if k in PARAMETER_NAMES})
    deflator = 1.0 / price_change_since(origin)
    params = params.replace(**{k: getattr(params, k) * deflator for k in KRW_2024_PARAMETERS})
    ids = anchor_ids()
    totals = origin_totals(origin)
    book = book_deliveries(load_order_book(), ids, params.defence_in_complex_share)
    defence = base_year_defence(
        book,
        len(ids),
        origin,
        totals["krw_per_usd"],
        params.defence_build_months,
        params.defence_in_complex_share,
    )
    population = synthesise(
        params, stream(seed, r, STREAM_POPULATION), task.firms, totals, defence=defence
    )
    scenario = origin_scenario(drivers, origin, task.end_year)
    if task.conditional:
        months = np.arange(scenario.period.start_month, scenario.period.end_month + 1)
        macro = macro_paths(months, origin, driver_model().history)
    else:
        macro, _ = forecast_macro(scenario, seed, r, through=origin)
    env = build_environment(
        scenario, params, ids, macro, book, second_half_momentum(origin), population.scale
    )
    model = ChangwonModel(population, env, params, month_seeds(seed, r), r)
    for k in range(len(env.months)):
        model.step()
        check_finite(model.indicators[k], r, int(env.months[k]))
    return annual_scored(model, task.origin, task.end_year, task.firms, totals["firms"])


def annual_scored(
    model: ChangwonModel, origin: int, end_year: int, firms, base_firms
) -> np.ndarray:
    """(years, SCORED): production and exports summed over the year, employment in the month
    the reports count it (June for 2020-2021, December after), scaled to the full complex."""
    scale = base_firms / firms if firms else 1.0
    months = model.env.months
    out = np.empty((end_year - origin, len(SCORED)))
    for i, year in enumerate(range(origin + 1, end_year + 1)):
        rows = months // 12 == year
        out[i, 0] = scale * model.indicators[rows, COLUMN["production_krw"]].sum()
        out[i, 1] = scale * model.indicators[rows, COLUMN["exports_usd"]].sum()
        month = 6 if year <= 2021 else 12
        out[i, 2] = (
            scale * model.indicators[months == year * 12 + month - 1, COLUMN["employment"]][0]
        )
    return out


# --- fitting through an origin --------------------------------------------------------------------


def fitted_through(targets: Targets, origin: int) -> list[int]:
    """Indices of the moments a fit through `origin` may use."""
    return [
        k
        for k, m in enumerate(targets.moments)
        if m.group == SMART_FACTORY
        or (m.group != VOLATILITY and m.year is not None and m.year <= origin)
    ]


def abc_accept(reference: np.ndarray, targets: Targets, origin: int, keep: int) -> np.ndarray:
    """The reference rows closest to the figures up to `origin` (root-mean-square z)."""
    columns = fitted_through(targets, origin)
    z = targets.z(reference)[:, columns]
    distance = np.sqrt((z**2).mean(axis=1))
    return np.argsort(distance, kind="stable")[:keep]


# --- scoring -------------------------------------------------------------------------------------


def score_rows(
    samples: Sequence[np.ndarray], origins: Sequence[int], horizons: Sequence[int], label: str
) -> list[dict]:
    """One row per (origin, horizon, indicator) with an outcome: the forecast's quantiles,
    interval hits, CRPS, and the benchmarks' point forecasts and absolute errors."""
    rows = []
    history = load_history()
    for origin, sample in zip(origins, samples, strict=True):
        for h in horizons:
            if h > sample.shape[1]:
                continue
            year = origin + h
            for j, name in enumerate(SCORED):
                outcome = history[name].get(year)
                if outcome is None:
                    continue
                values = sample[:, h - 1, j]
                q = np.quantile(values, [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
                past = {y: v for y, v in history[name].items() if y <= origin}
                row = {
                    "drivers": label,
                    "indicator": name,
                    "origin": origin,
                    "horizon": h,
                    "year": year,
                    "outcome": outcome,
                    **dict(
                        zip(
                            ("q05", "q10", "q25", "median", "q75", "q90", "q95"),
                            q.tolist(),
                            strict=True,
                        )
                    ),
                    "crps": crps_sample(values, outcome),
                }
                for level in LEVELS:
                    row[f"in{round(100 * level)}"] = bool(interval_hit(values, outcome, level))
                for bench, rule in BENCHMARKS.items():
                    point = rule(past, horizon=h)
                    row[bench] = point
                    row[f"crps_{bench}"] = abs(point - outcome)
                rows.append(row)
    return rows


def record(rows: list[dict], seed: int = 0) -> list[dict]:
    """The record by drivers, horizon and indicator (and all indicators together): how often
    the intervals held the outcome, the mean relative CRPS, and the skill against each
    benchmark with a bootstrap 90% interval over the checks."""
    out = []
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["drivers"], r["horizon"], r["indicator"]), []).append(r)
        groups.setdefault((r["drivers"], r["horizon"], "all"), []).append(r)
    for (drivers, horizon, indicator), mine in sorted(groups.items()):
        entry = {
            "drivers": drivers,
            "horizon": horizon,
            "indicator": indicator,
            "checks": len(mine),
            "origins": sorted({r["origin"] for r in mine}),
        }
        for level in LEVELS:
            key = f"in{round(100 * level)}"
            entry[f"held{round(100 * level)}"] = int(sum(r[key] for r in mine))
        # CRPS relative to the outcome, so indicators in won, dollars and persons pool.
        model = [r["crps"] / r["outcome"] for r in mine]
        entry["relative_crps"] = float(np.mean(model))
        entry["median_abs_error"] = float(
            np.mean([abs(r["median"] / r["outcome"] - 1) for r in mine])
        )
        for bench in BENCHMARKS:
            base = [r[f"crps_{bench}"] / r["outcome"] for r in mine]
            entry[f"skill_{bench}"] = skill_score(model, base, seed=seed)
        out.append(entry)
    return out


def pooled_coverage(entries: list[dict], drivers: str, horizons: Sequence[int]) -> dict:
    """Coverage over every indicator and the given horizons, as held / checks."""
    mine = [
        e
        for e in entries
        if e["drivers"] == drivers and e["indicator"] == "all" and e["horizon"] in horizons
    ]
    checks = sum(e["checks"] for e in mine)
    return {
        "checks": checks,
        **{
            f"held{round(100 * lv)}": sum(e[f"held{round(100 * lv)}"] for e in mine)
            for lv in LEVELS
        },
    }


def run_origins(
    reference_theta: np.ndarray,
    reference: np.ndarray,
    names: Sequence[str],
    targets: Targets,
    origins: Sequence[int],
    horizons: Sequence[int],
    keep: int,
    replicates: int,
    seed: int,
    pool,
    firms: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[list[dict], dict[str, list[np.ndarray]]]:
    """Forecast from every origin, unconditionally and on the realised drivers; returns the
    score rows and the forecast samples by label (origin order)."""
    last = 2024
    samples: dict[str, list[np.ndarray]] = {"drawn": [], "realised": []}
    for origin in origins:
        accepted = abc_accept(reference, targets, origin, keep)
        end_year = min(last, origin + max(horizons))
        for label, conditional in (("drawn", False), ("realised", True)):
            tasks = [
                OriginTask(
                    dict(
                        zip(
                            names,
                            reference_theta[accepted[r % len(accepted)]].tolist(),
                            strict=True,
                        )
                    ),
                    seed,
                    r,
                    origin,
                    end_year,
                    conditional,
                    firms,
                )
                for r in range(replicates)
            ]
            results = np.array(pool.map(forecast_from_origin, tasks))
            samples[label].append(results)
            if progress:
                progress(f"forecasts from {origin} ({label} drivers)", replicates, replicates)
    rows = []
    for label, collected in samples.items():
        rows += score_rows(collected, list(origins), horizons, label)
    return rows, samples
