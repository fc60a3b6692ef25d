"""The world outside the firms, month by month: demand by buyer, producer prices, the won and the
price of exports, tariffs in force and how buyers have adjusted to them, programmes, and defence
work and deliveries.

Everything that does not depend on the firms is computed once per replicate as arrays over the
months of the period (row k = k-th month), so the monthly step only reads a row. The national
drivers arrive as monthly paths (`sim.model.macro_paths`); the defence order book as work and
delivery schedules (`sim.model.defence`).

Prices of exports. Most exports are invoiced in dollars (`export_krw_invoiced_share` are in won):
their dollar price is sticky and moves toward producer prices over the won with the time
constant `export_price_adjust_months`, so a weaker won first raises their won value, leaving
their dollar value unchanged, and only later lowers their dollar price. Exports invoiced in won
keep their won price, so their dollar price falls at once. Buyers' volumes respond to the
dollar price they pay with the elasticity `export_price_elasticity`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.inputs.calendar import calendar_month, parse_month
from sim.inputs.names import EXPORT_PARTNERS, PARTNERS, SECTORS
from sim.inputs.parameters import Parameters
from sim.model import rules
from sim.model.defence import Deliveries, scenario_deliveries, schedule
from sim.model.macro_paths import MacroPaths


@dataclass(slots=True)
class Environment:
    months: np.ndarray  # (T,) month numbers
    price: np.ndarray  # (T,) producer price level, base year = 1
    krw_per_usd: np.ndarray  # (T,)
    demand_index: np.ndarray  # (T, partners) real demand of each buyer x season, base year = 1
    export_volume: np.ndarray  # (T,) buyers' volume response to the dollar price of exports
    export_price: np.ndarray  # (T,) won received per unit of exports, base year = 1
    tariff_rate: np.ndarray  # (T, partners, sectors) ad valorem rates in force
    tariff_volume: np.ndarray  # (T, partners, sectors) volume demanded with tariffs / without
    tariff_price: np.ndarray  # (T, partners, sectors) exporter's price with tariffs / without
    programme_active: np.ndarray  # (T,) bool: AI-factory programme offers slots
    programme_slots: np.ndarray  # (T,) new subsidised slots opening this month
    subsidy_share: float
    support_active: np.ndarray  # (T,) bool: export support in force
    credit_line_krw: float
    diversion_boost: float
    defence_work: np.ndarray  # (T, anchors, partners) complex's defence work, nominal KRW
    defence_deliveries: np.ndarray  # (T, anchors, partners) deliveries (exports), nominal KRW
    defence_signed: np.ndarray  # (T,) complex's share of contracts signed in the month
    defence_backlog: float  # complex's share of contracts signed before the period, not worked
    pipeline_rate: np.ndarray  # (T,) expected pipeline orders signed this month
    pipeline: object  # the scenario's pipeline (value distribution, primes, partner) or None
    complex_shock_start: float  # log common shock in the month before the period (momentum)
    defence_scale: float  # contracts' size relative to the complex's (1; smaller in tests)
    macro_growth: dict  # driver -> year -> annual log growth the paths were made from


def build_environment(
    scenario,
    params: Parameters,
    anchor_ids: tuple[str, ...],
    macro: MacroPaths,
    book: Sequence[Deliveries] | None = None,
    complex_shock_start: float = 0.0,
    defence_scale: float = 1.0,
) -> Environment:
    """Inputs of a replicate that do not depend on the firms: the scenario's measures, the
    replicate's national drivers `macro`, and the defence order book `book` known at the start
    (contracts signed before the period; the scenario's named contracts are added here)."""
    start, end = scenario.period.start_month, scenario.period.end_month
    months = np.arange(start, end + 1)
    n = len(months)

    season = 1.0 + params.seasonal_amplitude * np.cos(
        2 * np.pi * (np.array([calendar_month(m) for m in months]) - 12) / 12.0
    )
    fx = macro.krw_per_usd
    volume, export_price = export_prices(macro.price, fx / macro.base_krw_per_usd, params)

    rate = tariff_rates(scenario.tariffs, months)
    tariff_volume, tariff_price = tariff_factors(rate, params)

    programme_active, slots = programme(scenario.ai_factory, months)
    support = scenario.export_support
    support_active = active_mask(support, months) if support else np.zeros(n, dtype=bool)

    contracts = [
        *(book or []),
        *scenario_deliveries(scenario.defence_exports.contracts, anchor_ids),
    ]
    defence = schedule(
        contracts,
        months,
        fx,
        len(anchor_ids),
        params.defence_build_months,
        params.defence_in_complex_share,
        defence_scale,
    )
    pipeline = scenario.defence_exports.pipeline
    pipeline_rate = np.zeros(n)
    if pipeline is not None:
        pipeline_rate[active_mask(pipeline, months)] = pipeline.orders_per_year / 12.0

    return Environment(
        months=months,
        price=macro.price,
        krw_per_usd=fx,
        demand_index=buyers_demand(macro.demand, params)
        * (season * complex_trend(months, macro, params))[:, None],
        export_volume=volume,
        export_price=export_price,
        tariff_rate=rate,
        tariff_volume=tariff_volume,
        tariff_price=tariff_price,
        programme_active=programme_active,
        programme_slots=slots,
        subsidy_share=scenario.ai_factory.subsidy_share if scenario.ai_factory else 0.0,
        support_active=support_active,
        credit_line_krw=support.credit_line_krw if support else 0.0,
        diversion_boost=support.diversion_boost if support else 0.0,
        defence_work=defence.work,
        defence_deliveries=defence.deliveries,
        defence_signed=defence.signed,
        defence_backlog=defence.opening_backlog,
        pipeline_rate=pipeline_rate,
        pipeline=pipeline,
        complex_shock_start=complex_shock_start,
        defence_scale=defence_scale,
        macro_growth=macro.annual_growth,
    )


def buyers_demand(demand: np.ndarray, params: Parameters) -> np.ndarray:
    """The real demand of the complex's buyers, (months, partners), from the national drivers.

    Domestic buyers follow GDP. Buyers abroad follow Korea's customs exports to them by a fitted
    loading: the national series also carries goods the complex does not make, so the complex's
    export demand moves by `export_demand_loading` times its log change. Levels average one in
    the base year, so the loading scales their movements, not their base.
    """
    out = demand.copy()
    out[:, 1:] = demand[:, 1:] ** params.export_demand_loading
    return out


def complex_trend(months: np.ndarray, macro: MacroPaths, params: Parameters) -> np.ndarray:
    """The complex's own demand trend beyond its national drivers, one in the middle of the base
    year (so the base year still averages about one)."""
    years = (months - (macro.base_year * 12 + 5.5)) / 12.0
    return np.exp(params.complex_demand_trend * years)


def export_prices(
    price: np.ndarray, fx_ratio: np.ndarray, params: Parameters
) -> tuple[np.ndarray, np.ndarray]:
    """(volume factor, won per unit) of exports, month by month, relative to the base year.

    `fx_ratio` is won per dollar over its base-year average. The dollar price of dollar-invoiced
    exports starts at its base-year level and moves toward price / fx_ratio; won-invoiced exports
    are at price / fx_ratio in dollars at once.
    """
    target = price / fx_ratio
    speed = rules.monthly_speed(params.export_price_adjust_months)
    dollar = np.empty_like(target)
    level = 1.0
    for k in range(len(target)):
        level = rules.adjust_toward(level, target[k], speed)
        dollar[k] = level
    won = params.export_krw_invoiced_share
    buyers_price = (1.0 - won) * dollar + won * target
    volume = buyers_price ** (-params.export_price_elasticity)
    won_per_unit = (1.0 - won) * dollar * fx_ratio + won * price
    return volume, won_per_unit


def active_mask(measure, months: np.ndarray) -> np.ndarray:
    """Months in which a measure with `start` and optional `end` (inclusive) is in force."""
    first = parse_month(measure.start)
    last = parse_month(measure.end) if measure.end else months[-1]
    return (months >= first) & (months <= last)


def tariff_rates(tariffs, months: np.ndarray) -> np.ndarray:
    """Rates in force by month, partner and sector; overlapping measures add."""
    rate = np.zeros((len(months), len(PARTNERS), len(SECTORS)))
    for measure in tariffs:
        sectors = (
            range(len(SECTORS))
            if measure.sectors == "all"
            else [SECTORS.index(s) for s in measure.sectors]
        )
        mask = active_mask(measure, months)
        for s in sectors:
            rate[mask, PARTNERS.index(measure.partner), s] += measure.rate
    return rate


def tariff_factors(rate: np.ndarray, params: Parameters) -> tuple[np.ndarray, np.ndarray]:
    """(volume, exporter's price) with the tariffs over without, month by month.

    The value of trade at the border moves by (1 + tau)^(-eps(a)), eps rising from about 0.76
    after a year toward its long-run value as buyers adjust (`rules.tariff_value_factor`).
    Pass-through only splits that response: the exporter cuts its dollar price by the part of
    the tariff it does not pass on, the rest falls on volume (`rules.split_tariff_response`).
    Buyers start the period adjusted to no tariff: measures in force before it start with it.
    """
    impact = rules.impact_elasticity(
        params.elasticity_one_year, params.elasticity_long_run, params.elasticity_years_to_long_run
    )
    speed = rules.monthly_speed(12.0 * params.elasticity_years_to_long_run / math.log(20.0))
    wedge = rules.tariff_wedge(rate)
    perceived = np.zeros_like(wedge)
    previous = np.zeros(wedge.shape[1:])
    for k in range(len(wedge)):
        previous = rules.perceived_wedge(previous, wedge[k], speed)
        perceived[k] = previous
    value = rules.tariff_value_factor(wedge, perceived, impact, params.elasticity_long_run)
    return rules.split_tariff_response(value, wedge, params.tariff_passthrough)


def programme(ai_factory, months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Months the AI-factory programme runs, and the subsidised slots opening each month."""
    if ai_factory is None:
        return np.zeros(len(months), dtype=bool), np.zeros(len(months))
    active = active_mask(ai_factory, months)
    return active, np.where(active, ai_factory.subsidised_firms_per_year / 12.0, 0.0)


assert EXPORT_PARTNERS == PARTNERS[1:]
