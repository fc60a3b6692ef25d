"""Exit and entry as compiled kernels: what happens to the demand, customers and rows of firms
that leave, and the rows of firms that enter.

Business demography moves demand between firms, it does not create it: the SMEs' base demand by
sector and buyer (`sme_demand`) stays what it was. A leaving firm's buyers turn to the SMEs of
its sector that stay, and its customers in the complex buy on its sector's market instead; an
entrant wins its demand from the SMEs of its sector. Each kernel is the composition of the pure
rules it replaces (`sim.model.rules.churn_factor`, `rescale_sector_demand`,
`sector_partner_total`, `sim.model.network.redirect_to_markets`,
`sim.model.population.adoption_gains`, `rules.adoption_propensity`), in the same order; sums over
firms are made firm by firm. Kernels of this module follow `sim.model.kernels`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.model.kernels import kernel

NOT_ADOPTED = 0  # sim.model.firms
US = 1  # partner column (sim.inputs.names.PARTNERS)


class EntrantConstants(NamedTuple):
    """What `place_entrants` needs besides the entrant template (see `entrant_constants`)."""

    size: float  # employment relative to the template's median
    defect_rate: float
    operating_rate: float
    in_complex_input_share: float
    input_share: float
    cash_months: float
    spread: float  # of the adoption gains (`population.adoption_gains`)
    small_firm_premium: float
    productivity_gain: float
    defect_reduction: float
    unit_cost_reduction: float
    shock_sd: float  # stationary sd of a firm's demand shock
    reference_employment: float  # of the adoption propensity
    size_elasticity: float
    export_boost: float
    propensity_scale: float


def entrant_constants(
    params, shock_sd: float, reference_employment: float, propensity_scale: float
) -> EntrantConstants:
    """The parameters of entry, the stationary sd of the demand shock and the adoption
    propensity's reference employment and scale."""
    return EntrantConstants(
        params.entrant_size,
        params.defect_rate_base,
        params.operating_rate,
        params.in_complex_input_share,
        params.input_share,
        params.cash_months,
        params.ai_effect_spread,
        params.ai_small_firm_premium,
        params.ai_productivity_gain,
        params.ai_defect_reduction,
        params.ai_unit_cost_reduction,
        shock_sd,
        reference_employment,
        params.adoption_size_elasticity,
        params.adoption_export_boost,
        propensity_scale,
    )


@kernel
def customers_index(indptr, indices, slots):
    """For each supplier, the positions in the buyer-major share arrays of the links that name
    it, in increasing buyer order: (pointer by supplier (slots + 1,), positions)."""
    count = np.zeros(slots + 1, dtype=np.int64)
    for j in range(len(indices)):
        count[indices[j] + 1] += 1
    for s in range(slots):
        count[s + 1] += count[s]
    fill = count[:-1].copy()
    links = np.empty(len(indices), dtype=np.int64)
    for j in range(len(indices)):  # positions increase with the buyer
        links[fill[indices[j]]] = j
        fill[indices[j]] += 1
    return count, links


@kernel
def churn_factor(pool, change):
    """`rules.churn_factor`: (sectors x partners) factor moving demand `change` into (positive) or
    out of (negative) a pool of firms whose demand is `pool`."""
    factor = np.ones(pool.shape)
    for s in range(pool.shape[0]):
        for j in range(pool.shape[1]):
            if pool[s, j] > 0:
                factor[s, j] = np.maximum(0.0, 1.0 + change[s, j] / pool[s, j])
    return factor


@kernel
def rescale_members(base_final, base_sales, sector, members, factor):
    """`rules.rescale_sector_demand`, in place: members' base demand times their sector's
    `factor`, base sales in proportion."""
    for i in range(len(members)):
        if not members[i]:
            continue
        before = 0.0
        after = 0.0
        for j in range(base_final.shape[1]):
            before += base_final[i, j]
            base_final[i, j] = base_final[i, j] * factor[sector[i], j]
            after += base_final[i, j]
        if before > 0:
            base_sales[i] = base_sales[i] * (after / before)


@kernel
def close_firms(
    leaving,
    sector,
    alive,
    sme_alive,
    may_exit,
    adopted,
    sector_adopters,
    sector_candidates,
    base_final,
    base_sales,
    cash,
    employment,
    capacity,
    fixed_cost,
    orders,
    diverted,
    sme_demand,
    customer_ptr,
    customer_links,
    buyer,
    data,
    market,
):
    """The firms in `leaving` (slots, increasing) close; returns the cash they take out.

    Their adoption leaves the sector counts; what their buyers bought from them goes to the SMEs
    of their sector that stay (in proportion to what each had, buyer by buyer); their rows are
    emptied; their customers' named purchases from them go to the customers' market of their
    sector (`redirect_kernel`, visiting only their own links: the same additions, in the same
    order for each customer and sector).
    """
    sectors, partners = sme_demand.shape
    exit_cash = 0.0
    moved = np.zeros((sectors, partners))
    for i in leaving:
        exit_cash += cash[i]
        s = sector[i]
        if adopted[i] > 0:
            sector_adopters[s] -= 1
        sector_candidates[s] -= 1  # anchors, the ineligible firms, never leave
        adopted[i] = 0.0
        for j in range(partners):
            moved[s, j] += base_final[i, j]
    stay = churn_factor(sme_demand - moved, moved)
    for i in leaving:
        alive[i] = False
        sme_alive[i] = False
        may_exit[i] = False
    rescale_members(base_final, base_sales, sector, sme_alive, stay)
    for i in leaving:
        cash[i] = 0.0
        employment[i] = 0.0
        capacity[i] = 0.0
        fixed_cost[i] = 0.0
        orders[i] = 0.0
        diverted[i] = 0.0
        s = sector[i]
        for k in range(customer_ptr[i], customer_ptr[i + 1]):
            j = customer_links[k]
            if data[j] > 0.0:
                market[buyer[j], s] += data[j]
                data[j] = 0.0
    return exit_cash


@kernel
def place_entrants(
    first,
    sector_u,
    noise,
    template_sector_share,
    template_employment,
    template_labour_productivity,
    template_partner_mix,
    template_wage,
    template_fixed_cost_share,
    template_market_mix,
    template_export_intensity,
    entrant_constants,
    price,
    sector,
    anchor,
    alive,
    base_final,
    base_sales,
    capacity,
    productivity,
    defect_rate,
    base_defect_rate,
    unit_cost,
    firm_shock,
    diverted,
    orders,
    employment,
    labour_productivity,
    wage,
    fixed_cost,
    cash,
    distress_months,
    adoption,
    gain_productivity,
    gain_defects,
    gain_cost,
    export_intensity,
    may_exit,
    sme_alive,
    us_exporter,
    propensity,
    cost_advantage,
    market,
    sector_candidates,
    sme_demand,
):
    """Initialise the rows of the entrants in slots first.. (one per uniform of `sector_u`) from
    the entrant template (`sim.model.population.EntrantTemplate`, `template_*`), and take their
    demand from the SMEs already there; returns the cash they bring into the complex.

    `entrant_constants`: an `EntrantConstants`. `noise` rows: the demand shock's normal and the
    three adoption gains' normals (`adoption_gains`).
    """
    k = entrant_constants
    entrant_size, defect_rate_base, operating_rate = k.size, k.defect_rate, k.operating_rate
    in_complex_input_share, input_share = k.in_complex_input_share, k.input_share
    cash_months, spread, small_firm_premium = k.cash_months, k.spread, k.small_firm_premium
    productivity_gain, defect_reduction = k.productivity_gain, k.defect_reduction
    unit_cost_reduction, shock_sd = k.unit_cost_reduction, k.shock_sd
    reference_employment, size_elasticity = k.reference_employment, k.size_elasticity
    export_boost, propensity_scale = k.export_boost, k.propensity_scale
    sectors, partners = sme_demand.shape
    cut = np.cumsum(template_sector_share)
    cut = cut / cut[-1]
    sigma = math.sqrt(math.log1p(spread**2))
    won = np.zeros((sectors, partners))
    entrant_cash = 0.0
    for e in range(len(sector_u)):
        i = first + e
        s = 0
        while s < sectors and cut[s] <= sector_u[e]:
            s += 1
        s = min(s, sectors - 1)
        size = entrant_size * template_employment
        gross = size * template_labour_productivity[s]
        sales = gross * (1.0 - defect_rate_base)
        small = 1.0 + small_firm_premium if size < 10 else 1.0
        draws = np.empty(3)
        for g in range(3):
            draws[g] = math.exp(sigma * noise[e, g + 1] - 0.5 * sigma**2)
        sector[i] = s
        anchor[i] = -1
        alive[i] = True
        for j in range(partners):
            base_final[i, j] = sales * template_partner_mix[s, j]
            won[s, j] += base_final[i, j]
        base_sales[i] = sales
        capacity[i] = gross / operating_rate
        productivity[i] = 1.0
        defect_rate[i] = defect_rate_base
        base_defect_rate[i] = defect_rate_base
        unit_cost[i] = 1.0
        firm_shock[i] = shock_sd * noise[e, 0]
        diverted[i] = 0.0
        orders[i] = in_complex_input_share * input_share * gross
        employment[i] = size
        labour_productivity[i] = template_labour_productivity[s]
        wage[i] = template_wage[s]
        fixed_cost[i] = template_fixed_cost_share[s] * sales
        cash[i] = cash_months * sales * price
        distress_months[i] = 0
        adoption[i] = NOT_ADOPTED
        gain_productivity[i] = productivity_gain * small * draws[0]
        gain_defects[i] = np.minimum(0.95, defect_reduction * draws[1])
        gain_cost[i] = np.minimum(0.5, unit_cost_reduction * draws[2])
        export_intensity[i] = template_export_intensity[s]
        may_exit[i] = True
        sector_candidates[s] += 1
        relative = (size / reference_employment) ** size_elasticity
        propensity[i] = (
            propensity_scale * relative * (1.0 + export_boost * template_export_intensity[s])
        )
        cost_advantage[i] = 1.0
        us_exporter[i] = template_partner_mix[s, US] > 0
        for k in range(sectors):
            market[i, k] = template_market_mix[k]
        entrant_cash += cash[i]
    rescale_members(base_final, base_sales, sector, sme_alive, churn_factor(sme_demand, -won))
    for e in range(len(sector_u)):
        sme_alive[first + e] = True
    return entrant_cash
