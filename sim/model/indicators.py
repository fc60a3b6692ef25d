"""The indicators a run records each month, and how months add up to years.

A flow (production, exports, ...) is summed over the year; a stock (employment, firms, adopters)
is taken at the year's last month; a ratio is recomputed from the annual flows and stocks. Region-
wide figures are input-output estimates, not simulated firm activity, and are named `region_*` so
they are never mistaken for the complex itself (`region_effects`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.inputs.names import PARTNERS, SECTORS


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str
    unit: str
    annual: str  # "sum", "last" or "ratio"
    label_en: str
    label_ko: str


SECTOR_KO = ("기계", "전기전자", "운송장비", "철강", "기타")
PARTNER_KO = ("미국", "EU", "중국", "기타 지역")

INDICATOR_LIST: tuple[Indicator, ...] = (
    Indicator("production_krw", "KRW", "sum", "Production", "생산액"),
    Indicator(
        "production_real_krw",
        "KRW of 2024",
        "sum",
        "Production at constant 2024 prices",
        "생산액 (2024년 불변가격)",
    ),
    Indicator("value_added_krw", "KRW", "sum", "Value added", "부가가치"),
    Indicator("exports_usd", "USD", "sum", "Exports", "수출액"),
    *(
        Indicator(
            f"exports_usd_{p}", "USD", "sum", f"Exports to {p.replace('_', ' ')}", f"{ko} 수출액"
        )
        for p, ko in zip(PARTNERS[1:], PARTNER_KO, strict=True)
    ),
    Indicator("employment", "persons", "last", "Employment", "고용"),
    Indicator("active_firms", "firms", "last", "Active firms", "가동 기업 수"),
    Indicator("entries", "firms", "sum", "Entries", "신규 진입"),
    Indicator("exits", "firms", "sum", "Exits", "퇴출"),
    Indicator("adopters", "firms", "last", "AI-factory adopters", "AI 공장 도입 기업"),
    Indicator("adoption_share", "share", "ratio", "AI-factory adoption share", "AI 공장 도입률"),
    Indicator(
        "programme_additional_adopters",
        "firms",
        "last",
        "Adopters added by the programme (against no programme)",
        "사업으로 늘어난 도입 기업 (사업 없을 때 대비)",
    ),
    Indicator(
        "labour_productivity", "KRW per person", "ratio", "Production per worker", "1인당 생산액"
    ),
    Indicator("defect_rate", "share", "ratio", "Defect rate", "불량률"),
    Indicator(
        "tariff_cost_krw", "KRW", "sum", "Tariff absorbed in export prices", "수출가격 관세 흡수액"
    ),
    Indicator(
        "defence_work_krw", "KRW", "sum", "Defence export work (output)", "방산 수출 작업 (생산)"
    ),
    Indicator(
        "defence_deliveries_krw", "KRW", "sum", "Defence export deliveries", "방산 수출 인도액"
    ),
    Indicator(
        "defence_backlog_krw",
        "KRW",
        "last",
        "Defence order backlog (complex's share)",
        "방산 수주 잔고",
    ),
    *(
        Indicator(
            f"production_krw_{s}",
            "KRW",
            "sum",
            f"Production, {s.replace('_', ' ')}",
            f"{ko} 생산액",
        )
        for s, ko in zip(SECTORS, SECTOR_KO, strict=True)
    ),
    *(
        Indicator(
            f"exports_usd_{s}", "USD", "sum", f"Exports, {s.replace('_', ' ')}", f"{ko} 수출액"
        )
        for s, ko in zip(SECTORS, SECTOR_KO, strict=True)
    ),
    *(
        Indicator(
            f"employment_{s}", "persons", "last", f"Employment, {s.replace('_', ' ')}", f"{ko} 고용"
        )
        for s, ko in zip(SECTORS, SECTOR_KO, strict=True)
    ),
    Indicator(
        "region_production_krw",
        "KRW",
        "sum",
        "Production induced in the region beyond the complex (input-output estimate)",
        "단지 밖 지역 생산유발액 (산업연관 추정)",
    ),
    Indicator(
        "region_value_added_krw",
        "KRW",
        "sum",
        "Value added induced in the region beyond the complex (input-output estimate)",
        "단지 밖 지역 부가가치유발액 (산업연관 추정)",
    ),
    Indicator(
        "region_employment",
        "persons",
        "last",
        "Jobs induced in the region beyond the complex (input-output estimate)",
        "단지 밖 지역 고용유발 (산업연관 추정)",
    ),
)
INDICATORS: dict[str, Indicator] = {i.name: i for i in INDICATOR_LIST}
INDICATOR_NAMES: tuple[str, ...] = tuple(INDICATORS)
COLUMN = {name: k for k, name in enumerate(INDICATOR_NAMES)}


def adjacent_columns(names: list[str]) -> slice:
    """The columns of `names`, adjacent and in that order in `INDICATOR_LIST`, as a slice: a
    month's row is written with slices, quicker than with lists of columns."""
    first = COLUMN[names[0]]
    if [COLUMN[name] for name in names] != list(range(first, first + len(names))):
        raise ValueError(f"indicators {names} are not adjacent in INDICATOR_LIST")
    return slice(first, first + len(names))


SECTOR_COLUMNS = {
    name: adjacent_columns([f"{name}_{s}" for s in SECTORS])
    for name in ("production_krw", "exports_usd", "employment")
}
EXPORT_COLUMNS = adjacent_columns([f"exports_usd_{p}" for p in PARTNERS[1:]])


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


# --- one month's indicators ---------------------------------------------------------------------


def month_indicators(model, now) -> tuple[np.ndarray, float]:
    """The indicators of the month just stepped, from the model's state and the month's flows
    (`sim.model.changwon_model`), and the firms' cash at the end of the month.

    The sums over firms are made in one compiled pass (`sim.model.month_kernels.month_totals`):
    exports are final sales abroad at their won prices, re-routed sales, and defence deliveries,
    which customs records at delivery (output is recognised earlier, as the work is done).
    """
    # Imported here: the indicators' names and annual sums serve processes that never step a
    # model, and need not load numba.
    from sim.model.month_kernels import TOTALS, month_totals

    f, p, env = model.firms, model.params, model.env
    k = now.k
    sums, by_partner, by_sector_production, by_sector_exports, by_sector_jobs = month_totals(
        model.firms_created,
        f.sector,
        f.alive,
        f.employment,
        f.defect_rate,
        f.cash,
        now.final,
        now.flows,
        now.unit_revenue,
        model.defence_deliveries[k],
        model.diversion_mix,
        now.export_price,
        now.price,
        p.domestic_final_share,
    )
    total = dict(zip(TOTALS, sums.tolist(), strict=True))  # the kernel's sums, by name
    production, employment, active = total["production"], total["employment"], total["active"]
    fx = float(env.krw_per_usd[k])
    adopters = sum(model.sector_adopters.tolist())  # an int, summed quicker than by numpy
    row = np.zeros(len(INDICATOR_NAMES))
    row[COLUMN["production_krw"]] = production
    row[COLUMN["production_real_krw"]] = total["real_sales"]
    row[COLUMN["value_added_krw"]] = total["value_added"]
    row[EXPORT_COLUMNS] = by_partner[1:] / fx
    row[COLUMN["exports_usd"]] = by_partner[1:].sum() / fx
    row[COLUMN["employment"]] = employment
    row[COLUMN["active_firms"]] = active
    row[COLUMN["entries"]] = now.entries
    row[COLUMN["exits"]] = now.exits
    row[COLUMN["adopters"]] = adopters
    row[COLUMN["adoption_share"]] = adopters / max(1, active)
    row[COLUMN["labour_productivity"]] = production / employment if employment > 0 else 0.0
    row[COLUMN["defect_rate"]] = total["defects"] / max(total["gross"], 1e-300)
    row[COLUMN["tariff_cost_krw"]] = total["tariff_cost"]
    row[COLUMN["defence_work_krw"]] = total["defence_work"]
    row[COLUMN["defence_deliveries_krw"]] = total["delivered"]
    row[COLUMN["defence_backlog_krw"]] = max(0.0, model.defence_backlog)  # rounding below zero
    row[SECTOR_COLUMNS["production_krw"]] = by_sector_production
    row[SECTOR_COLUMNS["exports_usd"]] = by_sector_exports / fx
    row[SECTOR_COLUMNS["employment"]] = by_sector_jobs
    # Region: final demand the complex meets is its exports (defence work included, as it is
    # made) and the share of its domestic sales that goes to final buyers, in volumes: the
    # exporters' price cuts that absorb tariffs move margins, not what is made upstream.
    region = region_effects(
        total["final_demand"],
        total["real_sales"] - total["in_complex"],
        total["real_sales"],
        total["value_added"] / now.price,
        employment,
        model.labour_trend,
        p,
    )
    row[COLUMN["region_production_krw"]] = region[0] * now.price
    row[COLUMN["region_value_added_krw"]] = region[1] * now.price
    # Jobs beyond the complex follow what final demand needs with the same lag as the complex's
    # own jobs follow its output.
    if model.region_jobs is None:
        model.region_jobs = region[2]
    model.region_jobs += model.speeds["employment"] * (region[2] - model.region_jobs)
    row[COLUMN["region_employment"]] = model.region_jobs
    return row, total["cash"]


def region_effects(
    final_demand: float,
    external_sales: float,
    production: float,
    value_added: float,
    employment: float,
    labour_trend: float,
    params,
) -> tuple[float, float, float]:
    """Production and value added (real, 2024 prices) and jobs induced in the region beyond the
    complex in a month, from the real final demand the complex meets.

    Bank of Korea multipliers give what a won of final demand induces in the whole economy, the
    direct round included. They apply to the final demand the complex meets, not to all its sales
    (most are parts for other industries, whose final demand is counted where it arises). The
    complex's own production, value added and jobs that serve that final demand — the direct round
    and the in-complex suppliers the model simulates — are taken off, in the proportion of final
    demand to the sales leaving the complex; the within-region share of the rest is the effect
    beyond the complex. Jobs per won fall with the trend of output per worker.
    """
    if external_sales <= 0 or final_demand <= 0:
        return 0.0, 0.0, 0.0
    own = final_demand / external_sales
    within = params.within_region_share
    induced_jobs = (
        params.multiplier_employment_per_bn_krw / labour_trend * 12.0 * final_demand / 1e9
    )
    return (
        within * max(0.0, params.multiplier_production * final_demand - own * production),
        within * max(0.0, params.multiplier_value_added * final_demand - own * value_added),
        within * max(0.0, induced_jobs - own * employment),
    )
