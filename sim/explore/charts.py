"""The page's figures and summary lines, from a `Snapshot` of the replicates finished so far:
fan charts of production, exports and jobs (the policy's 80% band and median over the
baseline's), the paired effect by sector, and the effect in words. Matplotlib figures made
without pyplot, as in `sim.report.plots`, whose units and labels they share.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sim.explore.ensemble import Snapshot
from sim.inputs.names import SECTORS
from sim.model.indicators import INDICATORS, SECTOR_KO
from sim.report.plots import FAN_COLOR, display_unit, indicator_label, price_basis

FAN_INDICATORS = ("production_krw", "exports_usd", "employment")
BASELINE_COLOR = "0.45"
TEXT = {
    "baseline": {"en": "Baseline", "ko": "기준 경로"},
    "policy": {"en": "With the measures", "ko": "정책 반영"},
    "band": {"en": "80% of runs", "ko": "80% 구간"},
    "median": {"en": "median", "ko": "중앙값"},
    "waiting": {"en": "Waiting for the first runs…", "ko": "첫 시뮬레이션을 기다리는 중…"},
    "sector_title": {
        "en": "Effect by sector, {year}: median and 80% of runs (% of baseline)",
        "ko": "업종별 효과, {year}년: 중앙값과 80% 구간 (기준 경로 대비 %)",
    },
    "runs": {"en": "{done:,} of {target:,} runs", "ko": "시뮬레이션 {done:,} / {target:,}회"},
}


def _figure(width: float, height: float, lang: str) -> Figure:
    if lang == "ko":
        from sim.report.fonts import use_korean_font

        use_korean_font()
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def full_years(snapshot: Snapshot) -> np.ndarray:
    """Indices of the years the period covers whole (a part-year's sums are not comparable)."""
    return np.flatnonzero(snapshot.months == 12) if snapshot.months.size else np.zeros(0, int)


def fan_figure(snapshot: Snapshot, lang: str = "en") -> Figure:
    """Production, exports and jobs by year: the baseline's and the policy's median and 80% band
    across the replicates finished so far."""
    figure = _figure(11.0, 3.4, lang)
    axes = figure.subplots(1, len(FAN_INDICATORS))
    keep = full_years(snapshot)
    for ax, name in zip(axes, FAN_INDICATORS, strict=True):
        unit = display_unit(INDICATORS[name].unit, lang)
        basis = price_basis(name, lang)
        ax.set_title(indicator_label(name, lang), fontsize=11)
        ax.set_ylabel(f"{unit.label}, {basis}" if basis else unit.label)
        ax.grid(True, axis="y", color="0.9", linewidth=0.6)
        if snapshot.done == 0 or keep.size == 0:
            ax.text(0.5, 0.5, TEXT["waiting"][lang], transform=ax.transAxes, ha="center")
            continue
        years = snapshot.years[keep]
        for which, color, style in (("baseline", BASELINE_COLOR, "--"), ("policy", FAN_COLOR, "-")):
            values = snapshot.values(name, which)[:, keep] / unit.divisor
            low, median, high = np.quantile(values, [0.1, 0.5, 0.9], axis=0)
            label = TEXT[which][lang]
            ax.fill_between(years, low, high, color=color, alpha=0.2, linewidth=0)
            ax.plot(years, median, style, color=color, linewidth=2, label=label)
        ax.xaxis.set_major_locator(_year_locator())
    if snapshot.done and keep.size:
        axes[0].legend(
            loc="best",
            fontsize=8,
            frameon=False,
            title=f"{TEXT['median'][lang]}, {TEXT['band'][lang]}",
            title_fontsize=8,
        )
    runs = TEXT["runs"][lang].format(done=snapshot.done, target=snapshot.target)
    figure.suptitle(
        f"{snapshot.title} — {runs}",
        fontsize=9,
        color="0.25",
    )
    return figure


def _year_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def sector_figure(snapshot: Snapshot, lang: str = "en") -> Figure:
    """The policy's paired effect on production and exports by sector in the last full year."""
    figure = _figure(11.0, 2.9, lang)
    axes = figure.subplots(1, 2, sharey=True)
    keep = full_years(snapshot)
    names = [SECTOR_KO[i] if lang == "ko" else s.replace("_", " ") for i, s in enumerate(SECTORS)]
    if snapshot.done == 0 or keep.size == 0:
        for ax in axes:
            ax.text(0.5, 0.5, TEXT["waiting"][lang], transform=ax.transAxes, ha="center")
        return figure
    column = keep[-1]
    year = int(snapshot.years[column])
    rows = np.arange(len(SECTORS))
    for ax, total in zip(axes, ("production_krw", "exports_usd"), strict=True):
        effects = np.stack(
            [snapshot.percent_effect(f"{total}_{sector}")[:, column] for sector in SECTORS], 1
        )
        low, median, high = np.quantile(effects, [0.1, 0.5, 0.9], axis=0)
        ax.barh(rows, median, color=FAN_COLOR, alpha=0.8)
        ax.errorbar(median, rows, xerr=[median - low, high - median], fmt="none", ecolor="0.2")
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_yticks(rows, names)
        ax.set_title(indicator_label(total, lang), fontsize=10)
        ax.set_xlabel("%")
        ax.grid(True, axis="x", color="0.9", linewidth=0.6)
    figure.suptitle(TEXT["sector_title"][lang].format(year=year), fontsize=10)
    return figure


def effect_lines(snapshot: Snapshot, lang: str = "en") -> list[str]:
    """The policy's paired effect on production, exports and jobs in the last full year, as
    the median and 80% range in percent of the baseline."""
    keep = full_years(snapshot)
    if snapshot.done == 0 or keep.size == 0:
        return [TEXT["waiting"][lang]]
    column = keep[-1]
    year = int(snapshot.years[column])
    lines = []
    for name in FAN_INDICATORS:
        low, median, high = np.quantile(snapshot.percent_effect(name)[:, column], [0.1, 0.5, 0.9])
        label = indicator_label(name, lang)
        if lang == "ko":
            lines.append(
                f"{year}년 {label}: 기준 경로 대비 {median:+.2f}% "
                f"(80% 구간 {low:+.2f}~{high:+.2f}%)"
            )
        else:
            lines.append(
                f"{year} {label.lower()}: {median:+.2f}% against the baseline "
                f"(80% of runs: {low:+.2f} to {high:+.2f}%)"
            )
    return lines
