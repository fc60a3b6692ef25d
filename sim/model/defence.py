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

from sim.inputs.calendar import parse_month
from sim.inputs.names import PARTNERS
from sim.inputs.paths import CALIBRATION_DIR
from sim.inputs.safe_yaml import read_data_file
from sim.model.kernels import kernel

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
    contracts = list(contracts)
    if any(c.months < 1 for c in contracts):
        raise ValueError("a contract delivers over at least one month")
    build = max(1, round(build_months))
    signed_at = np.array([c.signed for c in contracts], dtype=np.int64)
    work, deliveries, signed, opening = schedule_kernel(
        np.array([c.prime for c in contracts], dtype=np.int64),
        np.array([c.partner for c in contracts], dtype=np.int64),
        signed_at,
        np.array([c.first for c in contracts], dtype=np.int64),
        np.array([c.months for c in contracts], dtype=np.int64),
        np.array([c.value for c in contracts], dtype=float),
        np.array([c.currency == "USD" for c in contracts], dtype=np.bool_),
        np.array([c.in_complex for c in contracts], dtype=np.bool_),
        np.array(
            [c.signed if c.work_from is None else c.work_from for c in contracts], dtype=np.int64
        ),
        int(months[0]),
        len(months),
        np.asarray(krw_per_usd, dtype=float),
        anchors,
        len(PARTNERS),
        build,
        float(in_complex_share),
        float(scale),
    )
    return Schedule(work, deliveries, signed, opening)


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
    raw = read_data_file(path)
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


# --- compiled kernels (conventions: sim.model.kernels) --------------------------------------------


@kernel
def schedule_kernel(
    prime,
    partner,
    signed,
    first,
    months,
    value,
    usd,
    in_complex,
    work_from,
    first_month,
    n,
    krw_per_usd,
    anchors,
    partners,
    build,
    in_complex_share,
    scale,
):
    """`schedule` on the contracts' fields as arrays: (work, deliveries, signed, opening backlog).

    Per contract, each delivery's value is worked evenly from its start to its month: its
    monthly work is added where it starts and taken off after it is delivered (all additions,
    then all removals, in the order of the deliveries), then cumulated; sums of a contract's work
    are added up as numpy's `sum` adds them (`_pairwise_sum`), so the numbers are those of the
    numpy formulation to the last bit.
    """
    work = np.zeros((n, anchors, partners))
    deliveries = np.zeros((n, anchors, partners))
    signed_out = np.zeros(n)
    opening = 0.0
    for c in range(len(prime)):
        share = scale * (1.0 if in_complex[c] else in_complex_share)
        per_delivery = share * value[c] / months[c]
        end = first[c] + months[c]  # the month after the last delivery
        span0 = end
        for due in range(first[c], end):
            span0 = min(span0, max(work_from[c], due - build + 1))
        length = end - span0
        step = np.zeros(length + 1)
        for due in range(first[c], end):
            start = max(work_from[c], due - build + 1)
            step[start - span0] += per_delivery / (due - start + 1)
        for due in range(first[c], end):
            start = max(work_from[c], due - build + 1)
            step[due + 1 - span0] += -per_delivery / (due - start + 1)
        worked = np.empty(length)
        level = 0.0
        for t in range(length):
            level += step[t]
            worked[t] = level * _rate(span0 + t, first_month, n, krw_per_usd, usd[c])
        inside = 0  # first index of worked at or after the period's start
        while inside < length and span0 + inside < first_month:
            inside += 1
        for t in range(inside, length):
            if span0 + t >= first_month + n:
                break
            work[span0 + t - first_month, prime[c], partner[c]] += worked[t]
        if signed[c] < first_month:
            opening += _pairwise_sum(worked, inside, length)
        elif signed[c] - first_month < n:
            signed_out[signed[c] - first_month] += _pairwise_sum(worked, 0, length)
        for due in range(max(first[c], first_month), min(end, first_month + n)):
            rate = _rate(due, first_month, n, krw_per_usd, usd[c])
            deliveries[due - first_month, prime[c], partner[c]] += per_delivery * rate
    return work, deliveries, signed_out, opening


@kernel
def _rate(month, first_month, n, krw_per_usd, usd):
    """Won per unit of a contract's currency in `month`: the month's exchange rate for dollars
    (`usd`), held at the period's first or last rate outside it; one for won."""
    if not usd:
        return 1.0
    return krw_per_usd[min(max(month - first_month, 0), n - 1)]


@kernel
def _pairwise_sum(a, lo, hi):
    """The sum of a[lo:hi] as numpy's `sum` of a contiguous float64 array adds it, to the last
    bit: blocks of up to 128 (`_block_sum`), a longer range split in two at a multiple of eight
    below its middle and the halves' sums added. The halving is walked with a stack here (numba
    compiles a kernel calling a recursive one unreliably)."""
    if hi - lo <= 128:
        return _block_sum(a, lo, hi)
    depth = 64
    start, length = np.empty(depth, np.int64), np.empty(depth, np.int64)
    stage, left = np.zeros(depth, np.int64), np.empty(depth)
    start[0], length[0], stage[0] = lo, hi - lo, 0
    top = 0  # index of the range being summed; its left half is stage 1, its right stage 2
    value = 0.0
    done = False  # `value` holds the sum of the range just finished
    while top >= 0:
        if done:
            if stage[top] == 1:
                left[top] = value
                stage[top] = 2
                half = _half(length[top])
                top += 1
                start[top], length[top], stage[top] = (
                    start[top - 1] + half,
                    length[top - 1] - half,
                    0,
                )
                done = False
            else:
                value = left[top] + value
                top -= 1
        elif length[top] <= 128:
            value = _block_sum(a, start[top], start[top] + length[top])
            done = True
            top -= 1
        else:
            stage[top] = 1
            top += 1
            start[top], length[top], stage[top] = start[top - 1], _half(length[top - 1]), 0
    return value


@kernel
def _half(n):
    half = n // 2
    return half - half % 8


@kernel
def _block_sum(a, lo, hi):
    """numpy's pairwise sum of at most 128 numbers: in order below eight, else eight partial
    sums over the multiples of eight, combined in pairs, then the rest in order."""
    n = hi - lo
    if n < 8:
        res = 0.0
        for i in range(lo, hi):
            res += a[i]
        return res
    r = a[lo : lo + 8].copy()
    i = lo + 8
    while i < lo + n - n % 8:
        for k in range(8):
            r[k] += a[i + k]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < hi:
        res += a[i]
        i += 1
    return res
