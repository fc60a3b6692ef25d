"""The array model against the firm-by-firm reference (`tests/model/reference_model.py`).

On a small population (150 firms), a scenario that exercises every mechanism (a US tariff and an EU
tariff that ends, an AI-factory programme with slots, export support whose credit line runs out, the
order book with a named contract and a pipeline of orders, entry, exits by distress and by
demography) is stepped by both models over 72 months, for several seeds, from the same inputs and
identically seeded generators.

Tolerance: every indicator and ledger entry of every month must agree to a relative 1e-9
(`RTOL`). An absolute floor of 1e-12 times the largest magnitude of the series (`floor`) covers the
entries that are a remainder of large numbers and sit at rounding level in one model and at zero
in the other (the last of a credit line shared pro rata). The two models agree to about 1e-14.
`programme_additional_adopters` is not compared: the runner fills it in from a second run
(`sim.ensemble.replicate.run_replicate`), and both models leave it at zero.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from reference_model import ReferenceModel, build_reference, population_of, run_reference

from sim.ensemble.replicate import build_model, replicate_inputs
from sim.inputs.names import SECTORS
from sim.inputs.scenario_files import load_scenario
from sim.model.changwon_model import LEDGER, LEDGER_COLUMN, ChangwonModel
from sim.model.firms import ADOPTED
from sim.model.indicators import COLUMN, INDICATOR_NAMES

FIRMS = 150
RTOL = 1e-9
SEEDS = (1, 2, 3, 4)
COMPARED = tuple(name for name in INDICATOR_NAMES if name != "programme_additional_adopters")
CREDIT_LINE = 5.0e9

SCENARIO = f"""\
name: reference-check
period: {{start: 2025-01, end: 2030-12}}
tariffs:
  - {{name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}}
  - {{name: steel, partner: EU, sectors: [steel], rate: 0.10, start: 2026-01, end: 2027-06}}
ai_factory: {{start: 2025-07, end: 2028-12, subsidised_firms_per_year: 12, subsidy_share: 0.5}}
export_support: {{start: 2025-06, credit_line_krw: {CREDIT_LINE}, diversion_boost: 0.5}}
defence_exports:
  contracts:
    - name: K9 export
      prime: hanwha_aerospace
      value_usd: 2.0e8
      partner: rest_of_world
      signed: 2025-02
      delivery: {{start: 2025-06, months: 24}}
  pipeline:
    orders_per_year: 2.0
    value_usd: {{dist: lognormal, median: 1.0e8, sigma: 0.8}}
    primes: [hanwha_aerospace, hyundai_rotem]
    partner: EU
    start: 2025-01
parameters: {{margin_spread: 0.10, cash_months: 0.5}}
"""


def with_updates(scenario, parameters: dict | None = None, orders_per_year: float | None = None):
    """The scenario with some parameters set and the pipeline's order rate changed."""
    update = {}
    if parameters:
        update["parameters"] = {**scenario.parameters, **parameters}
    if orders_per_year is not None:
        defence = scenario.defence_exports
        pipeline = defence.pipeline.model_copy(update={"orders_per_year": orders_per_year})
        update["defence_exports"] = defence.model_copy(update={"pipeline": pipeline})
    return scenario.model_copy(update=update)


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


def floor(values: np.ndarray) -> float:
    """The absolute tolerance of a series: rounding level of its largest entry."""
    return 1e-12 * float(np.abs(values).max(initial=1.0))


def assert_agree(actual, expected, what: str) -> None:
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), expected, rtol=RTOL, atol=floor(expected), err_msg=what
    )


@pytest.mark.parametrize("name", COMPARED)
def test_every_indicator_agrees_every_month(pair, name):
    array, reference = pair
    column = COLUMN[name]
    assert_agree(reference.indicators[:, column], array.indicators[:, column], name)


@pytest.mark.parametrize("name", LEDGER)
def test_every_ledger_entry_agrees_every_month(pair, name):
    array, reference = pair
    column = LEDGER_COLUMN[name]
    assert_agree(reference.ledger[:, column], array.ledger[:, column], name)


def test_firm_states_agree_at_the_end(pair):
    array, reference = pair
    f, firms = array.firms, reference.firms
    n = array.firms_created
    assert n == len(firms)

    def column(name: str) -> np.ndarray:
        return np.array([getattr(firm, name) for firm in firms])

    for name in ("alive", "adoption", "adoption_month", "distress_months", "sector", "anchor"):
        np.testing.assert_array_equal(column(name), getattr(f, name)[:n], err_msg=name)
    np.testing.assert_array_equal(column("us_exporter"), array.us_exporter[:n])
    for name in (
        "cash",
        "employment",
        "capacity",
        "productivity",
        "defect_rate",
        "unit_cost",
        "orders",
        "diverted",
        "firm_shock",
        "base_final",
        "base_sales",
        "labour_productivity",
        "wage",
        "fixed_cost",
    ):
        assert_agree(column(name), getattr(f, name)[:n], name)
    assert_agree(column("propensity"), array.propensity[:n], "propensity")
    assert_agree(column("cost_advantage"), array.cost_advantage[:n], "cost_advantage")
    assert_agree(column("market_weight"), array.market_weight[:n], "market_weight")
    for name in ("slots_left", "labour_trend", "region_jobs", "common_shock", "defence_backlog"):
        assert_agree(getattr(reference, name), getattr(array, name), name)
    assert reference.credit_left == pytest.approx(array.credit_left, rel=RTOL, abs=1e-3)


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
        assert_agree(firm.market, array.network.market[firm.slot], f"market of {firm.slot}")


def test_order_books_agree_at_the_end(pair):
    """Work and deliveries month by month, the pipeline's orders included."""
    array, reference = pair
    assert_agree(reference.defence_work, array.defence_work, "defence work")
    assert_agree(reference.defence_deliveries, array.defence_deliveries, "defence deliveries")


def test_the_scenario_exercises_every_mechanism(pair):
    """Guards the comparison against passing vacuously."""
    array, reference = pair
    counts = reference.counts
    for what in (
        "entries",
        "exits_distress",
        "exits_demography",
        "links_redirected",
        "credit",
        "subsidised",
        "unaided",
        "pipeline_orders",
    ):
        assert counts[what] > 0, what
    column = array.indicators.T
    assert column[COLUMN["entries"]].sum() == counts["entries"]
    assert column[COLUMN["exits"]].sum() == counts["exits_distress"] + counts["exits_demography"]
    # The credit line ran out, so the last credit was shared pro rata.
    assert reference.credit_left == pytest.approx(0.0, abs=1e-9 * CREDIT_LINE)
    # Firms that adopted during the run went through their whole ramp.
    ramped = [
        firm
        for firm in reference.firms
        if firm.adoption == ADOPTED and firm.adoption_month >= reference.months[0]
    ]
    assert ramped and all(firm.productivity > 1.0 for firm in ramped)
    # Churn moved the SMEs' demand between firms and kept its total.
    for s in range(len(SECTORS)):
        smes = [firm.base_final for firm in reference.firms if firm.is_sme and firm.sector == s]
        np.testing.assert_allclose(np.sum(smes, axis=0), reference.sme_demand[s], rtol=1e-12)
    for name in ("tariff_cost_krw", "defence_work_krw", "defence_deliveries_krw"):
        assert (column[COLUMN[name]] > 0).sum() > 12, name
    assert (column[COLUMN["defence_backlog_krw"]] > 0).all()
    assert not np.array_equal(array.defence_work, array.env.defence_work)  # pipeline booked
    assert not array.indicators[:, COLUMN["programme_additional_adopters"]].any()


def test_orders_worked_from_their_signing_month_agree(scenario):
    """A busy pipeline and a build period longer than the lead to the first delivery, so new
    orders are worked from the month after they are signed: both models alike."""
    busy = with_updates(scenario, {"defence_build_months": 18.0}, orders_per_year=12.0)
    scenario_r, params = replicate_inputs(busy, 5, 0)
    array = build_model(scenario_r, params, 5, 0, firms=FIRMS)
    for _ in range(len(array.env.months)):
        array.step()
    indicators = run_reference(scenario_r, params, 5, 0, firms=FIRMS)
    for name in COMPARED:
        assert_agree(indicators[:, COLUMN[name]], array.indicators[:, COLUMN[name]], name)


def test_replayed_draws_from_shared_inputs(scenario):
    """Built from the very same Population and Environment objects (the reference copies what it
    reads, so the array model's in-place updates cannot reach it), and fed the array model's
    recorded draws through `advance(draws)` instead of drawing its own."""
    scenario_r, params = replicate_inputs(scenario, 4, 0)
    array = build_model(scenario_r, params, 4, 0, firms=FIRMS)
    reference = ReferenceModel(population_of(array), array.env, params, np.random.SeedSequence(99))
    assert not np.array_equal(reference.month_key, array.month_key)  # its own draws would differ
    recorded = []
    draw = array.draw
    array.draw = lambda: recorded.append(draw()) or recorded[-1]
    for _ in range(len(array.env.months)):
        array.step()
        reference.advance(recorded[-1])
    for name in COMPARED:
        assert_agree(reference.indicators[:, COLUMN[name]], array.indicators[:, COLUMN[name]], name)
    assert_agree(reference.ledger, array.ledger, "ledger")
    cash = [firm.cash for firm in reference.firms]
    assert_agree(cash, array.firms.cash[: len(cash)], "cash")


def test_work_scheduled_in_a_month_is_offered_in_that_month(scenario):
    """Every won of work in the order book's schedule for a month reaches the primes in that
    month: the backlog runs off by the work the primes were given."""
    busy = with_updates(scenario, {"defence_build_months": 18.0}, orders_per_year=12.0)
    scenario_r, params = replicate_inputs(busy, 5, 0)
    array = build_model(scenario_r, params, 5, 0, firms=FIRMS)
    offered = []
    for _ in range(len(array.env.months)):
        array.step()
        offered.append(array.now.defence_krw.sum())
    np.testing.assert_allclose(offered, array.defence_work.sum(axis=(1, 2)), rtol=1e-12)
