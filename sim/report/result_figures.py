"""The figures of a results folder: fan charts of a run, charts of a comparison's paired
differences, and the charts of a sensitivity analysis, as (relative path, PNG bytes).

The writers of results folders (`sim.ensemble.results`, `sim.analysis.sensitivity.results`) take
these functions as their `figures` argument, so the folder's files and their hashes in
manifest.json are written together, while nothing below the reporting layer imports plotting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pandas as pd

from sim.analysis.sensitivity.design import MAIN_MEASURE
from sim.analysis.sensitivity.run import SensitivityResult
from sim.ensemble.tables import MAIN_INDICATORS
from sim.model.indicators import INDICATORS

#: Fan charts / comparison charts written into result folders (constant-price production too,
#: once the model records it).
FIGURE_INDICATORS: tuple[str, ...] = tuple(
    name
    for name in (*MAIN_INDICATORS, "production_real_krw", "region_production_krw")
    if name in INDICATORS
)


def _render(draw: Callable[[], Any]) -> bytes:
    """PNG bytes of the figure `draw()` makes, with rcParams restored afterwards.

    The rc context keeps one figure's settings (e.g. the Korean font) from leaking into the next,
    so a figure's bytes do not depend on what was drawn before it in the process.
    """
    import matplotlib

    from sim.report.plots import figure_png_bytes

    with matplotlib.rc_context():
        ax = draw()
        return figure_png_bytes(ax.figure)


def _figure_suffix(lang: str) -> str:
    return "" if lang == "en" else f".{lang}"


def source_line(replicates: int | None, lang: str, reported: str | None = None) -> str:
    """The foot of a figure: what made the numbers and where the reported ones come from."""
    if lang == "ko":
        line = "자료: changwon-sim 시뮬레이션"
        line += f" {replicates:,}회" if replicates else ""
        line += "; 띠는 시뮬레이션의 10~90 백분위(80%)와 25~75 백분위(50%)"
        return line + (f". 실적: {reported}" if reported else "")
    line = "Source: changwon-sim simulation"
    line += f", {replicates:,} runs" if replicates else ""
    line += "; bands: 10th-90th (80%) and 25th-75th (50%) percentiles of the runs"
    return line + (f". Reported: {reported}" if reported else "")


def fan_figures(
    summary: pd.DataFrame,
    replicates: int,
    langs: Sequence[str] = ("en",),
    title: str | None = None,
    indicators: Sequence[str] = FIGURE_INDICATORS,
) -> Iterator[tuple[str, bytes]]:
    """figures/fan_<indicator>[.<lang>].png of a run (English unsuffixed), from its
    `annual_summary` table, with the reported history, the scenario's title and a source line;
    for each language, one per indicator of `indicators` (`FIGURE_INDICATORS` unless given)."""
    for lang in langs:
        if lang not in ("en", "ko"):
            raise ValueError(f"figure language must be 'en' or 'ko' (got {lang!r})")
    from sim.analysis.history import history_sources, load_history
    from sim.report import plots

    history = load_history()
    reported = history_sources()
    for lang in langs:
        for name in indicators:
            png = _render(
                lambda name=name, lang=lang: plots.fan_chart(
                    None,
                    summary,
                    name,
                    history.get(name),
                    lang=lang,
                    replicates=replicates,
                    scenario_title=title,
                    source=source_line(replicates, lang, reported.get(name)),
                )
            )
            yield f"figures/fan_{name}{_figure_suffix(lang)}.png", png


def compare_figures(
    differences: pd.DataFrame,
    base_name: str,
    langs: Sequence[str] = ("en",),
    title: str | None = None,
) -> Iterator[tuple[str, bytes]]:
    """figures/compare_<indicator>[.<lang>].png of a comparison, from its differences table."""
    from sim.report import plots

    for lang in langs:
        note = (
            "Source: changwon-sim simulation; paired differences run by run (common random "
            "numbers), band: 10th-90th percentile (80%)"
            if lang == "en"
            else "자료: changwon-sim 시뮬레이션; 같은 난수로 짝지은 차이, 띠는 10~90 백분위(80%)"
        )
        for name in FIGURE_INDICATORS:
            png = _render(
                lambda name=name, lang=lang, note=note: plots.compare_chart(
                    None,
                    differences,
                    name,
                    lang=lang,
                    base_name=base_name,
                    scenario_title=title,
                    source=note,
                )
            )
            yield f"figures/compare_{name}{_figure_suffix(lang)}.png", png


def sensitivity_figures(
    result: SensitivityResult, title: str | None = None, lang: str = "en"
) -> Iterator[tuple[str, bytes]]:
    """(relative path, PNG bytes) of every figure of a result, in `lang` (figures/*.png for
    English, figures/*.ko.png for Korean)."""
    from sim.report import sensitivity_plots as plots

    suffix = _figure_suffix(lang)
    effect = result.baseline is not None
    if effect and title:
        base = result.baseline.title or result.baseline.name
        title = f"{title} − {base}" if lang == "en" else f"{title} − {base} (효과)"
    floor_of = {o.label: result.noise_floor(o) for o in result.outputs}
    for output in result.headline:
        stem = f"{output.indicator}_{output.year}"
        yield (
            f"figures/indices_{stem}{suffix}.png",
            _render(
                lambda o=output: plots.index_bars(
                    result.indices,
                    o.indicator,
                    o.year,
                    result.method,
                    title=title,
                    lang=lang,
                    effect=effect,
                )
            ),
        )
        if result.method == "morris":
            yield (
                f"figures/morris_{stem}{suffix}.png",
                _render(
                    lambda o=output: plots.morris_scatter(
                        result.indices, o.indicator, o.year, lang=lang
                    )
                ),
            )
        if result.second_order:
            yield (
                f"figures/second_order_{stem}{suffix}.png",
                _render(
                    lambda o=output: plots.second_order_heatmap(
                        result.indices, o.indicator, o.year, lang=lang
                    )
                ),
            )
        yield (
            f"figures/convergence_{stem}{suffix}.png",
            _render(
                lambda o=output: plots.convergence_chart(
                    result.convergence,
                    o.indicator,
                    o.year,
                    MAIN_MEASURE[result.method],
                    noise_floor=floor_of[o.label],
                    lang=lang,
                )
            ),
        )
    if result.through_time:
        yield (
            f"figures/through_time_{result.through_time}{suffix}.png",
            _render(
                lambda: plots.through_time_chart(
                    result.indices, result.through_time, MAIN_MEASURE[result.method], lang=lang
                )
            ),
        )
