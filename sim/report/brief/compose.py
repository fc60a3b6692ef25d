"""Policy briefs from a results folder: headline ranges, tables, chances, figures, assumptions.

`write_brief(results, lang, baseline=None)` reads a folder written by `changwon-sim run`
(manifest.json, scenario.yaml, annual.csv, summary.json, monthly.parquet) and writes next to them

* ``brief.md`` / ``brief.html`` (English) or ``brief.ko.md`` / ``brief.ko.html`` (Korean);
  the HTML is self-contained (figures as base64 PNG data URIs, inline CSS, no external reference);
* ``figures/brief_<chart>.png`` (``.ko.png``): the figures the markdown points to, redrawn in the
  brief's language.

An existing brief is never overwritten: if ``brief.ko.md`` (or its HTML or figures) exists, the
next free stem is used: ``brief-2.ko.md``, ``brief-3.ko.md``, ... Each file is written to a
temporary file in the same folder, flushed, and hard-linked into place (`os.link` fails instead of
replacing a file that appeared meanwhile), so a brief file is complete or absent.

Numbers come from summary.json (headline), annual.csv (tables) and, against a baseline, from the
paired differences of the two runs' monthly.parquet (`sim.ensemble.results.compare_tables`), so a
brief quotes exactly what the results folder holds. Building the content (`build_brief`) is separate
from rendering it (`render_markdown`, `render_html`): both renderers read the same list of blocks.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model.indicators import INDICATORS
from sim.report.brief import wording as bt
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
RUN_FILES = ("manifest.json", "scenario.yaml", "annual.csv", "summary.json")


class BriefError(ValueError):
    """Input a brief cannot be made from (not a results folder, unpaired baseline); one line."""


# ---------------------------------------------------------------------------------------------
# reading results folders


@dataclass(frozen=True)
class RunFolder:
    """A results folder of `changwon-sim run`, read once."""

    path: Path
    manifest: dict[str, Any]
    scenario: dict[str, Any]
    annual: pd.DataFrame  # annual.csv
    summary: dict[str, Any]  # summary.json

    @property
    def name(self) -> str:
        return str(self.manifest.get("scenario") or self.scenario.get("name") or self.path.name)

    @property
    def title(self) -> str:
        return str(self.manifest.get("title") or self.scenario.get("title") or self.name)

    @property
    def replicates(self) -> int:
        return int(self.manifest["replicates"])

    @property
    def seed(self) -> int:
        return int(self.manifest["seed"])

    @property
    def years(self) -> list[int]:
        return [int(y) for y in self.summary["years"]]

    @property
    def months_in_run(self) -> dict[int, int]:
        return {int(y): int(m) for y, m in self.summary["months_in_run"].items()}

    @cached_property
    def monthly(self) -> pd.DataFrame:
        path = self.path / "monthly.parquet"
        if not path.is_file():
            raise BriefError(f"{self.path}: no monthly.parquet (needed for a paired comparison)")
        try:
            return pd.read_parquet(path)
        except Exception as error:  # a damaged file: say which, in one line
            raise BriefError(f"{path}: cannot be read ({type(error).__name__})") from None


def load_run(path: str | Path) -> RunFolder:
    """Read a run's results folder; `BriefError` with a one-line reason if it is not one.

    A scenario folder (`results/<name>/`) holding exactly one run is accepted for that run.
    """
    path = Path(path)
    if not path.exists():
        raise BriefError(f"{path}: no such folder")
    if not path.is_dir():
        raise BriefError(f"{path}: not a folder")
    if not (path / "manifest.json").is_file():
        runs = sorted(p for p in path.iterdir() if (p / "manifest.json").is_file())
        if len(runs) == 1:
            path = runs[0]
        elif runs:
            raise BriefError(f"{path}: holds {len(runs)} runs; give one of them, e.g. {runs[-1]}")
        else:
            raise BriefError(
                f"{path}: not a results folder of `changwon-sim run` (no manifest.json)"
            )
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BriefError(f"{path / 'manifest.json'}: cannot be read ({error})") from None
    if not isinstance(manifest, dict):
        raise BriefError(f"{path / 'manifest.json'}: not a results manifest")
    if manifest.get("command") == "compare":
        raise BriefError(
            f"{path}: a `compare` folder; give the run folder of the scenario and the "
            "baseline's run folder with --baseline"
        )
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise BriefError(f"{path}: not a complete results folder (missing {', '.join(missing)})")
    for key in ("seed", "replicates", "scenario_hash"):
        if key not in manifest:
            raise BriefError(f"{path / 'manifest.json'}: no '{key}' (not a run manifest)")
    from sim.inputs.safe_yaml import YamlError, load_file

    try:
        scenario = load_file(path / "scenario.yaml").data
        annual = pd.read_csv(path / "annual.csv", encoding="utf-8-sig")
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, YamlError, pd.errors.ParserError) as error:
        raise BriefError(f"{path}: cannot read the results ({error})") from None
    if not isinstance(scenario, dict) or not {"year", "indicator", "q50"} <= set(annual.columns):
        raise BriefError(f"{path}: scenario.yaml or annual.csv is not as `run` writes them")
    if not isinstance(summary, dict) or not {"indicators", "years", "months_in_run"} <= set(
        summary
    ):
        raise BriefError(f"{path / 'summary.json'}: not a run summary")
    return RunFolder(path, manifest, scenario, annual, summary)


def check_paired(run: RunFolder, base: RunFolder) -> None:
    """Refuse (BriefError) a baseline whose runs cannot be paired with `run`'s, run by run."""
    problems = []
    if run.seed != base.seed:
        problems.append(f"seed {run.seed} vs {base.seed}")
    if run.replicates != base.replicates:
        problems.append(f"replicates {run.replicates} vs {base.replicates}")
    period = ("period", "start"), ("period", "end")
    this = tuple(run.scenario.get(a, {}).get(b) for a, b in period)
    other = tuple(base.scenario.get(a, {}).get(b) for a, b in period)
    if this != other:
        problems.append(f"months {this[0]}..{this[1]} vs {other[0]}..{other[1]}")
    mode, base_mode = run.manifest.get("parameters"), base.manifest.get("parameters")
    if mode != base_mode:
        problems.append(f"parameters {mode} vs {base_mode}")
    if problems:
        raise BriefError(
            f"--baseline {base.path}: cannot be paired with {run.path} run by run "
            f"({'; '.join(problems)}); run both with the same seed, replicates and period"
        )


@dataclass(frozen=True)
class Comparison:
    """Paired differences of a run against its baseline."""

    base: RunFolder
    table: pd.DataFrame  # sim.ensemble.results.compare_tables(base, alt)
    per_replicate: pd.DataFrame  # annual differences alt - base: replicate, year, indicators


def compare_runs(run: RunFolder, base: RunFolder) -> Comparison:
    """Paired differences run - base (common random numbers), summarised and per replicate."""
    from sim.ensemble.results import annual_table, compare_tables

    check_paired(run, base)
    try:
        table = compare_tables(
            base.monthly, run.monthly, run.scenario.get("outputs", {}).get("quantiles")
        )
    except ValueError as error:
        raise BriefError(f"--baseline {base.path}: {error}") from None
    alt_annual, base_annual = annual_table(run.monthly), annual_table(base.monthly)
    names = [n for n in INDICATORS if n in alt_annual.columns]
    diff = alt_annual[["replicate", "year", "months"]].copy()
    diff[names] = alt_annual[names].to_numpy(float) - base_annual[names].to_numpy(float)
    return Comparison(base, table, diff)


def headline_years(run: RunFolder, years: Sequence[int] | None = None) -> list[int]:
    """The years the headline quotes: the second full year and the last full year of the run.

    The second year is the first whose every month lies after the scenario's start, where
    measures starting during the first year show a full year's effect (the first full year if
    there is only one); the last full year is the horizon. Explicit `years` must be in the run.
    """
    months = run.months_in_run
    if years:
        unknown = [y for y in years if y not in months]
        if unknown:
            raise BriefError(
                f"--year {unknown[0]}: not in the run (years {min(months)}..{max(months)})"
            )
        return sorted(set(int(y) for y in years))
    full = [y for y in sorted(months) if months[y] == 12] or [max(months)]
    picked = [full[1] if len(full) > 1 else full[0], full[-1]]
    return sorted(set(picked))


# ---------------------------------------------------------------------------------------------
# sensitivity results written by `changwon-sim sensitivity` (read whatever exists)


@dataclass(frozen=True)
class Driver:
    factor: str
    index: float
    conf: float | None = None


@dataclass(frozen=True)
class Sensitivity:
    """The top drivers per output of the newest sensitivity run of a scenario."""

    path: Path
    method: str
    index_kind: str  # "total", "first", "morris" or "delta"
    drivers: dict[str, list[Driver]]  # output ("exports_usd:2026") -> drivers, largest first
    noise_floor: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    scenario_hash: str | None = None  # from the sensitivity run's manifest.json, if any
    #: The outputs the analysis was asked about (manifest.json), before any through-time extras.
    outputs: tuple[str, ...] = ()
    #: The largest index per output whether or not it clears the noise floor.
    leaders: dict[str, Driver] = field(default_factory=dict)


_FACTOR_COLUMNS = ("factor", "name", "input", "parameter", "variable", "names")
_OUTPUT_COLUMNS = ("output", "kpi", "target", "outcome")
#: Index measures, in order of preference, and what kind of index each is.
_MEASURES = (
    ("st", "total"),
    ("s_t", "total"),
    ("total_order", "total"),
    ("mu_star_scaled", "morris"),
    ("mu_star", "morris"),
    ("delta", "delta"),
    ("s1", "first"),
    ("first_order", "first"),
)
_METHOD_NAMES = {"sobol": "Sobol", "morris": "Morris", "delta": "delta", "pawn": "PAWN"}


def find_sensitivity(run_path: Path) -> Path | None:
    """The newest `indices.csv` of a sensitivity run of the same scenario, if any.

    `changwon-sim sensitivity` writes `results/<name>/sensitivity-<run-id>/indices.csv`; one
    level deeper is accepted too. Hidden (unfinished) folders are skipped.
    """
    scenario_dir = Path(run_path).parent
    found = list(scenario_dir.glob("sensitivity-*/indices.csv"))
    found += list(scenario_dir.glob("sensitivity-*/*/indices.csv"))
    found = [p for p in found if not any(part.startswith(".") for part in p.parts[-3:-1])]
    if not found:
        return None
    return max(found, key=lambda p: (p.stat().st_mtime, str(p)))


def _long_indices(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Indices as rows (output, factor, value, conf, flag) of the preferred measure, and its kind.

    Reads the long layout of `sim.analysis.sensitivity.run` (columns output, measure, factor,
    factor_2, value, conf, above_noise_floor) and a wide one (a column per measure: ST, ST_conf, S1,
    ...).
    """
    columns = {str(c).strip().lower(): c for c in table.columns}
    factor = next((columns[c] for c in _FACTOR_COLUMNS if c in columns), None)
    if factor is None:
        raise ValueError("no factor column")
    if "output" in columns:
        output = table[columns["output"]].astype(str)
    elif "indicator" in columns and "year" in columns:
        output = table[columns["indicator"]].astype(str) + ":" + table[columns["year"]].astype(str)
    else:
        name = next((columns[c] for c in _OUTPUT_COLUMNS if c in columns), None)
        output = table[name].astype(str) if name is not None else pd.Series("output", table.index)
    if "measure" in columns and "value" in columns:
        if "factor_2" in columns:  # second-order pairs are not drivers of their own
            single = table[columns["factor_2"]].isna() | (table[columns["factor_2"]] == "")
            table, output = table[single], output[single]
        measures = table[columns["measure"]].astype(str).str.lower()
        for measure, kind in _MEASURES:
            rows = measures == measure
            if rows.any():
                picked = table[rows]
                conf = picked[columns["conf"]] if "conf" in columns else np.nan
                flag = (
                    picked[columns["above_noise_floor"]] if "above_noise_floor" in columns else ""
                )
                return (
                    pd.DataFrame(
                        {
                            "output": output[rows],
                            "factor": picked[factor].astype(str),
                            "value": picked[columns["value"]].astype(float),
                            "conf": conf,
                            "flag": flag,
                        }
                    ),
                    kind,
                )
        raise ValueError("no known index measure (ST, S1, mu_star or delta)")
    for measure, kind in _MEASURES:
        if measure in columns and table[columns[measure]].notna().any():
            conf_name = f"{measure}_conf"
            return (
                pd.DataFrame(
                    {
                        "output": output,
                        "factor": table[factor].astype(str),
                        "value": table[columns[measure]].astype(float),
                        "conf": table[columns[conf_name]] if conf_name in columns else np.nan,
                        "flag": "",
                    }
                ),
                kind,
            )
    raise ValueError("no index column (ST, S1, mu_star or delta)")


def read_sensitivity(path: Path, top: int = 3) -> Sensitivity:
    """The `top` drivers per output from an indices.csv; `error` set if it cannot be read.

    A driver must clear the noise floor: where the file flags indices (`above_noise_floor`),
    only those flagged 'yes'; otherwise those above the dummy factor's index plus its interval.
    The dummy itself is never listed.
    """
    path = Path(path)
    manifest: dict[str, Any] = {}
    try:
        loaded = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
        manifest = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        pass
    scenario_hash = str(manifest["scenario_hash"]) if manifest.get("scenario_hash") else None
    try:
        indices, kind = _long_indices(pd.read_csv(path, encoding="utf-8-sig"))
        indices = indices[indices["value"].notna()]
        method = str(manifest.get("method") or {"total": "sobol", "first": "sobol"}.get(kind, kind))
        method = _METHOD_NAMES.get(method.lower(), method)
        drivers: dict[str, list[Driver]] = {}
        floors: dict[str, float] = {}
        leaders: dict[str, Driver] = {}
        for output in dict.fromkeys(indices["output"]):
            rows = indices[indices["output"] == output]
            dummy = rows["factor"].str.lower().str.contains("dummy")
            if dummy.any():
                d = rows[dummy].iloc[0]
                floors[output] = float(d["value"]) + (
                    float(d["conf"]) if pd.notna(d["conf"]) else 0.0
                )
            rows = rows[~dummy]
            if len(rows):
                top_row = rows.loc[rows["value"].idxmax()]
                leaders[output] = Driver(
                    str(top_row["factor"]),
                    float(top_row["value"]),
                    float(top_row["conf"]) if pd.notna(top_row["conf"]) else None,
                )
            flags = rows["flag"].fillna("").astype(str).str.lower()
            if flags.isin(["yes", "no"]).any():
                rows = rows[flags == "yes"]
            elif output in floors:
                rows = rows[rows["value"] > floors[output]]
            ranked = rows.sort_values("value", ascending=False, kind="stable").head(top)
            drivers[output] = [
                Driver(r.factor, float(r.value), float(r.conf) if pd.notna(r.conf) else None)
                for r in ranked.itertuples()
            ]
        asked = tuple(str(o) for o in manifest.get("outputs") or () if str(o) in drivers)
        return Sensitivity(path, method, kind, drivers, floors, None, scenario_hash, asked, leaders)
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as error:
        return Sensitivity(path, "?", "total", {}, {}, str(error) or "unreadable", scenario_hash)


# ---------------------------------------------------------------------------------------------
# the document: a few kinds of blocks, rendered to markdown and to HTML


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str  # inline markup: **bold**, `code`; other markdown characters escaped with md()


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str | None = None
    #: Columns (by position) aligned right, as numbers are; None = all but the first.
    numeric: tuple[int, ...] | None = None

    def is_numeric(self, column: int) -> bool:
        return column > 0 if self.numeric is None else column in self.numeric


@dataclass(frozen=True)
class Figure:
    name: str  # file-name part, e.g. "fan_production_krw"
    png: bytes
    caption: str
    alt: str


Block = Heading | Paragraph | Bullets | Table | Figure


@dataclass(frozen=True)
class Document:
    lang: str
    title: str
    blocks: tuple[Block, ...]

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


_MD_SPECIAL = re.compile(r"([\\`*|<\[\]])")


def md(value: object) -> str:
    """Text from data (titles, names, sources) made safe for our inline markup."""
    return _MD_SPECIAL.sub(r"\\\1", str(value))


def code(value: object) -> str:
    """An identifier or command as inline code (backticks inside are dropped)."""
    return f"`{str(value).replace('`', '')}`"


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
) -> Document:
    """The brief's content in `lang`: headline, tables, chances, figures, assumptions, footer.

    `sensitivity`: "auto" looks for the newest sensitivity run of the scenario next to the
    results folder; a path reads that indices.csv; None leaves the section at "not run".
    `command` is the brief command shown in the footer (default: built from the arguments).
    """
    bt.check_lang(lang)
    comparison = compare_runs(run, baseline) if baseline is not None else None
    picked = headline_years(run, years)
    if sensitivity == "auto":
        sensitivity = find_sensitivity(run.path)
    sens = read_sensitivity(Path(sensitivity)) if sensitivity else None
    title = text(lang, "title", title=md(run.title))
    blocks: list[Block] = [
        Paragraph(
            text(
                lang,
                "subtitle",
                name=run.name,
                replicates=run.replicates,
                date=str(run.manifest.get("created_utc", ""))[:10],
            )
        )
    ]
    blocks += [Heading(text(lang, "summary")), Paragraph(_headline(run, comparison, picked, lang))]
    blocks += _year_table(run, lang)
    blocks += _baseline_section(run, comparison, picked, lang)
    blocks += _figures(run, comparison, lang)
    blocks += _drivers(sens, str(run.manifest["scenario_hash"]), lang)
    blocks += _assumptions(run, comparison, lang)
    blocks += _calibration(run, lang)
    blocks += _caveats(run, comparison, lang)
    blocks += _footer(run, comparison, lang, command)
    return Document(lang, title, tuple(blocks))


def _summary_entry(run: RunFolder, indicator: str, year: int) -> dict[str, Any]:
    return run.summary["indicators"][indicator]["years"][str(year)]


def _noun(indicator: str, lang: str) -> str:
    return bt.NOUN[lang].get(indicator) or INDICATORS[indicator].label_en.lower()


def _level_range(run: RunFolder, indicator: str, year: int, lang: str) -> tuple[str, str]:
    """('58.1~61.4조원', '59.8조원'): the 80% range and the median from summary.json."""
    entry = _summary_entry(run, indicator, year)
    lo, hi = entry["q10_q90"]
    return bt.format_range_median(lo, hi, entry["median"], INDICATORS[indicator].unit, lang)


def _pct_row(comparison: Comparison, indicator: str, year: int) -> pd.Series:
    table = comparison.table
    return table[(table["indicator"] == indicator) & (table["year"] == year)].iloc[0]


def _short_diff(comparison: Comparison | None, indicator: str, year: int, lang: str) -> str:
    """', 기준 대비 2.1~4.0% 감소' / '; 2.1–4.0% below the baseline' ('' without a baseline)."""
    if comparison is None:
        return ""
    row = _pct_row(comparison, indicator, year)
    return text(lang, "item_diff", diff=bt.diff_short(row["q10_pct"], row["q90_pct"], lang))


def _headline(run: RunFolder, comparison: Comparison | None, years: list[int], lang: str) -> str:
    """The summary paragraph: key ranges with units, years and basis, and the baseline gap."""
    first, *rest = HEADLINE_INDICATORS
    year = years[0]
    rng, median = _level_range(run, first, year, lang)
    lo_pct = hi_pct = None
    if comparison is not None:
        row = _pct_row(comparison, first, year)
        lo_pct, hi_pct = row["q10_pct"], row["q90_pct"]
    sentences = [
        bt.headline_first(
            lang,
            title=text(lang, "scenario_title", title=md(run.title)),
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
        scale = bt.choose_scale(kind, [r["q90"] for r in rows] + [r["q10"] for r in rows], lang)
        label = INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en
        header.append(f"{label} ({scale.unit.strip()})")
        cells = []
        if last_reported is not None:
            value = history.get(name, {}).get(last_reported)
            cells.append(
                bt.number(value, scale, bt.precision_for(scale, [value]))
                if value is not None
                else bt.MISSING[lang]
            )
        for r in rows:
            cells.append(bt.format_cell(r["q50"], r["q10"], r["q90"], scale, lang))
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
    picked = {bt.nice_number(abs(median), how="nearest")}
    likely = float(np.quantile(change, 0.1))
    if likely > 0:
        picked.add(bt.nice_number(likely, how="down"))
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
        scale = bt.choose_scale(
            kind, [r["q10_diff"] for r in rows] + [r["q90_diff"] for r in rows], lang
        )
        label = INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en
        header += [f"Δ {label} ({scale.unit.strip()})", f"Δ {label} (%)"]
        pct = bt.choose_scale("percent", [], lang)
        columns.append(
            [
                bt.format_cell(
                    r["q50_diff"], r["q10_diff"], r["q90_diff"], scale, lang, signed=True
                )
                for r in rows
            ]
        )
        columns.append(
            [
                bt.format_cell(r["q50_pct"], r["q10_pct"], r["q90_pct"], pct, lang, signed=True)
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
                bt.chance_lower(
                    _noun(name, lang), direction, bt.format_probability(k, n, lang), lang
                )
            ]
            for t in thresholds(diffs):
                hits = (
                    np.count_nonzero(diffs < -t)
                    if direction == "down"
                    else np.count_nonzero(diffs > t)
                )
                amount = bt.format_value(t, INDICATORS[name].unit, lang, trim=True)
                parts.append(
                    bt.chance_threshold(
                        amount, direction, bt.format_probability(int(hits), n, lang), lang
                    )
                )
            items.append(bt.join_chances(parts, lang))
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


def _drivers(sens: Sensitivity | None, run_hash: str, lang: str) -> list[Block]:
    blocks: list[Block] = [Heading(text(lang, "drivers"))]
    if sens is None:
        return [*blocks, Paragraph(text(lang, "no_sensitivity"))]
    shown = _relative(sens.path)
    if sens.error is not None or not sens.drivers:
        reason = md(sens.error or "no indices")
        return [*blocks, Paragraph(text(lang, "sensitivity_unreadable", path=shown, reason=reason))]
    index_name = text(lang, f"index_{sens.index_kind}")
    items = []
    if sens.scenario_hash and sens.scenario_hash != run_hash:
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
        floor_text = f"{floor:.2f}" if floor is not None else bt.MISSING[lang]
        label = _output_label(output, lang)
        drivers = sens.drivers[output]

        def item(d: Driver) -> str:
            return text(
                lang,
                "driver_item",
                label=md(bt.factor_label(d.factor, lang)),
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
    return blocks


def _relative(path: Path) -> str:
    """A path as short as is unambiguous: relative to the current folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _number_text(x: float, kind: str, lang: str) -> str:
    """A scenario number for reading: shares as % ('15%', '1.7%'), others as '1,364.4', '0.8'."""
    value = 100 * float(x) if kind == "share" else float(x)
    if value == 0 or abs(value) >= 1:
        shown = f"{value:,.2f}".rstrip("0").rstrip(".")
    else:
        shown = f"{value:.3g}"
    return shown + ("%" if kind == "share" else "")


def _distribution(spec: Mapping[str, Any], kind: str, lang: str) -> str:
    def f(key: str) -> str:
        return _number_text(spec[key], kind, lang)

    dist = spec.get("dist")
    if dist == "uniform":
        return text(lang, "dist_uniform", low=f("low"), high=f("high"))
    if dist == "triangular":
        return text(lang, "dist_triangular", low=f("low"), mode=f("mode"), high=f("high"))
    if dist == "normal":
        bounds = ""
        if spec.get("low") is not None and spec.get("high") is not None:
            bounds = text(lang, "dist_normal_bounds", low=f("low"), high=f("high"))
        return text(lang, "dist_normal", mean=f("mean"), sd=f("sd"), bounds=bounds)
    if dist == "lognormal":
        return text(lang, "dist_lognormal", median=f("median"), sigma=f"{spec['sigma']:.3g}")
    return md(json.dumps(spec, ensure_ascii=False))


def _money(spec: Mapping[str, Any], lang: str) -> str:
    if spec.get("value_usd") is not None:
        return bt.format_usd(spec["value_usd"], lang)
    if spec.get("value_krw") is not None:
        return bt.format_krw(spec["value_krw"], lang)
    return bt.MISSING[lang]


def _number_or_path(value: Any, fmt, lang: str) -> str:
    if isinstance(value, Mapping):
        points = [f"{bt.format_month(str(m), lang)} {fmt(v)}" for m, v in value.items()]
        return " → ".join(points)
    return fmt(value)


def _end(section: Mapping[str, Any], lang: str) -> str:
    end = section.get("end")
    if not end:
        return ""
    return (
        f" {bt.format_month(str(end), lang)}까지"
        if lang == "ko"
        else (f" to {bt.format_month(str(end), lang)}")
    )


_SECTION_NAMES = {
    "ko": {
        "period": "기간",
        "macro": "거시 여건",
        "tariffs": "관세",
        "ai_factory": "AI 공장 지원사업",
        "defence_exports": "방산 수출",
        "export_support": "수출 지원",
        "parameters": "고정 매개변수",
        "uncertain": "불확실한 입력",
    },
    "en": {
        "period": "period",
        "macro": "economy",
        "tariffs": "tariffs",
        "ai_factory": "AI-factory programme",
        "defence_exports": "defence exports",
        "export_support": "export support",
        "parameters": "fixed parameters",
        "uncertain": "uncertain inputs",
    },
}


def _assumptions(run: RunFolder, comparison: Comparison | None, lang: str) -> list[Block]:
    """What the scenario assumes, from its resolved scenario.yaml, in plain words."""
    s = run.scenario
    blocks: list[Block] = [Heading(text(lang, "assumptions"))]
    if s.get("description"):
        words = md(" ".join(str(s["description"]).split()))
        blocks.append(Paragraph(text(lang, "description", text=words)))
    items = []
    period = s.get("period", {})
    items.append(
        text(
            lang,
            "period",
            start=bt.format_month(str(period.get("start")), lang),
            end=bt.format_month(str(period.get("end")), lang),
            replicates=run.replicates,
            seed=run.seed,
        )
    )
    macro = s.get("macro", {})
    krw_unit = "원" if lang == "ko" else " KRW per USD"
    growth = macro.get("demand_growth", {}) or {}
    demand = ", ".join(
        f"{bt.PARTNER[lang].get(p, p)} {_number_text(v, 'share', lang)}" for p, v in growth.items()
    )
    items.append(
        text(
            lang,
            "macro",
            krw=_number_or_path(
                macro.get("krw_per_usd"), lambda v: f"{float(v):,.1f}{krw_unit}", lang
            ),
            ppi=_number_or_path(
                macro.get("producer_price_growth"), lambda v: _number_text(v, "share", lang), lang
            ),
            demand=demand or bt.MISSING[lang],
        )
    )
    ai = s.get("ai_factory")
    if ai:
        items.append(
            text(
                lang,
                "ai_factory",
                start=bt.format_month(str(ai["start"]), lang),
                end=_end(ai, lang),
                firms=round(float(ai["subsidised_firms_per_year"])),
                share=_number_text(ai["subsidy_share"], "share", lang),
            )
        )
    else:
        items.append(text(lang, "no_ai_factory"))
    defence = s.get("defence_exports") or {}
    contracts = defence.get("contracts") or []
    pipeline = defence.get("pipeline")
    if not contracts and not pipeline:
        items.append(text(lang, "no_defence"))
    if pipeline:
        items.append(
            text(
                lang,
                "pipeline",
                start=bt.format_month(str(pipeline["start"]), lang),
                orders=f"{float(pipeline['orders_per_year']):.3g}",
                value=_distribution_money(pipeline["value_usd"], lang),
                primes=", ".join(bt.ANCHOR[lang].get(p, p) for p in pipeline.get("primes", [])),
            )
        )
    support = s.get("export_support")
    if support:
        items.append(
            text(
                lang,
                "export_support",
                start=bt.format_month(str(support["start"]), lang),
                end=_end(support, lang),
                credit=bt.format_krw(support["credit_line_krw"], lang),
                boost=_number_text(support["diversion_boost"], "share", lang),
            )
        )
    overrides = s.get("parameters") or {}
    if overrides:
        listed = ", ".join(
            f"{md(bt.factor_label(k, lang))} = {_number_text(v, 'number', lang)}"
            for k, v in overrides.items()
        )
        items.append(text(lang, "overrides", items=listed))
    if comparison is not None:
        base = comparison.base.scenario
        differ = [
            _SECTION_NAMES[lang][key]
            for key in _SECTION_NAMES[lang]
            if _canonical(s.get(key)) != _canonical(base.get(key))
        ]
        items.append(
            text(lang, "differs_from_base", parts=", ".join(differ))
            if differ
            else text(lang, "same_as_base")
        )
    blocks.append(Bullets(tuple(items)))

    tariffs = s.get("tariffs") or []
    if tariffs:
        blocks.append(Paragraph(text(lang, "tariffs")))
        rows = []
        for t in tariffs:
            sectors = t.get("sectors", "all")
            names = (
                bt.SECTOR[lang]["all"]
                if sectors == "all"
                else ", ".join(bt.SECTOR[lang].get(x, x) for x in sectors)
            )
            rows.append(
                (
                    code(t["name"]),
                    bt.PARTNER[lang].get(t["partner"], t["partner"]),
                    names,
                    _number_text(t["rate"], "share", lang),
                    bt.format_span(str(t["start"]), t.get("end") and str(t["end"]), lang),
                )
            )
        header = tuple(text(lang, "tariff_header").split("|"))
        blocks.append(Table(header, tuple(rows), numeric=(3,)))
    else:
        blocks.append(Paragraph(text(lang, "no_tariffs")))
    if contracts:
        blocks.append(Paragraph(text(lang, "contracts")))
        blocks.append(
            Bullets(
                tuple(
                    text(
                        lang,
                        "contract_item",
                        name=md(c["name"]),
                        prime=bt.ANCHOR[lang].get(c["prime"], c["prime"]),
                        value=_money(c, lang),
                        signed=bt.format_month(str(c["signed"]), lang),
                        start=bt.format_month(str(c["delivery"]["start"]), lang),
                        months=c["delivery"]["months"],
                    )
                    for c in contracts
                )
            )
        )
    uncertain = s.get("uncertain") or {}
    if uncertain:
        blocks.append(Paragraph(text(lang, "uncertain")))
        blocks.append(
            Bullets(
                tuple(
                    f"{bt.capitalize(md(bt.factor_label(key, lang)))}: "
                    f"{_distribution(spec, bt.factor_kind(key), lang)}"
                    for key, spec in uncertain.items()
                )
            )
        )
    else:
        blocks.append(Paragraph(text(lang, "no_uncertain")))
    return blocks


def _distribution_money(spec: Mapping[str, Any], lang: str) -> str:
    """A distribution of dollar values: 'median 10억 달러, σ 0.8 (lognormal)'."""
    money = {k: bt.format_usd(v, lang) for k, v in spec.items() if k not in ("dist", "sigma")}
    dist = spec.get("dist")
    if dist == "lognormal":
        return text(lang, "dist_lognormal", median=money["median"], sigma=f"{spec['sigma']:.3g}")
    if dist == "uniform":
        return text(lang, "dist_uniform", low=money["low"], high=money["high"])
    if dist == "triangular":
        return text(
            lang, "dist_triangular", low=money["low"], mode=money["mode"], high=money["high"]
        )
    if dist == "normal":
        bounds = ""
        if spec.get("low") is not None and spec.get("high") is not None:
            bounds = text(lang, "dist_normal_bounds", low=money["low"], high=money["high"])
        return text(lang, "dist_normal", mean=money["mean"], sd=money["sd"], bounds=bounds)
    return md(json.dumps(spec, ensure_ascii=False))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _fit_quality(calibration: str, lang: str) -> str:
    """When and how well the fit the run used matched its targets, from `calibration/fit.json`
    (empty if that file belongs to another fit)."""
    from sim.inputs.paths import CALIBRATION_DIR

    try:
        fit = json.loads((CALIBRATION_DIR / "fit.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if fit.get("fit_id") != calibration:
        return ""
    targets = fit.get("targets", [])
    return text(
        lang,
        "calibration_quality",
        date=str(fit.get("created_utc", ""))[:10],
        inside90=sum(1 for t in targets if t.get("in90")),
        inside50=sum(1 for t in targets if t.get("in50")),
        total=len(targets),
    )


def _calibration(run: RunFolder, lang: str) -> list[Block]:
    from sim.analysis.history import history_sources
    from sim.inputs.parameters import load_registry, registry_id

    calibration = str(run.manifest.get("calibration_id", "unknown"))
    if calibration.startswith("prior-"):
        first = text(lang, "calibration_prior", id=calibration)
    else:
        first = text(lang, "calibration_fitted", id=calibration) + _fit_quality(calibration, lang)
    if run.manifest.get("parameters") == "central values":
        first += text(lang, "calibration_fixed")
    blocks: list[Block] = [Heading(text(lang, "calibration")), Paragraph(first)]
    items = []
    try:
        registry = load_registry()
        kinds = {
            k: sum(1 for s in registry.values() if s.kind == k)
            for k in ("fact", "literature", "calibrated", "assumption")
        }
        items.append(text(lang, "registry_counts", total=len(registry), **kinds))
        now = registry_id()
        if now != calibration:
            items.append(text(lang, "registry_changed", now=now))
    except (OSError, ValueError) as error:  # the brief is still useful without the registry
        items.append(md(f"calibration/parameters.yaml: {error}"))
    blocks.append(Bullets(tuple(items)))
    sources = history_sources()
    blocks.append(Paragraph(text(lang, "sources")))
    blocks.append(
        Bullets(
            tuple(
                text(
                    lang,
                    "source_item",
                    label=INDICATORS[name].label_ko if lang == "ko" else INDICATORS[name].label_en,
                    source=md(source),
                )
                for name, source in sources.items()
            )
        )
    )
    return blocks


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


# ---------------------------------------------------------------------------------------------
# rendering


def render_markdown(doc: Document, figure_paths: Mapping[str, str] | None = None) -> str:
    """The brief as markdown; figures link to `figure_paths[name]` (relative paths), if given."""
    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            out += [block.text, ""]
        elif isinstance(block, Bullets):
            out += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, Table):
            out.append("| " + " | ".join(block.header) + " |")
            out.append(
                "|"
                + "|".join(
                    " ---: " if block.is_numeric(j) else " --- " for j in range(len(block.header))
                )
                + "|"
            )
            out += ["| " + " | ".join(row) + " |" for row in block.rows]
            out.append("")
            if block.note:
                out += [f"*{block.note}*" if "*" not in block.note else block.note, ""]
        elif isinstance(block, Figure):
            if figure_paths and block.name in figure_paths:
                out += [f"![{block.alt}]({figure_paths[block.name]})", ""]
            out += [block.caption, ""]
    return "\n".join(out).rstrip() + "\n"


_INLINE = re.compile(r"\\([\\`*|<\[\]_])|\*\*(.+?)\*\*|`([^`]*)`|\*([^*]+)\*")


def inline_html(source: str) -> str:
    """Our inline markup to HTML: backslash escapes, **bold**, *italic*, `code`; rest escaped."""
    parts: list[str] = []
    pos = 0
    for match in _INLINE.finditer(source):
        parts.append(html.escape(source[pos : match.start()], quote=False))
        escaped, bold, code_text, italic = match.groups()
        if escaped is not None:
            parts.append(html.escape(escaped, quote=False))
        elif bold is not None:
            parts.append(f"<strong>{inline_html(bold)}</strong>")
        elif code_text is not None:
            parts.append(f"<code>{html.escape(code_text, quote=False)}</code>")
        else:
            parts.append(f"<em>{inline_html(italic)}</em>")
        pos = match.end()
    parts.append(html.escape(source[pos:], quote=False))
    return "".join(parts)


_CSS = """
body { margin: 0; background: #f4f5f7; color: #1d2330;
  font-family: "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", "Segoe UI", Arial,
  sans-serif; font-size: 15px; line-height: 1.6; }
main { max-width: 860px; margin: 0 auto; padding: 32px 40px 48px; background: #fff; }
h1 { font-size: 1.55em; margin: 0 0 4px; color: #12335e; }
h2 { font-size: 1.2em; margin: 1.8em 0 0.5em; padding-bottom: 3px;
  border-bottom: 2px solid #d6dde8; color: #12335e; }
h3 { font-size: 1.02em; margin: 1.2em 0 0.4em; }
p.subtitle { color: #5a6372; font-size: 0.9em; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0 0.2em; font-size: 0.86em; width: 100%; }
th, td { border-bottom: 1px solid #e3e7ee; padding: 5px 7px; vertical-align: top; }
th { background: #eef2f8; text-align: left; font-weight: 600; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
td:first-child { white-space: nowrap; }
td .range { display: block; color: #5a6372; font-size: 0.9em; }
div.table { overflow-x: auto; }
p.note { color: #5a6372; font-size: 0.84em; margin-top: 0.2em; }
figure { margin: 1.2em 0; }
figure img { display: block; width: 100%; max-width: 680px; height: auto; margin: 0 auto;
  border: 1px solid #e3e7ee; }
figcaption { color: #5a6372; font-size: 0.86em; }
code { font-family: "D2Coding", Consolas, "Courier New", monospace; font-size: 0.9em;
  background: #f1f3f6; padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
section.summary p { font-size: 1.04em; background: #f3f7fc; border-left: 4px solid #1f5a99;
  padding: 10px 14px; }
@media print { body { background: #fff; } main { padding: 0; max-width: none; }
  figure, table { page-break-inside: avoid; } }
"""


_CELL_RANGE = re.compile(r"^(\S+) (\(.+\))$")


def _cell_html(cell: str) -> str:
    """A 'median (range)' cell on two lines, the range below in grey, so wide tables fit."""
    match = _CELL_RANGE.match(cell)
    if match is None:
        return inline_html(cell)
    median, rng = match.groups()
    return f'{inline_html(median)}<span class="range">{inline_html(rng)}</span>'


def render_html(doc: Document) -> str:
    """The brief as one self-contained HTML page: inline CSS, figures as PNG data URIs."""
    body: list[str] = [f"<h1>{inline_html(doc.title)}</h1>"]
    in_summary = False
    for k, block in enumerate(doc.blocks):
        if isinstance(block, Heading):
            if in_summary:
                body.append("</section>")
                in_summary = False
            if k == 1:  # the summary heading: its paragraph is set off as the headline
                body.append('<section class="summary">')
                in_summary = True
            body.append(f"<h{block.level}>{inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = ' class="subtitle"' if k == 0 else ""
            body.append(f"<p{css}>{inline_html(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append(
                "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>"
            )
        elif isinstance(block, Table):
            head = "".join(
                f"<th{' class=num' if block.is_numeric(j) else ''}>{inline_html(h)}</th>"
                for j, h in enumerate(block.header)
            )
            rows = "".join(
                "<tr>"
                + "".join(
                    f"<td{' class=num' if block.is_numeric(j) else ''}>{_cell_html(c)}</td>"
                    for j, c in enumerate(row)
                )
                + "</tr>"
                for row in block.rows
            )
            body.append(
                f'<div class="table"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table></div>"
            )
            if block.note:
                body.append(f'<p class="note">{inline_html(block.note)}</p>')
        elif isinstance(block, Figure):
            data = base64.b64encode(block.png).decode("ascii")
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" '
                f'alt="{html.escape(block.alt)}"><figcaption>{inline_html(block.caption)}'
                "</figcaption></figure>"
            )
    if in_summary:
        body.append("</section>")
    title = html.escape(re.sub(r"\\(.)", r"\1", doc.title))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{doc.lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------------------------
# writing, never over an existing brief


def _stems() -> Iterator[str]:
    yield "brief"
    k = 2
    while True:
        yield f"brief-{k}"
        k += 1


def brief_paths(folder: Path, stem: str, lang: str, figures: Sequence[str]) -> dict[str, Path]:
    """Target paths of one brief: 'md', 'html' and one per figure name."""
    suffix = "" if lang == "en" else f".{lang}"
    paths = {
        "md": folder / f"{stem}{suffix}.md",
        "html": folder / f"{stem}{suffix}.html",
    }
    for name in figures:
        paths[name] = folder / "figures" / f"{stem}_{name}{suffix}.png"
    return paths


def _write_new(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically; FileExistsError if `target` exists (never replaced)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, target)  # atomic, and fails if target exists (os.replace would not)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: check, then rename
            if os.path.lexists(target):
                raise FileExistsError(target) from None
            os.replace(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_document(folder: Path, doc: Document) -> list[Path]:
    """Write the brief's markdown, HTML and figures under the first free stem; returns paths."""
    names = [f.name for f in doc.figures]
    for stem in _stems():
        paths = brief_paths(folder, stem, doc.lang, names)
        if any(os.path.lexists(p) for p in paths.values()):
            continue
        relative = {n: paths[n].relative_to(folder).as_posix() for n in names}
        contents = {
            "md": render_markdown(doc, relative).encode("utf-8"),
            "html": render_html(doc).encode("utf-8"),
            **{f.name: f.png for f in doc.figures},
        }
        written: list[Path] = []
        try:
            # Figures first: the markdown never points at a figure that is not there yet.
            for key in [*names, "md", "html"]:
                _write_new(paths[key], contents[key])
                written.append(paths[key])
        except FileExistsError:  # another brief took this stem meanwhile: undo, next stem
            for path in written:
                path.unlink(missing_ok=True)
            continue
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return [paths["md"], paths["html"], *(paths[n] for n in names)]
    raise AssertionError("unreachable")


def write_brief(
    results: str | Path,
    lang: str = "ko",
    baseline: str | Path | None = None,
    *,
    years: Sequence[int] | None = None,
    sensitivity: Path | str | None = "auto",
) -> list[Path]:
    """Build the brief of a results folder in `lang` and write it there; returns written paths.

    The first two paths are the markdown and the HTML. Raises `BriefError` for bad input.
    """
    bt.check_lang(lang)
    run = load_run(results)
    base = load_run(baseline) if baseline is not None else None
    doc = build_brief(run, lang, base, years=years, sensitivity=sensitivity)
    return write_document(run.path, doc)
