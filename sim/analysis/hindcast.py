"""The 2020-2024 hindcast: the complex simulated from a 2020 population through its history.

One replicate (`run_hindcast`) is the model of `sim.model` started from a population synthesised
to the 2020 totals of `calibration/complex_annual.yaml` and driven by what happened: the national
drivers' realised values (the same histories and the same monthly paths as forecasts,
`sim.model.macro_paths`), the defence contracts of `calibration/defence_contracts.yaml`, the
national smart-factory support and the 2020 demand shock (`calibration/history_drivers.yaml`).
The one thing a scenario cannot say, a one-off demand shock, is applied to the environment here
(`apply_demand_shock`).

Besides the monthly indicators, a replicate measures the effect of smart-factory adoption the way
the Ministry of SMEs and Startups measured it: adopters against matched non-adopters after the
ramp (`adoption_effects`).

Randomness: the parameters not fitted are drawn by name like a forecast's
(`sim.ensemble.replicate.input_uniform`); the population, the months and the uncertain drivers
use the replicate's streams. The fitted parameters are given, not drawn, so the same (S, r) under
two parameter vectors shares every other draw (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from sim.analysis.history import load_history
from sim.ensemble.replicate import (
    STREAM_POPULATION,
    check_finite,
    driver_model,
    input_uniform,
    month_seeds,
    stream,
)
from sim.inputs.calendar import parse_month
from sim.inputs.names import anchor_ids
from sim.inputs.parameters import (
    PARAMETER_NAMES,
    Parameters,
    central_prior_parameters,
    draw_parameters,
    triangular,
)
from sim.inputs.paths import CALIBRATION_DIR
from sim.inputs.safe_yaml import read_data_file
from sim.model.changwon_model import ChangwonModel
from sim.model.defence import book_deliveries, load_order_book
from sim.model.environment import Environment, build_environment
from sim.model.firms import ADOPTED, ADOPTING, INELIGIBLE
from sim.model.indicators import INDICATOR_NAMES
from sim.model.macro_paths import macro_paths
from sim.model.population import synthesise

DRIVERS_FILE = CALIBRATION_DIR / "history_drivers.yaml"
STREAM_DRIVERS = 4  # the hindcast's uncertain drivers
EFFECTS = ("productivity", "defect_rate", "cost", "sales", "employment")
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


@dataclass(frozen=True)
class Drivers:
    """The parsed `history_drivers.yaml`."""

    base_year: int
    start: str
    end: str
    covid: dict
    programme_start: str
    programme_end: str
    programme_slots: Uncertain
    programme_subsidy: Uncertain
    initial_adoption_share: Uncertain


@cache
def load_drivers(path: Path = DRIVERS_FILE) -> Drivers:
    """Read the historical drivers (cached)."""
    raw = read_data_file(path)
    programme = raw["smart_factory_programme"]
    return Drivers(
        base_year=int(raw["base_year"]),
        start=str(raw["period"]["start"]),
        end=str(raw["period"]["end"]),
        covid=dict(raw["covid_shock"]),
        programme_start=str(programme["start"]),
        programme_end=str(programme["end"]),
        programme_slots=Uncertain.read(programme["subsidised_firms_per_year"]),
        programme_subsidy=Uncertain.read(programme["subsidy_share"]),
        initial_adoption_share=Uncertain.read(raw["initial_adoption_share"]),
    )


@dataclass(frozen=True, slots=True)
class DriverValues:
    """The uncertain drivers of one replicate, drawn."""

    tranche_usd: dict[str, float]  # defence deliveries from Changwon whose size is not reported
    programme_slots: float
    programme_subsidy: float
    initial_adoption_share: float


def driver_values(drivers: Drivers, rng: np.random.Generator | None) -> DriverValues:
    """Draw the uncertain drivers (in a fixed order), or take their central values (rng None)."""
    tranches = load_order_book().tranches
    n = len(tranches) + 3
    u = rng.random(n) if rng is not None else [None] * n
    ranged = {
        t.name: Uncertain(t.value_usd, t.low, t.high).at(u[i]) for i, t in enumerate(tranches)
    }
    k = len(tranches)
    return DriverValues(
        tranche_usd=ranged,
        programme_slots=drivers.programme_slots.at(u[k]),
        programme_subsidy=drivers.programme_subsidy.at(u[k + 1]),
        initial_adoption_share=drivers.initial_adoption_share.at(u[k + 2]),
    )


# --- the scenario of the history ----------------------------------------------------------------


def history_scenario(drivers: Drivers, values: DriverValues, end: str | None = None):
    """The policies of the history as a `Scenario` (name `hindcast`), period start to `end`:
    the national smart-factory support; no tariff on the complex's goods before 2025."""
    from sim.inputs.scenario import Scenario

    return Scenario.model_validate(
        {
            "name": "hindcast",
            "title": "Hindcast 2020-2024 from the historical drivers",
            "period": {"start": drivers.start, "end": end or drivers.end},
            "runs": {"replicates": 1, "seed": 0},
            "tariffs": [],
            "ai_factory": {
                "start": drivers.programme_start,
                "end": drivers.programme_end,
                "subsidised_firms_per_year": values.programme_slots,
                "subsidy_share": values.programme_subsidy,
            },
        }
    )


def realised_macro(drivers: Drivers, end: str | None = None):
    """The national drivers as they were, month by month over the hindcast's period."""
    months = np.arange(parse_month(drivers.start), parse_month(end or drivers.end) + 1)
    return macro_paths(months, drivers.base_year, driver_model().history)


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
    """Multiply every buyer's demand by 1 - depth x shape, keeping the base year's average."""
    shock = 1.0 - depth * shock_shape(env.months, covid)
    base = env.months // 12 == base_year
    before = env.demand_index[base].mean(axis=0)
    env.demand_index *= shock[:, None]
    env.demand_index *= before / env.demand_index[base].mean(axis=0)


@cache
def shock_depth(base_year: int | None = None) -> float:
    """Depth of the demand shock that puts demand in the trough month at the reported ratio of
    May 2020 production to the 2020 monthly average (central seasonality and drivers)."""
    drivers = load_drivers()
    base_year = base_year or drivers.base_year
    covid = drivers.covid
    params = central_prior_parameters()
    scenario = history_scenario(drivers, driver_values(drivers, None))
    macro = realised_macro(drivers)
    trough = parse_month(str(covid["trough"]))
    monthly_average = base_year_observed("production_krw", base_year) / 12.0
    ratio = float(covid["production_may_2020_krw"]) / monthly_average

    def gap(depth: float) -> float:
        env = build_environment(scenario, params, anchor_ids(), macro)
        apply_demand_shock(env, depth, covid, base_year)
        index = env.demand_index[:, 0]
        base = env.months // 12 == base_year
        return float(index[env.months == trough][0] / index[base].mean()) - ratio

    return float(brentq(gap, 0.0, 0.9, xtol=1e-10))


# --- the base-year population ---------------------------------------------------------------------


def base_year_observed(indicator: str, year: int) -> float:
    return load_history()[indicator][year]


def base_year_totals(year: int | None = None) -> dict[str, float]:
    """The totals a population of `year` reproduces (KICOX figures and that year's won)."""
    year = year or load_drivers().base_year
    history = load_history()
    return {
        "production_krw": history["production_krw"][year],
        "exports_usd": history["exports_usd"][year],
        "employment": history["employment"][year],
        "firms": history["active_firms"][year],
        "krw_per_usd": driver_model().history.levels["krw_per_usd"][year],
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


def price_change_since(base_year: int, year: int = 2024) -> float:
    """Producer prices of `year` over those of `base_year` (annual averages, realised)."""
    growth = driver_model().history.growth["producer_prices"]
    return math.exp(sum(growth[y] for y in range(base_year + 1, year + 1)))


def hindcast_inputs(
    theta: Mapping[str, float],
    seed: int,
    replicate: int,
    fixed_nuisance: bool = False,
    fixed_drivers: bool = False,
) -> tuple[Parameters, DriverValues]:
    """Model parameters and drivers of one hindcast replicate.

    Parameters not in `theta` come from their priors (drawn by name, as in forecasts) or, with
    `fixed_nuisance`, their prior modes.
    """
    drivers = load_drivers()
    params = (
        central_prior_parameters()
        if fixed_nuisance
        else draw_parameters(lambda name: input_uniform(seed, replicate, name), posterior=None)
    )
    unknown = set(theta) - set(PARAMETER_NAMES)
    if unknown:
        raise ValueError(f"unknown hindcast parameters: {', '.join(sorted(unknown))}")
    params = params.replace(**{k: float(v) for k, v in theta.items()})
    values = driver_values(
        drivers, None if fixed_drivers else stream(seed, replicate, STREAM_DRIVERS)
    )
    # 2024 KRW to base-year KRW, and the base year's adoption share.
    deflator = 1.0 / price_change_since(drivers.base_year)
    params = params.replace(
        **{name: getattr(params, name) * deflator for name in KRW_2024_PARAMETERS},
        initial_adoption_share=values.initial_adoption_share,
    )
    return params, values


def build_hindcast_model(
    params: Parameters,
    values: DriverValues,
    seed: int,
    replicate: int,
    firms: int | None = None,
    end: str | None = None,
) -> ChangwonModel:
    """The model of one hindcast replicate, ready to step."""
    drivers = load_drivers()
    totals = base_year_totals()
    scenario = history_scenario(drivers, values, end)
    population = synthesise(params, stream(seed, replicate, STREAM_POPULATION), firms, totals)
    book = book_deliveries(
        load_order_book(),
        population.anchor_ids,
        params.defence_in_complex_share,
        values.tranche_usd,
    )
    env = build_environment(
        scenario,
        params,
        population.anchor_ids,
        realised_macro(drivers, end),
        book,
        defence_scale=population.scale,
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
    params, values = hindcast_inputs(theta, seed, replicate, fixed_nuisance, fixed_drivers)
    model = build_hindcast_model(params, values, seed, replicate, firms, end)
    panel = AdoptionPanel() if measure_effects else None
    for k in range(len(model.env.months)):
        model.step()
        check_finite(model.indicators[k], replicate, int(model.env.months[k]))
        if panel is not None:
            panel.record(model)
    effects = panel.effects(model) if panel is not None else {}
    return HindcastRun(
        replicate, model.env.months.copy(), model.indicators, effects, params, values
    )


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
            k: [] for k in ("alive", "employment", "value_added", "sales", "defect", "cost")
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
        self.rows["value_added"].append(sales - now.inputs[:n])  # real
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
    """Adopters against matched non-adopters: the difference in differences of log outcomes,
    and of employment in persons.

    `tables` hold (months, firms) arrays: alive, employment, value_added, sales, defect, cost.
    Returns the effect on productivity (real value added per worker: with output per worker, the
    ministry's +30% could not hold together with its +3.0 persons and +7.7% sales), defect rate,
    unit cost and sales as relative changes, on employment as persons per firm, and the number of
    matched pairs. Effects are NaN when no adopter can be matched.
    """
    lag, window = design.lag_months, design.window_months
    first = int(months[0])
    n_months = len(months)
    employment = tables["employment"]
    with np.errstate(divide="ignore", invalid="ignore"):
        productivity = tables["value_added"] / employment
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
    if pairs_i:
        persons = rolling_mean(np.where(valid, employment, 0.0), window)
        change_i = persons[post, pairs_i] - persons[pre, pairs_i]
        change_j = persons[post, pairs_j] - persons[pre, pairs_j]
        effects["employment"] = float(np.mean(change_i - change_j))
    else:
        effects["employment"] = float("nan")
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


def quarterly_yoy_sd(run: HindcastRun, quarters, indicator: str = "production_krw") -> float:
    """The spread (sd) of the year-on-year log change of quarterly `indicator` over `quarters`
    ("YYYYQn"); NaN if the run does not cover them."""
    column = INDICATOR_NAMES.index(indicator)
    totals: dict[str, float] = {}
    for k, month in enumerate(run.months):
        key = f"{month // 12}Q{(month % 12) // 3 + 1}"
        totals[key] = totals.get(key, 0.0) + float(run.indicators[k, column])
    changes = []
    for q in quarters:
        earlier = f"{int(q[:4]) - 1}{q[4:]}"
        if q not in totals or earlier not in totals:
            return float("nan")
        changes.append(math.log(totals[q] / totals[earlier]))
    return float(np.std(changes, ddof=1))
