"""The supplier network inside the complex.

Each firm buys a share of its inputs inside the complex. That share is split between named suppliers
(a sparse matrix of purchase shares, rows = buyers) and the open market of a sector (a dense
buyers x sectors matrix), which spreads orders over the sector's living firms by their size. When a
supplier exits its customers turn to the market of its sector; entrants buy through the markets.
Every row of `shares` plus `market` sums to one, so orders placed are orders received.

The functions below are the network's operations, for the population's synthesis and as the
specification that the month's compiled kernels (`sim.model.month_kernels`,
`sim.model.demography`) follow with the same loops; the tests check both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sim.inputs.names import SECTORS
from sim.model.kernels import kernel


@dataclass(slots=True)
class SupplierNetwork:
    # (slots, slots): buyer row, supplier column, share of in-complex purchases
    shares: sp.csr_array
    # (slots, sectors): share of in-complex purchases bought on a sector's market
    market: np.ndarray
    # (stored shares,): the buyer (row) of each stored share
    buyer: np.ndarray

    def copy(self) -> SupplierNetwork:
        return SupplierNetwork(self.shares.copy(), self.market.copy(), self.buyer.copy())

    def grow(self, extra: int, market_rows: np.ndarray) -> None:
        """Add `extra` buyer/supplier slots whose purchases go through the sector markets."""
        n = self.shares.shape[0] + extra
        indptr = np.concatenate([self.shares.indptr, np.full(extra, self.shares.indptr[-1])])
        self.shares = sp.csr_array((self.shares.data, self.shares.indices, indptr), shape=(n, n))
        self.market = np.concatenate(
            [self.market, np.broadcast_to(market_rows, (extra, len(SECTORS)))]
        )


def orders_received(
    network: SupplierNetwork,
    orders: np.ndarray,
    market_weight: np.ndarray,
    sector: np.ndarray,
    shares_t: sp.csc_array | None = None,
) -> np.ndarray:
    """In-complex orders each firm receives: from its named customers plus its share of the markets.

    `market_weight` is each firm's share of its sector's market (zero for dead firms; sums to one
    within a sector that has living firms). `shares_t` (`network.shares.T`) is accepted for callers
    that keep it; the kernel reads the buyer-major shares directly.
    """
    shares = network.shares
    return orders_received_kernel(
        shares.indptr, shares.indices, shares.data, network.market, orders, market_weight, sector
    )


def supplier_fill(
    network: SupplierNetwork, fill: np.ndarray, market_weight: np.ndarray, sector: np.ndarray
) -> np.ndarray:
    """Share of each buyer's orders that its suppliers deliver, given each supplier's fill rate."""
    shares = network.shares
    return supplier_fill_kernel(
        shares.indptr, shares.indices, shares.data, network.market, fill, market_weight, sector
    )


def rows_dot(network: SupplierNetwork, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`(network.shares @ x)[rows]`, computed for those rows only."""
    shares = network.shares
    return rows_dot_kernel(shares.indptr, shares.indices, shares.data, rows, x)


def redirect_to_markets(network: SupplierNetwork, gone: np.ndarray, sector: np.ndarray) -> None:
    """Customers of the firms in `gone` (bool by slot) buy on their sector markets instead."""
    shares = network.shares
    redirect_kernel(shares.indptr, shares.indices, shares.data, network.market, gone, sector)


def market_weights(base_sales: np.ndarray, alive: np.ndarray, sector: np.ndarray) -> np.ndarray:
    """Each living firm's share of its sector's market, by base-year sales."""
    return market_weights_kernel(base_sales, alive, sector, len(SECTORS))


def build_network(
    rng: np.random.Generator,
    gross_inputs_in_complex: np.ndarray,
    supplier_capacity: np.ndarray,
    suppliers_per_buyer: np.ndarray,
    market_mix: np.ndarray,
    sweeps: int = 30,
    supplier_cap: float | None = None,
) -> SupplierNetwork:
    """Draw who buys from whom, then balance the shares so every supplier's in-complex sales are
    proportional to `supplier_capacity` (Sinkhorn scaling on the drawn pattern).

    `gross_inputs_in_complex`: each buyer's monthly in-complex purchases (sets row totals);
    `supplier_capacity`: how much each firm can sell inside the complex (zero: not a supplier);
    `suppliers_per_buyer`: number of supplier draws per buyer (with replacement, by capacity; a
    supplier drawn twice weighs twice as much before balancing; a buyer never supplies itself);
    `market_mix`: how a buyer left with no named supplier splits its purchases over sector markets;
    `supplier_cap`: if given, no supplier is sent by name more than this share of its capacity
    (for populations where suppliers sell most of their output inside the complex).
    """
    n = len(gross_inputs_in_complex)
    # Inverse-CDF draws by capacity: the same draws as rng.choice(n, p=capacity share).
    cdf = np.cumsum(supplier_capacity / supplier_capacity.sum())
    cdf /= cdf[-1]
    indptr, indices, data = draw_pattern(
        cdf, rng.random(int(suppliers_per_buyer.sum())), suppliers_per_buyer.astype(np.int64)
    )
    row_target = gross_inputs_in_complex
    reached = np.zeros(n)
    reached[indices] = 1.0
    col_target = supplier_capacity * reached
    col_target *= row_target.sum() / col_target.sum()
    # A supplier receives by name at most twice its target (and `supplier_cap` of its capacity).
    col_limit = 2.0 * col_target
    if supplier_cap is not None:
        col_limit = np.minimum(col_limit, supplier_cap * supplier_capacity)
    buyer = np.repeat(np.arange(n), np.diff(indptr))
    to_market = balance(indptr, indices, data, buyer, row_target, col_target, col_limit, sweeps)
    flow = sp.csr_array((data, indices, indptr), shape=(n, n))
    market = to_market[:, None] * market_mix[None, :]
    return SupplierNetwork(shares=flow, market=market, buyer=buyer)


# --- compiled kernels (conventions: sim.model.kernels) --------------------------------------------


@kernel
def orders_received_kernel(indptr, indices, data, market, orders, market_weight, sector):
    named = np.zeros(len(orders))
    by_sector = np.zeros(market.shape[1])
    for buyer in range(len(indptr) - 1):
        order = orders[buyer]
        for s in range(market.shape[1]):
            by_sector[s] += order * market[buyer, s]
        for j in range(indptr[buyer], indptr[buyer + 1]):
            named[indices[j]] += data[j] * order
    for firm in range(len(orders)):
        named[firm] += by_sector[sector[firm]] * market_weight[firm]
    return named


@kernel
def supplier_fill_kernel(indptr, indices, data, market, fill, market_weight, sector):
    market_fill = np.zeros(market.shape[1])
    for firm in range(len(fill)):
        market_fill[sector[firm]] += market_weight[firm] * fill[firm]
    out = np.empty(len(indptr) - 1)
    for buyer in range(len(indptr) - 1):
        named = 0.0
        for j in range(indptr[buyer], indptr[buyer + 1]):
            named += data[j] * fill[indices[j]]
        on_markets = 0.0
        for s in range(market.shape[1]):
            on_markets += market[buyer, s] * market_fill[s]
        out[buyer] = named + on_markets
    return out


@kernel
def rows_dot_kernel(indptr, indices, data, rows, x):
    out = np.zeros(len(rows))
    for k in range(len(rows)):
        row = rows[k]
        for j in range(indptr[row], indptr[row + 1]):
            out[k] += data[j] * x[indices[j]]
    return out


@kernel
def redirect_kernel(indptr, indices, data, market, gone, sector):
    """Moves the shares bought from firms in `gone` to the buyer's market of their sector (in
    place: `data` and `market`)."""
    for buyer in range(len(indptr) - 1):
        for j in range(indptr[buyer], indptr[buyer + 1]):
            if gone[indices[j]] and data[j] > 0.0:
                market[buyer, sector[indices[j]]] += data[j]
                data[j] = 0.0


@kernel
def market_weights_kernel(base_sales, alive, sector, sectors):
    total = np.zeros(sectors)
    for firm in range(len(base_sales)):
        if alive[firm]:
            total[sector[firm]] += base_sales[firm]
    weight = np.zeros(len(base_sales))
    for firm in range(len(base_sales)):
        if alive[firm] and total[sector[firm]] > 0.0:
            weight[firm] = base_sales[firm] / total[sector[firm]]
    return weight


@kernel
def draw_pattern(cdf, u, draws_per_buyer):
    """The drawn buyer-supplier pattern as CSR arrays (indptr, indices, data): buyer i's draws
    are u[start_i : start_i + draws_per_buyer[i]], each choosing the first supplier whose `cdf`
    exceeds it; a supplier's data is the number of times it was drawn; self-draws are dropped.

    A guide table (Chen and Asau) gives, for each of len(cdf) equal bins of (0, 1), the first
    supplier whose cdf exceeds the bin's start, so a draw searches a few entries, not the whole
    cdf; it finds the same supplier as a binary search.
    """
    n = len(draws_per_buyer)
    bins = len(cdf)
    guide = np.empty(bins, dtype=np.int64)
    first = 0
    for b in range(bins):
        while first < bins - 1 and cdf[first] <= b / bins:
            first += 1
        guide[b] = first
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices = np.empty(len(u), dtype=np.int64)
    data = np.empty(len(u))
    drawn = np.empty(max(1, draws_per_buyer.max()) if n else 1, dtype=np.int64)
    position = 0
    stored = 0
    for buyer in range(n):
        k = draws_per_buyer[buyer]
        for d in range(k):  # insertion sort of the buyer's draws, as they are made
            value = u[position + d]
            supplier = guide[min(int(value * bins), bins - 1)]
            while supplier < bins - 1 and cdf[supplier] <= value:
                supplier += 1
            while supplier > 0 and cdf[supplier - 1] > value:  # value*bins rounded up a bin
                supplier -= 1
            e = d
            while e > 0 and drawn[e - 1] > supplier:
                drawn[e] = drawn[e - 1]
                e -= 1
            drawn[e] = supplier
        position += k
        d = 0
        while d < k:
            supplier = drawn[d]
            count = 0
            while d < k and drawn[d] == supplier:
                count += 1
                d += 1
            if supplier != buyer:
                indices[stored] = supplier
                data[stored] = count
                stored += 1
        indptr[buyer + 1] = stored
    return indptr, indices[:stored].copy(), data[:stored].copy()


@kernel
def balance(indptr, indices, data, buyer, row_target, col_target, col_limit, sweeps):
    """Sinkhorn scaling of `data` (in place) toward the row and column targets, then the cap:
    no supplier receives by name more than `col_limit`, and rows are scaled to shares of
    the larger of what they buy by name and their target. Returns each row's share left to the
    sector markets.

    Each sweep scales rows then columns: one pass over the stored shares applies the previous
    sweep's column factors and sums each row, and a second applies the row factors and adds to the
    column sums: the same operations in the same order as sweeping separately, row by row. The
    passes run over the shares as one array (`buyer`: the row of each), with no branch at a row's
    end, so a row's sum is kept with a select rather than a loop per row.
    """
    n = len(indptr) - 1
    nnz = len(data)
    starts_row = np.zeros(nnz, dtype=np.bool_)
    for i in range(n):
        if indptr[i] < indptr[i + 1]:
            starts_row[indptr[i]] = True
    col_factor = np.ones(len(col_target))
    col_sum = np.zeros(len(col_target))
    row_sum = np.zeros(n)  # stays zero for a row without stored shares
    row_factor = np.empty(n)
    for _ in range(sweeps):
        total = 0.0
        for j in range(nnz):
            x = data[j] * col_factor[indices[j]]
            data[j] = x
            total = x if starts_row[j] else total + x
            row_sum[buyer[j]] = total  # the last store of a row leaves its sum
        for i in range(n):
            row_factor[i] = row_target[i] / (row_sum[i] if row_sum[i] > 0.0 else 1.0)
        col_sum[:] = 0.0
        for j in range(nnz):
            x = data[j] * row_factor[buyer[j]]
            data[j] = x
            col_sum[indices[j]] += x
        for c in range(len(col_target)):
            col_factor[c] = col_target[c] / (col_sum[c] if col_sum[c] > 0.0 else 1.0)
    for j in range(len(data)):
        data[j] *= col_factor[indices[j]]
    # Where the drawn pattern cannot balance (a buyer whose only supplier is tiny), cap what a
    # supplier receives by name and send the excess to the sector markets.
    col_sum[:] = 0.0
    for j in range(len(data)):
        col_sum[indices[j]] += data[j]
    for c in range(len(col_target)):
        col_factor[c] = min(1.0, col_limit[c] / (col_sum[c] if col_sum[c] > 0.0 else 1.0))
    to_market = np.empty(n)
    for i in range(n):
        total = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            data[j] *= col_factor[indices[j]]
            total += data[j]
        scale = max(total, row_target[i])
        if scale <= 0.0:
            scale = 1.0
        named = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            data[j] /= scale
            named += data[j]
        to_market[i] = max(0.0, 1.0 - named)
    return to_market
