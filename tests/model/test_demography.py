"""The compiled exit and entry kernels of `sim.model.demography` against the numpy rules they
compose: the numpy step's `exit_firms` (once who leaves is decided) and `place_entrants`, on the
small complex of `test_month_kernels`, to the same tolerance.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from test_month_kernels import PRICE, SLOTS, US, S, close, copied, csr, world

from sim.inputs.parameters import central_parameters
from sim.model import rules
from sim.model.demography import (
    churn_factor,
    close_firms,
    customers_index,
    entrant_constants,
    place_entrants,
    rescale_members,
)
from sim.model.firms import ADOPTED, NOT_ADOPTED
from sim.model.network import redirect_to_markets
from sim.model.population import adoption_gains, stationary_sd


def test_customers_index_lists_each_suppliers_links_in_buyer_order():
    w = world()
    _, indices, _ = csr(w)
    ptr, links = customers_index(w.net.shares.indptr, indices, SLOTS)
    for supplier in range(SLOTS):
        np.testing.assert_array_equal(
            links[ptr[supplier] : ptr[supplier + 1]], np.flatnonzero(indices == supplier)
        )


def test_churn_factor_and_rescale_members_are_the_rules():
    pool = np.array([[4.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
    change = np.array([[1.0, 5.0, -3.0], [2.0, -0.5, 0.0]])
    close(churn_factor(pool, change), rules.churn_factor(pool, change))
    w = world()
    factor = rules.churn_factor(w.sme_demand, -0.3 * w.sme_demand + 0.1)
    base_final, base_sales = w.base_final.copy(), w.base_sales.copy()
    rescale_members(base_final, base_sales, w.sector, w.sme_alive, factor)
    want = rules.rescale_sector_demand(w.base_final, w.base_sales, w.sector, w.sme_alive, factor)
    close(base_final, want[0])
    close(base_sales, want[1])


@pytest.mark.parametrize("leaving", [[3, 4], [4, 6, 7]])
def test_close_firms_moves_demand_to_staying_smes_and_customers_to_the_markets(leaving):
    """What the leaving firms' buyers bought goes to the SMEs of their sector that stay (none
    stay in sector 1: its share is lost, as the rule says); their rows are emptied, adoption
    counts fall, and their customers buy on the sector markets (`redirect_to_markets`)."""
    w = world()
    w.adoption[4], w.adopted[4] = ADOPTED, 1.0
    w.sector_adopters[1] += 1
    leaving = np.array(leaving, dtype=np.int64)
    gone = np.zeros(SLOTS, dtype=bool)
    gone[leaving] = True
    want = copied(w)
    exit_cash = w.cash[gone].sum()
    want.sector_adopters -= np.bincount(w.sector[gone & (w.adopted > 0)], minlength=S)
    want.sector_candidates -= np.bincount(w.sector[gone], minlength=S)
    want.adopted[gone] = 0.0
    moved = rules.sector_partner_total(w.base_final, w.sector, leaving, S)
    stay = rules.churn_factor(w.sme_demand - moved, moved)
    want.base_final, want.base_sales = rules.rescale_sector_demand(
        w.base_final, w.base_sales, w.sector, w.sme_alive & ~gone, stay
    )
    for name in ("alive", "sme_alive", "may_exit"):
        getattr(want, name)[gone] = False
    for name in ("cash", "employment", "capacity", "fixed_cost", "orders", "diverted"):
        getattr(want, name)[gone] = 0.0
    redirect_to_markets(want.net, gone, w.sector)

    g = copied(w)
    ptr, links = customers_index(*csr(g)[:2], SLOTS)
    got_cash = close_firms(
        leaving, g.sector, g.alive, g.sme_alive, g.may_exit, g.adopted, g.sector_adopters,
        g.sector_candidates, g.base_final, g.base_sales, g.cash, g.employment, g.capacity,
        g.fixed_cost, g.orders, g.diverted, g.sme_demand, ptr, links, g.net.buyer,
        g.net.shares.data, g.net.market,
    )  # fmt: skip
    close(got_cash, exit_cash, "exit cash")
    for name in ("base_final", "base_sales", "cash", "employment", "capacity", "fixed_cost"):
        close(getattr(g, name), getattr(want, name), name)
    for name in ("orders", "diverted", "adopted"):
        close(getattr(g, name), getattr(want, name), name)
    close(g.net.shares.data, want.net.shares.data, "named shares")
    close(g.net.market, want.net.market, "market shares")
    for name in ("alive", "sme_alive", "may_exit", "sector_adopters", "sector_candidates"):
        np.testing.assert_array_equal(getattr(g, name), getattr(want, name), err_msg=name)
    close(g.sme_demand, w.sme_demand, "the SMEs' demand is unchanged")
    # Each buyer still spends all of its in-complex purchases.
    close(g.net.shares.sum(axis=1) + g.net.market.sum(axis=1), np.ones(SLOTS))


@pytest.mark.parametrize("median_employment", [12.0, 30.0])  # entrants of 6 (small) or 15
def test_place_entrants_sets_the_rows_as_the_numpy_step_did(median_employment):
    """Sector by the template's shares (a uniform on a cut goes to the next sector), rows from
    the template, adoption gains and propensity, and the demand they win from the SMEs of their
    sector."""
    params = central_parameters()
    w = world()
    first, sector_u = 8, np.array([0.1, 0.25, 0.9])
    noise = np.random.default_rng(5).normal(size=(3, 4))
    t = SimpleNamespace(
        sector_share=np.array([1.0, 1.0, 2.0]),  # cuts at 0.25, 0.5
        employment=median_employment,
        labour_productivity=np.array([1.0, 1.2, 0.8]),
        partner_mix=np.array(
            [[0.5, 0.2, 0.1, 0.1, 0.1], [0.7, 0, 0.2, 0, 0.1], [0.4, 0.3, 0.3, 0, 0]]
        ),
        wage=np.array([0.1, 0.12, 0.09]),
        fixed_cost_share=np.array([0.1, 0.15, 0.12]),
        market_mix=np.array([0.2, 0.5, 0.3]),
        export_intensity=np.array([0.5, 0.3, 0.6]),
    )
    reference_employment, propensity_scale = 20.0, 0.9
    # The numpy step's `place_entrants`.
    want = copied(w)
    new = np.arange(first, first + len(sector_u))
    cumulative = np.cumsum(t.sector_share)
    sector = np.minimum(np.searchsorted(cumulative / cumulative[-1], sector_u, side="right"), S - 1)
    np.testing.assert_array_equal(sector, [0, 1, 2])
    employment = np.full(len(new), params.entrant_size * t.employment)
    gross = employment * t.labour_productivity[sector]
    sales = gross * (1.0 - params.defect_rate_base)
    gains = adoption_gains(params, employment, noise[:, 1:].T)
    want.sector[new], want.anchor[new], want.alive[new] = sector, -1, True
    want.base_final[new] = sales[:, None] * t.partner_mix[sector]
    want.base_sales[new] = sales
    want.capacity[new] = gross / params.operating_rate
    want.productivity[new], want.unit_cost[new], want.diverted[new] = 1.0, 1.0, 0.0
    want.defect_rate[new] = want.base_defect_rate[new] = params.defect_rate_base
    want.firm_shock[new] = stationary_sd(params) * noise[:, 0]
    want.orders[new] = params.in_complex_input_share * params.input_share * gross
    want.employment[new] = employment
    want.labour_productivity[new] = t.labour_productivity[sector]
    want.wage[new] = t.wage[sector]
    want.fixed_cost[new] = t.fixed_cost_share[sector] * sales
    want.cash[new] = params.cash_months * sales * PRICE
    want.distress_months[new], want.adoption[new] = 0, NOT_ADOPTED
    want.gain_productivity[new], want.gain_defects[new], want.gain_cost[new] = gains
    want.export_intensity[new] = t.export_intensity[sector]
    want.may_exit[new] = True
    want.sector_candidates += np.bincount(sector, minlength=S)
    want.propensity[new] = rules.adoption_propensity(
        employment,
        reference_employment,
        t.export_intensity[sector],
        params.adoption_size_elasticity,
        params.adoption_export_boost,
        propensity_scale,
    )
    want.cost_advantage[new] = 1.0
    want.us_exporter[new] = t.partner_mix[sector, US] > 0
    want.net.market[new] = t.market_mix
    won = rules.sector_partner_total(want.base_final, want.sector, new, S)
    want.base_final, want.base_sales = rules.rescale_sector_demand(
        want.base_final,
        want.base_sales,
        want.sector,
        want.sme_alive,
        rules.churn_factor(w.sme_demand, -won),
    )
    want.sme_alive[new] = True

    g = copied(w)
    constants = entrant_constants(
        params, stationary_sd(params), reference_employment, propensity_scale
    )
    cash = place_entrants(
        first, sector_u, noise, t.sector_share, t.employment, t.labour_productivity,
        t.partner_mix, t.wage, t.fixed_cost_share, t.market_mix, t.export_intensity, constants,
        PRICE, g.sector, g.anchor, g.alive, g.base_final, g.base_sales, g.capacity,
        g.productivity, g.defect_rate, g.base_defect_rate, g.unit_cost, g.firm_shock,
        g.diverted, g.orders, g.employment, g.labour_productivity, g.wage, g.fixed_cost, g.cash,
        g.distress_months, g.adoption, g.gain_productivity, g.gain_defects, g.gain_cost,
        g.export_intensity, g.may_exit, g.sme_alive, g.us_exporter, g.propensity,
        g.cost_advantage, g.net.market, g.sector_candidates, g.sme_demand,
    )  # fmt: skip
    close(cash, want.cash[new].sum(), "entrant cash")
    for name, value in vars(want).items():
        if name == "net":
            close(g.net.market, value.market, "market")
        elif value.dtype.kind == "f":
            close(getattr(g, name), value, name)
        else:
            np.testing.assert_array_equal(getattr(g, name), value, err_msg=name)
