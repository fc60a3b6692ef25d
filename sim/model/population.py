"""Synthesis of the 2024 population of firms from `calibration/` data and one parameter draw.

The synthesis reproduces the 2024 totals exactly (production, exports, employment, firm count) for
every draw: uncertain structure (sector mix, anchor shares, export shares, size spread) moves
firms' sizes and roles, and the totals are then matched by scaling.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from statistics import NormalDist

import numpy as np

from sim.inputs.names import EXPORT_PARTNERS, PARTNERS, SECTORS, population_spec
from sim.inputs.parameters import Parameters
from sim.model.defence import BaseYearDefence
from sim.model.firms import ADOPTED, INELIGIBLE, NOT_ADOPTED, FirmState
from sim.model.kernels import kernel
from sim.model.network import SupplierNetwork, build_network, market_weights, orders_received

US = PARTNERS.index("US")


@dataclass(frozen=True, slots=True)
class EntrantTemplate:
    """What a new firm of each sector looks like (arrays indexed by sector)."""

    sector_share: np.ndarray  # share of firms by sector; entrants follow it
    median_employment: float  # persons, median SME
    labour_productivity: np.ndarray  # gross output per worker, median SME of the sector
    partner_mix: np.ndarray  # (sectors, partners): SME final-demand mix of the sector
    wage: np.ndarray  # KRW of 2024 per worker per month, SME mean of the sector
    fixed_cost_share: np.ndarray  # fixed cost over sales, SME mean of the sector
    market_mix: np.ndarray  # (sectors,): how entrants split their in-complex purchases
    export_intensity: np.ndarray  # SME mean export intensity of the sector


@dataclass(slots=True)
class Population:
    firms: FirmState
    network: SupplierNetwork
    entrant: EntrantTemplate
    anchor_ids: tuple[str, ...]
    reference_employment: float  # median SME employment at the start; scales the adoption hazard
    base_year_totals: dict[str, float]
    scale: float = 1.0  # the population's size relative to the complex (smaller in tests)

    def copy(self) -> Population:
        """A copy whose arrays a model may change (firms, network, entrant template) while this
        one stays as it is."""
        template = self.entrant  # its arrays are copied, its numbers are immutable anyway
        entrant = replace(
            template, **{f.name: copy.copy(getattr(template, f.name)) for f in fields(template)}
        )
        return replace(
            self,
            firms=self.firms.copy(),
            network=self.network.copy(),
            entrant=entrant,
            base_year_totals=dict(self.base_year_totals),
        )


#: Exports are at most this share of a firm's final sales (the rest is sold at home).
EXPORT_CAP = 0.9
#: Named purchases a supplier may receive, as a share of its sales, where the first network
#: drawn would send some supplier more than it makes (see `synthesise`).
NAMED_SUPPLIER_CAP = 0.6
TOTAL_KEYS = ("production_krw", "exports_usd", "employment", "firms", "krw_per_usd")


def synthesise(
    params: Parameters,
    rng: np.random.Generator,
    firms: int | None = None,
    totals: Mapping[str, float] | None = None,
    defence: BaseYearDefence | None = None,
) -> Population:
    """Draw one 2024 population consistent with the parameters and the reported totals.

    `firms` draws a smaller (or larger) complex with the same structure, its totals scaled in
    proportion: for tests and the firm-by-firm comparison. `totals` replaces the 2024 totals of
    `population.yaml` with those of another base year (all of `TOTAL_KEYS`, production in that
    year's won, exports in USD at that year's `krw_per_usd`), as the 2020 population of the hindcast
    (`sim.analysis.hindcast`); the structure (shares, anchors, network) stays that of the data.
    """
    spec = population_spec()
    if totals is None:
        totals = {k: float(v["value"]) for k, v in spec["totals"].items() if "value" in v}
    else:
        missing = [key for key in TOTAL_KEYS if key not in totals]
        if missing:
            raise ValueError(f"base-year totals lack {', '.join(missing)}")
        totals = {key: float(totals[key]) for key in TOTAL_KEYS}
    defence = defence or BaseYearDefence(np.zeros(len(population_spec()["anchors"])), 0.0)
    scale = 1.0
    if firms is not None:
        scale = firms / totals["firms"]
        for key in ("production_krw", "exports_usd", "employment", "firms"):
            totals[key] *= scale
    n_firms = int(totals["firms"])
    monthly_sales = totals["production_krw"] / 12.0
    monthly_exports_krw = totals["exports_usd"] * totals["krw_per_usd"] / 12.0
    # The book's deliveries are anchors' exports; its work, anchors' production.
    defence_work = defence.work * scale  # real monthly, by anchor
    defence_deliveries = defence.deliveries_krw * scale
    anchors = spec["anchors"]
    n_anchor = len(anchors)
    n_sme = n_firms - n_anchor

    # --- who: sectors of the SMEs, then anchors first ------------------------------------------
    firm_share = sector_firm_shares(spec, params)
    sme_sector = np.repeat(np.arange(len(SECTORS)), largest_remainder(firm_share, n_sme))
    anchor_sector = np.array([SECTORS.index(a["sector"]) for a in anchors])
    sector = np.concatenate([anchor_sector, sme_sector])
    is_anchor = np.arange(n_firms) < n_anchor

    # --- how big: sales and employment ---------------------------------------------------------
    sector_sales = sector_production_shares(params) * monthly_sales
    anchor_sales = np.array([getattr(params, f"anchor_share_{a['id']}") for a in anchors])
    anchor_sales *= monthly_sales
    sme_pool = sector_sales - np.bincount(
        anchor_sector, weights=anchor_sales, minlength=len(SECTORS)
    )
    if (sme_pool <= 0).any():
        raise ValueError("anchor shares exceed their sector's production share")
    if (defence_work > 0.9 * anchor_sales).any():
        raise ValueError("the defence order book's work exceeds its primes' production")

    total_employment = totals["employment"]
    anchor_employment = params.anchor_share_of_employment * total_employment
    sme_mean = (total_employment - anchor_employment) / n_sme
    sigma = size_spread(sme_mean, params.small_firm_share)
    sme_size = np.exp(rng.normal(0.0, sigma, n_sme))
    sme_employment = np.maximum(1.0, sme_size * sme_mean / sme_size.mean())
    sme_employment *= (total_employment - anchor_employment) / sme_employment.sum()
    employment = np.concatenate(
        [anchor_sales / anchor_sales.sum() * anchor_employment, sme_employment]
    )

    raw_sales = sme_employment ** (1.0 + params.size_productivity_elasticity)
    sme_sales = raw_sales * (sme_pool / np.bincount(sme_sector, weights=raw_sales))[sme_sector]
    sales = np.concatenate([anchor_sales, sme_sales])  # real monthly sales at 2024 prices

    # --- production technology -----------------------------------------------------------------
    defect = np.full(n_firms, params.defect_rate_base)
    adoption = np.where(is_anchor, INELIGIBLE, NOT_ADOPTED)
    gains = adoption_gains(params, employment, rng.standard_normal((3, n_firms)))
    relative = np.array([spec["relative_export_intensity"]["values"][s] for s in SECTORS])

    # --- adopters by 2024: chosen as the hazard chooses them (size, exporting sector) ----------
    n_adopters = round(params.initial_adoption_share * n_sme)
    export_proxy = relative[sector] * monthly_exports_krw / monthly_sales
    weight = employment**params.adoption_size_elasticity * (
        1.0 + params.adoption_export_boost * export_proxy
    )
    weight[is_anchor] = 0.0
    adopters = weighted_sample(rng, weight, n_adopters)
    adoption[adopters] = ADOPTED
    defect[adopters] *= 1.0 - gains[1][adopters]

    # The in-complex network: SMEs supply anchors and each other.
    gross = sales / (1.0 - defect)
    in_complex_orders = params.in_complex_input_share * params.input_share * gross
    supplier_capacity = np.where(is_anchor, 0.0, sales)
    median_gross = median_kernel(gross)
    suppliers_per_buyer = np.clip(
        np.rint(params.suppliers_per_firm * (gross / median_gross) ** 0.25), 1, 200
    ).astype(int)
    market_mix = np.bincount(sector, weights=supplier_capacity, minlength=len(SECTORS))
    market_mix /= market_mix.sum()
    network = build_network(
        rng, in_complex_orders, supplier_capacity, suppliers_per_buyer, market_mix
    )
    weights = market_weights(sales, np.ones(n_firms, bool), sector)
    final = sales - orders_received(network, in_complex_orders, weights, sector)
    if (final < 0).any():
        # Only where SMEs sell most of their output inside the complex (parameters at the edge of
        # their ranges): a supplier named by many buyers would be sent more than it makes.
        network = build_network(
            rng,
            in_complex_orders,
            supplier_capacity,
            suppliers_per_buyer,
            market_mix,
            supplier_cap=NAMED_SUPPLIER_CAP,
        )
        final = sales - orders_received(network, in_complex_orders, weights, sector)
    final[:n_anchor] -= defence_work  # the book's work is not base demand
    if (final < 0).any():
        raise ValueError("supplier network sends a firm more orders than its sales")

    # --- exports: anchors make their assumed share, SMEs the rest ------------------------------
    export_weight = np.array([a["export_weight"] for a in anchors])
    sme_weight = relative[sme_sector] * np.exp(
        rng.normal(0.0, params.export_intensity_spread, n_sme)
    )
    anchor_total, sme_total = split_exports(
        params.anchor_share_of_exports * monthly_exports_krw - defence_deliveries,
        (1.0 - params.anchor_share_of_exports) * monthly_exports_krw,
        export_room(export_weight * anchor_sales, final[:n_anchor]),
        export_room(sme_weight * sme_sales, final[n_anchor:]),
    )
    anchor_exports = capped_allocation(export_weight * anchor_sales, final[:n_anchor], anchor_total)
    sme_exports = capped_allocation(sme_weight * sme_sales, final[n_anchor:], sme_total)
    exports = np.concatenate([anchor_exports, sme_exports])

    us_share = np.array([getattr(params, f"us_export_share_{s}") for s in SECTORS])[sector]
    us_share[:n_anchor] = [a["us_export_share"] for a in anchors]
    mix = spec["non_us_export_mix"]["values"]
    other_mix = np.array([[mix[s][p] for p in EXPORT_PARTNERS[1:]] for s in SECTORS])
    other_mix /= other_mix.sum(axis=1, keepdims=True)
    base_final = np.empty((n_firms, len(PARTNERS)))
    base_final[:, 0] = final - exports
    base_final[:, US] = exports * us_share
    base_final[:, US + 1 :] = (exports * (1.0 - us_share))[:, None] * other_mix[sector]

    # --- costs and money -------------------------------------------------------------------------
    inputs = params.input_share * gross
    value_added = sales - inputs
    wage_bill_total = params.annual_wage_krw / 12.0 * total_employment
    labour_share = wage_bill_total / value_added.sum()
    wage = labour_share * value_added / employment
    # Anchors earn the mean margin: their plants' results within a large group are not at risk.
    spread = np.where(is_anchor, 0.0, params.margin_spread)
    margin = params.operating_margin + spread * rng.standard_normal(n_firms)
    margin = np.minimum(margin, 0.9 * (value_added - wage * employment) / sales)
    fixed_cost = np.maximum(0.0, value_added - wage * employment - margin * sales)
    cash = params.cash_months * sales

    firms = FirmState(
        sector=sector.astype(np.int64),
        anchor=np.where(is_anchor, np.arange(n_firms), -1).astype(np.int64),
        alive=np.ones(n_firms, dtype=bool),
        base_final=base_final,
        base_sales=sales.copy(),
        capacity=gross / params.operating_rate,
        productivity=np.ones(n_firms),
        defect_rate=defect.copy(),
        base_defect_rate=np.full(n_firms, params.defect_rate_base),
        unit_cost=np.ones(n_firms),
        firm_shock=stationary_sd(params) * rng.standard_normal(n_firms),
        diverted=np.zeros(n_firms),
        orders=params.in_complex_input_share * inputs,
        employment=employment.copy(),
        labour_productivity=gross / employment,
        wage=wage,
        fixed_cost=fixed_cost,
        cash=cash,
        distress_months=np.zeros(n_firms, dtype=np.int64),
        adoption=adoption.astype(np.int64),
        adoption_month=np.full(n_firms, -(10**6), dtype=np.int64),
        gain_productivity=gains[0],
        gain_defects=gains[1],
        gain_cost=gains[2],
        export_intensity=exports / sales,
    )
    sme = ~is_anchor
    median_employment = median_kernel(sme_employment)
    entrant = EntrantTemplate(
        sector_share=firm_share,
        median_employment=median_employment,
        labour_productivity=sector_median(sme_sector, (gross / employment)[sme]),
        partner_mix=sector_mean_rows(sme_sector, base_final[sme] / sales[sme, None]),
        wage=sector_mean(sme_sector, wage[sme]),
        fixed_cost_share=sector_mean(sme_sector, (fixed_cost / sales)[sme]),
        market_mix=market_mix,
        export_intensity=sector_mean(sme_sector, (exports / sales)[sme]),
    )
    return Population(
        firms=firms,
        network=network,
        entrant=entrant,
        anchor_ids=tuple(a["id"] for a in anchors),
        reference_employment=median_employment,
        base_year_totals=totals,
        scale=scale,
    )


def stationary_sd(params: Parameters) -> float:
    """Standard deviation of the firm demand shock in its stationary state."""
    return float(np.sqrt(params.firm_shock_sd**2 / (1.0 - params.firm_shock_persistence**2)))


def sector_production_shares(params: Parameters) -> np.ndarray:
    raw = np.array([getattr(params, f"sector_production_share_{s}") for s in SECTORS])
    return raw / raw.sum()


def sector_firm_shares(spec: dict, params: Parameters) -> np.ndarray:
    """Share of firms by sector: the end-2022 counts, 'other' split into steel and other."""
    counts = spec["firms_by_sector_2022"]["counts"]
    other = counts["other"]
    by_sector = {
        **counts,
        "steel": other * params.steel_share_of_other_firms,
        "other": other * (1.0 - params.steel_share_of_other_firms),
    }
    shares = np.array([by_sector[s] for s in SECTORS], dtype=float)
    return shares / shares.sum()


def size_spread(mean: float, share_below_50: float) -> float:
    """Lognormal sigma of SME employment with the given mean and share of firms below 50 persons.

    Solves Phi((ln 50 - mu) / sigma) = share with mu = ln(mean) - sigma^2 / 2 and takes the heavy-
    tailed root. Where no sigma reaches the share, the one that comes closest (sigma = z) is used.
    """
    z = NormalDist().inv_cdf(share_below_50)
    c = np.log(50.0) - np.log(mean)
    disc = max(0.0, 4.0 * z * z - 8.0 * c)
    return float((2.0 * z + np.sqrt(disc)) / 2.0)


def largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to `shares` that add up to `total`."""
    exact = shares / shares.sum() * total
    counts = np.floor(exact).astype(int)
    short = total - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts


def export_room(weight: np.ndarray, cap: np.ndarray) -> float:
    """The most `capped_allocation` can place: 90% of the caps of the firms with a weight."""
    return float((EXPORT_CAP * cap)[weight > 0].sum())


def split_exports(
    anchor_target: float, sme_target: float, anchor_room: float, sme_room: float
) -> tuple[float, float]:
    """The anchors' and the SMEs' exports: their assumed shares of the total, except that a group
    whose final sales cannot carry its share passes the rest to the other (parameter draws at the
    edge of their ranges: small anchors that would make most of the exports). The anchors'
    target is net of the order book's deliveries; where these exceed the anchors' share, the
    SMEs' exports make room for them."""
    if anchor_target < 0.0:
        anchor_target, sme_target = 0.0, max(0.0, sme_target + anchor_target)
    if anchor_target > anchor_room:
        return anchor_room, sme_target + (anchor_target - anchor_room)
    if sme_target > sme_room:
        return anchor_target + (sme_target - sme_room), sme_room
    return anchor_target, sme_target


def capped_allocation(weight: np.ndarray, cap: np.ndarray, total: float) -> np.ndarray:
    """Split `total` in proportion to `weight`, no firm above 90% of its `cap`.

    Firms at their cap keep it and the rest is shared among the others, until nothing is left over.
    """
    limit = EXPORT_CAP * cap
    if total > limit[weight > 0].sum():
        raise ValueError("exports exceed what the firms' final sales allow")
    out = np.zeros_like(weight)
    free = weight > 0
    remaining = total
    while True:
        if not free.any():  # every firm at its cap: the total fitted exactly
            return out
        share = np.where(free, weight, 0.0)
        trial = remaining * share / share.sum()
        over = free & (trial > limit)
        if not over.any():
            return out + trial
        out[over] = limit[over]
        remaining -= limit[over].sum()
        free &= ~over


def adoption_gains(
    params: Parameters, employment: np.ndarray, normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each firm's productivity, defect and unit-cost gains once its ramp is complete.

    Gains are mean-one lognormal multiples of the calibrated means (coefficient of variation
    `ai_effect_spread`), from `normals` of shape (3, firms); firms with fewer than 10 employees get
    the small-firm productivity premium.
    """
    spread = params.ai_effect_spread
    sigma = np.sqrt(np.log1p(spread**2))
    draws = np.exp(sigma * normals - 0.5 * sigma**2)
    small = np.where(employment < 10, 1.0 + params.ai_small_firm_premium, 1.0)
    productivity = params.ai_productivity_gain * small * draws[0]
    defects = np.minimum(0.95, params.ai_defect_reduction * draws[1])
    cost = np.minimum(0.5, params.ai_unit_cost_reduction * draws[2])
    return productivity, defects, cost


def weighted_sample(rng: np.random.Generator, weight: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn with probability proportional to `weight` (Efraimidis-Spirakis):
    the k largest keys log(u) / weight, in decreasing order, ties to the lower index."""
    return top_keys_kernel(rng.random(len(weight)), weight, k)


def sector_mean(sector: np.ndarray, values: np.ndarray) -> np.ndarray:
    return sector_means_kernel(sector, values[:, None], len(SECTORS))[:, 0]


def sector_median(sector: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The median of `values` in each sector (zero for a sector without firms)."""
    return sector_median_kernel(sector, values, len(SECTORS))


def sector_mean_rows(sector: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return sector_means_kernel(sector, rows, len(SECTORS))


# --- compiled kernels (conventions: sim.model.kernels) --------------------------------------------


@kernel
def top_keys_kernel(u, weight, k):
    """`np.argsort(-keys, kind="stable")[:k]` of keys log(u) / weight (minus infinity where the
    weight is not positive), without sorting them all: the k-th largest key is found by
    partition, the indices above it (and as many at it as needed, lowest first) are taken, and
    those are sorted stably."""
    n = len(u)
    k = max(0, min(k, n))
    keys = np.empty(n)
    for i in range(n):
        keys[i] = np.log(u[i]) / weight[i] if weight[i] > 0 else -np.inf
    if k == 0:
        return np.empty(0, dtype=np.int64)
    threshold = -np.partition(-keys, k - 1)[k - 1]
    chosen = np.empty(k, dtype=np.int64)
    m = 0
    for i in range(n):
        if keys[i] > threshold:
            chosen[m] = i
            m += 1
    for i in range(n):
        if m == k:
            break
        if keys[i] == threshold:
            chosen[m] = i
            m += 1
    order = np.argsort(-keys[chosen], kind="mergesort")
    return chosen[order]


@kernel
def sector_means_kernel(sector, values, sectors):
    """The mean of each column of `values` by sector (zero for a sector without firms), the sums
    in firm order as `np.bincount` makes them."""
    total = np.zeros((sectors, values.shape[1]))
    count = np.zeros(sectors, dtype=np.int64)
    for i in range(len(sector)):
        count[sector[i]] += 1
        for p in range(values.shape[1]):
            total[sector[i], p] += values[i, p]
    for s in range(sectors):
        for p in range(values.shape[1]):
            total[s, p] /= max(count[s], 1)
    return total


@kernel
def sector_median_kernel(sector, values, sectors):
    """`np.median` of the values of each sector (zero for a sector without firms)."""
    count = np.zeros(sectors, dtype=np.int64)
    for i in range(len(sector)):
        count[sector[i]] += 1
    out = np.zeros(sectors)
    for s in range(sectors):
        if count[s] == 0:
            continue
        mine = np.empty(count[s])
        m = 0
        for i in range(len(sector)):
            if sector[i] == s:
                mine[m] = values[i]
                m += 1
        out[s] = median_kernel(mine)
    return out


@kernel
def median_kernel(values):
    """`np.median` of a non-empty array without NaN: the middle value, or the mean of the
    middle two (found by partition, not by sorting)."""
    half = len(values) // 2
    parted = np.partition(values, half)
    if len(values) % 2 == 1:
        return parted[half]
    return (parted[:half].max() + parted[half]) / 2.0
