"""The world outside the firms, month by month: demand by partner, the exchange rate, producer
prices, tariffs in force and how buyers have adjusted to them, programmes, and defence contracts.

Everything that does not depend on the firms is computed once per replicate as arrays over the
months of the period (row k = k-th month), so the monthly step only reads a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.inputs.calendar import calendar_month, parse_month
from sim.inputs.names import EXPORT_PARTNERS, PARTNERS, SECTORS
from sim.inputs.parameters import Parameters
from sim.model import rules

BASE_YEAR = 2024
BASE_KRW_PER_USD = 1364.4  # 2024 average, Bank of Korea ECOS via MBC and YTN (FACTS §3)
# Assumption: a pipeline order starts delivering a year after signing and delivers over 3 years.
PIPELINE_LEAD_MONTHS = 12
PIPELINE_DELIVERY_MONTHS = 36


@dataclass(slots=True)
class Environment:
    months: np.ndarray  # (T,) month numbers
    price: np.ndarray  # (T,) producer price level, 2024 = 1
    krw_per_usd: np.ndarray  # (T,)
    partner_trend: np.ndarray  # (T, partners) trend x season, 2024 = 1
    fx_factor: np.ndarray  # (T, partners) export volume response to the won
    tariff_rate: np.ndarray  # (T, partners, sectors) ad valorem rates in force
    tariff_factor: np.ndarray  # (T, partners, sectors) demand with tariffs / without
    programme_active: np.ndarray  # (T,) bool: AI-factory programme offers slots
    programme_slots: np.ndarray  # (T,) new subsidised slots opening this month
    subsidy_share: float
    support_active: np.ndarray  # (T,) bool: export support in force
    credit_line_krw: float
    diversion_boost: float
    deliveries: np.ndarray  # (T, anchors, partners) defence deliveries due, nominal KRW
    pipeline_rate: np.ndarray  # (T,) expected pipeline orders signed this month
    pipeline: object  # the scenario's pipeline (value distribution, primes, partner) or None


def build_environment(
    scenario,
    params: Parameters,
    anchor_ids: tuple[str, ...],
    base_year: int = BASE_YEAR,
    base_krw_per_usd: float = BASE_KRW_PER_USD,
) -> Environment:
    """Deterministic inputs of a replicate, from the scenario and parameters.

    `base_year` and `base_krw_per_usd` describe the population's base year (2024 unless a population
    of another year is simulated, as in the 2020-2024 hindcast of `sim.analysis.hindcast`): prices
    and demand trends average one over that year, and export volumes respond to the won relative to
    that year's rate.
    """
    from sim.inputs.scenario_fields import path_value

    start, end = scenario.period.start_month, scenario.period.end_month
    months = np.arange(start, end + 1)
    n = len(months)

    # Prices and demand trends are cumulated monthly from a grid spanning the base year and the
    # period, then normalised so that the base year averages one.
    grid = np.arange(min(start, base_year * 12), max(end, base_year * 12 + 11) + 1)
    base = (grid >= base_year * 12) & (grid < base_year * 12 + 12)
    in_period = (grid >= start) & (grid <= end)

    def level(annual_growth) -> np.ndarray:
        log_step = np.log1p(np.array([path_value(annual_growth, m) for m in grid])) / 12.0
        log_level = np.cumsum(log_step)
        return np.exp(log_level - log_level[base].mean())[in_period]

    price = level(scenario.macro.producer_price_growth)
    season = 1.0 + params.seasonal_amplitude * np.cos(
        2 * np.pi * (np.array([calendar_month(m) for m in months]) - 12) / 12.0
    )
    growth = scenario.macro.demand_growth
    partner_trend = np.stack([level(growth[p]) for p in PARTNERS], axis=1) * season[:, None]

    fx = np.array([path_value(scenario.macro.krw_per_usd, m) for m in months], dtype=float)
    fx_factor = np.ones((n, len(PARTNERS)))
    fx_factor[:, 1:] = ((fx / base_krw_per_usd) ** params.fx_export_elasticity)[:, None]

    rate = tariff_rates(scenario.tariffs, months)
    tariff_factor = tariff_factors(rate, params)

    programme_active, slots = programme(scenario.ai_factory, months)
    support = scenario.export_support
    support_active = active_mask(support, months) if support else np.zeros(n, dtype=bool)

    deliveries = np.zeros((n, len(anchor_ids), len(PARTNERS)))
    for contract in scenario.defence_exports.contracts:
        add_deliveries(
            deliveries,
            months,
            fx,
            anchor_ids.index(contract.prime),
            PARTNERS.index(contract.partner),
            value_usd=contract.value_usd,
            value_krw=contract.value_krw,
            first=parse_month(contract.delivery.start),
            count=contract.delivery.months,
        )
    pipeline = scenario.defence_exports.pipeline
    pipeline_rate = np.zeros(n)
    if pipeline is not None:
        pipeline_rate[active_mask(pipeline, months)] = pipeline.orders_per_year / 12.0

    return Environment(
        months=months,
        price=price,
        krw_per_usd=fx,
        partner_trend=partner_trend,
        fx_factor=fx_factor,
        tariff_rate=rate,
        tariff_factor=tariff_factor,
        programme_active=programme_active,
        programme_slots=slots,
        subsidy_share=scenario.ai_factory.subsidy_share if scenario.ai_factory else 0.0,
        support_active=support_active,
        credit_line_krw=support.credit_line_krw if support else 0.0,
        diversion_boost=support.diversion_boost if support else 0.0,
        deliveries=deliveries,
        pipeline_rate=pipeline_rate,
        pipeline=pipeline,
    )


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


def tariff_factors(rate: np.ndarray, params: Parameters) -> np.ndarray:
    """Demand factor of the tariffs month by month, with buyers adjusting over the years.

    Buyers start the period adjusted to no tariff: measures in force before the period start
    with the period.
    """
    impact = rules.impact_elasticity(
        params.elasticity_one_year, params.elasticity_long_run, params.elasticity_years_to_long_run
    )
    speed = rules.monthly_speed(12.0 * params.elasticity_years_to_long_run / math.log(20.0))
    wedge = rules.tariff_wedge(rate, params.tariff_passthrough)
    perceived = np.zeros_like(wedge)
    previous = np.zeros(wedge.shape[1:])
    for k in range(len(wedge)):
        previous = rules.perceived_wedge(previous, wedge[k], speed)
        perceived[k] = previous
    return rules.tariff_demand_factor(wedge, perceived, impact, params.elasticity_long_run)


def programme(ai_factory, months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Months the AI-factory programme runs, and the subsidised slots opening each month."""
    if ai_factory is None:
        return np.zeros(len(months), dtype=bool), np.zeros(len(months))
    active = active_mask(ai_factory, months)
    return active, np.where(active, ai_factory.subsidised_firms_per_year / 12.0, 0.0)


def add_deliveries(
    deliveries: np.ndarray,
    months: np.ndarray,
    fx: np.ndarray,
    prime: int,
    partner: int,
    value_usd: float | None,
    value_krw: float | None,
    first: int,
    count: int,
) -> None:
    """Spread a contract's value evenly over its delivery months (those inside the period).

    A value in USD is converted at each delivery month's exchange rate.
    """
    due = (months >= first) & (months < first + count)
    if value_usd is not None:
        deliveries[due, prime, partner] += value_usd / count * fx[due]
    else:
        deliveries[due, prime, partner] += value_krw / count


assert EXPORT_PARTNERS == PARTNERS[1:]
