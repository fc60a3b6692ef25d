"""The page's runs without a browser: paired replicates that are the library's own, inputs that
start over, invalid inputs refused with the scenario's message."""

from __future__ import annotations

import numpy as np
import pytest

from sim.ensemble.replicate import run_replicate
from sim.explore import ensemble
from sim.explore.charts import effect_lines
from sim.explore.ensemble import EnsembleModel, PageSettings
from sim.explore.policy import PolicyInputs, policy_scenario
from sim.inputs.scenario_errors import ScenarioError
from sim.inputs.scenario_files import scenario_from_data
from sim.model.indicators import annual_from_monthly


@pytest.fixture
def model(monkeypatch):
    period = {"start": "2025-01", "end": "2025-12"}
    baseline = scenario_from_data({"name": "page-base", "period": period})
    monkeypatch.setattr(ensemble, "_settings", PageSettings(baseline, replicates=3, seed=9))
    return EnsembleModel(PolicyInputs(tariff_rate=0.3, tariff_start="2025-03"))


def test_the_page_pairs_the_librarys_replicates(model):
    while model.running:
        model.step()
    snapshot = model.snapshot()
    assert snapshot.done == 3 and list(snapshot.years) == [2025]
    policy = policy_scenario(model.baseline, model.inputs)
    result = run_replicate(policy, 9, 2)
    _, annual = annual_from_monthly(result.indicators, result.months)
    np.testing.assert_array_equal(snapshot.policy[2], annual)
    exports = snapshot.percent_effect("exports_usd")[:, 0]
    assert (exports < 0).all()  # a 30% tariff lowers every paired replicate's exports
    assert effect_lines(snapshot)[1].startswith("2025 exports: -")


def test_new_inputs_start_over_and_invalid_ones_are_refused(model):
    model.step()
    assert model.snapshot().done == 2
    model.set_inputs(PolicyInputs(tariff_rate=0.0))
    assert model.snapshot().done == 0 and model.running
    with pytest.raises(ScenarioError, match=r"tariffs\.explore_us_tariff\.rate: must be <= 10"):
        model.set_inputs(PolicyInputs(tariff_rate=11.0))
    assert model.inputs == PolicyInputs(tariff_rate=0.0)  # the current inputs stay


def test_tasks_stepping_together_stop_when_every_replicate_is_taken(monkeypatch):
    """Two tasks of the page step one model (as two renders of it do). Once the last replicates
    are taken, a task must stop, not spin until the other has finished them, and the two must
    not step at once (Mesa's clock is not thread-safe): unserialised, the steps counted 413,916
    here for 3 chunks of work."""
    import threading

    period = {"start": "2025-01", "end": "2025-06"}
    baseline = scenario_from_data({"name": "page-base", "period": period})
    monkeypatch.setattr(ensemble, "_settings", PageSettings(baseline, replicates=6, seed=9))
    model = EnsembleModel(PolicyInputs(tariff_rate=0.3, tariff_start="2025-03"))
    tasks = [
        threading.Thread(target=model.step_while_unclaimed, args=(model.generation,))
        for _ in range(2)
    ]
    for task in tasks:
        task.start()
    for task in tasks:
        task.join(timeout=120)
    assert model.snapshot().done == 6
    chunks = -(-6 // ensemble.CHUNK)
    assert model.steps <= chunks + 2  # at most one step each that found nothing left
