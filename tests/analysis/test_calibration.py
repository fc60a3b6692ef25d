"""Calibration: data files, the 2020 hindcast, the matched adoption effect, posterior draws in
runs, recovery of known parameters, and the `calibrate` / `validate` commands on a small complex.

The full calibration (`changwon-sim calibrate`, about half an hour of two cores) is not run here;
its committed outputs are checked for consistency instead.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from sim.analysis.calibration.fit import calibrate
from sim.analysis.calibration.posterior import weighted_quantile
from sim.analysis.calibration.problem import PRESETS, Settings
from sim.analysis.calibration.targets import (
    free_parameters,
    load_targets,
    prior_density,
    prior_sample,
)
from sim.analysis.hindcast import (
    EffectDesign,
    adoption_effects,
    annual_indicator,
    base_year_totals,
    driver_values,
    history_scenario,
    load_drivers,
    monthly_price_growth,
    run_hindcast,
)
from sim.inputs.names import PARTNERS
from sim.inputs.parameters import (
    POSTERIOR_FILE,
    central_prior_parameters,
    draw_parameters,
    draw_prior_parameters,
    load_posterior,
    registry_id,
)
from sim.inputs.paths import CALIBRATION_DIR
from sim.model.firms import ADOPTED, INELIGIBLE, NOT_ADOPTED
from sim.model.indicators import COLUMN
from sim.model.population import synthesise

# --- data files -----------------------------------------------------------------------------------


def test_targets_are_the_reported_series_and_the_ministry_effects():
    targets = load_targets()
    keys = targets.keys
    assert "production_krw:2024" in keys and "active_firms:2023" not in keys
    production_2024 = targets.moments[keys.index("production_krw:2024")]
    assert production_2024.observed == pytest.approx(62.2230e12)
    assert production_2024.tolerance == 0.005  # must be met within 1% (DESIGN §4)
    effects = {m.key: m.observed for m in targets.moments if m.group == "smart_factory"}
    assert effects == {
        "smart_factory:productivity": 0.30,
        "smart_factory:defect_rate": -0.435,
        "smart_factory:cost": -0.159,
        "smart_factory:sales": 0.077,
    }
    employment = {m.year: m.month for m in targets.moments if m.group == "employment"}
    assert employment == {2020: 6, 2021: 6, 2022: 12, 2023: 12, 2024: 12}
    assert targets.required[0]["within"] == 0.01


def test_free_parameters_are_the_calibrated_kind_and_the_hindcast_drivers():
    names = [p.name for p in free_parameters()]
    assert "demand_shock_sd" in load_targets().not_fitted  # a variance: not identified
    assert names[:5] == [
        "cost_demand_elasticity",
        "entry_rate",
        "ai_productivity_gain",
        "ai_defect_reduction",
        "ai_unit_cost_reduction",
    ]
    assert set(names[5:]) == {
        "hindcast_domestic_growth",
        "hindcast_export_growth",
        "hindcast_labour_productivity_growth",
    }
    with pytest.raises(ValueError, match="not fitted parameters"):
        free_parameters(["elasticity_long_run"])


def test_prior_sample_and_density_are_the_triangular_priors():
    free = free_parameters(["entry_rate", "hindcast_export_growth"])
    draws = prior_sample(free, np.random.default_rng(0).random((20000, 2)))
    for j, p in enumerate(free):
        assert p.low <= draws[:, j].min() and draws[:, j].max() <= p.high
        assert draws[:, j].mean() == pytest.approx((p.low + p.mode + p.high) / 3, rel=0.02)
    grid = np.linspace(free[0].low, free[0].high, 2001)
    density = prior_density(free[:1], grid[:, None])
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    assert prior_density(free[:1], np.array([[free[0].high + 1e-6]]))[0] == 0.0


def test_price_growth_reproduces_the_reported_annual_changes():
    change = {2020: -0.005, 2021: 0.064, 2022: 0.084, 2023: 0.016, 2024: 0.017}
    growth = monthly_price_growth(change)
    level = np.exp(np.cumsum(np.log1p(np.array(list(growth.values()))) / 12.0))
    annual = level.reshape(5, 12).mean(axis=1)
    np.testing.assert_allclose(annual[1:] / annual[:-1] - 1.0, [0.064, 0.084, 0.016, 0.017])
    assert max(growth.values()) < 0.15  # smooth: no swings from year to year


def test_history_scenario_carries_the_drivers():
    drivers = load_drivers()
    values = driver_values(drivers, None)
    growth = {p.name: p.mode for p in free_parameters() if p.where == "hindcast"}
    scenario = history_scenario(drivers, values, growth)
    assert scenario.period.start == "2020-01" and scenario.period.end == "2024-12"
    assert scenario.tariffs == ()  # Section 232 steel: Korea exempted under its quota
    fx = scenario.macro
    assert fx.value_at("krw_per_usd", 2021 * 12 + 11) == 1144.4
    assert fx.value_at("krw_per_usd", 2024 * 12 + 11) == 1398.8
    delivered = sum(c.value_usd for c in scenario.defence_exports.contracts)
    assert delivered == pytest.approx(sum(values.tranche_usd.values()))
    assert {c.partner for c in scenario.defence_exports.contracts} == {"EU"}


def test_base_year_population_reproduces_the_2020_totals():
    totals = base_year_totals()
    assert totals == {
        "production_krw": 41.7301e12,
        "exports_usd": 10.386e9,
        "employment": 120942.0,
        "firms": 2688.0,
        "krw_per_usd": 1180.1,
    }
    population = synthesise(central_prior_parameters(), np.random.default_rng(1), totals=totals)
    f = population.firms
    assert f.slots == 2688
    assert 12 * f.base_sales.sum() == pytest.approx(41.7301e12, rel=1e-9)
    assert 12 * f.base_final[:, 1:].sum() / 1180.1 == pytest.approx(10.386e9, rel=1e-9)
    assert f.employment.sum() == pytest.approx(120942, rel=1e-9)
    with pytest.raises(ValueError, match="lack"):
        synthesise(central_prior_parameters(), np.random.default_rng(1), totals={"firms": 10})


# --- the hindcast ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_runs():
    theta = {"entry_rate": 0.04}
    first = run_hindcast(theta, 7, 0, firms=200, end="2021-12")
    again = run_hindcast(theta, 7, 0, firms=200, end="2021-12")
    other = run_hindcast({"entry_rate": 0.07}, 7, 0, firms=200, end="2021-12")
    return first, again, other


def test_hindcast_replicates_repeat_and_share_their_draws(small_runs):
    first, again, other = small_runs
    np.testing.assert_array_equal(first.indicators, again.indicators)
    # Common random numbers: another entry rate changes entry, not the rest of the replicate.
    assert other.parameters.replace(entry_rate=0.04) == first.parameters
    assert first.drivers == other.drivers
    assert not np.array_equal(first.indicators, other.indicators)
    entries = COLUMN["entries"]
    assert other.indicators[:, entries].sum() > first.indicators[:, entries].sum()


def test_hindcast_starts_from_2020_and_follows_the_drivers(small_runs):
    run = small_runs[0]
    assert run.months[0] == 2020 * 12 and run.months[-1] == 2021 * 12 + 11
    scale = 2688 / 200
    production_2020 = scale * annual_indicator(run, "production_krw", 2020, None)
    assert production_2020 == pytest.approx(41.7301e12, rel=0.05)
    production = run.indicators[:, COLUMN["production_krw"]]
    assert production[4] < 0.95 * production[:12].mean()  # the May 2020 trough
    assert run.indicators[:, COLUMN["defence_deliveries_krw"]].sum() == 0.0  # none before 2022-12
    assert run.parameters.annual_wage_krw < central_prior_parameters().annual_wage_krw  # 2020 won


def test_adoption_effect_is_the_matched_difference_in_differences():
    months = np.arange(2020 * 12, 2020 * 12 + 40)
    n = 4  # firm 0 adopts in month 5; firm 1 (same sector, similar size) never does
    shape = (len(months), n)
    alive = np.ones(shape, dtype=bool)
    employment = np.tile([10.0, 11.0, 100.0, 50.0], (len(months), 1))
    gross = employment * 2.0
    gross[5 + 1 :, 0] *= 1.3  # +30% output per worker once adopted
    gross[:, 1] *= 1.1  # a level difference the matching must not count
    defect = np.full(shape, 0.03)
    defect[5 + 1 :, 0] = 0.03 * (1 - 0.435)
    sales = gross * (1 - defect)
    cost = np.full(shape, 0.9)
    cost[5 + 1 :, 0] = 0.9 * (1 - 0.159)
    tables = {
        "alive": alive,
        "employment": employment,
        "gross": gross,
        "sales": sales,
        "defect": defect,
        "cost": cost,
    }
    adoption = np.array([ADOPTED, NOT_ADOPTED, NOT_ADOPTED, INELIGIBLE])
    adoption_month = np.array([months[5], -(10**6), -(10**6), -(10**6)])
    sector = np.array([0, 0, 1, 0])
    anchor = np.array([-1, -1, -1, 0])
    effects = adoption_effects(
        tables, months, adoption, adoption_month, sector, anchor, EffectDesign(24, 3)
    )
    assert effects["pairs"] == 1
    assert effects["productivity"] == pytest.approx(0.30)
    assert effects["defect_rate"] == pytest.approx(-0.435)
    assert effects["cost"] == pytest.approx(-0.159)
    sales_effect = 1.3 * (1 - 0.03 * 0.565) / (1 - 0.03) - 1
    assert effects["sales"] == pytest.approx(sales_effect)
    # No control of the adopter's sector alive throughout: nothing to compare.
    alive[:, 1] = False
    effects = adoption_effects(
        tables, months, adoption, adoption_month, sector, anchor, EffectDesign(24, 3)
    )
    assert effects["pairs"] == 0 and math.isnan(effects["productivity"])


# --- posterior draws in runs ----------------------------------------------------------------------


def write_posterior(folder, rows, weights, estimate=None):
    header = "draw,weight,entry_rate,ai_productivity_gain,hindcast_export_growth"
    lines = [header] + [
        ",".join(map(str, [k, w, *row]))
        for k, (row, w) in enumerate(zip(rows, weights, strict=True))
    ]
    (folder / POSTERIOR_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    if estimate is not None:
        (folder / "fit.json").write_text(json.dumps({"estimate": estimate}), encoding="utf-8")


def test_runs_draw_fitted_parameters_from_the_posterior_and_the_rest_from_priors(tmp_path):
    write_posterior(
        tmp_path,
        [[0.031, 0.21, 0.1], [0.069, 0.39, 0.1]],
        [0.25, 0.75],
        estimate={"entry_rate": 0.05, "hindcast_export_growth": 0.08},
    )
    posterior = load_posterior(tmp_path)
    assert posterior.names == ("entry_rate", "ai_productivity_gain")  # drivers are not for runs
    assert posterior.estimate == {"entry_rate": 0.05}
    seen = []
    for r in range(400):
        prior = draw_prior_parameters(np.random.default_rng([1, r]))
        drawn = draw_parameters(np.random.default_rng([1, r]), posterior)
        assert drawn.replace(entry_rate=prior.entry_rate, ai_productivity_gain=0) == (
            prior.replace(ai_productivity_gain=0)
        )  # every other parameter keeps its prior draw
        seen.append(drawn.entry_rate)
    assert set(seen) == {0.031, 0.069}
    assert np.mean(np.array(seen) == 0.069) == pytest.approx(0.75, abs=0.06)
    no_posterior = draw_parameters(np.random.default_rng([1, 0]), None)
    assert no_posterior == draw_prior_parameters(np.random.default_rng([1, 0]))


def test_the_fit_id_names_the_posterior(tmp_path):
    assert registry_id(tmp_path).startswith("prior-")
    write_posterior(tmp_path, [[0.05, 0.3, 0.1]], [1.0])
    first = registry_id(tmp_path)
    assert first.startswith("fit-")
    write_posterior(tmp_path, [[0.05, 0.3, 0.2]], [1.0])
    assert registry_id(tmp_path) != first


def test_the_committed_fit_is_the_one_runs_cite():
    if not (CALIBRATION_DIR / POSTERIOR_FILE).is_file():
        pytest.skip("no fitted posterior committed yet")
    fit = json.loads((CALIBRATION_DIR / "fit.json").read_text(encoding="utf-8"))
    assert fit["fit_id"] == registry_id(), "registry or posterior changed since the fit"
    assert fit["command"].startswith("changwon-sim calibrate")
    assert all(check["met"] for check in fit["required"])
    posterior = load_posterior()
    assert set(posterior.names) == {p.name for p in free_parameters() if p.where == "model"}
    assert "demand_shock_sd" not in posterior.names
    for name in posterior.names:
        p = next(p for p in free_parameters() if p.name == name)
        values = posterior.values[:, posterior.names.index(name)]
        assert p.low <= values.min() and values.max() <= p.high


# --- recovery -------------------------------------------------------------------------------------


RECOVERY = Settings(
    seed=11,
    # Six replicates: with three, the sampling noise of the simulated firm counts alone moved the
    # estimate of entry_rate by about the tolerance below (0.2 of its range) for some seeds.
    crn_replicates=6,
    sobol_points=16,
    local_evaluations=24,
    particles=60,
    generations=2,
    batch=30,
    quasi_proposals=48,
    predictive_replicates=6,
    firms=200,
    end="2022-12",
    parameters=("entry_rate", "hindcast_export_growth"),
    groups=("production_krw", "exports_usd", "active_firms"),
    fixed_nuisance=True,
    fixed_drivers=True,
    identification=False,
)
TRUTH = {"entry_rate": 0.04, "hindcast_export_growth": 0.08}


@pytest.fixture(scope="module")
def recovery_fit():
    """Data simulated from known parameters (other seeds than the fit's), then fitted."""
    from sim.analysis.calibration.problem import Task, simulate

    targets = load_targets().select(RECOVERY.groups, 2022)
    options = RECOVERY.options(measure_effects=False)
    values = np.array([simulate(Task(TRUTH, 999, r, options, targets)) for r in range(24)])
    observed = values.mean(axis=0)
    return calibrate(RECOVERY, workers=1, targets=targets.with_observed(observed))


def test_recovery_finds_known_parameters_within_their_posterior_intervals(recovery_fit):
    fit = recovery_fit
    for j, p in enumerate(fit.free):
        theta, w = fit.posterior.theta[:, j], fit.posterior.weight
        low, high = weighted_quantile(theta, w, 0.05), weighted_quantile(theta, w, 0.95)
        assert low <= TRUTH[p.name] <= high, (p.name, low, high)
        assert abs(fit.estimate[p.name] - TRUTH[p.name]) < 0.2 * p.width, p.name
        # The data narrow the prior: the posterior's 90% interval is under 60% of the range.
        assert high - low < 0.6 * p.width, p.name


def test_recovery_fit_reproduces_its_targets(recovery_fit):
    fit = recovery_fit
    median = np.nanmedian(fit.predictive_moments, axis=0)
    z = fit.targets.z(median)
    assert np.abs(z).max() < 3.0
    assert len(fit.posterior.generations) >= 2


@pytest.mark.parametrize("method", ["quasi", "abc"])
def test_a_fit_does_not_depend_on_the_number_of_workers(method):
    tiny = dataclasses.replace(
        RECOVERY,
        posterior=method,
        quasi_proposals=8,
        sobol_points=4,
        local_evaluations=4,
        particles=8,
        generations=1,
        batch=8,
        predictive_replicates=2,
        end="2021-12",
    )
    one, two = (calibrate(tiny, workers=w) for w in (1, 2))
    np.testing.assert_array_equal(one.posterior.theta, two.posterior.theta)
    np.testing.assert_array_equal(one.posterior.weight, two.posterior.weight)
    np.testing.assert_array_equal(one.search.best, two.search.best)


# --- the commands ---------------------------------------------------------------------------------


def cli(argv: list[str]) -> int:
    """`changwon-sim` through `main(argv)`."""
    from sim.cli.main import main

    return main(argv)


def test_calibrate_and_validate_write_their_folders(tmp_path, capsys):
    fit = tmp_path / "fit"
    assert cli(["calibrate", "--preset", "quick", "--workers", "1", "--out", str(fit)]) == 0
    identifier = capsys.readouterr().out.split(":")[0]
    assert identifier == registry_id(fit) and identifier.startswith("fit-")
    summary = json.loads((fit / "fit.json").read_text(encoding="utf-8"))
    assert summary["fit_id"] == identifier
    assert (
        summary["command"]
        == f"changwon-sim calibrate --preset quick --seed {PRESETS['quick'].seed}"
    )
    assert set(summary["estimate"]) == {p.name for p in free_parameters()}
    report = fit / "fit_report"
    for name in ("README.md", "targets.csv", "parameters.csv", "identification.csv"):
        assert (report / name).is_file(), name
    assert (report / "figures" / "hindcast_annual.png").is_file()
    assert identifier in (report / "README.md").read_text(encoding="utf-8")
    posterior = load_posterior(fit)
    assert 1 <= len(posterior.values) <= 2 * PRESETS["quick"].quasi_proposals
    assert posterior.cumulative_weight[-1] == pytest.approx(1.0)

    out = tmp_path / "validation"
    argv = ["validate", "--preset", "quick", "--workers", "1", "--posterior", str(fit)]
    assert cli([*argv, "--out", str(out), "--no-figures"]) == 0
    summary = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert summary["fit_id"] == identifier
    assert summary["hindcast"] and summary["rolling"]
    assert {r["horizon"] for r in summary["rolling"]} == {1, 2}
    assert (out / "README.md").is_file() and (out / "rolling.csv").is_file()


def test_bad_requests_exit_2(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    assert cli(["calibrate", "--preset", "quick", "--out", str(a_file)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert cli(["validate", "--posterior", str(tmp_path)]) == 2
    assert "run `changwon-sim calibrate` first" in capsys.readouterr().err
    assert cli(["calibrate", "--preset", "nonsense"]) == 2


def test_partner_names_match():  # the drivers name an export partner of the model
    assert load_drivers().delivery_partner in PARTNERS[1:]
