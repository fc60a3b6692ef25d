"""Defence export contracts as work and deliveries: the order book.

A contract's value is delivered evenly over its delivery months. The complex makes the share
`defence_in_complex_share` of it (engines, electronics and part of the assembly come from
elsewhere): that share is the prime's output, recognised while the work is done — the value of
each delivery is worked evenly over the `defence_build_months` before it (not before signing) —
and is exported at delivery, when customs records it. The prime buys its inputs for the work like
any other output, so the share of them bought inside the complex flows on through the network.

The book known at the start of a run is explicit: `calibration/defence_contracts.yaml` holds the
contracts signed before 2025 (Poland K9 and K2) with the deliveries customs recorded from Changwon
up to 2024 and the remaining schedules, so the book runs off by its schedule instead of staying in
the anchors' base demand. Contracts named in a scenario and orders of the stochastic pipeline add
to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from sim.inputs.calendar import parse_month
from sim.inputs.names import PARTNERS
from sim.inputs.paths import CALIBRATION_DIR

BOOK_FILE = CALIBRATION_DIR / "defence_contracts.yaml"
# Assumption: a pipeline order starts delivering a year after signing and delivers over 3 years.
PIPELINE_LEAD_MONTHS = 12
PIPELINE_DELIVERY_MONTHS = 36


@dataclass(frozen=True, slots=True)
class Deliveries:
    """Deliveries of one contract: `value` (USD or KRW) spread evenly over `months` from `first`.

    `in_complex` says that the value is already the complex's share (deliveries recorded from
    Changwon); otherwise it is the whole contract and `defence_in_complex_share` applies.
    """

    prime: int  # anchor index
    partner: int  # index into PARTNERS
    signed: int  # month number
    first: int  # month number of the first delivery
    months: int
    value: float
    currency: str  # "USD" or "KRW"
    in_complex: bool = False
    work_from: int | None = None  # first month work can start (default: the signing month)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Work and deliveries of a set of contracts over the months of a period (nominal KRW of the
    complex's share), and the work still to do after the period's start of contracts signed
    before it (the opening backlog)."""

    work: np.ndarray  # (T, anchors, partners)
    deliveries: np.ndarray  # (T, anchors, partners)
    signed: np.ndarray  # (T,) complex's share of the value of contracts signed in the month
    opening_backlog: float


def schedule(
    contracts: Iterable[Deliveries],
    months: np.ndarray,
    krw_per_usd: np.ndarray,
    anchors: int,
    build_months: float,
    in_complex_share: float,
    scale: float = 1.0,
) -> Schedule:
    """Work, deliveries and signings of `contracts` in the months of the period.

    A dollar value is turned into won at the exchange rate of the month it is worked or delivered
    in; work or deliveries outside the period are not counted (before it they are done, after it
    they stay in the backlog). Work before the period counts neither as work nor as backlog.
    `scale` sizes the contracts to a population smaller than the complex (tests). Work a prime
    cannot do for lack of capacity is lost, not carried over: it leaves the backlog as scheduled.
    """
    n = len(months)
    first_month = int(months[0])
    work = np.zeros((n, anchors, len(PARTNERS)))
    deliveries = np.zeros_like(work)
    signed = np.zeros(n)
    opening = 0.0
    build = max(1, round(build_months))
    for c in contracts:
        share = scale * (1.0 if c.in_complex else in_complex_share)
        per_delivery = share * c.value / c.months
        work_from = c.signed if c.work_from is None else c.work_from
        due = np.arange(c.first, c.first + c.months)
        start = np.maximum(work_from, due - build + 1)
        # Each delivery's value is worked evenly from its start to its month: add its monthly
        # work where it starts and take it off after it is delivered, then cumulate.
        span = np.arange(int(start.min()), c.first + c.months)
        step = np.zeros(len(span) + 1)
        np.add.at(step, start - span[0], per_delivery / (due - start + 1))
        np.add.at(step, due + 1 - span[0], -per_delivery / (due - start + 1))
        worked = np.cumsum(step[:-1]) * _rates(span, months, krw_per_usd, c.currency)
        inside = (span >= first_month) & (span < first_month + n)
        work[span[inside] - first_month, c.prime, c.partner] += worked[inside]
        if c.signed < first_month:
            opening += float(worked[span >= first_month].sum())
        elif c.signed - first_month < n:
            signed[c.signed - first_month] += float(worked.sum())
        delivered = (due >= first_month) & (due < first_month + n)
        rates = _rates(due[delivered], months, krw_per_usd, c.currency)
        deliveries[due[delivered] - first_month, c.prime, c.partner] += per_delivery * rates
    return Schedule(work, deliveries, signed, opening)


def _rates(span: np.ndarray, months: np.ndarray, krw_per_usd: np.ndarray, currency: str):
    """Won per unit of a contract's currency in the months `span`: the exchange rate of each
    month for dollars, held at the period's first or last rate outside it; one for won."""
    if currency != "USD":
        return np.ones(len(span))
    first = int(months[0])
    return krw_per_usd[np.clip(span - first, 0, len(months) - 1)]


@dataclass(frozen=True, slots=True)
class BaseYearDefence:
    """The order book in the population's base year, monthly averages: work by anchor (real, at
    the base year's prices) and deliveries (won)."""

    work: np.ndarray
    deliveries_krw: float


def base_year_defence(
    contracts: Iterable[Deliveries],
    anchors: int,
    year: int,
    krw_per_usd: float,
    build_months: float,
    in_complex_share: float,
) -> BaseYearDefence:
    """Work and deliveries of `contracts` in `year`, at that year's average exchange rate."""
    months = np.arange(year * 12, year * 12 + 12)
    book = schedule(
        contracts, months, np.full(12, krw_per_usd), anchors, build_months, in_complex_share
    )
    return BaseYearDefence(book.work.sum(axis=(0, 2)) / 12.0, float(book.deliveries.sum()) / 12.0)


# --- the book signed before 2025 ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookContract:
    name: str
    prime: str
    partner: str
    signed: str
    value_usd: float  # the whole contract, USD (won contracts at the signing year's rate)
    remaining_start: str
    remaining_months: int


@dataclass(frozen=True, slots=True)
class Tranche:
    """Deliveries from Changwon in one period (customs), split among the contracts by value."""

    name: str
    start: str
    months: int
    value_usd: float
    low: float
    high: float


@dataclass(frozen=True)
class OrderBook:
    """The parsed `calibration/defence_contracts.yaml`."""

    contracts: tuple[BookContract, ...]
    split: Mapping[str, float]  # contract name -> share of each delivered tranche
    tranches: tuple[Tranche, ...]


@cache
def load_order_book(path: Path = BOOK_FILE) -> OrderBook:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    contracts = []
    for c in raw["contracts"]:
        if "value_usd" in c:
            usd = float(c["value_usd"])
        else:
            usd = float(c["value_krw"]) / float(c["krw_per_usd_at_signing"])
        contracts.append(
            BookContract(
                name=str(c["name"]),
                prime=str(c["prime"]),
                partner=str(c["partner"]),
                signed=str(c["signed"]),
                value_usd=usd,
                remaining_start=str(c["remaining_deliveries"]["start"]),
                remaining_months=int(c["remaining_deliveries"]["months"]),
            )
        )
    delivered = raw["delivered_from_changwon"]
    tranches = []
    for t in delivered["tranches"]:
        value = t["value_usd"]
        central = float(value["value"])
        tranches.append(
            Tranche(
                name=str(t["name"]),
                start=str(t["start"]),
                months=int(t["months"]),
                value_usd=central,
                low=float(value.get("low", central)),
                high=float(value.get("high", central)),
            )
        )
    split = {str(k): float(v) for k, v in delivered["split"].items()}
    names = {c.name for c in contracts}
    if set(split) - names or abs(sum(split.values()) - 1.0) > 1e-9:
        raise ValueError(f"{path}: delivered_from_changwon.split must name contracts, sum to one")
    return OrderBook(tuple(contracts), split, tuple(tranches))


def book_deliveries(
    book: OrderBook,
    anchor_ids: tuple[str, ...],
    in_complex_share: float,
    tranche_values: Mapping[str, float] | None = None,
) -> list[Deliveries]:
    """The book as deliveries: the tranches delivered from Changwon up to 2024 (in the complex's
    terms already) and, for each contract, what is left of its share after them, delivered over
    its remaining schedule. `tranche_values` replaces the tranches' central USD values (draws
    within their ranges, for the hindcast)."""
    values = {t.name: t.value_usd for t in book.tranches}
    values.update(tranche_values or {})
    delivered = dict.fromkeys((c.name for c in book.contracts), 0.0)
    by_name = {c.name: c for c in book.contracts}
    out = []
    for t in book.tranches:
        for name, share in book.split.items():
            c = by_name[name]
            usd = values[t.name] * share
            delivered[name] += usd
            out.append(_deliveries(c, anchor_ids, t.start, t.months, usd, in_complex=True))
    for c in book.contracts:
        left = max(0.0, in_complex_share * c.value_usd - delivered[c.name])
        if left > 0:
            out.append(
                _deliveries(
                    c, anchor_ids, c.remaining_start, c.remaining_months, left, in_complex=True
                )
            )
    return out


def _deliveries(c: BookContract, anchor_ids, start: str, months: int, usd: float, in_complex):
    return Deliveries(
        prime=anchor_ids.index(c.prime),
        partner=PARTNERS.index(c.partner),
        signed=parse_month(c.signed),
        first=parse_month(start),
        months=months,
        value=usd,
        currency="USD",
        in_complex=in_complex,
    )


def scenario_deliveries(contracts, anchor_ids: tuple[str, ...]) -> list[Deliveries]:
    """The contracts named in a scenario (whole contract values)."""
    return [
        Deliveries(
            prime=anchor_ids.index(c.prime),
            partner=PARTNERS.index(c.partner),
            signed=c.signed_month,
            first=c.delivery.start_month,
            months=c.delivery.months,
            value=c.value_usd if c.value_usd is not None else c.value_krw,
            currency="USD" if c.value_usd is not None else "KRW",
        )
        for c in contracts
    ]


def pipeline_order(prime: int, partner: int, signed: int, value_usd: float) -> Deliveries:
    """An order of the stochastic pipeline, signed this month. It is drawn after the month's
    production, so its work starts the next month."""
    return Deliveries(
        prime=prime,
        partner=partner,
        signed=signed,
        first=signed + PIPELINE_LEAD_MONTHS,
        months=PIPELINE_DELIVERY_MONTHS,
        value=value_usd,
        currency="USD",
        work_from=signed + 1,
    )
