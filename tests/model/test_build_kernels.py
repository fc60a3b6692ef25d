"""The compiled kernels that build a replicate's model, against the numpy they replace."""

import numpy as np
import pytest

from sim.inputs.names import PARTNERS
from sim.model import defence, network, population


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


def _row_by_row_balance(indptr, indices, data, row_target, col_target, col_limit, sweeps):
    """`network.balance` as it was written before, a row at a time (plain Python)."""
    n = len(indptr) - 1
    col_factor = np.ones(len(col_target))
    for _ in range(sweeps):
        col_sum = np.zeros(len(col_target))
        for i in range(n):
            total = 0.0
            for j in range(indptr[i], indptr[i + 1]):
                data[j] *= col_factor[indices[j]]
                total += data[j]
            factor = row_target[i] / (total if total > 0.0 else 1.0)
            for j in range(indptr[i], indptr[i + 1]):
                data[j] *= factor
                col_sum[indices[j]] += data[j]
        col_factor = col_target / np.where(col_sum > 0.0, col_sum, 1.0)
    data *= col_factor[indices]
    col_sum = np.zeros(len(col_target))
    for j in range(len(data)):
        col_sum[indices[j]] += data[j]
    col_factor = np.minimum(1.0, col_limit / np.where(col_sum > 0.0, col_sum, 1.0))
    to_market = np.empty(n)
    for i in range(n):
        total = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            data[j] *= col_factor[indices[j]]
            total += data[j]
        scale = max(total, row_target[i])
        scale = 1.0 if scale <= 0.0 else scale
        named = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            data[j] /= scale
            named += data[j]
        to_market[i] = max(0.0, 1.0 - named)
    return to_market


@pytest.mark.parametrize("seed", range(4))
def test_balance_kernel_matches_row_by_row(seed):
    rng = np.random.default_rng(seed)
    n = 60
    capacity = np.where(rng.random(n) < 0.2, 0.0, rng.lognormal(0, 1.5, n))
    cdf = np.cumsum(capacity / capacity.sum())
    cdf /= cdf[-1]
    per_buyer = rng.integers(0, 9, n)  # some buyers draw nobody
    indptr, indices, data = network.draw_pattern(cdf, rng.random(per_buyer.sum()), per_buyer)
    row_target = rng.lognormal(0, 1, n) * (rng.random(n) < 0.9)
    reached = np.zeros(n)
    reached[indices] = 1.0
    col_target = capacity * reached * row_target.sum() / (capacity * reached).sum()
    col_limit = np.minimum(2.0 * col_target, 0.6 * capacity)
    want_data = data.copy()
    want = _row_by_row_balance(indptr, indices, want_data, row_target, col_target, col_limit, 30)
    buyer = np.repeat(np.arange(n), np.diff(indptr))
    got = network.balance(indptr, indices, data, buyer, row_target, col_target, col_limit, 30)
    assert np.array_equal(got, want)
    assert np.array_equal(data, want_data)


@pytest.mark.parametrize("seed", range(5))
def test_weighted_sample_is_the_stable_argsort(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    weight = np.where(rng.random(n) < 0.3, 0.0, rng.lognormal(0, 1, n))
    weight[: n // 10] = 1.0  # repeated weights
    u = rng.random(n)
    u[n // 2 :: 7] = 0.5  # repeated keys
    keys = np.where(weight > 0, np.log(u) / np.where(weight > 0, weight, 1.0), -np.inf)
    for k in (0, 1, n // 3, int((weight > 0).sum()), n - 1, n, n + 5):
        want = np.argsort(-keys, kind="stable")[:k]
        assert np.array_equal(population.top_keys_kernel(u, weight, k), want)


def test_sector_means_and_medians_are_numpys():
    rng = np.random.default_rng(9)
    sectors = 7
    for n in (1, 2, 5, 40, 301):
        sector = rng.integers(0, sectors - 1, n)  # the last sector has no firm
        rows = rng.lognormal(0, 1, (n, 4))
        count = np.bincount(sector, minlength=sectors)
        for p in range(rows.shape[1]):
            want = np.bincount(sector, weights=rows[:, p], minlength=sectors)
            want = want / np.maximum(count, 1)
            got = population.sector_means_kernel(sector, rows, sectors)[:, p]
            assert np.array_equal(got, want)
        want = [np.median(rows[sector == s, 0]) if count[s] else 0.0 for s in range(sectors)]
        got = population.sector_median_kernel(sector, rows[:, 0].copy(), sectors)
        assert np.array_equal(got, want)


def test_median_kernel_is_numpys_median():
    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 4, 10, 11, 3210):
        values = rng.lognormal(0, 1, n)
        values[: n // 3] = values[0]  # ties
        assert population.median_kernel(values) == np.median(values)
