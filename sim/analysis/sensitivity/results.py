"""The results folder of a sensitivity run: indices.csv, convergence.csv, noise.csv, design.csv,
scenario.yaml, the figures the caller's `figures` function draws
(`sim.report.result_figures.sensitivity_figures`) and manifest.json, written atomically.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.sensitivity.design import DRIVERS, DUMMY, NOISE_BLOCKS, Output, design_values
from sim.analysis.sensitivity.evaluate import point_replicates
from sim.analysis.sensitivity.indices import BOOTSTRAP_RESAMPLES, CONF_LEVEL, convergence_samples
from sim.analysis.sensitivity.run import SensitivityResult, partial_folder


def design_table(result: SensitivityResult) -> pd.DataFrame:
    """One row per design point: its factor values (the dummy as its unit coordinate), the
    replicate numbers it ran, and each output's mean — enough to re-analyse with any method.
    """
    values = design_values(result.design, result.factors)
    frame = pd.DataFrame(values, columns=[f.name for f in result.factors])
    frame.insert(0, "point", np.arange(result.design.points, dtype=np.int64))
    first = [point_replicates(v, result.replicates_per_point).start for v in values]
    frame["first_replicate"] = np.asarray(first, dtype=np.int64)
    means = result.evaluation.means
    for k, output in enumerate(result.outputs):
        frame[output.label] = means[:, k]
    return frame


def sensitivity_manifest(result: SensitivityResult, scenario=None) -> dict[str, Any]:
    """manifest.json contents (without `files` and `created_utc`, added when writing)."""
    from sim import MODEL_VERSION, __version__
    from sim.ensemble.results import library_versions

    manifest: dict[str, Any] = {
        "command": "sensitivity",
        "method": result.method,
        "samples": result.samples,
        "design_points": result.design.points,
        "second_order": result.second_order,
        "replicates_per_point": result.replicates_per_point,
        "simulations": result.design.points * result.replicates_per_point,
        "seed": result.seed,
        "other_parameters": (
            "central values" if result.fixed_parameters else "drawn per replicate from priors"
        ),
        "seeding": (
            "replicate r of a point uses numpy SeedSequence(seed, spawn_key=(r,)); a point runs "
            f"replicates b*R..b*R+R-1 with block b = floor(dummy * {NOISE_BLOCKS}), so points "
            "with the same dummy value share their random numbers (common random numbers); "
            f"with the '{DRIVERS}' factor, every replicate of a point takes the national drivers "
            f"of replicate floor(drivers * {NOISE_BLOCKS})"
        ),
        "factors": [f.describe() for f in result.factors],
        "dummy": (
            f"'{DUMMY}' sets no model input; its value only picks the random numbers of the point. "
            "Its index is the noise floor: an index whose interval does not clear the dummy's "
            "cannot be told from the model's own randomness."
        ),
        "outputs": [o.label for o in result.headline],
        "through_time": result.through_time,
        "main_measure": result.main_measure,
        "conf": f"half-width of the {CONF_LEVEL:.0%} bootstrap confidence interval",
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES[result.method],
        "noise": {
            row.output: {
                "noise_share": row.noise_share,
                "dummy_floor": result.noise_floor(Output(*_split_label(row.output))),
            }
            for row in result.noise.itertuples()
        },
        "warnings": list(result.warnings),
        "convergence_samples": convergence_samples(result.design),
        "chunks": result.evaluation.chunks,
        "chunks_resumed": result.evaluation.chunks_resumed,
        "partial_key": result.partial_key,
        "package_version": __version__,
        "model_version": MODEL_VERSION,
        "versions": library_versions(),
        "timings": dict(result.timings),
    }
    if result.baseline is not None:
        from sim.inputs.scenario_files import scenario_hash

        manifest["baseline"] = {
            "scenario": result.baseline.name,
            "title": result.baseline.title,
            "scenario_hash": scenario_hash(result.baseline),
        }
        manifest["outputs_are"] = (
            "paired effects: the scenario's output minus the baseline's, each design point and "
            "replicate run for both with the same seed and factor values (common random numbers)"
        )
    if scenario is not None:
        from sim.inputs.parameters import registry_id
        from sim.inputs.scenario_files import scenario_hash

        manifest |= {
            "scenario": scenario.name,
            "title": scenario.title,
            "scenario_hash": scenario_hash(scenario),
            "calibration_id": registry_id(),
        }
    return manifest


def _split_label(label: str) -> tuple[str, int]:
    name, _, year = label.partition(":")
    return name, int(year)


def write_sensitivity_results(
    out_root: Path,
    scenario,
    result: SensitivityResult,
    *,
    figures: Callable[[SensitivityResult, str], Iterable[tuple[str, bytes]]] | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Path:
    """Write `out_root/<name>/sensitivity-<run-id>/` atomically; returns its path.

    Contents: indices.csv (every index with its interval and noise-floor flag), convergence.csv,
    design.csv (points, factor values, output means), noise.csv, scenario.yaml, the files
    `figures(result, title)` gives (`sim.report.result_figures.sensitivity_figures`: figures/*.png)
    and manifest.json. CSV files are UTF-8 with BOM for Excel. After publishing, the job's
    `.partial` chunks are removed.
    """
    from sim.ensemble.results import _check_name, _utc, _write_result_folder, csv_bytes, make_run_id
    from sim.inputs.scenario_files import resolved_yaml, scenario_hash

    name = scenario.name if scenario is not None else "analytic"
    _check_name(name, "scenario name")
    created = _utc(now)
    digest = scenario_hash(scenario) if scenario is not None else hashlib.sha256(b"").hexdigest()
    run_id = "sensitivity-" + make_run_id(digest, created)
    manifest = sensitivity_manifest(result, scenario) | dict(manifest_extra or {})
    title = getattr(scenario, "title", None) or name

    def files() -> Iterator[tuple[str, bytes]]:
        yield "indices.csv", csv_bytes(result.indices)
        yield "convergence.csv", csv_bytes(result.convergence)
        yield "noise.csv", csv_bytes(result.noise)
        yield "design.csv", csv_bytes(design_table(result))
        if scenario is not None:
            yield "scenario.yaml", resolved_yaml(scenario).encode("utf-8")
        if result.baseline is not None:
            yield "baseline.yaml", resolved_yaml(result.baseline).encode("utf-8")
        if figures is not None:
            yield from figures(result, title)

    folder = _write_result_folder(Path(out_root) / name, run_id, files, manifest, created)
    if result.partial_key is not None:
        partial = partial_folder(out_root, name, result.partial_key)
        shutil.rmtree(partial, ignore_errors=True)
        for parent in (partial.parent, partial.parent.parent):
            try:
                parent.rmdir()  # only if empty: other jobs' chunks stay
            except OSError:
                break
    return folder
