"""`simulate`: every replicate of a scenario, run from Python, its results as pandas tables; and
`build_model`, one replicate's Mesa model to step and inspect.

The run is `changwon-sim run`'s: the same chunks of replicates (`sim.ensemble.execution`), seeds
and tables (`sim.ensemble.tables`), so the same scenario, replicates and seed give the same
numbers whatever the number of workers, and `Simulation.save` writes the folder `run` writes.
Chunks are kept in memory (`MemoryStore`) rather than on disk: a run from Python is not resumed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from sim.inputs.scenario import Scenario
    from sim.model.changwon_model import ChangwonModel


def as_scenario(scenario: str | os.PathLike[str] | Mapping[str, Any] | Scenario) -> Scenario:
    """The validated `Scenario` of a file, a mapping or a `Scenario`; invalid input raises
    `sim.inputs.scenario_errors.ScenarioError` (a `ValueError`) listing every problem, one a
    line, as `changwon-sim check` prints them."""
    from sim.inputs.scenario import Scenario
    from sim.inputs.scenario_files import load_scenario, scenario_from_data

    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return scenario_from_data(scenario)
    if isinstance(scenario, (str, os.PathLike)):
        return load_scenario(os.fspath(scenario))
    raise TypeError(
        "a scenario is a file name, a mapping of scenario keys or a Scenario "
        f"(got {type(scenario).__name__})"
    )


def run_settings(
    scenario: Scenario, replicates: int | None, seed: int | None, workers: int | None
) -> tuple[int, int]:
    """The replicates and seed a run uses (the scenario's `runs` where not given), checked as
    the command line checks them; `ValueError` names what is wrong."""
    from sim.inputs.scenario_fields import MAX_REPLICATES, MAX_SEED

    replicates = scenario.runs.replicates if replicates is None else replicates
    seed = scenario.runs.seed if seed is None else seed
    checks = (
        ("replicates", replicates, 1, MAX_REPLICATES),
        ("seed", seed, 0, MAX_SEED),
        ("workers", 1 if workers is None else workers, 1, 4096),
    )
    for name, value, low, high in checks:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(
                f"{name} must be a whole number from {low:,} to {high:,} (got {value!r})"
            )
    return replicates, seed


class Simulation:
    """A finished run of every replicate of a scenario: the tables `changwon-sim run` writes.

    Attributes:
        scenario: the resolved scenario, its `runs` set to the replicates and seed used.
        seed, replicates: the master seed and the number of replicates.
        monthly: every replicate's monthly indicators (monthly.parquet): columns `replicate`,
            `month` (YYYY-MM), then one per indicator.
        inputs: one row per replicate, its seed and every input drawn for it (inputs.csv).
        manifest: what was run, with which versions and calibration (manifest.json, less the
            files' hashes).
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        replicates: int,
        chunks: list[pd.DataFrame],
        inputs: pd.DataFrame,
        manifest: dict[str, Any],
    ) -> None:
        self.scenario, self.seed, self.replicates = scenario, seed, replicates
        self.chunks = chunks  # the monthly table by chunk of replicates, as `run` streams it
        self.inputs = inputs
        self.manifest = manifest

    @cached_property
    def monthly(self) -> pd.DataFrame:
        import pandas as pd

        return pd.concat(self.chunks, ignore_index=True)

    @cached_property
    def annual_by_replicate(self) -> pd.DataFrame:
        """Each replicate's calendar-year indicators: flows summed, stocks at the year's end,
        ratios recomputed (`sim.ensemble.tables.annual_table`)."""
        import pandas as pd

        from sim.ensemble.tables import annual_table

        return pd.concat([annual_table(chunk) for chunk in self.chunks], ignore_index=True)

    @cached_property
    def annual(self) -> pd.DataFrame:
        """Year x indicator: mean and quantiles across replicates (annual.csv)."""
        from sim.ensemble.tables import annual_summary

        return annual_summary(self.annual_by_replicate, self.scenario.outputs.quantiles)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The headline ranges of the main indicators by year (summary.json)."""
        from sim.ensemble.tables import headline_summary

        return headline_summary(self.annual_by_replicate, self.scenario.outputs.quantiles)

    def headline(self, lang: str = "en") -> str:
        """The lines `run` prints: median and 80% range of production, exports and jobs in the
        first full year and the last year; `lang` "en" or "ko"."""
        from sim.report.headline import run_headline

        title = self.scenario.title or self.scenario.name
        lines = run_headline(self.annual, title=title, replicates=self.replicates, lang=lang)
        return "\n".join(lines)

    def save(
        self, folder: str | os.PathLike[str] = "results", *, lang: str = "en", figures: bool = True
    ) -> Path:
        """Write the results folder `changwon-sim run --out FOLDER` writes,
        `FOLDER/<scenario name>/<run id>/` (never over an existing one), with fan charts in
        `lang` ("en" or "ko") unless `figures=False`; returns its path."""
        from sim.inputs.scenario_files import resolved_yaml
        from sim.report.run_folder import write_run_folder

        return write_run_folder(
            Path(folder),
            self.scenario,
            self.manifest,
            lambda: iter(self.chunks),
            self.inputs,
            yaml=resolved_yaml(self.scenario),
            figure_langs=(lang,) if figures else None,
        )

    def __repr__(self) -> str:
        return f"<Simulation of {self.scenario.name}, seed {self.seed}>\n{self.headline()}"


def simulate(
    scenario: str | os.PathLike[str] | Mapping[str, Any] | Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    *,
    fixed_parameters: bool = False,
) -> Simulation:
    """Run every replicate of a scenario; the same numbers as `changwon-sim run` for the same
    scenario, replicates and seed, whatever `workers`.

    Args:
        scenario: a scenario file, a mapping with the keys of one (e.g.
            `{"extends": "scenarios/baseline.yaml", "name": "tariff-20", "tariffs": [...]}`,
            `extends` relative to the current folder), or a `Scenario`.
        replicates: number of runs; default the scenario's `runs.replicates`.
        seed: master seed; default the scenario's `runs.seed`.
        workers: worker processes on this machine; default all cores, 1 runs here.
        fixed_parameters: every replicate uses the central parameter values.

    Raises `ScenarioError` (a `ValueError`, one line per problem) for an invalid scenario and
    `ValueError` for replicates, seed or workers out of range.

    Example:
        >>> run = sim.simulate("scenarios/us_tariff_15.yaml", replicates=50, seed=7)
        >>> run.annual.query("indicator == 'exports_usd'")[["year", "q10", "q50", "q90"]]
    """
    from sim.ensemble.execution import make_executor

    resolved = as_scenario(scenario)
    replicates, seed = run_settings(resolved, replicates, seed, workers)
    call = python_call("simulate", [resolved], replicates, seed, fixed_parameters)
    with workers_started(), make_executor(workers, None) as executor:
        return run_simulation(resolved, replicates, seed, fixed_parameters, executor, call)


@contextmanager
def workers_started() -> Iterator[None]:
    """Explain the one common way worker processes fail to start from Python."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        yield
    except BrokenProcessPool as error:
        raise RuntimeError(
            "the worker processes stopped: a script that runs with workers > 1 must call "
            "sim.simulate or sim.compare under `if __name__ == '__main__':`, as Python's "
            "multiprocessing requires (notebooks need nothing), or pass workers=1"
        ) from error


def run_simulation(
    scenario: Scenario,
    replicates: int,
    seed: int,
    fixed_parameters: bool,
    executor: Any,
    call: str,
) -> Simulation:
    """`simulate` with a given executor (`sim.ensemble.execution.make_executor`), which compare
    shares between its two runs; `call` is recorded as the manifest's command line."""
    from sim.ensemble.execution import (
        MemoryStore,
        inputs_table,
        monthly_chunks,
        period_months,
        run_replicates,
    )
    from sim.ensemble.results import run_manifest
    from sim.inputs.scenario_files import with_runs

    scenario = with_runs(scenario, replicates, seed)
    store = MemoryStore()
    started = time.time()
    parts = run_replicates(scenario, replicates, seed, fixed_parameters, executor, store)
    manifest = run_manifest(
        scenario,
        seed=seed,
        replicates=replicates,
        fixed_parameters=fixed_parameters,
        command_line=call,
        executor=executor.description,
        seconds=time.time() - started,
    )
    chunks = list(monthly_chunks(store, parts, period_months(scenario)))
    inputs = inputs_table(store, parts, seed)
    return Simulation(scenario, seed, replicates, chunks, inputs, manifest)


def python_call(
    function: str, scenarios: list[Scenario], replicates: int, seed: int, fixed: bool
) -> str:
    """How a run from Python is recorded in its manifest (where `run` records its command)."""
    names = ", ".join(f"<{scenario.name}>" for scenario in scenarios)
    fixed_text = ", fixed_parameters=True" if fixed else ""
    return f"sim.{function}({names}, replicates={replicates}, seed={seed}{fixed_text})"


def build_model(
    scenario: str | os.PathLike[str] | Mapping[str, Any] | Scenario,
    seed: int | None = None,
    replicate: int = 0,
    *,
    fixed_parameters: bool = False,
) -> ChangwonModel:
    """The Mesa model of one replicate of a scenario, before its first month, with the inputs
    that replicate draws: call `step()` for each month; `firm_agents()` gives the firms as Mesa
    agents (`dir(agent)` lists what each holds). Seed default: the scenario's `runs.seed`.

    Example:
        >>> model = sim.build_model("scenarios/baseline.yaml")
        >>> model.step()
        >>> firm = model.firm_agents()[0]; firm.sector_name, firm.employment
    """
    from sim.ensemble.replicate import build_model as build
    from sim.ensemble.replicate import drawn_inputs

    resolved = as_scenario(scenario)
    _, seed = run_settings(resolved, None, seed, None)
    drawn, params, _ = drawn_inputs(resolved, seed, replicate, fixed_parameters)
    return build(drawn, params, seed, replicate, fixed_drivers=fixed_parameters)
