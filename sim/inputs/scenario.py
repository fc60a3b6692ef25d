"""Scenario files: the typed, validated description of one forecast run (DESIGN §5).

A scenario is one YAML file. `load_scenario` reads it safely (`sim.inputs.safe_yaml`), resolves
`extends`, fills in every default and validates everything at once; any problem raises
`ScenarioError`, whose lines read `FILE:LINE: path.to.key: what is wrong (got X)`, one per problem,
pointing at the file and line that set the offending value.

The models are frozen pydantic models that refuse unknown keys. The simulation reads their typed
fields directly; months stay `YYYY-MM` strings in the models (so the resolved YAML reads like the
input) and are available as month numbers (`sim.inputs.calendar`) through `*_month` properties.

`extends` rules: the parent file (a path relative to the extending file) is resolved first; then
the extending file is laid over it: mappings merge key by key, lists and single values replace, and
a key set to `null` removes the inherited value (so its default applies). `name`, `title` and
`description` are not inherited: they describe the file that sets them, and a copy of the parent's
name would send results into the parent's folder.

This module must stay cheap to import (`changwon-sim check` has a 1.5 s budget): no numpy, scipy or
pandas here. Parameter names are read from `calibration/parameters.yaml` directly.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import json
import math
import numbers
import os
import re
import types
import typing
from bisect import bisect_right
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Any, ClassVar, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from sim.inputs import safe_yaml
from sim.inputs.calendar import format_month, parse_month
from sim.inputs.names import EXPORT_PARTNERS, PARTNERS, SECTORS, defence_primes
from sim.inputs.paths import CALIBRATION_DIR

__all__ = [
    "AIFactory",
    "Contract",
    "DefenceExports",
    "Delivery",
    "Distribution",
    "ExportSupport",
    "Lognormal",
    "Macro",
    "Normal",
    "Outputs",
    "Period",
    "Pipeline",
    "Runs",
    "Scenario",
    "ScenarioError",
    "Tariff",
    "Triangular",
    "Uniform",
    "apply_values",
    "load_scenario",
    "parameter_names",
    "path_value",
    "resolved_yaml",
    "scenario_hash",
    "scenario_json_schema",
]

# --- limits and defaults --------------------------------------------------------------------------

MIN_YEAR, MAX_YEAR = 1900, 2200
MAX_PERIOD_MONTHS = 1200  # 100 years
MAX_REPLICATES = 100_000
MAX_SEED = 2**63 - 1  # seeds are stored in int64 columns
MAX_EXTENDS_DEPTH = 20
MAX_USD = 1e13  # ten trillion dollars: far above any contract; guards against overflow downstream
MAX_KRW = 1e16
DEFAULT_KRW_PER_USD = 1364.4  # 2024 annual average (FACTS §3, Bank of Korea ECOS)
DEFAULT_PRODUCER_PRICE_GROWTH = 0.017  # 2024 PPI change, unverified (FACTS §3)
DEFAULT_DEMAND_GROWTH: dict[str, float] = {
    "domestic": 0.015,
    "US": 0.02,
    "EU": 0.01,
    "China": 0.0,
    "rest_of_world": 0.02,
}
DEFAULT_QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)

# `ppf` of a distribution without finite bounds clips u to [U_CLIP, 1 - U_CLIP], so every draw is
# finite; the extreme draws are then about 7 standard deviations from the centre.
U_CLIP = 1e-12

# Sections of a scenario that are not model inputs, so `uncertain` cannot address them.
_NOT_INPUTS = ("name", "title", "description", "period", "runs", "outputs", "uncertain")
_PATH_FIELDS = ("macro.krw_per_usd", "macro.producer_price_growth")
_NOT_INHERITED = ("name", "title", "description")
_SKIP_SUPPORT_CHECK = "changwon_sim.skip_support_check"
_MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


class _Nothing:
    """Marks a custom error that has no meaningful input to show as `(got X)`."""

    def __repr__(self) -> str:
        return "<nothing>"


_NOTHING = _Nothing()


@cache
def _registry() -> dict[str, dict[str, Any]]:
    """`calibration/parameters.yaml` as read by YAML.

    Read here rather than through `sim.inputs.parameters`, which imports numpy (slow for `check`).
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = (CALIBRATION_DIR / "parameters.yaml").read_text(encoding="utf-8")
    return {str(name): entry for name, entry in yaml.load(text, Loader=loader).items()}


@cache
def _parameter_lows() -> dict[str, float]:
    """Registry name -> lower end of its range."""
    return {name: float(entry["low"]) for name, entry in _registry().items()}


@cache
def _parameter_limits() -> dict[str, tuple[float, float] | None]:
    """Registry name -> `valid: [min, max]`, the values the model can compute with, if given.

    The range [low, high] is the prior of the parameter; `valid` is wider: what a scenario may
    set under `parameters` or draw under `uncertain` without the model failing.
    """
    limits: dict[str, tuple[float, float] | None] = {}
    for name, entry in _registry().items():
        valid = entry.get("valid")
        limits[name] = None if valid is None else (float(valid[0]), float(valid[1]))
    return limits


def parameter_names() -> tuple[str, ...]:
    """Names a scenario may use under `parameters` and `uncertain` (the registry's keys)."""
    return tuple(_parameter_lows())


# --- errors ---------------------------------------------------------------------------------------


class ScenarioError(ValueError):
    """Invalid scenario input: one line per problem, `FILE:LINE: path.to.key: message (got X)`."""

    def __init__(self, messages: list[str] | tuple[str, ...]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))

    def __str__(self) -> str:
        return "\n".join(self.messages)


def _error(message: str) -> PydanticCustomError:
    # The message goes in as a context value so braces in it are never read as placeholders.
    return PydanticCustomError("scenario", "{message}", {"message": message})


class _Problems:
    """Collects several problems found by one validator, each at its own location."""

    def __init__(self) -> None:
        self.errors: list[InitErrorDetails] = []

    def add(self, loc: tuple[Any, ...], message: str, value: Any = _NOTHING) -> None:
        self.errors.append(InitErrorDetails(type=_error(message), loc=tuple(loc), input=value))

    def extend(self, error: ValidationError) -> None:
        """Add the errors of a nested validation (locations relative to the same place)."""
        for detail in error.errors(include_url=False):
            context = detail.get("ctx")
            if detail["type"] == "scenario":
                kind: Any = _error(str(context["message"]))
                context = None
            else:
                kind = detail["type"]
            item = InitErrorDetails(type=kind, loc=tuple(detail["loc"]), input=detail["input"])
            if context:
                item["ctx"] = context
            self.errors.append(item)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError.from_exception_data("Scenario", self.errors)


def _suggest(word: Any, options: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


# --- scalar types ---------------------------------------------------------------------------------


def _finite(value: Any) -> float:
    """A real number (not a bool, not text), finite."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                pass
            else:
                raise _error("must be a number, not text (remove the quotes)")
        raise _error("must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise _error("number is too large") from None
    if not math.isfinite(number):
        raise _error("must be a finite number, not NaN or infinity")
    return number


def _integer(value: Any) -> int:
    """A whole number; 1e3 (read as a float) is accepted as 1000."""
    if isinstance(value, bool):
        raise _error("must be a whole number")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise _error("must be a whole number")


def _month(value: Any) -> str:
    """A month `YYYY-MM`, returned in canonical form."""
    if isinstance(value, datetime.date):
        raise _error("a month is written YYYY-MM, without the day")
    if not isinstance(value, str):
        raise _error("must be a month written YYYY-MM, e.g. 2025-08")
    try:
        month = parse_month(value)
    except ValueError:
        raise _error("must be a month written YYYY-MM, e.g. 2025-08") from None
    if not MIN_YEAR <= month // 12 <= MAX_YEAR:
        raise _error(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return format_month(month)


def _scenario_name(value: Any) -> str:
    if not isinstance(value, str):
        raise _error("must be text")
    if not _NAME_PATTERN.match(value) or len(value) > 100:
        raise _error(
            "may use only letters, digits, - and _ (at most 100; it names the results folder)"
        )
    return value


def _item_name(value: Any) -> str:
    if not isinstance(value, str):
        raise _error("must be text")
    if not value.strip() or value != value.strip() or "\n" in value or len(value) > 100:
        raise _error("must be one line of 1-100 characters without spaces at either end")
    return value


def _text(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise _error("must be text")
    return value


def _number(**bounds: float) -> Any:
    """The type of a finite float with pydantic range constraints (shown in the JSON Schema)."""
    return Annotated[float, Field(**bounds), BeforeValidator(_finite)]


def _whole(**bounds: int) -> Any:
    return Annotated[int, Field(**bounds), BeforeValidator(_integer)]


Month = Annotated[
    str,
    BeforeValidator(_month),
    WithJsonSchema({"type": "string", "pattern": _MONTH_PATTERN, "examples": ["2025-08"]}),
]
ScenarioName = Annotated[
    str,
    BeforeValidator(_scenario_name),
    WithJsonSchema({"type": "string", "pattern": _NAME_PATTERN.pattern, "maxLength": 100}),
]
ItemName = Annotated[
    str,
    BeforeValidator(_item_name),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 100}),
]
Text = Annotated[str | None, BeforeValidator(_text)]
Finite = Annotated[float, BeforeValidator(_finite)]
Sector = Literal[SECTORS]  # type: ignore[valid-type]
Partner = Literal[PARTNERS]  # type: ignore[valid-type]
ExportPartner = Literal[EXPORT_PARTNERS]  # type: ignore[valid-type]
Prime = Literal[defence_primes()]  # type: ignore[valid-type]


def _check_range(
    number: float,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> float:
    if gt is not None and not number > gt:
        raise _error(f"must be > {_show(gt)}")
    if ge is not None and not number >= ge:
        raise _error(f"must be >= {_show(ge)}")
    if lt is not None and not number < lt:
        raise _error(f"must be < {_show(lt)}")
    if le is not None and not number <= le:
        raise _error(f"must be <= {_show(le)}")
    return number


def _number_or_path(**bounds: float) -> Any:
    """The type of a macro input: one number for the whole period, or a path by month.

    A path `{2025-01: 1420, 2027-01: 1350}` is read by `path_value`: linear between its points and
    flat before the first and after the last.
    """

    def check(value: Any) -> float | dict[str, float]:
        if isinstance(value, Mapping):
            if not value:
                raise _error("a path needs at least one `YYYY-MM: value` point")
            problems = _Problems()
            points: dict[str, float] = {}
            for key, item in value.items():
                try:
                    month = _month(key)
                except PydanticCustomError as error:
                    problems.add((key,), error.message(), key)
                    continue
                try:
                    points[month] = _check_range(_finite(item), **bounds)
                except PydanticCustomError as error:
                    problems.add((key,), error.message(), item)
            problems.raise_if_any()
            return dict(sorted(points.items()))
        if isinstance(value, (list, tuple)):
            raise _error("must be a number or a path of `YYYY-MM: value` points, not a list")
        return _check_range(_finite(value), **bounds)

    number_schema: dict[str, Any] = {"type": "number"}
    names = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}
    number_schema.update({names[key]: limit for key, limit in bounds.items()})
    schema = {
        "anyOf": [
            number_schema,
            {
                "type": "object",
                "propertyNames": {"pattern": _MONTH_PATTERN},
                "additionalProperties": number_schema,
                "minProperties": 1,
            },
        ]
    }
    return Annotated[float | dict[str, float], BeforeValidator(check), WithJsonSchema(schema)]


def path_value(value: float | Mapping[str, float], month: int) -> float:
    """The value of a number-or-path input in `month` (a `sim.inputs.calendar` month number).

    A number is constant. A path `{YYYY-MM: value}` is linear between its points and flat before
    the first and after the last.
    """
    if isinstance(value, numbers.Real):
        return float(value)
    points = sorted((parse_month(key), float(item)) for key, item in value.items())
    months = [point[0] for point in points]
    if month <= months[0]:
        return points[0][1]
    if month >= months[-1]:
        return points[-1][1]
    right = bisect_right(months, month)
    (m0, v0), (m1, v1) = points[right - 1], points[right]
    return v0 + (v1 - v0) * (month - m0) / (m1 - m0)


# --- base model -----------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _check_end(start: str, end: str | None, end_key: str = "end") -> None:
    if end is not None and parse_month(end) < parse_month(start):
        problems = _Problems()
        problems.add((end_key,), f"must not be before start ({start})", end)
        problems.raise_if_any()


class _Dated(_Model):
    """Mixin for measures in force from `start` to `end` (inclusive; no end = to the end)."""

    @property
    def start_month(self) -> int:
        return parse_month(self.start)  # type: ignore[attr-defined]

    @property
    def end_month(self) -> int | None:
        """Last month in force, or None when the measure runs to the end of the period."""
        end = self.end  # type: ignore[attr-defined]
        return None if end is None else parse_month(end)

    def in_force(self, month: int) -> bool:
        end = self.end_month
        return self.start_month <= month and (end is None or month <= end)

    @model_validator(mode="after")
    def _end_after_start(self) -> Any:
        _check_end(self.start, self.end)  # type: ignore[attr-defined]
        return self


# --- distributions --------------------------------------------------------------------------------


def _check_u(u: float) -> float:
    if not 0.0 <= u <= 1.0:  # also false for NaN
        raise ValueError(f"u must lie in [0, 1] (got {u})")
    return float(u)


class _Distribution(_Model):
    """Common interface: `ppf(u)` maps a uniform draw to a value; `bounds()` is a finite range."""

    def ppf(self, u: float) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        """A finite range for sensitivity analysis: the support, or the 0.1%-99.9% quantiles."""
        return self.ppf(0.001), self.ppf(0.999)

    def support(self) -> tuple[float, float]:
        """The smallest and largest values `ppf` can return."""
        return self.ppf(0.0), self.ppf(1.0)


class Uniform(_Distribution):
    """Every value between `low` and `high` equally likely."""

    dist: Literal["uniform"] = Field(description="Distribution family: uniform.")
    low: Finite = Field(description="Lower end of the range.")
    high: Finite = Field(description="Upper end of the range; must be above `low`.")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        problems = _Problems()
        if not self.low < self.high:
            problems.add(("high",), f"must be above low ({_show(self.low)})", self.high)
        elif not math.isfinite(self.high - self.low):
            problems.add(("high",), "the range is too wide to compute with", self.high)
        problems.raise_if_any()
        return self

    def ppf(self, u: float) -> float:
        return self.low + _check_u(u) * (self.high - self.low)

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high


class Triangular(_Distribution):
    """Triangular on [low, high] with its peak at `mode`."""

    dist: Literal["triangular"] = Field(description="Distribution family: triangular.")
    low: Finite = Field(description="Lower end of the range.")
    mode: Finite = Field(description="Most likely value, between low and high.")
    high: Finite = Field(description="Upper end of the range; must be above `low`.")

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        problems = _Problems()
        if not self.low < self.high:
            problems.add(("high",), f"must be above low ({_show(self.low)})", self.high)
        elif not math.isfinite(self.high - self.low):
            problems.add(("high",), "the range is too wide to compute with", self.high)
        elif not self.low <= self.mode <= self.high:
            problems.add(
                ("mode",),
                f"must lie between low and high ({_show(self.low)}..{_show(self.high)})",
                self.mode,
            )
        problems.raise_if_any()
        return self

    def ppf(self, u: float) -> float:
        u = _check_u(u)
        width = self.high - self.low
        if u * width < self.mode - self.low:
            return self.low + math.sqrt(u * width * (self.mode - self.low))
        return self.high - math.sqrt((1.0 - u) * width * (self.high - self.mode))

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high


class Normal(_Distribution):
    """Normal with mean and standard deviation, optionally truncated to [low, high]."""

    dist: Literal["normal"] = Field(description="Distribution family: normal.")
    mean: Finite = Field(description="Mean (before truncation).")
    sd: _number(gt=0) = Field(description="Standard deviation (before truncation), > 0.")
    low: Finite | None = Field(None, description="Optional lower bound (truncation).")
    high: Finite | None = Field(None, description="Optional upper bound (truncation).")

    @model_validator(mode="after")
    def _valid_bounds(self) -> Normal:
        problems = _Problems()
        if self.low is not None and self.high is not None and not self.low < self.high:
            problems.add(("high",), f"must be above low ({_show(self.low)})", self.high)
        elif self._mass() < 1e-9:
            key = "low" if self.low is not None else "high"
            problems.add(
                (key,), "the bounds leave almost no probability; move them nearer the mean"
            )
        elif not all(math.isfinite(value) for value in self.support()):
            problems.add(("sd",), "too large: the extreme draws overflow", self.sd)
        problems.raise_if_any()
        return self

    def _cdf_range(self) -> tuple[float, float]:
        normal = NormalDist(self.mean, self.sd)
        lower = 0.0 if self.low is None else normal.cdf(self.low)
        upper = 1.0 if self.high is None else normal.cdf(self.high)
        return lower, upper

    def _mass(self) -> float:
        lower, upper = self._cdf_range()
        return upper - lower

    def ppf(self, u: float) -> float:
        u = _check_u(u)
        if u == 0.0 and self.low is not None:
            return self.low
        if u == 1.0 and self.high is not None:
            return self.high
        lower, upper = self._cdf_range()
        p = lower + u * (upper - lower)
        # Unbounded sides are clipped so that every draw is finite.
        p = min(
            max(p, U_CLIP if self.low is None else lower),
            1.0 - U_CLIP if self.high is None else upper,
        )
        if 0.0 < p < 1.0:
            value = NormalDist(self.mean, self.sd).inv_cdf(p)
        else:  # only reachable at a finite bound
            value = self.low if p <= 0.0 else self.high  # type: ignore[assignment]
        if self.low is not None:
            value = max(value, self.low)
        if self.high is not None:
            value = min(value, self.high)
        return value

    def bounds(self) -> tuple[float, float]:
        low = self.low if self.low is not None else self.ppf(0.001)
        high = self.high if self.high is not None else self.ppf(0.999)
        return low, high


class Lognormal(_Distribution):
    """Log-normal: log(value) is normal with mean log(median) and standard deviation sigma."""

    dist: Literal["lognormal"] = Field(description="Distribution family: lognormal.")
    median: _number(gt=0) = Field(description="Median, > 0.")
    sigma: _number(gt=0, le=10) = Field(
        description="Standard deviation of log(value), 0 < sigma <= 10."
    )

    @model_validator(mode="after")
    def _finite_tail(self) -> Lognormal:
        if not math.isfinite(self.ppf(1.0)):
            problems = _Problems()
            problems.add(("median",), "too large: the highest draws overflow", self.median)
            problems.raise_if_any()
        return self

    def ppf(self, u: float) -> float:
        u = min(max(_check_u(u), U_CLIP), 1.0 - U_CLIP)
        z = NormalDist().inv_cdf(u)
        return self.median * math.exp(self.sigma * z)


Distribution = Annotated[
    Uniform | Triangular | Normal | Lognormal,
    Field(discriminator="dist"),
]
_DISTRIBUTIONS = (Uniform, Triangular, Normal, Lognormal)
_TAGS = frozenset(("uniform", "triangular", "normal", "lognormal"))


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
    """Fill in the partners not given with their defaults; check names and ranges."""
    if not isinstance(value, Mapping):
        return value  # pydantic reports the wrong type
    problems = _Problems()
    result = dict(DEFAULT_DEMAND_GROWTH)
    for partner, growth in value.items():
        if partner not in PARTNERS:
            message = (
                "unknown partner; partners are " + ", ".join(PARTNERS) + _suggest(partner, PARTNERS)
            )
            problems.add((partner,), message)
            continue
        try:
            result[partner] = _check_range(_finite(growth), gt=-1.0, lt=1.0)
        except PydanticCustomError as error:
            problems.add((partner,), error.message(), growth)
    problems.raise_if_any()
    return result


class Macro(_Model):
    """The economic environment outside the complex."""

    krw_per_usd: _number_or_path(gt=0, le=100_000) = Field(
        DEFAULT_KRW_PER_USD,
        description=(
            "Won per US dollar: a number, or a path {YYYY-MM: value, ...} read linearly between "
            "its points and flat outside them. Default 1364.4, the 2024 average (Bank of Korea)."
        ),
    )
    producer_price_growth: _number_or_path(gt=-0.5, lt=1) = Field(
        DEFAULT_PRODUCER_PRICE_GROWTH,
        description=(
            "Producer-price inflation per year (0.017 = 1.7%), a number or a path like "
            "krw_per_usd; turns volumes into the nominal won the complex reports. Default 0.017."
        ),
    )
    demand_growth: Annotated[dict[Partner, float], BeforeValidator(_demand_growth)] = Field(
        default_factory=lambda: dict(DEFAULT_DEMAND_GROWTH),
        description=(
            "Real demand growth per year by partner (domestic, US, EU, China, rest_of_world), "
            "each between -1 and 1; partners left out keep their defaults "
            "(domestic 0.015, US 0.02, EU 0.01, China 0.0, rest_of_world 0.02)."
        ),
    )

    def value_at(self, field_name: str, month: int) -> float:
        """`krw_per_usd` or `producer_price_growth` in `month` (a month number)."""
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
        description="Quantiles reported for every indicator, each in (0, 1); sorted on reading.",
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
            elif limits[name] is not None and not limits[name][0] <= value <= limits[name][1]:
                low, high = limits[name]
                message = (
                    f"must be between {_show(low)} and {_show(high)}, the values the model "
                    "can compute with"
                )
                problems.add((name,), message, value)
            elif lows[name] >= 0 and value < 0:
                problems.add((name,), "must be >= 0", value)
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
            for path in uncertain:
                if not isinstance(path, str):
                    continue  # reported by pydantic as a key that is not text
                try:
                    _locate(data, path, partial=True)
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
        for path, distribution in self.uncertain.items():
            for extreme in distribution.support():
                data = _with_values(self, {path: extreme})
                try:
                    Scenario.model_validate(data, context={_SKIP_SUPPORT_CHECK: True})
                except ValidationError as error:
                    reason = _message(error.errors(include_url=False)[0], got=False)
                    problems.add(
                        ("uncertain", path),
                        f"{distribution.dist} draws reach {extreme:.4g}, which {path} cannot "
                        f"take ({reason}); narrow the distribution or give it bounds",
                    )
                    break
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


def _locate(data: dict[str, Any], path: Any, partial: bool = False) -> tuple[Any, ...] | None:
    """The location (keys and list indices) in dumped scenario data of a parameter or dotted path.

    Raises `_PathError` saying what is wrong. With `partial`, sections missing from `data` (because
    they failed validation) are not errors: the result is None.
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
            names = [item.get("name") for item in node if isinstance(item, dict)]
            matches = [
                name
                for name in names
                if isinstance(name, str) and (rest == name or rest.startswith(name + "."))
            ]
            if not matches:
                listed = ", ".join(str(name) for name in names) or "none"
                raise _PathError(f"{shown} has no item named like '{rest}' (names: {listed})")
            name = max(matches, key=len)
            location.append(names.index(name))
            node = node[names.index(name)]
            shown = f"{shown}.{name}"
            if rest == name:
                raise _PathError(f"give the number of {shown} to vary, e.g. {shown}.rate")
            rest = rest[len(name) + 1 :]
        else:
            raise _PathError(f"{shown} is a single value; it has no part '{rest}'")
    if any(path.startswith(field + ".") for field in _PATH_FIELDS) or (
        path in _PATH_FIELDS and isinstance(node, dict)
    ):
        raise _PathError("only a single number can be uncertain, and this is a path by month")
    if node is None:
        raise _PathError(f"{shown} is not set in this scenario")
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise _PathError(f"{shown} is not a number")
    return tuple(location)


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
            lines.append(f"{shown}: {_message(detail)}")
        raise ScenarioError(lines) from None


def _with_values(scenario: Scenario, values: Mapping[str, float]) -> dict[str, Any]:
    """The scenario's data with `values` set; raises `ScenarioError` for unknown paths."""
    data = scenario.model_dump(mode="json")
    problems: list[str] = []
    for path, value in values.items():
        try:
            location = _locate(data, path)
        except _PathError as error:
            problems.append(f"{path}: {error}")
            continue
        assert location is not None
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
    if problems:
        raise ScenarioError(problems)
    return data


# --- loading files --------------------------------------------------------------------------------

Where = dict[tuple[Any, ...], tuple[str, int]]  # path -> (file, line)


def load_scenario(path: str | Path) -> Scenario:
    """Read, resolve (`extends`) and validate a scenario file.

    Raises `ScenarioError` listing every problem, one line each:
    `FILE:LINE: path.to.key: what is wrong (got X)`.
    """
    label = str(path)
    try:
        chain = (Path(label).resolve(),)
    except (OSError, ValueError):
        raise ScenarioError([f"{label}:1: not a usable file name"]) from None
    data, where = _load_tree(label, chain)
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        extended = "extends" in _top_keys(label)
        raise ScenarioError(_report(error, data, where, label, extended)) from None


def _top_keys(label: str) -> set[Any]:
    """The top-level keys of a file that has already loaded without YAML errors."""
    data = safe_yaml.load_file(label).data
    return set(data) if isinstance(data, dict) else set()


def _load_tree(label: str, chain: tuple[Path, ...]) -> tuple[dict[str, Any], Where]:
    """A file's raw data with its `extends` ancestors merged in, and where each value was set."""
    try:
        located = safe_yaml.load_file(label)
    except safe_yaml.YamlError as error:
        raise ScenarioError([str(error)]) from None
    data = located.data
    where: Where = {path: (label, line) for path, line in located.lines.items()}
    if data is None:
        raise ScenarioError([f"{label}:1: the file is empty; a scenario needs at least a name"])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({_show(data)})"
        raise ScenarioError(
            [
                f"{label}:{located.lines[()]}: a scenario must be a mapping of keys "
                f"(key: value), not {kind}"
            ]
        )
    if "extends" not in data:
        return data, where
    parent_ref = data.pop("extends")
    at = f"{label}:{located.lines[('extends',)]}: extends"
    where = {path: place for path, place in where.items() if path[:1] != ("extends",)}
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise ScenarioError(
            [f"{at}: must be a file name, relative to this file (got {_show(parent_ref)})"]
        )
    if os.path.splitext(parent_ref)[1].lower() not in (".yaml", ".yml"):
        # Only scenario files: a message must never quote lines of some other file.
        raise ScenarioError(
            [f"{at}: must name a scenario file ending in .yaml or .yml (got {_show(parent_ref)})"]
        )
    parent_label = os.path.normpath(os.path.join(os.path.dirname(label), parent_ref))
    try:
        parent_path = Path(parent_label).resolve()
        found = parent_path.is_file()
    except (OSError, ValueError):  # e.g. a NUL character or a name too long for the system
        raise ScenarioError([f"{at}: not a usable file name (got {_show(parent_ref)})"]) from None
    if parent_path in chain:
        cycle = " -> ".join([*(item.name for item in chain), parent_path.name])
        raise ScenarioError([f"{at}: files extend each other in a cycle ({cycle})"])
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise ScenarioError([f"{at}: more than {MAX_EXTENDS_DEPTH} files extend each other"])
    if not found:
        raise ScenarioError([f"{at}: file not found: {parent_label}"])
    parent, parent_where = _load_tree(parent_label, (*chain, parent_path))
    for key in _NOT_INHERITED:
        parent.pop(key, None)
    return _merge(parent, parent_where, data, where)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if value is None and key in merged:
            del merged[key]  # null removes the inherited value: its default applies
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge(
    base: dict[str, Any], base_where: Where, over: dict[str, Any], over_where: Where
) -> tuple[dict[str, Any], Where]:
    """Lay `over` on `base`; every value keeps the file and line that set it."""
    merged = _deep_merge(base, over)
    where: Where = {}

    def visit(value: Any, path: tuple[Any, ...]) -> None:
        place = over_where.get(path) or base_where.get(path)
        if place is not None:
            where[path] = place
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, (*path, index))

    visit(merged, ())
    where[()] = over_where[()]
    return merged, where


# --- error messages -------------------------------------------------------------------------------


def _report(
    error: ValidationError, data: dict[str, Any], where: Where, label: str, extended: bool
) -> list[str]:
    located = []
    for detail in error.errors(include_url=False):
        path, shown = _data_path(detail, data)
        file, line = safe_yaml.nearest_line(where, path) if where else (label, 1)
        message = _message(detail)
        if detail["type"] == "missing" and detail["loc"] == ("name",) and extended:
            message += " (names are not inherited through extends)"
        located.append((file != label, file, line, f"{file}:{line}: {shown}: {message}"))
    # Group by file, the scenario's own file first, then in line order; drop repeats.
    located.sort(key=lambda item: item[:3])
    return list(dict.fromkeys(item[3] for item in located))


def _data_path(detail: Mapping[str, Any], data: Any) -> tuple[tuple[Any, ...], str]:
    """The path in the data that an error's loc points to, and how to show it.

    A pydantic loc also contains union members (a distribution's `dist`, type labels); those are
    skipped by following the loc through the data itself.
    """
    loc = tuple(detail["loc"])
    if detail["type"] == "union_tag_invalid" and isinstance(detail.get("input"), dict):
        loc = (*loc, "dist")
    node = data
    path: list[Any] = []
    shown = ""
    for position, segment in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, dict) and _hashable(segment) and segment in node:
            path.append(segment)
            key = segment if isinstance(segment, str) else _show(segment)
            shown = f"{shown}.{key}" if shown else key
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            path.append(segment)
            item = node[segment]
            name = item.get("name") if isinstance(item, dict) else None
            names = [other.get("name") for other in node if isinstance(other, dict)]
            if isinstance(name, str) and names.count(name) == 1 and "." not in name:
                shown = f"{shown}.{name}"
            else:
                shown = f"{shown}[{segment}]"
            node = item
        elif (
            last
            and isinstance(node, dict)
            and isinstance(segment, str)
            and segment not in _TAGS
            and segment != "[key]"
        ):
            shown = f"{shown}.{segment}" if shown else segment  # a missing key
    return tuple(path), shown or "(top level)"


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


_BOUND_WORDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}
_NO_GOT = {"missing", "extra_forbidden", "union_tag_not_found", "union_tag_invalid"}


def _message(detail: Mapping[str, Any], got: bool = True) -> str:
    """A plain-language message for a pydantic error, ending with `(got X)` where useful."""
    kind = detail["type"]
    context = detail.get("ctx") or {}
    value = detail.get("input", _NOTHING)
    loc = tuple(detail["loc"])
    if kind == "scenario":
        message = str(context.get("message", detail["msg"]))
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "extra_forbidden":
        expected = _expected_keys(loc[:-1])
        message = "unknown key" + _suggest(loc[-1], expected)
        if expected and not message.endswith("?"):
            message += " (known keys: " + ", ".join(expected) + ")"
    elif kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        message = "must be one of: " + ", ".join(options) + _suggest(value, options)
    elif kind == "union_tag_invalid":
        options = re.findall(r"'([^']*)'", str(context.get("expected_tags", "")))
        tag = context.get("tag")
        message = f"must be one of: {', '.join(options)}{_suggest(tag, options)} (got {tag})"
    elif kind == "union_tag_not_found" or (
        kind == "model_attributes_type" and _is_distribution(loc)
    ):
        message = (
            "must be a distribution with a `dist` key, e.g. {dist: uniform, low: 1.5, high: 2.5}; "
            "dist is one of uniform, triangular, normal, lognormal"
        )
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "must be a mapping of keys (key: value)"
    elif kind in ("tuple_type", "list_type"):
        message = "must be a list"
    elif kind == "string_type":
        message = "must be text"
    elif kind in _BOUND_WORDS:
        key, sign = _BOUND_WORDS[kind]
        message = f"must be {sign} {_show(context.get(key))}"
    elif kind == "too_short":
        minimum = context.get("min_length", 1)
        message = "must not be empty" if minimum == 1 else f"needs at least {minimum} items"
    elif kind == "too_long":
        message = f"may have at most {context.get('max_length')} items"
    else:
        text = str(detail["msg"])
        message = text[:1].lower() + text[1:]
    if got and kind not in _NO_GOT and not isinstance(value, _Nothing):
        message += f" (got {_show(value)})"
    return message


def _types_at(loc: tuple[Any, ...]) -> list[Any]:
    """The declared types at a pydantic loc, starting from `Scenario`."""
    current: list[Any] = [Scenario]
    for segment in loc:
        following = [result for kind in current for result in _step(kind, segment)]
        if following:
            current = following  # otherwise a label of a union member: the position is unchanged
    return current


def _step(kind: Any, segment: Any) -> list[Any]:
    while typing.get_origin(kind) is Annotated:
        kind = typing.get_args(kind)[0]
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        return [result for member in typing.get_args(kind) for result in _step(member, segment)]
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        if segment in kind.model_fields:
            return [kind.model_fields[segment].annotation]
        if kind in _DISTRIBUTIONS and segment == kind.model_fields["dist"].annotation.__args__[0]:
            return [kind]
        return []
    if origin in (tuple, list) and isinstance(segment, int):
        return [typing.get_args(kind)[0]]
    if origin is dict:
        return [typing.get_args(kind)[1]]
    return []


def _models(kind: Any) -> list[type[BaseModel]]:
    while typing.get_origin(kind) is Annotated:
        kind = typing.get_args(kind)[0]
    if typing.get_origin(kind) in (Union, types.UnionType):
        return [model for member in typing.get_args(kind) for model in _models(member)]
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return [kind]
    return []


def _expected_keys(loc: tuple[Any, ...]) -> list[str]:
    keys: list[str] = ["extends"] if not loc else []
    for model in (model for kind in _types_at(loc) for model in _models(kind)):
        keys.extend(name for name in model.model_fields if name not in keys)
    return keys


def _is_distribution(loc: tuple[Any, ...]) -> bool:
    models = [model for kind in _types_at(loc) for model in _models(kind)]
    return bool(models) and all(model in _DISTRIBUTIONS for model in models)


def _show(value: Any) -> str:
    """A value as the user would write it in YAML, cut short if long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value) if math.isfinite(value) else str(value)
        return text[:-2] if text.endswith(".0") and "e" not in text else text
    if isinstance(value, (int, str)):
        text = str(value)
        if isinstance(value, str) and (
            not value or value != value.strip() or not value.isprintable()
        ):
            text = repr(value)
    elif isinstance(value, datetime.date):
        text = value.isoformat()
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --- output ---------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors or aliases, multi-line text as a `|` block.

    Text is quoted by the loader's rules (which read `1e9` as a number), so it reads back as text.
    """

    yaml_implicit_resolvers: ClassVar[dict[str, list[Any]]] = safe_yaml.implicit_resolvers()

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if any(char in text for char in "\r\x85\u2028\u2029"):
        style: str | None = '"'  # other line breaks: only double quotes keep them exactly
    elif "\n" in text:
        style = "|"  # the emitter falls back to quotes where a block cannot hold the text
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def resolved_yaml(scenario: Scenario) -> str:
    """The scenario after `extends` and defaults, as YAML text that loads back to an equal scenario.

    Deterministic: equal scenarios give the same text (dict keys are kept in canonical order).
    """
    data = scenario.model_dump(mode="json")
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (hex) of `resolved_yaml(scenario)`."""
    return hashlib.sha256(resolved_yaml(scenario).encode("utf-8")).hexdigest()


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editor completion and `changwon-sim schema`."""
    schema = Scenario.model_json_schema()
    properties = schema.setdefault("properties", {})
    extends = {
        "type": "string",
        "title": "Extends",
        "description": (
            "Optional. A scenario file, relative to this one, whose keys this file overrides: "
            "mappings merge key by key, lists and values replace, null removes an inherited "
            "value. name, title and description are not inherited."
        ),
    }
    schema["properties"] = {"name": properties.pop("name"), "extends": extends, **properties}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "changwon-sim scenario",
        **{key: item for key, item in schema.items() if key != "title"},
    }
