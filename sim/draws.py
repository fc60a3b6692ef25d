"""All the randomness of one month, drawn before the month is stepped.

Drawing first and stepping second lets the firm-by-firm reference model in `tests/` replay exactly
the same draws, and keeps the rules pure. Sizes depend only on counts both models share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.names import PARTNERS


@dataclass(frozen=True, slots=True)
class MonthDraws:
    partner_noise: np.ndarray  # (partners,) standard normal innovations of partner demand
    firm_noise: np.ndarray  # (firms created,) standard normal innovations of firm demand
    adoption_e: np.ndarray  # (firms created,) standard exponentials for the adoption decision
    entrant_sector_u: np.ndarray  # (entrants,) uniforms choosing each entrant's sector
    entrant_noise: np.ndarray  # (entrants, 4) normals: demand shock, three adoption gains
    order_value_u: np.ndarray  # (new pipeline orders,) uniforms for each order's value
    order_prime_u: np.ndarray  # (new pipeline orders,) uniforms choosing each order's prime


def draw_month(
    rng: np.random.Generator,
    firms_created: int,
    active_firms: int,
    entry_rate_per_year: float,
    pipeline_orders_expected: float,
) -> MonthDraws:
    """Draw the month's randomness in a fixed order."""
    partner_noise = rng.standard_normal(len(PARTNERS))
    firm_noise = rng.standard_normal(firms_created)
    adoption_e = rng.standard_exponential(firms_created)
    entrants = rng.poisson(entry_rate_per_year / 12.0 * active_firms)
    entrant_sector_u = rng.random(entrants)
    entrant_noise = rng.standard_normal((entrants, 4))
    orders = rng.poisson(pipeline_orders_expected) if pipeline_orders_expected > 0 else 0
    return MonthDraws(
        partner_noise=partner_noise,
        firm_noise=firm_noise,
        adoption_e=adoption_e,
        entrant_sector_u=entrant_sector_u,
        entrant_noise=entrant_noise,
        order_value_u=rng.random(orders),
        order_prime_u=rng.random(orders),
    )
