"""The national drivers of one replicate as monthly series over its period.

Every driver is a monthly level whose annual averages change by the annual growths of the driver
model (`sim.model.drivers`), smooth within years (`monthly_log_level`):
- years up to the last observed one (2024, or a validation origin) take their realised growths;
- later years are drawn from the driver model, from the last observed state, with the
  replicate's own parameter draw and innovations (common random numbers across scenarios);
- a scenario may pin a driver: a number or a dated path is used as before (a growth rate per
  year, or the won's level), an outlook `{mean, sd}` replaces that driver's equation by
  mean + sd x its own innovation, which keeps its correlation with the other drivers.
Demand levels are real (domestic: GDP; export partners: customs exports in dollars, which are
real demand at an export price elasticity of one, see `export_price_elasticity`); prices and
demand average one in the base year; the won is in won per dollar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from sim.inputs.names import PARTNERS
from sim.inputs.paths import CALIBRATION_DIR
from sim.inputs.safe_yaml import read_data_file
from sim.model.drivers import (
    DRIVERS,
    EQUATIONS,
    DriverHistory,
    DriverModel,
    DriverParameters,
    Outlook,
    monthly_log_level,
    simulate_annual,
)

PRICE, FX = "producer_prices", "krw_per_usd"


@dataclass(frozen=True, slots=True)
class MacroPaths:
    """Monthly national drivers over a period."""

    price: np.ndarray  # (T,) producer price level, base year averages one
    krw_per_usd: np.ndarray  # (T,) won per dollar
    demand: np.ndarray  # (T, partners) real demand level by buyer, base year averages one
    base_year: int  # prices and demand average one in it
    base_krw_per_usd: float  # the base year's average: export prices are measured against it
    annual_growth: Mapping[str, Mapping[int, float]]  # log growth by driver and year used


def realised_growth(history: DriverHistory, driver: str, year: int) -> float:
    """The observed log growth of `driver` in `year`; an export partner without its own figure
    takes the growth of total exports (its deviation has mean zero)."""
    series = "exports" if driver in PARTNERS[1:] else driver
    own = history.growth.get(driver, {})
    if year in own:
        return own[year]
    if year in history.growth[series]:
        return history.growth[series][year]
    raise ValueError(f"no observed growth of {driver} in {year}: periods start after 2009")


def base_krw_per_usd(history: DriverHistory, base_year: int) -> float:
    """The base year's average won per dollar."""
    return float(history.levels[FX][base_year])


def macro_paths(
    months: np.ndarray,
    base_year: int,
    history: DriverHistory,
    drawn: np.ndarray | None = None,
    pinned: Mapping[str, np.ndarray] | None = None,
) -> MacroPaths:
    """Monthly paths of every driver: realised growth for years up to `history.through`, then
    the rows of `drawn` (annual log growths, `DRIVERS` columns, first row = the year after
    `history.through`). `pinned` gives monthly levels of drivers a scenario fixed (price and
    demand relative to the base year, the won in won per dollar); they replace the rest.
    """
    first, last = int(months[0]), int(months[-1])
    y0 = min(first // 12, base_year)
    growth: dict[str, dict[int, float]] = {}
    levels: dict[str, np.ndarray] = {}
    for j, driver in enumerate(DRIVERS):
        g = {}
        for year in range(y0, last // 12 + 1):
            if year <= history.through:
                try:
                    g[year] = realised_growth(history, driver, year)
                except ValueError:
                    if year > y0:  # the first year's own growth only shapes its first months
                        raise
            else:
                g[year] = float(drawn[year - history.through - 1, j])
        growth[driver] = g
        if pinned and driver in pinned:
            levels[driver] = np.asarray(pinned[driver], dtype=float)
        else:
            levels[driver] = np.exp(monthly_log_level(g, first, last, base_year))
    base_fx = base_krw_per_usd(history, base_year)
    fx = levels[FX] if pinned and FX in pinned else levels[FX] * base_fx
    return MacroPaths(
        price=levels[PRICE],
        krw_per_usd=fx,
        demand=np.stack([levels[p] for p in PARTNERS], axis=1),
        base_year=base_year,
        base_krw_per_usd=base_fx,
        annual_growth=growth,
    )


def scenario_pins(macro, model: DriverModel, params: DriverParameters, normals: np.ndarray):
    """What a scenario's `macro` section pins: (outlook pins for `simulate_annual`, monthly
    levels of drivers fixed by a number or a path) — see `pinned_levels` for the second."""
    outlooks: dict[str, object] = {}
    fixed: dict[str, object] = {}
    if macro is None:
        return outlooks, fixed
    for driver, value in (
        (PRICE, macro.producer_price_growth),
        *((p, macro.demand_growth.get(p)) for p in PARTNERS),
    ):
        if value is None:
            continue
        if is_outlook(value):
            outlooks[driver] = Outlook(math.log1p(value.mean), value.sd)
        else:
            fixed[driver] = value
    fx = macro.krw_per_usd
    if fx is not None:
        if is_outlook(fx):
            outlooks[FX] = fx_level_outlook(fx, model, params, normals)
        else:
            fixed[FX] = fx
    return outlooks, fixed


def draws_drivers(macro) -> bool:
    """Whether a scenario's `macro` section leaves any driver to the driver model (an outlook
    still draws: its spread comes from the driver's own innovation)."""
    if macro is None:
        return True
    pinned = [
        macro.producer_price_growth,
        macro.krw_per_usd,
        *(macro.demand_growth.get(p) for p in PARTNERS),
    ]
    return any(value is None or is_outlook(value) for value in pinned)


def is_outlook(value) -> bool:
    return hasattr(value, "mean") and hasattr(value, "sd")


def fx_level_outlook(outlook, model: DriverModel, params: DriverParameters, normals: np.ndarray):
    """An outlook for the won's annual average level, {mean, sd} in won per dollar, as a path of
    annual log changes from the last observed year: level_t = mean x exp(sd / mean x e_t), with
    e_t the won's own standardized innovation (correlated with the other drivers)."""
    e = normals[:, : len(EQUATIONS)] @ params.chol.T
    own = e[:, EQUATIONS.index(FX)]
    level = outlook.mean * np.exp(outlook.sd / outlook.mean * own)
    previous = np.concatenate([[model.history.levels[FX][model.through]], level[:-1]])
    return np.log(level / previous)


def pinned_levels(fixed: Mapping[str, object], months: np.ndarray, base_year: int, path_value):
    """Monthly levels of drivers pinned by a number or a dated path, read as before the driver
    model: growth rates per year (price, demand) cumulated month by month from the base year,
    which then averages one; the won's level as given."""
    out = {}
    first, last = int(months[0]), int(months[-1])
    grid = np.arange(min(first, base_year * 12), max(last, base_year * 12 + 11) + 1)
    base = (grid >= base_year * 12) & (grid < base_year * 12 + 12)
    in_period = (grid >= first) & (grid <= last)
    for driver, value in fixed.items():
        if driver == FX:
            out[driver] = np.array([path_value(value, m) for m in months], dtype=float)
            continue
        log_step = np.log1p(np.array([path_value(value, m) for m in grid])) / 12.0
        log_level = np.cumsum(log_step)
        out[driver] = np.exp(log_level - log_level[base].mean())[in_period]
    return out


def draw_annual(
    model: DriverModel,
    params: DriverParameters,
    normals: np.ndarray,
    outlooks: Mapping[str, object],
    fixed_growth: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Annual log growths of the years after the last observed one (rows of `normals`)."""
    pins = dict(outlooks)
    for driver, path in (fixed_growth or {}).items():
        pins[driver] = path
    return simulate_annual(params, model.start_state, len(normals), normals, pins)


# --- the complex's own starting state -------------------------------------------------------------

QUARTERLY_FILE = "complex_quarterly.yaml"


@cache
def quarterly_production() -> dict[int, tuple[float, ...]]:
    """Year -> the four quarters' production of the complex (KICOX, revised basis), for years
    without a sample break inside them."""
    spec = read_data_file(CALIBRATION_DIR / QUARTERLY_FILE)
    by_year: dict[int, list[float]] = {}
    broken: set[int] = set()
    for key, row in spec["quarters"].items():
        year = int(str(key)[:4])
        by_year.setdefault(year, []).append(float(row["production"]))
        if row.get("sample_break"):
            broken.add(year)
    return {y: tuple(q) for y, q in by_year.items() if len(q) == 4 and y not in broken}


def second_half_momentum(year: int) -> float:
    """The complex's momentum at the end of `year`, as a log level: how far its second half
    stood above its first, beyond the usual (the mean of the same ratio in the earlier years
    without a sample break, which holds the season and the usual growth within a year). Zero
    when the year or its earlier years are missing or broken."""
    quarters = quarterly_production()
    if year not in quarters:
        return 0.0
    earlier = [y for y in quarters if y < year]
    if not earlier:
        return 0.0

    def ratio(y: int) -> float:
        q = quarters[y]
        return math.log((q[2] + q[3]) / (q[0] + q[1]))

    return ratio(year) - float(np.mean([ratio(y) for y in earlier]))
