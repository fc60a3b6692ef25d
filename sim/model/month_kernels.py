"""The firms' month as compiled kernels: one pass over the firms per phase of the step.

`ChangwonModel.step` names every action of the month; the per-firm arithmetic of each phase runs
here, in one loop over the firm slots, instead of one numpy call per action (each costing a few
microseconds of overhead over a few thousand rows). Each kernel is the composition of the pure
rules of `sim.model.rules` it replaces, in the same order and with the same operations; the
docstrings name them. `tests/model/test_month_kernels.py` checks every kernel against the rules
composed as the step composed them, on small arrays; `tests/model/test_reference.py` checks whole
runs against the firm-by-firm reference model.

Minima and maxima of numbers are numpy's (`np.minimum`, `np.maximum`), as in the rules: a NaN
passes through them (Python's `min` and `max` would drop it), so a run stops where state went
wrong.

Where a result is a sum over firms, the kernel adds firm by firm; numpy adds in another order,
so sums agree to rounding (about 1e-16 relative), not bit for bit.

The month's flows by firm (`Month` of `sim.model.changwon_model`) are the rows of one array,
`flows`, indexed by the constants below, plus `final` (slots x partners): kernels take two
arguments instead of fourteen. Kernels of this module follow `sim.model.kernels`.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.kernels import kernel

#: Rows of the month's `flows` (slots): real unless marked nominal.
FLOWS = (
    "network",  # in-complex orders received
    "defence",  # defence work due
    "defence_krw",  # defence work due, nominal
    "demand",
    "gross",
    "sales",
    "revenue",  # nominal value of the sales
    "fill",
    "inputs",
    "value_added",  # nominal
    "profit",  # nominal
    "tariff_cost",  # nominal price cuts absorbing tariffs (a memo)
    "diverted_sold",  # re-routed sales made
)
(
    NETWORK,
    DEFENCE,
    DEFENCE_KRW,
    DEMAND,
    GROSS,
    SALES,
    REVENUE,
    FILL,
    INPUTS,
    VALUE_ADDED,
    PROFIT,
    TARIFF_COST,
    DIVERTED_SOLD,
) = range(len(FLOWS))
#: The rows of `flows` that `demand_and_production` writes for each firm: all but the orders
#: received (summed over the buyers first) and what settlement writes.
MADE = tuple(row for row in range(len(FLOWS)) if row not in (NETWORK, VALUE_ADDED, PROFIT))
DOMESTIC, US = 0, 1  # partner columns (sim.inputs.names.PARTNERS)
NOT_ADOPTED, ADOPTING, ADOPTED = 0, 1, 2  # sim.model.firms
#: An exponential draw -log u is at least 1 - u, so a draw whose 1 - u exceeds a bound by this
#: margin (far above any rounding of either) cannot fall below the bound: its logarithm is not
#: taken. Only the few draws close enough to decide cost a logarithm.
LOG_MARGIN = 1e-9

#: The month's sums that `settle_and_finance` returns (the ledger's flows, `changwon_model.LEDGER`).
SETTLED = (
    "external_sales",
    "in_complex_sales",
    "in_complex_purchases",
    "outside_purchases",
    "wages",
    "fixed_costs",
    "payouts",
    "support_credit",
)
#: The month's sums that `month_totals` returns (`sim.model.indicators.month_indicators`).
TOTALS = (
    "production",
    "real_sales",
    "value_added",
    "employment",
    "active",
    "defects",  # gross output x defect rate
    "gross",
    "tariff_cost",
    "defence_work",
    "delivered",
    "final_demand",  # real: exports, re-routed sales, defence work, domestic final sales
    "in_complex",  # real orders filled inside the complex
    "cash",  # the firms' cash at the end of the month
)


# --- 2-4. demand, production, tariff absorption ---------------------------------------------------


@kernel
def demand_and_production(
    n,
    sector,
    alive,
    base_final,
    capacity,
    productivity,
    defect_rate,
    unit_cost,
    firm_shock,
    diverted,
    orders,
    cost_advantage,
    market_weight,
    indptr,
    indices,
    data,
    market,
    firm_noise,
    demand_index,
    common,
    export_volume,
    tariff_volume,
    unit_revenue,
    tariff_cut,
    defence_work,
    price,
    export_price,
    shock_persistence,
    shock_sd,
    shock_variance,
    diverting,
    diversion_speed,
    diversion_share,
    input_share,
    operating_rate,
    capacity_speed,
    final,
    flows,
):
    """Steps 2-4 of the month for the firms in slots 0..n-1 (the rest made nothing).

    In order, as the rules it replaces:
    - each firm's demand shock moves (`rules.shock_step`);
    - final demand by buyer: base x the factor of its sector and buyer (buyer's demand
      `demand_index` x the common shock's factor `common`, the export price response
      `export_volume` abroad, the tariff's volume response: `rules.sector_partner_factor`) x its
      own factor (`rules.firm_demand_factor`), zero once it has left (`rules.final_demand`);
    - re-routed US sales move toward a share of those the tariff costs (`rules.lost_to_tariff`,
      `rules.divert`), from the first US tariff on (`diverting`);
    - in-complex orders received: last month's orders through the named suppliers and the sector
      markets (`sim.model.network.orders_received_kernel`, the same loop);
    - defence work of each prime (anchors hold the first slots; `defence_work` by anchor and
      buyer, nominal);
    - production up to capacity x productivity, defects, sales, fill rate, inputs, the won value
      of the sales (`rules.produce`, `rules.inputs_needed`, `rules.sales_value`);
    - capacity toward demand (`rules.adjust_toward`);
    - the price cuts absorbing tariffs (`rules.absorbed_tariff`; `tariff_cut` is one minus the
      exporter's price, partners x sectors).
    Writes `final`, the rows of `flows` named above, and the state `firm_shock`, `diverted` and
    `capacity`. A firm that has left is skipped after its shock moves: as it left, its capacity,
    orders and re-routed sales were zeroed and its customers sent to the markets
    (`demography.close_firms`), so the rules would give it zero output, sales and fill and leave
    its state as it is.
    """
    partners = base_final.shape[1]
    sectors = market.shape[1]
    network = flows[NETWORK]
    # Orders received from customers: the same loop as `orders_received_kernel`.
    network[:n] = 0.0
    by_sector = np.zeros(sectors)
    for buyer in range(n):
        order = orders[buyer]
        if order == 0.0:  # nothing to add (a firm that has left orders nothing)
            continue
        for s in range(sectors):
            by_sector[s] += order * market[buyer, s]
        for j in range(indptr[buyer], indptr[buyer + 1]):
            network[indices[j]] += data[j] * order
    factor = np.empty((sectors, partners))
    for j in range(partners):
        response = 1.0 if j == DOMESTIC else export_volume
        for s in range(sectors):
            factor[s, j] = demand_index[j] * common * response * tariff_volume[j, s]
    lost_per_sale = np.empty(sectors)  # US sales the tariff costs per US sale made, by sector
    for s in range(sectors):
        lost_per_sale[s] = 1.0 / tariff_volume[US, s] - 1.0
    cut_partner = np.zeros(partners, dtype=np.bool_)
    for j in range(partners):
        for s in range(sectors):
            cut_partner[j] |= tariff_cut[j, s] != 0.0
    anchors = defence_work.shape[0]
    for i in range(n):
        network[i] += by_sector[sector[i]] * market_weight[i]
        shock = shock_persistence * firm_shock[i] + shock_sd * firm_noise[i]
        firm_shock[i] = shock
        if not alive[i]:  # it has no final demand, makes and delivers nothing: skipped
            for j in range(partners):
                final[i, j] = 0.0
            for row in MADE:
                flows[row, i] = 0.0
            flows[DEMAND, i] = diverted[i] + network[i]  # orders that still name it, if any
            continue
        s = sector[i]
        own = math.exp(shock - 0.5 * shock_variance) * cost_advantage[i]
        total = 0.0
        value = 0.0
        for j in range(partners):
            sold = factor[s, j] * base_final[i, j] * own
            final[i, j] = sold
            total += sold
            value += unit_revenue[s, j] * sold
        if diverting:
            lost = final[i, US] * lost_per_sale[s]
            diverted[i] = diverted[i] + diversion_speed * (diversion_share * lost - diverted[i])
        defence_krw = 0.0
        if i < anchors:
            for j in range(partners):
                defence_krw += defence_work[i, j]
        defence = defence_krw / price
        demand = total + diverted[i] + network[i] + defence
        keep = 1.0 - defect_rate[i]
        gross = np.minimum(demand / keep, capacity[i] * productivity[i])
        sales = gross * keep
        fill = sales / demand if demand > 0 else 1.0
        flows[DEFENCE, i] = defence
        flows[DEFENCE_KRW, i] = defence_krw
        flows[DEMAND, i] = demand
        flows[GROSS, i] = gross
        flows[SALES, i] = sales
        flows[FILL, i] = fill
        flows[DIVERTED_SOLD, i] = diverted[i] * fill
        flows[INPUTS, i] = input_share * unit_cost[i] * gross
        flows[REVENUE, i] = fill * (
            value + diverted[i] * export_price + network[i] * price + defence_krw
        )
        desired = demand / keep / (productivity[i] * operating_rate)
        capacity[i] = capacity[i] + capacity_speed * (desired - capacity[i])
        absorbed = 0.0
        for j in range(partners):
            if cut_partner[j]:
                absorbed += final[i, j] * fill * tariff_cut[j, s]
        flows[TARIFF_COST, i] = absorbed * export_price


# --- 5. finance ---------------------------------------------------------------------------------


@kernel
def settle_and_finance(
    n,
    sector,
    alive,
    may_exit,
    us_exporter,
    base_sales,
    orders,
    employment,
    wage,
    fixed_cost,
    cash,
    distress_months,
    market_weight,
    indptr,
    indices,
    data,
    market,
    flows,
    exit_u,
    price,
    payout_rate,
    in_complex_input_share,
    support_active,
    credit_left,
    exit_debt_months,
    exit_after,
    exit_rate,
):
    """Step 5 up to who leaves, for the firms in slots 0..n-1.

    - Accounts (`rules.purchases`): in-complex deliveries of last month's orders at the
      suppliers' fill rates (`network.supplier_fill_kernel`, the same loop), inputs bought
      outside, value added, wages, fixed costs, profit to cash, payouts leave; next month's
      orders.
    - Export-support credit (`rules.support_credit`) while support is active: exporters to the
      US with negative cash draw what they lack from `credit_left`, pro rata if it is short.
    - Who leaves: distress for `exit_after` months below the line (`rules.distress_count`), or the
      demography hazard (`rules.leaves_by_demography`: the exponential draw -log u below the
      monthly rate); only firms that may exit (living SMEs). The logarithm is taken only of the
      uniforms close enough to decide.
    A firm that has left (no orders, wages, fixed costs or cash since it left) is skipped: its
    value added and profit are zero, as the rules would make them.
    Returns (the month's sums named by `SETTLED`, the slots leaving in increasing order).
    """
    sectors = market.shape[1]
    market_fill = np.zeros(sectors)
    for firm in range(n):
        market_fill[sector[firm]] += market_weight[firm] * flows[FILL, firm]
    sums = np.zeros(len(SETTLED))
    revenue_total = 0.0
    in_complex = 0.0
    delivered_total = 0.0
    outside = 0.0
    for i in range(n):
        if not alive[i]:  # a firm that has left buys, sells and pays nothing
            flows[VALUE_ADDED, i] = 0.0
            flows[PROFIT, i] = 0.0
            continue
        named = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            named += data[j] * flows[FILL, indices[j]]
        on_markets = 0.0
        for s in range(sectors):
            on_markets += market[i, s] * market_fill[s]
        delivered = orders[i] * (named + on_markets)
        inputs = flows[INPUTS, i]
        bought = delivered + np.maximum(0.0, inputs - delivered)
        revenue = flows[REVENUE, i]
        value_added = revenue - bought * price
        wages = employment[i] * wage[i] * price
        fixed = fixed_cost[i] * price
        profit = value_added - wages - fixed
        payout = payout_rate * np.maximum(profit, 0.0)
        cash[i] = cash[i] + profit - payout
        orders[i] = in_complex_input_share * inputs
        flows[VALUE_ADDED, i] = value_added
        flows[PROFIT, i] = profit
        revenue_total += revenue
        in_complex += flows[NETWORK, i] * flows[FILL, i]
        delivered_total += delivered
        outside += bought - delivered
        sums[4] += wages
        sums[5] += fixed
        sums[6] += payout
    sums[1] = in_complex * price
    sums[0] = revenue_total - sums[1]
    sums[2] = delivered_total * price
    sums[3] = outside * price
    if support_active:
        need = 0.0
        for i in range(n):
            if alive[i] and us_exporter[i]:
                need += np.maximum(0.0, -cash[i])
        if need > 0.0 and credit_left > 0.0:
            ratio = np.minimum(1.0, credit_left / need)
            for i in range(n):
                if alive[i] and us_exporter[i] and cash[i] < 0.0:
                    credit = -cash[i] * ratio
                    cash[i] = cash[i] + credit
                    sums[7] += credit
    leaving = np.empty(n, dtype=np.int64)
    count = 0
    rate = exit_rate / 12.0
    for i in range(n):
        if not may_exit[i]:
            distress_months[i] = 0
            continue
        line = exit_debt_months * price * base_sales[i]
        distress_months[i] = distress_months[i] + 1 if cash[i] < -line else 0
        leaves = distress_months[i] >= exit_after
        if not leaves and 1.0 - exit_u[i] < rate + LOG_MARGIN:
            leaves = -math.log(exit_u[i]) < rate
        if leaves:
            leaving[count] = i
            count += 1
    return sums, leaving[:count]


# --- 6. employment, 7. AI-factory adoption --------------------------------------------------------


@kernel
def employment_and_adoption(
    n_start,
    n,
    entrants_from,
    sector,
    alive,
    adoption,
    adoption_month,
    employment,
    labour_productivity,
    wage,
    productivity,
    template_labour_productivity,
    template_wage,
    cash,
    propensity,
    adopted,
    sector_adopters,
    sector_candidates,
    indptr,
    indices,
    data,
    market,
    flows,
    adoption_u,
    labour_factor,
    employment_speed,
    labour_saving,
    month,
    price,
    offering,
    subsidy_share,
    slots_left,
    p,
    q,
    potential,
    subsidy_hazard_boost,
    network_peer_weight,
    cost_base,
    cost_per_employee,
):
    """Steps 6 and 7 (adoption decisions) for the firms in slots 0..n-1; the month's entrants are
    slots `entrants_from`..n-1 and the firms of the month's start 0..n_start-1.

    - Output per worker and wages rise by the trend's monthly factor, the entrant template's too.
    - Employment moves toward what output needs (`rules.labour_needed`, `rules.adjust_toward`);
      entrants start at their size; a firm that has left employs no one.
    - Adoption: firms of the month's start that can adopt and whose exponential draw is below
      the largest rate a subsidy could give ((p + q) x boost / 12 x propensity) are examined;
      their peers' adoption (the sector's share and, weighted, their suppliers' and markets'),
      Bass rate (`rules.adoption_rate`) and cost (`rules.adoption_cost`);
      when the programme offers slots (`offering`), the keenest applicants who can pay their part
      (lowest draw over rate, ties in slot order) take them; others adopt unaided when their draw
      is below their rate and they can pay.
    Writes the state named above; returns (adoption costs paid, slots granted).
    """
    for i in range(n):
        labour_productivity[i] *= labour_factor
        wage[i] *= labour_factor
    for s in range(len(template_wage)):
        template_labour_productivity[s] *= labour_factor
        template_wage[s] *= labour_factor
    gross = flows[GROSS]
    for i in range(n):
        if not alive[i]:
            employment[i] = 0.0
            continue
        if i >= entrants_from:
            needed = employment[i]  # they start at their size
        elif productivity[i] == 1.0:  # 1 ** x is 1: no power to take (most firms)
            needed = gross[i] / labour_productivity[i]
        else:
            needed = gross[i] / (labour_productivity[i] * productivity[i] ** labour_saving)
        employment[i] = employment[i] + employment_speed * (needed - employment[i])

    share = subsidy_share if offering else 0.0
    boost = 1.0 + subsidy_hazard_boost * share
    reach = (p + q) * boost / 12.0
    near = np.empty(n_start, dtype=np.int64)
    draw = np.empty(n_start)
    count = 0
    for i in range(n_start):
        if not alive[i] or adoption[i] != NOT_ADOPTED:
            continue
        bound = reach * propensity[i]
        if 1.0 - adoption_u[i] >= bound + LOG_MARGIN:
            continue  # its draw is above the bound
        e = -math.log(adoption_u[i])
        if e < bound:
            near[count] = i
            draw[count] = e
            count += 1
    if count == 0:
        return 0.0, 0
    sectors = market.shape[1]
    sector_share = np.empty(sectors)
    for s in range(sectors):
        sector_share[s] = sector_adopters[s] / max(sector_candidates[s], 1)
    rate = np.empty(count)
    cost = np.empty(count)
    for c in range(count):
        i = near[c]
        suppliers = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            suppliers += data[j] * adopted[indices[j]]
        on_markets = 0.0
        for s in range(sectors):
            on_markets += market[i, s] * sector_share[s]
        suppliers += on_markets
        own = sector_share[sector[i]]
        peers = (1.0 - network_peer_weight) * own + network_peer_weight * suppliers
        imitation = q * np.minimum(1.0, peers / potential)
        room = np.minimum(np.maximum((potential - own) / (1.0 - own), 0.0), 1.0)
        rate[c] = (p + imitation) * room * propensity[i] / 12.0
        cost[c] = (cost_base + cost_per_employee * employment[i]) * price
    granted = np.zeros(count, dtype=np.bool_)
    given = 0
    if offering:
        keen = np.empty(count, dtype=np.int64)
        k = 0
        for c in range(count):
            if draw[c] < rate[c] * boost and cash[near[c]] >= (1.0 - share) * cost[c]:
                keen[k] = c
                k += 1
        keen = keen[:k]
        order = keen[np.argsort(draw[keen] / rate[keen], kind="mergesort")]
        given = min(k, int(slots_left))
        for c in order[:given]:
            granted[c] = True
    paid_total = 0.0
    for c in range(count):
        i = near[c]
        if granted[c]:
            paid = (1.0 - share) * cost[c]
        elif draw[c] < rate[c] and cash[i] >= cost[c]:
            paid = cost[c]
        else:
            continue
        cash[i] -= paid
        paid_total += paid
        adoption[i] = ADOPTING
        adoption_month[i] = month
        adopted[i] = 1.0
        sector_adopters[sector[i]] += 1
    return paid_total, given


@kernel
def ramp_adoption(
    n,
    adoption,
    adoption_month,
    productivity,
    defect_rate,
    base_defect_rate,
    unit_cost,
    gain_productivity,
    gain_defects,
    gain_cost,
    cost_advantage,
    month,
    ramp_months,
    cost_demand_elasticity,
):
    """Adopters move along their learning ramp (`rules.ramp`): productivity, defect rate, unit
    cost and the demand a lower cost wins; a ramp completed makes the firm an adopter."""
    for i in range(n):
        if adoption[i] != ADOPTING:
            continue
        progress = np.minimum(np.maximum((month - adoption_month[i]) / ramp_months, 0.0), 1.0)
        productivity[i] = 1.0 + gain_productivity[i] * progress
        defect_rate[i] = base_defect_rate[i] * (1.0 - gain_defects[i] * progress)
        unit_cost[i] = 1.0 - gain_cost[i] * progress
        cost_advantage[i] = unit_cost[i] ** -cost_demand_elasticity
        if progress >= 1.0:
            adoption[i] = ADOPTED


# --- 9. record ----------------------------------------------------------------------------------


@kernel
def month_totals(
    n,
    sector,
    alive,
    employment,
    defect_rate,
    cash,
    final,
    flows,
    unit_revenue,
    deliveries,
    diversion_mix,
    export_price,
    price,
    domestic_final_share,
):
    """The month's sums over firms that its indicators are made of
    (`sim.model.indicators.month_indicators`): `TOTALS`, then exports by buyer (won, domestic
    column zero), then production, exports (won) and employment by sector.

    Exports are final sales abroad at their won prices, re-routed sales at the export price (by
    the sector's non-US export mix), and defence deliveries of living primes (`deliveries`, by
    anchor and buyer), which customs records at delivery.
    """
    partners = final.shape[1]
    sectors = unit_revenue.shape[0]
    by_partner = np.zeros(partners)
    production = np.zeros(sectors)
    exports = np.zeros(sectors)
    jobs = np.zeros(sectors)
    diverted = np.zeros(sectors)
    anchors = deliveries.shape[0]
    # Sums in local variables, which stay in registers, rather than in an array.
    abroad_sold = domestic_sold = 0.0
    revenue_total = real_sales = value_added = employed = active = 0.0
    defects = gross = tariff_cost = defence_work = delivered = in_complex = cash_total = 0.0
    for i in range(n):
        s = sector[i]
        fill = flows[FILL, i]
        exported = 0.0
        for j in range(1, partners):
            sold = final[i, j] * fill
            abroad_sold += sold
            won = unit_revenue[s, j] * sold
            by_partner[j] += won
            exported += won
        domestic_sold += final[i, DOMESTIC] * fill
        exported += flows[DIVERTED_SOLD, i] * export_price
        if i < anchors and alive[i]:
            for j in range(partners):
                if j != DOMESTIC:
                    by_partner[j] += deliveries[i, j]
                exported += deliveries[i, j]
                delivered += deliveries[i, j]
        diverted[s] += flows[DIVERTED_SOLD, i]
        revenue = flows[REVENUE, i]
        production[s] += revenue
        exports[s] += exported
        jobs[s] += employment[i]
        revenue_total += revenue
        real_sales += flows[SALES, i]
        value_added += flows[VALUE_ADDED, i]
        employed += employment[i]
        active += 1.0 if alive[i] else 0.0
        defects += flows[GROSS, i] * defect_rate[i]
        gross += flows[GROSS, i]
        tariff_cost += flows[TARIFF_COST, i]
        defence_work += flows[DEFENCE_KRW, i] * fill
        in_complex += flows[NETWORK, i] * fill
        cash_total += cash[i]
    diverted_total = 0.0
    for s in range(sectors):
        diverted_total += diverted[s]
        for j in range(1, partners):
            by_partner[j] += diverted[s] * diversion_mix[s, j] * export_price
    final_demand = (
        abroad_sold + diverted_total + defence_work / price + domestic_final_share * domestic_sold
    )
    # In the order of `TOTALS`.
    totals = np.array(
        [
            revenue_total,
            real_sales,
            value_added,
            employed,
            active,
            defects,
            gross,
            tariff_cost,
            defence_work,
            delivered,
            final_demand,
            in_complex,
            cash_total,
        ]
    )
    return totals, by_partner, production, exports, jobs
