"""The content of a policy brief: headline ranges, tables, chances, figures, drivers, caveats and
how to reproduce it, as a `Document` of blocks (`build_brief`).

Numbers come from summary.json (headline), annual.csv (tables) and, against a baseline, from the
paired differences of the two runs' monthly.parquet (`sim.ensemble.tables.compare_tables`), so a
brief quotes exactly what the results folder holds. Building the content is separate from
rendering it (`sim.report.brief.render`), and what is said here is separate from how it is worded
(`sim.report.brief.wording`, `sim.report.brief.numbers`).
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model.indicators import INDICATORS
from sim.report.brief import numbers, wording
from sim.report.brief.assumptions import (
    assumptions_section,
    calibration_section,
    record_sentence,
)
from sim.report.brief.document import (
    Block,
    Bullets,
    Document,
    Figure,
    Heading,
    Paragraph,
    Table,
    code,
    md,
)
from sim.report.brief.folders import (
    Comparison,
    Driver,
    RunFolder,
    Sensitivity,
    compare_runs,
    find_sensitivity,
    headline_years,
    read_sensitivity,
)
from sim.report.brief.wording import text

#: Indicators of the headline, in the order they are quoted.
HEADLINE_INDICATORS = ("production_krw", "exports_usd", "employment")
#: Columns of the table by year.
TABLE_INDICATORS = (
    "production_krw",
    "exports_usd",
    "employment",
    "value_added_krw",
    "active_firms",
    "adoption_share",
)
#: Fan charts and difference charts shown (each indicator once per kind).
FIGURE_INDICATORS = ("production_krw", "exports_usd", "employment")
#: Fewer runs than this and the brief warns that the interval ends are unstable.
FEW_REPLICATES = 100


# ---------------------------------------------------------------------------------------------
# building the brief


def build_brief(
    run: RunFolder,
    lang: str,
    baseline: RunFolder | None = None,
    *,
    years: Sequence[int] | None = None,
    sensitivity: Path | str | None = "auto",
    command: str | None = None,
    title: str | None = None,
) -> Document:
    """The brief's content in `lang`: headline, tables, chances, figures, assumptions, footer.

    `sensitivity`: "auto" looks for the newest sensitivity run of the scenario next to the
    results folder; a path reads that indices.csv; None leaves the section at "not run".
    `command` is the brief command shown in the footer (default: built from the arguments).
    `title` replaces the scenario's title; without it a Korean brief of a scenario whose title
    has no Hangul gets a Korean title made from what the scenario contains (`wording.korean_title`)
    and keeps the original title in its subtitle.
    """
    numbers.check_lang(lang)
    comparison = compare_runs(run, baseline) if baseline is not None else None
    picked = headline_years(run, years)
    if sensitivity == "auto":
        sensitivity = find_sensitivity(run.path)
    sens = read_sensitivity(Path(sensitivity)) if sensitivity else None
    shown_title, original = run.title, ""
    if title:
        shown_title = title
    elif lang == "ko" and not wording.has_hangul(run.title):
        shown_title, original = wording.korean_title(run.scenario), run.title
    heading = text(lang, "title", title=md(shown_title))
    subtitle = text(
        lang,
        "subtitle",
        name=run.name,
        replicates=run.replicates,
        date=str(run.manifest.get("created_utc", ""))[:10],
    )
    if original:
        subtitle += " · " + text(lang, "original_title", title=md(original))
    blocks: list[Block] = [Paragraph(subtitle)]
    blocks += [
        Heading(text(lang, "summary")),
        Paragraph(_headline(run, comparison, picked, lang, shown_title)),
    ]
    record = record_sentence(lang)
    if record:
        blocks.append(Paragraph(record))
    blocks += _year_table(run, lang)
    blocks += _baseline_section(run, comparison, picked, lang)
    blocks += _figures(run, comparison, lang)
    blocks += _drivers(sens, run, lang)
    blocks += assumptions_section(run, comparison, lang)
    blocks += calibration_section(run, lang)
    blocks += _caveats(run, comparison, lang)
    blocks += _footer(run, comparison, lang, command)
    return Document(lang, heading, tuple(blocks))


def _summary_entry(run: RunFolder, indicator: str, year: int) -> dict[str, Any]:
    return run.summary["indicators"][indicator]["years"][str(year)]


def _noun(indicator: str, lang: str) -> str:
    return wording.NOUN[lang].get(indicator) or INDICATORS[indicator].label_en.lower()


def _level_range(run: RunFolder, indicator: str, year: int, lang: str) -> tuple[str, str]:
    """('58.1~61.4조원', '59.8조원'): the 80% range and the median from summary.json."""
    entry = _summary_entry(run, indicator, year)
    lo, hi = entry["q10_q90"]
    return numbers.format_range_median(lo, hi, entry["median"], INDICATORS[indicator].unit, lang)


def _pct_row(comparison: Comparison, indicator: str, year: int) -> pd.Series:
    table = comparison.table
    return table[(table["indicator"] == indicator) & (table["year"] == year)].iloc[0]


def _short_diff(comparison: Comparison | None, indicator: str, year: int, lang: str) -> str:
    """', 기준 대비 2.1~4.0% 감소' / '; 2.1–4.0% below the baseline' ('' without a baseline)."""
    if comparison is None:
        return ""
    row = _pct_row(comparison, indicator, year)
    return text(lang, "item_diff", diff=wording.diff_short(row["q10_pct"], row["q90_pct"], lang))


def _headline(
    run: RunFolder,
    comparison: Comparison | None,
    years: list[int],
    lang: str,
    title: str | None = None,
) -> str:
    """The summary paragraph: key ranges with units, years and basis, and the baseline gap."""
    first, *rest = HEADLINE_INDICATORS
    year = years[0]
    rng, median = _level_range(run, first, year, lang)
    lo_pct = hi_pct = None
    if comparison is not None:
        row = _pct_row(comparison, first, year)
        lo_pct, hi_pct = row["q10_pct"], row["q90_pct"]
    sentences = [
        wording.headline_first(
            lang,
            title=text(lang, "scenario_title", title=md(title or run.title)),
            year=year,
            noun=_noun(first, lang),
            range_text=rng,
            median=median,
            lo_pct=lo_pct,
            hi_pct=hi_pct,
        )
    ]

    def items(indicators: Sequence[str], y: int) -> str:
        parts = []
        for name in indicators:
            r, m = _level_range(run, name, y, lang)
            parts.append(
                text(
                    lang,
                    "headline_item",
                    noun=_noun(name, lang),
                    range=r,
                    median=m,
                    diff=_short_diff(comparison, name, y, lang),
                )
            )
        return text(lang, "and").join(parts)

    sentences.append(text(lang, "headline_same_year", items=items(rest, year)))
    for other in years[1:]:
        sentences.append(
            text(lang, "headline_other_year", year=other, items=items(HEADLINE_INDICATORS, other))
        )
    basis = text(lang, "basis", replicates=run.replicates)
    basis += text(lang, "basis_paired") if comparison is not None else ""
    sentences.append(basis)
    return " ".join(sentences)


def _year_table(run: RunFolder, lang: str) -> list[Block]:
    """Median and 80% range of the main indicators by year, with the last reported year."""
    from sim.analysis.history import load_history

    history = load_history()
    annual = run.annual.set_index(["indicator", "year"])
    years = run.years
    last_reported = max((max(history[n]) for n in TABLE_INDICATORS if n in history), default=None)
    header = [text(lang, "year")]
    columns: list[list[str]] = []
    for name in TABLE_INDICATORS:
        kind = INDICATORS[name].unit
        rows = [annual.loc[(name, y)] for y in years]
        scale = numbers.choose_scale(
            kind, [r["q90"] for r in rows] + [r["q10"] for r in rows], lang
        )
        label = INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en
        header.append(f"{label} ({scale.unit.strip()})")
        cells = []
        if last_reported is not None:
            value = history.get(name, {}).get(last_reported)
            cells.append(
                numbers.number(value, scale, numbers.precision_for(scale, [value]))
                if value is not None
                else numbers.MISSING[lang]
            )
        for r in rows:
            cells.append(numbers.format_cell(r["q50"], r["q10"], r["q90"], scale, lang))
        columns.append(cells)
    months = run.months_in_run
    labels = []
    if last_reported is not None:
        labels.append(text(lang, "history_row", year=last_reported))
    labels += [
        str(y) if months[y] == 12 else text(lang, "partial_year", year=y, months=months[y])
        for y in years
    ]
    body = tuple((label, *(column[k] for column in columns)) for k, label in enumerate(labels))
    note = text(lang, "by_year_note", replicates=run.replicates)
    partial = [y for y in years if months[y] < 12]
    for y in partial:
        note += " " + text(lang, "partial_note", year=y, months=months[y])
    return [Heading(text(lang, "by_year")), Table(tuple(header), body, note)]


def thresholds(diffs: np.ndarray) -> list[float]:
    """Round thresholds (> 0) for "a chance of a change larger than T", in the median's direction.

    Two round numbers (1, 2 or 5 times a power of ten): one at or below the change exceeded in
    90% of the pairs (a near-certain "more than"), and the one nearest the median change (about
    an even chance). Empty if the median change is zero.
    """
    diffs = np.asarray(diffs, dtype=float)
    median = float(np.median(diffs))
    if median == 0 or not math.isfinite(median):
        return []
    change = -diffs if median < 0 else diffs  # sizes of the change in the median's direction
    picked = {numbers.nice_number(abs(median), how="nearest")}
    likely = float(np.quantile(change, 0.1))
    if likely > 0:
        picked.add(numbers.nice_number(likely, how="down"))
    return sorted(picked)


def _baseline_section(
    run: RunFolder, comparison: Comparison | None, years: list[int], lang: str
) -> list[Block]:
    blocks: list[Block] = [Heading(text(lang, "vs_base"))]
    if comparison is None:
        return [*blocks, Paragraph(text(lang, "no_baseline"))]
    base = comparison.base
    blocks.append(
        Paragraph(
            text(
                lang,
                "vs_base_intro",
                base=code(base.name) + (f" ({md(base.title)})" if base.title != base.name else ""),
                replicates=run.replicates,
            )
        )
    )
    table = comparison.table.set_index(["indicator", "year"])
    header = [text(lang, "year")]
    columns = []
    for name in HEADLINE_INDICATORS:
        kind = INDICATORS[name].unit
        rows = [table.loc[(name, y)] for y in run.years]
        scale = numbers.choose_scale(
            kind, [r["q10_diff"] for r in rows] + [r["q90_diff"] for r in rows], lang
        )
        label = INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en
        header += [f"Δ {label} ({scale.unit.strip()})", f"Δ {label} (%)"]
        pct = numbers.choose_scale("percent", [], lang)
        columns.append(
            [
                numbers.format_cell(
                    r["q50_diff"], r["q10_diff"], r["q90_diff"], scale, lang, signed=True
                )
                for r in rows
            ]
        )
        columns.append(
            [
                numbers.format_cell(
                    r["q50_pct"], r["q10_pct"], r["q90_pct"], pct, lang, signed=True
                )
                for r in rows
            ]
        )
    months = run.months_in_run
    body = tuple(
        (
            str(y) if months[y] == 12 else text(lang, "partial_year", year=y, months=months[y]),
            *(column[k] for column in columns),
        )
        for k, y in enumerate(run.years)
    )
    blocks.append(Table(tuple(header), body, text(lang, "vs_base_note")))

    # Chances, from the per-replicate paired differences; "lower at all" is compare_tables'
    # prob_negative, the thresholds are counted on the same pairs.
    per = comparison.per_replicate
    for year in years:
        items = []
        for name in HEADLINE_INDICATORS:
            diffs = per.loc[per["year"] == year, name].to_numpy(float)
            n = len(diffs)
            row = table.loc[(name, year)]
            median = float(np.median(diffs))
            direction = "up" if median > 0 else "down"
            if direction == "down":
                k = round(float(row["prob_negative"]) * n)
            else:
                k = int(np.count_nonzero(diffs > 0))
            parts = [
                wording.chance_lower(
                    _noun(name, lang), direction, numbers.format_probability(k, n, lang), lang
                )
            ]
            for t in thresholds(diffs):
                hits = (
                    np.count_nonzero(diffs < -t)
                    if direction == "down"
                    else np.count_nonzero(diffs > t)
                )
                amount = numbers.format_value(t, INDICATORS[name].unit, lang, trim=True)
                parts.append(
                    wording.chance_threshold(
                        amount, direction, numbers.format_probability(int(hits), n, lang), lang
                    )
                )
            items.append(wording.join_chances(parts, lang))
        blocks += [Heading(text(lang, "chances", year=year), 3), Bullets(tuple(items))]
    blocks.append(Paragraph(text(lang, "chances_note", replicates=run.replicates)))
    return blocks


def _render_png(draw) -> bytes:
    """PNG bytes of `draw()`'s figure, with rcParams (the Korean font) restored afterwards."""
    import matplotlib

    from sim.report.plots import figure_png_bytes

    with matplotlib.rc_context():
        ax = draw()
        return figure_png_bytes(ax.figure)


def _figures(run: RunFolder, comparison: Comparison | None, lang: str) -> list[Block]:
    """Fan charts of the scenario and, against a baseline, charts of the paired differences."""
    from sim.analysis.history import load_history
    from sim.report import plots

    history = load_history()
    blocks: list[Block] = [Heading(text(lang, "figures"))]
    n = 0
    for name in FIGURE_INDICATORS:
        n += 1
        label = INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en
        png = _render_png(
            lambda name=name, label=label: plots.fan_chart(
                None,
                run.annual,
                name,
                history.get(name),
                lang=lang,
                replicates=run.replicates,
                # A title of our own puts the indicator and unit on the y axis ("고용 (명)"),
                # and keeps the scenario's (often English) title out of a Korean figure.
                title=text(lang, "fan_title", label=label),
            )
        )
        caption = text(lang, "figure", n=n) + " " + text(lang, "fan_caption", label=label)
        blocks.append(Figure(f"fan_{name}", png, caption, label))
    if comparison is not None:
        for name in FIGURE_INDICATORS:
            n += 1
            label = INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en
            png = _render_png(
                lambda name=name: plots.compare_chart(
                    None,
                    {run.name: comparison.table},
                    name,
                    lang=lang,
                    percent=True,
                    base_name=comparison.base.name,
                )
            )
            caption = text(lang, "figure", n=n) + " " + text(lang, "compare_caption", label=label)
            blocks.append(Figure(f"compare_{name}", png, caption, label))
    return blocks


def _output_label(output: str, lang: str) -> str:
    """'exports_usd:2026' -> '2026년 수출액' / 'Exports in 2026'."""
    name, _, year = output.partition(":")
    if name in INDICATORS:
        label = INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en
    else:
        label = code(name)
    if not year:
        return label
    return f"{year}년 {label}" if lang == "ko" else f"{label} in {year}"


def _same_inputs(run: RunFolder, sens: Sensitivity) -> bool:
    """Whether the sensitivity analysis studied this run's scenario: the same resolved scenario
    apart from `runs` and `outputs` (a run's replicates and seed do not change its inputs)."""
    from sim.inputs.safe_yaml import YamlError, load_file

    path = Path(sens.path).parent / "scenario.yaml"
    try:
        studied = load_file(path).data
    except (OSError, YamlError):
        return not sens.scenario_hash or sens.scenario_hash == run.manifest.get("scenario_hash")
    if not isinstance(studied, dict):
        return False

    def inputs(data: dict) -> str:
        import json

        kept = {k: v for k, v in data.items() if k not in ("runs", "outputs")}
        return json.dumps(kept, sort_keys=True, default=str)

    return inputs(studied) == inputs(run.scenario)


def _sensitivity_figure(sens: Sensitivity, output: str, lang: str) -> Figure | None:
    """The index chart the sensitivity run drew for `output`, in `lang` if it drew one."""
    stem = output.replace(":", "_")
    folder = Path(sens.path).parent / "figures"
    for name in ([f"indices_{stem}.ko.png"] if lang == "ko" else []) + [f"indices_{stem}.png"]:
        path = folder / name
        if path.is_file():
            label = _output_label(output, lang)
            caption = text(lang, "sensitivity_caption", output=label)
            return Figure(f"sensitivity_{stem}", path.read_bytes(), caption, label)
    return None


def _drivers(sens: Sensitivity | None, run: RunFolder, lang: str) -> list[Block]:
    blocks: list[Block] = [Heading(text(lang, "drivers"))]
    if sens is None:
        return [*blocks, Paragraph(text(lang, "no_sensitivity"))]
    shown = _relative(sens.path)
    if sens.error is not None or not sens.drivers:
        reason = md(sens.error or "no indices")
        return [*blocks, Paragraph(text(lang, "sensitivity_unreadable", path=shown, reason=reason))]
    index_name = text(lang, f"index_{sens.index_kind}")
    items = []
    if not _same_inputs(run, sens):
        # Drivers of another version of the scenario may not be this one's: say so.
        items.append(text(lang, "sensitivity_other_version", hash=sens.scenario_hash[:8]))
    # The outputs asked for, else the headline indicators first; at most four keep it short.
    ordered = list(sens.outputs) or sorted(
        sens.drivers,
        key=lambda o: (
            HEADLINE_INDICATORS.index(o.split(":")[0])
            if o.split(":")[0] in HEADLINE_INDICATORS
            else len(HEADLINE_INDICATORS),
        ),
    )
    for output in ordered[:4]:
        floor = sens.noise_floor.get(output)
        floor_text = f"{floor:.2f}" if floor is not None else numbers.MISSING[lang]
        label = _output_label(output, lang)
        drivers = sens.drivers[output]

        def item(d: Driver) -> str:
            return text(
                lang,
                "driver_item",
                label=md(wording.factor_label(d.factor, lang)),
                index=index_name,
                value=f"{d.index:.2f}" + (f" ± {d.conf:.2f}" if d.conf is not None else ""),
            )

        if not drivers:
            line = text(lang, "no_driver", output=label, value=floor_text)
            if output in sens.leaders:  # the best candidate, marked as not yet clear of noise
                line += " " + text(lang, "leader", item=item(sens.leaders[output]))
            items.append(line)
            continue
        listed = text(lang, "and").join(item(d) for d in drivers)
        line = text(lang, "driver_line", output=label, drivers=listed)
        if floor is not None:
            line = line.rstrip(".") + text(lang, "noise_floor", value=floor_text) + "."
        items.append(line)
    # When nothing clears the noise floor the analysis says "too few samples", not "no driver".
    found = any(sens.drivers[o] for o in ordered[:4])
    intro = "sensitivity_intro" if found else "sensitivity_none"
    blocks.append(Paragraph(text(lang, intro, path=shown, method=md(sens.method))))
    blocks.append(Bullets(tuple(items)))
    explain = text(lang, "index_explain_total") + " " if sens.index_kind == "total" else ""
    explain += text(lang, "noise_explain")
    blocks.append(Paragraph(explain))
    figure = _sensitivity_figure(sens, ordered[0], lang) if ordered else None
    if figure is not None:
        blocks.append(figure)
    return blocks


def _relative(path: Path) -> str:
    """A path as short as is unambiguous: relative to the current folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _caveats(run: RunFolder, comparison: Comparison | None, lang: str) -> list[Block]:
    items = [
        text(lang, "caveat_ranges"),
        text(lang, "caveat_nominal"),
        text(lang, "caveat_employment"),
    ]
    if run.replicates < FEW_REPLICATES:
        items.append(text(lang, "caveat_few", replicates=run.replicates))
    if comparison is not None:
        # Pairing needs seed, replicates and period (checked); these others make the
        # difference mix model or calibration changes with the scenario's effect.
        for key in ("model_version", "calibration_id", "package_version"):
            this, base = run.manifest.get(key), comparison.base.manifest.get(key)
            if this != base:
                items.append(
                    text(lang, "caveat_mismatch", what=code(key), this=md(this), base=md(base))
                )
    return [Heading(text(lang, "caveats")), Bullets(tuple(items))]


def default_command(run: RunFolder, lang: str, baseline: RunFolder | None) -> list[str]:
    """The commands that regenerate the runs and this brief."""
    fixed = " --fixed-parameters" if run.manifest.get("parameters") == "central values" else ""
    lines = [
        f"changwon-sim run {shlex.quote(str(run.path / 'scenario.yaml'))} --seed {run.seed} "
        f"--replicates {run.replicates}{fixed}"
    ]
    if baseline is not None:
        lines.append(
            f"changwon-sim run {shlex.quote(str(baseline.path / 'scenario.yaml'))} "
            f"--seed {baseline.seed} --replicates {baseline.replicates}{fixed}"
        )
    brief = f"changwon-sim brief {shlex.quote(str(run.path))} --lang {lang}"
    if baseline is not None:
        brief += f" --baseline {shlex.quote(str(baseline.path))}"
    lines.append(brief)
    return lines


def _footer(
    run: RunFolder, comparison: Comparison | None, lang: str, command: str | None
) -> list[Block]:
    m = run.manifest
    items = [
        text(lang, "repro_scenario", name=run.name, hash=m["scenario_hash"]),
        text(
            lang,
            "repro_run",
            seed=run.seed,
            replicates=run.replicates,
            model=m.get("model_version", "?"),
            package=m.get("package_version", "?"),
            calibration=m.get("calibration_id", "?"),
            created=m.get("created_utc", "?"),
        ),
        text(lang, "repro_folder", folder=md(run.path)),
    ]
    base = comparison.base if comparison is not None else None
    if base is not None:
        items.append(
            text(lang, "repro_base", folder=md(base.path), hash=base.manifest["scenario_hash"])
        )
    commands = default_command(run, lang, base)
    if command is not None:
        commands[-1] = command
    items.append(text(lang, "repro_command") + " " + " ; ".join(code(c) for c in commands))
    return [
        Heading(text(lang, "reproduce")),
        Bullets(tuple(items)),
        Paragraph(text(lang, "generated")),
    ]
