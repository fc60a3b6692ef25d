"""Each monthly rule against a closed form, on small literal arrays.

Rules in `sim.model.rules`, the supplier network in `sim.model.network`, the tariff path of
`sim.model.environment.tariff_factors`, and the 2024 totals the population synthesis must reproduce.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from sim.inputs.names import PARTNERS, SECTORS, anchor_ids
from sim.inputs.parameters import central_parameters, draw_prior_parameters
from sim.model import rules
from sim.model.defence import base_year_defence, book_deliveries, load_order_book
from sim.model.environment import export_prices, tariff_factors
from sim.model.network import (
    SupplierNetwork,
    market_weights,
    orders_received,
    redirect_to_markets,
    rows_dot,
    supplier_fill,
)
from sim.model.population import synthesise

BASE_KRW_PER_USD = 1364.4  # 2024 average (Bank of Korea), the rate the population is built at
US = PARTNERS.index("US")
EU = PARTNERS.index("EU")
TIGHT = 1e-12


def adjust_years(params) -> float:
    """T of the elasticity path eps(a) = long - (long - impact) exp(-a / T)."""
    return params.elasticity_years_to_long_run / math.log(20.0)


def constant_tariff(rate: float, months: int = 36, partner: int = US) -> np.ndarray:
    """(months, partners, sectors) rates: `rate` on every sector of `partner` from month 0."""
    path = np.zeros((months, len(PARTNERS), len(SECTORS)))
    path[:, partner, :] = rate
    return path


# --- trade response to tariffs --------------------------------------------------------------------


@pytest.mark.parametrize("passthrough", [0.3, 0.65, 1.0])
@pytest.mark.parametrize("tau", [0.0, 0.1, 0.25, 1.5])
@pytest.mark.parametrize("eps", [0.5, 2.0, 3.3])
def test_us_export_value_scales_by_one_plus_tau_to_minus_eps(tau, eps, passthrough):
    """For any pass-through, the value of US-bound exports under a permanent tariff moves by
    exactly (1 + tau)^-eps (here impact = long-run elasticity, so at once): the published
    elasticities apply to the tariff itself. Pass-through only splits the response into the
    exporter's price cut, (1 + tau)^-(1 - passthrough) unless deeper than the response, and
    volume."""
    params = central_parameters().replace(
        tariff_passthrough=passthrough, elasticity_long_run=eps, elasticity_one_year=eps
    )
    assert rules.impact_elasticity(eps, eps, params.elasticity_years_to_long_run) == eps
    volume, price = tariff_factors(constant_tariff(tau, months=24), params)
    value = (1.0 + tau) ** -eps
    np.testing.assert_allclose(volume[:, US, :] * price[:, US, :], value, rtol=TIGHT)
    expected_price = max((1.0 + tau) ** -(1.0 - passthrough), value)
    np.testing.assert_allclose(price[:, US, :], expected_price, rtol=TIGHT)
    assert (volume <= 1.0 + TIGHT).all() and (price <= 1.0 + TIGHT).all()
    np.testing.assert_array_equal(np.delete(volume, US, axis=1), 1.0)
    np.testing.assert_array_equal(np.delete(price, US, axis=1), 1.0)

    # Through the month's demand and revenue: only the US column of every firm moves, its volume
    # by the volume factor and its value by exactly (1 + tau)^-eps.
    base_final = np.array([[5.0, 2.0, 1.0, 0.5, 0.25], [8.0, 0.0, 3.0, 1.0, 1.0], [1, 4, 0, 0, 2]])
    sector = np.array([0, 3, 4])
    by_sector = rules.sector_partner_factor(np.ones(len(PARTNERS)), 1.0, volume[5])
    final = rules.final_demand(base_final, by_sector, sector, np.ones(3))
    expected = base_final.copy()
    expected[:, US] *= volume[5, US, 0]
    np.testing.assert_allclose(final, expected, rtol=TIGHT)
    unit_revenue = rules.unit_revenue(1.0, 1.0, price[5])
    us_only = np.zeros_like(final)
    us_only[:, US] = final[:, US]
    np.testing.assert_allclose(
        rules.sales_value(us_only, unit_revenue, sector), base_final[:, US] * value, rtol=TIGHT
    )


def test_tariff_wedge_is_one_plus_tau_whatever_the_passthrough():
    wedge = rules.tariff_wedge(np.array([0.0, 0.25, 1.0]))
    np.testing.assert_allclose(wedge, np.log([1.0, 1.25, 2.0]), rtol=TIGHT)
    value = rules.tariff_value_factor(wedge, 0.5 * wedge, 0.4, 2.0)
    np.testing.assert_allclose(value, np.array([1.0, 1.25, 2.0]) ** -(0.4 + 1.6 * 0.5))
    volume, price = rules.split_tariff_response(value, wedge, 0.3)
    np.testing.assert_allclose(volume * price, value, rtol=TIGHT)
    np.testing.assert_allclose(price, np.maximum(np.array([1.0, 1.25, 2.0]) ** -0.7, value))


@pytest.mark.parametrize("years", [0.25, 0.5, 1.0, 2.0, 3.0])
def test_perceived_wedge_after_a_years_of_a_constant_tariff(years):
    params = central_parameters()
    big_t = adjust_years(params)
    speed = rules.monthly_speed(12.0 * big_t)
    wedge = rules.tariff_wedge(np.array([0.25, 0.1]))
    perceived = np.zeros(2)
    for _ in range(round(12 * years)):
        perceived = rules.perceived_wedge(perceived, wedge, speed)
    np.testing.assert_allclose(perceived, wedge * (1.0 - math.exp(-years / big_t)), rtol=1e-10)


def test_impact_elasticity_passes_through_one_year_and_95_percent_of_long_run():
    one, long, years = 0.76, 2.0, 8.5
    impact = rules.impact_elasticity(one, long, years)
    big_t = years / math.log(20.0)

    def eps(a: float) -> float:
        return long - (long - impact) * math.exp(-a / big_t)

    assert 0.0 < impact < one
    assert eps(1.0) == pytest.approx(one, rel=TIGHT)
    assert (eps(years) - impact) / (long - impact) == pytest.approx(0.95, rel=TIGHT)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"tariff_passthrough": 1.0},
        {
            "elasticity_one_year": 1.0,
            "elasticity_long_run": 1.75,
            "elasticity_years_to_long_run": 10,
        },
    ],
    ids=["central", "full-passthrough", "high-one-year"],
)
def test_effective_elasticity_path_of_a_three_year_tariff(changes):
    """Built through the environment's monthly recursion: eps(1 year) = elasticity_one_year."""
    params = central_parameters().replace(**changes)
    tau = 0.25
    volume, price = tariff_factors(constant_tariff(tau, months=36), params)
    effective = -np.log(volume[:, US, 0] * price[:, US, 0]) / math.log1p(tau)
    impact = rules.impact_elasticity(
        params.elasticity_one_year, params.elasticity_long_run, params.elasticity_years_to_long_run
    )
    big_t = adjust_years(params)
    # Month index 12a - 1 is the a-th anniversary: buyers have adjusted for 12a months.
    assert effective[11] == pytest.approx(params.elasticity_one_year, rel=1e-10)
    for a in (1, 2, 3):
        expected = params.elasticity_long_run - (params.elasticity_long_run - impact) * math.exp(
            -a / big_t
        )
        assert effective[12 * a - 1] == pytest.approx(expected, rel=1e-10)
    assert np.all(np.diff(effective) > 0) and effective[-1] < params.elasticity_long_run


def test_impact_elasticity_clipped_at_zero_overshoots_one_year():
    """Where the path cannot pass through the one-year value with a non-negative impact, the
    impact is clipped at zero and the one-year elasticity is higher than stated."""
    params = central_parameters().replace(
        elasticity_one_year=0.5, elasticity_long_run=2.25, elasticity_years_to_long_run=7.0
    )
    impact = rules.impact_elasticity(0.5, 2.25, 7.0)
    assert impact == 0.0
    volume, price = tariff_factors(constant_tariff(0.25, months=12), params)
    effective_one_year = -math.log(volume[11, US, 0] * price[11, US, 0]) / math.log1p(0.25)
    big_t = adjust_years(params)
    assert effective_one_year == pytest.approx(2.25 * (1.0 - math.exp(-1.0 / big_t)), rel=1e-10)
    assert effective_one_year > 0.5


def test_tariff_measures_out_of_force_do_not_move_demand_until_they_start():
    params = central_parameters()
    path = constant_tariff(0.2, months=24)
    path[:6] = 0.0
    volume, price = tariff_factors(path, params)
    factor = volume * price
    np.testing.assert_array_equal(factor[:6], 1.0)
    assert (factor[6:, US] < 1.0).all()
    np.testing.assert_array_equal(np.delete(factor, US, axis=1), 1.0)


def test_lost_sales_and_their_diversion():
    us_demand = np.array([80.0, 0.0, 50.0])
    factor = np.array([0.8, 0.8, 1.0])
    lost = rules.lost_to_tariff(us_demand, factor)
    np.testing.assert_allclose(lost, [20.0, 0.0, 0.0], rtol=TIGHT)
    # Diversion closes the gap to share x lost at the monthly speed.
    speed = rules.monthly_speed(6.0)
    diverted = np.zeros(3)
    for month in range(1, 25):
        diverted = rules.divert(diverted, lost, 0.4, speed)
        np.testing.assert_allclose(
            diverted, 0.4 * lost * (1.0 - math.exp(-month / 6.0)), rtol=1e-10, atol=1e-15
        )


def test_shock_step_and_firm_factor():
    shock = rules.shock_step(np.array([0.1, -0.2]), 0.9, 0.05, np.array([1.0, -2.0]))
    np.testing.assert_allclose(shock, [0.09 + 0.05, -0.18 - 0.1], rtol=TIGHT)
    factor = rules.firm_demand_factor(np.array([0.0, 0.3]), 0.04, np.array([1.0, 1.25]))
    np.testing.assert_allclose(factor, [math.exp(-0.02), math.exp(0.28) * 1.25], rtol=TIGHT)


# --- production -----------------------------------------------------------------------------------


def test_produce_when_capacity_does_not_bind():
    demand = np.array([90.0, 45.0])
    defect = np.array([0.1, 0.0])
    gross, sales, fill = rules.produce(demand, defect, np.array([200.0, 50.0]), np.ones(2))
    np.testing.assert_allclose(gross, [100.0, 45.0], rtol=TIGHT)
    np.testing.assert_allclose(sales, demand, rtol=TIGHT)
    np.testing.assert_allclose(fill, 1.0, rtol=TIGHT)


def test_produce_when_capacity_binds():
    demand = np.array([100.0, 100.0])
    defect = np.array([0.1, 0.2])
    capacity = np.array([50.0, 40.0])
    productivity = np.array([1.2, 1.0])
    gross, sales, fill = rules.produce(demand, defect, capacity, productivity)
    np.testing.assert_allclose(gross, [60.0, 40.0], rtol=TIGHT)
    np.testing.assert_allclose(sales, [54.0, 32.0], rtol=TIGHT)
    np.testing.assert_allclose(fill, [0.54, 0.32], rtol=TIGHT)


def test_produce_with_no_demand_fills_everything():
    gross, sales, fill = rules.produce(np.zeros(2), np.full(2, 0.05), np.ones(2), np.ones(2))
    np.testing.assert_array_equal(gross, 0.0)
    np.testing.assert_array_equal(sales, 0.0)
    np.testing.assert_array_equal(fill, 1.0)


def test_inputs_and_purchases():
    inputs = rules.inputs_needed(np.array([100.0, 10.0]), 0.6, np.array([1.0, 0.8]))
    np.testing.assert_allclose(inputs, [60.0, 4.8], rtol=TIGHT)
    # Missing inputs are bought outside; deliveries beyond needs are paid all the same.
    bought = rules.purchases(np.array([10.0, 10.0, 0.0]), np.array([4.0, 15.0, 0.0]))
    np.testing.assert_array_equal(bought, [10.0, 15.0, 0.0])


def test_partial_adjustment_closes_the_gap_at_the_monthly_speed():
    speed = rules.monthly_speed(4.0)
    level = np.array([10.0, 30.0])
    target = np.array([20.0, 10.0])
    for _ in range(8):
        level = rules.adjust_toward(level, target, speed)
    np.testing.assert_allclose(
        level, target + (np.array([10.0, 30.0]) - target) * math.exp(-2.0), rtol=1e-12
    )


# --- tariffs and finance ------------------------------------------------------------------------


def test_absorbed_tariff_is_the_price_cut_on_what_was_sold():
    sold = np.array([[10.0, 8.0, 4.0, 0.0, 2.0], [5.0, 0.0, 6.0, 1.0, 0.0]])
    sector = np.array([0, 3])
    price = np.ones((len(PARTNERS), len(SECTORS)))
    price[US, :] = 0.9
    price[EU, 3] = 0.95
    lost = rules.absorbed_tariff(sold, 1.1, price, sector)
    np.testing.assert_allclose(lost, [8.0 * 0.1 * 1.1, 6.0 * 0.05 * 1.1], rtol=TIGHT)
    np.testing.assert_array_equal(rules.absorbed_tariff(sold, 1.1, np.ones_like(price), sector), 0)
    # The cut is inside the revenue already: revenue + the memo = revenue at the full price.
    full = rules.sales_value(sold, rules.unit_revenue(1.0, 1.1, np.ones_like(price)), sector)
    cut = rules.sales_value(sold, rules.unit_revenue(1.0, 1.1, price), sector)
    np.testing.assert_allclose(cut + lost, full, rtol=TIGHT)


@pytest.mark.parametrize("krw_invoiced", [0.0, 0.027, 1.0])
def test_a_weaker_won_raises_won_revenue_before_dollar_prices_move(krw_invoiced):
    """Exports invoiced in dollars keep their dollar price at first: a won 15% weaker leaves their
    dollar value where it was and raises their won value by 15%; the dollar price then moves
    toward producer prices over the won, and volumes follow it. Won-invoiced exports keep their
    won price, so their dollar price falls at once."""
    params = central_parameters().replace(
        export_krw_invoiced_share=krw_invoiced,
        export_price_elasticity=1.0,
        export_price_adjust_months=12.0,
    )
    months = 36
    price = np.ones(months)
    fx_ratio = np.full(months, 1.15)
    volume, won_per_unit = export_prices(price, fx_ratio, params)
    speed = rules.monthly_speed(12.0)
    dollar = 1.0 + (1.0 / 1.15 - 1.0) * (1.0 - (1.0 - speed) ** np.arange(1, months + 1))
    buyers = (1.0 - krw_invoiced) * dollar + krw_invoiced / 1.15
    np.testing.assert_allclose(volume, buyers**-1.0, rtol=TIGHT)
    np.testing.assert_allclose(
        won_per_unit, (1.0 - krw_invoiced) * dollar * 1.15 + krw_invoiced, rtol=TIGHT
    )
    dollar_value = volume * won_per_unit / fx_ratio  # per unit of demand at base prices
    # At an export price elasticity of one the dollar value of exports does not move at all.
    np.testing.assert_allclose(dollar_value, 1.0, rtol=TIGHT)
    if krw_invoiced == 0.0:  # a month in, the dollar price has barely moved: won value up 13%
        assert won_per_unit[0] * volume[0] == pytest.approx(1.15)
        assert won_per_unit[0] > 1.13


def test_support_credit_covers_what_eligible_firms_lack():
    cash = np.array([-10.0, -30.0, 5.0, -20.0])
    eligible = np.array([True, True, True, False])
    np.testing.assert_array_equal(rules.support_credit(cash, eligible, 100.0), [10, 30, 0, 0])


def test_support_credit_is_pro_rata_when_the_line_is_short():
    cash = np.array([-10.0, -30.0, 5.0, -20.0])
    eligible = np.array([True, True, True, False])
    credit = rules.support_credit(cash, eligible, 20.0)
    np.testing.assert_allclose(credit, [5.0, 15.0, 0.0, 0.0], rtol=TIGHT)
    assert credit.sum() == pytest.approx(20.0, rel=TIGHT)
    np.testing.assert_array_equal(rules.support_credit(cash, eligible, 0.0), 0.0)
    np.testing.assert_array_equal(rules.support_credit(np.abs(cash), eligible, 50.0), 0.0)


def test_distress_count():
    months = np.array([0, 2, 5, 3])
    cash = np.array([-10.0, -10.0, 5.0, -1.0])
    line = np.array([5.0, 20.0, 1.0, 1.0])
    # Strictly below the negative line counts; at the line the count resets.
    np.testing.assert_array_equal(rules.distress_count(months, cash, line), [1, 0, 0, 0])
    np.testing.assert_array_equal(rules.distress_count(months, cash, np.zeros(4)), [1, 3, 0, 4])


# --- AI-factory adoption ------------------------------------------------------------------------


def test_adoption_rate_with_no_peers_is_innovation_only():
    """No adopting peers: only the innovation term p, on the room left below the potential m:
    per non-adopter (p + 0) (m - F) / (1 - F), so the sector's share grows at p (m - F)."""
    propensity = np.array([1.0, 2.5, 1.0])
    sector_share = np.array([0.0, 0.0, 0.1])
    p, m = 0.01, 0.35
    rate = rules.adoption_rate(np.zeros(3), sector_share, propensity, p, 0.5, m)
    expected = p * (m - sector_share) / (1.0 - sector_share) * propensity / 12.0
    np.testing.assert_allclose(rate, expected, rtol=TIGHT)
    assert rate[0] == pytest.approx(p * m / 12.0, rel=TIGHT)
    # Whatever q is.
    np.testing.assert_array_equal(
        rules.adoption_rate(np.zeros(3), sector_share, propensity, p, 0.0, m), rate
    )


def test_adoption_rate_is_zero_at_and_beyond_the_potential():
    potential = 0.35
    sector_share = np.array([potential, 0.5, 0.9])
    rate = rules.adoption_rate(np.full(3, 0.6), sector_share, np.ones(3), 0.01, 0.5, potential)
    np.testing.assert_array_equal(rate, 0.0)


def test_adoption_rate_closed_form_below_the_potential():
    p, q, potential = 0.01, 0.5, 0.4
    peers = np.array([0.1, 0.4, 0.8])
    sector_share = np.array([0.1, 0.2, 0.0])
    rate = rules.adoption_rate(peers, sector_share, np.full(3, 2.0), p, q, potential)
    imitation = q * np.minimum(1.0, peers / potential)  # saturates once peers reach the potential
    room = (potential - sector_share) / (1.0 - sector_share)
    np.testing.assert_allclose(rate, (p + imitation) * room * 2.0 / 12.0, rtol=TIGHT)
    assert rate[2] == pytest.approx((p + q) * potential * 2.0 / 12.0, rel=TIGHT)


def test_adoption_propensity_and_cost():
    propensity = rules.adoption_propensity(
        np.array([10.0, 40.0]), 10.0, np.array([0.0, 0.5]), 0.5, 1.0, 2.0
    )
    np.testing.assert_allclose(propensity, [2.0, 2.0 * 2.0 * 1.5], rtol=TIGHT)
    cost = rules.adoption_cost(np.array([0.0, 100.0]), 2.0e8, 2.0e6, 1.05)
    np.testing.assert_allclose(cost, [2.1e8, 4.2e8], rtol=TIGHT)


def test_ramp():
    adoption_month = np.array([100, 100, 100, 100, 100])
    months = 100 + np.array([-3, 0, 9, 18, 40])
    progress = np.array([rules.ramp(m, adoption_month[:1], 18.0)[0] for m in months])
    np.testing.assert_allclose(progress, [0.0, 0.0, 0.5, 1.0, 1.0], rtol=TIGHT)
    np.testing.assert_allclose(
        rules.ramp(109, np.array([100, 91, 120]), 18.0), [0.5, 1.0, 0.0], rtol=TIGHT
    )


# --- the supplier network -----------------------------------------------------------------------


def four_firms() -> tuple[SupplierNetwork, np.ndarray, np.ndarray]:
    """A hand-made complex: firm 0 (machinery) buys from firms 1 and 2 by name; firm 3 buys from
    firm 0; every buyer sends the rest of its in-complex purchases to the sector markets.
    Sectors: 0 machinery, 1 and 2 electrical, 3 steel.
    """
    sector = np.array([0, 1, 1, 3])
    shares = sp.csr_array(
        (
            np.array([0.5, 0.2, 0.4, 0.6, 0.7]),
            (np.array([0, 0, 1, 2, 3]), np.array([1, 2, 3, 0, 0])),
        ),
        shape=(4, 4),
    )
    market = np.zeros((4, len(SECTORS)))
    market[0, 3] = 0.3
    market[1, 1] = 0.6
    market[2, [1, 3]] = [0.2, 0.2]
    market[3, [0, 1]] = [0.1, 0.2]
    base_sales = np.array([100.0, 30.0, 10.0, 50.0])
    buyer = np.repeat(np.arange(4), np.diff(shares.indptr))
    return SupplierNetwork(shares=shares, market=market, buyer=buyer), sector, base_sales


def row_sums(network: SupplierNetwork) -> np.ndarray:
    return network.shares.sum(axis=1) + network.market.sum(axis=1)


def test_hand_made_network_rows_sum_to_one():
    network, _, _ = four_firms()
    np.testing.assert_allclose(row_sums(network), 1.0, rtol=TIGHT)


def test_orders_received_conserve_orders_placed():
    network, sector, base_sales = four_firms()
    weight = market_weights(base_sales, np.ones(4, bool), sector)
    np.testing.assert_allclose(weight, [1.0, 0.75, 0.25, 1.0], rtol=TIGHT)
    orders = np.array([10.0, 20.0, 5.0, 8.0])
    received = orders_received(network, orders, weight, sector)
    # Closed form: firm 0 gets 0.6 x 5 + 0.7 x 8 by name and 0.1 x 8 on its market.
    expected = np.array(
        [
            0.6 * 5 + 0.7 * 8 + 0.1 * 8,
            0.5 * 10 + 0.75 * (0.6 * 20 + 0.2 * 5 + 0.2 * 8),
            0.2 * 10 + 0.25 * (0.6 * 20 + 0.2 * 5 + 0.2 * 8),
            0.4 * 20 + 1.0 * (0.3 * 10 + 0.2 * 5),
        ]
    )
    np.testing.assert_allclose(received, expected, rtol=TIGHT)
    assert received.sum() == pytest.approx(orders.sum(), rel=TIGHT)
    shares_t = network.shares.T
    np.testing.assert_allclose(
        orders_received(network, orders, weight, sector, shares_t), received, rtol=TIGHT
    )


def test_deliveries_equal_in_complex_sales():
    network, sector, base_sales = four_firms()
    weight = market_weights(base_sales, np.ones(4, bool), sector)
    orders = np.array([10.0, 20.0, 5.0, 8.0])
    fill = np.array([1.0, 0.5, 0.8, 0.9])
    received = orders_received(network, orders, weight, sector)
    delivered = orders * supplier_fill(network, fill, weight, sector)
    # What buyers receive is what suppliers sell inside the complex (orders x their fill).
    assert delivered.sum() == pytest.approx((received * fill).sum(), rel=TIGHT)
    # Firm 0's suppliers: firm 1 (0.5, fill 0.5), firm 2 (0.2, fill 0.8), steel market (0.3, 0.9).
    assert delivered[0] == pytest.approx(10.0 * (0.25 + 0.16 + 0.27), rel=TIGHT)


def test_redirect_to_markets_keeps_rows_at_one_and_orders_conserved():
    network, sector, base_sales = four_firms()
    gone = np.array([False, True, False, False])
    redirect_to_markets(network, gone, sector)
    np.testing.assert_allclose(row_sums(network), 1.0, rtol=TIGHT)
    assert network.shares.toarray()[:, 1].sum() == 0.0  # nobody buys from firm 1 by name
    assert network.market[0, 1] == pytest.approx(0.5, rel=TIGHT)  # firm 0 now buys it on market
    alive = ~gone
    weight = market_weights(base_sales, alive, sector)
    np.testing.assert_allclose(weight, [1.0, 0.0, 1.0, 1.0], rtol=TIGHT)
    orders = np.array([10.0, 0.0, 5.0, 8.0])  # the firm that left orders nothing
    received = orders_received(network, orders, weight, sector)
    assert received[1] == 0.0
    assert received.sum() == pytest.approx(orders.sum(), rel=TIGHT)
    fill = np.array([0.7, 1.0, 0.6, 1.0])
    delivered = orders * supplier_fill(network, fill, weight, sector)
    assert delivered.sum() == pytest.approx((received * fill).sum(), rel=TIGHT)
    # Redirecting again changes nothing.
    before = network.market.copy()
    redirect_to_markets(network, gone, sector)
    np.testing.assert_array_equal(network.market, before)


def test_network_grows_with_market_buyers():
    network, _, _ = four_firms()
    mix = np.array([0.5, 0.2, 0.1, 0.1, 0.1])
    network.grow(2, mix)
    assert network.shares.shape == (6, 6)
    np.testing.assert_allclose(row_sums(network), 1.0, rtol=TIGHT)
    np.testing.assert_array_equal(network.market[4:], [mix, mix])


# --- the 2024 population ------------------------------------------------------------------------

TOTALS = {"production_krw": 62.223e12, "exports_usd": 18.429e9, "employment": 120289, "firms": 3216}


def annual_totals(population) -> dict[str, float]:
    f = population.firms
    return {
        "production_krw": 12.0 * f.base_sales.sum(),
        "exports_usd": 12.0 * f.base_final[:, 1:].sum() / BASE_KRW_PER_USD,
        "employment": f.employment.sum(),
        "firms": float(f.alive.sum()),
    }


@pytest.fixture(scope="module", params=range(4), ids=lambda r: f"draw{r}")
def drawn_population(request):
    params = draw_prior_parameters(np.random.default_rng([20250801, request.param]))
    population = synthesise(params, np.random.default_rng([7, request.param]))
    return params, population


def test_population_reproduces_the_2024_totals(drawn_population):
    _, population = drawn_population
    totals = annual_totals(population)
    for name, value in TOTALS.items():
        assert totals[name] == pytest.approx(value, rel=1e-9), name
    assert population.firms.slots == TOTALS["firms"]


def test_population_sales_are_final_demand_plus_orders_received(drawn_population):
    _, population = drawn_population
    f = population.firms
    assert (f.base_final >= 0).all()
    weight = market_weights(f.base_sales, f.alive, f.sector)
    received = orders_received(population.network, f.orders, weight, f.sector)
    np.testing.assert_allclose(f.base_final.sum(axis=1) + received, f.base_sales, rtol=1e-9)
    np.testing.assert_allclose(row_sums(population.network), 1.0, rtol=1e-9)


def test_population_scales_its_totals_with_the_firm_count():
    population = synthesise(central_parameters(), np.random.default_rng(3), firms=200)
    totals = annual_totals(population)
    scale = 200 / TOTALS["firms"]
    for name in ("production_krw", "exports_usd", "employment"):
        assert totals[name] == pytest.approx(TOTALS[name] * scale, rel=1e-9), name
    assert population.firms.slots == 200


def test_rows_dot_equals_the_rows_of_the_full_product():
    network, _, _ = four_firms()
    x = np.array([1.0, 2.0, 3.0, 4.0])
    rows = np.array([3, 0, 2])
    np.testing.assert_allclose(rows_dot(network, rows, x), (network.shares @ x)[rows], rtol=1e-15)
    assert rows_dot(network, np.array([], dtype=int), x).shape == (0,)


def test_population_with_the_order_book_still_reproduces_the_2024_totals():
    """The book's 2024 work is part of the primes' production, not of their base demand; its
    deliveries are part of the exports, not of the firms' base exports."""
    params = central_parameters()
    ids = anchor_ids()
    book = book_deliveries(load_order_book(), ids, params.defence_in_complex_share)
    defence = base_year_defence(
        book,
        len(ids),
        2024,
        BASE_KRW_PER_USD,
        params.defence_build_months,
        params.defence_in_complex_share,
    )
    assert defence.work.sum() > 0 and defence.deliveries_krw > 0
    population = synthesise(params, np.random.default_rng(5), defence=defence)
    f = population.firms
    weight = market_weights(f.base_sales, f.alive, f.sector)
    received = orders_received(population.network, f.orders, weight, f.sector)
    work = np.zeros(f.slots)
    work[: len(defence.work)] = defence.work
    np.testing.assert_allclose(f.base_final.sum(axis=1) + received + work, f.base_sales, rtol=1e-9)
    exports = 12.0 * (f.base_final[:, 1:].sum() + defence.deliveries_krw) / BASE_KRW_PER_USD
    assert exports == pytest.approx(TOTALS["exports_usd"], rel=1e-9)
    assert 12.0 * f.base_sales.sum() == pytest.approx(TOTALS["production_krw"], rel=1e-9)


# --- churn, labour, demography ----------------------------------------------------------------


def test_churn_moves_demand_between_a_sectors_firms_without_creating_it():
    base_final = np.array([[4.0, 1.0], [2.0, 3.0], [6.0, 0.0], [1.0, 1.0]])
    base_sales = base_final.sum(axis=1) + 1.0
    sector = np.array([0, 0, 1, 1])
    everyone = np.arange(4)
    pool = rules.sector_partner_total(base_final, sector, everyone, 2)
    leaving = np.array([False, True, False, False])
    moved = rules.sector_partner_total(base_final, sector, np.flatnonzero(leaving), 2)
    factor = rules.churn_factor(pool - moved, moved)
    final, sales = rules.rescale_sector_demand(base_final, base_sales, sector, ~leaving, factor)
    # The firm that stays in sector 0 now has the whole sector's demand, buyer by buyer.
    np.testing.assert_allclose(final[0], [6.0, 4.0], rtol=TIGHT)
    np.testing.assert_allclose(final[2:], base_final[2:], rtol=TIGHT)
    assert sales[0] == pytest.approx(base_sales[0] * 10.0 / 5.0)
    # An entrant's demand is won from the others: the sector total stays what it was.
    won = np.array([[0.0, 0.0], [1.5, 0.25]])
    factor = rules.churn_factor(pool, -won)
    shrunk, _ = rules.rescale_sector_demand(
        base_final, base_sales, sector, np.ones(4, bool), factor
    )
    np.testing.assert_allclose(shrunk[2:].sum(axis=0) + won[1], base_final[2:].sum(axis=0))


def test_labour_needed_saves_only_the_labour_saving_share_of_an_adopters_gain():
    gross = np.array([130.0, 100.0])
    need = rules.labour_needed(gross, np.array([2.0, 2.0]), np.array([1.3, 1.0]), 0.0)
    np.testing.assert_allclose(need, [65.0, 50.0])
    need = rules.labour_needed(gross, np.array([2.0, 2.0]), np.array([1.3, 1.0]), 1.0)
    np.testing.assert_allclose(need, [50.0, 50.0])


def test_leaving_by_demography_has_the_monthly_hazard():
    draws = np.random.default_rng(1).standard_exponential(400_000)
    share = rules.leaves_by_demography(draws, 0.06).mean()
    assert share == pytest.approx(1.0 - math.exp(-0.005), abs=4e-4)
