"""The compiled kernels that build a replicate's model, against the numpy they replace."""

import numpy as np
import pytest

from sim.inputs.names import PARTNERS
from sim.model import defence


def _numpy_schedule(contracts, months, krw_per_usd, anchors, build_months, share, scale):
    """`defence.schedule` as numpy computed it before `defence.schedule_kernel`."""

    def rates(span, currency):
        if currency != "USD":
            return np.ones(len(span))
        return krw_per_usd[np.clip(span - int(months[0]), 0, len(months) - 1)]

    n = len(months)
    first_month = int(months[0])
    work = np.zeros((n, anchors, len(PARTNERS)))
    deliveries = np.zeros_like(work)
    signed = np.zeros(n)
    opening = 0.0
    build = max(1, round(build_months))
    for c in contracts:
        per_delivery = scale * (1.0 if c.in_complex else share) * c.value / c.months
        work_from = c.signed if c.work_from is None else c.work_from
        due = np.arange(c.first, c.first + c.months)
        start = np.maximum(work_from, due - build + 1)
        span = np.arange(int(start.min()), c.first + c.months)
        step = np.zeros(len(span) + 1)
        np.add.at(step, start - span[0], per_delivery / (due - start + 1))
        np.add.at(step, due + 1 - span[0], -per_delivery / (due - start + 1))
        worked = np.cumsum(step[:-1]) * rates(span, c.currency)
        inside = (span >= first_month) & (span < first_month + n)
        work[span[inside] - first_month, c.prime, c.partner] += worked[inside]
        if c.signed < first_month:
            opening += float(worked[span >= first_month].sum())
        elif c.signed - first_month < n:
            signed[c.signed - first_month] += float(worked.sum())
        delivered = (due >= first_month) & (due < first_month + n)
        deliveries[due[delivered] - first_month, c.prime, c.partner] += per_delivery * rates(
            due[delivered], c.currency
        )
    return work, deliveries, signed, opening


def _contracts(rng, k):
    out = []
    for _ in range(k):
        signed = int(rng.integers(24000, 24400))
        first = signed + int(rng.integers(0, 40))
        work_from = None if rng.random() < 0.6 else min(first, signed + int(rng.integers(0, 5)))
        out.append(
            defence.Deliveries(
                prime=int(rng.integers(0, 3)),
                partner=int(rng.integers(0, len(PARTNERS))),
                signed=signed,
                first=first,
                months=int(rng.integers(1, 200)),
                value=float(rng.lognormal(20, 2)),
                currency="USD" if rng.random() < 0.7 else "KRW",
                in_complex=bool(rng.random() < 0.3),
                work_from=work_from,
            )
        )
    return out


@pytest.mark.parametrize("seed", range(6))
def test_schedule_kernel_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        contracts = _contracts(rng, int(rng.integers(0, 10)))
        m0 = int(rng.integers(24100, 24300))
        months = np.arange(m0, m0 + int(rng.integers(1, 150)))
        fx = rng.lognormal(7, 0.1, len(months))
        args = (months, fx, 3, float(rng.uniform(0.5, 60)), float(rng.uniform(0.1, 1)))
        scale = float(rng.choice([1.0, 0.37]))
        got = defence.schedule(contracts, *args, scale)
        work, deliveries, signed, opening = _numpy_schedule(contracts, *args, scale)
        # The same operations in the same order: equal to the last bit.
        assert np.array_equal(got.work, work)
        assert np.array_equal(got.deliveries, deliveries)
        assert np.array_equal(got.signed, signed)
        assert got.opening_backlog == opening


def test_pairwise_sum_is_numpys_sum():
    rng = np.random.default_rng(2)
    for n in [*range(40), 127, 128, 129, 255, 256, 300, 1000, 1031, 5000]:
        a = rng.normal(size=n) * np.exp(3 * rng.normal(size=n))
        lo = min(n, int(rng.integers(0, 3)))
        assert defence._pairwise_sum(a, lo, n) == a[lo:].sum()
        assert defence._pairwise_sum(a, 0, n) == a.sum()
