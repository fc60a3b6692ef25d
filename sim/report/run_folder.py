"""The results folders of a run and of a comparison, as `changwon-sim run` and `compare` write
them and as `sim.simulate(...).save` and `sim.compare(...).save` write them from Python: the
tables and files of `sim.ensemble.results`, with the workbook of `sim.report.workbook` and the
charts of `sim.report.result_figures`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd


def write_run_folder(
    out: Path,
    scenario,
    manifest: Mapping[str, Any],
    monthly: pd.DataFrame | Callable[[], Iterable[pd.DataFrame]],
    inputs: pd.DataFrame,
    *,
    yaml: str,
    figure_langs: Sequence[str] | None = ("en",),
    figures: Callable[..., Iterable[tuple[str, bytes]]] | None = None,
) -> Path:
    """Write `out/<scenario name>/<run-id>/` (annual.csv and .xlsx, inputs.csv, summary.json,
    monthly.parquet, scenario.yaml = `yaml`, fan charts in `figure_langs` unless None) and
    return it. `monthly` is the monthly table or a function giving it chunk by chunk. `figures`,
    if given, gives the fan charts drawn elsewhere (`sim.report.figure_processes`)."""
    from sim.ensemble.results import write_run_results
    from sim.report.result_figures import fan_figures
    from sim.report.workbook import annual_workbook

    if figures is None and figure_langs is not None:
        figures = partial(
            fan_figures, langs=tuple(figure_langs), title=scenario.title or scenario.name
        )
    workbook = partial(
        annual_workbook, scenario=scenario.model_dump(mode="json"), manifest=manifest
    )
    return write_run_results(
        out,
        scenario.name,
        yaml,
        manifest["scenario_hash"],
        manifest,
        monthly,
        scenario.outputs.quantiles,
        figures=figures,
        inputs=inputs,
        workbook=workbook,
    )


def compare_manifest(
    base,
    alternatives: Sequence,
    runs: Mapping[str, Mapping[str, Any]],
    run_folders: Mapping[str, Path],
    *,
    seed: int,
    replicates: int,
    command_line: str,
) -> dict[str, Any]:
    """The manifest of a comparison: the scenarios, the inputs in which each alternative differs
    from the base, the common seed and replicates, each run's folder and manifest."""
    from sim.ensemble.results import library_versions
    from sim.inputs.scenario import differing_inputs

    return {
        "command": "compare",
        "command_line": command_line,
        "base": base.name,
        "alternatives": [a.name for a in alternatives],
        "inputs_that_differ": {a.name: differing_inputs(base, a) for a in alternatives},
        "seed": seed,
        "replicates": replicates,
        "run_folders": {name: str(folder) for name, folder in run_folders.items()},
        "versions": library_versions(),
        "runs": {name: dict(manifest) for name, manifest in runs.items()},
    }


def write_compare_folder(
    out: Path,
    base_name: str,
    differences: Mapping[str, pd.DataFrame],
    summaries: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any],
    *,
    figure_langs: Sequence[str] | None = ("en",),
) -> Path:
    """Write `out/compare-<base>-vs-<alternatives>/<run-id>/` (differences.csv, levels.csv, charts
    in `figure_langs` unless None, manifest.json) and return it. `differences` maps each
    alternative to its `compare_annual` table, `summaries` each scenario to its `annual_summary`;
    the run id hashes every run's scenario hash (`manifest["runs"]`)."""
    from sim.ensemble.results import write_compare_results
    from sim.report.result_figures import compare_figures

    combined = hashlib.sha256(
        "".join(run["scenario_hash"] for run in manifest["runs"].values()).encode()
    ).hexdigest()
    figures = None
    if figure_langs is not None:
        figures = partial(compare_figures, langs=tuple(figure_langs))
    return write_compare_results(
        out,
        base_name,
        list(differences),
        differences,
        summaries,
        manifest,
        scenario_hash=combined,
        figures=figures,
    )
