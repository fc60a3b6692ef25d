"""Joint validity: inputs that are each within their range but together would make an impossible
complex or absurd numbers (DESIGN §10: what `check` accepts, `run` runs).

Every rule bounds one quantity computed from named inputs: model parameters by their registry
names, and a few numbers of the scenario (`period_years`, `tariff_rate_max`, ...). A scenario is
checked over everything a replicate of it can use: a parameter takes any value of its registry
range [low, high] (the prior draws; a fitted posterior lies inside it), unless the scenario fixes
it under `parameters` (one value) or draws it under `uncertain` (the distribution's support). A rule
is evaluated at every corner of the box its inputs span and must hold at the worst one, so a
rule's quantity must be monotone in each of its inputs (then the corners hold its extremes).

To add a rule, append a `Rule` to `RULES`: its inputs by name, the function (keyword arguments of
those names), its bounds and a sentence saying why. A parameter added to the registry needs no
change here; tests check that the registry's own ranges satisfy every rule.

Cheap to import (no numpy): `changwon-sim check` runs it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sim.inputs.names import PARTNERS, SECTORS, population_spec
from sim.inputs.scenario_fields import _registry

Range = tuple[float, float]
Location = tuple[Any, ...]

#: The year the synthesised population reproduces, to which trends are normalised.
BASE_YEAR = int(population_spec()["base_year"])
#: Largest share of a sector's production its anchors may make: its SMEs need some left.
MAX_ANCHOR_SHARE_OF_SECTOR = 0.995


@dataclass(frozen=True)
class Rule:
    """`low <= function(values) <= high` for all values of the inputs in their ranges.

    `what` names the quantity in words ("in-complex purchases over the SMEs' sales"), `why` says
    what breaks beyond the bound. `function` takes a mapping of the inputs' names to values and
    must be monotone in each input when the others are held fixed (rising or falling, never
    peaking inside a range); it may return `math.inf` where the inputs make no sense together
    (a denominator at or below zero).
    """

    what: str
    inputs: tuple[str, ...]
    function: Callable[[Mapping[str, float]], float]
    why: str
    low: float = -math.inf
    high: float = math.inf

    def extremes(self, ranges: Mapping[str, Range]) -> Range:
        """The smallest and largest value over the corners of the inputs' box."""
        corners = itertools.product(*(sorted(set(ranges[name])) for name in self.inputs))
        values = [self.function(dict(zip(self.inputs, c, strict=True))) for c in corners]
        values = [math.inf if math.isnan(v) else v for v in values]
        return min(values), max(values)


@dataclass(frozen=True)
class Problem:
    rule: Rule
    value: float  # the worst value reached
    bound: float  # the bound it passes

    def message(self, set_by_scenario: list[str], shown: list[str]) -> str:
        """`with input_share 0.95 and 2 other inputs in their ranges, <what> can reach 0.88,
        above 0.75: <why>`; `shown` are the scenario's inputs with their values."""
        side = "above" if self.value > self.bound else "below"
        value = "infinity" if math.isinf(self.value) else f"{self.value:.3g}"
        given = "with " + (", ".join(shown) if shown else "the registry's ranges")
        others = [name for name in self.rule.inputs if name not in set_by_scenario]
        if shown and others:
            given += " and " + _inputs_in_words(others) + " in their ranges"
        rule = self.rule
        return f"{given}, {rule.what} can reach {value}, {side} {self.bound:g}: {rule.why}"


def _inputs_in_words(names: list[str]) -> str:
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:2])} and {len(names) - 2} other inputs"


# --- the 2024 complex the population reproduces ----------------------------------------------


@cache
def base_year() -> dict[str, float]:
    """Totals of the synthesised population: production and exports in won, jobs, firms."""
    totals = {k: float(v["value"]) for k, v in population_spec()["totals"].items() if "value" in v}
    return {
        "production_krw": totals["production_krw"],
        "exports_krw": totals["exports_usd"] * totals["krw_per_usd"],
        "exports_usd": totals["exports_usd"],
        "employment": totals["employment"],
        "firms": totals["firms"],
    }


def _anchor_ids(sector: str | None = None) -> tuple[str, ...]:
    return tuple(
        a["id"] for a in population_spec()["anchors"] if sector is None or a["sector"] == sector
    )


def _anchor_names(sector: str | None = None) -> tuple[str, ...]:
    return tuple(f"anchor_share_{anchor}" for anchor in _anchor_ids(sector))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.inf


def _in_complex_share(v: Mapping[str, float]) -> float:
    """In-complex purchases over production: inputs are bought per unit of gross output."""
    return _ratio(v["in_complex_input_share"] * v["input_share"], 1.0 - v["defect_rate_base"])


# --- the rules -----------------------------------------------------------------------------------

_PURCHASE_INPUTS = ("in_complex_input_share", "input_share", "defect_rate_base")
_SECTOR_SHARES = tuple(f"sector_production_share_{s}" for s in SECTORS)


def _purchases_over_sme_sales(v: Mapping[str, float]) -> float:
    anchors = sum(v[name] for name in _anchor_names())
    return _ratio(_in_complex_share(v), 1.0 - anchors)


def _exports_over_final_sales(v: Mapping[str, float]) -> float:
    totals = base_year()
    return _ratio(totals["exports_krw"] / totals["production_krw"], 1.0 - _in_complex_share(v))


def _wages_over_value_added(v: Mapping[str, float]) -> float:
    totals = base_year()
    bought = _ratio(v["input_share"], 1.0 - v["defect_rate_base"])
    value_added = totals["production_krw"] * (1.0 - bought)
    return _ratio(v["annual_wage_krw"] * totals["employment"], value_added)


def _region_jobs_over_jobs(v: Mapping[str, float]) -> float:
    totals = base_year()
    final = max(0.0, totals["production_krw"] * (1.0 - _in_complex_share(v)))
    induced = final / 1e9 * v["multiplier_employment_per_bn_krw"] * v["within_region_share"]
    return induced / totals["employment"]


def _stationary_sd(sd: float, persistence: float) -> float:
    return _ratio(sd, math.sqrt(max(0.0, 1.0 - persistence**2)))


def _anchor_share_of_sector(sector: str) -> Callable[[Mapping[str, float]], float]:
    def share(v: Mapping[str, float]) -> float:
        anchors = sum(v[name] for name in _anchor_names(sector))
        total = sum(v[name] for name in _SECTOR_SHARES)
        return _ratio(anchors, v[f"sector_production_share_{sector}"] / total)

    return share


def _level(growth: str, years: str, sign: float) -> Callable[[Mapping[str, float]], float]:
    """A trend level relative to the base year: (1 + growth) ** (sign x years) (after the base
    year sign is +1; before it, levels are compounded backwards, sign -1)."""

    def level(v: Mapping[str, float]) -> float:
        rate = v[growth]
        if rate <= -1.0:
            return 0.0 if sign > 0 else math.inf
        return (1.0 + rate) ** (sign * v[years])

    return level


def _level_rules(what: str, growth: str) -> tuple[Rule, ...]:
    """A trend (demand, prices) stays within a factor of 100 of the base year over the period,
    both after the base year and, for periods that start earlier, before it."""
    about = f"{what} relative to {BASE_YEAR}"
    far = f"a trend that compounds beyond a factor of 100 of {BASE_YEAR} {_OUTSIDE}"
    return (
        Rule(
            about,
            (f"{growth}_max", "years_after_base"),
            _level(f"{growth}_max", "years_after_base", 1.0),
            far,
            high=100.0,
        ),
        Rule(
            about,
            (f"{growth}_min", "years_after_base"),
            _level(f"{growth}_min", "years_after_base", 1.0),
            far,
            low=0.01,
        ),
        Rule(
            about,
            (f"{growth}_min", "years_before_base"),
            _level(f"{growth}_min", "years_before_base", -1.0),
            far,
            high=100.0,
        ),
        Rule(
            about,
            (f"{growth}_max", "years_before_base"),
            _level(f"{growth}_max", "years_before_base", -1.0),
            far,
            low=0.01,
        ),
    )


_OUTSIDE = "is outside what the model was built for"

RULES: tuple[Rule, ...] = (
    Rule(
        "in-complex purchases over the SMEs' sales",
        (*_PURCHASE_INPUTS, *_anchor_names()),
        _purchases_over_sme_sales,
        "the SMEs, which supply the complex, could not make what the firms buy from them",
        high=0.75,
    ),
    Rule(
        "exports over the complex's final sales",
        _PURCHASE_INPUTS,
        _exports_over_final_sales,
        "the 2024 exports would not fit in what the firms sell outside the complex",
        high=0.85,
    ),
    *(
        Rule(
            f"the anchors' share of {sector.replace('_', ' ')} production",
            (*_anchor_names(sector), *_SECTOR_SHARES),
            _anchor_share_of_sector(sector),
            "the anchor shares would leave the sector's SMEs nothing to make",
            high=MAX_ANCHOR_SHARE_OF_SECTOR,
        )
        for sector in SECTORS
        if _anchor_ids(sector)
    ),
    Rule(
        "defence work due in one month over the complex's monthly production in 2024",
        ("defence_krw_per_month_max",),
        lambda v: v["defence_krw_per_month_max"] / (base_year()["production_krw"] / 12.0),
        "contracts that large would swamp the whole complex; spread them over more months",
        high=1.0,
    ),
    Rule(
        "wages over value added in 2024",
        ("annual_wage_krw", "input_share", "defect_rate_base"),
        _wages_over_value_added,
        "the firms could not pay their workers out of what they add to their inputs",
        high=0.9,
    ),
    Rule(
        "the region-wide jobs induced over the complex's jobs",
        ("multiplier_employment_per_bn_krw", "within_region_share", *_PURCHASE_INPUTS),
        _region_jobs_over_jobs,
        "input-output studies put the region-wide job effect at most about 3.5 times the direct",
        high=3.5,
    ),
    Rule(
        "the spread of a firm's demand (stationary sd of its log shock)",
        ("firm_shock_sd", "firm_shock_persistence"),
        lambda v: _stationary_sd(v["firm_shock_sd"], v["firm_shock_persistence"]),
        "firms' demand would swing by factors of e and more from month to month",
        high=1.0,
    ),
    Rule(
        "the spread of the complex-wide demand shock (stationary sd of its log)",
        ("complex_shock_sd", "complex_shock_persistence"),
        lambda v: _stationary_sd(v["complex_shock_sd"], v["complex_shock_persistence"]),
        "the whole complex's demand would swing by factors of e and more",
        high=1.0,
    ),
    Rule(
        "the number of firms at the end of the period over the start",
        ("entry_rate", "exit_rate", "period_years"),
        # Entrants arrive every month in proportion to the firms then active and firms leave at
        # exit_rate (distress exits come on top): the firms grow at most as
        # exp((entry_rate - exit_rate) x years).
        lambda v: math.exp((v["entry_rate"] - v["exit_rate"]) * v["period_years"]),
        "entries compound over long periods, and a replicate would hold hundreds of thousands "
        "of firms; use a lower entry_rate, a higher exit_rate or a shorter period",
        high=300.0,
    ),
    Rule(
        "the share of the price exporters absorb, (1 - tariff_passthrough) x tariff rate",
        ("tariff_passthrough", "tariff_rate_max"),
        lambda v: (1.0 - v["tariff_passthrough"]) * v["tariff_rate_max"],
        "an exporter cannot cut its price by more than the whole price",
        high=1.0,
    ),
    *_level_rules("real demand in the period", "demand_growth"),
    *_level_rules("the producer price level in the period", "price_growth"),
)


# --- what a scenario can use -----------------------------------------------------------------


@dataclass
class Inputs:
    """The range of every rule input for a scenario, and where the scenario set it (if it did)."""

    ranges: dict[str, Range]
    origin: dict[str, Location]

    def set(self, name: str, values: Range, where: Location) -> None:
        self.ranges[name] = (min(values), max(values))
        self.origin[name] = where


def registry_ranges() -> dict[str, Range]:
    """Every parameter's prior range [low, high]: what replicates draw when nothing is fixed."""
    return {name: (float(e["low"]), float(e["high"])) for name, e in _registry().items()}


def scenario_inputs(scenario: Any) -> Inputs:
    """Ranges of all rule inputs over the replicates of `scenario` (a validated `Scenario`)."""
    inputs = Inputs(registry_ranges(), {})
    for name, value in scenario.parameters.items():
        if name in inputs.ranges:
            inputs.set(name, (value, value), ("parameters", name))
    for path, distribution in scenario.uncertain.items():
        if path in inputs.ranges:
            inputs.set(path, distribution.support(), ("uncertain", path))

    def drawn(path: str, value: float) -> Range:
        """A number of the scenario: its value, or its distribution's support if uncertain."""
        return scenario.uncertain[path].support() if path in scenario.uncertain else (value, value)

    period = scenario.period
    years = period.months / 12.0
    inputs.set("period_years", (years, years), ("period", "end"))
    after = max(0, period.end_month - (BASE_YEAR * 12 + 11)) / 12.0
    before = max(0, BASE_YEAR * 12 - period.start_month) / 12.0
    inputs.set("years_after_base", (after, after), ("period", "end"))
    inputs.set("years_before_base", (before, before), ("period", "start"))

    # Overlapping tariff measures add up: the highest sum by partner and sector over the period.
    spans: dict[tuple[str, str], list[tuple[int, int, float, int]]] = {}
    for index, tariff in enumerate(scenario.tariffs):
        rate = drawn(f"tariffs.{tariff.name}.rate", tariff.rate)[1]
        end = period.end_month if tariff.end_month is None else tariff.end_month
        sectors = SECTORS if tariff.sectors == "all" else tariff.sectors
        for sector in sectors:
            spans.setdefault((tariff.partner, sector), []).append(
                (tariff.start_month, end + 1, rate, index)
            )
    top, where_rate = 0.0, ("tariffs",)
    for measures in spans.values():
        total, index = _highest_overlap(measures, period.start_month, period.end_month + 1)
        if total > top:
            top, where_rate = total, ("tariffs", index, "rate")
    inputs.set("tariff_rate_max", (top, top), where_rate)

    # Drivers a scenario leaves out are drawn from the driver model estimated on history: the
    # rules bound what a scenario sets, so a drawn growth counts as none and a drawn won as the
    # base year's rate. An outlook {mean, sd} counts as its mean plus or minus four sd.
    growth = {partner: (0.0, 0.0) for partner in PARTNERS}
    for partner, value in scenario.macro.demand_growth.items():
        growth[partner] = _driver_range(f"macro.demand_growth.{partner}", value, drawn)
    fastest = max(growth, key=lambda partner: growth[partner][1])
    slowest = min(growth, key=lambda partner: growth[partner][0])
    high, low = growth[fastest][1], growth[slowest][0]
    inputs.set("demand_growth_max", (high, high), ("macro", "demand_growth", fastest))
    inputs.set("demand_growth_min", (low, low), ("macro", "demand_growth", slowest))

    krw = scenario.macro.krw_per_usd
    if krw is None:
        krw_high = base_year()["exports_krw"] / base_year()["exports_usd"]
    elif isinstance(krw, Mapping):
        krw_high = max(krw.values())
    else:
        krw_high = _driver_range("macro.krw_per_usd", krw, drawn)[1]
    defence, where_defence = _defence_per_month(scenario, drawn, krw_high)
    inputs.set("defence_krw_per_month_max", (defence, defence), where_defence)

    price = scenario.macro.producer_price_growth
    if price is None:
        points = [0.0]
    elif isinstance(price, Mapping):
        points = list(price.values())  # a path is linear between its points, flat outside
    else:
        points = list(_driver_range("macro.producer_price_growth", price, drawn))
    inputs.set("price_growth_max", (max(points), max(points)), ("macro", "producer_price_growth"))
    inputs.set("price_growth_min", (min(points), min(points)), ("macro", "producer_price_growth"))
    return inputs


def _driver_range(path: str, value: Any, drawn: Callable[[str, float], Range]) -> Range:
    """A pinned driver's number (or its support, if uncertain), or an outlook's mean +- 4 sd."""
    if hasattr(value, "sd"):
        return (value.mean - 4.0 * value.sd, value.mean + 4.0 * value.sd)
    return drawn(path, value)


def _defence_per_month(
    scenario: Any, drawn: Callable[[str, float], Range], krw_per_usd: float
) -> tuple[float, Location]:
    """The most defence work due in one month, won: overlapping contracts add up (the sum is
    highest in a month one of them starts), plus the pipeline's steady flow (orders a year x a
    mean order value, each delivered over 3 years: a twelfth of that a month)."""
    due = []
    for index, contract in enumerate(scenario.defence_exports.contracts):
        key = f"defence_exports.contracts.{contract.name}"
        if contract.value_usd is not None:
            value = drawn(f"{key}.value_usd", contract.value_usd)[1] * krw_per_usd
        else:
            value = drawn(f"{key}.value_krw", contract.value_krw)[1]
        months = max(1, math.floor(drawn(f"{key}.delivery.months", contract.delivery.months)[0]))
        first = contract.delivery.start_month
        due.append((first, first + months, value / months, index))
    period = scenario.period
    top, index = _highest_overlap(due, period.start_month, period.end_month + 1)
    where: Location = (
        ("defence_exports", "contracts", index) if index >= 0 else ("defence_exports",)
    )
    pipeline = scenario.defence_exports.pipeline
    if pipeline is not None:
        orders = drawn("defence_exports.pipeline.orders_per_year", pipeline.orders_per_year)[1]
        flow = orders * _mean(pipeline.value_usd) * krw_per_usd / 12.0
        if flow > 0:
            top += flow
            where = ("defence_exports", "pipeline") if flow >= top / 2 else where
    return top, where


def _highest_overlap(
    spans: list[tuple[int, int, float, int]], first: int, stop: int
) -> tuple[float, int]:
    """The highest sum of `amount` over spans (start, stop, amount, index) in force together in
    a month of [first, stop), and the index of a span in force then (a sweep over the months
    where spans start and stop: linear after sorting, for files with thousands of items)."""
    events = []
    for start, end, amount, index in spans:
        start, end = max(start, first), min(end, stop)
        if start < end:
            events.append((start, 1, amount, index))
            events.append((end, 0, amount, index))  # ends sort before starts in a month
    total, top, at = 0.0, 0.0, -1
    for _, starting, amount, index in sorted(events):
        total += amount if starting else -amount
        if starting and total > top:
            top, at = total, index
    return top, at


def _mean(distribution: Any, points: int = 400) -> float:
    """The mean of a distribution of `uncertain` (midpoint rule over its quantile function)."""
    return sum(distribution.ppf((k + 0.5) / points) for k in range(points)) / points


def problems(ranges: Mapping[str, Range], rules: tuple[Rule, ...] = RULES) -> list[Problem]:
    """Every rule that fails somewhere in the box of `ranges`."""
    found = []
    for rule in rules:
        low, high = rule.extremes(ranges)
        if high > rule.high:
            found.append(Problem(rule, high, rule.high))
        elif low < rule.low:
            found.append(Problem(rule, low, rule.low))
    return found


def scenario_problems(scenario: Any) -> list[tuple[Location, str]]:
    """Where and why the scenario's inputs are not valid together (empty if they are).

    Each problem is located at the first input of its rule that the scenario sets, parameters
    (under `parameters` or `uncertain`) before the scenario's own numbers (period, tariffs, macro).
    """
    inputs = scenario_inputs(scenario)
    located = []
    for problem in problems(inputs.ranges):
        ours = [name for name in problem.rule.inputs if name in inputs.origin]
        ours.sort(key=lambda name: inputs.origin[name][0] not in ("parameters", "uncertain"))
        where = inputs.origin[ours[0]] if ours else ("parameters",)
        shown = [_with_range(name, inputs.ranges[name]) for name in ours]
        located.append((where, problem.message(ours, shown)))
    return located


def _with_range(name: str, values: Range) -> str:
    low, high = values
    return f"{name} {low:.4g}" if low == high else f"{name} {low:.4g}..{high:.4g}"
