"""The library entry point: one function from a scenario, a seed and a replicate to indicators.

Randomness: replicate r of master seed S uses `SeedSequence(S, spawn_key=(r,))` — the r-th child
that `SeedSequence(S).spawn` would give — so a replicate's numbers do not depend on how many
replicates, workers or chunks there are. Within a replicate, separate streams serve the population,
the months and the national drivers; every parameter and every `uncertain` input has its own
uniform number keyed by its name (`input_uniform`). So two scenarios run with the same seed share
their populations, shocks, drivers and draws, and an input whose distribution differs between them
still moves with the same uniform (common random numbers, coupled by name).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from sim.inputs.calendar import format_month
from sim.inputs.parameters import PARAMETER_NAMES, Parameters, central_parameters, draw_parameters
from sim.model.changwon_model import ChangwonModel
from sim.model.defence import Deliveries, base_year_defence, book_deliveries, load_order_book
from sim.model.drivers import N_NORMALS, DriverModel, DriverParameters, estimate
from sim.model.drivers import load_driver_history as driver_history
from sim.model.environment import build_environment
from sim.model.indicators import COLUMN, INDICATOR_NAMES
from sim.model.macro_paths import (
    MacroPaths,
    draw_annual,
    macro_paths,
    pinned_levels,
    scenario_pins,
    second_half_momentum,
)
from sim.model.population import synthesise

STREAM_POPULATION, STREAM_MONTHS, STREAM_DRIVERS = 1, 2, 5
BASE_YEAR = 2024  # the last observed year: forecasts start from it


class ModelStateError(RuntimeError):
    """A NaN or infinity appeared in the model's indicators."""


@dataclass(frozen=True, slots=True)
class ReplicateResult:
    replicate: int
    months: np.ndarray  # (T,) month numbers
    indicators: np.ndarray  # (T, indicators)
    ledger: np.ndarray  # (T, ledger entries), see sim.model.changwon_model.LEDGER
    parameters: Parameters
    #: Every input drawn for this replicate, flat: each model parameter by name, each drawn
    #: `uncertain` scenario value by its dotted path, the driver model's parameters and the
    #: drivers' annual growths (a row of inputs.csv).
    inputs: dict[str, float]


def stream(seed: int, replicate: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replicate, *key)))


def input_uniform(seed: int, replicate: int, name: str) -> float:
    """The uniform number of the input `name` in replicate `replicate` of seed `seed`: the same
    in every scenario, whatever else the scenario draws."""
    digest = hashlib.blake2b(f"{seed}/{replicate}/{name}".encode(), digest_size=8).digest()
    return ((int.from_bytes(digest, "little") >> 11) + 0.5) / 2.0**53


def replicate_inputs(scenario, seed: int, replicate: int, fixed_parameters: bool = False):
    """The scenario and parameters replicate `replicate` runs with: parameters drawn from their
    ranges and the calibration posterior (or central), the scenario's `uncertain` entries drawn at
    their inputs' uniforms, then its point overrides applied.
    """
    scenario, params, _ = drawn_inputs(scenario, seed, replicate, fixed_parameters)
    return scenario, params


def drawn_inputs(scenario, seed: int, replicate: int, fixed_parameters: bool = False):
    """`replicate_inputs`, and the flat record of what was drawn (see `ReplicateResult.inputs`)."""
    from sim.inputs.scenario import apply_values

    def uniform(name: str) -> float:
        return input_uniform(seed, replicate, name)

    own = {k: d.ppf for k, d in scenario.uncertain.items() if k in PARAMETER_NAMES}
    if fixed_parameters:
        params = central_parameters().replace(**{k: ppf(uniform(k)) for k, ppf in own.items()})
    else:
        params = draw_parameters(uniform, own=own)
    params = params.replace(**scenario.parameters)
    paths = {
        key: dist.ppf(uniform(key))
        for key, dist in scenario.uncertain.items()
        if key not in PARAMETER_NAMES
    }
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


@cache
def driver_model(through: int = BASE_YEAR) -> DriverModel:
    """The driver model estimated on the national histories up to `through`."""
    return estimate(driver_history(through))


def replicate_drivers(
    seed: int, replicate: int, years: int, fixed: bool = False, through: int = BASE_YEAR
) -> tuple[DriverParameters, np.ndarray]:
    """The replicate's draw of the driver model's parameters and its innovations for `years`
    years (central parameters with `fixed`). Innovations for more years extend, never change,
    those for fewer."""
    model = driver_model(through)
    children = np.random.SeedSequence(seed, spawn_key=(replicate, STREAM_DRIVERS)).spawn(2)
    params_rng, normals_rng = (np.random.default_rng(child) for child in children)
    params = model.central_parameters() if fixed else model.draw_parameters(params_rng)
    return params, normals_rng.standard_normal((max(years, 0), N_NORMALS))


def forecast_macro(
    scenario, seed: int, replicate: int, fixed: bool = False, through: int = BASE_YEAR
) -> tuple[MacroPaths, DriverParameters]:
    """The national drivers of a forecast replicate: drawn from the driver model after `through`,
    pinned where the scenario pins them."""
    from sim.inputs.scenario_fields import path_value

    months = np.arange(scenario.period.start_month, scenario.period.end_month + 1)
    years = int(months[-1]) // 12 - through
    model = driver_model(through)
    params, normals = replicate_drivers(seed, replicate, years, fixed, through)
    outlooks, fixed_pins = scenario_pins(scenario.macro, model, params, normals)
    drawn = draw_annual(model, params, normals, outlooks) if years > 0 else None
    pinned = pinned_levels(fixed_pins, months, through, path_value)
    macro = macro_paths(months, through, model.history, drawn, pinned)
    return macro, params


def build_model(
    scenario,
    params: Parameters,
    seed: int,
    replicate: int,
    firms: int | None = None,
    fixed_drivers: bool = False,
    driver_draw: int | None = None,
) -> ChangwonModel:
    """The model of one forecast replicate, ready to step (`firms` scales the population, for
    tests): a 2024 population, the order book known at the start of 2025, the national drivers
    from their estimated model, and the complex's momentum of the second half of 2024.

    The drivers are the replicate's own draw, or with `driver_draw` that of another replicate
    number (sensitivity analysis makes the drivers one factor this way)."""
    book = order_book(params.defence_in_complex_share)
    population = base_population(params, seed, replicate, firms).copy()
    drivers_of = replicate if driver_draw is None else driver_draw
    macro, drivers = forecast_macro(scenario, seed, drivers_of, fixed_drivers)
    environment = build_environment(
        scenario,
        params,
        population.anchor_ids,
        macro,
        book,
        second_half_momentum(BASE_YEAR),
        population.scale,
    )
    model = ChangwonModel(population, environment, params, month_seeds(seed, replicate), replicate)
    model.driver_parameters = drivers  # for the record of the replicate's inputs
    return model


@lru_cache(maxsize=1)
def base_population(params: Parameters, seed: int, replicate: int, firms: int | None):
    """The replicate's 2024 population, synthesised from its own stream; the firms' defence work
    is that of the order book known at the start of 2025.

    It depends on nothing in the scenario, so a replicate run twice (with and without its
    AI-factory programme, or a scenario and its baseline at one design point) synthesises it
    once: the last one is kept, and each model steps its own copy (`build_model`)."""
    defence = base_year_defence(
        order_book(params.defence_in_complex_share),
        len(_anchor_ids()),
        BASE_YEAR,
        driver_model().history.levels["krw_per_usd"][BASE_YEAR],
        params.defence_build_months,
        params.defence_in_complex_share,
    )
    return synthesise(params, stream(seed, replicate, STREAM_POPULATION), firms, defence=defence)


@lru_cache(maxsize=1)
def order_book(in_complex_share: float) -> tuple[Deliveries, ...]:
    """The order book known at the start of 2025 as deliveries (`book_deliveries`), given the
    share of contracts made in the complex: made once for a replicate's population and models."""
    return tuple(book_deliveries(load_order_book(), _anchor_ids(), in_complex_share))


def _anchor_ids() -> tuple[str, ...]:
    from sim.inputs.names import anchor_ids

    return anchor_ids()


def run_replicate(
    scenario, seed: int, replicate: int, fixed_parameters: bool = False
) -> ReplicateResult:
    """Simulate one replicate of the scenario over its period.

    With an AI-factory programme, the same replicate is also run without it (the same draws:
    common random numbers), and `programme_additional_adopters` is the difference in adopters:
    what the programme adds over the firms that would have adopted anyway."""
    scenario_r, params, inputs = drawn_inputs(scenario, seed, replicate, fixed_parameters)
    model = simulate(scenario_r, params, seed, replicate, fixed_parameters)
    if scenario_r.ai_factory is not None:
        without = simulate(
            scenario_r.model_copy(update={"ai_factory": None}),
            params,
            seed,
            replicate,
            fixed_parameters,
        )
        column = COLUMN["programme_additional_adopters"]
        adopters = COLUMN["adopters"]
        model.indicators[:, column] = (
            model.indicators[:, adopters] - without.indicators[:, adopters]
        )
    inputs.update(driver_inputs(model.driver_parameters, model.env.macro_growth))
    return ReplicateResult(
        replicate=replicate,
        months=model.env.months.copy(),
        indicators=model.indicators,
        ledger=model.ledger,
        parameters=params,
        inputs=inputs,
    )


def simulate(scenario, params: Parameters, seed: int, replicate: int, fixed: bool = False):
    model = build_model(scenario, params, seed, replicate, fixed_drivers=fixed)
    for k in range(len(model.env.months)):
        model.step()
        check_finite(model.indicators[k], replicate, int(model.env.months[k]))
    return model


def driver_inputs(params: DriverParameters, growth) -> dict[str, float]:
    """The driver model's parameters drawn for a replicate, and the annual growths its drivers
    took in the forecast years (log growth of annual averages)."""
    from sim.model.drivers import EQUATIONS

    out = {}
    for i, name in enumerate(EQUATIONS):
        out[f"driver.{name}.mean"] = float(params.mean[i])
        out[f"driver.{name}.persistence"] = float(params.phi[i])
        out[f"driver.{name}.sd"] = float(params.sigma[i])
    out["driver.partner_deviation_sd"] = float(params.s_d)
    for name, by_year in growth.items():
        for year, value in by_year.items():
            if year > BASE_YEAR:
                out[f"growth.{name}.{year}"] = float(value)
    return out


def check_finite(row: np.ndarray, replicate: int, month: int) -> None:
    """Stop at the first NaN or infinity, naming where it appeared."""
    if np.isfinite(row).all():
        return
    column = int(np.flatnonzero(~np.isfinite(row))[0])
    raise ModelStateError(
        f"replicate {replicate}, month {format_month(month)}: "
        f"{INDICATOR_NAMES[column]} is not finite ({row[column]})"
    )
