"""The page's runs as a Mesa model: replicates of the baseline and of the policy the sliders set,
paired (replicate r of both uses the same seeds and draws: common random numbers), a few more at
each `step`, so that the charts fill in as they arrive.

Replicates run in the thread that steps the model (`run_replicate`, the library's one entry
point), a chunk of `CHUNK` at a time: a slider moved mid-run is taken up within one replicate,
and the work for the old setting is dropped. The baseline does not depend on the sliders, so its
replicates are kept (`BaselineCache`) and a new setting costs only its own runs. Statistics are
read from a `Snapshot`, a consistent copy taken under the model's lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import mesa
import numpy as np

from sim.ensemble.replicate import run_replicate
from sim.explore.policy import PolicyInputs, policy_scenario
from sim.inputs.scenario import Scenario
from sim.model.indicators import COLUMN, annual_from_monthly

#: Replicates per step: small, so that the charts move often and a change is taken up at once.
CHUNK = 2
#: Set when the server stops: steps end at once, so no thread outlives the page.
STOPPING = threading.Event()


@dataclass(frozen=True)
class PageSettings:
    """What every session of the page starts from: the baseline, replicates per setting, seed."""

    baseline: Scenario
    replicates: int
    seed: int


_settings: PageSettings | None = None


def configure(settings: PageSettings) -> None:
    """Set what new models (and so new sessions of the page) start from."""
    global _settings
    _settings = settings


def current_settings() -> PageSettings:
    if _settings is None:
        from sim.inputs.paths import SCENARIOS_DIR
        from sim.inputs.scenario_files import load_scenario

        baseline = load_scenario(SCENARIOS_DIR / "baseline.yaml")
        configure(PageSettings(baseline, replicates=60, seed=baseline.runs.seed))
    assert _settings is not None
    return _settings


class BaselineCache:
    """Annual values of the baseline's replicates, by (scenario hash, seed, replicate): shared
    by every session, since they do not depend on the sliders."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.lock = threading.Lock()

    def get(self, scenario: Scenario, key: str, seed: int, replicate: int):
        with self.lock:
            found = self.values.get((key, seed, replicate))
        if found is None:
            found = annual_replicate(scenario, seed, replicate)
            with self.lock:
                self.values[(key, seed, replicate)] = found
        return found


BASELINE = BaselineCache()


def annual_replicate(
    scenario: Scenario, seed: int, replicate: int
) -> tuple[np.ndarray, np.ndarray]:
    """(years, annual indicators: years x indicators) of one replicate."""
    result = run_replicate(scenario, seed, replicate)
    return annual_from_monthly(result.indicators, result.months)


@dataclass(frozen=True)
class Snapshot:
    """The replicates finished so far for one setting, paired: arrays replicates x years x
    indicators, in replicate order."""

    inputs: PolicyInputs
    title: str
    years: np.ndarray
    months: np.ndarray  # of each year inside the period
    baseline: np.ndarray
    policy: np.ndarray
    target: int

    @property
    def done(self) -> int:
        return len(self.policy)

    def values(self, indicator: str, which: str) -> np.ndarray:
        """replicates x years of one indicator, `which` "baseline" or "policy"."""
        return getattr(self, which)[:, :, COLUMN[indicator]]

    def percent_effect(self, indicator: str) -> np.ndarray:
        """replicates x years: the policy's paired effect in percent of the baseline."""
        base = self.values(indicator, "baseline")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(base != 0, 100.0 * (self.values(indicator, "policy") - base) / base, 0)


class EnsembleModel(mesa.Model):
    """Replicates of the baseline and of the policy set on the page, paired; each `step` runs
    the next `CHUNK` of them. `running` turns false once `replicates` of them are done."""

    def __init__(self, inputs: PolicyInputs | None = None, replicates: int | None = None) -> None:
        super().__init__()
        settings = current_settings()
        self.baseline = settings.baseline  # not `scenario`: SolaraViz reads that name as its own
        self.seed = settings.seed
        self.replicates = replicates or settings.replicates
        from sim.inputs.scenario_files import scenario_hash

        self.baseline_key = scenario_hash(self.baseline)
        period = range(self.baseline.period.start_month, self.baseline.period.end_month + 1)
        self.months_in_year = Counter(month // 12 for month in period)
        self.lock = threading.Lock()
        self.stepping = threading.Lock()  # see `step_while_unclaimed`
        self.generation = 0
        self.set_inputs(inputs or PolicyInputs())

    def set_inputs(self, inputs: PolicyInputs) -> None:
        """Start over with new inputs (raises `ScenarioError` if they make an invalid scenario,
        leaving the current ones); replicates of the old inputs still running are dropped."""
        policy = policy_scenario(self.baseline, inputs)
        with self.lock:
            self.inputs, self.policy = inputs, policy
            self.generation += 1
            self.finished: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
            self.next_replicate = 0
            self.running = True

    def step_while_unclaimed(self, generation: int, after_step=None) -> None:
        """Step while replicates of inputs `generation` are left for a step to take, calling
        `after_step()` after each. Not while `running`: once every replicate is taken, another
        task may still be finishing the last ones, and stepping until it does would spin. One
        task steps at a time: Mesa's step advances the model's clock, which is not thread-safe
        (two tasks stepping at once sent it round hundreds of thousands of times)."""
        while not STOPPING.is_set():
            with self.stepping:
                with self.lock:
                    if self.generation != generation or self.next_replicate >= self.replicates:
                        return
                self.step()
            if after_step is not None:
                after_step()

    def step(self) -> None:
        with self.lock:
            generation, policy = self.generation, self.policy
            claimed = range(self.next_replicate, min(self.next_replicate + CHUNK, self.replicates))
            self.next_replicate = claimed.stop
        for replicate in claimed:
            if generation != self.generation or STOPPING.is_set():
                return  # the inputs changed (this work is for the old ones), or the page stops
            years, base = BASELINE.get(self.baseline, self.baseline_key, self.seed, replicate)
            _, alternative = annual_replicate(policy, self.seed, replicate)
            with self.lock:
                if generation != self.generation:
                    return
                self.finished[replicate] = (years, base, alternative)
                self.running = len(self.finished) < self.replicates

    def snapshot(self) -> Snapshot:
        with self.lock:
            order = sorted(self.finished)
            rows = [self.finished[r] for r in order]
            inputs, title, target = self.inputs, self.policy.title or "", self.replicates
        if not rows:
            empty = np.zeros((0, 0, len(COLUMN)))
            none = np.zeros(0, dtype=int)
            return Snapshot(inputs, title, none, none, empty, empty, target)
        years = rows[0][0]
        months = np.array([self.months_in_year.get(int(year), 0) for year in years])
        baseline = np.stack([row[1] for row in rows])
        policy = np.stack([row[2] for row in rows])
        return Snapshot(inputs, title, years, months, baseline, policy, target)
