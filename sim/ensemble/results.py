"""Results folders: annual.csv, summary.json, monthly.parquet, differences, manifest.

The tables come from `sim.ensemble.tables`; this module turns them into file contents (each a pure
function of its input: bytes are deterministic) and writes result folders atomically: everything
is built in a hidden temporary sibling folder, flushed to disk and renamed into place, so a folder
appears complete or not at all, and an existing folder is never overwritten (a `-2`, `-3`, ...
suffix is added instead). Figures are drawn by the caller's `figures` function
(`sim.report.result_figures`) into the same temporary folder, so they are part of the manifest.

Numbers in annual.csv, differences.csv and summary.json are written with `FLOAT_FORMAT` (10
significant digits): the same input gives byte-identical files, and summary.json holds exactly the
numbers annual.csv holds.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from sim.ensemble.tables import (
    FLOAT_FORMAT,
    annual_summary,
    annual_table,
    headline_summary,
    resolve_quantiles,
)

BOM = "\ufeff"

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


# ---------------------------------------------------------------------------------------------
# file contents (each a pure function of its input: bytes are deterministic)


def csv_bytes(table: pd.DataFrame) -> bytes:
    """CSV for Excel: UTF-8 with BOM, comma separated, '\\n' line ends, FLOAT_FORMAT, NaN empty."""
    text = table.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n", na_rep="")
    return (BOM + text).encode("utf-8")


def annual_csv_bytes(summary: pd.DataFrame) -> bytes:
    """Bytes of annual.csv from an `annual_summary` table."""
    return csv_bytes(summary)


def json_bytes(data: Any) -> bytes:
    """Canonical JSON: sorted keys, indent 2, UTF-8 (Korean readable), no NaN, final newline."""
    text = json.dumps(
        _jsonable(data), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
    )
    return (text + "\n").encode("utf-8")


def summary_json_bytes(summary: Mapping[str, Any]) -> bytes:
    """Bytes of summary.json from a `headline_summary` dict."""
    return json_bytes(summary)


def write_monthly_parquet(chunks: Iterable[pd.DataFrame], handle: BinaryIO) -> pd.DataFrame:
    """Stream monthly tables (whole replicates each) into one Parquet file, a row group per
    chunk; returns the annual table of all of them, which is small.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    annual = []
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(handle, table.schema, compression="zstd")
            writer.write_table(table)
            annual.append(annual_table(chunk))
    finally:
        if writer is not None:
            writer.close()
    return pd.concat(annual, ignore_index=True)


def monthly_parquet_bytes(monthly: pd.DataFrame) -> bytes:
    """Bytes of monthly.parquet: no index, zstd, written by pyarrow (deterministic per version)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(monthly, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _jsonable(obj: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, paths, tuples and sets; non-finite -> None."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_jsonable(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


#: Libraries whose versions every manifest records (they decide what a seed produces or how
#: files are written).
RECORDED_LIBRARIES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "SALib",
    "mesa",
    "numba",
    "matplotlib",
    "XlsxWriter",
)


def library_versions() -> dict[str, str]:
    """Python's and each recorded library's version ('not installed' where absent)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_manifest(
    scenario,
    *,
    seed: int,
    replicates: int,
    fixed_parameters: bool,
    command_line: str,
    executor: Mapping[str, Any],
    seconds: float,
    resumed_chunks: int = 0,
) -> dict[str, Any]:
    """The manifest of a run (before its `files` and `created_utc`): what was run, with which
    seeds, parameters, calibration and library versions, by which command and executor."""
    from sim import MODEL_VERSION, __version__
    from sim.inputs.parameters import registry_id
    from sim.inputs.scenario_files import scenario_hash

    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_hash": scenario_hash(scenario),
        "seed": seed,
        "replicates": replicates,
        "seeding": "numpy SeedSequence(seed, spawn_key=(replicate, stream))",
        "parameters": "central values" if fixed_parameters else "drawn per replicate",
        "calibration_id": registry_id(),
        "package_version": __version__,
        "model_version": MODEL_VERSION,
        "command_line": command_line,
        "versions": library_versions(),
        "executor": dict(executor),
        "resumed_chunks": resumed_chunks,
        "timings": {"simulation_seconds": round(seconds, 3)},
    }


# ---------------------------------------------------------------------------------------------
# atomic result folders


def make_run_id(scenario_hash: str, now: datetime | None = None) -> str:
    """'YYYYMMDDTHHMMSSZ-' + the first 8 hex digits of the scenario hash (UTC time)."""
    digest = scenario_hash.lower().removeprefix("sha256:")
    if not re.fullmatch(r"[0-9a-f]{8,}", digest):
        raise ValueError(f"scenario hash must be hex, at least 8 digits (got {scenario_hash!r})")
    return f"{_utc(now):%Y%m%dT%H%M%SZ}-{digest[:8]}"


def _utc(now: datetime | None) -> datetime:
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    return now.astimezone(UTC).replace(microsecond=0)


def _check_name(name: str, what: str = "name") -> None:
    # Names become folder names: no separators, dots or spaces (also blocks '..' escapes).
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{what} must use only letters, digits, - and _ (got {name!r})")


def _write_file(root: Path, relative: str, data: bytes | Callable[[BinaryIO], None]) -> str:
    """Write root/relative (exclusive create), flushed to disk; returns the file's sha256.

    `data` is the bytes, or a function that writes them to an open binary file (for files too
    large to hold in memory, such as a long run's monthly.parquet).
    """
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as handle:
        if callable(data):
            data(handle)
        else:
            handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if not callable(data):
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries durable (POSIX; elsewhere renames are already journaled)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, parent: Path, run_id: str) -> Path:
    """Rename the finished temporary folder to parent/run_id, or run_id-2, -3, ... if taken."""
    for k in itertools.count(1):
        target = parent / (run_id if k == 1 else f"{run_id}-{k}")
        if os.path.lexists(target):
            continue
        try:
            # Atomic. A result folder is never empty, so renaming onto one that appeared since
            # the check fails (ENOTEMPTY/EEXIST) instead of replacing it; then try the next name.
            os.rename(tmp, target)
        except OSError:
            if os.path.lexists(target):
                continue
            raise
        _fsync_dir(parent)
        return target
    raise AssertionError("unreachable")


def _write_result_folder(
    parent: Path,
    run_id: str,
    files: Callable[[], Iterable[tuple[str, bytes]]],
    manifest: Mapping[str, Any],
    created: datetime,
) -> Path:
    """Build a result folder from `files()` plus manifest.json in a temporary sibling, then publish.

    On any exception (including KeyboardInterrupt) the temporary folder is removed, and so is
    `parent` if this call created it and it is empty, and the exception propagates.
    """
    parent_existed = parent.exists()
    tmp = parent / f".tmp-{run_id}-{os.getpid()}"
    made_tmp = False
    try:
        tmp.mkdir(parents=True)  # fails if it exists: never clean up another writer's folder
        made_tmp = True
        hashes: dict[str, str] = {}
        for relative, data in files():
            hashes[relative] = _write_file(tmp, relative, data)
        full_manifest = {
            **manifest,
            "files": dict(sorted(hashes.items())),
            "created_utc": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        _write_file(tmp, "manifest.json", json_bytes(full_manifest))
        for folder in sorted({(tmp / r).parent for r in hashes} | {tmp}, reverse=True):
            _fsync_dir(folder)
        return _publish(tmp, parent, run_id)
    except BaseException:
        if made_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        if not parent_existed:
            try:
                parent.rmdir()  # only if empty: another writer's results stay
            except OSError:
                pass
        raise


def write_run_results(
    out_root: Path,
    name: str,
    scenario_yaml: str,
    scenario_hash: str,
    manifest: Mapping[str, Any],
    monthly: pd.DataFrame | Callable[[], Iterable[pd.DataFrame]],
    quantiles: Iterable[float] | None,
    figures: Callable[[pd.DataFrame, int], Iterable[tuple[str, bytes]]] | None = None,
    *,
    inputs: pd.DataFrame | None = None,
    workbook: Callable[[pd.DataFrame, int], bytes] | None = None,
    now: datetime | None = None,
) -> Path:
    """Write a run's result folder `out_root/name/<run-id>/` atomically; returns its path.

    `monthly` is the monthly table, or a function giving it in chunks of whole replicates, in
    replicate order (streamed to disk, so memory does not grow with the number of replicates).

    run-id is `make_run_id(scenario_hash, now)`; if that folder exists, `-2`, `-3`, ... is
    appended. Contents: scenario.yaml (as given), monthly.parquet, annual.csv, summary.json,
    the files `figures(summary, replicates)` gives as (relative path, bytes) — the fan charts of
    `sim.report.result_figures.fan_figures` — and manifest.json = `manifest` + `files` (sha256
    of every other file) + `created_utc`. With `inputs` (`sim.ensemble.execution.inputs_table`),
    inputs.csv; with `workbook`, annual.xlsx = `workbook(summary, replicates)`
    (`sim.report.workbook.annual_workbook`).
    """
    _check_name(name, "scenario name")
    out_root = Path(out_root)
    created = _utc(now)
    run_id = make_run_id(scenario_hash, created)
    levels = resolve_quantiles(quantiles)

    def files() -> Iterator[tuple[str, bytes]]:
        # A generator: the heavy pieces are built one at a time, inside the cleanup guard.
        yield "scenario.yaml", scenario_yaml.encode("utf-8")
        if isinstance(monthly, pd.DataFrame):
            yield "monthly.parquet", monthly_parquet_bytes(monthly)
            annual = annual_table(monthly)
        else:
            collected: list[pd.DataFrame] = []

            def stream(handle: BinaryIO) -> None:
                collected.append(write_monthly_parquet(monthly(), handle))

            yield "monthly.parquet", stream
            annual = collected[0]
        summary = annual_summary(annual, levels)
        yield "annual.csv", annual_csv_bytes(summary)
        yield "summary.json", summary_json_bytes(headline_summary(annual, levels))
        replicates = int(annual["replicate"].nunique())
        if inputs is not None:
            yield "inputs.csv", csv_bytes(inputs)
        if workbook is not None:
            yield "annual.xlsx", workbook(summary, replicates)
        if figures is not None:
            yield from figures(summary, replicates)

    return _write_result_folder(out_root / name, run_id, files, manifest, created)


def compare_folder_name(base_name: str, alt_names: Sequence[str]) -> str:
    """'compare-<base>-vs-<alt1>-<alt2>...', shortened with a hash if too long for a file name."""
    name = f"compare-{base_name}-vs-{'-'.join(alt_names)}"
    if len(name) <= 120:
        return name
    digest = hashlib.sha256("\n".join([base_name, *alt_names]).encode()).hexdigest()[:8]
    return f"compare-{base_name[:60]}-vs-{len(alt_names)}-alternatives-{digest}"


def write_compare_results(
    out_root: Path,
    base_name: str,
    alt_names: Sequence[str],
    tables: Mapping[str, pd.DataFrame],
    summaries: Mapping[str, pd.DataFrame] | None,
    manifest: Mapping[str, Any],
    *,
    scenario_hash: str | None = None,
    figures: Callable[[pd.DataFrame, str], Iterable[tuple[str, bytes]]] | None = None,
    now: datetime | None = None,
) -> Path:
    """Write `out_root/compare-<base>-vs-<alts>/<run-id>/` atomically; returns its path.

    `tables` maps each alternative to its `compare_tables` output; `summaries` (optional) maps
    scenario names to their `annual_summary` tables. Contents: differences.csv (one block per
    alternative, first column `alternative`), levels.csv (the summaries, first column `scenario`,
    base first), the files `figures(differences, base_name)` gives (the charts of
    `sim.report.result_figures.compare_figures`), manifest.json (+ files, created_utc).
    run-id uses `scenario_hash` (pass a hash of all resolved scenarios); if None, a hash of the
    scenario names is used.
    """
    _check_name(base_name, "base scenario name")
    alt_names = list(alt_names)
    if not alt_names:
        raise ValueError("at least one alternative is needed")
    for alt in alt_names:
        _check_name(alt, "alternative scenario name")
        if alt not in tables:
            raise ValueError(f"no difference table for alternative {alt!r}")
    out_root = Path(out_root)
    created = _utc(now)
    if scenario_hash is None:
        scenario_hash = hashlib.sha256("\n".join([base_name, *alt_names]).encode()).hexdigest()
    run_id = make_run_id(scenario_hash, created)

    def files() -> Iterator[tuple[str, bytes]]:
        differences = pd.concat(
            [
                tables[alt].assign(alternative=alt)[["alternative", *tables[alt].columns]]
                for alt in alt_names
            ],
            ignore_index=True,
        )
        yield "differences.csv", csv_bytes(differences)
        if summaries:
            order = [n for n in [base_name, *alt_names] if n in summaries]
            order += sorted(n for n in summaries if n not in order)
            levels = pd.concat(
                [
                    summaries[n].assign(scenario=n)[["scenario", *summaries[n].columns]]
                    for n in order
                ],
                ignore_index=True,
            )
            yield "levels.csv", csv_bytes(levels)
        if figures is not None:
            yield from figures(differences, base_name)

    parent = out_root / compare_folder_name(base_name, alt_names)
    return _write_result_folder(parent, run_id, files, manifest, created)
