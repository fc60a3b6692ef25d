"""Figures of a sensitivity analysis: index bars with intervals, Morris mu*-sigma, second-order
heatmap, indices through time and convergence.

Every function reads the tables of `sim.analysis.sensitivity.run` (`analyse`: columns output,
indicator, year, measure, factor, factor_2, value, conf, above_noise_floor; `convergence_table`),
takes `ax=None` (a new Agg figure is made, no pyplot) and returns the axes. The dummy factor is
drawn in grey and its interval's upper end as the noise floor, so that no reader takes noise for a
driver.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.analysis.sensitivity.design import DUMMY, MAIN_MEASURE
from sim.report.plots import indicator_label, new_axes

MEASURE_LABELS: dict[str, str] = {
    "S1": "first order S1 (alone)",
    "ST": "total order ST (with interactions)",
    "S2": "second order S2",
    "delta": "delta (moment-independent)",
    "mu_star": "mu* (mean absolute effect)",
    "mu_star_scaled": "mu* in standard deviations of the output",
    "mu": "mu (mean effect)",
    "sigma": "sigma (spread of effects)",
}
BARS_OF_METHOD: dict[str, tuple[str, ...]] = {
    "sobol": ("S1", "ST"),
    "morris": ("mu_star_scaled",),
    "delta": ("S1", "delta"),
}
COLORS = {"S1": "#9ecae1", "ST": "#1f5a99", "delta": "#1f5a99", "mu_star_scaled": "#1f5a99"}
DUMMY_COLOR = "0.6"
DUMMY_LABEL = f"{DUMMY} (noise)"
FLOOR_LABEL = "noise floor (upper end of the dummy's interval)"
FLOOR_COLOR = "#d62728"
LINE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def factor_text(factor: str, lang: str = "en", width: int = 40) -> str:
    """A factor as a reader names it: 'Long-run trade elasticity', not `elasticity_long_run`;
    wrapped to `width` characters a line."""
    import textwrap

    from sim.report.brief.wording import capitalize, factor_label

    label = factor_label(factor, lang)
    if label.startswith("`"):  # no wording for it: the parameter name made readable
        label = factor.replace(".", ": ").replace("_", " ")
    if lang == "en" and label.startswith("the "):
        label = label[4:]
    return "\n".join(textwrap.wrap(capitalize(label), width)) or factor


def _text(en: str, ko: str, lang: str) -> str:
    return ko if lang == "ko" else en


def _use_lang(lang: str) -> None:
    if lang not in ("en", "ko"):
        raise ValueError(f"lang must be 'en' or 'ko' (got {lang!r})")
    if lang == "ko":
        from sim.report.fonts import use_korean_font

        use_korean_font()


def _rows(indices: pd.DataFrame, indicator: str, year: int | None, measure: str) -> pd.DataFrame:
    rows = indices[(indices["indicator"] == indicator) & (indices["measure"] == measure)]
    if year is not None:
        rows = rows[rows["year"] == year]
    if rows.empty:
        raise ValueError(f"no {measure} indices for {indicator} {year or ''}".rstrip())
    return rows


def _floor(rows: pd.DataFrame) -> float | None:
    dummy = rows[rows["factor"] == DUMMY]
    if dummy.empty or not np.isfinite(dummy["value"].iloc[0]):
        return None
    conf = dummy["conf"].iloc[0]
    return float(dummy["value"].iloc[0] + (conf if np.isfinite(conf) else 0.0))


def _output_title(indicator: str, year: int | None, lang: str = "en") -> str:
    label = indicator_label(indicator, lang)
    return f"{label} {year}" if year is not None else label


def _note(ax: Axes, text: str) -> None:
    ax.text(
        0.99, 0.01, text, transform=ax.transAxes, fontsize=7, color="0.35", ha="right", va="bottom"
    )


def index_bars(
    indices: pd.DataFrame,
    indicator: str,
    year: int,
    method: str,
    ax: Axes | None = None,
    title: str | None = None,
    lang: str = "en",
    effect: bool = False,
) -> Axes:
    """Horizontal bars of each factor's indices with 95% intervals, most influential on top.

    Factors are labelled in words (`factor_text`), in `lang`; `effect` says the output is a
    paired effect (scenario minus baseline).

    Sobol': S1 and ST; delta: S1 and delta; Morris: mu* scaled by the output's standard
    deviation. The dummy factor is grey, the noise floor (upper end of the dummy's interval for
    the main measure) a dashed red line; factors whose interval does not clear it are faded.
    """
    _use_lang(lang)
    measures = BARS_OF_METHOD[method]
    main = MAIN_MEASURE[method]
    main_rows = _rows(indices, indicator, year, main).set_index("factor")
    order = main_rows["value"].fillna(-np.inf).sort_values(kind="stable").index.tolist()
    # The dummy sits at the bottom whatever its value: it is the reference, not a contender.
    order = [DUMMY] + [f for f in order if f != DUMMY] if DUMMY in order else order
    if ax is None:
        ax = new_axes((7.5, 2.4 + 0.42 * len(order)))
    y = np.arange(len(order), dtype=float)
    height = 0.8 / len(measures)
    handles = []
    for k, measure in enumerate(measures):
        rows = _rows(indices, indicator, year, measure).set_index("factor").reindex(order)
        offset = ((len(measures) - 1) / 2 - k) * height  # the first measure on top
        values = rows["value"].to_numpy(dtype=float)
        conf = rows["conf"].to_numpy(dtype=float)
        faded = (rows["above_noise_floor"] == "no").to_numpy()
        color = COLORS.get(measure, "#1f5a99")
        bars = ax.barh(
            y + offset,
            np.nan_to_num(values),
            height=height,
            color=[DUMMY_COLOR if f == DUMMY else color for f in order],
            xerr=np.where(np.isfinite(conf), conf, 0.0),
            error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "0.25"},
        )
        for bar, fade in zip(bars, faded, strict=True):
            if fade:
                bar.set_alpha(0.45)
        handles.append(Patch(color=color, label=MEASURE_LABELS.get(measure, measure)))
    floor = _floor(main_rows.reset_index())
    if floor is not None:
        ax.axvline(floor, color=FLOOR_COLOR, linestyle="--", linewidth=1)
        handles.append(Line2D([], [], color=FLOOR_COLOR, linestyle="--", label=FLOOR_LABEL))
    handles.append(Patch(color=DUMMY_COLOR, label=DUMMY_LABEL))
    ax.set_yticks(y, [factor_text(f, lang) for f in order], fontsize=7)
    ax.axvline(0.0, color="0.3", linewidth=0.6)
    if method in ("sobol", "delta"):
        xlabel = _text(
            "index (S1, ST: share of the output's variance; 0 = no influence)",
            "지수 (S1, ST: 결과 분산 중 이 입력의 몫; 0 = 영향 없음)",
            lang,
        )
    else:
        xlabel = _text(MEASURE_LABELS["mu_star_scaled"], "mu* (결과 표준편차 단위)", lang)
    ax.set_xlabel(
        xlabel
        + _text(
            "\nlines: 95% intervals; faded bars do not clear the noise floor",
            "\n선: 95% 신뢰구간; 흐린 막대는 잡음 기준선을 넘지 못함",
            lang,
        ),
        fontsize=8,
    )
    name = {"sobol": "Sobol'", "morris": "Morris", "delta": "delta"}[method]
    output = _output_title(indicator, year, lang)
    if effect:
        heading = _text(
            f"What drives the effect on {output}? ({name})", f"{output} 효과의 요인 ({name})", lang
        )
    else:
        heading = _text(f"What drives {output}? ({name})", f"{output}의 요인 ({name})", lang)
    ax.set_title(heading + (f"\n{title}" if title else ""), fontsize=10)
    if lang == "ko":
        handles = [_korean_handle(h) for h in handles]
    ax.figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=7)
    return ax


def morris_scatter(
    indices: pd.DataFrame, indicator: str, year: int, ax: Axes | None = None, lang: str = "en"
) -> Axes:
    """Morris screening: mu* (importance) against sigma (non-linearity or interactions), both
    in standard deviations of the output, with mu*'s interval and the lines sigma/mu* = 0.5, 1.

    Points carry numbers, named in a key beside the plot, so that labels of factors with
    similar effects never overlap.
    """
    _use_lang(lang)
    ax = ax if ax is not None else new_axes((9.0, 5.0))
    scaled = _rows(indices, indicator, year, "mu_star_scaled").set_index("factor")
    raw = _rows(indices, indicator, year, "mu_star").set_index("factor")
    sigma = _rows(indices, indicator, year, "sigma").set_index("factor")
    # sigma in the same units as the scaled mu*: divide by the output's standard deviation.
    scale = (raw["value"] / scaled["value"]).replace([np.inf, -np.inf], np.nan).dropna()
    sd = float(scale.iloc[0]) if len(scale) else 1.0
    x = scaled["value"].to_numpy(dtype=float)
    s = sigma.reindex(scaled.index)["value"].to_numpy(dtype=float) / sd
    conf = scaled["conf"].to_numpy(dtype=float)
    top = float(np.nanmax(np.r_[x + np.nan_to_num(conf), s, 1e-9])) * 1.1
    for ratio, style in ((1.0, "-"), (0.5, ":")):
        ax.plot([0, top], [0, ratio * top], color="0.7", linestyle=style, linewidth=0.8)
        ax.text(top, ratio * top, f" σ/μ* = {ratio:g}", fontsize=7, color="0.5", va="center")
    ranking = np.argsort(-np.nan_to_num(x, nan=-np.inf), kind="stable")
    key_lines = []
    for number, k in enumerate(ranking, start=1):
        factor = scaled.index[k]
        color = DUMMY_COLOR if factor == DUMMY else "#1f5a99"
        ax.errorbar(
            x[k],
            s[k],
            xerr=conf[k] if np.isfinite(conf[k]) else None,
            fmt="o",
            color=color,
            capsize=2,
            markersize=5,
        )
        ax.annotate(
            str(number), (x[k], s[k]), textcoords="offset points", xytext=(3, 3), fontsize=7
        )
        key_lines.append(f"{number}. {factor_text(factor, lang, width=48).replace(chr(10), ' ')}")
    ax.set_xlim(0, top * 1.25)
    ax.set_ylim(0, top * 1.05)
    ax.set_xlabel(
        _text(
            "mu* (mean absolute effect, in sd of the output)",
            "mu* (평균 절대 효과, 결과 표준편차 단위)",
            lang,
        )
    )
    ax.set_ylabel(
        _text(
            "sigma (spread of effects, in sd of the output)",
            "sigma (효과의 퍼짐, 결과 표준편차 단위)",
            lang,
        )
    )
    ax.set_title(
        _text("Morris screening: ", "Morris 선별: ", lang) + _output_title(indicator, year, lang),
        fontsize=10,
    )
    ax.text(
        1.02, 1.0, "\n".join(key_lines), transform=ax.transAxes, fontsize=6.5, va="top", ha="left"
    )
    _note(
        ax,
        _text(
            "right: important; up: non-linear or interacting",
            "오른쪽: 중요; 위쪽: 비선형 또는 상호작용",
            lang,
        ),
    )
    return ax


def second_order_heatmap(
    indices: pd.DataFrame, indicator: str, year: int, ax: Axes | None = None, lang: str = "en"
) -> Axes:
    """Sobol' second-order indices S2 of every pair of factors (upper triangle), annotated."""
    _use_lang(lang)
    rows = _rows(indices, indicator, year, "S2")
    factors = list(dict.fromkeys([*rows["factor"], *rows["factor_2"]]))
    n = len(factors)
    where = {f: k for k, f in enumerate(factors)}
    matrix = np.full((n, n), np.nan)
    for row in rows.itertuples():
        matrix[where[row.factor], where[row.factor_2]] = row.value
    if ax is None:
        ax = new_axes((1.8 + 0.7 * n, 1.4 + 0.6 * n))
    limit = max(float(np.nanmax(np.abs(matrix))) if np.isfinite(matrix).any() else 0.0, 0.05)
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for i in range(n):
        for j in range(n):
            if np.isfinite(matrix[i, j]):
                dark = abs(matrix[i, j]) > 0.6 * limit  # white text on the deep colours
                ax.text(
                    j,
                    i,
                    f"{matrix[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    labels = [factor_text(f, lang, width=28) for f in factors]
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label="S2")
    ax.set_title(
        _text("Pairwise interactions: ", "입력 쌍의 상호작용: ", lang)
        + _output_title(indicator, year, lang),
        fontsize=10,
    )
    return ax


def through_time_chart(
    indices: pd.DataFrame,
    indicator: str,
    measure: str = "ST",
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """An index of every factor year by year (lines, 95% bands), the dummy dashed in grey."""
    _use_lang(lang)
    ax = ax if ax is not None else new_axes((9.0, 4.2))
    rows = _rows(indices, indicator, None, measure)
    factors = list(dict.fromkeys(rows["factor"]))
    real = [f for f in factors if f != DUMMY]
    for k, factor in enumerate([*real, DUMMY] if DUMMY in factors else real):
        part = rows[rows["factor"] == factor].sort_values("year")
        x = part["year"].to_numpy(dtype=float)
        v = part["value"].to_numpy(dtype=float)
        c = np.nan_to_num(part["conf"].to_numpy(dtype=float))
        label = factor_text(factor, lang, width=34)
        if factor == DUMMY:
            color, style = DUMMY_COLOR, "--"
        else:
            color, style = LINE_COLORS[k % len(LINE_COLORS)], "-"
        ax.plot(x, v, style, color=color, marker="o", markersize=3, label=label)
        ax.fill_between(x, v - c, v + c, color=color, alpha=0.15, linewidth=0)
    ax.set_xticks(sorted(rows["year"].unique()))
    ax.set_ylabel(MEASURE_LABELS.get(measure, measure), fontsize=8)
    ax.set_title(
        _text(
            f"What drives {indicator_label(indicator)}, year by year",
            f"연도별 {indicator_label(indicator, lang)}의 요인",
            lang,
        ),
        fontsize=10,
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6.5, frameon=False)
    return ax


def convergence_chart(
    convergence: pd.DataFrame,
    indicator: str,
    year: int,
    measure: str,
    noise_floor: float | None = None,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """The main index of every factor against the number of base samples, with intervals:
    lines that have settled and intervals that have shrunk mean the sample was large enough.
    """
    _use_lang(lang)
    ax = ax if ax is not None else new_axes((9.0, 4.2))
    rows = convergence[
        (convergence["indicator"] == indicator)
        & (convergence["year"] == year)
        & (convergence["measure"] == measure)
    ]
    if rows.empty:
        raise ValueError(f"no convergence rows for {measure} of {indicator} {year}")
    factors = list(dict.fromkeys(rows["factor"]))
    for k, factor in enumerate(factors):
        part = rows[rows["factor"] == factor].sort_values("samples")
        color = DUMMY_COLOR if factor == DUMMY else LINE_COLORS[k % len(LINE_COLORS)]
        ax.errorbar(
            part["samples"].to_numpy(dtype=float) * (1 + 0.02 * (k - len(factors) / 2)),
            part["value"].to_numpy(dtype=float),
            yerr=np.nan_to_num(part["conf"].to_numpy(dtype=float)),
            marker="o",
            markersize=3,
            capsize=2,
            color=color,
            linestyle="--" if factor == DUMMY else "-",
            label=factor_text(factor, lang, width=34),
        )
    if noise_floor is not None and np.isfinite(noise_floor):
        ax.axhline(
            noise_floor,
            color=FLOOR_COLOR,
            linestyle=":",
            linewidth=1,
            label=_text("noise floor", "잡음 기준선", lang),
        )
    samples = sorted(rows["samples"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(samples, [str(s) for s in samples])
    ax.set_xlabel(_text("base samples", "기본 표본 수", lang))
    ax.set_ylabel(MEASURE_LABELS.get(measure, measure), fontsize=8)
    ax.set_title(
        _text("Convergence: ", "수렴: ", lang) + _output_title(indicator, year, lang), fontsize=10
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6.5, frameon=False)
    return ax


_KOREAN_LEGEND = {
    FLOOR_LABEL: "잡음 기준선 (가상 입력 신뢰구간의 상단)",
    DUMMY_LABEL: "가상 입력 (잡음)",
    MEASURE_LABELS["S1"]: "1차 지수 S1 (단독 효과)",
    MEASURE_LABELS["ST"]: "총 지수 ST (상호작용 포함)",
    MEASURE_LABELS["delta"]: "delta (분포 전체의 차이)",
    MEASURE_LABELS["mu_star_scaled"]: "mu* (결과 표준편차 단위)",
}


def _korean_handle(handle):
    """A legend entry with its label in Korean."""
    label = handle.get_label()
    handle.set_label(_KOREAN_LEGEND.get(label, label))
    return handle
