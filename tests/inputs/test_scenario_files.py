"""Every scenario shipped in `scenarios/` loads; the tariff files add up to the 2025 measures."""

from __future__ import annotations

import pytest

from sim.inputs.calendar import parse_month
from sim.inputs.names import SECTORS
from sim.inputs.paths import SCENARIOS_DIR
from sim.inputs.scenario import Scenario, apply_values
from sim.inputs.scenario_files import load_scenario, resolved_yaml

FILES = sorted(SCENARIOS_DIR.glob("*.yaml"))
EXPECTED = {
    "baseline.yaml",
    "us_tariff_15.yaml",
    "us_tariff_25.yaml",
    "ai_factory.yaml",
    "defence_exports.yaml",
    "combined.yaml",
}


def us_rate(scenario: Scenario, sector: str, month: str) -> float:
    """Total US tariff on a sector in a month: overlapping measures add up."""
    number = parse_month(month)
    return sum(
        tariff.rate
        for tariff in scenario.tariffs
        if tariff.covers("US", sector) and tariff.in_force(number)
    )


def test_the_six_scenarios_are_there():
    assert EXPECTED <= {path.name for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_scenario_file_loads(path):
    scenario = load_scenario(path)
    assert scenario.name
    assert scenario.title and scenario.description
    assert scenario.uncertain  # every shipped scenario states its uncertain inputs
    # the resolved form is a complete, standalone description of the same scenario
    assert load_scenario(path) == scenario
    assert "extends" not in resolved_yaml(scenario)
    # every uncertain input can take its extreme draws
    for u in (0.0, 1.0):
        apply_values(scenario, {key: dist.ppf(u) for key, dist in scenario.uncertain.items()})


def test_names_are_unique_and_seeds_shared():
    scenarios = [load_scenario(path) for path in FILES]
    assert len({scenario.name for scenario in scenarios}) == len(scenarios)
    # one seed everywhere, so that `compare` pairs replicates
    assert len({scenario.runs.seed for scenario in scenarios}) == 1


def test_baseline_has_no_new_policy_and_draws_its_drivers():
    baseline = load_scenario(SCENARIOS_DIR / "baseline.yaml")
    assert baseline.tariffs == () and baseline.ai_factory is None
    assert baseline.defence_exports.contracts == ()  # only orders at the recent rate
    assert baseline.defence_exports.pipeline.orders_per_year > 0
    macro = baseline.macro
    assert macro.krw_per_usd is None and macro.producer_price_growth is None
    assert macro.demand_growth == {}  # every driver drawn from the driver model


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        ("2025-02", {"machinery": 0, "electrical_electronics": 0, "other": 0, "steel": 0,
                     "transport_equipment": 0}),
        ("2025-03", {"machinery": 0, "steel": 0.25, "transport_equipment": 0}),
        ("2025-04", {"machinery": 0.10, "other": 0.10, "steel": 0.25, "transport_equipment": 0.10}),
        ("2025-05", {"machinery": 0.10, "steel": 0.25, "transport_equipment": 0.25}),
        ("2025-06", {"machinery": 0.10, "steel": 0.50, "transport_equipment": 0.25}),
        ("2025-08", {"machinery": 0.25, "electrical_electronics": 0.20, "other": 0.15,
                     "steel": 0.50, "transport_equipment": 0.25}),
        ("2025-11", {"machinery": 0.25, "other": 0.15, "steel": 0.50, "transport_equipment": 0.15}),
        ("2030-12", {"machinery": 0.25, "other": 0.15, "steel": 0.50, "transport_equipment": 0.15}),
    ],
)  # fmt: skip
def test_us_tariff_15_adds_up_to_the_measures_of_2025(month, expected):
    scenario = load_scenario(SCENARIOS_DIR / "us_tariff_15.yaml")
    for sector, rate in expected.items():
        assert us_rate(scenario, sector, month) == pytest.approx(rate), (sector, month)


def test_us_tariff_25_keeps_the_no_deal_rates():
    scenario = load_scenario(SCENARIOS_DIR / "us_tariff_25.yaml")
    reciprocal = next(tariff for tariff in scenario.tariffs if tariff.name == "reciprocal")
    assert reciprocal.rate == 0.25 and reciprocal.start == "2025-08"
    for month in ("2025-11", "2030-12"):
        assert us_rate(scenario, "transport_equipment", month) == pytest.approx(0.25)
        assert us_rate(scenario, "other", month) == pytest.approx(0.25)
        assert us_rate(scenario, "steel", month) == pytest.approx(0.50)
    assert all(us_rate(scenario, sector, "2025-02") == 0 for sector in SECTORS)


def test_combined_has_all_three_measures():
    combined = load_scenario(SCENARIOS_DIR / "combined.yaml")
    tariff = load_scenario(SCENARIOS_DIR / "us_tariff_15.yaml")
    ai = load_scenario(SCENARIOS_DIR / "ai_factory.yaml")
    defence = load_scenario(SCENARIOS_DIR / "defence_exports.yaml")
    assert combined.tariffs == tariff.tariffs
    assert combined.ai_factory == ai.ai_factory
    assert combined.defence_exports == defence.defence_exports
    assert set(combined.uncertain) == set(tariff.uncertain) | set(ai.uncertain) | set(
        defence.uncertain
    )


def test_defence_contracts_of_2025():
    defence = load_scenario(SCENARIOS_DIR / "defence_exports.yaml").defence_exports
    contracts = {contract.name: contract for contract in defence.contracts}
    assert contracts["K9 Vietnam"].value_usd == 2.5e8
    assert contracts["K9 India 2"].value_krw == 3.9e11
    assert contracts["Chunmoo Poland"].value_krw == 5.6e12
    assert contracts["K2 Poland 2"].prime == "hyundai_rotem"
    assert all(contract.signed.startswith("2025-") for contract in defence.contracts)
    assert defence.pipeline.orders_per_year == 2.0


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_scenario_file_runs(path):
    """A replicate of the full population over the whole period, its uncertain inputs drawn."""
    import numpy as np

    from sim.ensemble.replicate import run_replicate
    from sim.model.indicators import COLUMN

    scenario = load_scenario(path)
    result = run_replicate(scenario, scenario.runs.seed, 0)
    months = scenario.period.end_month - scenario.period.start_month + 1
    assert result.indicators.shape[0] == months
    assert np.isfinite(result.indicators).all()
    assert (result.indicators[:, COLUMN["production_krw"]] > 0).all()


def test_calibration_files_read_as_pyyamls_python_safe_loader_reads_them():
    """`read_data_file` parses with libyaml where it can; the data must be what PyYAML's own
    safe loader gives, number for number, in every calibration file."""
    import yaml

    from sim.inputs.paths import CALIBRATION_DIR
    from sim.inputs.safe_yaml import read_data_file

    files = sorted(CALIBRATION_DIR.glob("*.yaml"))
    assert len(files) >= 9
    for path in files:
        assert read_data_file(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path.name
