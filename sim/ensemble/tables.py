"""Result tables: annual values, their summaries, headline ranges, comparisons.

From a run's `monthly` frame (columns `replicate`, `month` "YYYY-MM", then one float column per
name in `sim.model.indicators.INDICATOR_NAMES`, sorted by replicate then month) this module builds

* `annual_table`: each replicate's calendar-year values (flows summed, stocks at year end, ratios
  recomputed; exactly `sim.model.indicators.annual_from_monthly`),
* `annual_summary`: year x indicator x mean and quantiles across replicates (`annual.csv`),
* `headline_summary`: the headline ranges of the main indicators (`summary.json`),
* `compare_tables`: paired differences between runs that share seeds (common random numbers).

Numbers are written with `FLOAT_FORMAT` (10 significant digits): the same input gives
byte-identical files, and summary.json holds exactly the numbers annual.csv holds.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.inputs.calendar import parse_month
from sim.model.indicators import COLUMN, INDICATOR_NAMES, INDICATORS, annual_from_monthly

#: The indicators of summary.json and of the figures, in the order a brief quotes them.
MAIN_INDICATORS: tuple[str, ...] = (
    "production_krw",
    "exports_usd",
    "employment",
    "value_added_krw",
    "active_firms",
    "adoption_share",
)
#: Always computed besides the quantiles a scenario asks for: the headline needs 5/10/50/90/95 and
#: the fan charts' 50% band needs 25/75. Without them a "50%" band could silently be an 80% one.
STANDARD_QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: printf format of every float written to CSV/JSON. 10 significant digits keep production to
#: 10,000 KRW while hiding last-bit noise; the same format on both sides makes JSON == CSV.
FLOAT_FORMAT = "%.10g"
_QUANTILE_COLUMN = re.compile(r"^q(\d+)(?:_(\d+))?$")


# ---------------------------------------------------------------------------------------------
# quantile levels and their column names


def quantile_label(q: float) -> str:
    """Column name of quantile level `q`: 0.05 -> 'q05', 0.5 -> 'q50', 0.025 -> 'q2_5'."""
    pct = round(float(q) * 100, 6)
    if pct == int(pct):
        return f"q{int(pct):02d}"
    return "q" + f"{pct:g}".replace(".", "_")


def quantile_columns(columns: Iterable[str], suffix: str | None = None) -> dict[float, str]:
    """{level: column} of the quantile columns in `columns` ('q05'; 'q05_diff' with suffix)."""
    found: dict[float, str] = {}
    for column in columns:
        name = str(column)
        if suffix is not None:
            if not name.endswith(f"_{suffix}"):
                continue
            name = name[: -len(suffix) - 1]
        match = _QUANTILE_COLUMN.match(name)
        if match:
            whole, frac = match.groups()
            found[float(f"{whole}.{frac or 0}") / 100] = str(column)
    return dict(sorted(found.items()))


def resolve_quantiles(quantiles: Iterable[float] | None) -> tuple[float, ...]:
    """The requested levels plus `STANDARD_QUANTILES`, sorted and checked (each in [0, 1])."""
    levels = set(STANDARD_QUANTILES)
    for q in quantiles or ():
        q = float(q)
        if not (0.0 <= q <= 1.0):  # also rejects NaN
            raise ValueError(f"quantile levels must lie in [0, 1] (got {q})")
        levels.add(q)
    ordered = tuple(sorted(levels))
    labels = [quantile_label(q) for q in ordered]
    if len(set(labels)) != len(labels):
        raise ValueError(f"quantile levels too close to tell apart in column names: {ordered}")
    return ordered


# ---------------------------------------------------------------------------------------------
# annual values per replicate


def _monthly_arrays(monthly: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(replicate ids, month numbers, values: rows x indicators), sorted by replicate and month."""
    missing = [c for c in ("replicate", "month", *INDICATOR_NAMES) if c not in monthly.columns]
    if missing:
        raise ValueError(f"monthly table lacks columns: {', '.join(missing)}")
    if monthly.empty:
        raise ValueError("monthly table is empty")
    replicates = monthly["replicate"].to_numpy(dtype=np.int64)
    # Few distinct months: parse each once (parse_month rejects anything but YYYY-MM).
    labels, inverse = np.unique(
        monthly["month"].to_numpy(dtype=object).astype(str), return_inverse=True
    )
    months = np.array([parse_month(m) for m in labels], dtype=np.int64)[inverse]
    values = monthly[list(INDICATOR_NAMES)].to_numpy(dtype=np.float64)
    step_rep, step_month = np.diff(replicates), np.diff(months)
    if not np.all((step_rep > 0) | ((step_rep == 0) & (step_month > 0))):
        order = np.lexsort((months, replicates))
        replicates, months, values = replicates[order], months[order], values[order]
        step_rep, step_month = np.diff(replicates), np.diff(months)
        if np.any((step_rep == 0) & (step_month == 0)):
            raise ValueError("monthly table has a replicate with the same month twice")
    return replicates, months, values


# The closed set of ratio indicators the vectorised path knows how to recompute; if indicators.py
# gains another, annual_table falls back to calling annual_from_monthly per replicate.
_KNOWN_RATIOS = {"adoption_share", "labour_productivity", "defect_rate"}


def _annual_vectorised(months: np.ndarray, cube: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """annual_from_monthly for all replicates at once; cube is replicates x months x indicators.

    Bit-for-bit equal to the per-replicate function: each sum runs over a contiguous run of one
    indicator's months (innermost axis), which numpy reduces in the same (pairwise) order as the
    1-D column sums of annual_from_monthly; ratios are the same element-wise divisions.
    """
    sum_cols = [COLUMN[n] for n in INDICATOR_NAMES if INDICATORS[n].annual == "sum"]
    last_cols = [COLUMN[n] for n in INDICATOR_NAMES if INDICATORS[n].annual == "last"]
    c = COLUMN
    years_of = months // 12
    years = np.unique(years_of)
    out = np.empty((cube.shape[0], len(years), cube.shape[2]))
    for j, year in enumerate(years):
        block = cube[:, years_of == year, :]
        by_indicator = np.ascontiguousarray(block.transpose(0, 2, 1))  # replicate x ind x month
        sums = by_indicator.sum(axis=-1)
        last = block[:, -1, :]
        out[:, j, sum_cols] = sums[:, sum_cols]
        out[:, j, last_cols] = last[:, last_cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, j, c["adoption_share"]] = last[:, c["adopters"]] / last[:, c["active_firms"]]
            out[:, j, c["labour_productivity"]] = sums[:, c["production_krw"]] / by_indicator[
                :, c["employment"], :
            ].mean(axis=-1)
        out[:, j, c["defect_rate"]] = by_indicator[:, c["defect_rate"], :].mean(axis=-1)
    return years, out


def annual_table(monthly: pd.DataFrame) -> pd.DataFrame:
    """Each replicate's calendar-year indicators from the monthly table.

    Columns: replicate, year, months (how many months of that year the run covers; a year cut by
    the period holds only its months), then every indicator. Sorted by replicate then year.
    Values are exactly those of `sim.model.indicators.annual_from_monthly` applied per replicate.
    """
    replicates, months, values = _monthly_arrays(monthly)
    ids, starts, counts = np.unique(replicates, return_index=True, return_counts=True)
    n_months = int(counts[0])
    # Rectangular: every replicate covers the same months (the normal case) -> one array op.
    rectangular = bool(np.all(counts == n_months)) and bool(
        np.all(months.reshape(len(ids), n_months) == months[:n_months])
    )
    ratios = {n for n in INDICATOR_NAMES if INDICATORS[n].annual == "ratio"}
    if rectangular and ratios == _KNOWN_RATIOS:
        run_months = months[:n_months]
        years, cube = _annual_vectorised(run_months, values.reshape(len(ids), n_months, -1))
        per_year = np.array([np.count_nonzero(run_months // 12 == y) for y in years])
        data = cube.reshape(len(ids) * len(years), -1)
        rep_col = np.repeat(ids, len(years))
        year_col = np.tile(years, len(ids))
        months_col = np.tile(per_year, len(ids))
    else:  # replicates cover different months (or an unknown ratio): the reference, row by row
        blocks, rep_parts, year_parts, month_parts = [], [], [], []
        for rep, start, count in zip(ids, starts, counts, strict=True):
            rep_months = months[start : start + count]
            years, block = annual_from_monthly(values[start : start + count], rep_months)
            blocks.append(block)
            rep_parts.append(np.full(len(years), rep))
            year_parts.append(years)
            month_parts.append([np.count_nonzero(rep_months // 12 == y) for y in years])
        data = np.concatenate(blocks)
        rep_col, year_col = np.concatenate(rep_parts), np.concatenate(year_parts)
        months_col = np.concatenate(month_parts)
    frame = pd.DataFrame(
        {
            "replicate": rep_col.astype(np.int64),
            "year": year_col.astype(np.int64),
            "months": np.asarray(months_col).astype(np.int64),
        }
    )
    return pd.concat([frame, pd.DataFrame(data, columns=list(INDICATOR_NAMES))], axis=1)


# ---------------------------------------------------------------------------------------------
# summaries across replicates


def _year_blocks(annual: pd.DataFrame) -> Iterator[tuple[int, int, np.ndarray]]:
    """(year, months covered, replicates x indicators values) per year, replicates in order."""
    annual = annual.sort_values(["year", "replicate"], kind="stable")
    for year, group in annual.groupby("year", sort=True):
        yield int(year), int(group["months"].max()), group[list(INDICATOR_NAMES)].to_numpy(float)


def _stats(values: np.ndarray, levels: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and quantiles (levels x columns) over axis 0; NaN where any input is NaN."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return values.mean(axis=0), np.quantile(values, list(levels), axis=0)


def annual_summary(annual: pd.DataFrame, quantiles: Iterable[float] | None = None) -> pd.DataFrame:
    """Across-replicate mean and quantiles per year and indicator: the table of annual.csv.

    Long format, one row per (year, indicator), years ascending and indicators in
    `INDICATOR_NAMES` order. Columns: year, indicator, unit, mean, one `qNN` column per level of
    `resolve_quantiles(quantiles)` (numpy's default linear interpolation), months (months of the
    year inside the run period: a partial year's flows are partial sums).
    """
    levels = resolve_quantiles(quantiles)
    labels = [quantile_label(q) for q in levels]
    parts = []
    for year, months, values in _year_blocks(annual):
        mean, qs = _stats(values, levels)
        part = pd.DataFrame(
            {
                "year": np.full(len(INDICATOR_NAMES), year, dtype=np.int64),
                "indicator": list(INDICATOR_NAMES),
                "unit": [INDICATORS[n].unit for n in INDICATOR_NAMES],
                "mean": mean,
            }
        )
        for label, row in zip(labels, qs, strict=True):
            part[label] = row
        part["months"] = np.int64(months)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _number(x: float) -> float | None:
    """A float as written to CSV (FLOAT_FORMAT), for JSON; None for NaN/inf (JSON has neither)."""
    x = float(x)
    return float(FLOAT_FORMAT % x) if math.isfinite(x) else None


def _ranges(row: pd.Series, suffix: str = "") -> dict[str, Any]:
    """Mean, median and the 80% and 90% ranges of one summary row, rounded for JSON; `suffix`
    picks the columns of a kind (`_diff`, `_pct` in a comparison's table)."""

    def value(column: str) -> float | None:
        return _number(row[f"{column}{suffix}"])

    return {
        "mean": value("mean"),
        "median": value("q50"),
        "q10_q90": [value("q10"), value("q90")],
        "q05_q95": [value("q05"), value("q95")],
    }


def headline_summary(
    annual: pd.DataFrame, quantiles: Iterable[float] | None = None
) -> dict[str, Any]:
    """The headline ranges (summary.json) of `MAIN_INDICATORS` per year.

    For each indicator and year: mean, median, the 10-90% and 5-95% ranges across replicates,
    with labels and unit. Numbers are those of `annual_summary` rounded exactly as annual.csv
    writes them, so a brief quoting summary.json agrees with annual.csv to the last digit.
    """
    table = annual_summary(annual, quantiles)
    years = sorted(int(y) for y in table["year"].unique())
    by_key = table.set_index(["indicator", "year"])
    indicators: dict[str, Any] = {}
    for name in MAIN_INDICATORS:
        ind = INDICATORS[name]
        per_year = {}
        for year in years:
            per_year[str(year)] = _ranges(by_key.loc[(name, year)])
        indicators[name] = {
            "label_en": ind.label_en,
            "label_ko": ind.label_ko,
            "unit": ind.unit,
            "annual": ind.annual,
            "years": per_year,
        }
    months = table.drop_duplicates("year").set_index("year")["months"]
    return {
        "replicates": int(annual["replicate"].nunique()),
        "years": years,
        "months_in_run": {str(y): int(months[y]) for y in years},
        "basis": (
            "Across-replicate statistics of calendar-year values: flows summed over the year's "
            "months in the run, stocks at the last month, ratios recomputed. Ranges are "
            "quantiles (linear interpolation) of the replicates; q10_q90 holds 80% of runs."
        ),
        "indicators": indicators,
    }


# ---------------------------------------------------------------------------------------------
# paired comparisons


def compare_tables(
    base_monthly: pd.DataFrame,
    alt_monthly: pd.DataFrame,
    quantiles: Iterable[float] | None = None,
) -> pd.DataFrame:
    """Paired differences alternative - base, per year and indicator, across replicates.

    Replicate r of both runs used the same seeds and parameter draws, so the difference is taken
    per replicate first and then summarised (a paired distribution, not two noisy ones
    subtracted). Columns: year, indicator, unit, mean_diff, qNN_diff..., mean_pct, qNN_pct...
    (percent of base), prob_negative (share of replicates with difference < 0), months.
    Percentages are NaN for an indicator-year where any replicate's base value is 0.
    """
    return compare_annual(annual_table(base_monthly), annual_table(alt_monthly), quantiles)


def compare_annual(
    base: pd.DataFrame, alt: pd.DataFrame, quantiles: Iterable[float] | None = None
) -> pd.DataFrame:
    """`compare_tables` from the two runs' annual tables (see `annual_table`)."""
    keys = ["replicate", "year", "months"]
    if not base[keys].equals(alt[keys]):
        raise ValueError(
            "the runs are not paired: they must cover the same replicates and months "
            "(same replicate count and period)"
        )
    levels = resolve_quantiles(quantiles)
    labels = [quantile_label(q) for q in levels]
    diff = alt[list(INDICATOR_NAMES)].to_numpy(float) - base[list(INDICATOR_NAMES)].to_numpy(float)
    base_values = base[list(INDICATOR_NAMES)].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base_values != 0, 100.0 * diff / base_values, np.nan)
    diff_frame = pd.concat(
        [base[["replicate", "year", "months"]], pd.DataFrame(diff, columns=list(INDICATOR_NAMES))],
        axis=1,
    )
    pct_frame = pd.concat(
        [base[["replicate", "year", "months"]], pd.DataFrame(pct, columns=list(INDICATOR_NAMES))],
        axis=1,
    )
    parts = []
    blocks = zip(_year_blocks(diff_frame), _year_blocks(pct_frame), strict=True)
    for (year, months, d), (_, _, p) in blocks:
        mean_d, q_d = _stats(d, levels)
        mean_p, q_p = _stats(p, levels)
        part = pd.DataFrame(
            {
                "year": np.full(len(INDICATOR_NAMES), year, dtype=np.int64),
                "indicator": list(INDICATOR_NAMES),
                "unit": [INDICATORS[n].unit for n in INDICATOR_NAMES],
                "mean_diff": mean_d,
            }
        )
        for label, row in zip(labels, q_d, strict=True):
            part[f"{label}_diff"] = row
        part["mean_pct"] = mean_p
        for label, row in zip(labels, q_p, strict=True):
            part[f"{label}_pct"] = row
        part["prob_negative"] = (d < 0).mean(axis=0)
        part["months"] = np.int64(months)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def compare_summary(differences: pd.DataFrame, replicates: int) -> dict[str, Any]:
    """The headline of a comparison, as `headline_summary` is a run's: for each of
    `MAIN_INDICATORS` and year, the paired difference alternative - base (mean, median, 10-90% and
    5-95% ranges, in the indicator's unit and in percent of the base) and the share of replicates
    in which it is negative, rounded as differences.csv writes them. `differences` is a
    `compare_annual` table."""
    table = differences.set_index(["indicator", "year"])
    years = sorted(int(y) for y in differences["year"].unique())
    indicators: dict[str, Any] = {}
    for name in MAIN_INDICATORS:
        ind = INDICATORS[name]
        per_year = {}
        for year in years:
            row = table.loc[(name, year)]
            per_year[str(year)] = {kind: _ranges(row, f"_{kind}") for kind in ("diff", "pct")}
            per_year[str(year)]["prob_negative"] = _number(row["prob_negative"])
        indicators[name] = {
            "label_en": ind.label_en,
            "label_ko": ind.label_ko,
            "unit": ind.unit,
            "years": per_year,
        }
    return {
        "replicates": int(replicates),
        "years": years,
        "basis": (
            "Paired differences alternative minus base, replicate by replicate (the same seeds "
            "and draws in both: common random numbers), of calendar-year values; 'diff' in the "
            "indicator's unit, 'pct' in percent of the base; q10_q90 holds 80% of runs."
        ),
        "indicators": indicators,
    }
