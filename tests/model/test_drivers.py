"""The driver model: transcribed data, estimation, simulation, monthly paths and scoring."""

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import solve_banded
from scipy.stats import norm

from sim.analysis import drivers_record as rec
from sim.analysis import scoring as sc
from sim.inputs.paths import CALIBRATION_DIR
from sim.model import drivers as d


def _yaml(name):
    return yaml.safe_load((CALIBRATION_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def history():
    return d.load_driver_history()


@pytest.fixture(scope="module")
def model(history):
    return d.estimate(history)


# --- transcribed data ---------------------------------------------------------------------------


def test_driver_data_match_hand_checked_figures():
    s = _yaml("drivers.yaml")["series"]
    assert s["real_gdp_growth"]["values"][2020] == -0.7
    assert s["real_gdp_growth"]["values"][2021] == 4.6
    assert s["real_gdp_growth"]["values"][2024] == 2.0
    assert s["real_gdp_growth"]["other_vintages"]["advance_estimates"]["values"][2021] == 4.0
    ex = s["customs_exports"]
    assert (ex["levels"][2001], ex["levels"][2020], ex["levels"][2024]) == (150.4, 512.85, 683.6)
    assert ex["reported_yoy_percent"][2009] == -13.9
    assert s["customs_exports_us"]["levels"][2021] == 95.90
    assert s["customs_exports_us"]["reported_yoy_percent"] == {2013: 6.0}
    assert s["customs_exports_china"]["levels"][2023] == 124.81
    assert s["customs_exports_china"]["reported_yoy_percent"] == {2013: 8.6}
    ppi = s["ppi_all_items"]
    assert ppi["values"][2015] == -4.0 and ppi["values"][2011] == 6.1 and 2016 not in ppi["values"]
    assert ppi["status_by_year"] == {2023: "unverified", 2024: "unverified"}
    fx = s["krw_per_usd"]
    assert fx["levels"][2018] == 1100.59 and fx["levels"][1998] == 1394.97
    assert fx["status_by_year"] == {2011: "derived"}
    for series in s.values():
        assert series["status"] in ("fact", "derived", "unverified") and series["source"]
        years = [int(y) for k in ("values", "levels") for y in series.get(k, {})]
        assert max(years, default=0) <= 2024


def test_level_growth_agrees_with_reported_growth_but_in_2012():
    ex = _yaml("drivers.yaml")["series"]["customs_exports"]
    for year, yoy in ex["reported_yoy_percent"].items():
        implied = 100 * (ex["levels"][year] / ex["levels"][year - 1] - 1)
        assert abs(implied - yoy) < (0.5 if year == 2012 else 0.15), year


def test_quarterly_table():
    q = _yaml("complex_quarterly.yaml")
    rows = q["quarters"]
    assert len(rows) == 28 and q["source"]
    assert rows["2024Q4"] == {
        "production": 158216,
        "employment": 118205,
        "firms": 3216,
        "operating_rate": 78.8,
        "production_revised": True,
    }
    assert rows["2018Q1"]["production"] == 136545 and rows["2020Q2"]["operating_rate"] == 72.9
    assert [k for k, r in rows.items() if r.get("sample_break")] == ["2018Q4", "2020Q3"]
    revised = [k for k, r in rows.items() if r.get("production_revised")]
    assert revised[0] == "2022Q4" and revised[-1] == "2024Q4" and len(revised) == 9
    for year, total in q["annual_production_sum"]["values"].items():
        quarters = sum(r["production"] for k, r in rows.items() if k.startswith(str(year)))
        assert abs(quarters / 1e4 - total) < 0.006, year


def test_outlook_record():
    o = _yaml("outlooks.yaml")
    assert o["gdp_growth"]["record"][2020] == {"KDI": 2.3, "BOK": 2.3, "IMF": 2.2, "actual": -1.0}
    assert o["customs_export_growth"]["record"][2021] == {"forecast": 6.0, "actual": 25.7}
    assert 2014 not in o["customs_export_growth"]["record"]
    assert o["kdi_components"]["private_consumption"][2020] == {"forecast": 2.1, "actual": -5.0}
    assert o["outlooks_2025"]["customs_export_growth"]["forecast"] == {
        "KITA": 1.8,
        "KIET": 2.2,
        "KOTRA": 2.6,
    }
    assert o["outlooks_2025"]["gdp_growth"]["forecast"] == {"KDI": 2.0, "BOK": 1.9, "IMF": 2.2}


def test_outlook_errors_recomputed():
    errors = rec.outlook_errors()
    reported = _yaml("outlooks.yaml")["customs_export_growth"]["reported_summary"]
    ex = errors["customs_export_growth"]
    assert ex["n"] == 13
    assert round(ex["mean_error"], 1) == reported["mean_error_pp"]
    assert round(ex["mae"], 1) == reported["mean_absolute_error_pp"]
    assert round(ex["rmse"], 1) == reported["rmse_pp"]
    kdi = errors["gdp_growth/KDI"]
    assert kdi["years"] == [2019, 2020, 2021, 2022, 2023, 2024]
    assert kdi["mae"] == pytest.approx((0.6 + 3.3 + 0.9 + 0.4 + 0.4 + 0.2) / 6)


# --- history ------------------------------------------------------------------------------------


def test_history_transforms(history):
    assert history.growth["domestic"][2020] == pytest.approx(math.log(0.993))
    assert history.growth["US"][2013] == pytest.approx(math.log(1.06))
    assert history.levels["US"][2013] == pytest.approx(58.5 * 1.06)
    assert history.growth["krw_per_usd"][2024] == pytest.approx(math.log(1364.4 / 1305.4))
    assert 2016 not in history.growth["producer_prices"]
    assert 2016 not in history.levels["producer_prices"]
    assert 2015 not in history.growth["krw_per_usd"] and 2016 not in history.growth["krw_per_usd"]
    assert min(history.growth["exports"]) == 2009


def test_window_cannot_pass_2024():
    with pytest.raises(ValueError, match="2024"):
        d.load_driver_history(2025)


def _with_future(history, values):
    growth = {
        k: {**s, **{2025 + i: v for i, v in enumerate(values)}} for k, s in history.growth.items()
    }
    levels = {
        k: {**s, **{2025 + i: 1e3 * (1 + abs(v)) for i, v in enumerate(values)}}
        for k, s in history.levels.items()
    }
    return d.DriverHistory(2030, growth, levels, history.info)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=6))
def test_nothing_after_2024_enters(history, values):
    base = d.estimate(history)
    fake = d.estimate(_with_future(history, values))
    assert fake.through == 2024
    assert fake.start_state == base.start_state and fake.deviations == base.deviations
    for e0, e1 in zip(base.equations, fake.equations, strict=True):
        assert e0.years == e1.years and np.array_equal(e0.coef, e1.coef) and e0.ssr == e1.ssr
    assert np.array_equal(base.scatter, fake.scatter)


# --- estimation ---------------------------------------------------------------------------------


def _synthetic_history(n, a, phi, sigma, corr, s_d, seed=0):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n + 50, 4)) @ np.linalg.cholesky(corr).T
    y = np.zeros((n + 50, 4))
    y[0] = a / (1 - phi)
    for t in range(1, n + 50):
        y[t] = a + phi * y[t - 1] + sigma * e[t]
    y = y[50:]
    years = range(2025 - n, 2025)  # ending in 2024: the model never reads later years
    growth = {name: dict(zip(years, y[:, i], strict=True)) for i, name in enumerate(d.EQUATIONS)}
    for p in ("US", "China"):
        growth[p] = {yr: g + s_d * rng.standard_normal() for yr, g in growth["exports"].items()}
    levels = {k: d._chain_index(v) for k, v in growth.items()}
    return d.DriverHistory(2024, growth, levels, {})


A = np.array([0.025, 0.04, 0.02, 0.01])
PHI = np.array([0.5, -0.1, 0.3, 0.0])
SIGMA = np.array([0.012, 0.12, 0.03, 0.06])
CORR = np.array([[1, 0.5, 0.3, -0.2], [0.5, 1, 0.4, 0], [0.3, 0.4, 1, 0.3], [-0.2, 0, 0.3, 1]])


def test_estimation_recovers_known_parameters():
    model = d.estimate(_synthetic_history(3000, A, PHI, SIGMA, CORR, 0.08))
    c = model.central_parameters()
    assert np.allclose(c.phi, PHI, atol=0.05)
    assert np.allclose(c.mean, A / (1 - PHI), atol=0.15 * SIGMA)
    assert np.allclose(c.sigma, SIGMA, rtol=0.05)
    assert c.s_d == pytest.approx(0.08, rel=0.05)
    assert np.allclose(c.correlation, CORR, atol=0.06)


def test_posterior_is_stationary_and_shrinks_with_data():
    spread = []
    for n in (25, 400):
        model = d.estimate(_synthetic_history(n, A, PHI, SIGMA, CORR, 0.08, seed=3))
        rng = np.random.default_rng(1)
        draws = [model.draw_parameters(rng) for _ in range(400)]
        phi = np.array([p.phi for p in draws])
        assert np.abs(phi).max() <= d.PHI_BOUND
        spread.append(phi.std(0))
    assert np.all(spread[1] < 0.5 * spread[0])


def test_phi_bound_on_a_near_unit_root():
    rng = np.random.default_rng(5)
    y = np.cumsum(rng.standard_normal(60)) * 0.01  # a random walk: OLS phi near one
    hist = _synthetic_history(60, A, PHI, SIGMA, CORR, 0.08)
    growth = {**hist.growth, "domestic": dict(zip(range(1965, 2025), y, strict=True))}
    model = d.estimate(d.DriverHistory(hist.through, growth, hist.levels, {}))
    draws = [model.draw_parameters(rng).phi[0] for _ in range(300)]
    assert max(abs(p) for p in draws) <= d.PHI_BOUND
    assert abs(model.central_parameters().phi[0]) <= d.PHI_BOUND


def test_model_on_file_data(model):
    assert all(e.kind == "ar1" for e in model.equations)
    assert model.common_years == (2013, 2014, 2020, 2021, 2022, 2023, 2024)
    assert model.start_state["exports"] == pytest.approx(math.log(683.6 / 632.2))
    assert model.deviation_n == 14
    c = model.central_parameters()
    assert np.allclose(np.diag(c.correlation), 1) and np.all(np.abs(c.phi) <= d.PHI_BOUND)


def test_short_history_falls_back(history):
    early = d.estimate(history.truncate(2012))
    kinds = {e.name: e.kind for e in early.equations}
    assert kinds == {
        "domestic": "iid",
        "exports": "iid",
        "producer_prices": "ar1",
        "krw_per_usd": "none",
    }
    out = d.simulate_annual(
        early.draw_parameters(np.random.default_rng(0)),
        early.start_state,
        2,
        np.zeros((2, d.N_NORMALS)),
    )
    assert np.isnan(out[:, d.DRIVERS.index("krw_per_usd")]).all()
    assert np.isfinite(np.delete(out, d.DRIVERS.index("krw_per_usd"), axis=1)).all()


# --- simulation ---------------------------------------------------------------------------------


def test_zero_normals_give_the_conditional_mean_path(model):
    p = model.central_parameters()
    out = d.simulate_annual(p, model.start_state, 30, np.zeros((30, d.N_NORMALS)))
    start = np.array([model.start_state[n] for n in d.EQUATIONS])
    expected = p.mean + p.phi ** np.arange(1, 31)[:, None] * (start - p.mean)
    cols = [d.DRIVERS.index(n) for n in ("domestic", "producer_prices", "krw_per_usd")]
    assert np.allclose(out[:, cols], expected[:, [0, 2, 3]], atol=1e-15)
    for partner in d.PARTNERS:
        assert np.allclose(out[:, d.DRIVERS.index(partner)], expected[:, 1], atol=1e-15)
    assert np.allclose(out[-1, cols], p.mean[[0, 2, 3]], atol=1e-6)


def test_normals_shape_is_fixed(model):
    with pytest.raises(ValueError, match="shape"):
        d.simulate_annual(model.central_parameters(), model.start_state, 3, np.zeros((3, 7)))


def test_simulated_innovations_have_the_model_correlation(model):
    p = model.draw_parameters(np.random.default_rng(2))
    z = np.random.default_rng(3).standard_normal((20000, 1, d.N_NORMALS))
    start = np.array([model.start_state[n] for n in d.EQUATIONS])
    sims = np.array([d.simulate_with_equations(p, start, 1, zk)[1][0] for zk in z])
    innov = (sims - p.a - p.phi * start) / p.sigma
    assert np.allclose(np.corrcoef(innov.T), p.correlation, atol=0.03)
    out = np.array([d.simulate_annual(p, start, 1, zk)[0] for zk in z[:8000]])
    us, china = out[:, d.DRIVERS.index("US")], out[:, d.DRIVERS.index("China")]
    share = p.sigma[1] ** 2 / (p.sigma[1] ** 2 + p.s_d**2)
    assert np.corrcoef(us, china)[0, 1] == pytest.approx(share, abs=0.04)


def test_hard_pin(model):
    p = model.central_parameters()
    z = np.random.default_rng(4).standard_normal((5, d.N_NORMALS))
    free = d.simulate_annual(p, model.start_state, 5, z)
    path = np.array([0.05, np.nan, 0.0, np.nan, np.nan])
    pinned = d.simulate_annual(p, model.start_state, 5, z, pins={"krw_per_usd": path})
    k = d.DRIVERS.index("krw_per_usd")
    assert pinned[0, k] == 0.05 and pinned[2, k] == 0.0
    i = d.EQUATIONS.index("krw_per_usd")
    e = z[:, :4] @ p.chol.T
    assert pinned[1, k] == pytest.approx(p.a[i] + p.phi[i] * 0.05 + p.sigma[i] * e[1, i])
    others = [j for j in range(len(d.DRIVERS)) if j != k]
    assert np.array_equal(pinned[:, others], free[:, others])  # hard pins condition nothing
    constant = d.simulate_annual(p, model.start_state, 5, z, pins={"US": 0.01})
    assert np.all(constant[:, d.DRIVERS.index("US")] == 0.01)
    with pytest.raises(ValueError, match="unknown driver"):
        d.simulate_annual(p, model.start_state, 5, z, pins={"Japan": 0.0})


def test_outlook_pin(model):
    p = model.central_parameters()
    zero = d.simulate_annual(
        p,
        model.start_state,
        3,
        np.zeros((3, d.N_NORMALS)),
        pins={"domestic": d.Outlook(0.02, 0.01)},
    )
    assert np.all(zero[:, 0] == 0.02)
    z = np.random.default_rng(6).standard_normal((6000, 1, d.N_NORMALS))
    pins = {"domestic": {"mean": 0.02, "sd": 0.01}, "US": d.Outlook(0.03, 0.05)}
    out = np.array([d.simulate_annual(p, model.start_state, 1, zk, pins)[0] for zk in z])
    dom, us = out[:, 0], out[:, d.DRIVERS.index("US")]
    assert dom.mean() == pytest.approx(0.02, abs=0.001)
    assert dom.std() == pytest.approx(0.01, rel=0.05)
    assert us.mean() == pytest.approx(0.03, abs=0.003)
    assert us.std() == pytest.approx(0.05, rel=0.05)
    ppi = out[:, d.DRIVERS.index("producer_prices")]
    assert np.corrcoef(dom, ppi)[0, 1] == pytest.approx(p.correlation[0, 2], abs=0.05)
    china = out[:, d.DRIVERS.index("China")]  # the pinned US keeps its link to total exports
    expected = p.sigma[1] / math.hypot(p.sigma[1], p.s_d)
    expected *= p.sigma[1] / math.hypot(p.sigma[1], p.s_d)
    assert np.corrcoef(us, china)[0, 1] == pytest.approx(expected, abs=0.05)


# --- monthly paths ------------------------------------------------------------------------------


def _annual_log_means(level, first_year):
    return first_year, np.log(np.exp(level).reshape(-1, 12).mean(1))


def test_monthly_level_matches_annual_growth():
    rng = np.random.default_rng(7)
    growth = {y: rng.normal(0.03, 0.1) for y in range(2019, 2075)}
    level = d.monthly_log_level(growth, 2020 * 12, 2074 * 12 + 11)
    _, means = _annual_log_means(level, 2020)
    assert np.abs(np.diff(means) - [growth[y] for y in range(2021, 2075)]).max() < 1e-10
    assert abs(means[2024 - 2020]) < 1e-12
    later = d.monthly_log_level(growth, "2025-01", "2030-12")  # base year 2024 not in the span
    _, means = _annual_log_means(later, 2025)
    assert abs(means[0] - growth[2025]) < 1e-12
    assert np.abs(np.diff(means) - [growth[y] for y in range(2026, 2031)]).max() < 1e-10


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-0.4, 0.4), min_size=1, max_size=12), st.integers(2018, 2030))
def test_monthly_level_property(values, first_year):
    growth = dict(zip(range(first_year + 1, first_year + 1 + len(values)), values, strict=False))
    last_year = first_year + len(values)
    base = min(max(2024, first_year), last_year)
    level = d.monthly_log_level(growth, first_year * 12, last_year * 12 + 11, base_year=base)
    _, means = _annual_log_means(level, first_year)
    assert np.abs(np.diff(means) - values).max() < 1e-10
    assert abs(means[base - first_year]) < 1e-12
    assert np.abs(np.diff(level, 2)).max() < 0.1  # smooth: kinks only at mid-year nodes


def test_monthly_level_needs_every_growth():
    with pytest.raises(ValueError, match="missing"):
        d.monthly_log_level({2025: 0.01, 2027: 0.02}, "2025-01", "2027-12")
    flat = d.monthly_log_level(([2024], [0.0]), "2024-01", "2024-12")
    assert np.allclose(flat, 0.0)


def _numpy_log_level_nodes(target, lead):
    """The node values as numpy and scipy computed them before `d.log_level_nodes` (the Newton
    steps with `scipy.linalg.solve_banded`); `lead` None: no growth of the first year."""
    n = len(target)

    def slopes(v):
        if n == 1:
            s = np.array([lead if lead is not None else 0.0])
            return s, s
        diff = np.diff(v)
        return np.concatenate([[lead if lead is not None else diff[0]], diff]), np.append(
            diff, diff[-1]
        )

    v = target.copy()
    for _ in range(30):
        s_lo, s_hi = slopes(v)
        e_lo, e_hi = np.exp(np.outer(s_lo, d._C_LOW)), np.exp(np.outer(s_hi, d._C_HIGH))
        total = e_lo.sum(1) + e_hi.sum(1)
        resid = v + np.log(total / 12.0) - target
        if np.abs(resid).max() < 1e-14:
            break
        if n == 1:
            v = v - resid
            continue
        h1, h2 = (e_lo @ d._C_LOW) / total, (e_hi @ d._C_HIGH) / total
        diag, upper, lower = 1.0 + h1 - h2, h2[:-1].copy(), -h1[1:].copy()
        if lead is None:
            diag[0] -= 2.0 * h1[0]
            upper[0] += h1[0]
        else:
            diag[0] -= h1[0]
        diag[-1] += 2.0 * h2[-1]
        lower[-1] -= h2[-1]
        band = np.zeros((3, n))
        band[0, 1:], band[1], band[2, :-1] = upper, diag, lower
        v = v - solve_banded((1, 1), band, resid)
    s_lo, s_hi = slopes(v)
    return np.concatenate([[v[0] - s_lo[0]], v, [v[-1] + s_hi[-1]]])


def test_log_level_nodes_kernel_matches_numpy():
    """The compiled Newton steps give the nodes numpy and LAPACK gave, to the last bit where
    the machine's numpy uses the dgemv it reproduces (else to rounding)."""
    rng = np.random.default_rng(11)
    exact = 0
    for trial in range(400):
        n = 1 + trial % 17
        target = np.concatenate(
            [[0.0], np.cumsum(rng.normal(0.02, [0.01, 0.1, 0.5][trial % 3], n - 1))]
        )
        target -= target[rng.integers(n)]
        lead = None if trial % 4 == 0 else float(rng.normal(0.02, 0.2))
        want = _numpy_log_level_nodes(target, lead)
        got = d.log_level_nodes(
            target, 0.0 if lead is None else lead, lead is not None, d._C_LOW, d._C_HIGH
        )
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
        exact += np.array_equal(got, want)
    assert exact >= 390  # all, on the machines the model was timed on


def test_solve_tridiagonal_kernel():
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 9):
        for _ in range(20):
            dl, diag, du = rng.normal(size=n), rng.normal(size=n) + 0.5, rng.normal(size=n)
            b = rng.normal(size=n)
            dense = np.diag(diag) + np.diag(du[:-1], 1) + np.diag(dl[:-1], -1)
            want = np.linalg.solve(dense, b)
            x = b.copy()
            d._solve_tridiagonal(dl.copy(), diag.copy(), du.copy(), x)
            np.testing.assert_allclose(x, want, rtol=1e-8, atol=1e-10)


# --- scoring ------------------------------------------------------------------------------------


def test_crps_of_a_point_is_the_absolute_error():
    assert sc.crps_sample([3.0], 5.5) == pytest.approx(2.5)
    assert sc.crps_sample(np.full(10, 3.0), 1.0) == pytest.approx(2.0)


def test_crps_exact_for_the_empirical_distribution():
    x = np.random.default_rng(8).normal(size=300)
    brute = np.abs(x - 0.3).mean() - 0.5 * np.abs(x[:, None] - x[None, :]).mean()
    assert sc.crps_sample(x, 0.3) == pytest.approx(brute, rel=1e-12)
    batch = sc.crps_sample(np.stack([x, x + 1]), np.array([0.3, 1.3]))
    assert np.allclose(batch, brute)


def test_crps_of_a_normal_sample_approaches_the_closed_form():
    mu, sd, y = 1.0, 2.0, 2.5
    x = np.random.default_rng(9).normal(mu, sd, 200_000)
    z = (y - mu) / sd
    closed = sd * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi))
    assert sc.crps_sample(x, y) == pytest.approx(closed, rel=0.01)


def test_interval_hit():
    x = np.arange(101.0)
    assert sc.interval_hit(x, 50, 0.5) and sc.interval_hit(x, 25, 0.5)
    assert not sc.interval_hit(x, 24.9, 0.5) and not sc.interval_hit(x, 95.1, 0.9)


def test_benchmarks_on_a_literal_series():
    levels = {2000: 100.0, 2001: 110.0, 2002: 121.0, 2003: 133.1}
    assert sc.no_change(levels) == 133.1
    assert sc.random_walk_drift(levels) == pytest.approx(146.41)
    assert sc.random_walk_drift(levels, horizon=2) == pytest.approx(161.051)
    assert sc.ar1_growth(levels) == pytest.approx(146.41)  # 3 growths: falls back to drift
    assert sc.no_change(levels, origin=2001) == 110.0
    # growth 0.1, 0.2, 0.1, 0.2, 0.1: the AR(1) of growth is g_t = 0.3 - g_(t-1) exactly
    logs = np.cumsum([0.0, 0.1, 0.2, 0.1, 0.2, 0.1])
    alt = {2000 + i: math.exp(v) for i, v in enumerate(logs)}
    assert sc.ar1_growth(alt) == pytest.approx(math.exp(logs[-1] + 0.2))
    assert sc.ar1_growth(alt, horizon=2) == pytest.approx(math.exp(logs[-1] + 0.3))
    assert sc.random_walk_drift(alt) == pytest.approx(math.exp(logs[-1] + 0.14))
    gappy = {2000: 100.0, 2001: 110.0, 2005: 50.0, 2006: 55.0}  # the gap is not a growth
    assert sc.random_walk_drift(gappy) == pytest.approx(55.0 * 1.1)


def test_skill_score():
    model, bench = [1.0, 2.0, 1.0], [2.0, 4.0, 2.0]
    s = sc.skill_score(model, bench)
    assert s["skill"] == pytest.approx(0.5) and s["low"] <= 0.5 <= s["high"]
    assert sc.skill_score(bench, bench)["skill"] == 0.0


def test_rolling_scores_are_deterministic_and_use_the_past_only(history):
    a = rec.rolling_driver_scores(2021, 2023, draws=60, seed=11, history=history)
    b = rec.rolling_driver_scores(2021, 2023, draws=60, seed=11, history=history)
    assert a == b
    rows = a["rows"]
    assert {r["series"] for r in rows} == set(rec.SCORED_SERIES)
    assert all(r["year"] == r["origin"] + 1 for r in rows)
    us = next(r for r in rows if r["series"] == "US" and r["origin"] == 2023)
    assert us["outcome"] == 127.8 and us["no_change"] == 115.71
    summary = a["summary"]["exports"]
    assert summary["n"] == 3 and set(summary["skill"]) == set(sc.BENCHMARKS)


def test_report_section(model):
    text = rec.drivers_report_markdown(model, draws=200)
    for needle in (
        "VAR",
        "20 coefficients",
        "krw_per_usd",
        "fnnews 202501011840460254",
        "| domestic | ar1 | 2011-2024 (14)",
        "EU",
    ):
        assert needle in text
