"""Population synthesis at the edges of the parameter ranges: every corner of the prior box of
the structural parameters gives a population that reproduces the 2024 totals (some used to raise
"exports exceed what the firms' final sales allow" or "supplier network sends a firm more orders
than its sales", so a run of many replicates could fail with exit 1)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.inputs.names import population_spec
from sim.inputs.parameters import central_parameters, load_registry
from sim.model.population import EXPORT_CAP, capped_allocation, split_exports, synthesise

ANCHORS = [f"anchor_share_{a['id']}" for a in population_spec()["anchors"]]
# The parameters that decide whether exports and in-complex orders fit in the firms' sales.
CORNER_PARAMETERS = (
    "anchor_share_of_exports",
    "input_share",
    "in_complex_input_share",
    "defect_rate_base",
    "suppliers_per_firm",
    "size_productivity_elasticity",
)


def corners():
    registry = load_registry()
    for anchors_high, *ends in itertools.product([False, True], repeat=1 + len(CORNER_PARAMETERS)):
        values = {
            name: registry[name].high if anchors_high else registry[name].low for name in ANCHORS
        }
        for name, high in zip(CORNER_PARAMETERS, ends, strict=True):
            values[name] = registry[name].high if high else registry[name].low
        yield values


@pytest.mark.parametrize("seed", [1, 2])
def test_every_corner_of_the_prior_box_gives_a_population_with_the_2024_totals(seed):
    totals = {k: float(v["value"]) for k, v in population_spec()["totals"].items() if "value" in v}
    monthly_exports = totals["exports_usd"] * totals["krw_per_usd"] / 12
    for values in corners():
        params = central_parameters().replace(**values)
        population = synthesise(params, np.random.default_rng(seed))
        firms = population.firms
        exports = firms.base_final[:, 1:].sum()
        assert exports == pytest.approx(monthly_exports, rel=1e-9), values
        assert firms.base_sales.sum() == pytest.approx(totals["production_krw"] / 12, rel=1e-9)
        assert (firms.base_final >= 0).all(), values


def test_anchors_that_cannot_carry_their_share_of_exports_pass_the_rest_to_the_smes():
    assert split_exports(8.0, 2.0, anchor_room=6.0, sme_room=10.0) == (6.0, 4.0)
    assert split_exports(2.0, 8.0, anchor_room=10.0, sme_room=6.0) == (4.0, 6.0)
    assert split_exports(5.0, 5.0, anchor_room=6.0, sme_room=6.0) == (5.0, 5.0)  # unchanged
    # Deliveries of the order book above the anchors' share (a target below zero) made
    # negative exports; the SMEs' exports now make room for them.
    assert split_exports(-1.0, 5.0, anchor_room=6.0, sme_room=6.0) == (0.0, 4.0)


def test_an_allocation_that_fills_every_cap_exactly_has_no_nan():
    cap = np.array([1.0, 2.0, 3.0])
    out = capped_allocation(np.array([3.0, 2.0, 1.0]), cap, EXPORT_CAP * cap.sum())
    assert np.isfinite(out).all()
    assert out == pytest.approx(EXPORT_CAP * cap)
