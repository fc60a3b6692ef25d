"""All the randomness of one month, drawn before the month is stepped.

Drawing first and stepping second lets the firm-by-firm reference model in `tests/` replay exactly
the same draws, and keeps the rules pure. Each month has its own generator (`month_generator`),
and within a month the draws of fixed size come first: the complex-wide shock, the number of
entrants and of pipeline orders, then one shock, one adoption and one exit draw for each firm of
the base-year population. Only then come draws whose number depends on the past (firms that
entered later, entrants' traits, orders' values). So two scenarios run with the same seed face the
same shocks in every month, for every firm they share, however differently entry and exit went:
the paired differences of `compare` are differences of policy, not of luck.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SQRT_12 = float(np.sqrt(12.0))


@dataclass(frozen=True, slots=True)
class MonthDraws:
    common_noise: float  # standard normal innovation of the complex-wide demand shock
    firm_noise: np.ndarray  # (firms created,) unit-variance innovations of firm demand
    adoption_e: np.ndarray  # (firms created,) standard exponentials for the adoption decision
    exit_e: np.ndarray  # (firms created,) standard exponentials for exits by demography
    entrant_sector_u: np.ndarray  # (entrants,) uniforms choosing each entrant's sector
    entrant_noise: np.ndarray  # (entrants, 4) normals: demand shock, three adoption gains
    order_value_u: np.ndarray  # (new pipeline orders,) uniforms for each order's value
    order_prime_u: np.ndarray  # (new pipeline orders,) uniforms choosing each order's prime


def month_key(seeds: np.random.SeedSequence) -> np.ndarray:
    """The Philox key of a replicate's months, from its month seed sequence."""
    return seeds.generate_state(2, np.uint64)


def month_generator(key: np.ndarray, k: int) -> np.random.Generator:
    """The generator of month k: Philox with the replicate's key, its counter starting at k in
    the highest word, so months draw from disjoint blocks. Cheaper to make than a seeded PCG64.
    """
    return np.random.Generator(np.random.Philox(counter=[0, 0, 0, k], key=key))


def unit_uniform(rng: np.random.Generator, size: int) -> np.ndarray:
    """Uniform innovations with mean 0 and variance 1. A fifth of the cost of normals; summed
    through a persistent shock (AR coefficient about 0.9) they make a nearly normal shock.
    """
    return (rng.random(size) - 0.5) * SQRT_12


def draw_month(
    rng: np.random.Generator,
    base_firms: int,
    firms_created: int,
    active_firms: int,
    entry_rate_per_year: float,
    pipeline_orders_expected: float,
) -> MonthDraws:
    """Draw the month's randomness in a fixed order: fixed sizes first, then the rest."""
    common_noise = float(rng.standard_normal())
    entrants = rng.poisson(entry_rate_per_year / 12.0 * active_firms)
    orders = rng.poisson(pipeline_orders_expected) if pipeline_orders_expected > 0 else 0
    base_noise = unit_uniform(rng, base_firms)
    base_adoption = rng.standard_exponential(base_firms)
    base_exit = rng.standard_exponential(base_firms)
    later = firms_created - base_firms
    return MonthDraws(
        common_noise=common_noise,
        firm_noise=np.concatenate([base_noise, unit_uniform(rng, later)]),
        adoption_e=np.concatenate([base_adoption, rng.standard_exponential(later)]),
        exit_e=np.concatenate([base_exit, rng.standard_exponential(later)]),
        entrant_sector_u=rng.random(entrants),
        entrant_noise=rng.standard_normal((entrants, 4)),
        order_value_u=rng.random(orders),
        order_prime_u=rng.random(orders),
    )
