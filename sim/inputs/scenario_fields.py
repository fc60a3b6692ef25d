"""The building blocks of the typed scenario: limits and defaults, the parameter names a scenario
may use, field types that check a value and say what is wrong (finite and whole numbers, months,
names, a number or a path by month), the base models, and the distributions of `uncertain`.

Parameter names are read from `calibration/parameters.yaml` directly, not through
`sim.inputs.parameters`, which imports numpy (slow for `changwon-sim check`).
"""

from __future__ import annotations

import datetime
import math
import numbers
import re
from bisect import bisect_right
from collections.abc import Mapping
from functools import cache
from statistics import NormalDist
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from sim.inputs.calendar import format_month, parse_month
from sim.inputs.names import EXPORT_PARTNERS, PARTNERS, SECTORS, defence_primes
from sim.inputs.paths import CALIBRATION_DIR
from sim.inputs.safe_yaml import read_data_file
from sim.inputs.scenario_errors import _error, _Problems, _show

# --- limits and defaults --------------------------------------------------------------------------

MIN_YEAR, MAX_YEAR = 1900, 2200
MAX_PERIOD_MONTHS = 600  # 50 years: longer periods compound entries and growth past any sense
#: Won per dollar a scenario may assume: 1.7 times stronger to 3.7 times weaker than in 2024
#: (1364.4); the won's record since 1990 is about 700 to 2,000 (Bank of Korea). Much stronger,
#: exporters' won prices (sticky in dollars) fall below their input costs and the complex's value
#: added turns negative.
KRW_PER_USD_RANGE = (800.0, 5000.0)
MAX_REPLICATES = 100_000
MAX_SEED = 2**63 - 1  # seeds are stored in int64 columns
MAX_USD = 1e13  # ten trillion dollars: far above any contract; guards against overflow downstream
MAX_KRW = 1e16
DEFAULT_QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)

# `ppf` of a distribution without finite bounds clips u to [U_CLIP, 1 - U_CLIP], so every draw is
# finite; the extreme draws are then about 7 standard deviations from the centre.
U_CLIP = 1e-12
_MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


@cache
def _registry() -> dict[str, dict[str, Any]]:
    """`calibration/parameters.yaml` as read by YAML.

    Read here rather than through `sim.inputs.parameters`, which imports numpy (slow for `check`).
    """
    raw = read_data_file(CALIBRATION_DIR / "parameters.yaml")
    return {str(name): entry for name, entry in raw.items()}


@cache
def _parameter_lows() -> dict[str, float]:
    """Registry name -> lower end of its range."""
    return {name: float(entry["low"]) for name, entry in _registry().items()}


@cache
def _parameter_limits() -> dict[str, tuple[float, float]]:
    """Registry name -> `valid: [min, max]`, the values the model can compute with.

    The range [low, high] is the prior of the parameter; `valid` is wider: what a scenario may
    set under `parameters` or draw under `uncertain` without the model failing. A parameter
    without `valid` may take the values of its prior range only: nobody has said what else the
    model can compute with.
    """
    limits: dict[str, tuple[float, float]] = {}
    for name, entry in _registry().items():
        valid = entry.get("valid", (entry["low"], entry["high"]))
        limits[name] = (float(valid[0]), float(valid[1]))
    return limits


def parameter_names() -> tuple[str, ...]:
    """Names a scenario may use under `parameters` and `uncertain` (the registry's keys)."""
    return tuple(_parameter_lows())


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
    # fullmatch: `$` in the pattern would also accept a trailing newline ("abc\n").
    if not _NAME_PATTERN.fullmatch(value) or len(value) > 100:
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
    """The type of a macro input: one number for the whole period, a path by month, or an
    outlook `{mean, sd}`.

    A path `{2025-01: 1420, 2027-01: 1350}` is read by `path_value`: linear between its points and
    flat before the first and after the last. An outlook is a mean with its error (`Outlook`).
    """

    def check(value: Any) -> float | dict[str, float] | Outlook | None:
        if value is None or isinstance(value, Outlook):
            return value
        if isinstance(value, Mapping) and set(value) & {"mean", "sd"}:
            return Outlook.model_validate(value)
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
            raise _error(
                "must be a number, a path of `YYYY-MM: value` points or {mean, sd}, not a list"
            )
        return _check_range(_finite(value), **bounds)

    number_schema: dict[str, Any] = {"type": "number"}
    names = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}
    number_schema.update({names[key]: limit for key, limit in bounds.items()})
    schema = {
        "anyOf": [
            {"type": "null"},
            number_schema,
            {
                "type": "object",
                "propertyNames": {"pattern": _MONTH_PATTERN},
                "additionalProperties": number_schema,
                "minProperties": 1,
            },
            Outlook.model_json_schema(),
        ]
    }
    return Annotated[
        float | dict[str, float] | Outlook | None, BeforeValidator(check), WithJsonSchema(schema)
    ]


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


class Outlook(_Model):
    """An outlook for a driver, with its error: the driver is drawn as mean + sd x its own
    standardized innovation in the driver model, so it keeps its correlation with the others."""

    mean: Finite = Field(
        description="Expected value: growth per year (0.02 = 2%), or won per dollar for the won."
    )
    sd: _number(ge=0) = Field(
        description="Its error: for a published outlook, its historical forecast error."
    )


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
