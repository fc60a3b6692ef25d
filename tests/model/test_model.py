"""The array model over a full run: stock-flow identities, determinism, the direction of effects.

Identities are checked every month of a 72-month run of the full 2024 population under a scenario
with a US tariff, an AI-factory programme, export support and defence exports, using the model's
ledger (`sim.model.changwon_model.LEDGER`). A difference of two large flows is compared with the
size of the flows involved: an identity holds "to 1e-9" when the residual is below 1e-9 of the gross
flows.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap

import numpy as np
import pytest

from sim.ensemble.replicate import base_population, build_model, replicate_inputs
from sim.inputs.names import PARTNERS, SECTORS, anchor_ids
from sim.inputs.parameters import central_parameters
from sim.inputs.scenario_files import load_scenario
from sim.model.changwon_model import LEDGER_COLUMN, ChangwonModel
from sim.model.firms import FirmState
from sim.model.indicators import (
    COLUMN,
    EXPORT_COLUMNS,
    INDICATOR_NAMES,
    SECTOR_COLUMNS,
    adjacent_columns,
    annual_from_monthly,
)

SEED = 20250801
RTOL = 1e-9
FIRMS_2024 = 3216
HANWHA = "hanwha_aerospace"

FULL = """\
name: identities
period: {start: 2025-01, end: 2030-12}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}
ai_factory: {start: 2025-07, subsidised_firms_per_year: 100, subsidy_share: 0.5}
export_support: {start: 2025-09, credit_line_krw: 2.0e11, diversion_boost: 0.5}
defence_exports:
  contracts:
    - name: K9 export
      prime: hanwha_aerospace
      value_usd: 2.5e8
      partner: rest_of_world
      signed: 2025-07
      delivery: {start: 2026-01, months: 24}
  pipeline:
    orders_per_year: 2.0
    value_usd: {dist: lognormal, median: 1.0e9, sigma: 0.8}
    primes: [hanwha_aerospace, hyundai_rotem]
    start: 2026-01
parameters: {margin_spread: 0.07, exit_debt_months: 0.25}  # some firms fail
"""
NO_TARIFF = "name: no-tariff\nperiod: {start: 2025-01, end: 2030-12}\n"
US_TARIFF = NO_TARIFF.replace("no-tariff", "us-tariff-25") + textwrap.dedent(
    """\
    tariffs:
      - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}
    """
)


def write(tmp_path_factory, name: str, text: str):
    path = tmp_path_factory.mktemp("scenarios") / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    return write(tmp_path_factory, "identities", FULL)


def run(scenario, seed: int = SEED, replicate: int = 0, params=None) -> ChangwonModel:
    scenario_r, drawn = replicate_inputs(scenario, seed, replicate)
    model = build_model(scenario_r, params or drawn, seed, replicate)
    model.cash_start = float(model.firms.cash.sum())
    for _ in range(len(model.env.months)):
        model.step()
    return model


@pytest.fixture(scope="module")
def model(full) -> ChangwonModel:
    return run(full)


def ledger(model: ChangwonModel, name: str) -> np.ndarray:
    return model.ledger[:, LEDGER_COLUMN[name]]


def indicator(model: ChangwonModel, name: str) -> np.ndarray:
    return model.indicators[:, COLUMN[name]]


# --- stock-flow identities ----------------------------------------------------------------------


def test_the_run_moves_every_flow(model):
    """The identities below are not checked on zeros."""
    for name in ("support_credit", "adoption_costs", "entrant_cash", "exit_cash"):
        assert ledger(model, name).any(), name
    assert indicator(model, "defence_deliveries_krw").sum() > 0
    assert indicator(model, "tariff_cost_krw").sum() > 0
    assert indicator(model, "exits").sum() > 0 and indicator(model, "entries").sum() > 0


def test_change_in_cash_is_the_sum_of_the_flows(model):
    inflows = ("external_sales", "in_complex_sales", "support_credit", "entrant_cash")
    outflows = (
        "in_complex_purchases",
        "outside_purchases",
        "wages",
        "fixed_costs",
        "payouts",
        "adoption_costs",
        "exit_cash",
    )
    net = sum(ledger(model, n) for n in inflows) - sum(ledger(model, n) for n in outflows)
    gross = sum(np.abs(ledger(model, n)) for n in inflows + outflows)
    cash_end = ledger(model, "cash_end")
    cash_before = np.concatenate([[model.cash_start], cash_end[:-1]])
    residual = cash_end - cash_before - net
    assert np.all(np.abs(residual) <= RTOL * gross), np.abs(residual / gross).max()


def test_cash_at_the_start_is_the_population_cash(full):
    scenario_r, params = replicate_inputs(full, SEED, 0)
    model = build_model(scenario_r, params, SEED, 0)
    expected = params.cash_months * model.firms.base_sales.sum()  # 2024 prices: price level 1
    assert model.firms.cash.sum() == pytest.approx(expected, rel=RTOL)


def test_in_complex_sales_equal_in_complex_purchases(model):
    np.testing.assert_allclose(
        ledger(model, "in_complex_sales"), ledger(model, "in_complex_purchases"), rtol=RTOL
    )
    assert (ledger(model, "in_complex_sales") > 0).all()


def test_production_is_value_added_plus_purchases(model):
    purchases = ledger(model, "in_complex_purchases") + ledger(model, "outside_purchases")
    production = indicator(model, "production_krw")
    np.testing.assert_allclose(
        indicator(model, "value_added_krw") + purchases, production, rtol=RTOL
    )
    # and sales are sold either outside the complex or inside it
    np.testing.assert_allclose(
        ledger(model, "external_sales") + ledger(model, "in_complex_sales"), production, rtol=RTOL
    )


def test_partner_exports_sum_to_exports(model):
    by_partner = sum(indicator(model, f"exports_usd_{p}") for p in PARTNERS[1:])
    np.testing.assert_allclose(by_partner, indicator(model, "exports_usd"), rtol=RTOL)


def test_active_firms_change_by_entries_less_exits(model):
    active = indicator(model, "active_firms")
    before = np.concatenate([[FIRMS_2024], active[:-1]])
    change = indicator(model, "entries") - indicator(model, "exits")
    np.testing.assert_array_equal(active - before, change)


def test_external_sales_are_exports_plus_domestic_final_sales(full):
    """What firms sell outside the complex goes abroad (exports) or to domestic final buyers, or
    is defence work, which is output as it is done and exported (and recorded by customs) at
    delivery."""
    scenario_r, params = replicate_inputs(full, SEED, 0)
    model = build_model(scenario_r, params, SEED, 0)
    residual = np.zeros(len(model.env.months))
    for k in range(len(model.env.months)):
        model.step()
        now = model.now
        domestic = (now.final[:, 0] @ now.fill) * now.price
        exports = model.indicators[k, COLUMN["exports_usd"]] * model.env.krw_per_usd[k]
        delivered = model.indicators[k, COLUMN["defence_deliveries_krw"]]
        work = model.indicators[k, COLUMN["defence_work_krw"]]
        external = model.ledger[k, LEDGER_COLUMN["external_sales"]]
        residual[k] = (external - (exports - delivered) - domestic - work) / external
    assert np.abs(residual).max() <= RTOL


def test_sectors_add_up_to_the_complex(model):
    for name in ("production_krw", "exports_usd", "employment"):
        by_sector = sum(indicator(model, f"{name}_{s}") for s in SECTORS)
        np.testing.assert_allclose(by_sector, indicator(model, name), rtol=RTOL)


def test_column_groups_are_slices_of_their_named_columns():
    """A month's row is written by slices: each names exactly its group's columns, in order; a
    group whose columns are not adjacent is refused where the slices are made."""
    for name, columns in SECTOR_COLUMNS.items():
        assert INDICATOR_NAMES[columns] == tuple(f"{name}_{s}" for s in SECTORS)
    assert INDICATOR_NAMES[EXPORT_COLUMNS] == tuple(f"exports_usd_{p}" for p in PARTNERS[1:])
    with pytest.raises(ValueError, match="not adjacent"):
        adjacent_columns(["production_krw", "exports_usd"])


def test_real_production_is_production_at_2024_prices(model):
    """Deflated by producer prices, production is real production but for exports, whose won
    price moves with the won and the tariffs' price cuts."""
    real = indicator(model, "production_real_krw")
    nominal = indicator(model, "production_krw")
    assert (real > 0).all()
    assert np.abs(nominal / (real * model.env.price) - 1.0).max() < 0.2


def test_defence_backlog_runs_off_by_the_work_done(model):
    """Backlog of this month = last month's + the complex's share of contracts signed - work."""
    backlog = indicator(model, "defence_backlog_krw")
    signed = model.env.defence_signed
    scheduled = model.defence_work.sum(axis=(1, 2))
    opening = model.env.defence_backlog + signed[0] - scheduled[0]
    assert backlog[0] == pytest.approx(max(0.0, opening), rel=1e-9, abs=1.0)
    pipeline = np.diff(backlog) - (signed[1:] - scheduled[1:])
    assert (pipeline > -1.0).all()  # only pipeline orders add beyond the scheduled book


def test_every_year_has_exits_as_well_as_entries(model):
    _, values = annual_from_monthly(model.indicators, model.env.months)
    assert (values[:, COLUMN["exits"]] > 0).all()
    assert (values[:, COLUMN["entries"]] > 0).all()


def test_a_prime_that_has_left_delivers_no_defence_exports(full):
    """Anchors do not exit by distress, so the prime is removed by hand, as an exit would."""
    defence = full.defence_exports
    only_hanwha = full.model_copy(
        update={
            "defence_exports": defence.model_copy(
                update={"pipeline": defence.pipeline.model_copy(update={"primes": (HANWHA,)})}
            )
        }
    )
    scenario_r, params = replicate_inputs(only_hanwha, SEED, 0)
    model = build_model(scenario_r, params, SEED, 0)
    hanwha = anchor_ids().index(HANWHA)  # anchors take the first slots
    rotem = anchor_ids().index("hyundai_rotem")  # the prime of the K2 contracts in the book
    for prime in (hanwha, rotem):
        model.firms.alive[prime] = False
        model.firms.capacity[prime] = 0.0
    for _ in range(len(model.env.months)):
        model.step()
    due = model.defence_deliveries[:, hanwha].sum(axis=1) > 0
    assert due[-12:].any()  # the contract and pipeline still schedule deliveries
    np.testing.assert_array_equal(indicator(model, "defence_deliveries_krw"), 0.0)
    np.testing.assert_array_equal(indicator(model, "defence_work_krw"), 0.0)


def test_anchors_do_not_exit_even_in_deep_distress(full):
    scenario_r, params = replicate_inputs(full, SEED, 0)
    model = build_model(scenario_r, params, SEED, 0)
    anchors = model.firms.anchor >= 0
    model.firms.cash[anchors] = -1e3 * model.firms.base_sales[anchors]
    for _ in range(24):
        model.step()
    assert model.firms.alive[np.flatnonzero(anchors)].all()


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_and_replicate_give_identical_arrays(full, model):
    again = run(full)
    assert np.array_equal(again.indicators, model.indicators)
    assert np.array_equal(again.ledger, model.ledger)
    for name in ("cash", "employment", "adoption", "alive", "capacity"):
        assert np.array_equal(getattr(again.firms, name), getattr(model.firms, name)), name


def test_models_of_one_replicate_each_step_their_own_copy_of_its_population(full):
    """A replicate's population is synthesised once (`base_population`) for the models built
    from it; stepping one of them must leave the next one's start untouched."""
    params = central_parameters()
    stepped = build_model(full, params, SEED, 2, firms=400)
    start = stepped.firms.copy()
    for _ in range(12):
        stepped.step()
    assert not np.array_equal(stepped.firms.cash, start.cash)
    again = build_model(full, params, SEED, 2, firms=400)
    base_population.cache_clear()
    fresh = build_model(full, params, SEED, 2, firms=400)
    for field in dataclasses.fields(FirmState):
        for model in (again, fresh):
            assert np.array_equal(getattr(model.firms, field.name), getattr(start, field.name))
    assert np.array_equal(again.network.shares.data, fresh.network.shares.data)
    assert np.array_equal(again.entrant.wage, fresh.entrant.wage)


def test_another_replicate_gives_other_numbers(full, model):
    other = run(full, replicate=1)
    production = indicator(model, "production_krw")
    assert not np.array_equal(indicator(other, "production_krw"), production)
    assert not np.allclose(indicator(other, "production_krw"), production, rtol=1e-6)


def test_seed_zero_is_a_seed(full):
    zero, one = run(full, seed=0), run(full, seed=1)
    assert np.isfinite(zero.indicators).all()
    assert not np.array_equal(zero.indicators, one.indicators)


# --- the direction of the tariff effect ---------------------------------------------------------


def annual(model: ChangwonModel, name: str, years=range(2026, 2031)) -> np.ndarray:
    found, values = annual_from_monthly(model.indicators, model.env.months)
    return values[np.isin(found, list(years)), COLUMN[name]]


def test_a_us_tariff_lowers_us_exports_and_production(tmp_path_factory):
    """25% on all sectors from 2025-04 against no tariff, same seed and replicate.

    Entry and exit are switched off so both runs see the same firms and therefore the same draws
    month after month: the difference is the tariff's alone.
    """
    base = write(tmp_path_factory, "no-tariff", NO_TARIFF)
    tariff = write(tmp_path_factory, "us-tariff-25", US_TARIFF)
    params = central_parameters().replace(entry_rate=0.0, exit_debt_months=1e6)
    without, with_tariff = run(base, params=params), run(tariff, params=params)
    for name in ("exports_usd_US", "production_krw", "exports_usd", "value_added_krw"):
        assert (annual(with_tariff, name) < annual(without, name)).all(), name
    assert (annual(with_tariff, "tariff_cost_krw") > 0).all()
    # Re-routing: sales lost in the US partly go to other partners.
    for partner in ("EU", "China", "rest_of_world"):
        name = f"exports_usd_{partner}"
        assert (annual(with_tariff, name) > annual(without, name)).all(), name


@pytest.mark.parametrize("replicate", [0, 1, 2])
def test_a_us_tariff_lowers_us_exports_with_drawn_parameters(tmp_path_factory, replicate):
    """With every parameter drawn and firms entering and leaving, US-bound exports still fall."""
    base = write(tmp_path_factory, "no-tariff", NO_TARIFF)
    tariff = write(tmp_path_factory, "us-tariff-25", US_TARIFF)
    without, with_tariff = run(base, replicate=replicate), run(tariff, replicate=replicate)
    assert (annual(with_tariff, "exports_usd_US") < annual(without, "exports_usd_US")).all()
    first_year = annual(with_tariff, "production_krw", [2025]) < annual(
        without, "production_krw", [2025]
    )
    assert first_year.all()


# --- the economics of the order book, the won and the region ------------------------------------

BOOK_ONLY = "name: book-only\nperiod: {start: 2025-01, end: 2030-12}\n"


def test_with_no_new_contracts_the_2024_book_delivers_in_2025_and_less_by_2027(tmp_path_factory):
    """The book signed before 2025 is carried explicitly and runs off by its schedule."""
    model = run(write(tmp_path_factory, "book-only", BOOK_ONLY))
    deliveries = annual(model, "defence_deliveries_krw", range(2025, 2031))
    work = annual(model, "defence_work_krw", range(2025, 2031))
    assert deliveries[0] > 0 and deliveries[2] < deliveries[0]
    assert work[0] > work[2] and deliveries[-1] == 0.0


def test_region_job_effect_of_a_tariff_is_a_plausible_multiple_of_the_complexs(tmp_path_factory):
    """Jobs beyond the complex move with the final demand the complex meets; together with the
    complex's own they are 1 to 3.5 times the complex's own effect."""
    base = write(tmp_path_factory, "no-tariff", NO_TARIFF)
    tariff = write(tmp_path_factory, "us-tariff-25", US_TARIFF)
    params = central_parameters().replace(entry_rate=0.0, exit_rate=0.0, exit_debt_months=1e6)
    without, with_tariff = run(base, params=params), run(tariff, params=params)
    years = range(2026, 2031)
    own = annual(with_tariff, "employment", years) - annual(without, "employment", years)
    beyond = annual(with_tariff, "region_employment", years) - annual(
        without, "region_employment", years
    )
    assert (own < 0).all() and (beyond < 0).all()
    ratio = (own + beyond) / own
    assert ((ratio >= 1.0) & (ratio <= 3.5)).all(), ratio


TARIFF_15_ALL = NO_TARIFF.replace("no-tariff", "us-tariff-15-all") + textwrap.dedent(
    """\
    tariffs:
      - {name: reciprocal, partner: US, sectors: all, rate: 0.15, start: 2025-08}
    """
)
WEAK_WON = NO_TARIFF.replace("no-tariff", "weak-won") + textwrap.dedent(
    """\
    macro:
      krw_per_usd: {2024-12: 1569.06, 2025-12: 1569.06, 2026-01: 1364.4}
    """
)
STEADY_WON = NO_TARIFF.replace("no-tariff", "steady-won") + "macro: {krw_per_usd: 1364.4}\n"


def paired_ratio(tmp_path_factory, alt_text, base_text, name, year, params):
    base = write(tmp_path_factory, "base", base_text)
    alt = write(tmp_path_factory, "alt", alt_text)
    return (
        annual(run(alt, params=params), name, [year])[0]
        / annual(run(base, params=params), name, [year])[0]
    )


@pytest.mark.parametrize("passthrough", [0.3, 1.0])
def test_a_15_percent_us_tariff_cuts_us_export_value_by_the_published_elasticity(
    tmp_path_factory, passthrough
):
    """In its first full year (2026, 5-17 months in), a 15% tariff on every sector moves the
    value of US-bound exports by about (1.15)^-0.7: between -7% and -15%, whatever the
    pass-through (the old double discount gave -3.5% at pass-through 0.65)."""
    params = central_parameters().replace(
        entry_rate=0.0, exit_rate=0.0, exit_debt_months=1e6, tariff_passthrough=passthrough
    )
    ratio = paired_ratio(tmp_path_factory, TARIFF_15_ALL, NO_TARIFF, "exports_usd_US", 2026, params)
    assert 0.85 <= ratio <= 0.93, ratio


def test_a_won_15_percent_weaker_for_a_year_leaves_dollar_exports_and_raises_won_production(
    tmp_path_factory,
):
    """Most exports are invoiced in dollars: their dollar value hardly moves in the year, their
    won value rises, and so does the complex's production in won."""
    params = central_parameters().replace(entry_rate=0.0, exit_rate=0.0, exit_debt_months=1e6)
    exports = paired_ratio(tmp_path_factory, WEAK_WON, STEADY_WON, "exports_usd", 2025, params)
    production = paired_ratio(
        tmp_path_factory, WEAK_WON, STEADY_WON, "production_krw", 2025, params
    )
    assert 0.97 <= exports <= 1.05, exports
    assert production > 1.02, production


# --- the complex's export demand and Korea's exports -------------------------------------------

US_BOOM = NO_TARIFF.replace("no-tariff", "us-boom") + textwrap.dedent(
    """\
    macro:
      demand_growth: {US: 0.20}
    """
)
US_FLAT = NO_TARIFF.replace("no-tariff", "us-flat") + "macro: {demand_growth: {US: 0.0}}\n"


def test_buyers_abroad_follow_koreas_exports_by_the_loading_at_home_gdp():
    from sim.model.environment import buyers_demand

    demand = np.array([[1.0, 1.0, 1.0, 1.0, 1.0], [1.02, 1.21, 0.81, 1.1, 1.0]])
    for loading in (0.5, 1.0):
        out = buyers_demand(demand, central_parameters().replace(export_demand_loading=loading))
        np.testing.assert_allclose(out[:, 0], demand[:, 0])  # domestic: GDP as it is
        np.testing.assert_allclose(np.log(out[:, 1:]), loading * np.log(demand[:, 1:]))


@pytest.mark.parametrize("loading", [0.5, 1.0])
def test_us_demand_20_percent_higher_raises_us_exports_by_the_loading(tmp_path_factory, loading):
    """Korea's exports to the US 20% higher in 2025 (pinned growth 20% against none) raise the
    complex's US-bound exports of 2025 by 1.2^loading (the old one-for-one response is
    loading 1)."""
    params = central_parameters().replace(
        entry_rate=0.0, exit_rate=0.0, exit_debt_months=1e6, export_demand_loading=loading
    )
    ratio = paired_ratio(tmp_path_factory, US_BOOM, US_FLAT, "exports_usd_US", 2025, params)
    expected = 1.2**loading
    # measured: 1.0961 against 1.0954 at 0.5, 1.2021 against 1.2 at 1.0
    assert abs(math.log(ratio) - math.log(expected)) < 0.1 * math.log(expected), (ratio, expected)
