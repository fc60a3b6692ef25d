"""Figures of forecast ranges: fan charts of one run and charts of paired differences between runs.

Matplotlib only, drawn on `matplotlib.figure.Figure` objects with the Agg canvas rather than through
`pyplot`, so making a figure neither needs nor changes the interactive backend and nothing is left
in pyplot's global figure list. Model code never imports this module.

Every drawing function takes `ax=None` (a new figure is made) and returns the axes. Values are
shown in units a reader quotes: trillion KRW (조원), bn USD (억 달러), thousand persons (명), % .
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, ScalarFormatter

from sim.ensemble.tables import quantile_columns
from sim.model.indicators import INDICATORS, Indicator

DPI = 150
FIGSIZE = (7.0, 4.2)
FAN_COLOR = "#1f5a99"
# One colour per alternative in comparison charts, in order (matplotlib's tab10, fixed here so a
# style sheet cannot reorder them).
ALT_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
HISTORY_LABEL = {"en": "Reported (KICOX)", "ko": "실적 (한국산업단지공단)"}


@dataclass(frozen=True, slots=True)
class DisplayUnit:
    """How an indicator's values are divided for display, and the axis label of the result."""

    divisor: float
    label: str
    thousands: bool = False  # format ticks with thousands separators (for counts of persons)


# unit of INDICATORS -> language -> display. 1조 = 1e12 KRW; 1억 = 1e8.
_LEVEL_UNITS: dict[str, dict[str, DisplayUnit]] = {
    "KRW": {"en": DisplayUnit(1e12, "trillion KRW"), "ko": DisplayUnit(1e12, "조원")},
    "USD": {"en": DisplayUnit(1e9, "bn USD"), "ko": DisplayUnit(1e8, "억 달러")},
    "persons": {
        "en": DisplayUnit(1e3, "thousand persons"),
        "ko": DisplayUnit(1.0, "명", thousands=True),
    },
    "firms": {"en": DisplayUnit(1.0, "firms"), "ko": DisplayUnit(1.0, "개사", thousands=True)},
    "share": {"en": DisplayUnit(0.01, "%"), "ko": DisplayUnit(0.01, "%")},
    "KRW per person": {
        "en": DisplayUnit(1e6, "million KRW per worker"),
        "ko": DisplayUnit(1e6, "백만원/인"),
    },
}


def display_unit(unit: str, lang: str = "en", *, difference: bool = False) -> DisplayUnit:
    """Divisor and label for showing values of `unit` (an `Indicator.unit`) in `lang`.

    With `difference=True` a difference of shares is in percentage points, not percent.
    """
    _check_lang(lang)
    if unit == "share" and difference:
        return DisplayUnit(0.01, "percentage points" if lang == "en" else "%p")
    if unit == "percent":
        return DisplayUnit(1.0, "% of base" if lang == "en" else "기준 대비 %")
    try:
        return _LEVEL_UNITS[unit][lang]
    except KeyError:
        return DisplayUnit(1.0, unit)


def indicator_label(indicator: str, lang: str = "en") -> str:
    """The indicator's label in `lang`; region-wide ones carry '(input-output estimate)'."""
    _check_lang(lang)
    ind = _indicator(indicator)
    return ind.label_en if lang == "en" else ind.label_ko


def new_axes(figsize: tuple[float, float] = FIGSIZE) -> Axes:
    """A single axes on a new Agg figure (no pyplot involved)."""
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def fan_chart(
    years: Iterable[int] | None,
    quantile_table: pd.DataFrame,
    indicator: str,
    history: Mapping[int, float] | None = None,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
    *,
    replicates: int | None = None,
    scenario_title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Fan chart of one indicator: median line, 50% and 80% bands across replicates, history.

    The 80% band (q10-q90) is the range briefs and the printed headline quote. `scenario_title`
    heads the figure and `source` is written at its foot, so that a chart pasted elsewhere still
    says what it shows and where its numbers come from.

    `quantile_table` is an annual summary (`sim.ensemble.tables.annual_summary`: columns year,
    indicator, q05 ... and optionally months), either for all indicators or only this one. `years`
    picks and orders the years drawn (None: all in the table). The bands use q25-q75 and q10-q90; if
    a level is missing the nearest available one is used and the legend states the real coverage.
    `history` is {year: reported value} for this indicator, drawn as a black line with markers.

    Years the run covers only in part (a `months` column < 12) are left out for indicators whose
    annual value is a sum over months (a 5-month production total is not a fall in production),
    and a note on the chart says so.
    """
    ind = _indicator(indicator)
    _check_lang(lang)
    if lang == "ko":
        from sim.report.fonts import use_korean_font

        use_korean_font()
    ax = ax if ax is not None else new_axes()
    table = _rows_for(quantile_table, indicator, years)
    table, omitted = _drop_partial_years(table, ind)
    unit = display_unit(ind.unit, lang)
    levels = quantile_columns(table.columns)
    if not levels:
        raise ValueError("quantile_table has no quantile columns (q05, q50, ...)")
    x = table.index.to_numpy(dtype=float)

    def column(level: float) -> tuple[float, np.ndarray]:
        got = _nearest(levels, level)
        return got, table[levels[got]].to_numpy(dtype=float) / unit.divisor

    for (lo, hi), alpha in (((0.1, 0.9), 0.18), ((0.25, 0.75), 0.35)):
        lo_level, lo_values = column(lo)
        hi_level, hi_values = column(hi)
        if hi_level <= lo_level:
            continue  # only the median is available: no band to draw
        ax.fill_between(
            x,
            lo_values,
            hi_values,
            color=FAN_COLOR,
            alpha=alpha,
            linewidth=0,
            label=_band_label(hi_level - lo_level, lang),
        )
    _, median = column(0.5)
    ax.plot(x, median, color=FAN_COLOR, linewidth=2, label="Median" if lang == "en" else "중앙값")

    if history:
        hist_years = sorted(history)
        hist_values = np.array([history[y] for y in hist_years], dtype=float) / unit.divisor
        ax.plot(
            hist_years,
            hist_values,
            color="black",
            marker="o",
            markersize=4,
            linewidth=1.5,
            label=HISTORY_LABEL[lang],
        )

    label = indicator_label(indicator, lang)
    _finish_axes(ax, label, _with_basis(unit, indicator, lang), title)
    _frame(ax, scenario_title, source)
    legend_title = None
    if replicates is not None:
        legend_title = f"{replicates:,} runs" if lang == "en" else f"{replicates:,}회 시뮬레이션"
    ax.legend(loc="best", fontsize=8, title=legend_title, title_fontsize=8, frameon=False)
    if omitted:
        _note(ax, _partial_note(omitted, lang))
    return ax


def compare_chart(
    years: Iterable[int] | None,
    differences: pd.DataFrame | Mapping[str, pd.DataFrame],
    indicator: str,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
    *,
    percent: bool = False,
    base_name: str | None = None,
    scenario_title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Paired difference alternative - base of one indicator by year; a line+band per alternative.

    `differences` is either {alternative name: `sim.ensemble.tables.compare_tables(...)` output} or
    one frame with an `alternative` column (as in differences.csv). Draws the median of the paired
    difference and its 10-90% band (nearest available levels otherwise), and a zero line.
    `percent=True` draws the difference in percent of the base run instead of in units.
    """
    ind = _indicator(indicator)
    _check_lang(lang)
    if lang == "ko":
        from sim.report.fonts import use_korean_font

        use_korean_font()
    ax = ax if ax is not None else new_axes()
    if isinstance(differences, pd.DataFrame):
        if "alternative" not in differences.columns:
            raise ValueError("a single differences frame needs an 'alternative' column")
        names = list(dict.fromkeys(differences["alternative"]))
        frames = {n: differences[differences["alternative"] == n] for n in names}
    else:
        frames = dict(differences)
    suffix = "pct" if percent else "diff"
    unit = display_unit("percent" if percent else ind.unit, lang, difference=True)

    ax.axhline(0.0, color="black", linewidth=0.8)
    for k, (name, frame) in enumerate(frames.items()):
        table = _rows_for(frame, indicator, years)
        levels = quantile_columns(table.columns, suffix=suffix)
        if not levels:
            raise ValueError(f"differences for {name!r} have no q.._{suffix} columns")
        x = table.index.to_numpy(dtype=float)
        color = ALT_COLORS[k % len(ALT_COLORS)]
        lo, hi = _nearest(levels, 0.1), _nearest(levels, 0.9)
        if hi > lo:
            ax.fill_between(
                x,
                table[levels[lo]].to_numpy(dtype=float) / unit.divisor,
                table[levels[hi]].to_numpy(dtype=float) / unit.divisor,
                color=color,
                alpha=0.2,
                linewidth=0,
            )
        median = table[levels[_nearest(levels, 0.5)]].to_numpy(dtype=float) / unit.divisor
        band = f"{round((hi - lo) * 100)}%" if hi > lo else ""
        if lang == "en":
            legend = f"{name} (median, {band} band)" if band else f"{name} (median)"
        else:
            legend = f"{name} (중앙값, {band} 구간)" if band else f"{name} (중앙값)"
        ax.plot(x, median, color=color, linewidth=2, marker="o", markersize=3, label=legend)

    label = indicator_label(indicator, lang)
    if title is None:
        if lang == "en":
            title = f"{label}: difference from {base_name or 'base'}"
        else:
            title = f"{label}: 기준{f'({base_name})' if base_name else ''} 대비 차이"
    if not percent:
        unit = _with_basis(unit, indicator, lang)
    _finish_axes(ax, label, unit, title, force_label_in_y=True)
    _frame(ax, scenario_title, source)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return ax


def figure_png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, rendered deterministically (fixed dpi, no software/date stamps)."""
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write the figure as a PNG at `path` (parents created); same figure -> same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure_png_bytes(fig))
    return path


# ---------------------------------------------------------------------------------------------
# helpers


def _indicator(name: str) -> Indicator:
    try:
        return INDICATORS[name]
    except KeyError:
        raise ValueError(f"unknown indicator {name!r}; known: {', '.join(INDICATORS)}") from None


def _check_lang(lang: str) -> None:
    if lang not in ("en", "ko"):
        raise ValueError(f"lang must be 'en' or 'ko' (got {lang!r})")


def _rows_for(table: pd.DataFrame, indicator: str, years: Iterable[int] | None) -> pd.DataFrame:
    """Rows of one indicator, indexed by year (ascending, or in the order of `years`)."""
    if "indicator" in table.columns:
        table = table[table["indicator"] == indicator]
    if table.empty:
        raise ValueError(f"no rows for indicator {indicator!r}")
    table = table.set_index("year").sort_index()
    if table.index.has_duplicates:
        raise ValueError(f"several rows per year for indicator {indicator!r}")
    if years is not None:
        wanted = [int(y) for y in years]
        table = table.loc[[y for y in wanted if y in table.index]]
        if table.empty:
            raise ValueError(f"none of the years {wanted} is in the table")
    return table


def _drop_partial_years(table: pd.DataFrame, ind: Indicator) -> tuple[pd.DataFrame, list]:
    """Leave out years the run covers in part when the annual value adds months up."""
    adds_months = ind.annual == "sum" or ind.name == "labour_productivity"
    if not adds_months or "months" not in table.columns:
        return table, []
    partial = table["months"] < 12
    if not partial.any() or partial.all():
        return table, []  # all partial: better a labelled chart of partial years than none
    omitted = [(int(y), int(m)) for y, m in table.loc[partial, "months"].items()]
    return table[~partial], omitted


def _nearest(levels: Mapping[float, str], target: float) -> float:
    """The available quantile level closest to `target` (ties to the more central one)."""
    return min(levels, key=lambda q: (abs(q - target), abs(q - 0.5)))


def _band_label(coverage: float, lang: str) -> str:
    pct = round(coverage * 100)
    return f"{pct}% of runs" if lang == "en" else f"{pct}% 구간"


def _partial_note(omitted: Sequence[tuple[int, int]], lang: str) -> str:
    if lang == "en":
        parts = ", ".join(f"{y} ({m} months)" for y, m in omitted)
        return f"Partial years not shown: {parts}"
    parts = ", ".join(f"{y}년 ({m}개월)" for y, m in omitted)
    return f"부분 연도 제외: {parts}"


def _note(ax: Axes, text: str) -> None:
    ax.text(0.01, 0.01, text, transform=ax.transAxes, fontsize=7, color="0.35", va="bottom")


def price_basis(indicator: str, lang: str = "en") -> str:
    """'nominal' or 'constant 2024 prices' for a won amount ('' for other units)."""
    if not INDICATORS[indicator].unit.startswith("KRW") or "per" in INDICATORS[indicator].unit:
        return ""
    constant = "real" in indicator or "constant" in INDICATORS[indicator].unit
    if lang == "ko":
        return "2024년 불변가격" if constant else "경상가격"
    return "constant 2024 prices" if constant else "nominal"


def _with_basis(unit: DisplayUnit, indicator: str, lang: str) -> DisplayUnit:
    basis = price_basis(indicator, lang)
    if not basis:
        return unit
    return DisplayUnit(unit.divisor, f"{unit.label}, {basis}", unit.thousands)


def _frame(ax: Axes, scenario_title: str | None, source: str | None) -> None:
    """The scenario's title above the chart and the source line below it."""
    if scenario_title:
        ax.figure.suptitle(scenario_title, fontsize=9, color="0.25")
    if source:
        import textwrap

        # Wrapped here, not by matplotlib (`wrap=True` costs a layout pass per figure).
        lines = textwrap.wrap(source, 175)
        ax.figure.text(
            0.01, 0.005, "\n".join(lines), fontsize=6, color="0.4", ha="left", va="bottom"
        )
        foot = 0.025 * len(lines)
        ax.figure.get_layout_engine().set(rect=(0, foot, 1, 1 - foot))


def _finish_axes(
    ax: Axes, label: str, unit: DisplayUnit, title: str | None, force_label_in_y: bool = False
) -> None:
    """Title, y label, integer year ticks and readable y tick labels.

    The indicator label always appears (title or y label) so that a custom title never hides
    that a region-wide figure is an input-output estimate.
    """
    ax.set_title(title if title is not None else label, fontsize=11)
    ax.set_ylabel(
        f"{label} ({unit.label})" if title is not None or force_label_in_y else unit.label
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if unit.thousands:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    else:
        ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    ax.grid(True, axis="y", color="0.9", linewidth=0.6)
    ax.set_axisbelow(True)
