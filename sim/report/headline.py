"""The few lines `run` and `compare` print when they finish: the headline ranges (median and 80%
range of production, exports and jobs in the first full year and the last year; for a comparison,
the paired differences and the chance that they are negative), where the results are, and the
next useful command.

Text only, from the tables the commands already hold (`sim.ensemble.tables.annual_summary` and
`compare_annual`), in English or Korean.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

HEADLINE_INDICATORS = ("production_krw", "exports_usd", "employment")

_NOUN = {
    "en": {"production_krw": "production", "exports_usd": "exports", "employment": "jobs"},
    "ko": {"production_krw": "생산액", "exports_usd": "수출액", "employment": "고용"},
}
_UNIT = {
    "en": {
        "production_krw": (1e12, "trillion KRW"),
        "exports_usd": (1e9, "bn USD"),
        "employment": (1.0, "persons"),
    },
    "ko": {
        "production_krw": (1e12, "조원"),
        "exports_usd": (1e8, "억 달러"),
        "employment": (1.0, "명"),
    },
}


def headline_years(summary: pd.DataFrame) -> list[int]:
    """The first full year and the last year of a run (one year if they coincide)."""
    months = summary.drop_duplicates("year").set_index("year")["months"].sort_index()
    full = [int(y) for y, m in months.items() if int(m) == 12]
    first = full[0] if full else int(months.index[0])
    return sorted({first, int(months.index[-1])})


def _number(value: float, indicator: str, lang: str, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "n/a"
    divisor, _ = _UNIT[lang][indicator]
    shown = value / divisor
    if indicator == "employment":
        text = f"{round(shown, -2):,.0f}"  # jobs to the hundred: more digits would be noise
        return f"+{text}" if signed and shown > 0 else text
    digits = 1 if abs(shown) >= 10 or (indicator == "production_krw" and abs(shown) >= 1) else 2
    text = f"{shown:,.{digits}f}"
    return f"+{text}" if signed and shown > 0 else text


def _year_label(summary: pd.DataFrame, year: int, lang: str) -> str:
    months = int(summary.loc[summary["year"] == year, "months"].iloc[0])
    if months == 12:
        return str(year)
    return f"{year} ({months} months)" if lang == "en" else f"{year}년 ({months}개월)"


def run_headline(
    summary: pd.DataFrame, *, title: str, replicates: int, lang: str = "en"
) -> list[str]:
    """Lines: the scenario and basis, then one line per headline year."""
    table = summary.set_index(["indicator", "year"])
    if lang == "ko":
        lines = [f"{title}: 시뮬레이션 {replicates:,}회, 중앙값 (80% 범위: 10~90 백분위)"]
    else:
        lines = [f"{title}: {replicates:,} runs, median (80% range: 10th-90th percentile)"]
    for year in headline_years(summary):
        parts = []
        for name in HEADLINE_INDICATORS:
            row = table.loc[(name, year)]
            unit = _UNIT[lang][name][1]
            median = _number(float(row["q50"]), name, lang)
            low, high = (_number(float(row[q]), name, lang) for q in ("q10", "q90"))
            parts.append(f"{_NOUN[lang][name]} {median} {unit} ({low}-{high})")
        lines.append(f"  {_year_label(summary, year, lang)}: " + ", ".join(parts))
    return lines


def compare_headline(
    differences: pd.DataFrame, *, base: str, alternative: str, replicates: int, lang: str = "en"
) -> list[str]:
    """Lines: the paired difference alternative - base of production, exports and jobs in the
    first full year and the last year: median, 80% range, in units and percent, P(negative)."""
    table = differences.set_index(["indicator", "year"])
    if lang == "ko":
        lines = [
            f"{alternative} - {base} (같은 시드로 짝지은 차이, {replicates:,}회): "
            "중앙값 (80% 범위), 감소 확률"
        ]
    else:
        lines = [
            f"{alternative} minus {base}, paired run by run ({replicates:,} runs): "
            "median (80% range), chance of a fall"
        ]
    for year in headline_years(differences):
        parts = []
        for name in HEADLINE_INDICATORS:
            row = table.loc[(name, year)]
            unit = _UNIT[lang][name][1]
            median = _number(float(row["q50_diff"]), name, lang, signed=True)
            low, high = (
                _number(float(row[q]), name, lang, signed=True) for q in ("q10_diff", "q90_diff")
            )
            pct = "/".join(f"{float(row[q]):+.1f}%" for q in ("q10_pct", "q90_pct"))
            chance = f"{float(row['prob_negative']):.0%}"
            if lang == "ko":
                parts.append(
                    f"{_NOUN[lang][name]} {median} {unit} ({low}~{high}; {pct}), 감소 확률 {chance}"
                )
            else:
                parts.append(
                    f"{_NOUN[lang][name]} {median} {unit} ({low} to {high}; {pct}), "
                    f"P(fall) {chance}"
                )
        lines.append(f"  {_year_label(differences, year, lang)}: " + "; ".join(parts))
    return lines


def next_steps_run(
    folder: Path, scenario_file: Path | None, seed: int, replicates: int, baseline_file: Path | None
) -> list[str]:
    """The commands an analyst runs next: a Word brief of this run, and the comparison with the
    baseline (the same seed and replicates pair the runs)."""
    lines = [
        f"Results: {folder}",
        "Next:",
        f"  changwon-sim brief {shlex.quote(str(folder))} --format docx    # a Word brief",
    ]
    if scenario_file is not None and baseline_file is not None:
        lines.append(
            f"  changwon-sim compare {shlex.quote(str(baseline_file))} "
            f"{shlex.quote(str(scenario_file))} --seed {seed} --replicates {replicates}"
            "    # the effect against the baseline"
        )
    return lines


def next_steps_compare(folder: Path, run_folders: Sequence[Path]) -> list[str]:
    """Where the comparison is, and the brief of the first alternative against the base."""
    lines = [f"Results: {folder}"]
    if len(run_folders) >= 2:
        base, alternative = run_folders[0], run_folders[1]
        lines += [
            "Next:",
            f"  changwon-sim brief {shlex.quote(str(alternative))} --baseline "
            f"{shlex.quote(str(base))} --format docx    # a Word brief of the effect",
        ]
    return lines
