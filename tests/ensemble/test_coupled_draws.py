"""Draws coupled by name: an input drawn from a different distribution in two scenarios still
moves with the same uniform, so `compare`'s differences are paired (common random numbers)."""

from __future__ import annotations

import numpy as np

from sim.ensemble.replicate import input_uniform, replicate_inputs
from sim.inputs.paths import SCENARIOS_DIR
from sim.inputs.scenario import differing_inputs
from sim.inputs.scenario_files import load_scenario


def test_a_parameter_uncertain_in_one_scenario_only_still_moves_with_the_other():
    """ai_factory.yaml gives ai_productivity_gain its own distribution; the baseline draws it
    from the prior (or the posterior). Both use the same uniform, so the draws are comonotone."""
    base = load_scenario(SCENARIOS_DIR / "baseline.yaml")
    alt = load_scenario(SCENARIOS_DIR / "ai_factory.yaml")
    assert "uncertain.ai_productivity_gain" in differing_inputs(base, alt)
    pairs = np.array(
        [
            [
                replicate_inputs(base, 7, r)[1].ai_productivity_gain,
                replicate_inputs(alt, 7, r)[1].ai_productivity_gain,
            ]
            for r in range(200)
        ]
    )
    ranks = [np.argsort(np.argsort(column)) for column in pairs.T]
    assert np.corrcoef(*ranks)[0, 1] > 0.95
    # Every other parameter is the same number in both.
    _, p_base = replicate_inputs(base, 7, 3)
    _, p_alt = replicate_inputs(alt, 7, 3)
    assert p_base.replace(ai_productivity_gain=0) == p_alt.replace(ai_productivity_gain=0)


def test_input_uniforms_depend_on_seed_replicate_and_name_only():
    u = input_uniform(7, 3, "entry_rate")
    assert u == input_uniform(7, 3, "entry_rate") and 0.0 < u < 1.0
    assert (
        len(
            {
                u,
                input_uniform(8, 3, "entry_rate"),
                input_uniform(7, 4, "entry_rate"),
                input_uniform(7, 3, "exit_rate"),
            }
        )
        == 4
    )
    draws = np.array([input_uniform(1, r, "x") for r in range(20000)])
    assert abs(draws.mean() - 0.5) < 0.01 and abs(draws.var() - 1 / 12) < 0.003
