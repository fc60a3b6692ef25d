"""The compiled kernels of the month against the numpy rules they compose.

Each kernel of `sim.model.month_kernels` runs on copies of a small hand-made complex (eight firms
in eleven slots, three sectors, the real partners, a supplier network of a dozen links); the same
quantities are computed with the rules of `sim.model.rules`, `sim.model.network` and
`sim.model.population` composed as the numpy step of model version 3 composed them (its actions
`demand_from_buyers` ... `ramp_adoption_effects` and `indicators.month_indicators`). Sums over
firms are added in another order, so numbers agree to `TIGHT`, and every decision (who leaves,
who adopts, who gets a slot) exactly. The exit and entry kernels of `sim.model.demography` are
checked the same way in `test_demography.py`, on this complex.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from sim.inputs.names import PARTNERS
from sim.model import rules
from sim.model.firms import ADOPTED, ADOPTING, INELIGIBLE, NOT_ADOPTED
from sim.model.month_kernels import (
    DEMAND,
    FLOWS,
    LOG_MARGIN,
    MADE,
    SETTLED,
    TOTALS,
    demand_and_production,
    employment_and_adoption,
    month_totals,
    ramp_adoption,
    settle_and_finance,
)
from sim.model.network import (
    SupplierNetwork,
    market_weights,
    orders_received,
    rows_dot,
    supplier_fill,
)

TIGHT = 1e-12
P, US, EU = len(PARTNERS), PARTNERS.index("US"), PARTNERS.index("EU")
S, N, SLOTS, ANCHORS = 3, 8, 11, 3  # sectors, firms made, slots, anchors (the first slots)
ROW = {name: k for k, name in enumerate(FLOWS)}

# The month: buyers' demand, tariffs (partners x sectors), prices, the order book by anchor.
DEMAND_INDEX = np.array([1.0, 0.97, 1.03, 1.05, 0.99])
COMMON, EXPORT_VOLUME, PRICE, EXPORT_PRICE, MONTH = 1.02, 0.96, 1.05, 1.1, 300
TARIFF_VOLUME = np.ones((P, S))
TARIFF_VOLUME[US] = [0.8, 0.85, 0.9]
TARIFF_VOLUME[EU, 2] = 0.95
TARIFF_PRICE = np.ones((P, S))
TARIFF_PRICE[US] = [0.93, 0.95, 0.97]
TARIFF_PRICE[EU, 2] = 0.98
UNIT_REVENUE = rules.unit_revenue(PRICE, EXPORT_PRICE, TARIFF_PRICE)
DEFENCE_WORK = np.array([[2.0, 0.0, 1.5, 0.0, 0.5], np.zeros(P), [0.0, 0.0, 0.0, 3.0, 0.0]])
DELIVERIES = np.array([[0.0, 0.0, 4.0, 0.0, 1.0], [1.0, 0.0, 0.0, 2.0, 0.0], np.zeros(P)])
DIVERSION_MIX = np.array([[0, 0, 0.5, 0.3, 0.2], [0, 0, 0.2, 0.6, 0.2], [0, 0, 0.4, 0.1, 0.5]])
FIRM_NOISE = np.random.default_rng(11).normal(size=N)
# Parameters.
RHO, SHOCK_SD = 0.8, 0.1
SHOCK_VARIANCE = SHOCK_SD**2 / (1.0 - RHO**2)
DIVERSION_SHARE, DIVERSION_SPEED = 0.4, rules.monthly_speed(6.0)
INPUT_SHARE, OPERATING_RATE, CAPACITY_SPEED = 0.6, 0.85, rules.monthly_speed(12.0)
PAYOUT_RATE, IN_COMPLEX_SHARE = 0.3, 0.35
EXIT_DEBT_MONTHS, EXIT_AFTER, EXIT_RATE = 2.0, 3, 0.05
LABOUR_FACTOR, EMPLOYMENT_SPEED, LABOUR_SAVING = 1.02 ** (1 / 12), rules.monthly_speed(9.0), 0.4
DOMESTIC_FINAL_SHARE = 0.3
BASS = dict(p=0.05, q=0.5, potential=0.6, boost=2.0, peer_weight=0.5, base=20.0, per_employee=0.4)
SUBSIDY_SHARE = 0.5
# The supplier network: buyer -> {supplier: share of its in-complex purchases}; the rest of a
# buyer's purchases go to the sector markets by MARKET_MIX. The link 1 -> 5 was redirected when
# firm 5 left (a stored zero).
LINKS = {
    0: {3: 0.3, 4: 0.2},
    1: {0: 0.25, 3: 0.25, 5: 0.0},
    2: {1: 0.4, 7: 0.1},
    3: {4: 0.5, 6: 0.2},
    4: {3: 0.6},
    5: {0: 0.3},
    6: {0: 0.1, 1: 0.2, 3: 0.3},
    7: {3: 0.2, 4: 0.2},
}
MARKET_MIX = np.array([0.5, 0.3, 0.2])


def supplier_network() -> SupplierNetwork:
    indptr, indices, data = [0], [], []
    for buyer in range(SLOTS):
        for supplier, share in sorted(LINKS.get(buyer, {}).items()):
            indices.append(supplier)
            data.append(share)
        indptr.append(len(indices))
    shares = sp.csr_array(
        (np.array(data), np.array(indices), np.array(indptr)), shape=(SLOTS, SLOTS)
    )
    market = (1.0 - shares.sum(axis=1))[:, None] * MARKET_MIX[None, :]
    buyer = np.repeat(np.arange(SLOTS), np.diff(shares.indptr))
    return SupplierNetwork(shares=shares, market=market, buyer=buyer)


def world(seed: int = 3) -> SimpleNamespace:
    """Slots 0-2 are anchors (sectors 0, 1, 2), 3-7 SMEs; firm 5 has left (its base demand stays,
    as exits leave it), firm 4 sells nothing to the US; slots 8-10 are empty."""
    rng = np.random.default_rng(seed)
    made = np.arange(SLOTS) < N
    alive = made.copy()
    alive[5] = False
    sector = np.array([0, 1, 2, 0, 1, 0, 2, 0, 0, 0, 0], dtype=np.int64)
    anchor = np.where(np.arange(SLOTS) < ANCHORS, np.arange(SLOTS), -1).astype(np.int64)
    base_final = rng.uniform(1.0, 10.0, (SLOTS, P)) * made[:, None]
    base_final[4, US] = 0.0
    adoption = np.full(SLOTS, NOT_ADOPTED, dtype=np.int64)
    adoption[[0, 1]] = [ADOPTED, INELIGIBLE]
    eligible = adoption != INELIGIBLE
    w = SimpleNamespace(
        sector=sector,
        anchor=anchor,
        alive=alive,
        base_final=base_final,
        base_sales=1.2 * base_final.sum(axis=1),
        capacity=rng.uniform(15.0, 60.0, SLOTS) * alive,
        productivity=np.where(made, rng.uniform(1.0, 1.2, SLOTS), 1.0),
        defect_rate=rng.uniform(0.01, 0.05, SLOTS) * made,
        base_defect_rate=np.full(SLOTS, 0.05) * made,
        unit_cost=np.where(made, rng.uniform(0.85, 1.0, SLOTS), 1.0),
        firm_shock=rng.normal(0.0, 0.2, SLOTS) * made,
        diverted=rng.uniform(0.0, 2.0, SLOTS) * alive * (base_final[:, US] > 0),
        orders=rng.uniform(1.0, 6.0, SLOTS) * alive,
        cost_advantage=np.where(made, rng.uniform(1.0, 1.1, SLOTS), 1.0),
        employment=rng.uniform(5.0, 80.0, SLOTS) * alive,
        labour_productivity=np.where(made, rng.uniform(0.5, 1.5, SLOTS), 1.0),
        wage=rng.uniform(0.05, 0.2, SLOTS) * made,
        fixed_cost=rng.uniform(1.0, 4.0, SLOTS) * alive,
        cash=rng.uniform(5.0, 40.0, SLOTS) * alive,
        distress_months=np.zeros(SLOTS, dtype=np.int64),
        adoption=adoption,
        adoption_month=np.full(SLOTS, -(10**6), dtype=np.int64),
        gain_productivity=rng.uniform(0.1, 0.3, SLOTS) * made,
        gain_defects=rng.uniform(0.2, 0.5, SLOTS) * made,
        gain_cost=rng.uniform(0.05, 0.2, SLOTS) * made,
        export_intensity=rng.uniform(0.0, 0.6, SLOTS) * made,
        # the model's own state
        may_exit=alive & (anchor < 0),
        sme_alive=alive & (anchor < 0),
        us_exporter=base_final[:, US] > 0,
        propensity=np.where(eligible & made, rng.uniform(0.5, 2.0, SLOTS), 0.0),
        adopted=(alive & ((adoption == ADOPTING) | (adoption == ADOPTED))) * 1.0,
        net=supplier_network(),
    )
    w.market_weight = market_weights(w.base_sales, alive, sector)
    w.sector_adopters = np.bincount(sector[w.adopted > 0], minlength=S)
    w.sector_candidates = np.bincount(sector[alive & eligible], minlength=S)
    w.sme_demand = rules.sector_partner_total(base_final, sector, np.flatnonzero(w.sme_alive), S)
    return w


def copied(w: SimpleNamespace) -> SimpleNamespace:
    """A deep copy: kernels write the state in place."""
    out = SimpleNamespace(**{k: v.copy() for k, v in vars(w).items() if k != "net"})
    s = w.net.shares
    shares = sp.csr_array((s.data.copy(), s.indices.copy(), s.indptr.copy()), shape=s.shape)
    out.net = SupplierNetwork(shares=shares, market=w.net.market.copy(), buyer=w.net.buyer)
    return out


def csr(w):
    return w.net.shares.indptr, w.net.shares.indices, w.net.shares.data


def close(actual, expected, what=""):
    np.testing.assert_allclose(actual, expected, rtol=TIGHT, atol=1e-300, err_msg=what)


# --- 2-4. demand, production, tariff absorption ---------------------------------------------------


def numpy_demand_and_production(w: SimpleNamespace, diverting: bool) -> dict:
    """The numpy step's demand, production and tariff absorption, composed from `rules`."""
    shock = w.firm_shock.copy()
    shock[:N] = rules.shock_step(shock[:N], RHO, SHOCK_SD, FIRM_NOISE)
    factor = rules.sector_partner_factor(DEMAND_INDEX * COMMON, EXPORT_VOLUME, TARIFF_VOLUME)
    firm_factor = rules.firm_demand_factor(shock, SHOCK_VARIANCE, w.cost_advantage)
    final = rules.final_demand(w.base_final, factor, w.sector, firm_factor * w.alive)
    diverted = w.diverted
    if diverting:
        lost = rules.lost_to_tariff(final[:, US], TARIFF_VOLUME[US][w.sector])
        diverted = rules.divert(diverted, lost, DIVERSION_SHARE, DIVERSION_SPEED)
    network = orders_received(w.net, w.orders, w.market_weight, w.sector)
    defence_krw = np.zeros(SLOTS)
    defence_krw[:ANCHORS] = DEFENCE_WORK.sum(axis=1) * w.alive[:ANCHORS]
    defence = defence_krw / PRICE
    demand = final @ np.ones(P) + diverted + network + defence
    gross, sales, fill = rules.produce(demand, w.defect_rate, w.capacity, w.productivity)
    fill = fill * w.alive
    inputs = rules.inputs_needed(gross, INPUT_SHARE, w.unit_cost)
    revenue = fill * (
        rules.sales_value(final, UNIT_REVENUE, w.sector)
        + diverted * EXPORT_PRICE
        + network * PRICE
        + defence_krw
    )
    desired = demand / (1.0 - w.defect_rate) / (w.productivity * OPERATING_RATE)
    capacity = rules.adjust_toward(w.capacity, desired, CAPACITY_SPEED)
    tariff_cost = rules.absorbed_tariff(final * fill[:, None], EXPORT_PRICE, TARIFF_PRICE, w.sector)
    return dict(
        final=final,
        firm_shock=shock,
        diverted=diverted,
        capacity=capacity,
        network=network,
        defence=defence,
        defence_krw=defence_krw,
        demand=demand,
        gross=gross,
        sales=sales,
        revenue=revenue,
        fill=fill,
        inputs=inputs,
        tariff_cost=tariff_cost,
        diverted_sold=diverted * fill,
    )


def kernel_demand_and_production(w: SimpleNamespace, diverting: bool, last_month: float = 0.0):
    """The kernel's month on a copy of `w`; its scratch arrays start filled with `last_month`."""
    g = copied(w)
    final, flows = np.full((SLOTS, P), last_month), np.full((len(FLOWS), SLOTS), last_month)
    demand_and_production(
        N, g.sector, g.alive, g.base_final, g.capacity, g.productivity, g.defect_rate,
        g.unit_cost, g.firm_shock, g.diverted, g.orders, g.cost_advantage, g.market_weight,
        *csr(g), g.net.market, FIRM_NOISE, DEMAND_INDEX, COMMON, EXPORT_VOLUME, TARIFF_VOLUME,
        UNIT_REVENUE, 1.0 - TARIFF_PRICE, DEFENCE_WORK, PRICE, EXPORT_PRICE, RHO, SHOCK_SD,
        SHOCK_VARIANCE, diverting, DIVERSION_SPEED, DIVERSION_SHARE, INPUT_SHARE, OPERATING_RATE,
        CAPACITY_SPEED, final, flows,
    )  # fmt: skip
    return g, final, flows


def month_flows(w: SimpleNamespace, diverting: bool = True) -> tuple[dict, np.ndarray]:
    """The numpy step's month up to production, as the kernels' `flows`."""
    expected = numpy_demand_and_production(w, diverting)
    flows = np.zeros((len(FLOWS), SLOTS))
    for name, row in ROW.items():
        flows[row] = expected.get(name, 0.0)
    return expected, flows


@pytest.mark.parametrize("diverting", [False, True])
def test_demand_and_production_composes_the_demand_production_and_tariff_rules(diverting):
    """Final demand by buyer, re-routed US sales (moving only once diverting), network orders,
    defence work at the anchors, production, fill, inputs, revenue, capacity and tariff cost:
    every firm's row as the numpy rules made it; the empty slots are left alone."""
    w = world()
    expected = numpy_demand_and_production(w, diverting)
    g, final, flows = kernel_demand_and_production(w, diverting)
    close(final[:N], expected["final"][:N], "final")
    for name in ("firm_shock", "diverted", "capacity"):
        close(getattr(g, name)[:N], expected[name][:N], name)
    for name, row in ROW.items():
        if name in expected:
            close(flows[row, :N], expected[name][:N], name)
    assert (flows[:, N:] == 0).all() and (final[N:] == 0).all()
    # Not vacuous: some firms are held by capacity and some are not; anchors 0 and 2 have
    # defence work; a tariff cost is absorbed; re-routed sales move only when diverting.
    bound = expected["gross"] == w.capacity * w.productivity
    assert bound[:N].any() and not bound[w.alive].all()
    assert (expected["defence"][[0, 2]] > 0).all() and expected["tariff_cost"].sum() > 0
    assert (g.diverted[:N] != w.diverted[:N]).any() == diverting


def test_a_firm_that_has_left_has_no_demand_and_delivers_nothing():
    """Firm 5 (an SME) and anchor 0 have left: no final demand, no defence work (anchor 0 had
    some due), no sales, and their fill rate is zero although orders still name them."""
    w = world()
    w.alive[0] = False
    w.capacity[0] = w.orders[0] = w.diverted[0] = 0.0
    w.market_weight = market_weights(w.base_sales, w.alive, w.sector)
    expected = numpy_demand_and_production(w, True)
    _, final, flows = kernel_demand_and_production(w, True)
    for name, row in ROW.items():
        if name in expected:
            close(flows[row, :N], expected[name][:N], name)
    close(final, expected["final"])
    for gone in (0, 5):
        assert (final[gone] == 0).all()
        assert flows[[ROW["fill"], ROW["revenue"], ROW["sales"], ROW["defence"]], gone].sum() == 0
        assert flows[ROW["tariff_cost"], gone] == 0 and flows[ROW["diverted_sold"], gone] == 0
    assert flows[ROW["network"], 0] > 0  # firms 1 and 6 still order from it by name
    assert DEFENCE_WORK[0].sum() > 0 and flows[ROW["defence_krw"], 0] == 0


def test_the_rows_of_a_firm_that_has_left_are_written_over_every_month():
    """The month's flows and final demand are scratch arrays holding last month's numbers: the
    rows of firm 5, which has left and is skipped, are written over all the same (zero), and so
    are its value added and profit when accounts are settled."""
    w = world()
    expected = numpy_demand_and_production(w, True)
    _, final, flows = kernel_demand_and_production(w, True, last_month=7.0)
    for name, row in ROW.items():
        if name in expected:
            close(flows[row, :N], expected[name][:N], name)
    close(final[:N], expected["final"][:N], "final demand")
    assert (final[5] == 0.0).all()
    assert (flows[[row for row in MADE if row != DEMAND], 5] == 0.0).all()
    assert flows[DEMAND, 5] == 0.0  # no order names it
    _, settled, _, _ = kernel_settle(w, flows, np.full(N, 0.5))
    assert settled[ROW["value_added"], 5] == 0.0 and settled[ROW["profit"], 5] == 0.0


def test_a_nan_in_a_firms_state_reaches_its_output_as_in_the_rules():
    """A NaN capacity gives a NaN gross output, as `np.minimum` in `rules.produce` does (Python's
    `min` would drop it, and a run would go on with corrupt state instead of stopping)."""
    w = world()
    w.capacity[3] = np.nan
    expected = numpy_demand_and_production(w, True)
    _, _, flows = kernel_demand_and_production(w, True)
    assert np.isnan(expected["gross"][3]) and np.isnan(flows[ROW["gross"], 3])
    finite = np.arange(N) != 3
    close(flows[ROW["gross"], :N][finite], expected["gross"][:N][finite], "gross")


# --- 5. finance -----------------------------------------------------------------------------------


def numpy_settle(w, flows, exit_u, support=False, credit_left=0.0):
    """`settle_accounts`, `lend_export_support` and who leaves in `exit_firms` of the numpy step."""
    f = {name: flows[row] for name, row in ROW.items()}
    delivered = w.orders * supplier_fill(w.net, f["fill"], w.market_weight, w.sector)
    bought = rules.purchases(f["inputs"], delivered)
    value_added = f["revenue"] - bought * PRICE
    wages = w.employment * w.wage * PRICE
    fixed = w.fixed_cost * PRICE
    profit = value_added - wages - fixed
    payout = PAYOUT_RATE * np.maximum(profit, 0.0)
    cash = w.cash + profit - payout
    in_complex_sales = (f["network"] @ f["fill"]) * PRICE
    sums = dict(
        external_sales=f["revenue"].sum() - in_complex_sales,
        in_complex_sales=in_complex_sales,
        in_complex_purchases=delivered.sum() * PRICE,
        outside_purchases=(bought - delivered).sum() * PRICE,
        wages=wages.sum(),
        fixed_costs=fixed.sum(),
        payouts=payout.sum(),
        support_credit=0.0,
    )
    if support:
        credit = rules.support_credit(cash, w.alive & w.us_exporter, credit_left)
        cash = cash + credit
        sums["support_credit"] = credit.sum()
    line = EXIT_DEBT_MONTHS * PRICE * w.base_sales
    distress = rules.distress_count(w.distress_months, cash, line) * w.may_exit
    leaving = distress >= EXIT_AFTER
    leaving[:N] |= rules.leaves_by_demography(-np.log(exit_u), EXIT_RATE) & w.may_exit[:N]
    return SimpleNamespace(
        delivered=delivered,
        value_added=value_added,
        profit=profit,
        cash=cash,
        orders=IN_COMPLEX_SHARE * f["inputs"],
        distress_months=distress,
        sums=np.array([sums[name] for name in SETTLED]),
        leaving=np.flatnonzero(leaving),
    )


def kernel_settle(w, flows, exit_u, support=False, credit_left=0.0):
    g, flows = copied(w), flows.copy()
    sums, leaving = settle_and_finance(
        N, g.sector, g.alive, g.may_exit, g.us_exporter, g.base_sales, g.orders, g.employment,
        g.wage, g.fixed_cost, g.cash, g.distress_months, g.market_weight, *csr(g), g.net.market,
        flows, exit_u, PRICE, PAYOUT_RATE, IN_COMPLEX_SHARE, support, credit_left,
        EXIT_DEBT_MONTHS, EXIT_AFTER, EXIT_RATE,
    )  # fmt: skip
    return g, flows, sums, leaving


def check_settle(w, flows, exit_u, support=False, credit_left=0.0):
    expected = numpy_settle(w, flows, exit_u, support, credit_left)
    g, out, sums, leaving = kernel_settle(w, flows, exit_u, support, credit_left)
    close(out[ROW["value_added"], :N], expected.value_added[:N], "value added")
    close(out[ROW["profit"], :N], expected.profit[:N], "profit")
    close(g.cash, expected.cash, "cash")
    close(g.orders[:N], expected.orders[:N], "orders")
    for name, got, want in zip(SETTLED, sums, expected.sums, strict=True):
        close(got, want, name)
    np.testing.assert_array_equal(g.distress_months, expected.distress_months)
    np.testing.assert_array_equal(leaving, expected.leaving)
    return g, sums, leaving


def test_settle_and_finance_composes_the_accounts_rules():
    """Value added, profit, cash after payouts, next month's orders and the ledger's sums, with no
    export support and no exit. Firm 6 receives more than it needs (last month's orders were
    large; it pays for all of it) and firm 7 makes a loss (no payout)."""
    w = world()
    w.orders[6], w.fixed_cost[7] = 40.0, 200.0
    _, flows = month_flows(w)
    expected = numpy_settle(w, flows, np.full(N, 0.5))
    assert expected.delivered[6] > flows[ROW["inputs"], 6] and expected.profit[7] < 0
    _, sums, leaving = check_settle(w, flows, np.full(N, 0.5))
    assert len(leaving) == 0 and sums[SETTLED.index("support_credit")] == 0
    assert sums[SETTLED.index("payouts")] > 0 and sums[SETTLED.index("outside_purchases")] > 0


@pytest.mark.parametrize("cover", [0.3, 1.0, 5.0])
def test_export_support_lends_what_us_exporters_lack_pro_rata_when_short(cover):
    """Living US exporters with negative cash draw what they lack; a line of `cover` times their
    need pays each the same share of it (all of it when it suffices). Firm 4 sells nothing to the
    US and gets nothing."""
    w = world()
    w.cash[[0, 3, 4, 6]] = [-80.0, -60.0, -70.0, -50.0]
    _, flows = month_flows(w)
    after = numpy_settle(w, flows, np.full(N, 0.5)).cash
    need = np.maximum(0.0, -after) * (w.alive & w.us_exporter)
    assert need[[0, 3, 6]].min() > 0 and after[4] < 0  # the case this test is about
    g, sums, _ = check_settle(w, flows, np.full(N, 0.5), True, cover * need.sum())
    close(sums[SETTLED.index("support_credit")], min(cover, 1.0) * need.sum())
    close(g.cash[[0, 3, 6]], after[[0, 3, 6]] * (1.0 - min(cover, 1.0)))
    assert g.cash[4] == after[4]


def test_distress_exit_after_exit_after_months_below_the_line_and_never_for_anchors():
    """Firm 3 reaches `EXIT_AFTER` months below the line and leaves, firm 7 one month short
    stays, firm 6 is back above the line (its count restarts), anchor 0 below it never counts."""
    w = world()
    w.distress_months[[3, 6, 7]] = [EXIT_AFTER - 1, EXIT_AFTER - 1, EXIT_AFTER - 2]
    w.cash[[0, 3, 7]] = -1e3
    w.cash[6] = 1e3
    _, flows = month_flows(w)
    g, _, leaving = check_settle(w, flows, np.full(N, 0.5))
    np.testing.assert_array_equal(leaving, [3])
    np.testing.assert_array_equal(
        g.distress_months[[0, 3, 6, 7]], [0, EXIT_AFTER, 0, EXIT_AFTER - 1]
    )


RATE = EXIT_RATE / 12.0
EXIT_U = {
    "just_above_exp(-rate)": math.exp(-RATE) * (1.0 + 1e-12),  # -log u just below: leaves
    "just_below_exp(-rate)": math.exp(-RATE) * (1.0 - 1e-12),  # stays
    "log_taken_near_margin": 1.0 - (RATE + 0.5 * LOG_MARGIN),
    "at_margin": 1.0 - (RATE + LOG_MARGIN),
    "log_skipped_past_margin": 1.0 - (RATE + 2.0 * LOG_MARGIN),
    "one_minus_rate": 1.0 - RATE,
    "one": 1.0,
    "tiny": 1e-300,
}


@pytest.mark.parametrize("u", EXIT_U.values(), ids=EXIT_U.keys())
def test_demography_exits_exactly_where_the_exponential_draw_is_below_the_monthly_rate(u):
    """Each SME that may exit leaves when -log u < rate / 12 (`rules.leaves_by_demography`),
    whether or not the kernel took the logarithm: uniforms on both sides of the LOG_MARGIN
    shortcut and of exp(-rate). Anchors and the firm that has left never do."""
    w = world()
    _, flows = month_flows(w)
    _, _, leaving = check_settle(w, flows, np.full(N, u))
    may = np.flatnonzero(w.may_exit[:N])
    np.testing.assert_array_equal(leaving, may if -math.log(u) < RATE else [])


# --- 6. employment, 7. adoption -------------------------------------------------------------------


def peer_rates(w, rows, bass):
    """Peers' adoption, `rules.adoption_rate` and `rules.adoption_cost` for `rows`."""
    sector_share = w.sector_adopters / np.maximum(w.sector_candidates, 1)
    suppliers = rows_dot(w.net, rows, w.adopted) + w.net.market[rows] @ sector_share
    own = sector_share[w.sector[rows]]
    peers = (1.0 - bass["peer_weight"]) * own + bass["peer_weight"] * suppliers
    rate = rules.adoption_rate(
        peers, own, w.propensity[rows], bass["p"], bass["q"], bass["potential"]
    )
    return rate


def numpy_employ_and_adopt(w, gross, u, n, entrants_from, offering, slots_left, bass):
    """`raise_output_per_worker`, `adjust_employment` and `adopt_ai_factories` of the numpy step,
    on a copy of `w`; returns (the copy, costs paid, slots granted)."""
    g = copied(w)
    g.labour_productivity[:n] *= LABOUR_FACTOR
    g.wage[:n] *= LABOUR_FACTOR
    needed = rules.labour_needed(gross, g.labour_productivity, g.productivity, LABOUR_SAVING)
    entrants = np.arange(entrants_from, n)
    needed[entrants] = g.employment[entrants]
    adjusted = rules.adjust_toward(g.employment, needed, EMPLOYMENT_SPEED)
    g.employment[:n] = np.where(g.alive, adjusted, 0.0)[:n]
    share = SUBSIDY_SHARE if offering else 0.0
    boost = 1.0 + bass["boost"] * share
    e = -np.log(u)
    m = len(u)
    bound = (bass["p"] + bass["q"]) * boost / 12.0 * g.propensity[:m]
    near = np.flatnonzero(g.alive[:m] & (g.adoption[:m] == NOT_ADOPTED) & (e < bound))
    rate = peer_rates(g, near, bass)
    cost = rules.adoption_cost(g.employment[near], bass["base"], bass["per_employee"], PRICE)
    cash = g.cash[near]
    granted = np.zeros(len(near), dtype=bool)
    if offering:
        keen = (e[near] < rate * boost) & (cash >= (1.0 - share) * cost)
        candidates = np.flatnonzero(keen)
        order = candidates[np.argsort(e[near][candidates] / rate[candidates], kind="stable")]
        granted[order[: int(slots_left)]] = True
    unaided = ~granted & (e[near] < rate) & (cash >= cost)
    paid = np.where(granted, (1.0 - share) * cost, 0.0) + np.where(unaided, cost, 0.0)
    adopters = near[granted | unaided]
    g.cash[near] -= paid
    g.adoption[adopters] = ADOPTING
    g.adoption_month[adopters] = MONTH
    g.adopted[adopters] = 1.0
    g.sector_adopters += np.bincount(g.sector[adopters], minlength=S)
    return g, paid.sum(), np.count_nonzero(granted)


def kernel_employ_and_adopt(w, gross, u, n, entrants_from, offering, slots_left, bass, flows):
    g = copied(w)
    template_lp, template_wage = np.array([1.0, 1.2, 0.8]), np.array([0.1, 0.12, 0.09])
    paid, given = employment_and_adoption(
        len(u), n, entrants_from, g.sector, g.alive, g.adoption, g.adoption_month, g.employment,
        g.labour_productivity, g.wage, g.productivity, template_lp, template_wage, g.cash,
        g.propensity, g.adopted, g.sector_adopters, g.sector_candidates, *csr(g), g.net.market,
        flows, u, LABOUR_FACTOR, EMPLOYMENT_SPEED, LABOUR_SAVING, MONTH, PRICE, offering,
        SUBSIDY_SHARE, slots_left, bass["p"], bass["q"], bass["potential"], bass["boost"],
        bass["peer_weight"], bass["base"], bass["per_employee"],
    )  # fmt: skip
    close(template_lp, np.array([1.0, 1.2, 0.8]) * LABOUR_FACTOR, "template output per worker")
    close(template_wage, np.array([0.1, 0.12, 0.09]) * LABOUR_FACTOR, "template wage")
    return g, paid, given


def check_employ_and_adopt(w, u, offering=False, slots_left=0.0, bass=BASS, n=N, entrants=N):
    expected_month, flows = month_flows(w)
    gross = expected_month["gross"]
    want, want_paid, want_given = numpy_employ_and_adopt(
        w, gross, u, n, entrants, offering, slots_left, bass
    )
    g, paid, given = kernel_employ_and_adopt(
        w, gross, u, n, entrants, offering, slots_left, bass, flows
    )
    for name in ("labour_productivity", "wage", "employment", "cash", "adopted"):
        close(getattr(g, name)[:n], getattr(want, name)[:n], name)
    for name in ("adoption", "adoption_month", "sector_adopters"):
        np.testing.assert_array_equal(getattr(g, name), getattr(want, name), err_msg=name)
    close(paid, want_paid, "paid")
    assert given == want_given
    return g, given


def test_employment_follows_output_needs_and_entrants_start_at_their_size():
    """Output per worker and wages rise by the trend's factor, the entrant template's too;
    employment moves toward what gross output needs; this month's entrants (slots 8, 9) keep
    their size, the firm that has left employs no one. No uniform is low enough to adopt."""
    w = world()
    w.alive[[8, 9]] = True
    w.employment[[8, 9]] = [6.0, 7.5]
    g, given = check_employ_and_adopt(w, np.full(N, 0.5), n=10, entrants=8)
    np.testing.assert_array_equal(g.employment[[5, 8, 9]], [0.0, 6.0, 7.5])
    assert given == 0 and (g.adoption == w.adoption).all()


def test_employment_of_firms_without_adoption_gains_is_the_rule_bit_for_bit():
    """Most firms' productivity is exactly one (no adoption gain): the kernel skips the power
    `productivity ** labour_saving` for them, which is one, so their employment is the rule's
    bit for bit; firms with gains (slots 4, 7) take the power as the rule does."""
    w = world()
    w.productivity[[3, 6]] = 1.0
    g, _ = check_employ_and_adopt(w, np.full(N, 0.5))
    gross = month_flows(w)[0]["gross"]
    labour_productivity = w.labour_productivity * LABOUR_FACTOR
    needed = rules.labour_needed(gross, labour_productivity, w.productivity, LABOUR_SAVING)
    want = rules.adjust_toward(w.employment, needed, EMPLOYMENT_SPEED)
    np.testing.assert_array_equal(g.employment[[3, 6]], want[[3, 6]])
    assert (w.productivity[[4, 7]] > 1.0).all()
    close(g.employment[[4, 7]], want[[4, 7]], "employment of firms with gains")


# Candidates (alive, not adopted, of the month's start): firms 2, 3, 4, 6, 7. Each draw is a
# multiple of the firm's rate; firm 4 can pay the subsidised half of its cost, not all of it, and
# firm 7 not even half.
DRAW_OVER_RATE = {2: 0.9, 3: 0.5, 4: 0.3, 6: 1.5, 7: 1.2}


def adoption_world():
    """Draws and cash as above; firm 4 is keener than 3 (a lower draw over rate) though its draw
    is higher."""
    w = world()
    w.propensity[[3, 4]] = [0.5, 2.0]
    rows = np.array(list(DRAW_OVER_RATE))
    rate = peer_rates(w, rows, BASS)
    u = np.full(N, 0.5)
    u[rows] = np.exp(-rate * np.array(list(DRAW_OVER_RATE.values())))
    expected_month, _ = month_flows(w)
    needed = rules.labour_needed(
        expected_month["gross"],
        w.labour_productivity * LABOUR_FACTOR,
        w.productivity,
        LABOUR_SAVING,
    )
    employment = rules.adjust_toward(w.employment, needed, EMPLOYMENT_SPEED)
    cost = rules.adoption_cost(employment, BASS["base"], BASS["per_employee"], PRICE)
    w.cash[:N] = 10.0 * cost[:N]
    w.cash[4] = 0.75 * cost[4]
    w.cash[7] = 0.4 * cost[7]
    return w, u


def test_unaided_adoption_where_the_draw_is_below_the_rate_and_the_firm_can_pay():
    """Without a programme firms 2 and 3 adopt; firms 4 and 7 cannot pay, 6 and 7 draw above."""
    w, u = adoption_world()
    g, given = check_employ_and_adopt(w, u)
    np.testing.assert_array_equal(np.flatnonzero(g.adoption == ADOPTING), [2, 3])
    assert given == 0


@pytest.mark.parametrize(
    ("slots_left", "granted", "adopters"),
    [(1.7, 1, [2, 3, 4]), (2.5, 2, [2, 3, 4]), (10.0, 4, [2, 3, 4, 6])],
)
def test_programme_slots_go_to_the_keenest_applicants_who_can_pay_their_part(
    slots_left, granted, adopters
):
    """With a subsidy of half the cost the rate doubles: 2, 3, 4 and 6 apply (draw below twice
    the rate, half the cost in cash; 7 lacks the cash) and the slots go by draw over rate, 4
    first; those left without a slot adopt unaided as before (2 and 3), 6 only with a slot."""
    w, u = adoption_world()
    assert u[4] < u[3]  # the lowest draw is not the keenest
    g, given = check_employ_and_adopt(w, u, True, slots_left)
    assert given == granted
    np.testing.assert_array_equal(np.flatnonzero(g.adoption == ADOPTING), adopters)
    close(w.cash[4] - g.cash[4], (1.0 - SUBSIDY_SHARE) * w.cash[4] / 0.75)  # half its cost


@pytest.mark.parametrize("offering", [False, True])
def test_the_near_bound_shortcut_never_changes_an_adoption_decision(offering):
    """With no imitation and a potential of one, a firm's rate (boosted with a slot) equals the
    bound the kernel screens draws with: draws straddling the bound, and uniforms on both sides of
    the LOG_MARGIN shortcut, are decided as the rules decide them (2 and 7 adopt)."""
    bass = {**BASS, "p": 0.3, "q": 0.0, "potential": 1.0}
    w = world()
    w.cash[:N] = 1e6
    boost = 1.0 + bass["boost"] * (SUBSIDY_SHARE if offering else 0.0)
    bound = (bass["p"] + bass["q"]) * boost / 12.0 * w.propensity
    u = np.full(N, 0.5)
    u[[2, 3, 7]] = np.exp(-bound[[2, 3, 7]] * np.array([1.0 - 1e-9, 1.0 + 1e-9, 1.0 - 1e-7]))
    u[4] = 1.0 - (bound[4] + 0.5 * LOG_MARGIN)  # the logarithm is taken
    u[6] = 1.0 - (bound[6] + 2.0 * LOG_MARGIN)  # it is not
    g, _ = check_employ_and_adopt(w, u, offering, 10.0, bass)
    np.testing.assert_array_equal(np.flatnonzero(g.adoption == ADOPTING), [2, 7])


def test_adoption_decisions_on_random_complexes_are_the_rules():
    """Random adoption states, Bass parameters, peer weights, draws up to past the bound, cash
    around the cost, programme slots or none: the kernel decides as the rules, firm by firm."""
    adopters = granted = 0
    for seed in range(24):
        rng = np.random.default_rng(100 + seed)
        w = world(seed)
        state = rng.choice([NOT_ADOPTED, NOT_ADOPTED, ADOPTING, ADOPTED], SLOTS)
        w.adoption = np.where(w.adoption == INELIGIBLE, INELIGIBLE, state)
        w.adopted = (w.alive & ((w.adoption == ADOPTING) | (w.adoption == ADOPTED))) * 1.0
        w.sector_adopters = np.bincount(w.sector[w.adopted > 0], minlength=S)
        bass = {
            **BASS,
            "q": rng.uniform(0.1, 1.0),
            "potential": rng.uniform(0.1, 0.9),
            "peer_weight": rng.uniform(0.0, 1.0),
        }
        offering = bool(seed % 2)
        boost = 1.0 + bass["boost"] * (SUBSIDY_SHARE if offering else 0.0)
        bound = (bass["p"] + bass["q"]) * boost / 12.0 * w.propensity[:N]
        u = np.exp(-bound * rng.uniform(0.0, 1.1, N) ** 3)
        cost = (bass["base"] + bass["per_employee"] * w.employment[:N]) * PRICE
        w.cash[:N] = rng.uniform(0.3, 1.5, N) * cost
        g, given = check_employ_and_adopt(w, u, offering, rng.integers(1, 4) + 0.5, bass)
        adopters += np.count_nonzero(g.adoption != w.adoption)
        granted += given
    assert adopters > 10 and granted > 3  # decisions were made both ways


def test_ramp_adoption_moves_adopters_along_their_ramp():
    """`ramp_adoption_effects`: productivity, defects, unit cost and cost advantage of firms
    adopting, part way, on the last month and past it (those become adopters); others untouched."""
    w = world()
    w.adoption[[2, 3, 4, 6]] = ADOPTING
    w.adoption_month[[2, 3, 4, 6]] = [MONTH - 4, MONTH, MONTH - 18, MONTH - 30]
    ramp_months, elasticity = 18.0, 0.8
    ramping = np.flatnonzero(w.adoption == ADOPTING)
    progress = rules.ramp(MONTH, w.adoption_month[ramping], ramp_months)
    want = copied(w)
    want.productivity[ramping] = 1.0 + w.gain_productivity[ramping] * progress
    want.defect_rate[ramping] = w.base_defect_rate[ramping] * (
        1.0 - w.gain_defects[ramping] * progress
    )
    want.unit_cost[ramping] = 1.0 - w.gain_cost[ramping] * progress
    want.cost_advantage[ramping] = want.unit_cost[ramping] ** -elasticity
    want.adoption[ramping[progress >= 1.0]] = ADOPTED
    g = copied(w)
    ramp_adoption(
        N, g.adoption, g.adoption_month, g.productivity, g.defect_rate, g.base_defect_rate,
        g.unit_cost, g.gain_productivity, g.gain_defects, g.gain_cost, g.cost_advantage, MONTH,
        ramp_months, elasticity,
    )  # fmt: skip
    for name in ("productivity", "defect_rate", "unit_cost", "cost_advantage"):
        close(getattr(g, name), getattr(want, name), name)
    np.testing.assert_array_equal(g.adoption, want.adoption)
    np.testing.assert_array_equal(g.adoption[[0, 2, 3, 4, 6]], [ADOPTED, 1, 1, ADOPTED, ADOPTED])


# --- 9. record ------------------------------------------------------------------------------------


def test_month_totals_are_the_sums_of_the_numpy_month_indicators():
    """Production, real sales, value added, employment, active firms, defects, tariff cost,
    defence work and deliveries (a prime that left delivers none), final demand, in-complex
    sales, cash; exports by buyer (re-routed sales by the sector's mix) and by sector."""
    w = world()
    w.alive[1] = False  # anchor 1 has left: its deliveries are not exports
    expected, flows = month_flows(w)
    settled = numpy_settle(w, flows, np.full(N, 0.5))
    flows[ROW["value_added"]], flows[ROW["profit"]] = settled.value_added, settled.profit
    f = {name: flows[row] for name, row in ROW.items()}
    final, fill = expected["final"], f["fill"]
    sold = final * fill[:, None]
    abroad = np.take(UNIT_REVENUE, w.sector, axis=0)[:, 1:] * sold[:, 1:]
    diverted = np.bincount(w.sector, weights=f["diverted_sold"], minlength=S)
    delivered = DELIVERIES * w.alive[:ANCHORS, None]
    by_partner = abroad.sum(axis=0) + (diverted @ DIVERSION_MIX)[1:] * EXPORT_PRICE
    by_partner += delivered.sum(axis=0)[1:]
    firm_exports = abroad.sum(axis=1) + f["diverted_sold"] * EXPORT_PRICE
    firm_exports[:ANCHORS] += delivered.sum(axis=1)
    defence_work = f["defence_krw"] @ fill
    want = dict(
        production=f["revenue"].sum(),
        real_sales=f["sales"].sum(),
        value_added=f["value_added"].sum(),
        employment=w.employment.sum(),
        active=np.count_nonzero(w.alive),
        defects=f["gross"] @ w.defect_rate,
        gross=f["gross"].sum(),
        tariff_cost=f["tariff_cost"].sum(),
        defence_work=defence_work,
        delivered=delivered.sum(),
        final_demand=sold[:, 1:].sum()
        + f["diverted_sold"].sum()
        + defence_work / PRICE
        + DOMESTIC_FINAL_SHARE * sold[:, 0].sum(),
        in_complex=f["network"] @ fill,
        cash=settled.cash.sum(),
    )
    totals, partner, production, exports, jobs = month_totals(
        N, w.sector, w.alive, w.employment, w.defect_rate, settled.cash, final, flows,
        UNIT_REVENUE, DELIVERIES, DIVERSION_MIX, EXPORT_PRICE, PRICE, DOMESTIC_FINAL_SHARE,
    )  # fmt: skip
    for name, got in zip(TOTALS, totals, strict=True):
        close(got, want[name], name)
    assert partner[0] == 0.0
    close(partner[1:], by_partner, "exports by buyer")
    close(production, np.bincount(w.sector, weights=f["revenue"], minlength=S), "production")
    close(exports, np.bincount(w.sector, weights=firm_exports, minlength=S), "exports")
    close(jobs, np.bincount(w.sector, weights=w.employment, minlength=S), "employment")


def test_the_kernels_copies_of_shared_constants_are_the_originals():
    """Kernels keep their own copies of a few constants (numba's cache follows a kernel's own
    file only); they must stay what the model means by them."""
    from sim.inputs.names import PARTNERS
    from sim.model import demography, firms, month_kernels

    assert (month_kernels.DOMESTIC, month_kernels.US) == (
        PARTNERS.index("domestic"),
        PARTNERS.index("US"),
    )
    assert demography.US == PARTNERS.index("US")
    states = (firms.NOT_ADOPTED, firms.ADOPTING, firms.ADOPTED)
    assert (month_kernels.NOT_ADOPTED, month_kernels.ADOPTING, month_kernels.ADOPTED) == states
    assert demography.NOT_ADOPTED == firms.NOT_ADOPTED
