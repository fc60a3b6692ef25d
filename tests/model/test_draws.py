"""The month's draws: the counter-based generator, its distributions, and where draws live.

Statistical checks use fixed keys, so they are deterministic; their thresholds are those a sound
generator fails with probability below about 1e-6, and a broken one (a bit lost, slots or
streams sharing bits) fails by far.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.model.counter_rng import (
    ENTRANT_COUNT,
    EXIT,
    FIRM,
    firm_uniforms,
    month_draws,
    philox,
    poisson,
    uniform,
    uniform_pair,
)
from sim.model.draws import draw_month, month_generator, month_key

# Random123's known-answer vectors for Philox4x32-10 (its tests/kat_vectors): counter, key, output.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF,) * 4,
        (0xFFFFFFFF,) * 2,
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]
FIRMS = 200_000
Z = 5.3  # two-sided normal quantile of p = 1e-7


def key_of(seed: int) -> np.ndarray:
    return month_key(np.random.SeedSequence(seed))


def draws(seed: int = 1, month: int = 0, firms: int = FIRMS, entrants: float = 0.0):
    return draw_month(month_generator(key_of(seed), month), firms, firms, 12_000, entrants, 0.0)


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_philox_gives_the_published_known_answers(counter, key, expected):
    words = philox(*map(np.uint64, counter), *map(np.uint64, key))
    assert tuple(int(w) for w in words) == expected


def test_firm_noise_is_uniform_with_mean_zero_and_unit_variance():
    noise = draws().firm_noise
    half_width = np.sqrt(3.0)
    assert np.abs(noise).max() < half_width
    assert abs(noise.mean()) < Z / np.sqrt(FIRMS)
    # Variance of a uniform's square is 4/5 of the variance squared: sd of the sample variance.
    assert abs(noise.var() - 1.0) < Z * np.sqrt(0.8 / FIRMS)
    counts = np.bincount(((noise + half_width) / (2 * half_width) * 50).astype(int), minlength=50)
    assert stats.chisquare(counts).pvalue > 1e-6


def test_adoption_draws_are_standard_exponentials():
    e = draws().adoption_e
    assert e.min() > 0.0
    assert abs(e.mean() - 1.0) < Z / np.sqrt(FIRMS)
    assert abs(e.var() - 1.0) < Z * np.sqrt(8.0 / FIRMS)  # var of (e-1)^2 is 8
    assert stats.kstest(e, "expon").pvalue > 1e-6


def test_exit_draws_are_standard_exponentials_apart_from_the_others():
    a = draws()
    e = a.exit_e
    assert e.min() > 0.0 and abs(e.mean() - 1.0) < Z / np.sqrt(FIRMS)
    assert stats.kstest(e, "expon").pvalue > 1e-6
    assert abs(np.corrcoef(e, a.adoption_e)[0, 1]) < Z / np.sqrt(FIRMS)


def test_normals_of_entrants_and_the_common_shock_are_standard_normal():
    entrants = np.concatenate(
        [draws(seed=2, month=k, firms=1, entrants=2.0).entrant_noise for k in range(50)]
    )
    assert entrants.shape[1] == 4 and len(entrants) > 50_000
    for column in entrants.T:
        assert stats.kstest(column, "norm").pvalue > 1e-6
    common = np.array([draws(seed=3, month=k, firms=1).common_noise for k in range(4000)])
    assert stats.kstest(common, "norm").pvalue > 1e-6


def test_no_correlation_between_neighbouring_slots_streams_months_and_keys():
    limit = Z / np.sqrt(FIRMS)
    a = draws(seed=1, month=0)
    pairs = {
        "adjacent slots": (a.firm_noise[:-1], a.firm_noise[1:]),
        "two draws of a firm": (a.firm_noise, a.adoption_e),
        "adjacent months": (a.firm_noise, draws(seed=1, month=1).firm_noise),
        "adjacent seeds": (a.firm_noise, draws(seed=2, month=0).firm_noise),
    }
    for what, (x, y) in pairs.items():
        assert abs(np.corrcoef(x, y)[0, 1]) < limit, what


def test_a_firms_draws_depend_only_on_its_slot_month_and_key():
    """Not on how many firms there are, nor on other draws of the month."""
    key = key_of(7)
    few = draw_month(month_generator(key, 5), 100, 100, 100, 0.0, 0.0)
    many = draw_month(month_generator(key, 5), 100, 300, 3000, 3.0, 4.0)
    np.testing.assert_array_equal(many.firm_noise[:100], few.firm_noise)
    np.testing.assert_array_equal(many.adoption_e[:100], few.adoption_e)
    np.testing.assert_array_equal(many.exit_e[:100], few.exit_e)
    assert many.common_noise == few.common_noise
    assert len(many.entrant_sector_u) > 0
    other_month = draw_month(month_generator(key, 6), 100, 100, 100, 0.0, 0.0)
    assert not np.array_equal(other_month.firm_noise, few.firm_noise)


def test_an_entrants_draws_depend_on_its_number_within_the_month():
    """The first entrants of a month get the same traits whatever the count."""
    key = key_of(8)
    low = draw_month(month_generator(key, 2), 10, 10, 1000, 0.05, 0.0)
    high = draw_month(month_generator(key, 2), 10, 10, 1000, 0.5, 0.0)
    n = len(low.entrant_sector_u)
    assert 0 < n < len(high.entrant_sector_u)
    np.testing.assert_array_equal(high.entrant_sector_u[:n], low.entrant_sector_u)
    np.testing.assert_array_equal(high.entrant_noise[:n], low.entrant_noise)


@pytest.mark.parametrize("mean", [0.3, 4.0, 60.0, 1700.0])
def test_poisson_counts_have_the_mean_and_variance_of_their_law(mean):
    key = key_of(11)
    months = 20_000
    counts = np.array([poisson(mean, key, k, 0, ENTRANT_COUNT) for k in range(months)])
    assert abs(counts.mean() - mean) < Z * np.sqrt(mean / months)
    # The sample variance of a Poisson count has sd about mean * sqrt(2 / n) (plus a small term).
    assert abs(counts.var() - mean) < Z * np.sqrt((2 * mean**2 + mean) / months)


def test_firm_draws_made_together_are_the_draws_at_their_addresses():
    """`firm_uniforms` (vectorised over slots) gives, slot by slot, the uniforms of the blocks at
    (slot, month, FIRM) and (slot, month, EXIT), and their exponentials are -log of them."""
    key, month = key_of(14), 9
    noise, adoption_u, exit_u = firm_uniforms(key, month, 1001)
    for slot in (0, 1, 2, 3, 4, 5, 517, 1000):
        first, second = uniform_pair(key, month, slot, FIRM, 0)
        assert noise[slot] == (first - 0.5) * np.sqrt(12.0)
        assert adoption_u[slot] == second
        assert exit_u[slot] == uniform(key, month, slot, EXIT, 0)
    drawn = draw_month(month_generator(key, month), 1001, 1001, 1000, 0.0, 0.0)
    np.testing.assert_array_equal(drawn.adoption_e, -np.log(adoption_u))
    np.testing.assert_array_equal(drawn.exit_e, -np.log(exit_u))


def test_poisson_of_zero_or_no_mean_is_zero():
    key = key_of(12)
    assert poisson(0.0, key, 0, 0, ENTRANT_COUNT) == 0
    assert poisson(float("nan"), key, 0, 0, ENTRANT_COUNT) == 0


def test_month_draws_have_the_shapes_of_the_month():
    common, noise, adoption, exits, sector_u, entrant_noise, value_u, prime_u = month_draws(
        key_of(13), 0, 37, 40.0, 30.0
    )
    assert np.isfinite(common) and noise.shape == adoption.shape == exits.shape == (37,)
    assert ((adoption > 0) & (adoption < 1)).all() and ((exits > 0) & (exits < 1)).all()
    assert len(sector_u) == len(entrant_noise) > 0 and entrant_noise.shape[1] == 4
    assert len(value_u) == len(prime_u) > 0
    assert ((sector_u > 0) & (sector_u < 1)).all() and ((value_u > 0) & (value_u < 1)).all()
