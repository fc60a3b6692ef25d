"""The firms' monthly rules as pure functions over arrays: the model's specification.

Each function computes one rule of the month over all firms at once. The step itself runs them
fused, firm by firm, in the compiled kernels of `sim.model.month_kernels` and
`sim.model.demography`, whose docstrings name the rules each composes; the tests check every
kernel against these functions. Real quantities are volumes at 2024 prices; `price` turns them
into nominal KRW.
"""

from __future__ import annotations

import math

import numpy as np

# --- trade response to tariffs ----------------------------------------------------------------


def impact_elasticity(one_year: float, long_run: float, years_to_long_run: float) -> float:
    """Elasticity on impact such that the path eps(a) = long - (long - eps0) exp(-a / T) passes
    through `one_year` at a = 1 and is 95% of the way to `long_run` after `years_to_long_run`.
    Clipped at zero: a tariff never raises demand.
    """
    adjust_years = years_to_long_run / math.log(20.0)
    return max(0.0, long_run - (long_run - one_year) * math.exp(1.0 / adjust_years))


def tariff_wedge(rate: np.ndarray) -> np.ndarray:
    """Log of one plus the tariff: the trade elasticities apply to (1 + tau) itself. They are
    reduced-form responses of trade values to the tariff and already hold incomplete
    pass-through, so discounting the tariff by pass-through first would count it twice."""
    return np.log1p(rate)


def perceived_wedge(previous: np.ndarray, wedge: np.ndarray, speed: float) -> np.ndarray:
    """The part of the tariff buyers have adjusted to, moving toward the current wedge.

    With speed = 1 - exp(-1 / (12 T)), a wedge in place for a years is perceived as
    wedge * (1 - exp(-a / T)), which makes the effective elasticity eps(a) of `impact_elasticity`.
    """
    return previous + speed * (wedge - previous)


def tariff_value_factor(
    wedge: np.ndarray, perceived: np.ndarray, impact: float, long_run: float
) -> np.ndarray:
    """Trade value at the border with the tariff over without: (1 + tau)^(-eps(t))."""
    return np.exp(-impact * wedge - (long_run - impact) * perceived)


def split_tariff_response(
    value: np.ndarray, wedge: np.ndarray, passthrough: float
) -> tuple[np.ndarray, np.ndarray]:
    """(volume, exporter's price) whose product is the value response `value`.

    The exporter absorbs the part of the tariff it does not pass on by cutting its dollar price
    to (1 + tau)^-(1 - passthrough), paid out of its margins; the rest of the value response is
    volume. The price cut is never deeper than the whole response, so volume never rises.
    """
    price = np.maximum(np.exp(-(1.0 - passthrough) * wedge), value)
    return value / price, price


# --- demand -----------------------------------------------------------------------------------


def sector_partner_factor(
    demand_index: np.ndarray, export_volume: float, tariff_volume: np.ndarray
) -> np.ndarray:
    """Demand multiplier by sector (rows) and partner (columns) this month: each buyer's demand,
    the export price response for the export partners, the tariffs' volume response."""
    price_response = np.full(len(demand_index), export_volume)
    price_response[0] = 1.0  # domestic buyers pay producer prices
    return (demand_index * price_response)[None, :] * tariff_volume.T


def unit_revenue(price: float, export_price: float, tariff_price: np.ndarray) -> np.ndarray:
    """Won received per real unit sold, by sector (rows) and partner (columns): producer prices
    at home, the export price abroad, less the price cuts that absorb tariffs."""
    by_partner = np.full(tariff_price.shape[0], export_price)
    by_partner[0] = price
    return by_partner[None, :] * tariff_price.T


def firm_demand_factor(
    firm_shock: np.ndarray, shock_variance: float, cost_advantage: np.ndarray
) -> np.ndarray:
    """Mean-one firm-specific demand shock times the firm's cost advantage, which is its unit
    cost to the power of minus the cost elasticity of demand.
    """
    return np.exp(firm_shock - 0.5 * shock_variance) * cost_advantage


def final_demand(
    base_final: np.ndarray, factor: np.ndarray, sector: np.ndarray, firm_factor: np.ndarray
) -> np.ndarray:
    """Final demand by firm and partner: base x partner and tariff factor x firm factor."""
    demand = np.take(factor, sector, axis=0)  # much faster than factor[sector] for 2-d rows
    demand *= base_final
    demand *= firm_factor[:, None]
    return demand


def sales_value(final: np.ndarray, unit_revenue: np.ndarray, sector: np.ndarray) -> np.ndarray:
    """Won value of each firm's final demand: real demand by partner x won per unit."""
    # A product with ones: numpy's sum over a short last axis costs far more.
    return (np.take(unit_revenue, sector, axis=0) * final) @ np.ones(final.shape[1])


def lost_to_tariff(us_demand: np.ndarray, us_tariff_factor: np.ndarray) -> np.ndarray:
    """US sales lost to the tariff: demand without the tariff minus demand with it."""
    return us_demand * (1.0 / us_tariff_factor - 1.0)


def divert(diverted: np.ndarray, lost: np.ndarray, share: float, speed: float) -> np.ndarray:
    """Re-routed sales move toward `share` of what the tariff costs in the US."""
    return diverted + speed * (share * lost - diverted)


def shock_step(shock: np.ndarray, persistence: float, sd: float, noise: np.ndarray) -> np.ndarray:
    """AR(1) log shock."""
    return persistence * shock + sd * noise


# --- production -------------------------------------------------------------------------------


def produce(
    demand: np.ndarray,
    defect_rate: np.ndarray,
    capacity: np.ndarray,
    productivity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gross output, sales and fill rate. Firms make what demand needs, up to capacity x
    productivity; defects scrap part of gross output.
    """
    needed = demand / (1.0 - defect_rate)
    gross = np.minimum(needed, capacity * productivity)
    sales = gross * (1.0 - defect_rate)
    fill = np.divide(sales, demand, out=np.ones_like(sales), where=demand > 0)
    return gross, sales, fill


def inputs_needed(gross: np.ndarray, input_share: float, unit_cost: np.ndarray) -> np.ndarray:
    """Intermediate inputs, real."""
    return input_share * unit_cost * gross


def purchases(needed: np.ndarray, delivered_in_complex: np.ndarray) -> np.ndarray:
    """Inputs paid this month: in-complex deliveries (ordered last month) plus what is still
    missing bought outside. Deliveries beyond this month's needs are paid all the same.
    """
    return delivered_in_complex + np.maximum(0.0, needed - delivered_in_complex)


def labour_needed(
    gross: np.ndarray,
    labour_productivity: np.ndarray,
    productivity: np.ndarray,
    labour_saving: float,
) -> np.ndarray:
    """Workers the month's output needs. An adopter's productivity gain raises what its lines
    make; only the share `labour_saving` of it saves labour (productivity ** labour_saving)."""
    return gross / (labour_productivity * productivity**labour_saving)


def adjust_toward(level: np.ndarray, target: np.ndarray, speed: float) -> np.ndarray:
    """Partial adjustment (capacity, employment)."""
    return level + speed * (target - level)


def monthly_speed(months: float) -> float:
    """Share of a gap closed each month for a time constant of `months`."""
    return 1.0 - math.exp(-1.0 / months)


# --- tariffs and finance ----------------------------------------------------------------------


def absorbed_tariff(
    sold_by_partner: np.ndarray, export_price: float, tariff_price: np.ndarray, sector: np.ndarray
) -> np.ndarray:
    """Won the exporters gave up in price cuts to absorb tariffs (a memo of what the lower
    export prices already hold, never charged again). `sold_by_partner` is real sales by firm
    and partner; `tariff_price` is partners x sectors. Only partners with a cut are visited."""
    cut = 1.0 - tariff_price
    lost = np.zeros(len(sold_by_partner))
    for partner in np.flatnonzero(cut.any(axis=1)):
        lost += sold_by_partner[:, partner] * cut[partner][sector]
    return lost * export_price


def support_credit(cash: np.ndarray, eligible: np.ndarray, remaining: float) -> np.ndarray:
    """Export-support credit: eligible firms with negative cash draw what they lack, pro rata
    when the line cannot cover all of it.
    """
    need = np.where(eligible, np.maximum(0.0, -cash), 0.0)
    total = need.sum()
    if total <= 0.0 or remaining <= 0.0:
        return np.zeros_like(cash)
    return need * min(1.0, remaining / total)


def leaves_by_demography(exit_e: np.ndarray, rate_per_year: float) -> np.ndarray:
    """Exits for reasons other than distress (owners retire, plants move, firms merge): a
    monthly hazard, decided by comparing each firm's standard exponential draw with it."""
    return exit_e < rate_per_year / 12.0


def rescale_sector_demand(
    base_final: np.ndarray,
    base_sales: np.ndarray,
    sector: np.ndarray,
    members: np.ndarray,
    factor: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Members' base demand multiplied by `factor` (sectors x partners) of their sector; each
    member keeps its share of its sector's demand from each buyer, and its base sales move with
    its base demand."""
    scaled = np.where(members[:, None], base_final * np.take(factor, sector, axis=0), base_final)
    ones = np.ones(base_final.shape[1])
    before, after = base_final @ ones, scaled @ ones
    ratio = np.divide(after, before, out=np.ones_like(after), where=members & (before > 0))
    return scaled, base_sales * ratio


def churn_factor(pool: np.ndarray, change: np.ndarray) -> np.ndarray:
    """(sectors x partners) factor that moves demand `change` into (positive) or out of
    (negative) a pool of firms whose demand is `pool`, so that pool + change is shared in
    proportion to what each firm had. Churn moves demand between firms, it does not create it:
    a leaving firm's buyers turn to the other firms of its sector, and entrants win their demand
    from them."""
    safe = np.where(pool > 0, pool, 1.0)
    return np.where(pool > 0, np.maximum(0.0, 1.0 + change / safe), 1.0)


def sector_partner_total(base_final: np.ndarray, sector: np.ndarray, rows: np.ndarray, sectors):
    """(sectors, partners) sums of the base demand of the firms in `rows` (indices)."""
    total = np.zeros((sectors, base_final.shape[1]))
    np.add.at(total, sector[rows], base_final[rows])
    return total


def distress_count(months: np.ndarray, cash: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Consecutive months with cash below the (negative) distress line."""
    return np.where(cash < -line, months + 1, 0)


# --- AI-factory adoption ----------------------------------------------------------------------


def adoption_rate(
    peer_share: np.ndarray,
    sector_share: np.ndarray,
    propensity: np.ndarray,
    p: float,
    q: float,
    potential: float,
) -> np.ndarray:
    """Monthly adoption rate of a firm not yet adopting (hazard: 1 - exp(-rate)).

    A Bass hazard per year, (p + q x peers / potential) x (potential - F) / (1 - F) with F the
    adoption share of the firm's sector, so that adoption levels off at the market potential;
    scaled by the firm's propensity (size, exporting). A subsidy multiplies the rate.
    """
    imitation = q * np.minimum(1.0, peer_share / potential)
    room = np.clip((potential - sector_share) / (1.0 - sector_share), 0.0, 1.0)
    return (p + imitation) * room * propensity / 12.0


def adoption_propensity(
    employment: np.ndarray,
    reference_employment: float,
    export_intensity: np.ndarray,
    size_elasticity: float,
    export_boost: float,
    scale: float,
) -> np.ndarray:
    """Relative readiness to adopt: larger firms and exporters adopt sooner (Chung 2022).

    `scale` makes the mean propensity of the base-year population one, so p and q keep the
    meaning of the Bass fits.
    """
    size = (employment / reference_employment) ** size_elasticity
    return scale * size * (1.0 + export_boost * export_intensity)


def ramp(month: int, adoption_month: np.ndarray, ramp_months: float) -> np.ndarray:
    """How far each adopter's effects have ramped in, 0 to 1."""
    return np.clip((month - adoption_month) / ramp_months, 0.0, 1.0)


def adoption_cost(
    employment: np.ndarray, base: float, per_employee: float, price: float
) -> np.ndarray:
    """Up-front cost of an adoption, nominal."""
    return (base + per_employee * employment) * price
