"""The array model against the firm-by-firm reference (`tests/model/reference_model.py`).

On a small population, a scenario that exercises every mechanism (a US tariff, an AI-factory
programme with slots, export support, a named defence contract and a pipeline of orders, and
parameters that make firms fail) is stepped by both models from identically seeded generators;
every indicator and ledger entry of every month must agree to 1e-9.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from reference_model import ReferenceModel, build_reference, run_reference

from sim.ensemble.replicate import (
    STREAM_POPULATION,
    build_model,
    month_seeds,
    replicate_inputs,
    stream,
)
from sim.inputs.scenario_files import load_scenario
from sim.model.changwon_model import LEDGER, LEDGER_COLUMN, ChangwonModel
from sim.model.environment import build_environment
from sim.model.firms import ADOPTED
from sim.model.indicators import COLUMN, INDICATOR_NAMES
from sim.model.population import synthesise

FIRMS = 150
RTOL = 1e-9
SEEDS = (1, 2, 3)

SCENARIO = """\
name: reference-check
period: {start: 2025-01, end: 2030-12}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}
  - {name: steel, partner: EU, sectors: [steel], rate: 0.10, start: 2026-01, end: 2027-06}
ai_factory: {start: 2025-07, end: 2028-12, subsidised_firms_per_year: 12, subsidy_share: 0.5}
export_support: {start: 2025-06, credit_line_krw: 5.0e9, diversion_boost: 0.5}
defence_exports:
  contracts:
    - name: K9 export
      prime: hanwha_aerospace
      value_usd: 2.0e8
      partner: rest_of_world
      signed: 2025-02
      delivery: {start: 2025-06, months: 24}
  pipeline:
    orders_per_year: 2.0
    value_usd: {dist: lognormal, median: 1.0e8, sigma: 0.8}
    primes: [hanwha_aerospace, hyundai_rotem]
    start: 2025-01
parameters: {margin_spread: 0.10, cash_months: 0.5}
"""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "reference-check.yaml"
    path.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    return load_scenario(path)


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def pair(request, scenario) -> tuple[ChangwonModel, ReferenceModel]:
    """Both models of one replicate (drawn parameters), stepped over the whole period."""
    seed = request.param
    scenario_r, params = replicate_inputs(scenario, seed, 0)
    array = build_model(scenario_r, params, seed, 0, firms=FIRMS)
    reference = build_reference(scenario_r, params, seed, 0, firms=FIRMS)
    for _ in range(len(array.env.months)):
        array.step()
        reference.step()
    return array, reference


def tiny(values: np.ndarray) -> float:
    """An absolute tolerance for entries that are exactly zero in one model."""
    return 1e-12 * float(np.abs(values).max(initial=1.0))


@pytest.mark.parametrize("name", INDICATOR_NAMES)
def test_every_indicator_agrees_every_month(pair, name):
    array, reference = pair
    column = COLUMN[name]
    expected = array.indicators[:, column]
    np.testing.assert_allclose(
        reference.indicators[:, column], expected, rtol=RTOL, atol=tiny(expected), err_msg=name
    )


@pytest.mark.parametrize("name", LEDGER)
def test_every_ledger_entry_agrees_every_month(pair, name):
    array, reference = pair
    column = LEDGER_COLUMN[name]
    expected = array.ledger[:, column]
    np.testing.assert_allclose(
        reference.ledger[:, column], expected, rtol=RTOL, atol=tiny(expected), err_msg=name
    )


def test_firm_states_agree_at_the_end(pair):
    array, reference = pair
    f, firms = array.firms, reference.firms
    n = array.firms_created
    assert n == len(firms)

    def column(name: str) -> np.ndarray:
        return np.array([getattr(firm, name) for firm in firms])

    for name in ("alive", "adoption", "adoption_month", "distress_months", "sector"):
        np.testing.assert_array_equal(column(name), getattr(f, name)[:n], err_msg=name)
    for name in ("cash", "employment", "capacity", "productivity", "defect_rate", "orders"):
        expected = getattr(f, name)[:n]
        np.testing.assert_allclose(
            column(name), expected, rtol=RTOL, atol=tiny(expected), err_msg=name
        )
    np.testing.assert_allclose(reference.slots_left, array.slots_left, rtol=RTOL)
    np.testing.assert_allclose(reference.credit_left, array.credit_left, rtol=RTOL, atol=1e-3)


def test_supplier_networks_agree_at_the_end(pair):
    """Named suppliers and market shares, after exits sent customers to the markets."""
    array, reference = pair
    shares = array.network.shares
    for firm in reference.firms:
        lo, hi = shares.indptr[firm.slot], shares.indptr[firm.slot + 1]
        named = {
            int(s): float(v)
            for s, v in zip(shares.indices[lo:hi], shares.data[lo:hi], strict=True)
            if v != 0.0
        }
        assert named.keys() == firm.suppliers.keys(), firm.slot
        for slot, share in named.items():
            assert firm.suppliers[slot] == pytest.approx(share, rel=RTOL)
        np.testing.assert_allclose(firm.market, array.network.market[firm.slot], rtol=RTOL)


def test_the_scenario_exercises_every_mechanism(pair):
    """Guards the comparison against passing vacuously."""
    array, reference = pair
    counts = reference.counts
    for what in ("entries", "exits", "links_redirected", "subsidised", "unaided", "credit"):
        assert counts[what] > 0, what
    assert counts["pipeline_orders"] > 0
    assert array.indicators[:, COLUMN["entries"]].sum() == counts["entries"]
    assert array.indicators[:, COLUMN["exits"]].sum() == counts["exits"]
    # The credit line ran out, so the last credit was shared pro rata.
    assert reference.credit_left == pytest.approx(0.0, abs=1e-3 * 5.0e9)
    # Firms that adopted during the run went through their whole ramp.
    ramped = [
        firm
        for firm in reference.firms
        if firm.adoption == ADOPTED and firm.adoption_month >= reference.months[0]
    ]
    assert ramped and all(firm.productivity > 1.0 for firm in ramped)
    for name in ("tariff_cost_krw", "defence_deliveries_krw"):
        assert (array.indicators[:, COLUMN[name]] > 0).sum() > 12, name


def test_pipeline_orders_reach_deliveries(scenario):
    """With a busy pipeline, orders booked become deliveries in both models alike."""
    busy = scenario.model_copy(
        update={
            "defence_exports": scenario.defence_exports.model_copy(
                update={
                    "pipeline": scenario.defence_exports.pipeline.model_copy(
                        update={"orders_per_year": 12.0}
                    )
                }
            )
        }
    )
    scenario_r, params = replicate_inputs(busy, 5, 0)
    array = build_model(scenario_r, params, 5, 0, firms=FIRMS)
    for _ in range(len(array.env.months)):
        array.step()
    indicators = run_reference(scenario_r, params, 5, 0, firms=FIRMS)
    np.testing.assert_allclose(indicators, array.indicators, rtol=RTOL, atol=1e-3)
    assert not np.array_equal(array.deliveries, array.env.deliveries)


def test_replayed_draws_from_shared_inputs(scenario):
    """Built from the very same Population and Environment objects (the reference deep-copies
    them first, so the array model's in-place updates cannot reach it), and fed the array
    model's recorded draws through `advance(draws)` instead of drawing its own."""
    scenario_r, params = replicate_inputs(scenario, 4, 0)
    population = synthesise(params, stream(4, 0, STREAM_POPULATION), FIRMS)
    environment = build_environment(scenario_r, params, population.anchor_ids)
    reference = ReferenceModel(population, environment, params, np.random.SeedSequence(99))
    array = ChangwonModel(population, environment, params, month_seeds(4, 0))
    recorded = []
    draw = array.draw
    array.draw = lambda: recorded.append(draw()) or recorded[-1]
    for _ in range(len(environment.months)):
        array.step()
        reference.advance(recorded[-1])
    np.testing.assert_allclose(reference.indicators, array.indicators, rtol=RTOL, atol=1e-3)
    cash = np.array([firm.cash for firm in reference.firms])
    np.testing.assert_allclose(cash, array.firms.cash[: len(cash)], rtol=RTOL, atol=1e-3)
