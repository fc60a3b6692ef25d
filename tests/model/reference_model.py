"""The model's month written firm by firm: the readable reference the array model is tested against.

`ReferenceModel` steps the same month as `sim.model.changwon_model.ChangwonModel`, in the same
order, from the same inputs (a synthesised `Population`, an `Environment`, `Parameters`) and the
same random draws (`sim.model.draws.draw_month` on an identically seeded generator). Every firm is a
`ReferenceFirm` Mesa agent holding plain Python numbers; every rule is a short method using `math`;
the model's actions loop over the firms one by one. Nothing here uses numpy over firms: arrays are
only read once, at construction, and written once a month, into the indicator and ledger tables.

The supplier network is held by the buyers: each firm keeps its named suppliers and their shares of
its in-complex purchases in a dict (supplier slot -> share), and the shares it buys on each sector's
open market in a list. The environment's tariff factors are recomputed here month by month from the
tariff rates (how buyers adjust to a tariff), rather than read from the environment.

It is slow on purpose (about 60 times the array model, DESIGN §3): the benchmark times
`run_reference` as the firm-by-firm comparison of DESIGN §9.
"""

from __future__ import annotations

import bisect
import copy
import math

import mesa
import numpy as np

from sim.inputs.names import PARTNERS, SECTORS, population_spec
from sim.inputs.parameters import Parameters
from sim.model.changwon_model import LEDGER, LEDGER_COLUMN
from sim.model.draws import MonthDraws, draw_month, month_generator, month_key
from sim.model.environment import PIPELINE_DELIVERY_MONTHS, PIPELINE_LEAD_MONTHS, Environment
from sim.model.firms import ADOPTED, ADOPTING, INELIGIBLE, NOT_ADOPTED
from sim.model.indicators import COLUMN, INDICATOR_NAMES
from sim.model.population import Population

US = PARTNERS.index("US")
N_PARTNERS = len(PARTNERS)
N_SECTORS = len(SECTORS)
EXPORTS = range(1, N_PARTNERS)  # partner columns that are exports

# Scalar firm attributes copied from a row of `sim.model.firms.FirmState` (base_final is a list).
FIRM_FIELDS = (
    "sector",
    "anchor",
    "alive",
    "base_final",
    "base_sales",
    "capacity",
    "productivity",
    "defect_rate",
    "base_defect_rate",
    "unit_cost",
    "firm_shock",
    "diverted",
    "orders",
    "employment",
    "labour_productivity",
    "wage",
    "fixed_cost",
    "cash",
    "distress_months",
    "adoption",
    "adoption_month",
    "gain_productivity",
    "gain_defects",
    "gain_cost",
    "export_intensity",
)


class ReferenceFirm(mesa.Agent):
    """One firm, its state in plain Python numbers, its monthly rules as methods.

    State (as in `sim.model.firms.FirmState`): sector, anchor, alive, base_final (list by partner),
    base_sales, capacity, productivity, defect_rate, base_defect_rate, unit_cost, firm_shock,
    diverted, orders, employment, labour_productivity, wage, fixed_cost, cash, distress_months,
    adoption, adoption_month, gain_productivity, gain_defects, gain_cost, export_intensity; plus
    us_exporter, its supplier network (suppliers: slot -> share; market: share by sector) and its
    market_weight (share of its sector's open market).

    The month's flows (final by partner, network_orders, defence, demand, gross, sales, fill,
    inputs, delivered, bought, value_added, wages_paid, fixed_paid, tariff_cost, profit, payout)
    are overwritten every month.
    """

    def __init__(
        self,
        model: ReferenceModel,
        slot: int,
        state: dict,
        suppliers: dict[int, float],
        market: list[float],
        us_exporter: bool,
    ) -> None:
        super().__init__(model)
        self.slot = slot
        for name in FIRM_FIELDS:
            setattr(self, name, state[name])
        self.suppliers = suppliers
        self.market = market
        self.us_exporter = us_exporter
        self.market_weight = 0.0
        self.entered_this_month = False
        self.clear_month()

    def clear_month(self) -> None:
        """The month's flows before anything happened (an entrant's first month)."""
        self.final = [0.0] * N_PARTNERS
        self.network_orders = 0.0
        self.defence = 0.0
        self.demand = 0.0
        self.gross = 0.0
        self.sales = 0.0
        self.fill = 0.0
        self.inputs = 0.0
        self.delivered = 0.0
        self.bought = 0.0
        self.diverted_sold = 0.0
        self.value_added = 0.0
        self.wages_paid = 0.0
        self.fixed_paid = 0.0
        self.tariff_cost = 0.0
        self.profit = 0.0
        self.payout = 0.0

    # --- 2. demand ------------------------------------------------------------------------------

    def move_demand_shock(self, persistence: float, sd: float, noise: float) -> None:
        self.firm_shock = persistence * self.firm_shock + sd * noise

    def demand_from_partners(
        self, factor: list[float], shock_variance: float, cost_elasticity: float
    ) -> None:
        """Final demand by partner: base x this month's factor of my sector x my own factor."""
        own = math.exp(self.firm_shock - 0.5 * shock_variance) * self.unit_cost**-cost_elasticity
        if not self.alive:
            own = 0.0
        self.final = [self.base_final[j] * factor[j] * own for j in range(N_PARTNERS)]

    def divert_lost_us_sales(self, us_tariff_factor: float, share: float, speed: float) -> None:
        lost = self.final[US] * (1.0 / us_tariff_factor - 1.0)
        self.diverted += speed * (share * lost - self.diverted)

    def place_orders(self, firms: list[ReferenceFirm], market_orders: list[float]) -> None:
        """Send last month's in-complex input orders to my named suppliers and the markets."""
        for slot, share in self.suppliers.items():
            firms[slot].network_orders += share * self.orders
        for s in range(N_SECTORS):
            market_orders[s] += self.market[s] * self.orders

    # --- 3. production --------------------------------------------------------------------------

    def produce(self, input_share: float) -> None:
        self.demand = sum(self.final) + self.diverted + self.network_orders + self.defence
        needed = self.demand / (1.0 - self.defect_rate)
        self.gross = min(needed, self.capacity * self.productivity)
        self.sales = self.gross * (1.0 - self.defect_rate)
        self.fill = self.sales / self.demand if self.demand > 0 else 1.0
        if not self.alive:
            self.fill = 0.0  # a firm that has left delivers nothing
        self.diverted_sold = self.diverted * self.fill
        self.inputs = input_share * self.unit_cost * self.gross

    def adjust_capacity(self, operating_rate: float, speed: float) -> None:
        if not self.alive:
            return
        desired = self.demand / (1.0 - self.defect_rate) / (self.productivity * operating_rate)
        self.capacity += speed * (desired - self.capacity)

    # --- 4. tariff absorption -------------------------------------------------------------------

    def absorb_tariffs(self, rate_by_partner: list[float], passthrough: float, price: float):
        taxed = 0.0  # demand times rate, summed over partners
        for j in range(N_PARTNERS):
            taxed += self.final[j] * rate_by_partner[j]
        self.tariff_cost = (1.0 - passthrough) * taxed * (self.fill * price)

    # --- 5. finance -----------------------------------------------------------------------------

    def supplier_fill(self, firms: list[ReferenceFirm], market_fill: list[float]) -> float:
        """Share of my orders my suppliers deliver."""
        fill = 0.0
        for slot, share in self.suppliers.items():
            fill += share * firms[slot].fill
        for s in range(N_SECTORS):
            fill += self.market[s] * market_fill[s]
        return fill

    def settle(self, supplier_fill: float, price: float, p: Parameters) -> None:
        """Pay for inputs, wages, fixed costs and tariffs; profit to cash, payouts leave."""
        self.delivered = self.orders * supplier_fill
        self.bought = self.delivered + max(0.0, self.inputs - self.delivered)
        self.value_added = (self.sales - self.bought) * price
        self.wages_paid = self.employment * self.wage * price
        self.fixed_paid = (self.fixed_cost if self.alive else 0.0) * price
        self.profit = self.value_added - self.wages_paid - self.fixed_paid - self.tariff_cost
        self.payout = p.payout_rate * max(self.profit, 0.0)
        self.cash = self.cash + self.profit - self.payout
        self.orders = p.in_complex_input_share * self.inputs

    def credit_need(self) -> float:
        if self.alive and self.us_exporter:
            return max(0.0, -self.cash)
        return 0.0

    def count_distress(self, p: Parameters, price: float) -> bool:
        """Count a month below the distress line; True if the firm leaves now."""
        if not self.alive or self.anchor >= 0:  # anchors do not exit
            self.distress_months = 0
            return False
        line = p.exit_debt_months * price * self.base_sales
        self.distress_months = self.distress_months + 1 if self.cash < -line else 0
        return self.distress_months >= round(p.exit_after_months)

    def leave(self) -> float:
        """Close the firm; returns the cash it takes out of the complex."""
        cash = self.cash
        self.alive = False
        self.cash = 0.0
        self.employment = 0.0
        self.capacity = 0.0
        self.orders = 0.0
        self.diverted = 0.0
        return cash

    def drop_suppliers(self, gone: set[int], firms: list[ReferenceFirm]) -> int:
        """Buy on the sector markets what I bought from suppliers that left; returns how many."""
        dropped = [slot for slot in self.suppliers if slot in gone]
        for slot in dropped:
            share = self.suppliers.pop(slot)
            self.market[firms[slot].sector] += share
        return len(dropped)

    # --- 6. employment --------------------------------------------------------------------------

    def adjust_employment(self, speed: float) -> None:
        if not self.alive:
            self.employment = 0.0
            return
        if self.entered_this_month:
            needed = self.employment  # entrants start at their size
        else:
            needed = self.gross / (self.labour_productivity * self.productivity)
        self.employment += speed * (needed - self.employment)

    # --- 7. AI-factory adoption -----------------------------------------------------------------

    @property
    def has_adopted(self) -> bool:
        return self.alive and self.adoption in (ADOPTING, ADOPTED)

    def peer_share(
        self, firms: list[ReferenceFirm], sector_share: list[float], network_weight: float
    ) -> float:
        """Adoption among my sector's peers and my suppliers (named, and the markets I buy on)."""
        suppliers = 0.0
        for slot, share in self.suppliers.items():
            suppliers += share * (1.0 if firms[slot].has_adopted else 0.0)
        for s in range(N_SECTORS):
            suppliers += self.market[s] * sector_share[s]
        return (1.0 - network_weight) * sector_share[self.sector] + network_weight * suppliers

    def readiness(self, reference_employment: float, p: Parameters, scale: float) -> float:
        """Propensity to adopt from size and exporting (fixed at the base year or at entry)."""
        size = (self.employment / reference_employment) ** p.adoption_size_elasticity
        return scale * size * (1.0 + p.adoption_export_boost * self.export_intensity)

    def adoption_cost(self, p: Parameters, price: float) -> float:
        return (
            p.adoption_cost_base_krw + p.adoption_cost_per_employee_krw * self.employment
        ) * price

    def adopt(self, paid: float, month: int) -> None:
        self.cash -= paid
        self.adoption = ADOPTING
        self.adoption_month = month

    def ramp(self, month: int, ramp_months: float) -> None:
        """Move an adopter's productivity, defects and unit cost along its learning ramp."""
        if self.adoption != ADOPTING:
            return
        progress = min(max((month - self.adoption_month) / ramp_months, 0.0), 1.0)
        self.productivity = 1.0 + self.gain_productivity * progress
        self.defect_rate = self.base_defect_rate * (1.0 - self.gain_defects * progress)
        self.unit_cost = 1.0 - self.gain_cost * progress
        if progress >= 1.0:
            self.adoption = ADOPTED


def bass_rate(peers: float, sector_share: float, propensity: float, p: Parameters) -> float:
    """Monthly adoption rate (hazard 1 - exp(-rate)): a Bass rate per year, levelling off at
    the market potential, times the firm's propensity.
    """
    potential = p.adoption_potential
    imitation = p.bass_q * min(1.0, peers / potential)
    if sector_share < 1.0:
        room = min(max((potential - sector_share) / (1.0 - sector_share), 0.0), 1.0)
    else:
        room = 0.0
    return (p.bass_p + imitation) * room * propensity / 12.0


def gains_of(p: Parameters, employment: float, normals: list[float]) -> tuple[float, ...]:
    """An entrant's productivity, defect and cost gains once adopted (as sim.model.population)."""
    sigma = math.sqrt(math.log1p(p.ai_effect_spread**2))
    draw = [math.exp(sigma * z - 0.5 * sigma**2) for z in normals]
    small = 1.0 + p.ai_small_firm_premium if employment < 10 else 1.0
    return (
        p.ai_productivity_gain * small * draw[0],
        min(0.95, p.ai_defect_reduction * draw[1]),
        min(0.5, p.ai_unit_cost_reduction * draw[2]),
    )


def speed_of(months: float) -> float:
    return 1.0 - math.exp(-1.0 / months)


class ReferenceModel(mesa.Model):
    """The complex stepped firm by firm. `step()` draws the month and calls `advance(draws)`."""

    def __init__(
        self,
        population: Population,
        environment: Environment,
        params: Parameters,
        month_seeds: np.random.SeedSequence,
        replicate: int = 0,
    ) -> None:
        super().__init__(rng=np.random.default_rng(month_seeds))
        self.month_key = month_key(month_seeds)
        population = copy.deepcopy(population)
        env = copy.deepcopy(environment)
        self.replicate = replicate
        self.p = p = params
        self.k = 0

        # The environment, as plain nested lists read month by month.
        self.months = [int(m) for m in env.months]
        self.price = env.price.tolist()
        self.krw_per_usd = env.krw_per_usd.tolist()
        self.partner_trend = env.partner_trend.tolist()
        self.fx_factor = env.fx_factor.tolist()
        self.tariff_rate = env.tariff_rate.tolist()  # [k][partner][sector]
        self.programme_active = [bool(a) for a in env.programme_active]
        self.programme_slots = env.programme_slots.tolist()
        self.subsidy_share = float(env.subsidy_share)
        self.support_active = [bool(a) for a in env.support_active]
        self.diversion_boost = float(env.diversion_boost)
        self.deliveries = env.deliveries.tolist()  # [k][anchor][partner], nominal KRW
        self.pipeline_rate = env.pipeline_rate.tolist()
        self.pipeline = env.pipeline

        # Buyers' adjustment to tariffs (recomputed here, not read from the environment).
        adjust_years = p.elasticity_years_to_long_run / math.log(20.0)
        self.impact = max(
            0.0,
            p.elasticity_long_run
            - (p.elasticity_long_run - p.elasticity_one_year) * math.exp(1.0 / adjust_years),
        )
        self.perceived_speed = speed_of(12.0 * adjust_years)
        self.perceived = [[0.0] * N_SECTORS for _ in range(N_PARTNERS)]

        # Model-level state.
        self.partner_shock = [0.0] * N_PARTNERS
        self.slots_left = 0.0
        self.credit_left = float(env.credit_line_krw)
        self.firm_shock_variance = p.firm_shock_sd**2 / (1.0 - p.firm_shock_persistence**2)
        self.reference_employment = population.reference_employment
        self.anchor_ids = population.anchor_ids
        t = population.entrant
        self.entrant = {
            "sector_share": t.sector_share.tolist(),
            "median_employment": float(t.median_employment),
            "labour_productivity": t.labour_productivity.tolist(),
            "partner_mix": t.partner_mix.tolist(),
            "wage": t.wage.tolist(),
            "fixed_cost_share": t.fixed_cost_share.tolist(),
            "market_mix": t.market_mix.tolist(),
            "export_intensity": t.export_intensity.tolist(),
        }
        spec = population_spec()["non_us_export_mix"]["values"]
        self.diversion_mix = []
        for sector in SECTORS:
            row = [spec[sector].get(partner, 0.0) for partner in PARTNERS]
            total = sum(row)
            self.diversion_mix.append([share / total for share in row])

        # The firms, in slot order.
        self.firms: list[ReferenceFirm] = []
        f, net = population.firms, population.network
        shares = net.shares
        for i in range(f.slots):
            state = {}
            for name in FIRM_FIELDS:
                value = getattr(f, name)[i]
                state[name] = value.tolist()  # numpy scalar or row -> Python number or list
            lo, hi = shares.indptr[i], shares.indptr[i + 1]
            suppliers = {
                int(s): float(v)
                for s, v in zip(shares.indices[lo:hi], shares.data[lo:hi], strict=True)
                if v != 0.0
            }
            self.firms.append(
                ReferenceFirm(
                    self,
                    i,
                    state,
                    suppliers,
                    net.market[i].tolist(),
                    us_exporter=state["base_final"][US] > 0,
                )
            )
        self.base_firms = len(self.firms)
        self.set_market_weights()

        # Propensity to adopt: fixed by base-year size and exporting, scaled to a mean of one.
        eligible = [firm for firm in self.firms if firm.adoption != INELIGIBLE]
        mean = sum(firm.readiness(self.reference_employment, p, 1.0) for firm in eligible)
        self.propensity_scale = 1.0 / (mean / len(eligible))
        for firm in self.firms:
            firm.propensity = 0.0
        for firm in eligible:
            firm.propensity = firm.readiness(self.reference_employment, p, 1.0)
            firm.propensity *= self.propensity_scale

        n_months = len(self.months)
        self.indicators = np.zeros((n_months, len(INDICATOR_NAMES)))
        self.ledger = np.zeros((n_months, len(LEDGER)))
        # What the run exercised, for tests that must not pass vacuously.
        self.counts = dict.fromkeys(
            (
                "entries",
                "exits",
                "links_redirected",
                "subsidised",
                "unaided",
                "credit",
                "pipeline_orders",
            ),
            0,
        )
        self.entries = 0
        self.exits = 0

    # --- one month -------------------------------------------------------------------------------

    def step(self) -> None:
        self.advance(self.draw())

    def draw(self) -> MonthDraws:
        alive = sum(1 for firm in self.firms if firm.alive)
        return draw_month(
            month_generator(self.month_key, self.k),
            self.base_firms,
            len(self.firms),
            alive,
            self.p.entry_rate,
            self.pipeline_rate[self.k],
        )

    def advance(self, draws: MonthDraws) -> None:
        """One month, in the order of `ChangwonModel.step`."""
        for firm in self.firms:
            firm.entered_this_month = False
        # 1. environment
        self.read_environment()
        # 2. demand
        self.move_demand_shocks(draws)
        self.demand_from_partners()
        self.divert_lost_us_sales()
        self.orders_from_customers()
        self.defence_deliveries_due()
        # 3. production
        self.produce()
        self.adjust_capacity()
        # 4. tariff absorption
        self.absorb_tariffs()
        # 5. finance
        self.settle_accounts()
        self.lend_export_support()
        self.exit_distressed_firms()
        self.enter_new_firms(draws)
        # 6. employment
        self.adjust_employment()
        # 7. AI-factory adoption
        self.adopt_ai_factories(draws)
        self.ramp_adoption_effects()
        # 8. defence exports
        self.book_pipeline_orders(draws)
        # 9. record
        self.record()
        self.k += 1

    # --- actions ---------------------------------------------------------------------------------

    def read_environment(self) -> None:
        k = self.k
        self.month = self.months[k]
        self.now_price = self.price[k]
        self.slots_left += self.programme_slots[k]
        self.tariff_factor = self.move_perceived_tariffs()

    def move_perceived_tariffs(self) -> list[list[float]]:
        """Demand factor of tariffs by partner and sector: (1 + passthrough tau)^-eps(t)."""
        p = self.p
        factor = [[1.0] * N_SECTORS for _ in range(N_PARTNERS)]
        for j in range(N_PARTNERS):
            for s in range(N_SECTORS):
                wedge = math.log1p(p.tariff_passthrough * self.tariff_rate[self.k][j][s])
                old = self.perceived[j][s]
                self.perceived[j][s] = old + self.perceived_speed * (wedge - old)
                factor[j][s] = math.exp(
                    -self.impact * wedge
                    - (p.elasticity_long_run - self.impact) * self.perceived[j][s]
                )
        return factor

    def move_demand_shocks(self, draws: MonthDraws) -> None:
        p = self.p
        for j in range(N_PARTNERS):
            self.partner_shock[j] = p.demand_shock_persistence * self.partner_shock[
                j
            ] + p.demand_shock_sd * float(draws.partner_noise[j])
        for firm in self.firms:
            firm.move_demand_shock(
                p.firm_shock_persistence, p.firm_shock_sd, float(draws.firm_noise[firm.slot])
            )

    def demand_from_partners(self) -> None:
        p, k = self.p, self.k
        rho2 = p.demand_shock_persistence**2
        variance = p.demand_shock_sd**2 * (1.0 - rho2 ** (k + 1)) / (1.0 - rho2)
        index = [
            self.partner_trend[k][j] * math.exp(self.partner_shock[j] - 0.5 * variance)
            for j in range(N_PARTNERS)
        ]
        by_sector = [
            [index[j] * self.fx_factor[k][j] * self.tariff_factor[j][s] for j in range(N_PARTNERS)]
            for s in range(N_SECTORS)
        ]
        for firm in self.firms:
            firm.demand_from_partners(
                by_sector[firm.sector], self.firm_shock_variance, p.cost_demand_elasticity
            )

    def divert_lost_us_sales(self) -> None:
        boost = self.diversion_boost if self.support_active[self.k] else 0.0
        speed = speed_of(self.p.diversion_months / (1.0 + boost))
        for firm in self.firms:
            firm.divert_lost_us_sales(
                self.tariff_factor[US][firm.sector], self.p.diversion_share, speed
            )

    def orders_from_customers(self) -> None:
        for firm in self.firms:
            firm.network_orders = 0.0
        market_orders = [0.0] * N_SECTORS
        for firm in self.firms:
            firm.place_orders(self.firms, market_orders)
        for firm in self.firms:
            firm.network_orders += market_orders[firm.sector] * firm.market_weight

    def defence_deliveries_due(self) -> None:
        due = self.deliveries[self.k]
        for firm in self.firms:
            firm.defence = 0.0
            if firm.anchor >= 0 and firm.alive:
                firm.defence = sum(due[firm.anchor]) / self.now_price

    def produce(self) -> None:
        for firm in self.firms:
            firm.produce(self.p.input_share)

    def adjust_capacity(self) -> None:
        speed = speed_of(self.p.capacity_adjust_months)
        for firm in self.firms:
            firm.adjust_capacity(self.p.operating_rate, speed)

    def absorb_tariffs(self) -> None:
        rates = self.tariff_rate[self.k]
        for firm in self.firms:
            by_partner = [rates[j][firm.sector] for j in range(N_PARTNERS)]
            firm.absorb_tariffs(by_partner, self.p.tariff_passthrough, self.now_price)

    def settle_accounts(self) -> None:
        market_fill = [0.0] * N_SECTORS
        for firm in self.firms:
            market_fill[firm.sector] += firm.market_weight * firm.fill
        fills = [firm.supplier_fill(self.firms, market_fill) for firm in self.firms]
        for firm, fill in zip(self.firms, fills, strict=True):
            firm.settle(fill, self.now_price, self.p)
        price = self.now_price
        flows = dict.fromkeys(LEDGER[:8], 0.0)
        for firm in self.firms:
            in_complex = firm.network_orders * firm.fill
            flows["external_sales"] += (firm.sales - in_complex) * price
            flows["in_complex_sales"] += in_complex * price
            flows["in_complex_purchases"] += firm.delivered * price
            flows["outside_purchases"] += (firm.bought - firm.delivered) * price
            flows["wages"] += firm.wages_paid
            flows["fixed_costs"] += firm.fixed_paid
            flows["tariffs"] += firm.tariff_cost
            flows["payouts"] += firm.payout
        self.book(**flows)

    def lend_export_support(self) -> None:
        if not self.support_active[self.k]:
            return
        needs = [firm.credit_need() for firm in self.firms]
        total = sum(needs)
        if total <= 0.0 or self.credit_left <= 0.0:
            self.book(support_credit=0.0)
            return
        ratio = min(1.0, self.credit_left / total)
        lent = 0.0
        for firm, need in zip(self.firms, needs, strict=True):
            credit = need * ratio
            firm.cash = firm.cash + credit
            lent += credit
            self.counts["credit"] += credit > 0
        self.credit_left -= lent
        self.book(support_credit=lent)

    def exit_distressed_firms(self) -> None:
        leaving = [firm for firm in self.firms if firm.count_distress(self.p, self.now_price)]
        self.exits = len(leaving)
        self.counts["exits"] += len(leaving)
        if not leaving:
            return
        self.book(exit_cash=sum(firm.leave() for firm in leaving))
        gone = {firm.slot for firm in leaving}
        for firm in self.firms:
            self.counts["links_redirected"] += firm.drop_suppliers(gone, self.firms)
        self.set_market_weights()

    def enter_new_firms(self, draws: MonthDraws) -> None:
        self.entries = len(draws.entrant_sector_u)
        self.counts["entries"] += self.entries
        if not self.entries:
            return
        cash = 0.0
        for u, noise in zip(draws.entrant_sector_u, draws.entrant_noise, strict=True):
            cash += self.place_entrant(float(u), [float(z) for z in noise]).cash
        self.book(entrant_cash=cash)
        self.set_market_weights()

    def adjust_employment(self) -> None:
        speed = speed_of(self.p.employment_adjust_months)
        for firm in self.firms:
            firm.adjust_employment(speed)

    def adopt_ai_factories(self, draws: MonthDraws) -> None:
        """Each firm not yet adopting decides with hazard 1 - exp(-rate): it adopts when its
        exponential draw is below its rate (times the subsidy boost, for a programme slot).
        """
        p = self.p
        sector_share = self.sector_adoption_shares()
        offering = self.programme_active[self.k] and self.slots_left >= 1.0
        share = self.subsidy_share if offering else 0.0
        boost = 1.0 + p.subsidy_hazard_boost * share
        # Firms of the month's start only: this month's entrants adopt from next month.
        applicants = []
        for firm in self.firms[: len(draws.adoption_e)]:
            if not firm.alive or firm.adoption != NOT_ADOPTED:
                continue
            peers = firm.peer_share(self.firms, sector_share, p.network_peer_weight)
            rate = bass_rate(peers, sector_share[firm.sector], firm.propensity, p)
            cost = firm.adoption_cost(p, self.now_price)
            applicants.append((firm, float(draws.adoption_e[firm.slot]), rate, cost))
        granted = set()
        if offering:
            # Slots go to the keenest applicants who can pay their part: lowest draw over rate.
            keen = [
                (e / rate, firm.slot)
                for firm, e, rate, cost in applicants
                if e < rate * boost and firm.cash >= (1.0 - share) * cost
            ]
            keen.sort(key=lambda pair: pair[0])  # stable: ties keep slot order
            granted = {slot for _, slot in keen[: int(self.slots_left)]}
            self.slots_left -= len(granted)
        paid_total = 0.0
        for firm, e, rate, cost in applicants:
            if firm.slot in granted:
                paid = (1.0 - share) * cost
                self.counts["subsidised"] += 1
            elif e < rate and firm.cash >= cost:
                paid = cost
                self.counts["unaided"] += 1
            else:
                continue
            firm.adopt(paid, self.month)
            paid_total += paid
        self.book(adoption_costs=paid_total)

    def ramp_adoption_effects(self) -> None:
        for firm in self.firms:
            firm.ramp(self.month, self.p.ramp_months)

    def book_pipeline_orders(self, draws: MonthDraws) -> None:
        pipeline = self.pipeline
        for u_value, u_prime in zip(draws.order_value_u, draws.order_prime_u, strict=True):
            self.counts["pipeline_orders"] += 1
            primes = pipeline.primes
            prime = primes[min(int(u_prime * len(primes)), len(primes) - 1)]
            value_usd = pipeline.value_usd.ppf(float(u_value))
            anchor = self.anchor_ids.index(prime)
            partner = PARTNERS.index(pipeline.partner)
            first = self.month + PIPELINE_LEAD_MONTHS
            for kk, month in enumerate(self.months):
                if first <= month < first + PIPELINE_DELIVERY_MONTHS:
                    self.deliveries[kk][anchor][partner] += (
                        value_usd / PIPELINE_DELIVERY_MONTHS * self.krw_per_usd[kk]
                    )

    def record(self) -> None:
        p, price = self.p, self.now_price
        row = self.indicators[self.k]
        sold = [0.0] * N_PARTNERS  # real
        diverted = [0.0] * N_SECTORS  # real, by sector
        defence = [0.0] * N_PARTNERS  # nominal
        due = self.deliveries[self.k]
        for firm in self.firms:
            for j in range(N_PARTNERS):
                sold[j] += firm.final[j] * firm.fill
            diverted[firm.sector] += firm.diverted_sold
            if firm.anchor >= 0:
                for j in range(N_PARTNERS):
                    defence[j] += due[firm.anchor][j] * firm.fill
        for s in range(N_SECTORS):
            for j in range(N_PARTNERS):
                sold[j] += diverted[s] * self.diversion_mix[s][j]
        fx = self.krw_per_usd[self.k]
        exports = [(sold[j] * price + defence[j]) / fx for j in range(N_PARTNERS)]

        alive = sum(1 for firm in self.firms if firm.alive)
        adopters = sum(1 for firm in self.firms if firm.has_adopted)
        employment = sum(firm.employment for firm in self.firms)
        production = sum(firm.sales for firm in self.firms) * price
        in_complex = sum(firm.network_orders * firm.fill for firm in self.firms) * price
        final_sales = production - in_complex
        gross = sum(firm.gross for firm in self.firms)
        defects = sum(firm.gross * firm.defect_rate for firm in self.firms)

        row[COLUMN["production_krw"]] = production
        row[COLUMN["value_added_krw"]] = sum(firm.value_added for firm in self.firms)
        row[COLUMN["exports_usd"]] = sum(exports[j] for j in EXPORTS)
        for j in EXPORTS:
            row[COLUMN[f"exports_usd_{PARTNERS[j]}"]] = exports[j]
        row[COLUMN["employment"]] = employment
        row[COLUMN["active_firms"]] = alive
        row[COLUMN["entries"]] = self.entries
        row[COLUMN["exits"]] = self.exits
        row[COLUMN["adopters"]] = adopters
        row[COLUMN["adoption_share"]] = adopters / max(1, alive)
        row[COLUMN["labour_productivity"]] = production / employment if employment > 0 else 0.0
        row[COLUMN["defect_rate"]] = defects / max(gross, 1e-300)
        row[COLUMN["tariff_cost_krw"]] = sum(firm.tariff_cost for firm in self.firms)
        row[COLUMN["defence_deliveries_krw"]] = sum(defence)
        within = p.within_region_share
        row[COLUMN["region_production_krw"]] = final_sales * p.multiplier_production * within
        row[COLUMN["region_value_added_krw"]] = final_sales * p.multiplier_value_added * within
        row[COLUMN["region_employment"]] = (
            12.0 * final_sales / price / 1e9 * p.multiplier_employment_per_bn_krw * within
        )
        self.book(cash_end=sum(firm.cash for firm in self.firms))

    # --- helpers ---------------------------------------------------------------------------------

    def book(self, **flows: float) -> None:
        for name, value in flows.items():
            self.ledger[self.k, LEDGER_COLUMN[name]] += value

    def set_market_weights(self) -> None:
        """Each living firm's share of its sector's open market, by base-year sales."""
        total = [0.0] * N_SECTORS
        for firm in self.firms:
            if firm.alive:
                total[firm.sector] += firm.base_sales
        for firm in self.firms:
            weight = firm.base_sales if firm.alive else 0.0
            sector_total = total[firm.sector]
            firm.market_weight = weight / (sector_total if sector_total > 0 else 1.0)

    def sector_adoption_shares(self) -> list[float]:
        """Share of adopters among the living firms that can adopt, by sector."""
        adopted = [0.0] * N_SECTORS
        candidates = [0.0] * N_SECTORS
        for firm in self.firms:
            if firm.alive and firm.adoption != INELIGIBLE:
                candidates[firm.sector] += 1.0
            if firm.has_adopted:
                adopted[firm.sector] += 1.0
        return [adopted[s] / max(candidates[s], 1.0) for s in range(N_SECTORS)]

    def place_entrant(self, sector_u: float, noise: list[float]) -> ReferenceFirm:
        """A new small firm in the next slot, drawn from the entrant template."""
        p, t, price = self.p, self.entrant, self.now_price
        cumulative = []
        running = 0.0
        for share in t["sector_share"]:
            running += share
            cumulative.append(running)
        cut = [c / cumulative[-1] for c in cumulative]
        sector = min(bisect.bisect_right(cut, sector_u), N_SECTORS - 1)
        employment = p.entrant_size * t["median_employment"]
        gross = employment * t["labour_productivity"][sector]
        sales = gross * (1.0 - p.defect_rate_base)
        gains = gains_of(p, employment, noise[1:])
        mix = t["partner_mix"][sector]
        state = {
            "sector": sector,
            "anchor": -1,
            "alive": True,
            "base_final": [sales * share for share in mix],
            "base_sales": sales,
            "capacity": gross / p.operating_rate,
            "productivity": 1.0,
            "defect_rate": p.defect_rate_base,
            "base_defect_rate": p.defect_rate_base,
            "unit_cost": 1.0,
            "firm_shock": math.sqrt(self.firm_shock_variance) * noise[0],
            "diverted": 0.0,
            "orders": p.in_complex_input_share * p.input_share * gross,
            "employment": employment,
            "labour_productivity": t["labour_productivity"][sector],
            "wage": t["wage"][sector],
            "fixed_cost": t["fixed_cost_share"][sector] * sales,
            "cash": p.cash_months * sales * price,
            "distress_months": 0,
            "adoption": NOT_ADOPTED,
            "adoption_month": 0,
            "gain_productivity": gains[0],
            "gain_defects": gains[1],
            "gain_cost": gains[2],
            "export_intensity": t["export_intensity"][sector],
        }
        firm = ReferenceFirm(
            self,
            len(self.firms),
            state,
            suppliers={},
            market=list(t["market_mix"]),
            us_exporter=mix[US] > 0,
        )
        firm.propensity = firm.readiness(self.reference_employment, p, self.propensity_scale)
        firm.entered_this_month = True
        self.firms.append(firm)
        return firm


def build_reference(
    scenario, params: Parameters, seed: int, replicate: int, firms: int | None = None
) -> ReferenceModel:
    """The firm-by-firm model of one replicate, ready to step: the same population, environment
    and month stream as `sim.ensemble.replicate.build_model` with the same arguments.
    """
    from sim.ensemble.replicate import STREAM_POPULATION, month_seeds, stream
    from sim.model.environment import build_environment
    from sim.model.population import synthesise

    population = synthesise(params, stream(seed, replicate, STREAM_POPULATION), firms)
    environment = build_environment(scenario, params, population.anchor_ids)
    return ReferenceModel(population, environment, params, month_seeds(seed, replicate), replicate)


def run_reference(
    scenario, params: Parameters, seed: int, replicate: int, firms: int | None = None
) -> np.ndarray:
    """Run one replicate firm by firm over the scenario's period; returns its monthly indicators
    (months x `sim.model.indicators.INDICATOR_NAMES`). What the benchmark times.
    """
    model = build_reference(scenario, params, seed, replicate, firms)
    for _ in range(len(model.months)):
        model.step()
    return model.indicators
