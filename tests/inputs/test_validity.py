"""Joint validity (`sim.inputs.validity`, DESIGN §10): what `check` accepts, `run` runs to sane
numbers.

The property test draws parameter sets from every parameter's valid range in
`calibration/parameters.yaml` (read generically, so parameters added later are covered), many of
them at its bounds, together with extreme scenario inputs; whatever `check` accepts is simulated
on a small population, and its indicators must be finite, non-negative and consistent.
"""

from __future__ import annotations

import io
import itertools
import math
import random
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.cli.main import main
from sim.ensemble.replicate import build_model, replicate_inputs
from sim.inputs import validity
from sim.inputs.names import PARTNERS
from sim.inputs.scenario import Scenario
from sim.inputs.scenario_fields import KRW_PER_USD_RANGE, _parameter_limits, _registry
from sim.model.indicators import COLUMN, INDICATOR_NAMES


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# --- the registry and the rules ------------------------------------------------------------------


def test_every_parameter_may_take_at_least_its_prior_range():
    limits = _parameter_limits()
    assert set(limits) == set(_registry())
    for name, entry in _registry().items():
        low, high = limits[name]
        assert low <= float(entry["low"]) <= float(entry["high"]) <= high, name


@pytest.mark.parametrize("end", ["2030-12", "2074-12"], ids=["6 years", "50 years"])
def test_the_registry_ranges_keep_every_rule(end):
    """A scenario that sets nothing draws every parameter from its prior range: every corner of
    that box must be valid, or a default run could fail."""
    scenario = Scenario.model_validate({"name": "s", "period": {"start": "2025-01", "end": end}})
    assert validity.problems(validity.scenario_inputs(scenario).ranges) == []


@pytest.mark.parametrize("rule", validity.RULES, ids=lambda rule: rule.what[:40])
def test_every_rule_is_monotone_in_each_input(rule):
    """The corners of the box hold a rule's extremes only if, with the other inputs held fixed,
    it rises or falls along each input (never peaks inside)."""
    limits = {**_parameter_limits(), **SCENARIO_INPUTS}
    rng = random.Random(rule.what)
    for name in rule.inputs:
        for _ in range(40):
            point = {n: rng.uniform(*limits[n]) for n in rule.inputs}
            along = sorted(rng.uniform(*limits[name]) for _ in range(6))
            values = [rule.function({**point, name: x}) for x in along]
            if not all(math.isfinite(v) for v in values):
                continue
            steps = {b > a for a, b in itertools.pairwise(values) if not math.isclose(a, b)}
            assert len(steps) <= 1, f"{rule.what} peaks inside the range of {name} at {point}"


SCENARIO_INPUTS = {  # the scenario numbers rules use, over what a scenario may hold
    "period_years": (1 / 12, 50.0),
    "years_after_base": (0.0, 176.0),
    "years_before_base": (0.0, 124.0),
    "tariff_rate_max": (0.0, 10.0),
    "demand_growth_max": (-0.99, 0.99),
    "demand_growth_min": (-0.99, 0.99),
    "price_growth_max": (-0.49, 0.99),
    "price_growth_min": (-0.49, 0.99),
    "defence_krw_per_month_max": (0.0, 1e16),
}


# --- the cases that used to pass `check` and then fail or lie -----------------------------------

ISSUE_CASES = {
    "input shares": "parameters: {input_share: 0.95, in_complex_input_share: 0.5}",
    "sector and anchor shares": (
        "parameters: {anchor_share_lg_electronics: 0.09, "
        "sector_production_share_electrical_electronics: 0.05}"
    ),
    "tariff pass-through 1e300": "parameters: {tariff_passthrough: 1.0e300}",
    "pass-through 0 with a 200% tariff": (
        "parameters: {tariff_passthrough: 0.0}\n"
        "tariffs: [{name: t, partner: US, rate: 2.0, start: 2025-02}]"
    ),
    "employment multiplier 1e300": "parameters: {multiplier_employment_per_bn_krw: 1.0e300}",
    "production multiplier 1e300": "parameters: {multiplier_production: 1.0e300}",
    "won at 1e-300": "macro: {krw_per_usd: 1.0e-300}",
    "won at 0.0007": "macro: {krw_per_usd: 0.0007}",
    "shocks at their maxima": (
        "parameters: {complex_shock_sd: 0.5, complex_shock_persistence: 0.99, firm_shock_sd: 0.5,"
        " firm_shock_persistence: 0.99, seasonal_amplitude: 0.5}"
    ),
    "entry compounding over 50 years": (
        "period: {start: 2025-01, end: 2074-12}\nparameters: {entry_rate: 0.2}"
    ),
    "a contract bigger than the complex": (
        "defence_exports:\n  contracts:\n    - {name: huge, prime: hanwha_aerospace, "
        "value_usd: 1.0e13, partner: EU, signed: 2025-01, delivery: {start: 2025-02, months: 1}}"
    ),
}


@pytest.mark.parametrize("body", ISSUE_CASES.values(), ids=ISSUE_CASES.keys())
def test_inputs_that_cannot_run_sanely_together_are_refused_by_check_and_run(tmp_path, body):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nruns: {{replicates: 2}}\n{body}\n", encoding="utf-8")
    code, out, err = cli("check", str(path))
    assert code == 2 and out == "" and "Traceback" not in err
    assert all(line.startswith(f"{path}:") for line in err.splitlines()), err
    code, _, err_run = cli("run", str(path), "--out", str(tmp_path / "out"), "--workers", "1")
    assert code == 2 and err_run == err
    assert not (tmp_path / "out").exists()


def test_a_joint_problem_names_the_inputs_and_points_at_the_line_that_set_one(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nparameters:\n  input_share: 0.95\n  in_complex_input_share: 0.5\n",
        encoding="utf-8",
    )
    code, _, err = cli("check", str(path))
    (line,) = [line for line in err.splitlines() if "in-complex purchases" in line]
    assert code == 2
    assert line.startswith(f"{path}:4: parameters.in_complex_input_share: with ")
    assert "input_share 0.95" in line and "in_complex_input_share 0.5" in line


# --- the property: accepted inputs, even at their bounds, give sane numbers -------------------

FIRMS = 300  # a small complex: same structure, totals scaled (population.synthesise)


@st.composite
def parameter_sets(draw) -> dict[str, float]:
    """Every registry parameter: mostly its central value, often a bound of its valid or prior
    range, sometimes anywhere in its valid range."""
    values = {}
    for name, entry in sorted(_registry().items()):
        low, high = _parameter_limits()[name]
        pick = draw(st.integers(0, 19))
        if pick < 12:
            continue  # the central value
        candidates = [low, high, float(entry["low"]), float(entry["high"])]
        if pick < 18:
            values[name] = candidates[pick % 4]
        else:
            values[name] = draw(st.floats(low, high, allow_nan=False))
    return values


@st.composite
def scenarios(draw, end: str = "2027-12") -> dict:
    """A scenario with extreme but individually valid inputs, every parameter set explicitly."""
    krw = st.sampled_from([*KRW_PER_USD_RANGE, 1364.4]) | st.floats(*KRW_PER_USD_RANGE)
    growth = st.sampled_from([-0.5, 0.0, 0.3]) | st.floats(-0.5, 0.5)
    data = {
        "name": "property",
        "period": {"start": "2025-01", "end": draw(st.sampled_from([end, "2025-03"]))},
        "macro": {
            "krw_per_usd": draw(krw),
            "producer_price_growth": draw(st.sampled_from([-0.3, 0.0, 0.017, 0.5])),
            "demand_growth": {partner: draw(growth) for partner in PARTNERS},
        },
        "parameters": draw(parameter_sets()),
    }
    if draw(st.booleans()):
        rate = draw(st.sampled_from([0.0, 0.25, 1.0, 10.0]) | st.floats(0, 10))
        data["tariffs"] = [{"name": "t", "partner": "US", "rate": rate, "start": "2025-02"}]
    if draw(st.booleans()):
        data["ai_factory"] = {
            "start": "2025-01",
            "subsidised_firms_per_year": draw(st.sampled_from([0, 100, 100_000])),
            "subsidy_share": draw(st.sampled_from([0.0, 0.5, 1.0])),
        }
    if draw(st.booleans()):
        value = draw(st.sampled_from([1e6, 1e9, 1e11]))
        data["defence_exports"] = {
            "contracts": [
                {
                    "name": "c",
                    "prime": "hanwha_aerospace",
                    "value_usd": value,
                    "partner": "EU",
                    "signed": "2025-01",
                    "delivery": {"start": "2025-02", "months": draw(st.sampled_from([1, 24]))},
                }
            ]
        }
    if draw(st.booleans()):
        data["export_support"] = {
            "start": "2025-01",
            "credit_line_krw": draw(st.sampled_from([0.0, 1e16])),
            "diversion_boost": draw(st.sampled_from([0.0, 100.0])),
        }
    return data


def accepted(data: dict) -> Scenario | None:
    """The scenario if `check` would accept it; None if only joint rules refuse it."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            # The strategies keep every input in its own range: only joint rules may refuse.
            assert " can reach " in str(detail.get("ctx", {}).get("message")), detail
        return None


def simulate(scenario: Scenario, firms: int | None, seed: int = 1):
    scenario_r, params = replicate_inputs(scenario, seed, 0, fixed_parameters=True)
    model = build_model(scenario_r, params, seed, 0, firms=firms)
    for _ in range(len(model.env.months)):
        model.step()
    return model


def assert_sane(model) -> None:
    """Finite, non-negative, consistent indicators, month by month."""
    values, fx = model.indicators, model.env.krw_per_usd
    assert np.isfinite(values).all(), "an indicator is not finite"
    # Value added may dip below zero in a month whose sales collapse after its inputs were
    # bought (losses), by a sliver of production; every other indicator is a stock or a flow.
    for name in INDICATOR_NAMES:
        if name == "value_added_krw":
            continue
        column = values[:, COLUMN[name]]
        assert (column >= 0).all(), f"{name} is negative: {column.min():.4g}"

    def column(name: str) -> np.ndarray:
        return values[:, COLUMN[name]]

    production = column("production_krw")
    value_added = column("value_added_krw")
    assert (value_added >= -0.01 * production).all(), (
        f"value added below -1% of production: {(value_added / production).min():.4g}"
    )
    exports_krw = column("exports_usd") * fx
    slack = 1e-9 * production + 1e-6
    # A defence delivery leaves in the month it is due, at its whole value, though its work was
    # done over the months before (and partly outside the complex): the rest of the exports are
    # this month's output.
    other_exports = exports_krw - column("defence_deliveries_krw")
    assert (other_exports <= production + slack).all(), "exports above production"
    assert (column("tariff_cost_krw") <= exports_krw + slack).all(), "a tariff cost above sales"
    assert (column("value_added_krw") <= production + slack).all(), "value added above production"
    partners = sum(column(f"exports_usd_{p}") for p in PARTNERS[1:])
    assert np.allclose(partners, column("exports_usd"), rtol=1e-9, atol=1e-6)
    assert (column("adoption_share") <= 1).all() and (column("defect_rate") < 1).all()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=scenarios())
def test_whatever_check_accepts_runs_to_sane_numbers(data):
    scenario = accepted(data)
    assume(scenario is not None)
    assert_sane(simulate(scenario, FIRMS))


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=scenarios(end="2034-12"))
def test_whatever_check_accepts_runs_to_sane_numbers_full_population(data):
    scenario = accepted(data)
    assume(scenario is not None)
    assert_sane(simulate(scenario, None))


def test_trends_are_bounded_relative_to_the_base_year_not_only_over_the_period(tmp_path):
    """A ten-year period in the 2150s compounds 4% growth for 135 years from 2024 (x 200)."""
    path = tmp_path / "far.yaml"
    path.write_text(
        "name: far\nperiod: {start: 2150-01, end: 2159-12}\nmacro: {demand_growth: {US: 0.04}}\n",
        encoding="utf-8",
    )
    code, _, err = cli("check", str(path))
    assert code == 2 and f"{path}:3: macro.demand_growth.US: " in err
    assert "real demand in the period relative to 2024 can reach" in err
    path.write_text(path.read_text().replace("0.04", "0.03"), encoding="utf-8")  # x 54: fine
    assert cli("check", str(path))[0] == 0
