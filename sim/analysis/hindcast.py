"""The 2020-2024 hindcast: the complex simulated from a 2020 population through its history.

One replicate (`run_hindcast`) is the model of `sim.model.changwon_model` started from a population
synthesised to the 2020 totals of `calibration/complex_annual.yaml` and driven by the historical
drivers of `calibration/history_drivers.yaml`: the won's annual averages, producer prices, no
tariff, the Poland defence deliveries, the national smart-factory support, and the 2020 demand
shock. The drivers become an ordinary `Scenario` (`history_scenario`); the one thing a scenario
cannot say yet, a one-off demand shock, is applied to the environment here (`apply_demand_shock`).

Besides the monthly indicators, a replicate measures the effect of smart-factory adoption the way
the Ministry of SMEs and Startups measured it: adopters against matched non-adopters after the
ramp (`adoption_effects`).

Randomness: replicate r of seed S uses the runner's streams (parameters, population, months:
`sim.ensemble.replicate.stream`) and one more, `STREAM_DRIVERS`, for the uncertain drivers. The
fitted parameters are given, not drawn, so the same (S, r) under two parameter vectors shares every
other draw (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import brentq

from sim.analysis.history import load_history
from sim.ensemble.replicate import (
    STREAM_PARAMETERS,
    STREAM_POPULATION,
    check_finite,
    month_seeds,
    stream,
)
from sim.inputs.calendar import format_month, parse_month
from sim.inputs.names import PARTNERS
from sim.inputs.parameters import (
    PARAMETER_NAMES,
    Parameters,
    central_prior_parameters,
    draw_prior_parameters,
    triangular,
)
from sim.inputs.paths import CALIBRATION_DIR
from sim.model.changwon_model import ChangwonModel
from sim.model.environment import Environment, build_environment
from sim.model.firms import ADOPTED, ADOPTING, INELIGIBLE
from sim.model.indicators import INDICATOR_NAMES
from sim.model.population import synthesise

DRIVERS_FILE = CALIBRATION_DIR / "history_drivers.yaml"
STREAM_DRIVERS = 4  # after the runner's parameters, population, months and uncertain streams
EFFECTS = ("productivity", "defect_rate", "cost", "sales")
# Parameters given in KRW of 2024: deflated to the base year's prices in the hindcast.
KRW_2024_PARAMETERS = (
    "annual_wage_krw",
    "adoption_cost_base_krw",
    "adoption_cost_per_employee_krw",
)


# --- the drivers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Uncertain:
    """A driver value with an optional range: drawn triangular on [low, high], mode `value`."""

    value: float
    low: float
    high: float

    @classmethod
    def read(cls, entry) -> Uncertain:
        if isinstance(entry, Mapping):
            value = float(entry["value"])
            return cls(value, float(entry.get("low", value)), float(entry.get("high", value)))
        return cls(float(entry), float(entry), float(entry))

    def at(self, u: float | None) -> float:
        """The value at uniform draw `u`; None gives the central value."""
        if u is None or self.high <= self.low:
            return self.value
        return float(triangular(np.array([u]), self.low, self.value, self.high)[0])


@dataclass(frozen=True, slots=True)
class Tranche:
    """Defence deliveries of one period: a USD value spread evenly over `months` from `start`."""

    name: str
    start: str
    months: int
    value_usd: Uncertain


@dataclass(frozen=True, slots=True)
class GrowthPrior:
    """Prior of a fitted driver of the hindcast (demand and labour productivity growth)."""

    name: str
    value: float
    low: float
    high: float
    unit: str
    source: str


@dataclass(frozen=True)
class Drivers:
    """The parsed `history_drivers.yaml`."""

    base_year: int
    start: str
    end: str
    krw_per_usd: dict[str, float]  # piecewise-constant path: {first month: rate}
    price_change: dict[int, Uncertain]  # change of the annual average producer price index
    delivery_partner: str
    prime_split: dict[str, float]
    tranches: tuple[Tranche, ...]
    covid: dict
    programme_start: str
    programme_end: str
    programme_slots: Uncertain
    programme_subsidy: Uncertain
    initial_adoption_share: Uncertain
    growth_priors: dict[str, GrowthPrior]


@cache
def load_drivers(path: Path = DRIVERS_FILE) -> Drivers:
    """Read the historical drivers (cached)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    fx: dict[str, float] = {}
    for year, rate in sorted(raw["krw_per_usd"]["annual"].items()):
        fx[f"{int(year):04d}-01"] = float(rate)
    for month, rate in sorted(raw["krw_per_usd"].get("quarterly_2024", {}).items()):
        fx[str(month)] = float(rate)
    price = {int(y): Uncertain.read(e) for y, e in raw["producer_price_change"].items()}
    defence = raw["defence_deliveries"]
    tranches = tuple(
        Tranche(str(t["name"]), str(t["start"]), int(t["months"]), Uncertain.read(t["value_usd"]))
        for t in defence["tranches"]
    )
    programme = raw["smart_factory_programme"]
    priors = {
        name: GrowthPrior(
            name,
            float(e["value"]),
            float(e["low"]),
            float(e["high"]),
            str(e["unit"]),
            " ".join(str(e["source"]).split()),
        )
        for name, e in raw["fitted_parameters"].items()
    }
    drivers = Drivers(
        base_year=int(raw["base_year"]),
        start=str(raw["period"]["start"]),
        end=str(raw["period"]["end"]),
        krw_per_usd=fx,
        price_change=price,
        delivery_partner=str(defence["partner"]),
        prime_split={str(k): float(v) for k, v in defence["primes"].items()},
        tranches=tranches,
        covid=dict(raw["covid_shock"]),
        programme_start=str(programme["start"]),
        programme_end=str(programme["end"]),
        programme_slots=Uncertain.read(programme["subsidised_firms_per_year"]),
        programme_subsidy=Uncertain.read(programme["subsidy_share"]),
        initial_adoption_share=Uncertain.read(raw["initial_adoption_share"]),
        growth_priors=priors,
    )
    if drivers.delivery_partner not in PARTNERS[1:]:
        raise ValueError(f"{path}: defence_deliveries.partner: not an export partner")
    if abs(sum(drivers.prime_split.values()) - 1.0) > 1e-9:
        raise ValueError(f"{path}: defence_deliveries.primes: shares must add up to one")
    return drivers


@dataclass(frozen=True, slots=True)
class DriverValues:
    """The drivers of one replicate, uncertain ones drawn."""

    price_change: dict[int, float]
    tranche_usd: dict[str, float]
    programme_slots: float
    programme_subsidy: float
    initial_adoption_share: float


def driver_values(drivers: Drivers, rng: np.random.Generator | None) -> DriverValues:
    """Draw the uncertain drivers (in a fixed order), or take their central values (rng None)."""
    years = sorted(drivers.price_change)
    n = len(years) + len(drivers.tranches) + 3
    u = rng.random(n) if rng is not None else [None] * n
    price = {y: drivers.price_change[y].at(u[i]) for i, y in enumerate(years)}
    k = len(years)
    tranche = {t.name: t.value_usd.at(u[k + i]) for i, t in enumerate(drivers.tranches)}
    k += len(drivers.tranches)
    return DriverValues(
        price_change=price,
        tranche_usd=tranche,
        programme_slots=drivers.programme_slots.at(u[k]),
        programme_subsidy=drivers.programme_subsidy.at(u[k + 1]),
        initial_adoption_share=drivers.initial_adoption_share.at(u[k + 2]),
    )


# --- prices: a smooth monthly level whose annual averages change as reported ---------------------


def monthly_price_growth(change: Mapping[int, float]) -> dict[int, float]:
    """Month number -> annual growth rate of producer prices in that month, such that the monthly
    level (cumulated as `sim.model.environment` does) is smooth and its annual averages change by
    `change[y]` from one year to the next.

    The log level is linear between mid-year points, whose values are adjusted until the annual
    averages are right. (Growth constant within each year would match them too, but makes the
    rates swing from year to year.) The first year's own change sets the slope before its middle.
    """
    years = sorted(change)
    target = np.log(np.cumprod([1.0] + [1.0 + change[y] for y in years[1:]]))
    months = np.arange(years[0] * 12, (years[-1] + 1) * 12)
    x = np.array([years[0] * 12 - 6.5] + [y * 12 + 5.5 for y in years] + [years[-1] * 12 + 17.5])
    first_slope = math.log1p(change[years[0]])

    def log_level(nodes: np.ndarray) -> np.ndarray:
        # Points a year before the first middle and after the last continue the end slopes.
        last_slope = nodes[-1] - nodes[-2] if len(nodes) > 1 else first_slope
        v = np.concatenate([[nodes[0] - first_slope], nodes, [nodes[-1] + last_slope]])
        return np.interp(months, x, v)

    def gaps(free: np.ndarray) -> np.ndarray:
        level = log_level(np.concatenate([[0.0], free]))
        averages = np.log([np.exp(level[months // 12 == y]).mean() for y in years])
        return (averages - averages[0])[1:] - target[1:]

    # Newton steps on the free nodes (the first is fixed at zero); nearly linear, so few are needed.
    free = target[1:].copy()
    for _ in range(20):
        base = gaps(free)
        if np.abs(base).max() < 1e-13:
            break
        jacobian = np.stack([(gaps(free + 1e-6 * e) - base) / 1e-6 for e in np.eye(len(free))], 1)
        free = free - np.linalg.solve(jacobian, base)
    level = log_level(np.concatenate([[0.0], free]))
    step = np.diff(level, prepend=level[0] - (level[1] - level[0]))
    return {int(m): float(math.expm1(12.0 * d)) for m, d in zip(months, step, strict=True)}


# --- the scenario of the history ----------------------------------------------------------------


def history_scenario(
    drivers: Drivers,
    values: DriverValues,
    growth: Mapping[str, float],
    end: str | None = None,
):
    """The drivers of one replicate as a `Scenario` (name `hindcast`), period start to `end`."""
    from sim.inputs.scenario import Scenario

    price_path = {format_month(m): g for m, g in monthly_price_growth(values.price_change).items()}
    fx_path = {}
    months = sorted(drivers.krw_per_usd)
    for i, month in enumerate(months):
        fx_path[month] = drivers.krw_per_usd[month]
        if i + 1 < len(months):  # flat to the month before the next point
            fx_path[format_month(parse_month(months[i + 1]) - 1)] = drivers.krw_per_usd[month]
    domestic = float(growth["hindcast_domestic_growth"])
    export = float(growth["hindcast_export_growth"])
    contracts = []
    for tranche in drivers.tranches:
        usd = values.tranche_usd[tranche.name]
        for prime, share in drivers.prime_split.items():
            if usd * share <= 0:
                continue
            contracts.append(
                {
                    "name": f"{tranche.name}-{prime}",
                    "prime": prime,
                    "value_usd": usd * share,
                    "partner": drivers.delivery_partner,
                    "signed": "2022-08",
                    "delivery": {"start": tranche.start, "months": tranche.months},
                }
            )
    return Scenario.model_validate(
        {
            "name": "hindcast",
            "title": "Hindcast 2020-2024 from the historical drivers",
            "period": {"start": drivers.start, "end": end or drivers.end},
            "runs": {"replicates": 1, "seed": 0},
            "macro": {
                "krw_per_usd": fx_path,
                "producer_price_growth": price_path,
                "demand_growth": {p: (domestic if p == "domestic" else export) for p in PARTNERS},
            },
            "tariffs": [],
            "ai_factory": {
                "start": drivers.programme_start,
                "end": drivers.programme_end,
                "subsidised_firms_per_year": values.programme_slots,
                "subsidy_share": values.programme_subsidy,
            },
            "defence_exports": {"contracts": contracts},
        }
    )


# --- the 2020 demand shock ---------------------------------------------------------------------


def shock_shape(months: np.ndarray, covid: Mapping) -> np.ndarray:
    """0 before `start`, rising linearly to 1 at `trough`, back to 0 at `recovered`."""
    start, trough, end = (parse_month(str(covid[k])) for k in ("start", "trough", "recovered"))
    shape = np.zeros(len(months))
    down = (months > start) & (months <= trough)
    shape[down] = (months[down] - start) / (trough - start)
    up = (months > trough) & (months < end)
    shape[up] = (end - months[up]) / (end - trough)
    return shape


def apply_demand_shock(env: Environment, depth: float, covid: Mapping, base_year: int) -> None:
    """Multiply every partner's demand by 1 - depth x shape, keeping the base year's average."""
    shock = 1.0 - depth * shock_shape(env.months, covid)
    base = env.months // 12 == base_year
    before = env.partner_trend[base].mean(axis=0)
    env.partner_trend *= shock[:, None]
    env.partner_trend *= before / env.partner_trend[base].mean(axis=0)


@cache
def shock_depth(base_year: int | None = None) -> float:
    """Depth of the demand shock that puts demand in the trough month at the reported ratio of
    May 2020 production to the 2020 monthly average (central seasonality and drivers)."""
    drivers = load_drivers()
    base_year = base_year or drivers.base_year
    covid = drivers.covid
    params = central_prior_parameters()
    scenario = history_scenario(
        drivers,
        driver_values(drivers, None),
        {name: prior.value for name, prior in drivers.growth_priors.items()},
    )
    trough = parse_month(str(covid["trough"]))
    monthly_average = base_year_observed("production_krw", base_year) / 12.0
    ratio = float(covid["production_may_2020_krw"]) / monthly_average

    def gap(depth: float) -> float:
        env = build_environment(scenario, params, anchor_ids(), base_year=base_year)
        apply_demand_shock(env, depth, covid, base_year)
        index = env.partner_trend[:, 0]
        base = env.months // 12 == base_year
        return float(index[env.months == trough][0] / index[base].mean()) - ratio

    return float(brentq(gap, 0.0, 0.9, xtol=1e-10))


def anchor_ids() -> tuple[str, ...]:
    from sim.inputs.names import anchor_ids as ids

    return ids()


# --- the base-year population ---------------------------------------------------------------------


def base_year_observed(indicator: str, year: int) -> float:
    return load_history()[indicator][year]


def base_year_totals(year: int | None = None) -> dict[str, float]:
    """The totals a population of `year` reproduces (KICOX figures and that year's won)."""
    drivers = load_drivers()
    year = year or drivers.base_year
    history = load_history()
    return {
        "production_krw": history["production_krw"][year],
        "exports_usd": history["exports_usd"][year],
        "employment": history["employment"][year],
        "firms": history["active_firms"][year],
        "krw_per_usd": drivers.krw_per_usd[f"{year:04d}-01"],
    }


# --- one replicate -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HindcastRun:
    """One replicate of the hindcast."""

    replicate: int
    months: np.ndarray  # (T,) month numbers
    indicators: np.ndarray  # (T, indicators), columns of sim.model.indicators.INDICATOR_NAMES
    effects: dict[str, float]  # measured adoption effects (EFFECTS), plus 'pairs'
    parameters: Parameters
    drivers: DriverValues


def hindcast_inputs(
    theta: Mapping[str, float],
    seed: int,
    replicate: int,
    fixed_nuisance: bool = False,
    fixed_drivers: bool = False,
) -> tuple[Parameters, dict[str, float], DriverValues]:
    """Model parameters, demand growth and drivers of one hindcast replicate.

    Parameters not in `theta` come from their priors (the replicate's parameter stream) or, with
    `fixed_nuisance`, their prior modes; growth rates not in `theta` take their prior modes.
    """
    drivers = load_drivers()
    params = (
        central_prior_parameters()
        if fixed_nuisance
        else draw_prior_parameters(stream(seed, replicate, STREAM_PARAMETERS))
    )
    params = params.replace(**{k: float(v) for k, v in theta.items() if k in PARAMETER_NAMES})
    growth = {name: prior.value for name, prior in drivers.growth_priors.items()}
    growth.update({k: float(v) for k, v in theta.items() if k in drivers.growth_priors})
    unknown = set(theta) - set(PARAMETER_NAMES) - set(drivers.growth_priors)
    if unknown:
        raise ValueError(f"unknown hindcast parameters: {', '.join(sorted(unknown))}")
    values = driver_values(
        drivers, None if fixed_drivers else stream(seed, replicate, STREAM_DRIVERS)
    )
    # 2024 KRW to base-year KRW, and the base year's adoption share.
    deflator = 1.0 / math.prod(1.0 + c for y, c in values.price_change.items() if y > 2020)
    params = params.replace(
        **{name: getattr(params, name) * deflator for name in KRW_2024_PARAMETERS},
        initial_adoption_share=values.initial_adoption_share,
    )
    return params, growth, values


def build_hindcast_model(
    params: Parameters,
    growth: Mapping[str, float],
    values: DriverValues,
    seed: int,
    replicate: int,
    firms: int | None = None,
    end: str | None = None,
) -> ChangwonModel:
    """The model of one hindcast replicate, ready to step."""
    drivers = load_drivers()
    totals = base_year_totals()
    scenario = history_scenario(drivers, values, growth, end)
    population = synthesise(params, stream(seed, replicate, STREAM_POPULATION), firms, totals)
    env = build_environment(
        scenario,
        params,
        population.anchor_ids,
        base_year=drivers.base_year,
        base_krw_per_usd=totals["krw_per_usd"],
    )
    apply_demand_shock(env, shock_depth(), drivers.covid, drivers.base_year)
    return ChangwonModel(population, env, params, month_seeds(seed, replicate), replicate)


def run_hindcast(
    theta: Mapping[str, float],
    seed: int,
    replicate: int,
    firms: int | None = None,
    end: str | None = None,
    fixed_nuisance: bool = False,
    fixed_drivers: bool = False,
    measure_effects: bool = True,
) -> HindcastRun:
    """Simulate one replicate of the hindcast with the fitted parameters `theta`."""
    params, growth, values = hindcast_inputs(theta, seed, replicate, fixed_nuisance, fixed_drivers)
    model = build_hindcast_model(params, growth, values, seed, replicate, firms, end)
    panel = AdoptionPanel() if measure_effects else None
    labour_step = math.log1p(growth["hindcast_labour_productivity_growth"]) / 12.0
    for k in range(len(model.env.months)):
        if k > 0:
            raise_output_per_worker(model, math.exp(labour_step))
        model.step()
        check_finite(model.indicators[k], replicate, int(model.env.months[k]))
        if panel is not None:
            panel.record(model)
    effects = panel.effects(model) if panel is not None else {}
    return HindcastRun(
        replicate, model.env.months.copy(), model.indicators, effects, params, values
    )


def raise_output_per_worker(model: ChangwonModel, factor: float) -> None:
    """Trend growth of output per worker, applied between months (the model has no such trend):
    every firm's and entrant's base output per worker and wage rise by `factor`, so the wage bill
    per unit of output is unchanged.
    """
    model.firms.labour_productivity *= factor
    model.firms.wage *= factor
    model.entrant.labour_productivity[:] *= factor
    model.entrant.wage[:] *= factor


# --- the adoption effect, measured as the ministry measured it ------------------------------------


@dataclass(frozen=True, slots=True)
class EffectDesign:
    """How adopters are compared with matched non-adopters (see calibration/targets.yaml)."""

    lag_months: int = 24
    window_months: int = 3


class AdoptionPanel:
    """Per-firm outcomes month by month, for the matched comparison after the run."""

    def __init__(self) -> None:
        self.rows: dict[str, list[np.ndarray]] = {
            k: [] for k in ("alive", "employment", "gross", "sales", "defect", "cost")
        }

    def record(self, model: ChangwonModel) -> None:
        f, now = model.firms, model.now
        n = model.firms_created
        alive = f.alive[:n].copy()
        sales = now.sales[:n]
        cost = now.inputs[:n] + f.wage[:n] * f.employment[:n] + f.fixed_cost[:n]
        with np.errstate(divide="ignore", invalid="ignore"):
            unit_cost = np.where(sales > 0, cost / sales, np.nan)
        self.rows["alive"].append(alive)
        self.rows["employment"].append(f.employment[:n].copy())
        self.rows["gross"].append(now.gross[:n].copy())
        self.rows["sales"].append(sales.copy())
        self.rows["defect"].append(f.defect_rate[:n].copy())
        self.rows["cost"].append(unit_cost)

    def table(self, name: str, slots: int) -> np.ndarray:
        """(months, slots), padded with NaN (False for `alive`) for firms not yet created."""
        rows = self.rows[name]
        fill = False if name == "alive" else np.nan
        out = np.full((len(rows), slots), fill, dtype=bool if name == "alive" else float)
        for k, row in enumerate(rows):
            out[k, : len(row)] = row
        return out

    def effects(self, model: ChangwonModel, design: EffectDesign | None = None) -> dict[str, float]:
        f = model.firms
        n = model.firms_created
        tables = {name: self.table(name, n) for name in self.rows}
        return adoption_effects(
            tables,
            model.env.months,
            f.adoption[:n],
            f.adoption_month[:n],
            f.sector[:n],
            f.anchor[:n],
            design or EffectDesign(),
        )


def adoption_effects(
    tables: Mapping[str, np.ndarray],
    months: np.ndarray,
    adoption: np.ndarray,
    adoption_month: np.ndarray,
    sector: np.ndarray,
    anchor: np.ndarray,
    design: EffectDesign,
) -> dict[str, float]:
    """Adopters against matched non-adopters: the difference in differences of log outcomes.

    `tables` hold (months, firms) arrays: alive, employment, gross, sales, defect, cost. Returns
    the effect on productivity (gross output per worker), defect rate, unit cost and sales, and
    the number of matched pairs. Effects are NaN when no adopter can be matched.
    """
    lag, window = design.lag_months, design.window_months
    first = int(months[0])
    n_months = len(months)
    employment = tables["employment"]
    with np.errstate(divide="ignore", invalid="ignore"):
        productivity = tables["gross"] / employment
    outcomes = {
        "productivity": productivity,
        "defect_rate": tables["defect"],
        "cost": tables["cost"],
        "sales": tables["sales"],
    }
    # Means over the window ending in each month, and whether the firm was active and every
    # outcome positive and finite throughout it (rows before a full window are invalid).
    valid = tables["alive"].copy()
    for y in outcomes.values():
        valid &= np.isfinite(y) & (y > 0)
    window_valid = rolling_mean(valid.astype(float), window) > 1.0 - 1e-9
    with np.errstate(divide="ignore"):  # invalid windows (mean 0) are never used
        logs = {
            name: np.log(rolling_mean(np.where(valid, y, 0.0), window))
            for name, y in outcomes.items()
        }
    adopting = (adoption == ADOPTING) | (adoption == ADOPTED)
    # Month index by which a firm has adopted (n_months: not within the run).
    adopted_by = np.where(adopting, np.clip(adoption_month - first, 0, n_months), n_months)
    k0 = np.where(adopting, adoption_month - first, -1)
    control = (anchor < 0) & (adoption != INELIGIBLE)  # anchors are never compared
    adopters = np.flatnonzero(adopting & (k0 >= window - 1) & (k0 + lag < n_months))
    pairs_i, pairs_j, pre, post = [], [], [], []
    for i in adopters:
        a, b = k0[i], k0[i] + lag
        if not (window_valid[a, i] and window_valid[b, i]):
            continue
        pool = (
            control & (sector == sector[i]) & (adopted_by > b) & window_valid[a] & window_valid[b]
        )
        pool[i] = False
        candidates = np.flatnonzero(pool)
        if not len(candidates):
            continue
        distance = np.abs(np.log(employment[a, candidates] / employment[a, i]))
        pairs_i.append(i)
        pairs_j.append(candidates[np.argmin(distance)])
        pre.append(a)
        post.append(b)
    effects: dict[str, float] = {}
    for name, log_y in logs.items():
        if not pairs_i:
            effects[name] = float("nan")
            continue
        change_i = log_y[post, pairs_i] - log_y[pre, pairs_i]
        change_j = log_y[post, pairs_j] - log_y[pre, pairs_j]
        effects[name] = float(np.expm1(np.mean(change_i - change_j)))
    effects["pairs"] = float(len(pairs_i))
    return effects


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over the `window` rows ending at each row (rows before a full window: NaN)."""
    total = np.cumsum(values, axis=0)
    out = np.full(values.shape, np.nan)
    out[window - 1] = total[window - 1]
    out[window:] = total[window:] - total[:-window]
    return out / window


def annual_indicator(run: HindcastRun, indicator: str, year: int, month: int | None) -> float:
    """The indicator in `year`: the sum of its months, or its value in calendar `month`."""
    column = INDICATOR_NAMES.index(indicator)
    if month is None:
        rows = run.months // 12 == year
        if not rows.any():
            return float("nan")
        return float(run.indicators[rows, column].sum())
    rows = run.months == year * 12 + month - 1
    return float(run.indicators[rows, column][0]) if rows.any() else float("nan")
