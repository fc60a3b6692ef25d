"""All the randomness of one month, drawn before the month is stepped.

Drawing first and stepping second lets the firm-by-firm reference model in `tests/` replay exactly
the same draws, and keeps the rules pure.

Every draw has an address: it is the output of a counter-based generator (Philox4x32-10,
`sim.model.counter_rng`) at the counter (slot, month, stream, part) under the replicate's key. A
draw therefore depends only on the replicate's seed and its coordinates, not on the order in which
draws are made, on how many firms there are, or on which process makes them:
- a firm's demand innovation and adoption draw in month k depend on (key, k, its slot) only, so two
  scenarios run with the same seed face the same shocks in every month for every firm they share,
  however differently entry and exit went (the paired differences of `compare` are differences of
  policy, not of luck);
- the complex-wide shock, the numbers of entrants and of pipeline orders, and the traits of the
  j-th entrant or order of a month have their own streams, keyed by j.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.counter_rng import exponentials, month_draws


@dataclass(frozen=True, slots=True)
class MonthDraws:
    """The month's draws. A firm's exponential adoption and exit draws are -log of its uniforms
    `adoption_u` and `exit_u`; the model takes the logarithm only where a draw can decide
    something, and `adoption_e` and `exit_e` give them all."""

    common_noise: float  # standard normal innovation of the complex-wide demand shock
    firm_noise: np.ndarray  # (firms created,) unit-variance innovations of firm demand
    adoption_u: np.ndarray  # (firms created,) uniforms of the adoption decision
    exit_u: np.ndarray  # (firms created,) uniforms of exits by demography
    entrant_sector_u: np.ndarray  # (entrants,) uniforms choosing each entrant's sector
    entrant_noise: np.ndarray  # (entrants, 4) normals: demand shock, three adoption gains
    order_value_u: np.ndarray  # (new pipeline orders,) uniforms for each order's value
    order_prime_u: np.ndarray  # (new pipeline orders,) uniforms choosing each order's prime

    @property
    def adoption_e(self) -> np.ndarray:
        """(firms created,) standard exponentials for the adoption decision."""
        return exponentials(self.adoption_u)

    @property
    def exit_e(self) -> np.ndarray:
        """(firms created,) standard exponentials for exits by demography."""
        return exponentials(self.exit_u)


@dataclass(frozen=True, slots=True)
class MonthStream:
    """Where the draws of one month of one replicate live: the replicate's key and the month."""

    key: np.ndarray  # (2,) uint64 holding the two 32-bit words of the Philox key
    month: int  # index of the month in the period


def month_key(seeds: np.random.SeedSequence) -> np.ndarray:
    """The replicate's 64-bit generator key, from its month seed sequence."""
    return seeds.generate_state(2, np.uint32).astype(np.uint64)


def month_generator(key: np.ndarray, k: int) -> MonthStream:
    """The draws of month k of the replicate whose key is `key`."""
    return MonthStream(key, k)


def draw_month(
    rng: MonthStream,
    base_firms: int,
    firms_created: int,
    active_firms: int,
    entry_rate_per_year: float,
    pipeline_orders_expected: float,
) -> MonthDraws:
    """The month's draws: the complex-wide shock, one demand innovation, one adoption and one exit
    uniform for each of the `firms_created` slots, Poisson numbers of entrants (at
    `entry_rate_per_year` of the active firms) and of pipeline orders, and the entrants' and
    orders' own draws.

    `base_firms` (the slots of the base-year population) no longer matters: every firm's draws are
    keyed by its slot, so the base-year firms' draws do not depend on the firms created later.
    """
    del base_firms
    drawn = month_draws(
        rng.key,
        rng.month,
        firms_created,
        entry_rate_per_year / 12.0 * active_firms,
        max(0.0, float(pipeline_orders_expected)),
    )
    common_noise, *rest = drawn
    return MonthDraws(float(common_noise), *rest)
