"""`compare`: a base scenario and an alternative run from Python with common random numbers (the
same seed, replicates and draws in both), their paired differences as pandas tables — the numbers
`changwon-sim compare` writes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.api.simulation import (
    Simulation,
    as_scenario,
    python_call,
    run_settings,
    run_simulation,
    workers_started,
)

if TYPE_CHECKING:
    import pandas as pd

    from sim.inputs.scenario import Scenario


class Comparison:
    """Two runs paired replicate by replicate, and their differences (alternative - base).

    Attributes:
        base, alternative: the two runs (`Simulation`), with the same seed and replicates.
        inputs_that_differ: the inputs (dotted paths) whose values differ between the scenarios.
    """

    def __init__(self, base: Simulation, alternative: Simulation) -> None:
        from sim.inputs.scenario import differing_inputs

        self.base, self.alternative = base, alternative
        self.call = base.manifest["command_line"]  # the same call made both runs
        self.inputs_that_differ = differing_inputs(base.scenario, alternative.scenario)

    @cached_property
    def annual(self) -> pd.DataFrame:
        """Year x indicator: the paired differences' mean and quantiles, in the indicator's
        unit (`*_diff`) and in percent of the base (`*_pct`), and the share of replicates in
        which the difference is negative (differences.csv)."""
        from sim.ensemble.tables import compare_annual

        return compare_annual(
            self.base.annual_by_replicate,
            self.alternative.annual_by_replicate,
            self.base.scenario.outputs.quantiles,
        )

    @cached_property
    def monthly(self) -> pd.DataFrame:
        """Each replicate's monthly difference alternative - base of every indicator."""
        base, alternative = self.base.monthly, self.alternative.monthly
        differences = alternative.copy()
        values = [c for c in base.columns if c not in ("replicate", "month")]
        differences[values] = alternative[values].to_numpy() - base[values].to_numpy()
        return differences

    @cached_property
    def inputs(self) -> pd.DataFrame:
        """The inputs drawn for each replicate in both runs, first column `scenario`: the draws
        are paired, so they differ only in the inputs whose distributions differ."""
        import pandas as pd

        parts = [
            run.inputs.assign(scenario=run.scenario.name)[["scenario", *run.inputs.columns]]
            for run in (self.base, self.alternative)
        ]
        return pd.concat(parts, ignore_index=True)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The headline of the paired differences of the main indicators by year."""
        from sim.ensemble.tables import compare_summary

        summary = compare_summary(self.annual, self.base.replicates)
        return {
            "base": self.base.scenario.name,
            "alternative": self.alternative.scenario.name,
            "inputs_that_differ": list(self.inputs_that_differ),
            **summary,
        }

    def headline(self, lang: str = "en") -> str:
        """The lines `compare` prints: the paired difference of production, exports and jobs in
        the first full year and the last year, and the chance of a fall; `lang` "en" or "ko"."""
        from sim.report.headline import compare_headline

        lines = compare_headline(
            self.annual,
            base=self.base.scenario.name,
            alternative=self.alternative.scenario.name,
            replicates=self.base.replicates,
            lang=lang,
        )
        return "\n".join(lines)

    def save(
        self, folder: str | os.PathLike[str] = "results", *, lang: str = "en", figures: bool = True
    ) -> Path:
        """Write what `changwon-sim compare BASE ALT --out FOLDER` writes: each run's results
        folder and `FOLDER/compare-<base>-vs-<alternative>/<run id>/` (differences.csv,
        levels.csv, charts in `lang` unless `figures=False`); returns the comparison's folder."""
        from sim.report.run_folder import compare_manifest, write_compare_folder

        folder = Path(folder)
        runs = (self.base, self.alternative)
        run_folders = {
            run.scenario.name: run.save(folder, lang=lang, figures=figures) for run in runs
        }
        manifest = compare_manifest(
            self.base.scenario,
            [self.alternative.scenario],
            {run.scenario.name: run.manifest for run in runs},
            run_folders,
            seed=self.base.seed,
            replicates=self.base.replicates,
            command_line=self.call,
        )
        return write_compare_folder(
            folder,
            self.base.scenario.name,
            {self.alternative.scenario.name: self.annual},
            {run.scenario.name: run.annual for run in runs},
            manifest,
            figure_langs=(lang,) if figures else None,
        )

    def __repr__(self) -> str:
        names = f"{self.alternative.scenario.name} against {self.base.scenario.name}"
        return f"<Comparison of {names}, seed {self.base.seed}>\n{self.headline()}"


def compare(
    base: str | os.PathLike[str] | Mapping[str, Any] | Scenario,
    alternative: str | os.PathLike[str] | Mapping[str, Any] | Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    *,
    fixed_parameters: bool = False,
) -> Comparison:
    """Run a base scenario and an alternative with common random numbers and pair them: the
    numbers of `changwon-sim compare BASE ALT`.

    Args:
        base, alternative: each a scenario file, a mapping with the keys of one (`extends`
            relative to the current folder) or a `Scenario`; distinct names, the same period.
        replicates, seed: default the base's `runs`; both scenarios use them.
        workers: worker processes on this machine; default all cores, 1 runs here.
        fixed_parameters: every replicate uses the central parameter values.

    Raises `ScenarioError` (a `ValueError`) for an invalid scenario, `ValueError` for scenarios
    that cannot be paired or settings out of range.

    Example:
        >>> effect = sim.compare("scenarios/baseline.yaml", "scenarios/us_tariff_15.yaml",
        ...                      replicates=50)
        >>> effect.summary["indicators"]["exports_usd"]["years"]["2026"]["pct"]["median"]
    """
    from sim.ensemble.execution import make_executor

    base_scenario, alternative_scenario = as_scenario(base), as_scenario(alternative)
    if base_scenario.name == alternative_scenario.name:
        raise ValueError(f"compared scenarios need distinct names (both {base_scenario.name})")
    if base_scenario.period != alternative_scenario.period:
        a, b = alternative_scenario, base_scenario
        raise ValueError(
            f"{a.name} covers {a.period.start}..{a.period.end} but {b.name} covers "
            f"{b.period.start}..{b.period.end}: compared scenarios need the same period"
        )
    replicates, seed = run_settings(base_scenario, replicates, seed, workers)
    scenarios = [base_scenario, alternative_scenario]
    call = python_call("compare", scenarios, replicates, seed, fixed_parameters)
    with workers_started(), make_executor(workers, None) as executor:
        runs = [
            run_simulation(scenario, replicates, seed, fixed_parameters, executor, call)
            for scenario in scenarios
        ]
    return Comparison(*runs)
