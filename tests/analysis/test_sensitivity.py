"""Sensitivity analysis: analytic benchmarks through the same pipeline as the model (design ->
evaluate -> analyse), the noise floor, common random numbers, chunked and resumable evaluation,
and the `sensitivity` command on a small real scenario."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.sensitivity import evaluate
from sim.analysis.sensitivity.design import (
    DEFAULT_OUTPUT_INDICATORS,
    DRIVERS,
    DUMMY,
    Factor,
    Output,
    SensitivityError,
    check_samples,
    design_values,
    make_design,
    resolve_outputs,
    scenario_factors,
)
from sim.analysis.sensitivity.evaluate import (
    chunk_points,
    evaluate_points,
    evaluate_replicates,
    point_inputs,
    point_replicates,
    simulate_point,
)
from sim.analysis.sensitivity.indices import analyse_output
from sim.analysis.sensitivity.run import SensitivityResult, run_sensitivity
from sim.cli.main import main
from sim.inputs.scenario_fields import Uniform
from sim.inputs.scenario_files import load_scenario
from sim.report import sensitivity_plots as plots

# --- analytic test functions, called through the same evaluation path as the model -------------

PI = math.pi
UNIFORM_PI = Uniform(dist="uniform", low=-PI, high=PI)
ISHIGAMI_FACTORS = [Factor(name, UNIFORM_PI) for name in ("x1", "x2", "x3")] + [Factor(DUMMY)]
OUT = [Output("production_krw", 2025)]  # the label is arbitrary for analytic models
S1_TRUE = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ST_TRUE = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
S13_TRUE = 0.2437


def ishigami(scenario, seed, replicate, values, outputs) -> np.ndarray:
    """Ishigami (a = 7, b = 0.1); ignores the scenario, the seed and the replicate."""
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    return np.array([math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)])


def noisy_ishigami(scenario, seed, replicate, values, outputs) -> np.ndarray:
    """Ishigami plus noise drawn from the replicate's seed, as the model's own randomness."""
    noise = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replicate,))).normal()
    return ishigami(scenario, seed, replicate, values, outputs) + 1.5 * noise


def analytic(method: str, samples: int, model=ishigami, **options) -> SensitivityResult:
    options.setdefault("replicates_per_point", 1)
    return run_sensitivity(
        None,
        method=method,
        samples=samples,
        outputs=OUT,
        seed=options.pop("seed", 20240101),
        factors=ISHIGAMI_FACTORS,
        model=model,
        **options,
    )


def index(result: SensitivityResult, measure: str) -> dict[str, tuple[float, float]]:
    rows = result.indices[result.indices["measure"] == measure]
    return {r.factor: (r.value, r.conf) for r in rows.itertuples()}


@pytest.fixture(scope="module")
def sobol_ishigami() -> SensitivityResult:
    return analytic("sobol", 1024, second_order=True)


def test_sobol_recovers_the_ishigami_indices(sobol_ishigami):
    s1, st = index(sobol_ishigami, "S1"), index(sobol_ishigami, "ST")
    for name in ("x1", "x2", "x3"):
        assert s1[name][0] == pytest.approx(S1_TRUE[name], abs=0.06), name
        assert st[name][0] == pytest.approx(ST_TRUE[name], abs=0.06), name
        assert 0 < st[name][1] < 0.15  # a bootstrap interval was computed
    # The deterministic function ignores the dummy: its indices are zero, the floor is zero.
    assert abs(s1[DUMMY][0]) < 1e-12 and abs(st[DUMMY][0]) < 1e-12
    flags = sobol_ishigami.indices.set_index(["measure", "factor"])["above_noise_floor"]
    assert flags["ST", "x3"] == "yes" and flags["S1", "x3"] == "no"


def test_second_order_finds_the_x1_x3_interaction(sobol_ishigami):
    s2 = sobol_ishigami.indices[sobol_ishigami.indices["measure"] == "S2"]
    pairs = {(r.factor, r.factor_2): r.value for r in s2.itertuples()}
    assert pairs["x1", "x3"] == pytest.approx(S13_TRUE, abs=0.1)
    assert abs(pairs["x1", "x2"]) < 0.1 and abs(pairs["x2", "x3"]) < 0.1


def test_convergence_table_covers_quarter_half_and_full_samples(sobol_ishigami):
    conv = sobol_ishigami.convergence
    assert sorted(conv["samples"].unique()) == [256, 512, 1024]
    full = conv[(conv["samples"] == 1024) & (conv["measure"] == "ST")].set_index("factor")
    st = index(sobol_ishigami, "ST")
    assert full.loc["x1", "value"] == pytest.approx(st["x1"][0])


def test_morris_ranks_x1_and_x2_above_x3():
    result = analytic("morris", 400)
    mu = {k: v[0] for k, v in index(result, "mu_star_scaled").items()}
    assert min(mu["x1"], mu["x2"]) > mu["x3"] > 0.5
    assert mu[DUMMY] == 0.0
    assert {"mu", "sigma", "mu_star"} <= set(result.indices["measure"])


def test_delta_runs_on_its_own_design_and_reuses_a_sobol_design(sobol_ishigami):
    result = analytic("delta", 256)
    delta = index(result, "delta")
    floor = delta[DUMMY][0] + delta[DUMMY][1]
    assert delta["x1"][0] > floor and delta["x2"][0] > floor
    assert delta[DUMMY][0] < 0.2  # the estimator's bias: the floor, near zero
    # Sample-free: the same analysis on the A and B rows of the Sobol' design.
    y = sobol_ishigami.evaluation.means[:, 0]
    reused = analyse_output(sobol_ishigami.design, y, "delta", samples=128)
    assert reused["delta"][0][1] > reused["delta"][0][3]  # x2 above the dummy


def test_the_dummy_measures_the_noise_of_a_stochastic_model():
    result = analytic("sobol", 512, model=noisy_ishigami, replicates_per_point=2)
    st = index(result, "ST")
    noise_share = float(result.noise["noise_share"].iloc[0])
    # The noise variance 1.5**2 / 2 of a point's mean against the output's variance.
    expected = 1.5**2 / 2 / (1.5**2 / 2 + 13.84)
    assert noise_share == pytest.approx(expected, abs=0.03)
    assert st[DUMMY][0] == pytest.approx(noise_share, abs=0.05)
    assert st[DUMMY][0] > 0.03
    # Real drivers clear the floor; the total index of x3 is also above it.
    flags = result.indices.set_index(["measure", "factor"])["above_noise_floor"]
    assert flags["ST", "x1"] == "yes" and flags["ST", "x2"] == "yes"
    assert result.noise_floor(OUT[0]) == pytest.approx(sum(st[DUMMY]))


# --- designs, common random numbers, point inputs ----------------------------------------------


def test_design_values_follow_the_distributions():
    design = make_design("sobol", [f.name for f in ISHIGAMI_FACTORS], 64, seed=0)
    assert design.points == 64 * (4 + 2)
    values = design_values(design, ISHIGAMI_FACTORS)
    x1 = np.array([v["x1"] for v in values])
    assert -PI <= x1.min() < -3 and 3 < x1.max() <= PI
    assert all(0.0 <= v[DUMMY] <= 1.0 for v in values)
    again = make_design("sobol", [f.name for f in ISHIGAMI_FACTORS], 64, seed=0)
    np.testing.assert_array_equal(design.unit, again.unit)


def test_points_an_estimator_compares_share_their_seeds():
    design = make_design("sobol", [f.name for f in ISHIGAMI_FACTORS], 8, seed=1)
    values = design_values(design, ISHIGAMI_FACTORS)
    step = design.rows_per_sample
    for j in range(8):
        a = point_replicates(values[j * step], 4)
        for i in range(1, 4):  # A and AB_i for every real factor: common random numbers
            assert point_replicates(values[j * step + i], 4) == a
        # AB_dummy changes only the dummy: other seeds, which is what the dummy measures.
        assert point_replicates(values[j * step + 4], 4) != a
    assert point_replicates({"x1": 0.3}, 3) == range(0, 3)


def test_samples_must_suit_the_method():
    with pytest.raises(SensitivityError, match="power of 2"):
        check_samples("sobol", 100)
    with pytest.raises(SensitivityError, match="second-order"):
        make_design("morris", ["a", "b"], 4, 0, second_order=True)


def test_outputs_default_to_the_last_full_year_and_stay_in_the_period(small_scenario):
    scenario = load_scenario(small_scenario)
    assert resolve_outputs(scenario, None) == [
        Output(name, 2025) for name in DEFAULT_OUTPUT_INDICATORS
    ]
    assert resolve_outputs(scenario, ["exports_usd"]) == [Output("exports_usd", 2025)]
    with pytest.raises(SensitivityError, match="outside the scenario's period"):
        resolve_outputs(scenario, ["exports_usd:2031"])
    with pytest.raises(SensitivityError, match="did you mean 'exports_usd'"):
        resolve_outputs(scenario, ["export_usd:2025"])


def test_point_inputs_set_factors_and_keep_the_rest_of_the_replicate(small_scenario):
    from sim.ensemble.replicate import replicate_inputs

    scenario = load_scenario(small_scenario)
    values = {"tariffs.reciprocal.rate": 0.123, "elasticity_long_run": 2.2, DUMMY: 0.5}
    scenario_p, params = point_inputs(scenario, 7, 3, values)
    assert scenario_p.tariffs[0].rate == 0.123
    assert params.elasticity_long_run == 2.2
    # Every other parameter is the replicate's draw, exactly as `run` would use it.
    _, run_params = replicate_inputs(scenario, 7, 3)
    other = [k for k in run_params.as_dict() if k != "elasticity_long_run"]
    assert all(getattr(params, k) == getattr(run_params, k) for k in other)


# --- evaluation: chunks, workers, resume --------------------------------------------------------

SMALL = """\
name: small-sensitivity
period: {start: 2025-01, end: 2025-12}
runs: {replicates: 4, seed: 3}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-02}
uncertain:
  tariffs.reciprocal.rate: {dist: uniform, low: 0.0, high: 0.5}
  elasticity_long_run: {dist: triangular, low: 1.5, mode: 2.0, high: 2.5}
"""


@pytest.fixture
def small_scenario(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_real_model_points_do_not_depend_on_workers(small_scenario):
    scenario = load_scenario(small_scenario)
    factors = scenario_factors(scenario)
    design = make_design("morris", [f.name for f in factors], 2, seed=0)
    values = design_values(design, factors)
    outputs = [Output("exports_usd", 2025), "employment:2025"]
    model = functools.partial(simulate_point, firms=120)
    one = evaluate_points(scenario, values, 2, 5, 1, outputs, model=model)
    # Three chunks over two worker processes: the same numbers.
    two = evaluate_points(scenario, values, 2, 5, 2, outputs, model=model, points_per_chunk=3)
    assert one.shape == (design.points, 2)
    np.testing.assert_array_equal(one, two)
    assert np.all(one > 0)


class Interrupting:
    """Counts calls; raises KeyboardInterrupt at call number `stop_at` (0: never)."""

    def __init__(self, stop_at: int = 0) -> None:
        self.calls, self.stop_at = 0, stop_at

    def __call__(self, scenario, seed, replicate, values, outputs) -> np.ndarray:
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return ishigami(scenario, seed, replicate, values, outputs)


def test_resume_skips_finished_chunks(tmp_path):
    design = make_design("sobol", [f.name for f in ISHIGAMI_FACTORS], 16, seed=0)
    values = design_values(design, ISHIGAMI_FACTORS)
    per_chunk = chunk_points(4)  # points per chunk at 4 replicates a point
    partial = tmp_path / ".partial" / "job"
    first = Interrupting(stop_at=3 * per_chunk * 4 + 5)  # inside the fourth chunk
    with pytest.raises(KeyboardInterrupt):
        evaluate_points(None, values, 4, 0, 1, OUT, model=first, partial_dir=partial)
    assert len(list(partial.glob("chunk-*.npy"))) == 3
    second = Interrupting()
    resumed = evaluate_replicates(
        None, values, 4, 0, 1, OUT, model=second, partial_dir=partial, resume=True
    )
    assert resumed.chunks_resumed == 3
    assert second.calls == (design.points - 3 * per_chunk) * 4
    fresh = evaluate_points(None, values, 4, 0, 1, OUT, model=ishigami)
    np.testing.assert_array_equal(resumed.means, fresh)


# --- the command --------------------------------------------------------------------------------


def run_cli(argv: list[str]) -> int:
    """The command line, through `main(argv)`."""
    return main(argv)


def only_folder(root: Path) -> Path:
    (folder,) = [p for p in root.iterdir() if not p.name.startswith(".")]
    return folder


def test_sensitivity_command_writes_indices_manifest_and_figures(small_scenario, tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["sensitivity", str(small_scenario), "--samples", "4", "--replicates-per-point", "2"]
    argv += ["--workers", "2", "--out", str(out), "--output", "exports_usd:2025", "employment"]
    assert run_cli(argv) == 0
    folder = only_folder(out / "small-sensitivity")
    assert folder.name.startswith("sensitivity-")
    assert str(folder) in capsys.readouterr().out
    assert not (out / ".partial").exists()  # the finished job's chunks are cleaned up
    raw = (folder / "indices.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    indices = pd.read_csv(folder / "indices.csv", encoding="utf-8-sig")
    assert set(indices["output"]) == {"exports_usd:2025", "employment:2025"}
    factors = {"tariffs.reciprocal.rate", "elasticity_long_run", "drivers", "dummy"}
    assert set(indices["factor"]) == factors
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["method"] == "sobol" and manifest["samples"] == 4
    assert manifest["design_points"] == 4 * (4 + 2)
    assert manifest["replicates_per_point"] == 2 and manifest["seed"] == 3
    assert set(manifest["noise"]) == {"exports_usd:2025", "employment:2025"}
    for name in ("indices.csv", "convergence.csv", "design.csv", "noise.csv", "scenario.yaml"):
        assert name in manifest["files"], name
    figures = {p.name for p in (folder / "figures").iterdir()}
    assert {"indices_exports_usd_2025.png", "convergence_exports_usd_2025.png"} <= figures
    assert "through_time_exports_usd.png" in figures


def test_morris_command_without_figures(small_scenario, tmp_path):
    out = tmp_path / "results"
    argv = ["sensitivity", str(small_scenario), "--method", "morris", "--samples", "2"]
    argv += ["--replicates-per-point", "1", "--workers", "1", "--out", str(out), "--no-figures"]
    argv += ["--output", "production_krw", "--through-time", "none"]
    assert run_cli(argv) == 0
    folder = only_folder(out / "small-sensitivity")
    assert not (folder / "figures").exists()
    indices = pd.read_csv(folder / "indices.csv", encoding="utf-8-sig")
    assert {"mu_star", "mu_star_scaled", "sigma"} <= set(indices["measure"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--output", "exports_usd:2031"], "outside the scenario's period"),
        (["--samples", "6"], "power of 2"),
        (["--method", "delta", "--samples", "10"], "at least 32"),
        (["--method", "delta", "--second-order"], "--second-order needs --method sobol"),
        (["--output", "exportz"], "unknown indicator"),
        (["--replicates-per-point", "0"], "at least 1"),
    ],
)
def test_bad_requests_exit_2_and_write_nothing(small_scenario, tmp_path, capsys, extra, message):
    out = tmp_path / "results"
    assert run_cli(["sensitivity", str(small_scenario), "--out", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_scenario_without_uncertain_inputs_is_refused(tmp_path, capsys):
    path = tmp_path / "plain.yaml"
    path.write_text("name: plain\nperiod: {start: 2025-01, end: 2025-12}\n", encoding="utf-8")
    assert run_cli(["sensitivity", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "no `uncertain` inputs" in capsys.readouterr().err


def test_interrupted_command_resumes_from_its_chunks(small_scenario, tmp_path, monkeypatch, capsys):
    calls = {"n": 0, "stop": 0}
    real = simulate_point

    def counting(scenario, seed, replicate, values, outputs, **options):
        calls["n"] += 1
        if calls["n"] == calls["stop"]:
            raise KeyboardInterrupt
        return real(scenario, seed, replicate, values, outputs, firms=100, **options)

    monkeypatch.setattr(evaluate, "simulate_point", counting)
    out = tmp_path / "results"
    argv = ["sensitivity", str(small_scenario), "--samples", "4", "--replicates-per-point", "8"]
    argv += ["--workers", "1", "--out", str(out), "--no-figures", "--output", "exports_usd"]
    per_chunk = chunk_points(8) * 8  # simulations per chunk
    calls["stop"] = 2 * per_chunk + 1  # interrupted in the third chunk
    assert run_cli(argv) == 130
    assert "--resume" in capsys.readouterr().err
    calls.update(n=0, stop=0)
    assert run_cli([*argv, "--resume"]) == 0
    points = 4 * (4 + 2)  # factors: the rate, the elasticity, the drivers, the dummy
    assert calls["n"] == points * 8 - 2 * per_chunk
    manifest = json.loads(
        (only_folder(out / "small-sensitivity") / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["chunks_resumed"] == 2


# --- figures -------------------------------------------------------------------------------------


def test_plot_functions_draw_on_a_given_axes_and_return_it(sobol_ishigami):
    from sim.report.plots import new_axes

    indices, conv = sobol_ishigami.indices, sobol_ishigami.convergence
    calls = [
        lambda ax: plots.index_bars(indices, "production_krw", 2025, "sobol", ax=ax),
        lambda ax: plots.second_order_heatmap(indices, "production_krw", 2025, ax=ax),
        lambda ax: plots.through_time_chart(indices, "production_krw", "ST", ax=ax),
        lambda ax: plots.convergence_chart(conv, "production_krw", 2025, "ST", 0.0, ax=ax),
    ]
    for draw in calls:
        ax = new_axes()
        assert draw(ax) is ax
        assert draw(None) is not None
    morris = analytic("morris", 20)
    ax = plots.morris_scatter(morris.indices, "production_krw", 2025)
    assert "Morris" in ax.get_title()


# --- paired effects, all parameters as factors, the size guard, labels ---------------------------

BASELINE = """\
name: small-baseline
period: {start: 2025-01, end: 2025-12}
runs: {replicates: 4, seed: 3}
"""


def test_a_paired_effect_of_a_scenario_on_itself_is_exactly_zero(small_scenario):
    """Common random numbers: the scenario and the baseline share every draw of a replicate."""
    scenario = load_scenario(small_scenario)
    names = ["tariffs.reciprocal.rate", "elasticity_long_run", DUMMY]
    values = {"tariffs.reciprocal.rate": 0.3, "elasticity_long_run": 2.1, DUMMY: 0.4}
    own = evaluate.inputs_of(scenario, names)
    assert own == {"tariffs.reciprocal.rate", "elasticity_long_run"}
    effect = evaluate.paired_point(
        scenario, 3, 2, values, OUT[:1], baseline=scenario, baseline_inputs=own,
        scenario_inputs=own, firms=120,
    )  # fmt: skip
    np.testing.assert_array_equal(effect, 0.0)


def test_a_tariff_only_the_scenario_has_moves_the_scenario_alone(small_scenario, tmp_path):
    scenario = load_scenario(small_scenario)
    (tmp_path / "base.yaml").write_text(BASELINE, encoding="utf-8")
    base = load_scenario(tmp_path / "base.yaml")
    names = ["tariffs.reciprocal.rate", "elasticity_long_run"]
    assert evaluate.inputs_of(base, names) == {"elasticity_long_run"}
    outputs = [Output("exports_usd_US", 2025)]
    common = {"baseline": base, "baseline_inputs": frozenset({"elasticity_long_run"}),
              "scenario_inputs": frozenset(names), "firms": 120}  # fmt: skip
    low = evaluate.paired_point(scenario, 3, 1, {names[0]: 0.05, names[1]: 2.0}, outputs, **common)
    high = evaluate.paired_point(scenario, 3, 1, {names[0]: 0.45, names[1]: 2.0}, outputs, **common)
    assert high[0] < low[0] < 0  # a higher tariff: a larger fall in US exports than the baseline


def test_all_factors_are_every_free_parameter_and_one_posterior(small_scenario):
    from sim.analysis.sensitivity.design import POSTERIOR, all_factors
    from sim.inputs.parameters import PARAMETER_NAMES, load_posterior, load_registry

    scenario = load_scenario(small_scenario)
    factors = all_factors(scenario)
    names = [f.name for f in factors]
    assert set(names[:2]) == {"tariffs.reciprocal.rate", "elasticity_long_run"}
    assert names[-2:] == [DRIVERS, DUMMY]
    posterior = load_posterior()
    grouped = set(posterior.names) if posterior is not None else set()
    registry = load_registry()
    free = {n for n in PARAMETER_NAMES if registry[n].low < registry[n].high and n not in grouped}
    assert free <= set(names)
    assert not grouped & set(names)  # the fitted parameters move together, as one factor
    assert (POSTERIOR in names) == bool(grouped)
    prior = next(f for f in factors if f.name == "bass_q")
    assert (
        prior.value(0.0) == registry["bass_q"].low and prior.value(1.0) == registry["bass_q"].high
    )


def test_the_posterior_factor_picks_one_draw_of_the_fit(small_scenario):
    from sim.analysis.sensitivity.design import POSTERIOR
    from sim.inputs.parameters import load_posterior

    posterior = load_posterior()
    if posterior is None:
        pytest.skip("no fitted posterior in calibration/")
    scenario = load_scenario(small_scenario)
    for u in (0.1, 0.9):
        _, params = point_inputs(scenario, 7, 3, {POSTERIOR: u})
        for name, value in posterior.draw(u).items():
            assert getattr(params, name) == value


def test_sensitivity_baseline_command_writes_effects(small_scenario, tmp_path, capsys):
    (tmp_path / "base.yaml").write_text(BASELINE, encoding="utf-8")
    out = tmp_path / "results"
    argv = ["sensitivity", str(small_scenario), "--baseline", str(tmp_path / "base.yaml")]
    argv += ["--samples", "4", "--replicates-per-point", "1", "--workers", "1", "--out", str(out)]
    argv += ["--output", "exports_usd_US:2025", "--through-time", "none", "--lang", "ko"]
    assert run_cli(argv) == 0
    captured = capsys.readouterr()
    assert "x 2 scenarios = 48 simulations of 12 months" in captured.err  # said up front
    folder = only_folder(out / "small-sensitivity")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["baseline"]["scenario"] == "small-baseline"
    assert "baseline.yaml" in manifest["files"]
    assert manifest["command_line"].startswith("changwon-sim sensitivity ")
    design = pd.read_csv(folder / "design.csv", encoding="utf-8-sig")
    assert (design["exports_usd_US:2025"] < 0).all()  # the effect of a tariff on US sales
    assert (folder / "figures" / "indices_exports_usd_US_2025.ko.png").is_file()


def test_an_analysis_over_the_time_limit_is_refused_up_front(small_scenario, tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["sensitivity", str(small_scenario), "--factors", "all", "--samples", "512"]
    argv += ["--max-minutes", "1", "--out", str(out)]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: this analysis (") and "--yes" in err and "--samples" in err
    assert not out.exists()


def test_factor_labels_are_words_not_keys():
    text = plots.factor_text("tariff_passthrough")
    assert text == "Share of the tariff passed on to US\nbuyers"  # wrapped at 40 characters
    assert plots.factor_text("macro.producer_price_growth") == "Producer-price inflation"
    assert plots.factor_text("dummy") == "A dummy input (the noise floor)"
    assert plots.factor_text("payout_rate") == "Payout rate"  # no wording: the name, readable
    assert "가상 입력" in plots.factor_text("dummy", "ko")
    assert plots.factor_text("drivers").startswith("Paths of demand, prices and the won")


# --- the drivers as one factor -----------------------------------------------------------------

PINNED = """\
name: small-pinned
period: {start: 2025-01, end: 2025-12}
runs: {replicates: 4, seed: 3}
macro:
  producer_price_growth: 0.02
  krw_per_usd: 1400
  demand_growth: {domestic: 0.01, US: 0.02, EU: 0.0, China: 0.0, rest_of_world: 0.01}
uncertain:
  elasticity_long_run: {dist: triangular, low: 1.5, mode: 2.0, high: 2.5}
"""


def test_the_drivers_are_a_factor_unless_the_scenario_pins_every_one(small_scenario, tmp_path):
    from sim.analysis.sensitivity.design import scenario_factors

    assert [f.name for f in scenario_factors(load_scenario(small_scenario))][-2:] == [
        DRIVERS,
        DUMMY,
    ]
    (tmp_path / "pinned.yaml").write_text(PINNED, encoding="utf-8")
    pinned = load_scenario(tmp_path / "pinned.yaml")
    assert DRIVERS not in [f.name for f in scenario_factors(pinned)]
    # A baseline that draws them makes them a factor of the pair.
    assert DRIVERS in [f.name for f in scenario_factors(pinned, drivers=True)]


def test_the_drivers_factor_gives_every_replicate_of_a_point_one_driver_draw(small_scenario):
    from sim.ensemble.replicate import build_model

    scenario = load_scenario(small_scenario)

    def demand(replicate: int, values: dict) -> np.ndarray:
        scenario_p, params = point_inputs(scenario, 7, replicate, values, fixed_parameters=True)
        draw = evaluate.point_driver_draw(values)
        return build_model(scenario_p, params, 7, replicate, 60, driver_draw=draw).env.demand_index

    np.testing.assert_array_equal(demand(1, {DRIVERS: 0.3}), demand(2, {DRIVERS: 0.3}))
    assert not np.array_equal(demand(1, {DRIVERS: 0.3}), demand(1, {DRIVERS: 0.7}))
    assert not np.array_equal(demand(1, {}), demand(2, {}))  # not a factor: each its own


def test_a_paired_effect_at_one_driver_draw_is_far_less_noisy(tmp_path):
    """With the drivers left in the noise, a tariff's effect on US sales varies with each
    replicate's US demand; at one driver draw, what remains is the firms' own noise (the
    parameters are held at their central values, as `--fixed-parameters` does)."""
    for name, text in (("scenario", SMALL), ("base", BASELINE)):  # two years: 2025-2026
        text = text.replace("end: 2025-12", "end: 2026-12")
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    scenario, base = (load_scenario(tmp_path / f"{n}.yaml") for n in ("scenario", "base"))
    rate = "tariffs.reciprocal.rate"
    common = {"baseline": base, "baseline_inputs": frozenset(),
              "scenario_inputs": frozenset({rate}), "fixed_parameters": True}  # fmt: skip
    outputs = [Output("exports_usd_US", 2026)]

    def effects(values: dict) -> np.ndarray:
        return np.array(
            [evaluate.paired_point(scenario, 5, r, values, outputs, **common)[0] for r in range(8)]
        )

    own_drivers = effects({rate: 0.25})
    one_draw = effects({rate: 0.25, DRIVERS: 0.5})
    assert one_draw.std() < 0.5 * own_drivers.std()  # measured: 0.27 (0.13-0.38 over seeds 5-9)
