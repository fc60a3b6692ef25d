"""Scenario files: loading, defaults, every class of error with its FILE:LINE, extends, paths.

Error tests assert the exact `FILE:LINE: path.to.key:` prefix, because that prefix is the contract
users rely on to find their mistake.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.inputs import safe_yaml
from sim.inputs.calendar import parse_month
from sim.inputs.scenario import Scenario, apply_values
from sim.inputs.scenario_errors import ScenarioError
from sim.inputs.scenario_fields import (
    DEFAULT_QUANTILES,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
    parameter_names,
    path_value,
)
from sim.inputs.scenario_files import (
    load_scenario,
    resolved_yaml,
    scenario_hash,
    scenario_json_schema,
)

FULL = """\
name: us-tariff-15
title: US reciprocal tariff of 15% from August 2025
description: Free text.
period: {start: 2025-01, end: 2030-12}
runs: {replicates: 500, seed: 20250801}
macro:
  krw_per_usd: 1400
  producer_price_growth: 0.02
  demand_growth: {domestic: 0.015, US: 0.02, EU: 0.01, China: 0.0, rest_of_world: 0.02}
tariffs:
  - name: reciprocal
    partner: US
    sectors: all
    rate: 0.15
    start: 2025-08
    end: 2026-02
  - name: steel
    partner: US
    sectors: [steel]
    rate: 0.5
    start: 2025-06
ai_factory:
  start: 2025-07
  subsidised_firms_per_year: 100
  subsidy_share: 0.5
defence_exports:
  contracts:
    - name: K9 Vietnam
      prime: hanwha_aerospace
      value_usd: 2.5e8
      partner: rest_of_world
      signed: 2025-07
      delivery: {start: 2026-01, months: 24}
  pipeline:
    orders_per_year: 2.0
    value_usd: {dist: lognormal, median: 1.0e9, sigma: 0.8}
    primes: [hanwha_aerospace, hyundai_rotem]
    start: 2026-01
export_support: {start: 2025-09, credit_line_krw: 2.0e11, diversion_boost: 0.5}
parameters:
  elasticity_long_run: 2.0
uncertain:
  elasticity_long_run: {dist: uniform, low: 1.5, high: 2.5}
  tariffs.reciprocal.rate: {dist: uniform, low: 0.10, high: 0.25}
outputs: {quantiles: [0.05, 0.1, 0.5, 0.9, 0.95]}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    """The messages of the ScenarioError that loading `path` must raise."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == "\n".join(caught.value.messages)
    return caught.value.messages


def only_problem(path: Path) -> str:
    messages = problems(path)
    assert len(messages) == 1, messages
    return messages[0]


# --- valid files and defaults ---------------------------------------------------------------------


def test_minimal_file_takes_every_default(tmp_path):
    scenario = load_scenario(write(tmp_path, "s.yaml", "name: minimal\n"))
    assert scenario.name == "minimal"
    assert scenario.title is None and scenario.description is None
    assert (scenario.period.start, scenario.period.end) == ("2025-01", "2030-12")
    assert scenario.start_month == parse_month("2025-01")
    assert scenario.end_month == parse_month("2030-12")
    assert scenario.period.months == 72
    assert (scenario.runs.replicates, scenario.runs.seed) == (500, 20240101)
    # Not pinned: every replicate draws them from the driver model.
    assert scenario.macro.krw_per_usd is None
    assert scenario.macro.producer_price_growth is None
    assert scenario.macro.demand_growth == {}
    assert scenario.tariffs == ()
    assert scenario.ai_factory is None and scenario.export_support is None
    assert scenario.defence_exports.contracts == () and scenario.defence_exports.pipeline is None
    assert scenario.parameters == {} and scenario.uncertain == {}
    assert scenario.outputs.quantiles == DEFAULT_QUANTILES


def test_full_example_of_the_design_loads_typed(tmp_path):
    scenario = load_scenario(write(tmp_path, "s.yaml", FULL))
    reciprocal, steel = scenario.tariffs
    assert reciprocal.sectors == "all" and steel.sectors == ("steel",)
    assert reciprocal.start_month == parse_month("2025-08")
    assert reciprocal.end_month == parse_month("2026-02") and steel.end_month is None
    assert reciprocal.in_force(parse_month("2026-02"))
    assert not reciprocal.in_force(parse_month("2026-03"))
    assert steel.covers("US", "steel") and not steel.covers("US", "machinery")
    assert reciprocal.covers("US", "other") and not reciprocal.covers("EU", "other")
    contract = scenario.defence_exports.contracts[0]
    assert contract.value_usd == 2.5e8 and contract.value_krw is None
    assert contract.delivery.months == 24 and contract.signed_month == parse_month("2025-07")
    pipeline = scenario.defence_exports.pipeline
    assert isinstance(pipeline.value_usd, Lognormal) and pipeline.partner == "rest_of_world"
    assert pipeline.primes == ("hanwha_aerospace", "hyundai_rotem")
    assert scenario.ai_factory.subsidy_share == 0.5
    assert scenario.export_support.diversion_boost == 0.5
    assert isinstance(scenario.uncertain["tariffs.reciprocal.rate"], Uniform)
    assert scenario.outputs.quantiles == (0.05, 0.1, 0.5, 0.9, 0.95)


def test_models_are_frozen(tmp_path):
    scenario = load_scenario(write(tmp_path, "s.yaml", FULL))
    with pytest.raises(ValueError):
        scenario.name = "other"
    with pytest.raises(ValueError):
        scenario.tariffs[0].rate = 0.3


def test_seed_zero_is_valid(tmp_path):
    scenario = load_scenario(write(tmp_path, "s.yaml", "name: s\nruns: {seed: 0}\n"))
    assert scenario.runs.seed == 0


def test_partial_demand_growth_pins_only_what_it_names(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nmacro: {demand_growth: {US: -0.01}}\n")
    growth = load_scenario(path).macro.demand_growth
    assert growth == {"US": -0.01}


def test_an_outlook_with_its_error_pins_a_driver(tmp_path):
    text = (
        "name: s\nmacro:\n  krw_per_usd: {mean: 1420, sd: 90}\n"
        "  demand_growth: {domestic: {mean: 0.019, sd: 0.011}}\n"
    )
    macro = load_scenario(write(tmp_path, "s.yaml", text)).macro
    assert (macro.krw_per_usd.mean, macro.krw_per_usd.sd) == (1420, 90)
    assert macro.demand_growth["domestic"].sd == 0.011
    bad = write(tmp_path, "b.yaml", "name: s\nmacro:\n  producer_price_growth: {mean: 0.02}\n")
    with pytest.raises(ScenarioError, match="sd"):
        load_scenario(bad)


def test_exponent_without_a_dot_is_a_number(tmp_path):
    # YAML 1.1 would read 1e9 as text; the loader reads it as a number, as YAML 1.2 does.
    path = write(tmp_path, "s.yaml", "name: s\nmacro: {krw_per_usd: 14e2}\n")
    assert load_scenario(path).macro.krw_per_usd == 1400.0


def test_quantiles_are_sorted(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\noutputs: {quantiles: [0.9, 0.1, 0.5]}\n")
    assert load_scenario(path).outputs.quantiles == (0.1, 0.5, 0.9)


def test_macro_paths_interpolate_linearly_and_are_flat_outside(tmp_path):
    text = "name: s\nmacro:\n  krw_per_usd: {2027-01: 1350, 2025-01: 1420}\n"
    macro = load_scenario(write(tmp_path, "s.yaml", text)).macro
    assert list(macro.krw_per_usd) == ["2025-01", "2027-01"]  # sorted by month
    assert macro.value_at("krw_per_usd", parse_month("2024-06")) == 1420
    assert macro.value_at("krw_per_usd", parse_month("2025-01")) == 1420
    assert macro.value_at("krw_per_usd", parse_month("2026-01")) == pytest.approx(1385)
    assert macro.value_at("krw_per_usd", parse_month("2030-12")) == 1350
    assert macro.producer_price_growth is None  # drawn: no value of its own
    assert path_value(0.5, 123) == 0.5
    assert path_value({"2025-01": 1.0}, 0) == 1.0
    with pytest.raises(KeyError):
        macro.value_at("demand_growth", 0)


def test_parameter_names_match_the_model():
    from sim.inputs.parameters import PARAMETER_NAMES

    assert set(parameter_names()) == set(PARAMETER_NAMES)


def test_importing_scenario_does_not_import_heavy_modules():
    code = (
        "import sys, sim.inputs.scenario; "
        "names = ('numpy', 'scipy', 'pandas', 'matplotlib', 'mesa'); "
        "heavy = [m for m in names if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- errors: FILE:LINE: path: message (got X) -----------------------------------------------------


def test_wrong_type(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nruns:\n  replicates: many\n")
    assert only_problem(path) == f"{path}:3: runs.replicates: must be a whole number (got many)"


def test_number_written_as_text(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nmacro:\n  krw_per_usd: '1400'\n")
    assert only_problem(path) == (
        f"{path}:3: macro.krw_per_usd: must be a number, not text (remove the quotes) (got 1400)"
    )


def test_unknown_key_suggests_the_nearest(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nruns:\n  replicates: 5\n  sed: 3\n")
    assert only_problem(path) == f"{path}:4: runs.sed: unknown key; did you mean 'seed'?"


def test_unknown_key_without_near_match_lists_the_known_ones(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nperiod:\n  zzz: 1\n")
    assert only_problem(path) == f"{path}:3: period.zzz: unknown key (known keys: start, end)"


def test_unknown_top_level_key_suggests_extends(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nextend: base.yaml\n")
    assert only_problem(path) == f"{path}:2: extend: unknown key; did you mean 'extends'?"


def test_missing_name(tmp_path):
    path = write(tmp_path, "s.yaml", "\n# comment\nruns: {replicates: 5}\n")
    assert only_problem(path) == f"{path}:3: name: required key is missing"


def test_bad_scenario_name(tmp_path):
    path = write(tmp_path, "s.yaml", "name: us tariff\n")
    assert only_problem(path).startswith(f"{path}:1: name: may use only letters, digits, - and _")


def test_bad_month(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nperiod:\n  start: 2025-13\n")
    assert only_problem(path) == (
        f"{path}:3: period.start: must be a month written YYYY-MM, e.g. 2025-08 (got 2025-13)"
    )


def test_month_with_a_day(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nperiod:\n  end: 2030-12-31\n")
    assert only_problem(path) == (
        f"{path}:3: period.end: a month is written YYYY-MM, without the day (got 2030-12-31)"
    )


def test_reversed_period(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nperiod:\n  start: 2025-01\n  end: 2024-12\n")
    assert only_problem(path) == (
        f"{path}:4: period.end: must not be before start (2025-01) (got 2024-12)"
    )


def test_tariff_ending_before_it_starts(tmp_path):
    text = """\
    name: s
    tariffs:
      - name: reciprocal
        partner: US
        rate: 0.15
        start: 2025-08
        end: 2025-07
    """
    path = write(tmp_path, "s.yaml", text)
    assert only_problem(path) == (
        f"{path}:7: tariffs.reciprocal.end: must not be before start (2025-08) (got 2025-07)"
    )


def test_unknown_sector_partner_and_anchor(tmp_path):
    text = """\
    name: s
    tariffs:
      - name: t
        partner: Japan
        sectors: [machinery, steal]
        rate: 0.1
        start: 2025-08
    defence_exports:
      contracts:
        - name: c
          prime: doosan_enerbility
          value_usd: 1.0e8
          partner: EU
          signed: 2025-01
          delivery: {start: 2025-06, months: 12}
    """
    path = write(tmp_path, "s.yaml", text)
    assert problems(path) == [
        f"{path}:4: tariffs.t.partner: must be one of: US, EU, China, rest_of_world (got Japan)",
        f"{path}:5: tariffs.t.sectors[1]: unknown sector; sectors are machinery, "
        "electrical_electronics, transport_equipment, steel, other; did you mean 'steel'? "
        "(got steal)",
        f"{path}:11: defence_exports.contracts.c.prime: must be one of: hanwha_aerospace, "
        "hyundai_rotem, hyundai_wia, snt_dynamics (got doosan_enerbility)",
    ]


def test_one_sector_must_be_a_list(tmp_path):
    text = (
        "name: s\ntariffs:\n  - {name: t, partner: US, sectors: steel, rate: 0.1, start: 2025-08}\n"
    )
    path = write(tmp_path, "s.yaml", text)
    assert "write [steel] for one sector (got steel)" in only_problem(path)


def test_unknown_partner_in_demand_growth(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nmacro:\n  demand_growth:\n    USA: 0.01\n")
    assert only_problem(path) == (
        f"{path}:4: macro.demand_growth.USA: unknown partner; partners are domestic, US, EU, "
        "China, rest_of_world; did you mean 'US'?"
    )


@pytest.mark.parametrize(
    ("written", "shown"), [(".nan", "nan"), (".NaN", "nan"), (".inf", "inf"), ("-.inf", "-inf")]
)
def test_nan_and_infinity_are_refused(tmp_path, written, shown):
    text = "name: s\ntariffs:\n  - name: t\n    start: 2025-08\n    partner: US\n"
    path = write(tmp_path, "s.yaml", text + f"    rate: {written}\n")
    assert only_problem(path) == (
        f"{path}:6: tariffs.t.rate: must be a finite number, not NaN or infinity (got {shown})"
    )


def test_out_of_range_numbers(tmp_path):
    text = """\
    name: s
    runs: {replicates: 0, seed: -1}
    ai_factory: {start: 2025-07, subsidised_firms_per_year: 10, subsidy_share: 1.5}
    macro: {krw_per_usd: -3, producer_price_growth: 1e300}
    """
    path = write(tmp_path, "s.yaml", text)
    assert problems(path) == [
        f"{path}:2: runs.replicates: must be >= 1 (got 0)",
        f"{path}:2: runs.seed: must be >= 0 (got -1)",
        f"{path}:3: ai_factory.subsidy_share: must be <= 1 (got 1.5)",
        f"{path}:4: macro.krw_per_usd: must be >= 800 (got -3)",
        f"{path}:4: macro.producer_price_growth: must be < 1 (got 1e+300)",
    ]


def test_huge_integer_is_an_error_not_a_crash(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nruns: {seed: " + "9" * 5000 + "}\n")
    assert only_problem(path) == f"{path}:2: number is too large"


def test_bad_month_key_of_a_path(tmp_path):
    text = "name: s\nmacro:\n  krw_per_usd:\n    2025-01: 1400\n    2025-1: 1300\n"
    path = write(tmp_path, "s.yaml", text)
    assert only_problem(path) == (
        f"{path}:5: macro.krw_per_usd.2025-1: must be a month written YYYY-MM, e.g. 2025-08 "
        "(got 2025-1)"
    )


def test_duplicate_tariff_names(tmp_path):
    text = """\
    name: s
    tariffs:
      - {name: reciprocal, partner: US, rate: 0.1, start: 2025-04}
      - name: reciprocal
        partner: US
        rate: 0.15
        start: 2025-08
    """
    path = write(tmp_path, "s.yaml", text)
    assert only_problem(path) == (
        f"{path}:4: tariffs[1].name: duplicate tariff name; names must be unique "
        "(item 0 has it too) (got reciprocal)"
    )


def test_contract_value_and_delivery(tmp_path):
    text = """\
    name: s
    defence_exports:
      contracts:
        - name: both
          prime: hyundai_rotem
          value_usd: 1.0e9
          value_krw: 1.0e12
          partner: EU
          signed: 2025-08
          delivery: {start: 2025-07, months: 12}
        - name: neither
          prime: hyundai_rotem
          partner: EU
          signed: 2025-08
          delivery: {start: 2025-09, months: 12}
    """
    path = write(tmp_path, "s.yaml", text)
    assert problems(path) == [
        f"{path}:7: defence_exports.contracts.both.value_krw: give value_usd or value_krw, "
        "not both (got 1000000000000)",
        f"{path}:10: defence_exports.contracts.both.delivery.start: deliveries cannot start "
        "before signing (2025-08) (got 2025-07)",
        f"{path}:11: defence_exports.contracts.neither: needs its value: value_usd or value_krw",
    ]


def test_unknown_parameter_and_negative_value(tmp_path):
    text = "name: s\nparameters:\n  elasticity_long_rn: 2.0\n  tariff_passthrough: -0.1\n"
    path = write(tmp_path, "s.yaml", text)
    assert problems(path) == [
        f"{path}:3: parameters.elasticity_long_rn: unknown parameter (see `changwon-sim params`); "
        "did you mean 'elasticity_long_run'?",
        f"{path}:4: parameters.tariff_passthrough: must be between 0 and 1, the values the model "
        "can compute with (got -0.1)",
    ]


def test_unknown_uncertain_paths(tmp_path):
    text = """\
    name: s
    tariffs:
      - {name: reciprocal, partner: US, rate: 0.15, start: 2025-08}
    uncertain:
      tariffs.reciprocl.rate: {dist: uniform, low: 0.1, high: 0.2}
      tariffs.reciprocal.rat: {dist: uniform, low: 0.1, high: 0.2}
      elasticity_long_rn: {dist: uniform, low: 1.5, high: 2.5}
      ai_factory.subsidy_share: {dist: uniform, low: 0.1, high: 0.2}
      runs.seed: {dist: uniform, low: 1, high: 2}
      parameters.bass_q: {dist: uniform, low: 0.3, high: 0.5}
      macro: {dist: uniform, low: 1, high: 2}
    """
    path = write(tmp_path, "s.yaml", text)
    assert problems(path) == [
        f"{path}:5: uncertain.tariffs.reciprocl.rate: tariffs has no item named like "
        "'reciprocl.rate' (names: reciprocal)",
        f"{path}:6: uncertain.tariffs.reciprocal.rat: tariffs.reciprocal has no 'rat'; "
        "did you mean 'rate'?",
        f"{path}:7: uncertain.elasticity_long_rn: neither a parameter name nor a dotted path; "
        "did you mean 'elasticity_long_run'?",
        f"{path}:8: uncertain.ai_factory.subsidy_share: ai_factory is not set in this scenario",
        f"{path}:9: uncertain.runs.seed: 'runs' is not a model input and cannot be uncertain",
        f"{path}:10: uncertain.parameters.bass_q: write the parameter name alone: bass_q",
        f"{path}:11: uncertain.macro: 'macro' is a section; give the path to a number in it",
    ]


def test_uncertain_exchange_rate_must_be_a_number_not_a_path(tmp_path):
    text = """\
    name: s
    macro:
      krw_per_usd: {2025-01: 1400, 2026-01: 1350}
    uncertain:
      macro.krw_per_usd: {dist: uniform, low: 1300, high: 1500}
    """
    path = write(tmp_path, "s.yaml", text)
    assert only_problem(path) == (
        f"{path}:5: uncertain.macro.krw_per_usd: only a single number can be uncertain, "
        "and this is a path by month"
    )


def test_uncertain_draws_must_be_valid_values(tmp_path):
    text = """\
    name: s
    tariffs:
      - {name: reciprocal, partner: US, rate: 0.15, start: 2025-08}
    uncertain:
      tariffs.reciprocal.rate: {dist: normal, mean: 0.15, sd: 0.05}
      tariff_passthrough: {dist: uniform, low: -0.1, high: 0.5}
    """
    path = write(tmp_path, "s.yaml", text)
    assert problems(path) == [
        f"{path}:5: uncertain.tariffs.reciprocal.rate: normal draws reach -0.2017, which "
        "tariffs.reciprocal.rate cannot take (must be >= 0); narrow the distribution or give "
        "it bounds",
        f"{path}:6: uncertain.tariff_passthrough: uniform draws reach -0.1, which "
        "tariff_passthrough cannot take (must be between 0 and 1, the values the model can "
        "compute with); narrow the distribution or give it bounds",
    ]
    # With bounds the same distribution is fine.
    fixed = text.replace("sd: 0.05}", "sd: 0.05, low: 0.0}").replace("low: -0.1", "low: 0.1")
    load_scenario(write(tmp_path, "fixed.yaml", fixed))


def test_bad_distributions(tmp_path):
    text = """\
    name: s
    uncertain:
      elasticity_long_run: {dist: uniform, low: 2.5, high: 1.5}
      elasticity_one_year: {dist: triangular, low: 0.5, mode: 1.5, high: 1.0}
      bass_p: {dist: normal, mean: 0.01, sd: 0}
      bass_q: {dist: lognormal, median: -1, sigma: 0.5}
      ramp_months: {dist: lognorm, median: 18, sigma: 0.5}
      diversion_share: 0.3
    """
    path = write(tmp_path, "s.yaml", text)
    assert problems(path) == [
        f"{path}:3: uncertain.elasticity_long_run.high: must be above low (2.5) (got 1.5)",
        f"{path}:4: uncertain.elasticity_one_year.mode: must lie between low and high "
        "(0.5..1) (got 1.5)",
        f"{path}:5: uncertain.bass_p.sd: must be > 0 (got 0)",
        f"{path}:6: uncertain.bass_q.median: must be > 0 (got -1)",
        f"{path}:7: uncertain.ramp_months.dist: must be one of: uniform, triangular, normal, "
        "lognormal; did you mean 'lognormal'? (got lognorm)",
        f"{path}:8: uncertain.diversion_share: must be a distribution with a `dist` key, e.g. "
        "{dist: uniform, low: 1.5, high: 2.5}; dist is one of uniform, triangular, normal, "
        "lognormal (got 0.3)",
    ]


def test_all_problems_are_reported_at_once_in_line_order(tmp_path):
    text = """\
    name: bad name
    period: {start: 2025-13}
    runs: {replicates: 0, sed: 1}
    tariffs:
      - {name: t, partner: Japan, rate: 11, start: 2025-08}
    outputs: {quantiles: [0.5, 1.5]}
    """
    messages = problems(write(tmp_path, "s.yaml", text))
    assert len(messages) == 7
    lines = [int(message.split(":")[1]) for message in messages]
    assert lines == sorted(lines) == [1, 2, 3, 3, 5, 5, 6]


def test_file_that_is_not_a_mapping(tmp_path):
    path = write(tmp_path, "s.yaml", "- name: s\n")
    assert only_problem(path) == (
        f"{path}:1: a scenario must be a mapping of keys (key: value), not a list"
    )
    empty = write(tmp_path, "empty.yaml", "# nothing\n")
    assert only_problem(empty) == f"{empty}:1: the file is empty; a scenario needs at least a name"


def test_missing_file(tmp_path):
    path = tmp_path / "nothere.yaml"
    assert only_problem(path) == f"{path}:1: file not found"


# --- YAML-level problems --------------------------------------------------------------------------


def test_malformed_yaml_reports_the_parser_line(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nruns:\n  replicates: [1, 2\n  seed: 3\n")
    message = only_problem(path)
    assert message.startswith(f"{path}:4: invalid YAML: ")


def test_a_forbidden_character_is_placed_on_its_line_after_korean_text(tmp_path):
    """libyaml counts a reader error's position in bytes of UTF-8: a line of Hangul above the
    character must not push its reported line down."""
    text = "name: s\ntitle: 창원 국가산업단지 관세 시나리오\nrem: a\x07b\n"
    path = write(tmp_path, "s.yaml", text)
    assert only_problem(path) == f"{path}:3: invalid YAML: the text contains a forbidden character"


def test_text_with_a_lone_surrogate_is_refused_at_its_line():
    """Text handed in from Python (not read from a file) may hold what UTF-8 cannot encode."""
    with pytest.raises(safe_yaml.YamlError) as refused:
        safe_yaml.load_text("name: s\nnote: \ud800\n", "given")
    assert str(refused.value) == "given:2: invalid YAML: the text contains a forbidden character"


def test_bad_indentation(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nruns:\n  replicates: 5\n seed: 3\n")
    assert only_problem(path).startswith(f"{path}:4: invalid YAML: ")


def test_duplicate_key(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nruns: {seed: 1}\nruns: {seed: 2}\n")
    assert only_problem(path) == f"{path}:3: duplicate key 'runs' (first written on line 2)"


def test_python_objects_are_refused(tmp_path):
    path = write(tmp_path, "s.yaml", "name: !!python/object/apply:os.system ['true']\n")
    assert only_problem(path) == (
        f"{path}:1: YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"
    )


def test_merge_keys_are_refused(tmp_path):
    path = write(tmp_path, "s.yaml", "base: &b {seed: 1}\nruns:\n  <<: *b\n")
    assert only_problem(path) == f"{path}:3: merge keys (<<) are not supported; use `extends`"


def test_billion_laughs_fails_fast(tmp_path):
    lines = ["name: s", "lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        lines.append(f"lol{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    path = write(tmp_path, "s.yaml", "\n".join(lines) + "\n")
    started = time.perf_counter()
    message = only_problem(path)
    assert time.perf_counter() - started < 2.0
    assert message.startswith(f"{path}:")
    assert "aliases expand to more than 10,000 values" in message


def test_recursive_alias_is_refused(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nloop: &a [*a]\n")
    assert only_problem(path) == f"{path}:2: an alias refers to a value that contains it (a loop)"


def test_deep_nesting_is_refused(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nx: " + "[" * 200 + "]" * 200 + "\n")
    assert only_problem(path) == f"{path}:2: nested more than 50 levels deep"


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: s\n" + "# padding\n" * 120_000, encoding="utf-8")
    assert path.stat().st_size > safe_yaml.MAX_BYTES
    started = time.perf_counter()
    assert only_problem(path) == f"{path}:1: file is larger than the limit of 1,000,000 bytes"
    assert time.perf_counter() - started < 1.0


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: s\ntitle: \xff\xfe\n")
    assert only_problem(path) == f"{path}:2: file is not UTF-8 text"


def test_safe_yaml_records_lines_of_keys_and_items():
    located = safe_yaml.load_text("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert located.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert located.lines[("a",)] == 1
    assert located.lines[("b", 1, "c")] == 4
    assert located.line_of(("b", 1, "missing")) == 4
    assert located.line_of(("zzz",)) == 1


# --- extends --------------------------------------------------------------------------------------


def test_extends_chain_of_depth_three(tmp_path):
    write(
        tmp_path,
        "grand.yaml",
        """\
        name: grand
        title: Grand
        runs: {replicates: 7, seed: 3}
        macro:
          demand_growth: {US: 0.05, EU: 0.04}
        tariffs:
          - {name: a, partner: US, rate: 0.1, start: 2025-01}
          - {name: b, partner: US, rate: 0.2, start: 2025-01}
        parameters: {bass_q: 0.4, bass_p: 0.006}
        uncertain:
          elasticity_long_run: {dist: uniform, low: 1.8, high: 2.2}
        """,
    )
    (tmp_path / "sub").mkdir()
    write(
        tmp_path,
        "sub/parent.yaml",
        """\
        extends: ../grand.yaml
        name: parent
        runs: {replicates: 9}
        macro:
          demand_growth: {US: 0.0}
        tariffs:
          - {name: c, partner: EU, rate: 0.3, start: 2026-01}
        """,
    )
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: sub/parent.yaml
        name: child
        parameters: {bass_q: 0.5, bass_p: null}
        uncertain:
          tariffs.c.rate: {dist: uniform, low: 0.2, high: 0.4}
        """,
    )
    scenario = load_scenario(child)
    assert scenario.name == "child"
    assert scenario.title is None  # titles are not inherited
    assert (scenario.runs.replicates, scenario.runs.seed) == (9, 3)  # mappings merge key by key
    assert scenario.macro.demand_growth["US"] == 0.0
    assert scenario.macro.demand_growth["EU"] == 0.04
    assert [tariff.name for tariff in scenario.tariffs] == ["c"]  # lists replace
    assert scenario.parameters == {"bass_q": 0.5}  # null removes an inherited value
    assert set(scenario.uncertain) == {"elasticity_long_run", "tariffs.c.rate"}


def test_errors_point_to_the_file_that_set_the_value(tmp_path):
    write(
        tmp_path,
        "base.yaml",
        """\
        name: base
        runs: {replicates: 0}
        tariffs:
          - {name: a, partner: US, rate: 0.1, start: 2025-01}
        """,
    )
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: base.yaml
        name: child
        tariffs:
          - {name: b, partner: US, rate: -1, start: 2025-01}
        """,
    )
    assert problems(child) == [
        f"{child}:4: tariffs.b.rate: must be >= 0 (got -1)",
        f"{tmp_path / 'base.yaml'}:2: runs.replicates: must be >= 1 (got 0)",
    ]


def test_name_is_not_inherited(tmp_path):
    write(tmp_path, "base.yaml", "name: base\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nruns: {replicates: 3}\n")
    assert only_problem(child) == (
        f"{child}:1: name: required key is missing (names are not inherited through extends)"
    )


def test_extends_cycle(tmp_path):
    first = write(tmp_path, "a.yaml", "name: a\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "name: b\n\nextends: a.yaml\n")
    assert only_problem(first) == (
        f"{tmp_path / 'b.yaml'}:3: extends: files extend each other in a cycle "
        "(a.yaml -> b.yaml -> a.yaml)"
    )
    itself = write(tmp_path, "self.yaml", "extends: self.yaml\nname: s\n")
    assert only_problem(itself) == (
        f"{itself}:1: extends: files extend each other in a cycle (self.yaml -> self.yaml)"
    )


def test_missing_extends_file(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nextends: nothere.yaml\n")
    assert only_problem(path) == (f"{path}:2: extends: file not found: {tmp_path / 'nothere.yaml'}")


def test_extends_must_be_a_file_name(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nextends: [a.yaml, b.yaml]\n")
    assert only_problem(path) == (
        f'{path}:2: extends: must be a file name, relative to this file (got ["a.yaml", "b.yaml"])'
    )


def test_malformed_parent_names_the_parent(tmp_path):
    parent = write(tmp_path, "base.yaml", "name: base\nruns: {seed: 1\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    assert only_problem(child).startswith(f"{parent}:3: invalid YAML: ")


# --- apply_values ---------------------------------------------------------------------------------


def test_apply_values_sets_numbers_by_path_and_parameters_by_name(tmp_path):
    scenario = load_scenario(write(tmp_path, "s.yaml", FULL))
    changed = apply_values(
        scenario,
        {
            "tariffs.reciprocal.rate": 0.2,
            "macro.demand_growth.US": -0.01,
            "macro.krw_per_usd": 1500.0,
            "defence_exports.contracts.K9 Vietnam.value_usd": 3.0e8,
            "defence_exports.contracts.K9 Vietnam.delivery.months": 30.4,
            "defence_exports.pipeline.value_usd.median": 2.0e9,
            "ai_factory.subsidy_share": 0.25,
            "bass_q": 0.45,
            "elasticity_long_run": 1.9,
        },
    )
    assert isinstance(changed, Scenario)
    assert changed.tariffs[0].rate == 0.2 and changed.tariffs[1].rate == 0.5
    assert changed.macro.demand_growth["US"] == -0.01
    assert changed.macro.krw_per_usd == 1500.0
    contract = changed.defence_exports.contracts[0]
    assert contract.value_usd == 3.0e8 and contract.delivery.months == 30  # rounded
    assert changed.defence_exports.pipeline.value_usd.median == 2.0e9
    assert changed.ai_factory.subsidy_share == 0.25
    assert changed.parameters == {"bass_q": 0.45, "elasticity_long_run": 1.9}
    # the original is unchanged
    assert scenario.tariffs[0].rate == 0.15 and scenario.parameters == {"elasticity_long_run": 2.0}
    assert apply_values(scenario, {}) == scenario


def test_apply_values_reports_bad_paths_and_values(tmp_path):
    scenario = load_scenario(write(tmp_path, "s.yaml", FULL))
    with pytest.raises(ScenarioError) as caught:
        apply_values(scenario, {"tariffs.nothere.rate": 0.1, "zzz": 1.0})
    assert caught.value.messages == [
        "tariffs.nothere.rate: tariffs has no item named like 'nothere.rate' "
        "(names: reciprocal, steel)",
        "zzz: neither a parameter name nor a dotted path",
    ]
    with pytest.raises(ScenarioError) as caught:
        apply_values(scenario, {"tariffs.reciprocal.rate": -0.5, "bass_q": math.nan})
    assert caught.value.messages == [
        "tariffs.reciprocal.rate: must be >= 0 (got -0.5)",
        "parameters.bass_q: must be a finite number, not NaN or infinity (got nan)",
    ]


def test_every_draw_of_the_uncertain_inputs_applies(tmp_path):
    scenario = load_scenario(write(tmp_path, "s.yaml", FULL))
    for u in (0.0, 0.3, 1.0):
        draws = {path: dist.ppf(u) for path, dist in scenario.uncertain.items()}
        changed = apply_values(scenario, draws)
        assert changed.parameters["elasticity_long_run"] == pytest.approx(1.5 + u)


# --- resolved YAML and hash -----------------------------------------------------------------------


def test_resolved_yaml_round_trips(tmp_path):
    write(tmp_path, "base.yaml", FULL)
    child = write(
        tmp_path, "child.yaml", "extends: base.yaml\nname: child\nruns: {replicates: 3}\n"
    )
    scenario = load_scenario(child)
    text = resolved_yaml(scenario)
    assert "extends" not in text
    again = load_scenario(write(tmp_path, "resolved.yaml", text))
    assert again == scenario
    assert resolved_yaml(again) == text
    assert scenario_hash(again) == scenario_hash(scenario)
    assert len(scenario_hash(scenario)) == 64


def test_hash_ignores_key_order_but_not_values(tmp_path):
    one = write(
        tmp_path,
        "one.yaml",
        """\
        name: s
        parameters: {bass_q: 0.4, bass_p: 0.006}
        uncertain:
          elasticity_long_run: {dist: uniform, low: 1.8, high: 2.2}
          tariff_passthrough: {high: 0.9, dist: uniform, low: 0.4}
        """,
    )
    two = write(
        tmp_path,
        "two.yaml",
        """\
        uncertain:
          tariff_passthrough: {dist: uniform, low: 0.4, high: 0.9}
          elasticity_long_run: {dist: uniform, low: 1.8, high: 2.2}
        parameters: {bass_p: 0.006, bass_q: 0.4}
        name: s
        """,
    )
    assert resolved_yaml(load_scenario(one)) == resolved_yaml(load_scenario(two))
    changed = apply_values(load_scenario(one), {"bass_q": 0.41})
    assert scenario_hash(changed) != scenario_hash(load_scenario(one))


# --- distributions --------------------------------------------------------------------------------

U_GRID = [0.0, 1e-6, 0.001, 0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.999, 1 - 1e-6, 1.0]


def test_uniform_ppf_matches_scipy():
    dist = Uniform(dist="uniform", low=1.5, high=2.5)
    reference = stats.uniform(loc=1.5, scale=1.0)
    for u in U_GRID:
        assert dist.ppf(u) == pytest.approx(reference.ppf(u), rel=1e-12, abs=1e-12)
    assert dist.bounds() == (1.5, 2.5)


def test_triangular_ppf_matches_scipy():
    for low, mode, high in [(0.1, 0.15, 0.25), (0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (-2, 1, 5)]:
        dist = Triangular(dist="triangular", low=low, mode=mode, high=high)
        reference = stats.triang((mode - low) / (high - low), loc=low, scale=high - low)
        for u in U_GRID:
            assert dist.ppf(u) == pytest.approx(reference.ppf(u), rel=1e-9, abs=1e-12)
        assert dist.bounds() == (low, high)


def test_normal_ppf_matches_scipy():
    dist = Normal(dist="normal", mean=0.02, sd=0.01)
    reference = stats.norm(loc=0.02, scale=0.01)
    for u in U_GRID[1:-1]:
        assert dist.ppf(u) == pytest.approx(reference.ppf(u), rel=1e-9)
    # u = 0 and 1 are clipped to 1e-12 and 1 - 1e-12 so that draws stay finite
    assert dist.ppf(0.0) == pytest.approx(reference.ppf(1e-12), rel=1e-6)
    assert dist.ppf(1.0) == pytest.approx(reference.ppf(1 - 1e-12), rel=1e-3)
    low, high = dist.bounds()
    assert low == pytest.approx(reference.ppf(0.001)) and high == pytest.approx(
        reference.ppf(0.999)
    )


@pytest.mark.parametrize(
    ("low", "high"), [(-1.0, 4.0), (0.0, None), (None, 2.0), (1.5, 3.5), (-0.5, 0.5)]
)
def test_truncated_normal_ppf_matches_scipy(low, high):
    mean, sd = 1.0, 2.0
    dist = Normal(dist="normal", mean=mean, sd=sd, low=low, high=high)
    a = -math.inf if low is None else (low - mean) / sd
    b = math.inf if high is None else (high - mean) / sd
    reference = stats.truncnorm(a, b, loc=mean, scale=sd)
    for u in U_GRID[1:-1]:
        assert dist.ppf(u) == pytest.approx(reference.ppf(u), rel=1e-7, abs=1e-9)
    if low is not None:
        assert dist.ppf(0.0) == low and dist.bounds()[0] == low
    if high is not None:
        assert dist.ppf(1.0) == pytest.approx(high) and dist.bounds()[1] == high
    lowest, highest = dist.support()
    assert math.isfinite(lowest) and math.isfinite(highest)


def test_lognormal_ppf_matches_scipy():
    dist = Lognormal(dist="lognormal", median=1.0e9, sigma=0.8)
    reference = stats.lognorm(s=0.8, scale=1.0e9)
    for u in U_GRID[1:-1]:
        assert dist.ppf(u) == pytest.approx(reference.ppf(u), rel=1e-9)
    low, high = dist.bounds()
    assert low == pytest.approx(reference.ppf(0.001)) and high == pytest.approx(
        reference.ppf(0.999)
    )
    assert dist.ppf(0.0) > 0 and math.isfinite(dist.ppf(1.0))


@pytest.mark.parametrize("u", [-0.1, 1.1, math.nan])
def test_ppf_refuses_u_outside_zero_one(u):
    with pytest.raises(ValueError):
        Uniform(dist="uniform", low=0, high=1).ppf(u)


def test_truncation_without_probability_is_refused(tmp_path):
    text = (
        "name: s\nuncertain:\n  bass_q: {dist: normal, mean: 0.5, sd: 0.01, low: 2.0, high: 3.0}\n"
    )
    path = write(tmp_path, "s.yaml", text)
    assert only_problem(path) == (
        f"{path}:3: uncertain.bass_q.low: the bounds leave almost no probability; "
        "move them nearer the mean"
    )


# --- JSON Schema ----------------------------------------------------------------------------------


def test_schema_is_json_and_documents_every_top_level_key():
    schema = scenario_json_schema()
    text = json.dumps(schema)
    assert json.loads(text) == schema
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"] == "changwon-sim scenario"
    expected = {
        "name", "extends", "title", "description", "period", "runs", "macro", "tariffs",
        "ai_factory", "defence_exports", "export_support", "parameters", "uncertain", "outputs",
    }  # fmt: skip
    assert set(schema["properties"]) == expected
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    for key, entry in schema["properties"].items():
        assert entry.get("description"), key
    assert "elasticity_long_run" in text and "hanwha_aerospace" in text
    assert '"minimum"' in text and '"ge"' not in text  # constraints in JSON Schema words


def test_every_field_has_a_description():
    def check(model):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"

    for definition in scenario_json_schema()["$defs"].values():
        for name, entry in definition.get("properties", {}).items():
            assert entry.get("description"), name
    check(Scenario)


# --- property-based -------------------------------------------------------------------------------

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["2025-01", "2025-13", "all", "US", "steel", "uniform", "hanwha_aerospace"]),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(["name", "rate", "start", "end", "dist", "low", "high", "x"]),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
top_keys = st.sampled_from(
    ["name", "period", "runs", "macro", "tariffs", "ai_factory", "defence_exports",
     "export_support", "parameters", "uncertain", "outputs", "extends", "zzz"]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=st.dictionaries(top_keys, yaml_values, max_size=6))
def test_any_document_loads_or_fails_with_located_messages(tmp_path, document):
    import yaml

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        assert error.messages
        for message in error.messages:
            file, line, rest = message.split(":", 2)
            assert file == str(path) or file.startswith(str(tmp_path)) or "extends" in rest
            assert int(line) >= 1 and rest.startswith(" ")
    else:
        assert load_scenario(path) == scenario


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_parses_or_fails_with_a_line(text):
    try:
        safe_yaml.load_text(text, "t.yaml")
    except safe_yaml.YamlError as error:
        assert str(error).startswith(f"t.yaml:{error.line}: ") and error.line >= 1


@settings(max_examples=100, deadline=None)
@given(
    rate=st.floats(0, 10),
    # Sustained growth within a factor of 100 over the period (sim.inputs.validity)
    growth=st.floats(-0.5, 0.99),
    months=st.integers(1, 600),
)
def test_applied_values_round_trip_through_yaml(rate, growth, months):
    import yaml

    base = Scenario.model_validate(safe_yaml.load_text(FULL).data)
    changed = apply_values(
        base,
        {
            "tariffs.steel.rate": rate,
            "macro.demand_growth.China": growth,
            "defence_exports.contracts.K9 Vietnam.delivery.months": months,
            "tariff_passthrough": 1.0,  # so that any rate keeps the joint rules
        },
    )
    assert changed.tariffs[1].rate == rate
    reloaded = Scenario.model_validate(yaml.safe_load(resolved_yaml(changed)))
    assert reloaded == changed


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=st.text(max_size=30), description=st.text(max_size=80))
@example(title="1e9", description="0E0")  # numbers to the loader (YAML 1.2 floats), so quoted
@example(title="yes", description="a\x85b\nc")  # other line breaks need double quotes
def test_any_text_round_trips_through_the_resolved_yaml(tmp_path, title, description):
    scenario = Scenario(name="s", title=title, description=description)
    path = tmp_path / "resolved.yaml"
    path.write_text(resolved_yaml(scenario), encoding="utf-8")
    assert load_scenario(path) == scenario
