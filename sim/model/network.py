"""The supplier network inside the complex.

Each firm buys a share of its inputs inside the complex. That share is split between named suppliers
(a sparse matrix of purchase shares, rows = buyers) and the open market of a sector (a dense
buyers x sectors matrix), which spreads orders over the sector's living firms by their size. When a
supplier exits its customers turn to the market of its sector; entrants buy through the markets.
Every row of `shares` plus `market` sums to one, so orders placed are orders received.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sim.inputs.names import SECTORS


@dataclass(slots=True)
class SupplierNetwork:
    # (slots, slots): buyer row, supplier column, share of in-complex purchases
    shares: sp.csr_array
    # (slots, sectors): share of in-complex purchases bought on a sector's market
    market: np.ndarray
    # (stored shares,): the buyer (row) of each stored share
    buyer: np.ndarray

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
    within a sector that has living firms). `shares_t`: `network.shares.T`, if the caller keeps it.
    """
    by_sector = orders @ network.market
    named = (network.shares.T if shares_t is None else shares_t) @ orders
    return named + by_sector[sector] * market_weight


def supplier_fill(
    network: SupplierNetwork, fill: np.ndarray, market_weight: np.ndarray, sector: np.ndarray
) -> np.ndarray:
    """Share of each buyer's orders that its suppliers deliver, given each supplier's fill rate."""
    market_fill = np.bincount(sector, weights=market_weight * fill, minlength=len(SECTORS))
    return network.shares @ fill + network.market @ market_fill


def rows_dot(network: SupplierNetwork, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`(network.shares @ x)[rows]`, computed for those rows only."""
    shares = network.shares
    start, stop = shares.indptr[rows], shares.indptr[rows + 1]
    length = stop - start
    position = np.arange(length.sum()) + np.repeat(start - np.cumsum(length) + length, length)
    owner = np.repeat(np.arange(len(rows)), length)
    values = shares.data[position] * x[shares.indices[position]]
    return np.bincount(owner, weights=values, minlength=len(rows))


def redirect_to_markets(network: SupplierNetwork, gone: np.ndarray, sector: np.ndarray) -> None:
    """Customers of the firms in `gone` (bool by slot) buy on their sector markets instead."""
    shares = network.shares
    lost = np.flatnonzero(gone[shares.indices] & (shares.data > 0))
    if not len(lost):
        return
    cell = network.buyer[lost] * len(SECTORS) + sector[shares.indices[lost]]
    flat = network.market.reshape(-1)
    flat += np.bincount(cell, weights=shares.data[lost], minlength=flat.size)
    shares.data[lost] = 0.0


def market_weights(base_sales: np.ndarray, alive: np.ndarray, sector: np.ndarray) -> np.ndarray:
    """Each living firm's share of its sector's market, by base-year sales."""
    weight = np.where(alive, base_sales, 0.0)
    total = np.bincount(sector, weights=weight, minlength=len(SECTORS))
    return weight / np.where(total > 0, total, 1.0)[sector]


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
    `suppliers_per_buyer`: number of supplier draws per buyer;
    `market_mix`: how a buyer left with no named supplier splits its purchases over sector markets;
    `supplier_cap`: if given, no supplier is sent by name more than this share of its capacity
    (for populations where suppliers sell most of their output inside the complex).
    """
    n = len(gross_inputs_in_complex)
    p = supplier_capacity / supplier_capacity.sum()
    buyers = np.repeat(np.arange(n), suppliers_per_buyer)
    suppliers = rng.choice(n, size=len(buyers), p=p)
    keep = suppliers != buyers
    pattern = sp.csr_array((np.ones(keep.sum()), (buyers[keep], suppliers[keep])), shape=(n, n))
    pattern.sum_duplicates()
    row_target = gross_inputs_in_complex
    reached = np.zeros(n)
    reached[pattern.indices] = 1.0
    col_target = supplier_capacity * reached
    col_target *= row_target.sum() / col_target.sum()
    flow = pattern.copy()
    rows = np.repeat(np.arange(n), np.diff(flow.indptr))
    for _ in range(sweeps):
        row_sum = np.bincount(rows, weights=flow.data, minlength=n)
        flow.data *= (row_target / np.where(row_sum > 0, row_sum, 1.0))[rows]
        col_sum = np.bincount(flow.indices, weights=flow.data, minlength=n)
        flow.data *= (col_target / np.where(col_sum > 0, col_sum, 1.0))[flow.indices]
    # Where the drawn pattern cannot balance (a buyer whose only supplier is tiny), cap what a
    # supplier receives by name at twice its target and send the excess to the sector markets.
    col_sum = np.bincount(flow.indices, weights=flow.data, minlength=n)
    limit = 2.0 * col_target
    if supplier_cap is not None:
        limit = np.minimum(limit, supplier_cap * supplier_capacity)
    flow.data *= np.minimum(1.0, limit / np.where(col_sum > 0, col_sum, 1.0))[flow.indices]
    named = np.bincount(rows, weights=flow.data, minlength=n)
    scale = np.maximum(named, row_target)
    flow.data /= np.where(scale > 0, scale, 1.0)[rows]
    to_market = np.maximum(0.0, 1.0 - np.bincount(rows, weights=flow.data, minlength=n))
    market = to_market[:, None] * market_mix[None, :]
    return SupplierNetwork(shares=flow, market=market, buyer=rows)
