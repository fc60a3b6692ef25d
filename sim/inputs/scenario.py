"""The typed scenario: the sections of a scenario file as frozen pydantic models, and
`Scenario`, which validates them together; and numbers set by parameter name or dotted path
(`apply_values`), for the draws of `uncertain` and for sensitivity analysis.

The models refuse unknown keys. The simulation reads their typed fields directly; months stay
`YYYY-MM` strings in the models (so the resolved YAML reads like the input) and are available as
month numbers (`sim.inputs.calendar`) through `*_month` properties.

Reading a file is `sim.inputs.scenario_files.load_scenario`; field types and distributions are in
`sim.inputs.scenario_fields`, error messages in `sim.inputs.scenario_errors` and
`sim.inputs.scenario_messages`. None of them imports numpy, scipy or pandas: `changwon-sim check`
has to stay quick.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sim.inputs.calendar import parse_month
from sim.inputs.names import PARTNERS, SECTORS
from sim.inputs.scenario_errors import ScenarioError, _error, _Problems, _show, _suggest
from sim.inputs.scenario_fields import (
    DEFAULT_QUANTILES,
    KRW_PER_USD_RANGE,
    MAX_KRW,
    MAX_PERIOD_MONTHS,
    MAX_REPLICATES,
    MAX_SEED,
    MAX_USD,
    Distribution,
    ExportPartner,
    Finite,
    ItemName,
    Month,
    Outlook,
    Partner,
    Prime,
    ScenarioName,
    Sector,
    Text,
    _check_end,
    _check_range,
    _Dated,
    _finite,
    _Model,
    _number,
    _number_or_path,
    _parameter_limits,
    _parameter_lows,
    _whole,
    parameter_names,
    path_value,
)
from sim.inputs.scenario_messages import _data_path, _message
from sim.inputs.validity import scenario_problems

# Sections of a scenario that are not model inputs, so `uncertain` cannot address them.
_NOT_INPUTS = ("name", "title", "description", "period", "runs", "outputs", "uncertain")
_PATH_FIELDS = ("macro.krw_per_usd", "macro.producer_price_growth")
_SKIP_SUPPORT_CHECK = "changwon_sim.skip_support_check"


# --- the sections of a scenario -------------------------------------------------------------------


class Period(_Model):
    """The months simulated, both inclusive."""

    start: Month = Field("2025-01", description="First simulated month, YYYY-MM.")
    end: Month = Field("2030-12", description="Last simulated month, YYYY-MM (inclusive).")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        _check_end(self.start, self.end)
        if self.months > MAX_PERIOD_MONTHS:
            problems = _Problems()
            problems.add(
                ("end",), f"the period may be at most {MAX_PERIOD_MONTHS // 12} years", self.end
            )
            problems.raise_if_any()
        return self

    @property
    def start_month(self) -> int:
        return parse_month(self.start)

    @property
    def end_month(self) -> int:
        return parse_month(self.end)

    @property
    def months(self) -> int:
        """Number of simulated months."""
        return self.end_month - self.start_month + 1


class Runs(_Model):
    """How many replicates to run and the master seed they are all derived from."""

    replicates: _whole(ge=1, le=MAX_REPLICATES) = Field(
        500, description=f"Number of replicates (Monte Carlo runs), 1..{MAX_REPLICATES}."
    )
    seed: _whole(ge=0, le=MAX_SEED) = Field(
        20240101,
        description="Master seed; every replicate's random stream is spawned from it. 0 is valid.",
    )


def _demand_growth(value: Any) -> Any:
    """Check partner names; each growth is a number or an outlook {mean, sd}."""
    if not isinstance(value, Mapping):
        return value  # pydantic reports the wrong type
    problems = _Problems()
    result: dict[str, float | Outlook] = {}
    for partner, growth in value.items():
        if partner not in PARTNERS:
            message = (
                "unknown partner; partners are " + ", ".join(PARTNERS) + _suggest(partner, PARTNERS)
            )
            problems.add((partner,), message)
            continue
        if growth is None:
            continue
        try:
            if isinstance(growth, Mapping):
                result[partner] = Outlook.model_validate(growth)
            else:
                result[partner] = _check_range(_finite(growth), gt=-1.0, lt=1.0)
        except PydanticCustomError as error:
            problems.add((partner,), error.message(), growth)
        except ValidationError as error:
            for detail in error.errors(include_url=False):
                problems.add((partner, *detail["loc"]), detail["msg"], growth)
    problems.raise_if_any()
    return result


_DRAWN = (
    " Left out, it is drawn in every replicate from the estimated driver model (the national "
    "histories to 2024, from their last observed state)."
)


class Macro(_Model):
    """The economic environment outside the complex: the national drivers. Whatever is not
    pinned here is drawn from the estimated driver model."""

    krw_per_usd: _number_or_path(ge=KRW_PER_USD_RANGE[0], le=KRW_PER_USD_RANGE[1]) = Field(
        None,
        description=(
            "Won per US dollar, 800..5000: a number, a path {YYYY-MM: value, ...} read linearly "
            "between its points and flat outside them, or an outlook for the annual average "
            "{mean: 1420, sd: 90}." + _DRAWN
        ),
    )
    producer_price_growth: _number_or_path(gt=-0.5, lt=1) = Field(
        None,
        description=(
            "Producer-price inflation per year (0.017 = 1.7%): a number, a path like "
            "krw_per_usd, or an outlook {mean, sd}; turns volumes into the nominal won the "
            "complex reports." + _DRAWN
        ),
    )
    demand_growth: Annotated[dict[Partner, float | Outlook], BeforeValidator(_demand_growth)] = (
        Field(
            default_factory=dict,
            description=(
                "Real demand growth per year by partner (domestic, US, EU, China, rest_of_world): "
                "a number between -1 and 1, or an outlook {mean, sd} such as a published forecast "
                "with its historical error. Partners left out are drawn from the driver model."
            ),
        )
    )

    def value_at(self, field_name: str, month: int) -> float:
        """`krw_per_usd` or `producer_price_growth` in `month` (a month number), when pinned
        by a number or a path."""
        if field_name not in ("krw_per_usd", "producer_price_growth"):
            raise KeyError(f"not a number-or-path field of macro: {field_name}")
        return path_value(getattr(self, field_name), month)


def _sectors(value: Any) -> Any:
    """`all`, or a non-empty list of distinct sector names."""
    if isinstance(value, str):
        if value == "all":
            return value
        hint = f"; write [{value}] for one sector" if value in SECTORS else _suggest(value, SECTORS)
        raise _error("must be 'all' or a list of sectors: " + ", ".join(SECTORS) + hint)
    if not isinstance(value, (list, tuple)):
        raise _error("must be 'all' or a list of sectors: " + ", ".join(SECTORS))
    if not value:
        raise _error("must not be empty; use 'all' for every sector")
    problems = _Problems()
    seen: set[Any] = set()
    for index, sector in enumerate(value):
        if not isinstance(sector, str) or sector not in SECTORS:
            message = (
                "unknown sector; sectors are " + ", ".join(SECTORS) + _suggest(sector, SECTORS)
            )
            problems.add((index,), message, sector)
        elif sector in seen:
            problems.add((index,), "sector listed twice", sector)
        seen.add(sector if isinstance(sector, str) else id(sector))
    problems.raise_if_any()
    return tuple(value)


class Tariff(_Dated):
    """One tariff measure on goods from the complex. Overlapping measures add up."""

    name: ItemName = Field(
        description="Name of the measure, unique in the file (used in `uncertain`)."
    )
    partner: ExportPartner = Field(
        description="Importing partner that levies it: US, EU, China or rest_of_world."
    )
    sectors: Annotated[Literal["all"] | tuple[Sector, ...], BeforeValidator(_sectors)] = Field(
        "all", description="Sectors it applies to: 'all' or a list of sector names."
    )
    rate: _number(ge=0, le=10) = Field(description="Ad valorem rate, 0.15 = 15%; 0 <= rate <= 10.")
    start: Month = Field(description="First month in force, YYYY-MM.")
    end: Month | None = Field(
        None, description="Last month in force (inclusive); absent = open-ended."
    )

    def covers(self, partner: str, sector: str) -> bool:
        return self.partner == partner and (self.sectors == "all" or sector in self.sectors)


class AIFactory(_Dated):
    """A subsidised AI-factory (smart-factory) adoption programme."""

    start: Month = Field(description="First month of the programme, YYYY-MM.")
    end: Month | None = Field(None, description="Last month (inclusive); absent = open-ended.")
    subsidised_firms_per_year: _number(ge=0, le=100_000) = Field(
        description="Programme slots: firms whose adoption is subsidised each year."
    )
    subsidy_share: _number(ge=0, le=1) = Field(
        description="Share of a firm's adoption cost the programme pays, 0..1."
    )


class Delivery(_Model):
    """When a contract is produced and delivered: evenly over `months` from `start`."""

    start: Month = Field(description="First delivery month, YYYY-MM; not before the signing.")
    months: _whole(ge=1, le=600) = Field(description="Number of months deliveries are spread over.")

    @property
    def start_month(self) -> int:
        return parse_month(self.start)


class Contract(_Model):
    """A named defence export contract of a prime contractor in the complex."""

    name: ItemName = Field(
        description="Name of the contract, unique in the file (used in `uncertain`)."
    )
    prime: Prime = Field(description="Anchor id of the prime contractor (a defence prime).")
    value_usd: _number(gt=0, le=MAX_USD) | None = Field(
        None, description="Contract value in US dollars; give this or value_krw."
    )
    value_krw: _number(gt=0, le=MAX_KRW) | None = Field(
        None, description="Contract value in won; give this or value_usd."
    )
    partner: ExportPartner = Field(
        description="Buyer's partner group: US, EU, China or rest_of_world."
    )
    signed: Month = Field(description="Month of signing, YYYY-MM.")
    delivery: Delivery = Field(description="Delivery schedule: {start: YYYY-MM, months: N}.")

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        problems = _Problems()
        if self.value_usd is not None and self.value_krw is not None:
            problems.add(("value_krw",), "give value_usd or value_krw, not both", self.value_krw)
        elif self.value_usd is None and self.value_krw is None:
            problems.add((), "needs its value: value_usd or value_krw")
        if self.delivery.start_month < parse_month(self.signed):
            problems.add(
                ("delivery", "start"),
                f"deliveries cannot start before signing ({self.signed})",
                self.delivery.start,
            )
        problems.raise_if_any()
        return self

    @property
    def signed_month(self) -> int:
        return parse_month(self.signed)


def _distinct_primes(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and len(set(map(repr, value))) < len(value):
        raise _error("lists a prime twice")
    return value


class Pipeline(_Dated):
    """Future orders not yet signed, drawn at random: a Poisson number of orders a year."""

    orders_per_year: _number(ge=0, le=1000) = Field(
        description="Expected number of new orders a year."
    )
    value_usd: Distribution = Field(
        description=(
            "Distribution of one order's value in US dollars, "
            "e.g. {dist: lognormal, median: 1.0e9, sigma: 0.8}."
        )
    )
    primes: Annotated[tuple[Prime, ...], BeforeValidator(_distinct_primes)] = Field(
        min_length=1,
        description="Anchor ids of the primes that can win an order (chosen at random).",
    )
    partner: ExportPartner = Field("rest_of_world", description="Buyers' partner group.")
    start: Month = Field(description="First month orders can arrive, YYYY-MM.")
    end: Month | None = Field(
        None, description="Last month orders can arrive (inclusive); absent = open-ended."
    )

    @field_validator("value_usd")
    @classmethod
    def _positive_values(cls, value: Any) -> Any:
        low, _ = value.support()
        _, high = value.bounds()
        if not low > 0:
            raise _error(f"order values must be positive, but draws reach {low:.4g}")
        if not high <= MAX_USD:
            raise _error(
                f"order values above {MAX_USD:g} USD are implausible (99.9% quantile {high:.4g})"
            )
        return value


class DefenceExports(_Model):
    """Defence export work for the complex's primes: signed contracts and a pipeline of new ones."""

    contracts: tuple[Contract, ...] = Field(
        (), description="Named contracts; each becomes a delivery schedule for its prime."
    )
    pipeline: Pipeline | None = Field(
        None, description="Future orders drawn at random; absent = none."
    )

    @field_validator("contracts")
    @classmethod
    def _unique_names(cls, contracts: tuple[Contract, ...]) -> tuple[Contract, ...]:
        _check_unique_names(contracts, "contract")
        return contracts


class ExportSupport(_Dated):
    """Export support: credit for exporters hit by tariffs and faster trade diversion."""

    start: Month = Field(description="First month, YYYY-MM.")
    end: Month | None = Field(None, description="Last month (inclusive); absent = open-ended.")
    credit_line_krw: _number(ge=0, le=MAX_KRW) = Field(
        description="Credit available to exporters, in won."
    )
    diversion_boost: _number(ge=0, le=100) = Field(
        description=(
            "Relative speed-up of re-routing lost US sales to other partners (0.5 = 50% faster)."
        )
    )


class Outputs(_Model):
    """What the results report."""

    quantiles: tuple[_number(gt=0, lt=1), ...] = Field(
        DEFAULT_QUANTILES,
        min_length=1,
        max_length=99,  # a column each in annual.csv, for every indicator and year
        description=(
            "Quantiles reported for every indicator, each in (0, 1), at most 99; sorted on reading."
        ),
    )

    @field_validator("quantiles")
    @classmethod
    def _sorted_distinct(cls, quantiles: tuple[float, ...]) -> tuple[float, ...]:
        if len(set(quantiles)) < len(quantiles):
            raise _error("lists a quantile twice")
        return tuple(sorted(quantiles))


def _check_unique_names(items: tuple[Any, ...], what: str) -> None:
    problems = _Problems()
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.name in first:
            problems.add(
                (index, "name"),
                f"duplicate {what} name; names must be unique (item {first[item.name]} has it too)",
                item.name,
            )
        first.setdefault(item.name, index)
    problems.raise_if_any()


class Scenario(_Model):
    """A scenario: the period, the environment, the policy measures and what is uncertain."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        title="changwon-sim scenario",
    )

    name: ScenarioName = Field(
        description="Required. Letters, digits, - and _; names the results folder."
    )
    title: Text = Field(None, description="Optional one-line title, used in figures and briefs.")
    description: Text = Field(None, description="Optional free text.")
    period: Period = Field(
        default_factory=Period, description="Months simulated, inclusive. Default 2025-01..2030-12."
    )
    runs: Runs = Field(
        default_factory=Runs,
        description="Replicates and master seed. Default 500 replicates, seed 20240101.",
    )
    macro: Macro = Field(
        default_factory=Macro, description="Exchange rate, prices and demand growth."
    )
    tariffs: tuple[Tariff, ...] = Field(
        (),
        description=(
            "Tariff measures. Where several cover the same partner, sector and month, "
            "their rates add."
        ),
    )
    ai_factory: AIFactory | None = Field(None, description="AI-factory programme; absent = none.")
    defence_exports: DefenceExports = Field(
        default_factory=DefenceExports, description="Defence export contracts and pipeline."
    )
    export_support: ExportSupport | None = Field(
        None, description="Export-support programme; absent = none."
    )
    parameters: dict[str, Finite] = Field(
        default_factory=dict,
        description=(
            "Point overrides of model parameters by name (`changwon-sim params` lists them); "
            "values must be finite, and >= 0 where the parameter's range starts at or above 0."
        ),
        json_schema_extra=lambda schema: schema.update(
            propertyNames={"enum": list(parameter_names())}
        ),
    )
    uncertain: dict[str, Distribution] = Field(
        default_factory=dict,
        description=(
            "Inputs drawn per replicate (and the factors of `sensitivity`): a parameter name, or "
            "a dotted path to a number of this scenario, with list items named, e.g. "
            "`tariffs.reciprocal.rate`, `macro.demand_growth.US`, "
            "`defence_exports.contracts.K9 Vietnam.value_usd`. Kept in alphabetical order."
        ),
    )
    outputs: Outputs = Field(
        default_factory=Outputs,
        description="What the results report: the quantiles of every indicator.",
    )

    @property
    def start_month(self) -> int:
        return self.period.start_month

    @property
    def end_month(self) -> int:
        return self.period.end_month

    @field_validator("tariffs")
    @classmethod
    def _unique_tariffs(cls, tariffs: tuple[Tariff, ...]) -> tuple[Tariff, ...]:
        _check_unique_names(tariffs, "tariff")
        return tariffs

    @field_validator("parameters")
    @classmethod
    def _known_parameters(cls, parameters: dict[str, float]) -> dict[str, float]:
        lows = _parameter_lows()
        limits = _parameter_limits()
        problems = _Problems()
        for name, value in parameters.items():
            if name not in lows:
                message = "unknown parameter (see `changwon-sim params`)" + _suggest(name, lows)
                problems.add((name,), message)
            elif not limits[name][0] <= value <= limits[name][1]:
                low, high = limits[name]
                message = (
                    f"must be between {_show(low)} and {_show(high)}, the values the model "
                    "can compute with"
                )
                problems.add((name,), message, value)
        problems.raise_if_any()
        return dict(sorted(parameters.items()))

    @field_validator("uncertain", mode="wrap")
    @classmethod
    def _known_paths(
        cls, uncertain: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> dict[str, Any]:
        # Keys are checked even when some distributions are invalid, so that all problems are
        # reported at once. Sections that failed their own validation are missing from
        # info.data; paths into them are checked once the section is fixed.
        problems = _Problems()
        if isinstance(uncertain, Mapping):
            data = {key: _plain(value) for key, value in info.data.items()}
            names: dict[int, dict[str, int]] = {}
            for path in uncertain:
                if not isinstance(path, str):
                    continue  # reported by pydantic as a key that is not text
                try:
                    _locate(data, path, partial=True, names=names)
                except _PathError as error:
                    problems.add((path,), str(error))
        try:
            result = handler(uncertain)
        except ValidationError as error:
            problems.extend(error)
        problems.raise_if_any()
        return dict(sorted(result.items()))

    @model_validator(mode="after")
    def _draws_are_valid(self, info: ValidationInfo) -> Scenario:
        """Every value an uncertain input can draw must be a valid value of its target."""
        if info.context and info.context.get(_SKIP_SUPPORT_CHECK):
            return self
        problems = _Problems()
        dumped = self.model_dump(mode="json")
        names: dict[int, dict[str, int]] = {}
        for path, distribution in self.uncertain.items():
            location = _locate(dumped, path, names=names)
            assert location is not None  # the paths were checked
            for extreme in distribution.support():
                # Only the value's own section (a list narrowed to its item) is validated again:
                # validating the whole file once per draw was quadratic in its size.
                data = _narrowed(dumped, location, extreme)
                try:
                    Scenario.model_validate(data, context={_SKIP_SUPPORT_CHECK: True})
                except ValidationError as error:
                    reason = _message(error.errors(include_url=False)[0], Scenario, got=False)
                    problems.add(
                        ("uncertain", path),
                        f"{distribution.dist} draws reach {extreme:.4g}, which {path} cannot "
                        f"take ({reason}); narrow the distribution or give it bounds",
                    )
                    break
        problems.raise_if_any()
        return self

    @model_validator(mode="after")
    def _jointly_valid(self, info: ValidationInfo) -> Scenario:
        """Inputs valid one by one can still be impossible together: `sim.inputs.validity`."""
        if info.context and info.context.get(_SKIP_SUPPORT_CHECK):
            return self  # a replicate's draws: the whole scenario has been checked
        problems = _Problems()
        for where, message in scenario_problems(self):
            problems.add(where, message)
        problems.raise_if_any()
        return self


# --- dotted paths to numbers ----------------------------------------------------------------------


class _PathError(ValueError):
    pass


def _plain(value: Any) -> Any:
    """Models and tuples as the plain dicts and lists of `model_dump(mode='json')`."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _item_names(items: list[Any], cache: dict[int, dict[str, int]] | None) -> dict[str, int]:
    """Name -> index of the first item with that name (`cache` keeps it per list, by id)."""
    if cache is not None and id(items) in cache:
        return cache[id(items)]
    index_of: dict[str, int] = {}
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str):
            index_of.setdefault(name, index)
    if cache is not None:
        cache[id(items)] = index_of
    return index_of


def _locate(
    data: dict[str, Any],
    path: Any,
    partial: bool = False,
    names: dict[int, dict[str, int]] | None = None,
) -> tuple[Any, ...] | None:
    """The location (keys and list indices) in dumped scenario data of a parameter or dotted path.

    Raises `_PathError` saying what is wrong. With `partial`, sections missing from `data` (because
    they failed validation) are not errors: the result is None. `names` caches the item names
    of the lists in `data` across calls on the same, unchanged data.
    """
    if not isinstance(path, str) or not path:
        raise _PathError("must be a parameter name or a dotted path to a number")
    if "." not in path:
        if path in _parameter_lows():
            return ("parameters", path)
        if path in Scenario.model_fields:
            raise _PathError(f"'{path}' is a section; give the path to a number in it")
        raise _PathError(
            "neither a parameter name nor a dotted path" + _suggest(path, _parameter_lows())
        )
    head, _, rest = path.partition(".")
    if head == "parameters":
        raise _PathError(f"write the parameter name alone: {rest}")
    if head in _NOT_INPUTS:
        raise _PathError(f"'{head}' is not a model input and cannot be uncertain")
    if head not in Scenario.model_fields:
        inputs = [name for name in Scenario.model_fields if name not in _NOT_INPUTS]
        raise _PathError(f"unknown section '{head}'" + _suggest(head, inputs))
    if head not in data:
        if partial:
            return None
        raise _PathError(f"'{head}' is missing")
    location: list[Any] = [head]
    shown = head
    node = data[head]
    while rest:
        if node is None:
            raise _PathError(f"{shown} is not set in this scenario")
        if isinstance(node, dict):
            key, _, rest = rest.partition(".")
            if key not in node:
                raise _PathError(f"{shown} has no '{key}'" + _suggest(key, map(str, node)))
            location.append(key)
            node = node[key]
            shown = f"{shown}.{key}"
        elif isinstance(node, list):
            index_of = _item_names(node, names)
            # The longest item name that `rest` starts with (names may hold dots): a look-up
            # per dot, not a scan of the list, so files with thousands of items stay quick.
            ends = [k for k in range(len(rest), 0, -1) if k == len(rest) or rest[k] == "."]
            name = next((rest[:k] for k in ends if rest[:k] in index_of), None)
            if name is None:
                listed = ", ".join(list(map(str, index_of))[:10]) or "none"
                more = ", ..." if len(index_of) > 10 else ""
                raise _PathError(f"{shown} has no item named like '{rest}' (names: {listed}{more})")
            location.append(index_of[name])
            node = node[index_of[name]]
            shown = f"{shown}.{name}"
            if rest == name:
                raise _PathError(f"give the number of {shown} to vary, e.g. {shown}.rate")
            rest = rest[len(name) + 1 :]
        else:
            raise _PathError(f"{shown} is a single value; it has no part '{rest}'")
    in_outlook = path.rsplit(".", 1)[-1] in ("mean", "sd")
    if (any(path.startswith(field + ".") for field in _PATH_FIELDS) and not in_outlook) or (
        path in _PATH_FIELDS and isinstance(node, dict)
    ):
        raise _PathError("only a single number can be uncertain, and this is a path by month")
    if node is None:
        if head == "macro":
            raise _PathError(
                f"{shown} is drawn from the driver model here; give it a number or an "
                "outlook {mean, sd} to make it uncertain this way"
            )
        raise _PathError(f"{shown} is not set in this scenario")
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise _PathError(f"{shown} is not a number")
    return tuple(location)


def differing_inputs(base: Scenario, other: Scenario) -> list[str]:
    """The inputs of `other` that differ from `base`, as dotted paths (`uncertain.X` where the
    distribution of input X differs or exists in only one of them). `compare` couples every
    input by name, so an input listed here still moves with the same uniform in both."""
    skip = {"name", "title", "description", "runs", "outputs"}
    left, right = base.model_dump(mode="json"), other.model_dump(mode="json")
    found: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict) and path.count(".") < 2:
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
        elif a != b:
            found.append(path)

    for key in sorted(set(left) | set(right)):
        if key not in skip:
            walk(left.get(key), right.get(key), key)
    return found


def apply_values(scenario: Scenario, values: Mapping[str, float]) -> Scenario:
    """A new validated scenario with numbers set by parameter name or dotted path.

    Parameters go into `scenario.parameters`; whole-number fields (delivery months) are rounded.
    Used per replicate for the draws of `uncertain` and by sensitivity analysis. Raises
    `ScenarioError` (lines `path: message (got X)`) if a path is unknown or a value invalid.
    """
    data = _with_values(scenario, values)
    try:
        return Scenario.model_validate(data, context={_SKIP_SUPPORT_CHECK: True})
    except ValidationError as error:
        lines = []
        for detail in error.errors(include_url=False):
            _, shown = _data_path(detail, data)
            lines.append(f"{shown}: {_message(detail, Scenario)}")
        raise ScenarioError(lines) from None


def _with_values(scenario: Scenario, values: Mapping[str, float]) -> dict[str, Any]:
    """The scenario's data with `values` set; raises `ScenarioError` for unknown paths."""
    data = scenario.model_dump(mode="json")
    problems: list[str] = []
    names: dict[int, dict[str, int]] = {}  # values are set below, names are not changed
    for path, value in values.items():
        try:
            location = _locate(data, path, names=names)
        except _PathError as error:
            problems.append(f"{path}: {error}")
            continue
        assert location is not None
        _set_number(data, location, value)
    if problems:
        raise ScenarioError(problems)
    return data


def _set_number(data: Any, location: tuple[Any, ...], value: float) -> None:
    """Set the number at `location`; whole-number fields (delivery months) are rounded."""
    *parents, last = location
    container = data
    for key in parents:
        container = container[key]
    old = container.get(last) if isinstance(container, dict) else container[last]
    number = value
    if isinstance(old, int) and not isinstance(old, bool) and isinstance(value, numbers.Real):
        if math.isfinite(value):
            number = round(value)
    container[last] = number


def _narrowed(data: dict[str, Any], location: tuple[Any, ...], value: float) -> dict[str, Any]:
    """The name, the period and the one section of `data` that holds `location`, with lists on
    the way narrowed to the item it is in, and `value` set there: enough to validate that value
    (sections are validated on their own; only the joint rules, skipped here, look across)."""
    path: list[Any] = []

    def narrow(node: Any, keys: tuple[Any, ...]) -> Any:
        # New containers along the path only; everything beside it is shared, not copied.
        if not keys:
            return node  # replaced by `_set_number` below, which needs the old value's type
        key, *rest = keys
        if isinstance(node, list):
            path.append(0)
            return [narrow(node[key], tuple(rest))]
        path.append(key)
        copied = dict(node)
        copied[key] = narrow(node.get(key), tuple(rest))  # a parameter may not be set yet
        return copied

    section = location[0]
    narrowed = {"name": data["name"], "period": data["period"]}
    narrowed.update(narrow({section: data[section]}, location))
    _set_number(narrowed, tuple(path), value)  # rounds whole-number fields
    return narrowed
