"""What a brief reads: a results folder of `changwon-sim run` (manifest.json, scenario.yaml,
annual.csv, summary.json, and monthly.parquet for a paired comparison), the paired differences
against a baseline's folder, the years the headline quotes, and the newest sensitivity run of the
same scenario, if any. Bad input raises `BriefError` with a one-line reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model.indicators import INDICATORS

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
    check_file_hashes(path, manifest)
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


def check_file_hashes(path: Path, manifest: dict[str, Any]) -> None:
    """`BriefError` naming the first file whose sha256 differs from the one `run` recorded in
    manifest.json (a result edited or damaged since: a brief must not quote it as the run's)."""
    import hashlib

    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BriefError(f"{path / 'manifest.json'}: lists no file hashes (not written by `run`)")
    root = path.resolve()
    for relative, expected in sorted(files.items()):
        target = (path / str(relative)).resolve()
        if root not in target.parents:
            raise BriefError(f"{path / 'manifest.json'}: lists a file outside the folder")
        digest = hashlib.sha256()
        try:
            with open(target, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            raise BriefError(f"{path / str(relative)}: missing or unreadable") from None
        if digest.hexdigest() != str(expected).lower():
            raise BriefError(
                f"{path / str(relative)}: does not match the sha256 in manifest.json; the "
                "results were changed after `run` wrote them"
            )


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
    table: pd.DataFrame  # sim.ensemble.tables.compare_tables(base, alt)
    per_replicate: pd.DataFrame  # annual differences alt - base: replicate, year, indicators


def compare_runs(run: RunFolder, base: RunFolder) -> Comparison:
    """Paired differences run - base (common random numbers), summarised and per replicate."""
    from sim.ensemble.tables import annual_table, compare_tables

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
