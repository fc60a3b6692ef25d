"""Figures: fan and comparison charts draw, label what they show, and Korean renders cleanly."""

from __future__ import annotations

import logging
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from sim.analysis.history import load_history
from sim.ensemble.tables import annual_summary, annual_table, compare_tables
from sim.inputs.calendar import format_month
from sim.model.indicators import INDICATOR_NAMES
from sim.report import plots

GLYPH_PROBLEMS = ("missing from font", "glyph", "findfont")


def synthetic_monthly(replicates: int = 20, n_months: int = 30, shift: float = 0.0) -> pd.DataFrame:
    """Deterministic replicates x months from 2025-01; `shift` moves production by a share."""
    rng = np.random.default_rng(42)
    shape = (replicates, n_months)
    values = {name: rng.uniform(0.5, 1.5, shape) for name in INDICATOR_NAMES}
    values["production_krw"] = 5.2e12 * values["production_krw"] * (1.0 + shift)
    values["region_production_krw"] = 8e12 * values["region_production_krw"]
    values["exports_usd"] = 1.5e9 * values["exports_usd"]
    values["employment"] = 1.2e5 * values["employment"]
    values["active_firms"] = np.round(3200 * values["active_firms"])
    values["adopters"] = np.round(300 * values["adopters"])
    frame = pd.DataFrame(
        {
            "replicate": np.repeat(np.arange(replicates, dtype=np.int64), n_months),
            "month": np.tile([format_month(2025 * 12 + k) for k in range(n_months)], replicates),
        }
    )
    for name in INDICATOR_NAMES:
        frame[name] = values[name].reshape(-1)
    return frame


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return annual_summary(annual_table(synthetic_monthly()), [0.05, 0.5, 0.95])


@pytest.fixture(scope="module")
def differences() -> dict[str, pd.DataFrame]:
    base = synthetic_monthly()
    return {
        "tariff-15": compare_tables(base, synthetic_monthly(shift=-0.02)),
        "tariff-25": compare_tables(base, synthetic_monthly(shift=-0.04)),
    }


def texts_of(ax) -> str:
    """Every piece of text on the axes (title, labels, legend), joined."""
    parts = [ax.get_title(), ax.get_ylabel(), ax.get_xlabel()]
    parts += [t.get_text() for t in ax.texts]
    legend = ax.get_legend()
    if legend is not None:
        parts += [t.get_text() for t in legend.get_texts()] + [legend.get_title().get_text()]
    return "\n".join(parts)


class GlyphLog(logging.Handler):
    """Collects matplotlib log records (font fallbacks are logged, not warned, in some versions)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def render_collecting_problems(draw) -> list[str]:
    """Draw and render to PNG; return glyph/font warnings from `warnings` and from logging."""
    handler = GlyphLog()
    logger = logging.getLogger("matplotlib")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught, matplotlib.rc_context():
            warnings.simplefilter("always")
            ax = draw()
            png = plots.figure_png_bytes(ax.figure)
    finally:
        logger.removeHandler(handler)
    assert png.startswith(b"\x89PNG")
    messages = [str(w.message) for w in caught] + handler.messages
    return [m for m in messages if any(p in m.lower() for p in GLYPH_PROBLEMS)]


def test_fan_chart_english(summary):
    history = load_history()["production_krw"]
    ax = plots.fan_chart(None, summary, "production_krw", history, replicates=20)
    assert ax.get_title() == "Production"
    assert ax.get_ylabel() == "trillion KRW, nominal"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # the 80% band is the range the headline and briefs quote
    assert labels == ["80% of runs", "50% of runs", "Median", "Reported (KICOX)"]
    median, hist = ax.get_lines()
    # the median in trillion KRW, the history as black markers and line
    row = summary[(summary["indicator"] == "production_krw")].set_index("year")
    np.testing.assert_allclose(
        median.get_ydata(), row.loc[[2025, 2026], "q50"] / 1e12
    )  # 2027: part
    assert hist.get_color() == "black" and hist.get_marker() == "o"
    assert list(hist.get_xdata()) == [2020, 2021, 2022, 2023, 2024]
    assert hist.get_ydata()[-1] == pytest.approx(62.223)
    assert len(ax.collections) == 2  # the two bands
    assert "20 runs" in texts_of(ax)


def test_fan_chart_leaves_out_partial_years_of_flows(summary):
    ax = plots.fan_chart(None, summary, "exports_usd")
    assert list(ax.get_lines()[0].get_xdata()) == [2025, 2026]
    assert "Partial years not shown: 2027 (6 months)" in texts_of(ax)
    assert ax.get_ylabel() == "bn USD"
    # a stock at year end is comparable in a partial year: kept
    ax = plots.fan_chart(None, summary, "employment")
    assert list(ax.get_lines()[0].get_xdata()) == [2025, 2026, 2027]
    assert ax.get_ylabel() == "thousand persons"


def test_fan_chart_falls_back_to_nearest_quantiles_and_says_so(summary):
    narrow = summary.drop(columns=["q10", "q90"])
    ax = plots.fan_chart([2025, 2026], narrow, "active_firms")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["90% of runs", "50% of runs"]  # q05-q95 stands in for the 80% band


def test_fan_chart_carries_the_scenario_title_and_a_source_line(summary):
    ax = plots.fan_chart(
        None, summary, "production_krw", scenario_title="Tariff 15%", source="Source: here"
    )
    assert ax.figure.get_suptitle() == "Tariff 15%"
    assert "Source: here" in [t.get_text() for t in ax.figure.texts]


def test_region_indicators_are_labelled_as_estimates(summary):
    ax = plots.fan_chart(None, summary, "region_production_krw")
    assert "(input-output estimate)" in ax.get_title()
    ax = plots.fan_chart(None, summary, "region_production_krw", title="My title")
    assert ax.get_title() == "My title"
    assert "(input-output estimate)" in ax.get_ylabel()


def test_fan_chart_draws_on_given_axes(summary):
    ax = plots.new_axes()
    assert plots.fan_chart(None, summary, "adoption_share", ax=ax) is ax
    assert ax.get_ylabel() == "%"
    with pytest.raises(ValueError, match="unknown indicator"):
        plots.fan_chart(None, summary, "nonsense")
    with pytest.raises(ValueError, match="lang"):
        plots.fan_chart(None, summary, "employment", lang="fr")


def test_korean_fan_chart_has_no_missing_glyphs(summary):
    history = load_history()

    def draw():
        ax = plots.fan_chart(
            None, summary, "region_production_krw", history.get("region_production_krw"), lang="ko"
        )
        assert ax.get_title() == "단지 밖 지역 생산유발액 (산업연관 추정)"
        assert ax.get_ylabel() == "조원, 경상가격"
        return ax

    assert render_collecting_problems(draw) == []

    def draw_employment():
        ax = plots.fan_chart(None, summary, "employment", history["employment"], lang="ko")
        assert "실적" in texts_of(ax) and ax.get_ylabel() == "명"
        return ax

    assert render_collecting_problems(draw_employment) == []


def test_korean_compare_chart_with_negative_numbers_has_no_missing_glyphs(differences):
    def draw():
        return plots.compare_chart(None, differences, "production_krw", lang="ko", percent=True)

    assert render_collecting_problems(draw) == []


def test_glyph_check_detects_a_font_without_hangul():
    # Proves the check above can fail: DejaVu Sans has no Hangul.
    def draw():
        matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
        ax = plots.new_axes()
        ax.set_title("생산액")
        return ax

    assert render_collecting_problems(draw)


def test_compare_chart(differences):
    ax = plots.compare_chart([2025, 2026, 2027], differences, "production_krw", base_name="base")
    assert ax.get_title() == "Production: difference from base"
    assert "trillion KRW" in ax.get_ylabel()
    zero = [line for line in ax.get_lines() if list(line.get_ydata()) == [0, 0]]
    assert len(zero) == 1
    medians = [line for line in ax.get_lines() if line not in zero]
    assert len(medians) == 2 and len(ax.collections) == 2  # a line and a band per alternative
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["tariff-15 (median, 80% band)", "tariff-25 (median, 80% band)"]
    # the same from one frame with an `alternative` column (as in differences.csv)
    stacked = pd.concat([t.assign(alternative=n) for n, t in differences.items()])
    ax2 = plots.compare_chart(None, stacked, "production_krw", percent=True)
    np.testing.assert_allclose(ax2.get_lines()[1].get_ydata(), [-2.0, -2.0, -2.0], atol=1e-9)
    assert ax2.get_ylabel().endswith("(% of base)")


def test_share_differences_are_in_percentage_points(differences):
    ax = plots.compare_chart(None, differences, "adoption_share")
    assert "percentage points" in ax.get_ylabel()


def test_save_figure_is_deterministic(tmp_path, summary):
    paths = []
    for k in range(2):
        ax = plots.fan_chart(None, summary, "production_krw", load_history()["production_krw"])
        paths.append(plots.save_figure(ax.figure, tmp_path / f"sub{k}" / "fan.png"))
    first, second = (p.read_bytes() for p in paths)
    assert first.startswith(b"\x89PNG\r\n\x1a\n") and len(first) > 10_000
    assert first == second
    assert b"matplotlib" not in first.lower()  # no software stamp
