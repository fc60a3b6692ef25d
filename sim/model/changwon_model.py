"""The model of the complex: a `mesa.Model` whose firms' state is held as arrays.

`ChangwonModel.step` is the month: its phases in economic order, each action named on its line.
The methods are thin. The per-firm arithmetic of a phase runs in one compiled pass over the firms
(`sim.model.month_kernels`: the composition, in order, of the pure rules of `sim.model.rules` it
replaces); the bookkeeping of exits and entries in `sim.model.demography`; what is rare and small
(a pipeline order) in numpy. Firms are also Mesa agents (`FirmAgent`), each a view onto its row,
made only when asked for (`firm_agents()`), because making thousands of agents per replicate
would cost as much as simulating it.
"""

from __future__ import annotations

import dataclasses
import math

import mesa
import numpy as np

from sim.inputs.names import PARTNERS, SECTORS, anchor_ids, population_spec
from sim.inputs.parameters import Parameters
from sim.model import demography, month_kernels, rules
from sim.model.defence import pipeline_order, schedule
from sim.model.draws import MonthDraws, draw_month, month_generator, month_key
from sim.model.environment import Environment
from sim.model.firms import ADOPTED, ADOPTING, INELIGIBLE, FirmState
from sim.model.indicators import INDICATOR_NAMES, month_indicators
from sim.model.month_kernels import FLOWS, SETTLED
from sim.model.network import market_weights
from sim.model.population import Population, stationary_sd

US = PARTNERS.index("US")
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
SETTLED_COLUMNS = [LEDGER_COLUMN[name] for name in SETTLED]


class Month:
    """Scratch quantities of the month being stepped.

    The month's flows by firm slot are the rows of `flows` (`sim.model.month_kernels.FLOWS`), each
    also an attribute (`now.sales`, `now.fill`, ...), and `final` (slots x partners) is final
    demand, real. They are written in place every month.
    """

    __slots__ = (
        "entrants_from",  # first slot of this month's entrants
        "entries",
        "exits",
        "export_price",  # won received per real unit of exports
        "final",
        "flows",
        "k",  # index of the month in the period
        "leaving",  # slots of the firms leaving this month
        "month",  # month number
        "price",  # producer price level
        "unit_revenue",  # (sectors, partners) won per real unit sold
    )

    def __init__(self, slots: int) -> None:
        self.k = 0
        self.month = 0
        self.price = 1.0
        self.export_price = 1.0
        self.unit_revenue = None
        self.final = np.zeros((slots, len(PARTNERS)))
        self.flows = np.zeros((len(FLOWS), slots))
        self.entries = 0
        self.exits = 0
        self.leaving = np.zeros(0, dtype=np.int64)
        self.entrants_from = slots

    def pad(self, extra: int) -> None:
        """Room for `extra` new slots (entrants made nothing yet)."""
        self.final = np.concatenate([self.final, np.zeros((extra, self.final.shape[1]))])
        self.flows = np.concatenate([self.flows, np.zeros((len(FLOWS), extra))], axis=1)


def _flow(row: int) -> property:
    return property(lambda self: self.flows[row], doc=f"`flows` row {FLOWS[row]}")


for _row, _name in enumerate(FLOWS):
    setattr(Month, _name, _flow(_row))


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
        # Growing the arrays is costly: when the slots run out (at the first entry), room is made
        # for the entrants the whole period would bring at half as many again as today's firms.
        expected = 1.5 * params.entry_rate / 12.0 * self.firms.slots * len(environment.months)
        self.slot_buffer = max(24, int(expected + 4.0 * math.sqrt(expected)))
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
        shares = self.network.shares
        # Each supplier's customers (positions of the links naming it): an exit visits its own.
        self.customer_ptr, self.customer_links = demography.customers_index(
            shares.indptr, shares.indices, self.firms.slots
        )
        # What does not depend on the firms, month by month: won per real unit sold by sector
        # and buyer (`rules.unit_revenue`), the exporters' price cuts, how fast lost US sales
        # are re-routed (faster with export support), from the first US tariff on.
        env = environment
        self.unit_revenue = np.stack(
            [
                rules.unit_revenue(float(price), float(export_price), tariff_price)
                for price, export_price, tariff_price in zip(
                    env.price, env.export_price, env.tariff_price, strict=True
                )
            ]
        )
        self.tariff_cut = 1.0 - env.tariff_price
        boost = np.where(env.support_active, env.diversion_boost, 0.0)
        self.diversion_speed = np.array(
            [rules.monthly_speed(params.diversion_months / (1.0 + b)) for b in boost]
        )
        us_tariff = np.flatnonzero((environment.tariff_volume[:, US] != 1.0).any(axis=1))
        self.diverting_from = int(us_tariff[0]) if len(us_tariff) else len(environment.months)
        self.entrant_constants = demography.entrant_constants(
            params, stationary_sd(params), self.reference_employment, self.propensity_scale
        )
        n_months = len(environment.months)
        self.indicators = np.zeros((n_months, len(INDICATOR_NAMES)))
        self.ledger = np.zeros((n_months, len(LEDGER)))
        self.now = Month(self.firms.slots)

    # --- one month -------------------------------------------------------------------------------

    def step(self) -> None:
        draws = self.draw()  # all of this month's randomness, drawn first
        # 1. environment
        self.read_environment()  # drivers, prices of exports, programme slots
        self.move_common_shock(draws)  # the complex-wide shock; each firm's own moves in 2.
        # 2. demand, 3. production, 4. tariff absorption: one compiled pass over the firms —
        #    each firm's own demand shock moves; demand from buyers (base x buyer's demand x price
        #    and tariff responses x shocks); lost US sales re-routed; orders from customers (last
        #    month's in-complex purchases, through the network); the order book's defence work at
        #    the primes; production (capacity x productivity, defects, sales at their prices,
        #    inputs); capacity toward demand; tariffs absorbed (the exporters' price cuts, in
        #    export value and margins, once)
        self.demand_and_production(draws)
        # 5. finance: accounts settled (profit to cash, payouts leave), export-support credit,
        #    who leaves (distress, business demography) — one compiled pass; then the exits
        #    (their demand goes to sector peers, their customers to the markets) and the entries
        #    (entrants take their demand from sector peers)
        self.settle_accounts(draws)
        self.exit_firms()
        self.enter_new_firms(draws)
        # 6. employment (output per worker's trend, wages with it; labour toward what output
        #    needs) and 7. AI-factory adoption (hazard, slots, cash, up-front cost): one pass
        self.employ_and_adopt(draws)
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
        now.unit_revenue = self.unit_revenue[k]
        self.slots_left += float(env.programme_slots[k])

    def move_common_shock(self, draws: MonthDraws) -> None:
        p = self.params
        self.common_shock = float(
            rules.shock_step(
                self.common_shock,
                p.complex_shock_persistence,
                p.complex_shock_sd,
                draws.common_noise,
            )
        )

    def demand_and_production(self, draws: MonthDraws) -> None:
        now, f, p, env, net = self.now, self.firms, self.params, self.env, self.network
        k = now.k
        shares = net.shares
        month_kernels.demand_and_production(
            self.firms_created,
            f.sector,
            f.alive,
            f.base_final,
            f.capacity,
            f.productivity,
            f.defect_rate,
            f.unit_cost,
            f.firm_shock,
            f.diverted,
            f.orders,
            self.cost_advantage,
            self.market_weight,
            shares.indptr,
            shares.indices,
            shares.data,
            net.market,
            draws.firm_noise,
            env.demand_index[k],
            math.exp(self.common_shock - 0.5 * self.common_variance[k]),
            float(env.export_volume[k]),
            env.tariff_volume[k],
            self.unit_revenue[k],
            self.tariff_cut[k],
            self.defence_work[k],
            now.price,
            now.export_price,
            p.firm_shock_persistence,
            p.firm_shock_sd,
            self.firm_shock_variance,
            k >= self.diverting_from,
            float(self.diversion_speed[k]),
            p.diversion_share,
            p.input_share,
            p.operating_rate,
            self.speeds["capacity"],
            now.final,
            now.flows,
        )

    def settle_accounts(self, draws: MonthDraws) -> None:
        now, f, p, net = self.now, self.firms, self.params, self.network
        shares = net.shares
        support = bool(self.env.support_active[now.k])
        sums, now.leaving = month_kernels.settle_and_finance(
            self.firms_created,
            f.sector,
            f.alive,
            self.may_exit,
            self.us_exporter,
            f.base_sales,
            f.orders,
            f.employment,
            f.wage,
            f.fixed_cost,
            f.cash,
            f.distress_months,
            self.market_weight,
            shares.indptr,
            shares.indices,
            shares.data,
            net.market,
            now.flows,
            draws.exit_u,
            now.price,
            p.payout_rate,
            p.in_complex_input_share,
            support,
            float(self.credit_left),
            p.exit_debt_months,
            self.exit_after,
            p.exit_rate,
        )
        ledger = self.ledger[now.k]
        for column, value in zip(SETTLED_COLUMNS, sums.tolist(), strict=True):
            ledger[column] += value  # column by column: quicker than an index list for eight
        if support:
            self.credit_left -= sums[-1]

    def exit_firms(self) -> None:
        now, f, net = self.now, self.firms, self.network
        now.exits = len(now.leaving)
        if not now.exits:
            return
        exit_cash = demography.close_firms(
            now.leaving,
            f.sector,
            f.alive,
            self.sme_alive,
            self.may_exit,
            self.adopted,
            self.sector_adopters,
            self.sector_candidates,
            f.base_final,
            f.base_sales,
            f.cash,
            f.employment,
            f.capacity,
            f.fixed_cost,
            f.orders,
            f.diverted,
            self.sme_demand,
            self.customer_ptr,
            self.customer_links,
            net.buyer,
            net.shares.data,
            net.market,
        )
        self.book(exit_cash=exit_cash)

    def enter_new_firms(self, draws: MonthDraws) -> None:
        now = self.now
        count = len(draws.entrant_sector_u)
        now.entries = count
        now.entrants_from = self.firms_created
        if count:
            if self.firms_created + count > self.firms.slots:
                self.make_room(max(count, self.slot_buffer))
            self.book(entrant_cash=self.place_entrants(self.firms_created, draws))
            self.firms_created += count
        if count or now.exits:  # sector markets now have other firms in them
            f, n = self.firms, self.firms_created  # slots from n on are empty: weight zero
            self.market_weight[:n] = market_weights(f.base_sales[:n], f.alive[:n], f.sector[:n])

    def employ_and_adopt(self, draws: MonthDraws) -> None:
        now, f, p, env, net = self.now, self.firms, self.params, self.env, self.network
        k = now.k
        shares = net.shares
        self.labour_trend *= self.labour_trend_step
        offering = bool(env.programme_active[k]) and self.slots_left >= 1.0
        paid, granted = month_kernels.employment_and_adoption(
            len(draws.adoption_u),
            self.firms_created,
            now.entrants_from,
            f.sector,
            f.alive,
            f.adoption,
            f.adoption_month,
            f.employment,
            f.labour_productivity,
            f.wage,
            f.productivity,
            self.entrant.labour_productivity,
            self.entrant.wage,
            f.cash,
            self.propensity,
            self.adopted,
            self.sector_adopters,
            self.sector_candidates,
            shares.indptr,
            shares.indices,
            shares.data,
            net.market,
            now.flows,
            draws.adoption_u,
            self.labour_trend_step,
            self.speeds["employment"],
            p.ai_labour_saving,
            now.month,
            now.price,
            offering,
            float(env.subsidy_share),
            self.slots_left,
            p.bass_p,
            p.bass_q,
            p.adoption_potential,
            p.subsidy_hazard_boost,
            p.network_peer_weight,
            p.adoption_cost_base_krw,
            p.adoption_cost_per_employee_krw,
        )
        self.slots_left -= granted
        self.book(adoption_costs=paid)

    def ramp_adoption_effects(self) -> None:
        f, p = self.firms, self.params
        month_kernels.ramp_adoption(
            self.firms_created,
            f.adoption,
            f.adoption_month,
            f.productivity,
            f.defect_rate,
            f.base_defect_rate,
            f.unit_cost,
            f.gain_productivity,
            f.gain_defects,
            f.gain_cost,
            self.cost_advantage,
            self.now.month,
            p.ramp_months,
            p.cost_demand_elasticity,
        )

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
        k = self.now.k
        self.defence_backlog += self.env.defence_signed[k] - self.defence_work[k].sum()
        self.indicators[k], cash = month_indicators(self, self.now)
        self.book(cash_end=cash)

    # --- helpers ---------------------------------------------------------------------------------

    def book(self, **flows: float) -> None:
        ledger = self.ledger[self.now.k]
        for name, value in flows.items():
            ledger[LEDGER_COLUMN[name]] += value

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
        self.customer_ptr = np.concatenate(
            [self.customer_ptr, np.full(extra, self.customer_ptr[-1])]
        )
        self.us_exporter = np.concatenate([self.us_exporter, np.zeros(extra, dtype=bool)])
        self.market_weight = np.concatenate([self.market_weight, np.zeros(extra)])
        self.propensity = np.concatenate([self.propensity, np.zeros(extra)])
        self.may_exit = np.concatenate([self.may_exit, np.zeros(extra, dtype=bool)])
        self.sme_alive = np.concatenate([self.sme_alive, np.zeros(extra, dtype=bool)])
        self.adopted = np.concatenate([self.adopted, np.zeros(extra)])
        self.cost_advantage = np.concatenate([self.cost_advantage, np.ones(extra)])

    def place_entrants(self, first: int, draws: MonthDraws) -> float:
        """Initialise the entrants' rows from slot `first`; returns the cash they bring in."""
        f, t = self.firms, self.entrant
        return demography.place_entrants(
            first,
            draws.entrant_sector_u,
            draws.entrant_noise,
            t.sector_share,
            t.median_employment,
            t.labour_productivity,
            t.partner_mix,
            t.wage,
            t.fixed_cost_share,
            t.market_mix,
            t.export_intensity,
            self.entrant_constants,
            self.now.price,
            f.sector,
            f.anchor,
            f.alive,
            f.base_final,
            f.base_sales,
            f.capacity,
            f.productivity,
            f.defect_rate,
            f.base_defect_rate,
            f.unit_cost,
            f.firm_shock,
            f.diverted,
            f.orders,
            f.employment,
            f.labour_productivity,
            f.wage,
            f.fixed_cost,
            f.cash,
            f.distress_months,
            f.adoption,
            f.gain_productivity,
            f.gain_defects,
            f.gain_cost,
            f.export_intensity,
            self.may_exit,
            self.sme_alive,
            self.us_exporter,
            self.propensity,
            self.cost_advantage,
            self.network.market,
            self.sector_candidates,
            self.sme_demand,
        )

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
