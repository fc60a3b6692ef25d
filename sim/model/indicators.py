"""The indicators a run records each month, and how months add up to years.

A flow (production, exports, ...) is summed over the year; a stock (employment, firms, adopters)
is taken at the year's last month; a ratio is recomputed from the annual flows and stocks. Region-
wide figures are input-output estimates (Bank of Korea multipliers applied to the complex's final
sales), not simulated firm activity, and are named `region_*` so they are never mistaken for the
complex itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.inputs.names import PARTNERS


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str
    unit: str
    annual: str  # "sum", "last" or "ratio"
    label_en: str
    label_ko: str


INDICATOR_LIST: tuple[Indicator, ...] = (
    Indicator("production_krw", "KRW", "sum", "Production", "생산액"),
    Indicator("value_added_krw", "KRW", "sum", "Value added", "부가가치"),
    Indicator("exports_usd", "USD", "sum", "Exports", "수출액"),
    *(
        Indicator(
            f"exports_usd_{p}", "USD", "sum", f"Exports to {p.replace('_', ' ')}", f"{ko} 수출액"
        )
        for p, ko in zip(PARTNERS[1:], ("미국", "EU", "중국", "기타 지역"), strict=True)
    ),
    Indicator("employment", "persons", "last", "Employment", "고용"),
    Indicator("active_firms", "firms", "last", "Active firms", "가동 기업 수"),
    Indicator("entries", "firms", "sum", "Entries", "신규 진입"),
    Indicator("exits", "firms", "sum", "Exits", "퇴출"),
    Indicator("adopters", "firms", "last", "AI-factory adopters", "AI 공장 도입 기업"),
    Indicator("adoption_share", "share", "ratio", "AI-factory adoption share", "AI 공장 도입률"),
    Indicator(
        "labour_productivity", "KRW per person", "ratio", "Production per worker", "1인당 생산액"
    ),
    Indicator("defect_rate", "share", "ratio", "Defect rate", "불량률"),
    Indicator("tariff_cost_krw", "KRW", "sum", "Tariff absorbed by firms", "관세 부담액"),
    Indicator(
        "defence_deliveries_krw", "KRW", "sum", "Defence export deliveries", "방산 수출 인도액"
    ),
    Indicator(
        "region_production_krw",
        "KRW",
        "sum",
        "Region-wide production induced (input-output estimate)",
        "지역 생산유발액 (산업연관 추정)",
    ),
    Indicator(
        "region_value_added_krw",
        "KRW",
        "sum",
        "Region-wide value added induced (input-output estimate)",
        "지역 부가가치유발액 (산업연관 추정)",
    ),
    Indicator(
        "region_employment",
        "persons",
        "last",
        "Region-wide employment induced (input-output estimate)",
        "지역 고용유발 (산업연관 추정)",
    ),
)
INDICATORS: dict[str, Indicator] = {i.name: i for i in INDICATOR_LIST}
INDICATOR_NAMES: tuple[str, ...] = tuple(INDICATORS)
COLUMN = {name: k for k, name in enumerate(INDICATOR_NAMES)}


def annual_from_monthly(values: np.ndarray, months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate one replicate's monthly indicators (months x indicators) to calendar years.

    A year cut by the period holds only its months.

    Returns (years, annual values: years x indicators). Ratios are recomputed from annual totals:
    adoption share from adopters and firms at year end, production per worker from the year's
    production and mean employment, the defect rate as the mean of the months.
    """
    years = months // 12
    unique_years = np.unique(years)
    out = np.empty((len(unique_years), len(INDICATOR_NAMES)))
    for row, year in enumerate(unique_years):
        block = values[years == year]
        for name, col in COLUMN.items():
            how = INDICATORS[name].annual
            if how == "sum":
                out[row, col] = block[:, col].sum()
            elif how == "last":
                out[row, col] = block[-1, col]
        out[row, COLUMN["adoption_share"]] = (
            block[-1, COLUMN["adopters"]] / block[-1, COLUMN["active_firms"]]
        )
        out[row, COLUMN["labour_productivity"]] = (
            block[:, COLUMN["production_krw"]].sum() / block[:, COLUMN["employment"]].mean()
        )
        out[row, COLUMN["defect_rate"]] = block[:, COLUMN["defect_rate"]].mean()
    return unique_years, out
