"""The firms' monthly rules as pure functions over arrays.

Each function computes; the model's step applies the results to the state. Real quantities are
volumes at 2024 prices; `price` turns them into nominal KRW.
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


def tariff_wedge(rate: np.ndarray, passthrough: float) -> np.ndarray:
    """Log rise of the buyer's price: log(1 + passthrough * rate)."""
    return np.log1p(passthrough * rate)


def perceived_wedge(previous: np.ndarray, wedge: np.ndarray, speed: float) -> np.ndarray:
    """The part of the price wedge buyers have adjusted to, moving toward the current wedge.

    With speed = 1 - exp(-1 / (12 T)), a wedge in place for a years is perceived as
    wedge * (1 - exp(-a / T)), which makes the effective elasticity eps(a) of `impact_elasticity`.
    """
    return previous + speed * (wedge - previous)


def tariff_demand_factor(
    wedge: np.ndarray, perceived: np.ndarray, impact: float, long_run: float
) -> np.ndarray:
    """Demand with the tariff over demand without: (1 + passthrough tau)^(-eps(t))."""
    return np.exp(-impact * wedge - (long_run - impact) * perceived)


# --- demand -----------------------------------------------------------------------------------


def sector_partner_factor(
    partner_index: np.ndarray, fx_factor: np.ndarray, tariff_factor: np.ndarray
) -> np.ndarray:
    """Demand multiplier by sector (rows) and partner (columns) this month."""
    return (partner_index * fx_factor)[None, :] * tariff_factor.T


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


def adjust_toward(level: np.ndarray, target: np.ndarray, speed: float) -> np.ndarray:
    """Partial adjustment (capacity, employment)."""
    return level + speed * (target - level)


def monthly_speed(months: float) -> float:
    """Share of a gap closed each month for a time constant of `months`."""
    return 1.0 - math.exp(-1.0 / months)


# --- tariffs and finance ----------------------------------------------------------------------


def absorbed_tariff(
    demand_by_partner: np.ndarray,
    sold_value: np.ndarray,
    rate: np.ndarray,
    sector: np.ndarray,
    passthrough: float,
) -> np.ndarray:
    """Tariff paid out of margins: the share not passed on, times the rate, times the sales.

    Sales to a partner are `demand_by_partner` times `sold_value` (fill rate x price, by firm);
    `rate` is partners x sectors. Only partners with a tariff in force are visited.
    """
    cost = np.zeros(len(sold_value))
    for partner in np.flatnonzero(rate.any(axis=1)):
        cost += demand_by_partner[:, partner] * rate[partner][sector]
    return (1.0 - passthrough) * cost * sold_value


def support_credit(cash: np.ndarray, eligible: np.ndarray, remaining: float) -> np.ndarray:
    """Export-support credit: eligible firms with negative cash draw what they lack, pro rata
    when the line cannot cover all of it.
    """
    need = np.where(eligible, np.maximum(0.0, -cash), 0.0)
    total = need.sum()
    if total <= 0.0 or remaining <= 0.0:
        return np.zeros_like(cash)
    return need * min(1.0, remaining / total)


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
