"""The library entry point: one function from a scenario, a seed and a replicate to indicators.

Randomness: replicate r of master seed S uses `SeedSequence(S, spawn_key=(r,))` — the r-th child
that `SeedSequence(S).spawn` would give — so a replicate's numbers do not depend on how many
replicates, workers or chunks there are. Within a replicate, separate streams serve the parameter
draw, the population, the months, and each `uncertain` input (keyed by its name), so two scenarios
run with the same seed share their parameter draws, populations and uncertain draws (common random
numbers).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from sim.inputs.calendar import format_month
from sim.inputs.parameters import PARAMETER_NAMES, Parameters, central_parameters, draw_parameters
from sim.model.changwon_model import ChangwonModel
from sim.model.environment import build_environment
from sim.model.indicators import INDICATOR_NAMES
from sim.model.population import synthesise

STREAM_PARAMETERS, STREAM_POPULATION, STREAM_MONTHS, STREAM_UNCERTAIN = range(4)


class ModelStateError(RuntimeError):
    """A NaN or infinity appeared in the model's indicators."""


@dataclass(frozen=True, slots=True)
class ReplicateResult:
    replicate: int
    months: np.ndarray  # (T,) month numbers
    indicators: np.ndarray  # (T, indicators)
    ledger: np.ndarray  # (T, ledger entries), see sim.model.changwon_model.LEDGER
    parameters: Parameters
    #: Every input drawn for this replicate, flat: each model parameter by name and each drawn
    #: `uncertain` scenario value by its dotted path (a row of inputs.csv).
    inputs: dict[str, float]


def stream(seed: int, replicate: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replicate, *key)))


def replicate_inputs(scenario, seed: int, replicate: int, fixed_parameters: bool = False):
    """The scenario and parameters replicate `replicate` runs with: parameters drawn from their
    ranges (or central), the scenario's point overrides applied, then its `uncertain` inputs drawn.
    """
    scenario, params, _ = drawn_inputs(scenario, seed, replicate, fixed_parameters)
    return scenario, params


def drawn_inputs(scenario, seed: int, replicate: int, fixed_parameters: bool = False):
    """`replicate_inputs`, and the flat record of what was drawn (see `ReplicateResult.inputs`)."""
    from sim.inputs.scenario import apply_values

    params = (
        central_parameters()
        if fixed_parameters
        else draw_parameters(stream(seed, replicate, STREAM_PARAMETERS))
    )
    params = params.replace(**scenario.parameters)
    drawn = {
        key: dist.ppf(float(stream(seed, replicate, STREAM_UNCERTAIN, key_id(key)).random()))
        for key, dist in scenario.uncertain.items()
    }
    params = params.replace(**{k: v for k, v in drawn.items() if k in PARAMETER_NAMES})
    paths = {k: v for k, v in drawn.items() if k not in PARAMETER_NAMES}
    if paths:
        scenario = apply_values(scenario, paths)
    inputs = {name: float(value) for name, value in params.as_dict().items()}
    inputs.update({path: float(value) for path, value in paths.items()})
    return scenario, params, inputs


def month_seeds(seed: int, replicate: int) -> np.random.SeedSequence:
    """Parent of the replicate's month generators (`sim.model.draws.month_generator`)."""
    return np.random.SeedSequence(seed, spawn_key=(replicate, STREAM_MONTHS))


def key_id(key: str) -> int:
    return zlib.crc32(key.encode("utf-8"))


def build_model(
    scenario, params: Parameters, seed: int, replicate: int, firms: int | None = None
) -> ChangwonModel:
    """The model of one replicate, ready to step (`firms` scales the population, for tests)."""
    population = synthesise(params, stream(seed, replicate, STREAM_POPULATION), firms)
    environment = build_environment(scenario, params, population.anchor_ids)
    return ChangwonModel(population, environment, params, month_seeds(seed, replicate), replicate)


def run_replicate(
    scenario, seed: int, replicate: int, fixed_parameters: bool = False
) -> ReplicateResult:
    """Simulate one replicate of the scenario over its period."""
    scenario_r, params, inputs = drawn_inputs(scenario, seed, replicate, fixed_parameters)
    model = build_model(scenario_r, params, seed, replicate)
    for k in range(len(model.env.months)):
        model.step()
        check_finite(model.indicators[k], replicate, int(model.env.months[k]))
    return ReplicateResult(
        replicate=replicate,
        months=model.env.months.copy(),
        indicators=model.indicators,
        ledger=model.ledger,
        parameters=params,
        inputs=inputs,
    )


def check_finite(row: np.ndarray, replicate: int, month: int) -> None:
    """Stop at the first NaN or infinity, naming where it appeared."""
    if np.isfinite(row).all():
        return
    column = int(np.flatnonzero(~np.isfinite(row))[0])
    raise ModelStateError(
        f"replicate {replicate}, month {format_month(month)}: "
        f"{INDICATOR_NAMES[column]} is not finite ({row[column]})"
    )
