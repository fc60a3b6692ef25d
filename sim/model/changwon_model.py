"""The model of the complex: a `mesa.Model` whose firms' state is held as arrays.

`ChangwonModel.step` is the month, one named action per line, in economic order. The actions are
thin: they call the pure rules in `sim.model.rules`, `sim.model.network` and `sim.model.population`
and write the results into the state. Firms are also Mesa agents (`FirmAgent`), each a view onto its
row, made only when asked for (`firm_agents()`), because making thousands of agents per replicate
would cost as much as simulating it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import mesa
import numpy as np

from sim.inputs.names import PARTNERS, SECTORS, anchor_ids, population_spec
from sim.inputs.parameters import Parameters
from sim.model import rules
from sim.model.defence import pipeline_order, schedule
from sim.model.draws import MonthDraws, draw_month, month_generator, month_key
from sim.model.environment import Environment
from sim.model.firms import ADOPTED, ADOPTING, INELIGIBLE, NOT_ADOPTED, FirmState
from sim.model.indicators import INDICATOR_NAMES, month_indicators
from sim.model.network import (
    market_weights,
    orders_received,
    redirect_to_markets,
    rows_dot,
    supplier_fill,
)
from sim.model.population import Population, adoption_gains, stationary_sd

US = PARTNERS.index("US")
ONES_BY_PARTNER = np.ones(len(PARTNERS))
LEDGER = (
    "external_sales",  # exports, domestic final sales, defence work
    "in_complex_sales",
    "in_complex_purchases",
    "outside_purchases",
    "wages",
    "fixed_costs",
    "payouts",
    "adoption_costs",
    "support_credit",
    "entrant_cash",
    "exit_cash",  # cash of exiting firms, leaving the complex with them
    "cash_end",
)
LEDGER_COLUMN = {name: k for k, name in enumerate(LEDGER)}


@dataclass(slots=True)
class Month:
    """Scratch quantities of the month being stepped (arrays by firm slot unless stated)."""

    k: int = 0  # index of the month in the period
    month: int = 0  # month number
    price: float = 1.0  # producer price level
    export_price: float = 1.0  # won received per real unit of exports
    unit_revenue: np.ndarray | None = None  # (sectors, partners) won per real unit sold
    final: np.ndarray | None = None  # (slots, partners) final demand, real
    network: np.ndarray | None = None  # in-complex orders received, real
    defence: np.ndarray | None = None  # defence work due, real
    defence_krw: np.ndarray | None = None  # defence work due, nominal
    demand: np.ndarray | None = None
    gross: np.ndarray | None = None
    sales: np.ndarray | None = None  # real
    revenue: np.ndarray | None = None  # nominal value of the sales
    fill: np.ndarray | None = None
    inputs: np.ndarray | None = None
    value_added: np.ndarray | None = None  # nominal
    profit: np.ndarray | None = None  # nominal
    tariff_cost: np.ndarray | None = None  # nominal price cuts absorbing tariffs (a memo)
    entries: int = 0
    exits: int = 0
    diverted_sold: np.ndarray | None = None  # re-routed sales made, real
    entrant_slots: np.ndarray | None = None

    def pad(self, extra: int) -> None:
        """Give the month's firm arrays room for `extra` new slots (entrants made nothing yet)."""
        for name in ARRAYS_BY_SLOT:
            old = getattr(self, name)
            if old is not None:
                setattr(self, name, np.concatenate([old, np.zeros((extra, *old.shape[1:]))]))


ARRAYS_BY_SLOT = (
    "final",
    "network",
    "defence",
    "defence_krw",
    "demand",
    "gross",
    "sales",
    "revenue",
    "fill",
    "inputs",
    "value_added",
    "profit",
    "tariff_cost",
    "diverted_sold",
)


#: What a firm agent shows of its row: every field of `FirmState`.
FIRM_FIELDS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(FirmState))


class FirmAgent(mesa.Agent):
    """A firm as a Mesa agent: a view onto row `slot` of the model's firm arrays. Each field of
    `sim.model.firms.FirmState` reads as an attribute (`agent.employment`); `dir(agent)` lists
    them, so notebooks complete them, and `state()` gives them all at once."""

    def __init__(self, model: ChangwonModel, slot: int) -> None:
        super().__init__(model)
        self.slot = slot

    def __getattr__(self, name: str):
        firms = self.__dict__.get("model").firms if "model" in self.__dict__ else None
        if firms is not None and name in FIRM_FIELDS:
            return getattr(firms, name)[self.slot]
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *FIRM_FIELDS})

    def state(self) -> dict[str, object]:
        """The firm's row now: every field of `FirmState` by name."""
        return {name: getattr(self, name) for name in FIRM_FIELDS}

    @property
    def sector_name(self) -> str:
        return SECTORS[self.model.firms.sector[self.slot]]


class ChangwonModel(mesa.Model):
    """The firms of the complex, stepped one month at a time."""

    def __init__(
        self,
        population: Population,
        environment: Environment,
        params: Parameters,
        month_seeds: np.random.SeedSequence,
        replicate: int = 0,
    ) -> None:
        # Mesa's own generator is seeded from the month seeds; the model draws from one
        # generator per month (see sim.model.draws).
        super().__init__(rng=np.random.default_rng(month_seeds))
        self.month_key = month_key(month_seeds)
        self.replicate = replicate
        self.params = params
        self.env = environment
        self.firms: FirmState = population.firms
        self.network = population.network
        self.entrant = population.entrant
        self.reference_employment = population.reference_employment
        self.firms_created = self.firms.slots
        self.base_firms = self.firms.slots
        # Room for two years of entrants at a time: growing the arrays is costly.
        self.slot_buffer = max(24, int(2 * params.entry_rate * self.firms.slots))
        # The order book: the scenario's and the pipeline's orders are added as they are signed.
        self.defence_work = environment.defence_work.copy()
        self.defence_deliveries = environment.defence_deliveries.copy()
        self.defence_backlog = environment.defence_backlog
        # The complex-wide shock starts from the momentum of the last observed half-year; its
        # mean-one correction uses the variance it has gathered since.
        self.common_shock = environment.complex_shock_start
        rho, sd = params.complex_shock_persistence, params.complex_shock_sd
        k = np.arange(len(environment.months))
        self.common_variance = sd**2 * (1.0 - rho ** (2 * (k + 1))) / (1.0 - rho**2)
        self.labour_trend_step = (1.0 + params.labour_productivity_growth) ** (1.0 / 12.0)
        self.labour_trend = 1.0  # output per worker relative to the base year
        self.region_jobs: float | None = None  # jobs induced beyond the complex, lagged
        self.slots_left = 0.0
        self.credit_left = environment.credit_line_krw
        self.diverting = False  # becomes true with the first US tariff
        self.diversion_mix = diversion_mix()
        self.us_exporter = self.firms.base_final[:, US] > 0
        self.market_weight = market_weights(
            self.firms.base_sales, self.firms.alive, self.firms.sector
        )
        # Propensity to adopt is fixed by a firm's base-year size and exporting; scaled to mean one.
        eligible = self.firms.adoption != INELIGIBLE
        raw = self.propensity_of(self.firms.employment, self.firms.export_intensity, 1.0)
        self.propensity_scale = 1.0 / raw[eligible].mean()
        self.propensity = np.where(eligible, raw * self.propensity_scale, 0.0)
        self.cost_advantage = np.ones(self.firms.slots)  # unit_cost ** -cost_demand_elasticity
        # Who has adopted (1.0) among living firms, and counts by sector, kept up to date as
        # firms adopt, exit and enter: the adoption hazard reads them every month.
        f = self.firms
        self.adopted = (f.alive & ((f.adoption == ADOPTING) | (f.adoption == ADOPTED))) * 1.0
        self.sector_adopters = sector_count(f.sector, self.adopted > 0)
        self.sector_candidates = sector_count(f.sector, f.alive & eligible)
        self.shares_t = self.network.shares.T  # supplier-major view, shares the data
        self.firm_shock_variance = stationary_sd(params) ** 2
        self.speeds = {
            "capacity": rules.monthly_speed(params.capacity_adjust_months),
            "employment": rules.monthly_speed(params.employment_adjust_months),
        }
        self.exit_after = round(params.exit_after_months)
        # Anchors do not exit: the plants of large groups are restructured, not closed, within
        # the horizon, and their finance is the group's.
        self.may_exit = self.firms.alive & (self.firms.anchor < 0)
        self.sme_alive = self.may_exit.copy()  # living SMEs: they share a sector's demand
        # The SMEs' base demand by sector and buyer: churn moves it between them, never changes it.
        self.sme_demand = rules.sector_partner_total(
            self.firms.base_final, self.firms.sector, np.flatnonzero(self.sme_alive), len(SECTORS)
        )
        n_months = len(environment.months)
        self.indicators = np.zeros((n_months, len(INDICATOR_NAMES)))
        self.ledger = np.zeros((n_months, len(LEDGER)))
        self.now = Month()

    # --- one month -------------------------------------------------------------------------------

    def step(self) -> None:
        draws = self.draw()  # all of this month's randomness, drawn first
        # 1. environment
        self.read_environment()  # drivers, prices of exports, programme slots
        self.move_demand_shocks(draws)  # the complex-wide common shock and each firm's own
        # 2. demand
        self.demand_from_buyers()  # base x buyer's demand x price and tariff responses x shocks
        self.divert_lost_us_sales()
        self.orders_from_customers()  # last month's in-complex purchases, through the network
        self.defence_work_due()  # the order book's work of the month, at the primes
        # 3. production
        self.produce()  # capacity x productivity, defects, sales at their prices, inputs
        self.adjust_capacity()
        # 4. tariff absorption
        self.absorb_tariffs()  # the exporters' price cuts: in export value and margins, once
        # 5. finance
        self.settle_accounts()  # profit to cash, payouts leave the complex
        self.lend_export_support()
        self.exit_firms(draws)  # distress and business demography; demand goes to sector peers
        self.enter_new_firms(draws)  # entrants take their demand from sector peers
        # 6. employment
        self.raise_output_per_worker()  # the calibrated trend, wages with it
        self.adjust_employment()
        # 7. AI-factory adoption
        self.adopt_ai_factories(draws)  # hazard, slots, cash, up-front cost
        self.ramp_adoption_effects()
        # 8. defence exports
        self.book_pipeline_orders(draws)
        # 9. record
        self.record()
        self.now.k += 1

    # --- actions ---------------------------------------------------------------------------------

    def draw(self) -> MonthDraws:
        k = self.now.k
        return draw_month(
            month_generator(self.month_key, k),
            self.base_firms,
            self.firms_created,
            np.count_nonzero(self.firms.alive),
            self.params.entry_rate,
            float(self.env.pipeline_rate[k]),
        )

    def read_environment(self) -> None:
        now, env = self.now, self.env
        k = now.k
        now.month = int(env.months[k])
        now.price = float(env.price[k])
        now.export_price = float(env.export_price[k])
        now.unit_revenue = rules.unit_revenue(now.price, now.export_price, env.tariff_price[k])
        self.slots_left += float(env.programme_slots[k])

    def move_demand_shocks(self, draws: MonthDraws) -> None:
        p, f = self.params, self.firms
        self.common_shock = float(
            rules.shock_step(
                self.common_shock,
                p.complex_shock_persistence,
                p.complex_shock_sd,
                draws.common_noise,
            )
        )
        n = self.firms_created
        f.firm_shock[:n] = rules.shock_step(
            f.firm_shock[:n], p.firm_shock_persistence, p.firm_shock_sd, draws.firm_noise
        )

    def demand_from_buyers(self) -> None:
        k, f, env = self.now.k, self.firms, self.env
        common = np.exp(self.common_shock - 0.5 * self.common_variance[k])
        factor = rules.sector_partner_factor(
            env.demand_index[k] * common, float(env.export_volume[k]), env.tariff_volume[k]
        )
        firm_factor = rules.firm_demand_factor(
            f.firm_shock, self.firm_shock_variance, self.cost_advantage
        )
        self.now.final = rules.final_demand(f.base_final, factor, f.sector, firm_factor * f.alive)

    def divert_lost_us_sales(self) -> None:
        f, env, k = self.firms, self.env, self.now.k
        if not self.diverting and (env.tariff_volume[k, US] == 1.0).all():
            return  # no US tariff and nothing re-routed yet
        self.diverting = True
        lost = rules.lost_to_tariff(self.now.final[:, US], env.tariff_volume[k, US][f.sector])
        boost = env.diversion_boost if env.support_active[k] else 0.0
        speed = rules.monthly_speed(self.params.diversion_months / (1.0 + boost))
        f.diverted = rules.divert(f.diverted, lost, self.params.diversion_share, speed)

    def orders_from_customers(self) -> None:
        f = self.firms
        self.now.network = orders_received(
            self.network, f.orders, self.market_weight, f.sector, self.shares_t
        )

    def defence_work_due(self) -> None:
        work = self.defence_work[self.now.k].sum(axis=1)  # nominal, by anchor
        defence = np.zeros(self.firms.slots)
        defence[: len(work)] = work * self.firms.alive[: len(work)]
        self.now.defence_krw = defence
        self.now.defence = defence / self.now.price

    def produce(self) -> None:
        now, f, p = self.now, self.firms, self.params
        now.demand = now.final @ ONES_BY_PARTNER + f.diverted + now.network + now.defence
        now.gross, now.sales, fill = rules.produce(
            now.demand, f.defect_rate, f.capacity, f.productivity
        )
        now.fill = fill * f.alive  # a firm that has left delivers nothing
        now.diverted_sold = f.diverted * now.fill
        now.inputs = rules.inputs_needed(now.gross, p.input_share, f.unit_cost)
        now.revenue = now.fill * (
            rules.sales_value(now.final, now.unit_revenue, f.sector)
            + f.diverted * now.export_price
            + now.network * now.price
            + now.defence_krw
        )

    def adjust_capacity(self) -> None:
        now, f, p = self.now, self.firms, self.params
        desired = now.demand / (1.0 - f.defect_rate) / (f.productivity * p.operating_rate)
        # A firm that has left has no capacity and no demand, so it stays at zero.
        f.capacity = rules.adjust_toward(f.capacity, desired, self.speeds["capacity"])

    def absorb_tariffs(self) -> None:
        now, f, env = self.now, self.firms, self.env
        now.tariff_cost = rules.absorbed_tariff(
            now.final * now.fill[:, None], now.export_price, env.tariff_price[now.k], f.sector
        )

    def settle_accounts(self) -> None:
        now, f, p = self.now, self.firms, self.params
        delivered = f.orders * supplier_fill(self.network, now.fill, self.market_weight, f.sector)
        bought = rules.purchases(now.inputs, delivered)
        now.value_added = now.revenue - bought * now.price
        wages = f.employment * f.wage * now.price
        fixed = f.fixed_cost * now.price  # zero for a firm that has left
        now.profit = now.value_added - wages - fixed
        payout = p.payout_rate * np.maximum(now.profit, 0.0)
        f.cash = f.cash + now.profit - payout
        f.orders = p.in_complex_input_share * now.inputs
        in_complex_sales = (now.network @ now.fill) * now.price
        self.book(
            external_sales=now.revenue.sum() - in_complex_sales,
            in_complex_sales=in_complex_sales,
            in_complex_purchases=delivered.sum() * now.price,
            outside_purchases=(bought - delivered).sum() * now.price,
            wages=wages.sum(),
            fixed_costs=fixed.sum(),
            payouts=payout.sum(),
        )

    def lend_export_support(self) -> None:
        if not self.env.support_active[self.now.k]:
            return
        f = self.firms
        credit = rules.support_credit(
            f.cash, f.alive & self.us_exporter[: f.slots], self.credit_left
        )
        f.cash = f.cash + credit
        self.credit_left -= credit.sum()
        self.book(support_credit=credit.sum())

    def exit_firms(self, draws: MonthDraws) -> None:
        f, p = self.firms, self.params
        line = p.exit_debt_months * self.now.price * f.base_sales
        f.distress_months = rules.distress_count(f.distress_months, f.cash, line) * self.may_exit
        distressed = f.distress_months >= self.exit_after
        n = len(draws.exit_e)  # firms of the month's start: entrants do not leave at once
        leaving = distressed.copy()
        leaving[:n] |= rules.leaves_by_demography(draws.exit_e, p.exit_rate) & self.may_exit[:n]
        self.now.exits = np.count_nonzero(leaving)
        if not self.now.exits:
            return
        self.book(exit_cash=f.cash[leaving].sum())
        self.sector_adopters -= sector_count(f.sector, leaving & (self.adopted > 0))
        self.sector_candidates -= sector_count(f.sector, leaving)  # anchors never leave
        self.adopted[leaving] = 0.0
        # The SMEs' total demand by sector and buyer stays what it was: what the leaving firms
        # had goes to the SMEs that stay.
        moved = rules.sector_partner_total(
            f.base_final, f.sector, np.flatnonzero(leaving), len(SECTORS)
        )
        stay = rules.churn_factor(self.sme_demand - moved, moved)
        f.base_final, f.base_sales = rules.rescale_sector_demand(
            f.base_final, f.base_sales, f.sector, self.sme_alive & ~leaving, stay
        )
        f.alive[leaving] = False
        self.sme_alive[leaving] = False
        self.may_exit[leaving] = False
        f.cash[leaving] = 0.0
        f.employment[leaving] = 0.0
        f.capacity[leaving] = 0.0
        f.fixed_cost[leaving] = 0.0
        f.orders[leaving] = 0.0
        f.diverted[leaving] = 0.0
        redirect_to_markets(self.network, leaving, f.sector)

    def enter_new_firms(self, draws: MonthDraws) -> None:
        count = len(draws.entrant_sector_u)
        self.now.entries = count
        self.now.entrant_slots = np.arange(self.firms_created, self.firms_created + count)
        if count:
            if self.firms_created + count > self.firms.slots:
                self.make_room(max(count, self.slot_buffer))
            self.firms_created += count
            self.book(entrant_cash=self.place_entrants(self.now.entrant_slots, draws))
        if count or self.now.exits:  # sector markets now have other firms in them
            f = self.firms
            self.market_weight = market_weights(f.base_sales, f.alive, f.sector)

    def raise_output_per_worker(self) -> None:
        factor = self.labour_trend_step
        self.labour_trend *= factor
        self.firms.labour_productivity *= factor
        self.firms.wage *= factor  # the wage bill per unit of output stays the same
        self.entrant.labour_productivity[:] *= factor
        self.entrant.wage[:] *= factor

    def adjust_employment(self) -> None:
        now, f = self.now, self.firms
        needed = rules.labour_needed(
            now.gross, f.labour_productivity, f.productivity, self.params.ai_labour_saving
        )
        needed[now.entrant_slots] = f.employment[now.entrant_slots]  # they start at their size
        f.employment = np.where(
            f.alive, rules.adjust_toward(f.employment, needed, self.speeds["employment"]), 0.0
        )

    def adopt_ai_factories(self, draws: MonthDraws) -> None:
        f, p, env, now = self.firms, self.params, self.env, self.now
        n = len(draws.adoption_e)  # firms of the month's start: entrants adopt from next month
        offering = bool(env.programme_active[now.k]) and self.slots_left >= 1.0
        share = env.subsidy_share if offering else 0.0
        boost = 1.0 + p.subsidy_hazard_boost * share
        # A firm decides to adopt when its exponential draw falls below its (boosted) rate. The
        # rate is at most (p + q) x propensity / 12, so only firms under that bound are examined.
        e = draws.adoption_e
        bound = (p.bass_p + p.bass_q) * boost / 12.0 * self.propensity[:n]
        eligible = f.alive[:n] & (f.adoption[:n] == NOT_ADOPTED)
        near = np.flatnonzero(eligible & (e < bound))
        peers, sector_share = self.peer_adoption_share(near)
        rate = rules.adoption_rate(
            peers,
            sector_share[f.sector[near]],
            self.propensity[near],
            p.bass_p,
            p.bass_q,
            p.adoption_potential,
        )
        cost = rules.adoption_cost(
            f.employment[near],
            p.adoption_cost_base_krw,
            p.adoption_cost_per_employee_krw,
            now.price,
        )
        cash = f.cash[near]
        granted = np.zeros(len(near), dtype=bool)
        if offering:
            keen = (e[near] < rate * boost) & (cash >= (1.0 - share) * cost)
            # Slots go to the keenest applicants (lowest draws relative to their rate first).
            candidates = np.flatnonzero(keen)
            order = candidates[np.argsort(e[near][candidates] / rate[candidates], kind="stable")]
            granted[order[: int(self.slots_left)]] = True
            self.slots_left -= np.count_nonzero(granted)
        unaided = ~granted & (e[near] < rate) & (cash >= cost)
        paid = np.where(granted, (1.0 - share) * cost, 0.0) + np.where(unaided, cost, 0.0)
        adopters = near[granted | unaided]
        f.cash[near] -= paid
        f.adoption[adopters] = ADOPTING
        f.adoption_month[adopters] = now.month
        self.adopted[adopters] = 1.0
        self.sector_adopters += sector_count(f.sector[adopters])
        self.book(adoption_costs=paid.sum())

    def ramp_adoption_effects(self) -> None:
        f = self.firms
        ramping = np.flatnonzero(f.adoption == ADOPTING)
        if not len(ramping):
            return
        progress = rules.ramp(self.now.month, f.adoption_month[ramping], self.params.ramp_months)
        f.productivity[ramping] = 1.0 + f.gain_productivity[ramping] * progress
        f.defect_rate[ramping] = f.base_defect_rate[ramping] * (
            1.0 - f.gain_defects[ramping] * progress
        )
        f.unit_cost[ramping] = 1.0 - f.gain_cost[ramping] * progress
        self.cost_advantage[ramping] = f.unit_cost[ramping] ** -self.params.cost_demand_elasticity
        f.adoption[ramping[progress >= 1.0]] = ADOPTED

    def book_pipeline_orders(self, draws: MonthDraws) -> None:
        pipeline, p = self.env.pipeline, self.params
        for u_value, u_prime in zip(draws.order_value_u, draws.order_prime_u, strict=True):
            primes = pipeline.primes
            prime = primes[min(int(u_prime * len(primes)), len(primes) - 1)]
            order = pipeline_order(
                anchor_ids().index(prime),
                PARTNERS.index(pipeline.partner),
                self.now.month,
                pipeline.value_usd.ppf(float(u_value)),
            )
            booked = schedule(
                [order],
                self.env.months,
                self.env.krw_per_usd,
                self.defence_work.shape[1],
                p.defence_build_months,
                p.defence_in_complex_share,
                self.env.defence_scale,
            )
            self.defence_work += booked.work
            self.defence_deliveries += booked.deliveries
            self.defence_backlog += booked.signed.sum()

    def record(self) -> None:
        now, f = self.now, self.firms
        k = now.k
        self.defence_backlog += self.env.defence_signed[k] - self.defence_work[k].sum()
        self.indicators[k] = month_indicators(self, now)
        self.book(cash_end=f.cash.sum())

    # --- helpers ---------------------------------------------------------------------------------

    def book(self, **flows: float) -> None:
        for name, value in flows.items():
            self.ledger[self.now.k, LEDGER_COLUMN[name]] += value

    def peer_adoption_share(self, firms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Adoption among the sector peers and suppliers (weighted) of the given firms, and the
        adoption share of each sector.
        """
        f, p = self.firms, self.params
        sector_share = self.sector_adopters / np.maximum(self.sector_candidates, 1)
        suppliers = rows_dot(self.network, firms, self.adopted) + (
            self.network.market[firms] @ sector_share
        )
        w = p.network_peer_weight
        return (1.0 - w) * sector_share[f.sector[firms]] + w * suppliers, sector_share

    def propensity_of(self, employment: np.ndarray, export_intensity: np.ndarray, scale: float):
        p = self.params
        return rules.adoption_propensity(
            employment,
            self.reference_employment,
            export_intensity,
            p.adoption_size_elasticity,
            p.adoption_export_boost,
            scale,
        )

    def make_room(self, extra: int) -> None:
        self.firms.grow(extra)
        self.now.pad(extra)
        self.network.grow(extra, self.entrant.market_mix)
        self.us_exporter = np.concatenate([self.us_exporter, np.zeros(extra, dtype=bool)])
        self.market_weight = np.concatenate([self.market_weight, np.zeros(extra)])
        self.propensity = np.concatenate([self.propensity, np.zeros(extra)])
        self.may_exit = np.concatenate([self.may_exit, np.zeros(extra, dtype=bool)])
        self.sme_alive = np.concatenate([self.sme_alive, np.zeros(extra, dtype=bool)])
        self.adopted = np.concatenate([self.adopted, np.zeros(extra)])
        self.cost_advantage = np.concatenate([self.cost_advantage, np.ones(extra)])
        self.shares_t = self.network.shares.T

    def place_entrants(self, new: np.ndarray, draws: MonthDraws) -> float:
        """Initialise the entrants' rows; returns the cash they bring into the complex."""
        f, p, t = self.firms, self.params, self.entrant
        price = self.now.price
        cumulative = np.cumsum(t.sector_share)
        sector = np.minimum(
            np.searchsorted(cumulative / cumulative[-1], draws.entrant_sector_u, side="right"),
            len(SECTORS) - 1,
        )
        employment = np.full(len(new), p.entrant_size * t.median_employment)
        gross = employment * t.labour_productivity[sector]
        sales = gross * (1.0 - p.defect_rate_base)
        noise = draws.entrant_noise
        gains = adoption_gains(p, employment, noise[:, 1:].T)
        f.sector[new] = sector
        f.anchor[new] = -1
        f.alive[new] = True
        f.base_final[new] = sales[:, None] * t.partner_mix[sector]
        f.base_sales[new] = sales
        f.capacity[new] = gross / p.operating_rate
        f.productivity[new] = 1.0
        f.defect_rate[new] = p.defect_rate_base
        f.base_defect_rate[new] = p.defect_rate_base
        f.unit_cost[new] = 1.0
        f.firm_shock[new] = stationary_sd(p) * noise[:, 0]
        f.diverted[new] = 0.0
        f.orders[new] = p.in_complex_input_share * p.input_share * gross
        f.employment[new] = employment
        f.labour_productivity[new] = t.labour_productivity[sector]
        f.wage[new] = t.wage[sector]
        f.fixed_cost[new] = t.fixed_cost_share[sector] * sales
        f.cash[new] = p.cash_months * sales * price
        f.distress_months[new] = 0
        f.adoption[new] = NOT_ADOPTED
        f.gain_productivity[new], f.gain_defects[new], f.gain_cost[new] = gains
        f.export_intensity[new] = t.export_intensity[sector]
        self.may_exit[new] = True
        self.sector_candidates += sector_count(sector)
        self.propensity[new] = self.propensity_of(
            employment, t.export_intensity[sector], self.propensity_scale
        )
        self.cost_advantage[new] = 1.0
        self.us_exporter[new] = t.partner_mix[sector, US] > 0
        self.network.market[new] = t.market_mix
        won = rules.sector_partner_total(f.base_final, f.sector, new, len(SECTORS))
        f.base_final, f.base_sales = rules.rescale_sector_demand(
            f.base_final,
            f.base_sales,
            f.sector,
            self.sme_alive,
            rules.churn_factor(self.sme_demand, -won),
        )
        self.sme_alive[new] = True
        return float(f.cash[new].sum())

    # --- Mesa agents, on demand ------------------------------------------------------------------

    def firm_agents(self) -> mesa.agent.AgentSet:
        """The firms as Mesa agents (made on first use; entrants get agents when asked again)."""
        have = len(self.agents)
        for slot in range(have, self.firms_created):
            FirmAgent(self, slot)
        return self.agents


def sector_count(sector: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Number of firms by sector (of those in `mask`, if given)."""
    chosen = sector if mask is None else sector[mask]
    return np.bincount(chosen, minlength=len(SECTORS))


def diversion_mix() -> np.ndarray:
    """(sectors, partners): where a sector's re-routed US sales go (its non-US export mix)."""
    spec = population_spec()["non_us_export_mix"]["values"]
    mix = np.zeros((len(SECTORS), len(PARTNERS)))
    for s, sector in enumerate(SECTORS):
        for partner, share in spec[sector].items():
            mix[s, PARTNERS.index(partner)] = share
    return mix / mix.sum(axis=1, keepdims=True)
