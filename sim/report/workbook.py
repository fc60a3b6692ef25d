"""annual.xlsx: a run's annual ranges as a workbook a person reads.

One wide sheet per theme (production, exports, employment and firms, AI adoption, tariffs and
defence): a row per year, and for each indicator its median and 80% range (10th and 90th
percentiles of the replicates) in 조원 / 억 달러 / 명, headed in Korean and English, with the
reported history of 2020–2024 above the forecast years. A last sheet states the assumptions
(the scenario, seed, replicates, calibration) and the sources: every model parameter with its
range and source (the registry of `changwon-sim params`), the sources of the history, and the
published sources they cite (`calibration/SOURCES.md`). Indicators are picked up by name, so
new ones (sector breakdowns, constant-price production) appear in their theme's sheet without a
change here.

The bytes depend only on the inputs: XlsxWriter stamps its zip entries with a fixed date, and
the document's creation date is fixed here.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from sim.model.indicators import INDICATOR_NAMES, INDICATORS

#: Fixed so that the same run gives the same bytes (the real date is in manifest.json).
_DOCUMENT_DATE = datetime(2000, 1, 1)

#: Themes: (sheet name, Korean title, English title, name prefixes), in sheet order. An indicator
#: goes to the first theme one of whose prefixes it starts with; the rest go to the last sheet.
THEMES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "생산 Production",
        "생산",
        "Production",
        (
            "production",
            "value_added",
            "labour_productivity",
            "region_production",
            "region_value_added",
        ),
    ),
    ("수출 Exports", "수출", "Exports", ("exports",)),
    (
        "고용 Employment",
        "고용과 기업",
        "Employment and firms",
        ("employment", "active_firms", "entries", "exits", "region_employment"),
    ),
    ("AI 공장 AI factory", "AI 공장", "AI factory", ("adopt", "programme", "defect")),
    ("관세·방산 Tariffs, defence", "관세와 방산", "Tariffs and defence", ()),
)


@dataclass(frozen=True, slots=True)
class Column:
    """How an indicator is shown: divisor, unit label in both languages, number format."""

    divisor: float
    unit_ko: str
    unit_en: str
    number_format: str


def display(name: str) -> Column:
    """The display unit of an indicator: 조원 (nominal or constant 2024 prices), 억 달러, 명, %."""
    unit = INDICATORS[name].unit
    if unit.startswith("KRW per"):
        return Column(1e6, "백만원/인", "million KRW per worker", "#,##0.0")
    if unit.startswith("KRW"):
        if "real" in name or "constant" in unit:
            return Column(
                1e12, "조원, 2024년 불변가격", "trillion KRW, constant 2024 prices", "0.00"
            )
        return Column(1e12, "조원, 경상가격", "trillion KRW, nominal", "0.00")
    if unit.startswith("USD"):
        return Column(1e8, "억 달러", "100 million USD", "#,##0.0")
    if unit == "persons":
        return Column(1.0, "명", "persons", "#,##0")
    if unit == "firms":
        return Column(1.0, "개사", "firms", "#,##0")
    if unit == "share":
        return Column(0.01, "%", "%", "0.0")
    return Column(1.0, unit, unit, "#,##0.00")


def theme_of(name: str) -> int:
    for k, (*_, prefixes) in enumerate(THEMES):
        if any(name.startswith(p) for p in prefixes):
            return k
    return len(THEMES) - 1


def annual_workbook(
    summary: pd.DataFrame,
    replicates: int,
    *,
    scenario: Mapping[str, Any],
    manifest: Mapping[str, Any],
) -> bytes:
    """The bytes of annual.xlsx from a run's `annual_summary` table (annual.csv's rows).

    `scenario` is the resolved scenario as plain data, `manifest` the run's manifest (seed,
    calibration id).
    """
    import xlsxwriter

    from sim.analysis.history import history_sources, load_history

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties(
        {
            "title": f"changwon-sim: {scenario.get('title') or scenario.get('name')}",
            "created": _DOCUMENT_DATE,
        }
    )
    styles = _styles(book)
    present = [n for n in INDICATOR_NAMES if n in set(summary["indicator"])]
    history = load_history()
    title = str(scenario.get("title") or scenario.get("name"))
    for k, (sheet_name, title_ko, title_en, _) in enumerate(THEMES):
        names = [n for n in present if theme_of(n) == k]
        if names:
            _theme_sheet(
                book.add_worksheet(sheet_name),
                styles,
                summary,
                names,
                history,
                heading=f"{title_ko} {title_en} — {title}",
                replicates=replicates,
            )
    _assumptions_sheet(
        book.add_worksheet("가정과 출처 Sources"),
        styles,
        scenario,
        manifest,
        replicates,
        history_sources(),
    )
    book.close()
    return buffer.getvalue()


def _styles(book) -> dict[str, Any]:
    return {
        "book": book,  # number formats are added on first use
        "title": book.add_format({"bold": True, "font_size": 13}),
        "note": book.add_format({"italic": True, "font_color": "#555555"}),
        "head": book.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#EEF2F8", "border": 1}
        ),
        "sub": book.add_format(
            {"text_wrap": True, "valign": "top", "bg_color": "#F6F8FB", "border": 1, "font_size": 9}
        ),
        "year": book.add_format({"bold": True}),
        "history": book.add_format({"italic": True, "font_color": "#333333"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "bold": book.add_format({"bold": True}),
    }


def _theme_sheet(
    sheet,
    styles: dict[str, Any],
    summary: pd.DataFrame,
    names: list[str],
    history: Mapping[str, Mapping[int, float]],
    *,
    heading: str,
    replicates: int,
) -> None:
    """Rows: reported years, then the run's years; three columns per indicator."""
    sheet.write(0, 0, heading, styles["title"])
    sheet.write(
        1,
        0,
        f"중앙값과 80% 범위(시뮬레이션 {replicates:,}회의 10~90 백분위) · "
        f"Median and 80% range (10th–90th percentile of {replicates:,} runs). "
        "실적 Reported: KICOX.",
        styles["note"],
    )
    header_row, sub_row = 3, 4
    sheet.write(header_row, 0, "연도 Year", styles["head"])
    sheet.write(sub_row, 0, "", styles["sub"])
    table = summary.set_index(["indicator", "year"])
    years = sorted(int(y) for y in summary["year"].unique())
    months = summary.drop_duplicates("year").set_index("year")["months"]
    reported = sorted({y for n in names for y in history.get(n, {}) if y < years[0]})
    row = sub_row + 1
    year_rows = {}
    for year in reported:
        sheet.write(row, 0, f"{year} 실적 reported", styles["history"])
        year_rows[("history", year)] = row
        row += 1
    for year in years:
        label = str(year) if int(months[year]) == 12 else f"{year} ({int(months[year])}개월 months)"
        sheet.write(row, 0, label, styles["year"])
        year_rows[("run", year)] = row
        row += 1
    for k, name in enumerate(names):
        col = 1 + 3 * k
        ind = INDICATORS[name]
        shown = display(name)
        sheet.merge_range(
            header_row,
            col,
            header_row,
            col + 2,
            f"{ind.label_ko} ({shown.unit_ko})\n{ind.label_en} ({shown.unit_en})",
            styles["head"],
        )
        for j, sub in enumerate(("중앙값 Median", "10% Low", "90% High")):
            sheet.write(sub_row, col + j, sub, styles["sub"])
        number = styles.get(shown.number_format) or styles.setdefault(
            shown.number_format, styles["book"].add_format({"num_format": shown.number_format})
        )
        for year in reported:
            value = history.get(name, {}).get(year)
            if value is not None:
                sheet.write_number(year_rows[("history", year)], col, value / shown.divisor, number)
        for year in years:
            values = table.loc[(name, year)]
            for j, column in enumerate(("q50", "q10", "q90")):
                value = float(values[column])
                if value == value:  # NaN stays an empty cell
                    sheet.write_number(
                        year_rows[("run", year)], col + j, value / shown.divisor, number
                    )
        sheet.set_column(col, col + 2, 11)
    sheet.set_column(0, 0, 18)
    sheet.set_row(header_row, 48)
    sheet.freeze_panes(sub_row + 1, 1)


def _assumptions_sheet(
    sheet,
    styles: dict[str, Any],
    scenario: Mapping[str, Any],
    manifest: Mapping[str, Any],
    replicates: int,
    history_sources: Mapping[str, str],
) -> None:
    from sim.inputs.parameters import load_registry
    from sim.inputs.sources import SOURCES_NAME, load_sources

    sources = load_sources()
    period = scenario.get("period") or {}
    rows: list[tuple[str, str]] = [
        (
            "시나리오 Scenario",
            f"{scenario.get('name')}: {scenario.get('title') or ''}".rstrip(": "),
        ),
        ("설명 Description", " ".join(str(scenario.get("description") or "").split())),
        ("기간 Period", f"{period.get('start')} – {period.get('end')}"),
        ("시뮬레이션 Replicates", f"{replicates:,}"),
        ("시드 Seed", str(manifest.get("seed", ""))),
        ("보정 Calibration", str(manifest.get("calibration_id", ""))),
        (
            "범위의 뜻 Ranges",
            "80% 범위: 시뮬레이션의 10~90 백분위. 모형과 명시된 입력 범위를 전제로 한 범위입니다. "
            "80% range: 10th–90th percentile of the runs, given the model and its stated input "
            "ranges; it does not cover what the model leaves out.",
        ),
        (
            "가격 Prices",
            "생산액은 경상가격(명목), '불변' 표시는 2024년 가격. Production is nominal unless "
            "marked constant 2024 prices.",
        ),
    ]
    sheet.write(0, 0, "가정과 출처 Assumptions and sources", styles["title"])
    r = 2
    for label, value in rows:
        sheet.write(r, 0, label, styles["bold"])
        sheet.write(r, 1, value, styles["wrap"])
        r += 1

    r += 1
    sheet.write(r, 0, "실적 자료의 출처 Sources of the reported figures", styles["title"])
    r += 1
    for name, text in history_sources.items():
        ind = INDICATORS[name]
        sheet.write(r, 0, f"{ind.label_ko} {ind.label_en}", styles["bold"])
        sheet.write(r, 1, text, styles["wrap"])
        sheet.write(r, 2, sources.references(text), styles["wrap"])
        r += 1

    r += 1
    sheet.write(r, 0, "모형 매개변수 Model parameters", styles["title"])
    r += 1
    overrides = scenario.get("parameters") or {}
    header = ("name", "value", "low", "high", "unit", "kind", "source", "references")
    for c, text in enumerate(header):
        sheet.write(r, c, text, styles["head"])
    r += 1
    for spec in load_registry().values():
        value = overrides.get(spec.name, spec.value)
        cells = (
            spec.name,
            value,
            spec.low,
            spec.high,
            spec.unit,
            spec.kind if spec.name not in overrides else f"{spec.kind}; fixed by the scenario",
            sources.spell_out(spec.source),
            sources.references(spec.source),
        )
        for c, cell in enumerate(cells):
            if isinstance(cell, float):
                sheet.write_number(r, c, cell)
            else:
                sheet.write(r, c, cell, styles["wrap"])
        r += 1

    r += 1
    sheet.write(r, 0, f"출처 목록 Published sources ({SOURCES_NAME})", styles["title"])
    r += 1
    for c, text in enumerate(("key", "outlet", "date", "says", "used for")):
        sheet.write(r, c, text, styles["head"])
    r += 1
    for entry in sources.entries:
        for c, text in enumerate((entry.key, entry.outlet, entry.date, entry.says, entry.used_for)):
            sheet.write(r, c, text, styles["wrap"])
        r += 1
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 40)
    sheet.set_column(2, 5, 14)
    sheet.set_column(6, 7, 60)
