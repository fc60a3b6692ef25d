"""The Python API (`sim.simulate`, `sim.compare`, `sim.build_model`): the numbers the command line
writes for the same scenario and seed, clear errors for bad input, firms that show their state."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli.main import main
from sim.ensemble.results import annual_csv_bytes, csv_bytes, summary_json_bytes
from sim.inputs.scenario_errors import ScenarioError
from sim.model.changwon_model import FIRM_FIELDS

BASE = """\
name: api-base
period: {start: 2025-01, end: 2025-12}
runs: {replicates: 4, seed: 11}
"""
TARIFF = """\
extends: base.yaml
name: api-tariff
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}
uncertain:
  tariffs.reciprocal.rate: {dist: uniform, low: 0.1, high: 0.3}
"""


def only_folder(pattern: str, root: Path) -> Path:
    (found,) = root.glob(pattern)
    return found


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The scenarios, and what `changwon-sim compare` wrote for them (one worker)."""
    tmp = tmp_path_factory.mktemp("api")
    (tmp / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp / "tariff.yaml").write_text(TARIFF, encoding="utf-8")
    argv = ["compare", str(tmp / "base.yaml"), str(tmp / "tariff.yaml")]
    with redirect_stdout(io.StringIO()):
        code = main([*argv, "--out", str(tmp / "cli"), "--workers", "1", "--no-figures"])
    assert code == 0
    return {"base": tmp / "base.yaml", "tariff": tmp / "tariff.yaml", "cli": tmp / "cli"}


def test_simulate_gives_the_numbers_run_writes_whatever_the_workers(files):
    run = sim.simulate(files["base"], workers=2)
    written = only_folder("api-base/*", files["cli"])
    assert annual_csv_bytes(run.annual) == (written / "annual.csv").read_bytes()
    assert summary_json_bytes(run.summary) == (written / "summary.json").read_bytes()
    assert csv_bytes(run.inputs) == (written / "inputs.csv").read_bytes()
    assert run.monthly["replicate"].nunique() == 4 and list(run.monthly.columns[:2]) == [
        "replicate",
        "month",
    ]
    assert (
        run.manifest["scenario_hash"]
        == json.loads((written / "manifest.json").read_text(encoding="utf-8"))["scenario_hash"]
    )


def test_compare_from_a_mapping_saves_the_folders_compare_writes(files, tmp_path, monkeypatch):
    # The alternative as Python data, `extends` read from the current folder.
    monkeypatch.chdir(files["base"].parent)
    tariff = {
        "extends": "base.yaml",
        "name": "api-tariff",
        "tariffs": [
            {"name": "reciprocal", "partner": "US", "sectors": "all", "rate": 0.25,
             "start": "2025-04"}
        ],
        "uncertain": {"tariffs.reciprocal.rate": {"dist": "uniform", "low": 0.1, "high": 0.3}},
    }  # fmt: skip
    effect = sim.compare("base.yaml", tariff, workers=1)
    folder = effect.save(tmp_path / "py", figures=False)
    written = only_folder("compare-api-base-vs-api-tariff/*", files["cli"])
    for name in ("differences.csv", "levels.csv"):
        assert (folder / name).read_bytes() == (written / name).read_bytes(), name
    tariff_run = only_folder("api-tariff/*", files["cli"])
    assert annual_csv_bytes(effect.alternative.annual) == (tariff_run / "annual.csv").read_bytes()
    # The paired differences, three ways: the table, the monthly rows, the summary.
    row = effect.annual.set_index(["indicator", "year"]).loc[("exports_usd", 2025)]
    yearly = effect.monthly.groupby("replicate")["exports_usd"].sum()
    assert row["mean_diff"] == pytest.approx(yearly.mean(), rel=1e-12)
    assert row["q50_diff"] < 0  # a 25% tariff on US sales lowers exports
    exports = effect.summary["indicators"]["exports_usd"]["years"]["2025"]
    assert exports["diff"]["median"] == float(f"{row['q50_diff']:.10g}")
    assert effect.inputs_that_differ == ["tariffs", "uncertain.tariffs.reciprocal.rate"]
    assert "P(fall)" in effect.headline() and "감소 확률" in effect.headline("ko")


def test_a_mapping_with_a_wrong_field_raises_the_scenario_error(files, monkeypatch):
    monkeypatch.chdir(files["base"].parent)
    bad = {"extends": "base.yaml", "name": "bad", "tarifs": [], "runs": {"replicates": 0}}
    with pytest.raises(ScenarioError) as raised:
        sim.simulate(bad)
    assert set(raised.value.messages) == {
        "runs.replicates: must be >= 1 (got 0)",
        "tarifs: unknown key; did you mean 'tariffs'?",
    }
    with pytest.raises(ValueError, match=r"replicates must be a whole number from 1 to"):
        sim.simulate(files["base"], replicates=0)
    with pytest.raises(ValueError, match="compared scenarios need distinct names"):
        sim.compare(files["base"], files["base"])


def test_firm_agents_list_and_show_their_state(files):
    model = sim.build_model(files["base"])
    model.step()
    firm = model.firm_agents()[5]
    listed = dir(firm)
    assert set(FIRM_FIELDS) <= set(listed) and "sector_name" in listed
    assert firm.employment == model.firms.employment[5]
    state = firm.state()
    assert list(state) == list(FIRM_FIELDS)
    assert np.array_equal(state["base_final"], model.firms.base_final[5])
    with pytest.raises(AttributeError):
        firm.no_such_field  # noqa: B018
