"""Result tables and folders: annual aggregation, annual.csv, summary.json, atomic writes."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import math
import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from sim.analysis.history import history_sources, load_history
from sim.ensemble import results
from sim.ensemble.tables import (
    FLOAT_FORMAT,
    MAIN_INDICATORS,
    STANDARD_QUANTILES,
    annual_summary,
    annual_table,
    compare_tables,
    quantile_columns,
    quantile_label,
    resolve_quantiles,
)
from sim.inputs.calendar import format_month, parse_month
from sim.inputs.names import SECTORS
from sim.model.indicators import INDICATOR_NAMES, INDICATORS, annual_from_monthly
from sim.report.result_figures import FIGURE_INDICATORS, compare_figures, fan_figures

QUANTILES = [0.05, 0.1, 0.5, 0.9, 0.95]
NOW = datetime(2025, 8, 1, 12, 30, 5, tzinfo=UTC)
HASH = "0123456789abcdef" * 4


def make_monthly(
    replicates: int = 20, n_months: int = 30, start: str = "2025-01", seed: int = 7
) -> pd.DataFrame:
    """Deterministic synthetic run: plausible magnitudes, integer counts, consistent ratios."""
    rng = np.random.default_rng(seed)
    first = parse_month(start)
    month_labels = [format_month(first + k) for k in range(n_months)]
    shape = (replicates, n_months)
    trend = 1.0 + 0.002 * np.arange(n_months)
    data: dict[str, np.ndarray] = {}
    data["production_krw"] = 5.2e12 * trend * rng.lognormal(0.0, 0.05, shape)
    data["value_added_krw"] = 0.3 * data["production_krw"] * rng.uniform(0.9, 1.1, shape)
    partners = rng.uniform(0.5, 1.5, (4, *shape)) * 0.38e9
    for k, p in enumerate(("US", "EU", "China", "rest_of_world")):
        data[f"exports_usd_{p}"] = partners[k]
    data["exports_usd"] = partners.sum(axis=0)
    data["employment"] = np.round(120_000 + rng.normal(0, 800, shape))
    data["active_firms"] = np.round(3200 + rng.normal(0, 15, shape))
    data["entries"] = rng.integers(0, 6, shape).astype(float)
    data["exits"] = rng.integers(0, 6, shape).astype(float)
    data["adopters"] = np.minimum(np.cumsum(rng.integers(0, 9, shape), axis=1), 3000).astype(float)
    data["adoption_share"] = data["adopters"] / data["active_firms"]
    data["labour_productivity"] = data["production_krw"] / data["employment"]
    data["defect_rate"] = rng.uniform(0.01, 0.03, shape)
    data["tariff_cost_krw"] = rng.uniform(0, 2e10, shape)
    data["defence_deliveries_krw"] = rng.uniform(0, 4e11, shape)
    data["defence_work_krw"] = rng.uniform(0, 4e11, shape)
    data["defence_backlog_krw"] = rng.uniform(0, 8e12, shape)
    data["production_real_krw"] = data["production_krw"] / trend
    data["programme_additional_adopters"] = np.round(0.1 * data["adopters"])
    sector_share = np.array([0.4, 0.2, 0.25, 0.1, 0.05])
    for share, sector in zip(sector_share, SECTORS, strict=True):
        data[f"production_krw_{sector}"] = share * data["production_krw"]
        data[f"exports_usd_{sector}"] = share * data["exports_usd"]
        data[f"employment_{sector}"] = share * data["employment"]
    data["region_production_krw"] = 1.6 * data["production_krw"]
    data["region_value_added_krw"] = 0.6 * data["production_krw"]
    data["region_employment"] = 1.4 * data["employment"]
    frame = pd.DataFrame(
        {
            "replicate": np.repeat(np.arange(replicates, dtype=np.int64), n_months),
            "month": np.tile(np.array(month_labels, dtype=object), replicates),
        }
    )
    for name in INDICATOR_NAMES:
        frame[name] = data[name].reshape(-1).astype(np.float64)
    return frame


@pytest.fixture(scope="module")
def monthly() -> pd.DataFrame:
    return make_monthly()


@pytest.fixture(scope="module")
def annual(monthly) -> pd.DataFrame:
    return annual_table(monthly)


def read_csv_rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------ annual aggregation


def test_annual_table_shape_and_months(annual):
    assert list(annual.columns[:3]) == ["replicate", "year", "months"]
    assert list(annual.columns[3:]) == list(INDICATOR_NAMES)
    assert len(annual) == 20 * 3
    assert annual.groupby("year")["months"].first().to_dict() == {2025: 12, 2026: 12, 2027: 6}
    assert annual["replicate"].dtype == np.int64 and annual["year"].dtype == np.int64


@pytest.mark.parametrize("year", [2025, 2027])
def test_annual_matches_hand_computation(monthly, annual, year):
    rep = 3
    rows = monthly[(monthly["replicate"] == rep) & monthly["month"].str.startswith(f"{year}-")]
    got = annual[(annual["replicate"] == rep) & (annual["year"] == year)].iloc[0]
    last = rows.iloc[-1]
    # flows: sums over the year's months in the run
    for name in ("production_krw", "exports_usd", "exports_usd_US", "entries", "tariff_cost_krw"):
        assert got[name] == pytest.approx(math.fsum(rows[name]), rel=1e-13)
    # stocks: the value in the year's last month
    for name in ("employment", "active_firms", "adopters", "region_employment"):
        assert got[name] == last[name]
    # ratios: recomputed from the annual figures
    assert got["adoption_share"] == pytest.approx(last["adopters"] / last["active_firms"], 1e-15)
    productivity = math.fsum(rows["production_krw"]) / (math.fsum(rows["employment"]) / len(rows))
    assert got["labour_productivity"] == pytest.approx(productivity, rel=1e-13)
    assert got["defect_rate"] == pytest.approx(math.fsum(rows["defect_rate"]) / len(rows), 1e-13)
    assert got["months"] == len(rows)


@pytest.mark.parametrize(("start", "n_months"), [("2025-01", 30), ("2025-03", 25), ("2024-12", 1)])
def test_annual_table_equals_annual_from_monthly_bit_for_bit(start, n_months):
    frame = make_monthly(replicates=7, n_months=n_months, start=start, seed=11)
    # Wildly different magnitudes make any change of summation order visible in the last bits.
    scale = np.random.default_rng(3).lognormal(0, 8, len(frame))
    frame["production_krw"] *= scale
    frame["tariff_cost_krw"] *= scale[::-1]
    table = annual_table(frame)
    months = np.array([parse_month(m) for m in frame["month"][frame["replicate"] == 0]])
    for rep in range(7):
        values = frame.loc[frame["replicate"] == rep, list(INDICATOR_NAMES)].to_numpy(float)
        years, expected = annual_from_monthly(values, months)
        got = table[table["replicate"] == rep]
        assert got["year"].tolist() == years.tolist()
        np.testing.assert_array_equal(got[list(INDICATOR_NAMES)].to_numpy(), expected)


def test_annual_table_unsorted_and_ragged_input(monthly, annual):
    shuffled = monthly.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(annual_table(shuffled), annual)
    # One replicate missing its last months: falls back to the per-replicate reference.
    ragged = monthly[~((monthly["replicate"] == 0) & (monthly["month"] >= "2027-04"))]
    table = annual_table(ragged)
    row = table[(table["replicate"] == 0) & (table["year"] == 2027)].iloc[0]
    assert row["months"] == 3
    pd.testing.assert_frame_equal(
        table[table["replicate"] > 0].reset_index(drop=True),
        annual[annual["replicate"] > 0].reset_index(drop=True),
    )


def test_annual_table_rejects_bad_input(monthly):
    with pytest.raises(ValueError, match="lacks columns"):
        annual_table(monthly.drop(columns=["employment"]))
    bad = monthly.copy()
    bad.loc[0, "month"] = "2025-13"
    with pytest.raises(ValueError, match="YYYY-MM"):
        annual_table(bad)
    with pytest.raises(ValueError, match="same month twice"):
        annual_table(pd.concat([monthly, monthly.iloc[:1]]))


# ------------------------------------------------------------------ summaries


def test_quantile_labels_and_levels():
    assert [quantile_label(q) for q in (0.05, 0.1, 0.5, 0.025, 1.0)] == [
        "q05",
        "q10",
        "q50",
        "q2_5",
        "q100",
    ]
    assert quantile_columns(["q05", "mean", "q2_5", "q50_diff"]) == {
        0.025: "q2_5",
        0.05: "q05",
    }
    assert quantile_columns(["q50_diff", "q50_pct"], suffix="diff") == {0.5: "q50_diff"}
    assert resolve_quantiles([0.5, 0.025]) == (0.025, *STANDARD_QUANTILES)
    with pytest.raises(ValueError):
        resolve_quantiles([1.5])
    with pytest.raises(ValueError):
        resolve_quantiles([float("nan")])


def test_annual_summary_statistics(annual):
    summary = annual_summary(annual, QUANTILES)
    assert list(summary.columns) == [
        "year",
        "indicator",
        "unit",
        "mean",
        "q05",
        "q10",
        "q25",
        "q50",
        "q75",
        "q90",
        "q95",
        "months",
    ]
    assert len(summary) == 3 * len(INDICATOR_NAMES)
    row = summary[(summary["year"] == 2026) & (summary["indicator"] == "employment")].iloc[0]
    values = annual.loc[annual["year"] == 2026, "employment"].to_numpy()
    assert row["mean"] == pytest.approx(values.mean(), rel=1e-15)
    assert row["q10"] == np.quantile(values, 0.1)
    assert row["q95"] == np.quantile(values, 0.95)
    assert row["unit"] == "persons" and row["months"] == 12


# ------------------------------------------------------------------ run folders


def write(tmp_path, monthly, **kwargs):
    kwargs.setdefault("now", NOW)
    return results.write_run_results(
        tmp_path,
        "test-run",
        "name: test-run\ntitle: 시험\n",
        HASH,
        {"scenario_hash": HASH, "replicates": 20, "seed": np.int64(0)},
        monthly,
        QUANTILES,
        **kwargs,
    )


def test_run_folder_contents(tmp_path, monthly):
    folder = write(tmp_path, monthly)
    assert folder == tmp_path / "test-run" / "20250801T123005Z-01234567"
    assert sorted(p.name for p in folder.iterdir()) == [
        "annual.csv",
        "manifest.json",
        "monthly.parquet",
        "scenario.yaml",
        "summary.json",
    ]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 0 and manifest["created_utc"] == "2025-08-01T12:30:05Z"
    assert set(manifest["files"]) == {
        "annual.csv",
        "monthly.parquet",
        "scenario.yaml",
        "summary.json",
    }
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert (folder / "scenario.yaml").read_text(encoding="utf-8") == "name: test-run\ntitle: 시험\n"
    back = pd.read_parquet(folder / "monthly.parquet")
    pd.testing.assert_frame_equal(back, monthly, check_dtype=False)
    assert back["replicate"].dtype == np.int64
    # nothing temporary left beside the result
    assert [p.name for p in (tmp_path / "test-run").iterdir()] == [folder.name]


def test_run_id_uses_current_utc_time(tmp_path, monthly):
    folder = write(tmp_path, monthly, now=None)
    assert re.fullmatch(r"\d{8}T\d{6}Z-01234567", folder.name)
    with pytest.raises(ValueError):
        results.make_run_id("not-hex!", NOW)


def test_annual_csv_is_excel_utf8_and_rereads_to_the_same_numbers(tmp_path, monthly, annual):
    folder = write(tmp_path, monthly)
    raw = (folder / "annual.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in raw
    assert (
        raw[3:].split(b"\n", 1)[0] == b"year,indicator,unit,mean,q05,q10,q25,q50,q75,q90,q95,months"
    )
    expected = annual_summary(annual, QUANTILES)
    back = pd.read_csv(folder / "annual.csv", encoding="utf-8-sig")
    assert list(back.columns) == list(expected.columns)
    assert back["year"].tolist() == expected["year"].tolist()
    numeric = ["mean", "q05", "q10", "q25", "q50", "q75", "q90", "q95"]
    np.testing.assert_allclose(back[numeric], expected[numeric], rtol=1e-9)
    # the file holds exactly FLOAT_FORMAT of every number
    rows = read_csv_rows(folder / "annual.csv")
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        for column in numeric:
            assert row[column] == FLOAT_FORMAT % want[column]


def test_same_input_gives_byte_identical_files(tmp_path, monthly):
    first = write(tmp_path / "a", monthly)
    second = write(tmp_path / "b", make_monthly())  # rebuilt from scratch, same numbers
    for name in ("annual.csv", "summary.json", "monthly.parquet", "scenario.yaml"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_summary_json_equals_annual_csv(tmp_path, monthly):
    folder = write(tmp_path, monthly)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    rows = {(int(r["year"]), r["indicator"]): r for r in read_csv_rows(folder / "annual.csv")}
    assert summary["replicates"] == 20
    assert summary["years"] == [2025, 2026, 2027]
    assert summary["months_in_run"] == {"2025": 12, "2026": 12, "2027": 6}
    assert set(summary["indicators"]) == set(MAIN_INDICATORS)
    for name, entry in summary["indicators"].items():
        assert entry["unit"] == INDICATORS[name].unit
        for year, stats in entry["years"].items():
            row = rows[(int(year), name)]
            assert stats["mean"] == float(row["mean"])
            assert stats["median"] == float(row["q50"])
            assert stats["q10_q90"] == [float(row["q10"]), float(row["q90"])]
            assert stats["q05_q95"] == [float(row["q05"]), float(row["q95"])]
            assert stats["q10_q90"][0] <= stats["median"] <= stats["q10_q90"][1]
    # also through pandas' own float parser
    back = pd.read_csv(folder / "annual.csv", encoding="utf-8-sig").set_index(["indicator", "year"])
    prod = summary["indicators"]["production_krw"]["years"]["2026"]
    assert prod["median"] == back.loc[("production_krw", 2026), "q50"]


def test_existing_result_is_never_overwritten(tmp_path, monthly):
    first = write(tmp_path, monthly)
    marker = first / "annual.csv"
    before = marker.read_bytes()
    second = write(tmp_path, monthly.assign(production_krw=monthly["production_krw"] * 2))
    third = write(tmp_path, monthly)
    assert second.name == first.name + "-2"
    assert third.name == first.name + "-3"
    assert marker.read_bytes() == before
    # a folder of that name that is not a result (e.g. made by hand) is left alone too
    taken = tmp_path / "test-run" / "20250801T123005Z-01234567-4"
    taken.mkdir()
    fourth = write(tmp_path, monthly)
    assert fourth.name.endswith("-5") and not any(taken.iterdir())


def test_failure_midway_leaves_no_folder(tmp_path, monthly, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(results, "summary_json_bytes", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write(tmp_path, monthly)
    assert list(tmp_path.iterdir()) == []  # neither result, temporary folder nor scenario folder


def test_failure_keeps_earlier_results(tmp_path, monthly, monkeypatch):
    earlier = write(tmp_path, monthly)

    def boom(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "annual_csv_bytes", boom)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path, monthly, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert list((tmp_path / "test-run").iterdir()) == [earlier]


def test_failure_while_drawing_figures_leaves_no_folder(tmp_path, monthly, monkeypatch):
    import sim.report.plots

    def boom(*_args, **_kwargs):
        raise ValueError("cannot draw")

    monkeypatch.setattr(sim.report.plots, "fan_chart", boom)
    with pytest.raises(ValueError, match="cannot draw"):
        write(tmp_path, monthly, figures=fan_figures)
    assert list(tmp_path.iterdir()) == []


def test_bad_names_are_rejected(tmp_path, monthly):
    for name in ("../escape", "a b", "", "x/y"):
        with pytest.raises(ValueError):
            results.write_run_results(tmp_path, name, "", HASH, {}, monthly, QUANTILES)
    assert list(tmp_path.iterdir()) == []


def test_run_folder_with_figures(tmp_path):
    small = make_monthly(replicates=8, n_months=15, start="2025-10")
    both = functools.partial(fan_figures, langs=("en", "ko"))
    folder = write(tmp_path, small, figures=both)
    figures = sorted(p.name for p in (folder / "figures").iterdir())
    assert figures == sorted(
        f"fan_{name}{suffix}.png" for name in FIGURE_INDICATORS for suffix in ("", ".ko")
    )
    for path in (folder / "figures").iterdir():
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "figures/fan_production_krw.png" in manifest["files"]
    # deterministic figures: a second write gives the same PNG bytes
    again = write(tmp_path / "again", small, figures=both)
    for name in figures:
        assert (folder / "figures" / name).read_bytes() == (again / "figures" / name).read_bytes()


# ------------------------------------------------------------------ comparisons


def integer_monthly(seed: int = 5) -> pd.DataFrame:
    """Integer-valued indicators: sums and differences are exact in floating point."""
    frame = make_monthly(replicates=12, n_months=24, seed=seed)
    for name in INDICATOR_NAMES:
        if INDICATORS[name].annual != "ratio":
            frame[name] = np.round(frame[name] / 1e6) if frame[name].max() > 1e7 else frame[name]
            frame[name] = np.round(frame[name]) + 4.0
    return frame


def test_compare_known_paired_shift_is_exact():
    base = integer_monthly()
    alt = base.copy()
    alt["production_krw"] = base["production_krw"] * 1.25  # +25% every month
    alt["exports_usd"] = base["exports_usd"] - 1000.0  # -1000 a month: -12000 a year
    alt["employment"] = base["employment"] + 7.0  # stock: +7 at every year end
    table = compare_tables(base, alt, QUANTILES)
    assert list(table.columns[:4]) == ["year", "indicator", "unit", "mean_diff"]
    assert {"q05_diff", "q50_diff", "q95_diff", "mean_pct", "q50_pct", "prob_negative"} <= set(
        table.columns
    )
    rows = table.set_index(["indicator", "year"])
    diff_cols = [c for c in table.columns if c.endswith("_diff")]
    pct_cols = [c for c in table.columns if c.endswith("_pct")]
    for year in (2025, 2026):
        exports = rows.loc[("exports_usd", year)]
        assert (exports[diff_cols] == -12000.0).all()
        assert exports["prob_negative"] == 1.0
        assert (rows.loc[("employment", year)][diff_cols] == 7.0).all()
        assert rows.loc[("employment", year), "prob_negative"] == 0.0
        assert (rows.loc[("production_krw", year)][pct_cols] == 25.0).all()
        untouched = rows.loc[("active_firms", year)]
        assert (untouched[diff_cols] == 0.0).all() and untouched["prob_negative"] == 0.0
    # production diff equals a quarter of each replicate's base production, paired
    base_annual = annual_table(base)
    quarter = base_annual.loc[base_annual["year"] == 2025, "production_krw"].to_numpy() * 0.25
    assert rows.loc[("production_krw", 2025), "mean_diff"] == pytest.approx(quarter.mean(), 1e-15)
    assert rows.loc[("production_krw", 2025), "q50_diff"] == np.quantile(quarter, 0.5)


def test_compare_percent_undefined_when_base_is_zero():
    base = integer_monthly()
    base["tariff_cost_krw"] = 0.0
    alt = base.assign(tariff_cost_krw=5.0)
    rows = compare_tables(base, alt).set_index(["indicator", "year"])
    assert rows.loc[("tariff_cost_krw", 2025), "q50_diff"] == 60.0
    assert math.isnan(rows.loc[("tariff_cost_krw", 2025), "mean_pct"])


def test_compare_requires_paired_runs():
    base = integer_monthly()
    with pytest.raises(ValueError, match="not paired"):
        compare_tables(base, base[base["replicate"] < 5])
    with pytest.raises(ValueError, match="not paired"):
        compare_tables(base, base[base["month"] < "2026-07"])


def test_write_compare_results(tmp_path):
    base = integer_monthly()
    alts = {"tariff-15": base.assign(production_krw=base["production_krw"] * 0.98)}
    alts["tariff-25"] = base.assign(production_krw=base["production_krw"] * 0.96)
    tables = {name: compare_tables(base, frame, QUANTILES) for name, frame in alts.items()}
    summaries = {
        name: annual_summary(annual_table(frame), QUANTILES)
        for name, frame in {"baseline": base, **alts}.items()
    }
    folder = results.write_compare_results(
        tmp_path,
        "baseline",
        list(alts),
        tables,
        summaries,
        {"command": "compare"},
        scenario_hash=HASH,
        figures=compare_figures,
        now=NOW,
    )
    assert folder == tmp_path / "compare-baseline-vs-tariff-15-tariff-25" / folder.name
    assert folder.name == "20250801T123005Z-01234567"
    raw = (folder / "differences.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert back.columns[0] == "alternative"
    assert back["alternative"].drop_duplicates().tolist() == ["tariff-15", "tariff-25"]
    prod = back[(back["indicator"] == "production_krw") & (back["year"] == 2025)]
    assert prod["q50_pct"].tolist() == pytest.approx([-2.0, -4.0], abs=1e-9)
    levels = pd.read_csv(folder / "levels.csv", encoding="utf-8-sig")
    assert levels["scenario"].drop_duplicates().tolist() == ["baseline", "tariff-15", "tariff-25"]
    figures = sorted(p.name for p in (folder / "figures").iterdir())
    assert figures == sorted(f"compare_{n}.png" for n in FIGURE_INDICATORS)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "compare"
    assert set(manifest["files"]) == {
        "differences.csv",
        "levels.csv",
        *(f"figures/{f}" for f in figures),
    }
    # same call again: a new folder beside it, the first one untouched
    again = results.write_compare_results(
        tmp_path,
        "baseline",
        list(alts),
        tables,
        None,
        {},
        scenario_hash=HASH,
        now=NOW,
    )
    assert again.name == folder.name + "-2"
    assert (again / "differences.csv").read_bytes() == raw


def test_compare_folder_name_is_bounded():
    name = results.compare_folder_name("base", [f"alternative-{k:03d}" for k in range(40)])
    assert len(name) <= 120 and name.startswith("compare-base-vs-40-alternatives-")


# ------------------------------------------------------------------ history


def test_history_from_calibration_file():
    history = load_history()
    assert history["production_krw"][2024] == pytest.approx(62.2230e12)
    assert history["exports_usd"][2020] == pytest.approx(10.386e9)
    assert 2023 not in history["active_firms"]
    assert set(history) <= set(INDICATORS)
    sources = history_sources()
    assert set(sources) == set(history)
    assert all(sources.values())
    history["production_krw"][2024] = 0.0  # callers get copies
    assert load_history()["production_krw"][2024] == pytest.approx(62.2230e12)
