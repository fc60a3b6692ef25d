"""The model's month written firm by firm: the readable reference the array model is tested against.

`ReferenceModel` steps the same month as `sim.model.changwon_model.ChangwonModel`, in the same
economic order, from the same inputs (a synthesised `Population`, an `Environment`, `Parameters`)
and the same random draws (`sim.model.draws.draw_month` on an identically seeded generator). Every
firm is a `ReferenceFirm` Mesa agent holding plain Python numbers (lists for its partner vectors);
its `step()` is its own month of demand and production, and its other rules are short methods
using `math`; the model's actions loop over the firms one by one. Nothing here uses numpy over
firms: arrays are only read once, at construction (and the month's draws, each month), and written
once a month, into the indicator and ledger tables.

The supplier network is held by the buyers: each firm keeps its named suppliers and their shares of
its in-complex purchases in a dict (supplier slot -> share), and the shares it buys on each sector's
open market in a list. The environment's national drivers, export prices and defence schedules are
read from the `Environment`; the tariffs' volume and price responses are recomputed here month by
month from the tariff rates (how buyers adjust to a tariff, and how the exporters share it), and
the schedules of pipeline orders are written here order by order.

It is slow on purpose: the benchmark times `run_reference` as the firm-by-firm
comparison of the performance targets.
"""

from __future__ import annotations

import bisect
import math

import mesa
import numpy as np

from sim.inputs.names import PARTNERS, SECTORS, population_spec
from sim.inputs.parameters import Parameters
from sim.model.changwon_model import LEDGER, LEDGER_COLUMN
from sim.model.defence import PIPELINE_DELIVERY_MONTHS, PIPELINE_LEAD_MONTHS
from sim.model.draws import MonthDraws, draw_month, month_generator, month_key
from sim.model.environment import Environment
from sim.model.firms import ADOPTED, ADOPTING, INELIGIBLE, NOT_ADOPTED
from sim.model.indicators import COLUMN, INDICATOR_NAMES
from sim.model.population import Population

DOMESTIC = PARTNERS.index("domestic")
US = PARTNERS.index("US")
N_PARTNERS = len(PARTNERS)
N_SECTORS = len(SECTORS)
EXPORTS = range(1, N_PARTNERS)  # partner columns that are exports

# Firm attributes copied from a row of `sim.model.firms.FirmState` (base_final is a list).
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
    us_exporter (sold to the US when the run or the firm started), propensity (to adopt),
    cost_advantage (demand from a lower unit cost), its supplier network (suppliers: slot ->
    share; market: share by sector) and its market_weight (share of its sector's open market).

    The month's flows (final by partner, network_orders, defence_krw, defence, demand, gross, sales,
    fill, diverted_sold, inputs, revenue, tariff_cost, delivered, bought, value_added, wages_paid,
    fixed_paid, profit, payout) are overwritten every month.
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
        self.propensity = 0.0
        self.cost_advantage = 1.0
        self.market_weight = 0.0
        self.entered_this_month = False
        self.clear_month()

    def clear_month(self) -> None:
        """The month's flows before anything happened (a firm that has left, an entrant)."""
        self.final = [0.0] * N_PARTNERS
        self.network_orders = 0.0
        self.defence_krw = 0.0
        self.defence = 0.0
        self.demand = 0.0
        self.gross = 0.0
        self.sales = 0.0
        self.fill = 0.0
        self.diverted_sold = 0.0
        self.inputs = 0.0
        self.revenue = 0.0
        self.tariff_cost = 0.0
        self.delivered = 0.0
        self.bought = 0.0
        self.value_added = 0.0
        self.wages_paid = 0.0
        self.fixed_paid = 0.0
        self.profit = 0.0
        self.payout = 0.0

    @property
    def is_sme(self) -> bool:
        """A living firm that is not an anchor: it may exit, and it shares its sector's demand."""
        return self.alive and self.anchor < 0

    @property
    def has_adopted(self) -> bool:
        return self.alive and self.adoption in (ADOPTING, ADOPTED)

    # --- 2-4. the firm's own month: demand, production, tariff absorption ------------------------

    def step(self) -> None:
        """My month up to my sales, once the month's environment is read and my customers' orders
        and my defence work have arrived: my demand shock and my buyers' demand, US sales
        re-routed, production at capacity, capacity toward demand, the tariff absorbed in prices.
        """
        m, p = self.model, self.model.p
        self.move_demand_shock(p.firm_shock_persistence, p.firm_shock_sd, m.firm_noise[self.slot])
        if not self.alive:
            self.clear_month()  # a firm that has left has no demand and delivers nothing
            return
        s = self.sector
        self.demand_from_buyers(m.demand_factor[s], m.firm_shock_variance)
        self.divert_lost_us_sales(m.tariff_volume[US][s], p.diversion_share, m.diversion_speed)
        self.produce(p.input_share, m.unit_revenue[s], m.export_price, m.now_price)
        self.adjust_capacity(p.operating_rate, m.capacity_speed)
        self.absorb_tariffs([m.tariff_price[j][s] for j in range(N_PARTNERS)], m.export_price)

    def move_demand_shock(self, persistence: float, sd: float, noise: float) -> None:
        self.firm_shock = persistence * self.firm_shock + sd * noise

    def demand_from_buyers(self, factor: list[float], shock_variance: float) -> None:
        """Final demand by buyer: base x this month's factor of my sector (buyer's demand, export
        price and tariff volume responses) x my own factor (mean-one shock, cost advantage)."""
        own = math.exp(self.firm_shock - 0.5 * shock_variance) * self.cost_advantage
        self.final = [self.base_final[j] * factor[j] * own for j in range(N_PARTNERS)]

    def divert_lost_us_sales(self, us_volume: float, share: float, speed: float) -> None:
        """Re-routed sales move toward a share of the US sales the tariff's volume response
        costs me."""
        lost = self.final[US] * (1.0 / us_volume - 1.0)
        self.diverted += speed * (share * lost - self.diverted)

    def place_orders(self, firms: list[ReferenceFirm], market_orders: list[float]) -> None:
        """Send last month's in-complex input orders to my named suppliers and the markets."""
        for slot, share in self.suppliers.items():
            firms[slot].network_orders += share * self.orders
        for s in range(N_SECTORS):
            market_orders[s] += self.market[s] * self.orders

    def produce(
        self, input_share: float, unit_revenue: list[float], export_price: float, price: float
    ) -> None:
        """Make what demand needs, up to capacity x productivity; defects scrap part of it; sell
        at each buyer's price (re-routed sales at the export price, orders and defence work at
        producer prices); buy inputs for the gross output."""
        self.demand = sum(self.final) + self.diverted + self.network_orders + self.defence
        needed = self.demand / (1.0 - self.defect_rate)
        self.gross = min(needed, self.capacity * self.productivity)
        self.sales = self.gross * (1.0 - self.defect_rate)
        self.fill = self.sales / self.demand if self.demand > 0 else 1.0
        self.diverted_sold = self.diverted * self.fill
        self.inputs = input_share * self.unit_cost * self.gross
        value = 0.0  # won value of all demand
        for j in range(N_PARTNERS):
            value += self.final[j] * unit_revenue[j]
        value += self.diverted * export_price + self.network_orders * price + self.defence_krw
        self.revenue = self.fill * value

    def adjust_capacity(self, operating_rate: float, speed: float) -> None:
        desired = self.demand / (1.0 - self.defect_rate) / (self.productivity * operating_rate)
        self.capacity += speed * (desired - self.capacity)

    def absorb_tariffs(self, tariff_price: list[float], export_price: float) -> None:
        """Won given up in the price cuts that absorb tariffs (a memo: revenue already holds it)."""
        cut = 0.0
        for j in range(N_PARTNERS):
            cut += self.final[j] * self.fill * (1.0 - tariff_price[j])
        self.tariff_cost = cut * export_price

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
        """Pay for inputs (delivered from inside, the rest bought outside), wages and fixed
        costs; profit to cash, payouts leave; order next month's inputs from inside."""
        self.delivered = self.orders * supplier_fill
        self.bought = self.delivered + max(0.0, self.inputs - self.delivered)
        self.value_added = self.revenue - self.bought * price
        self.wages_paid = self.employment * self.wage * price
        self.fixed_paid = self.fixed_cost * price
        self.profit = self.value_added - self.wages_paid - self.fixed_paid
        self.payout = p.payout_rate * max(self.profit, 0.0)
        self.cash = self.cash + self.profit - self.payout
        self.orders = p.in_complex_input_share * self.inputs

    def credit_need(self) -> float:
        if self.alive and self.us_exporter:
            return max(0.0, -self.cash)
        return 0.0

    def count_distress(self, p: Parameters, price: float) -> bool:
        """Count a month below the distress line; True if the distress makes me leave now."""
        if not self.is_sme:  # anchors do not exit
            self.distress_months = 0
            return False
        line = p.exit_debt_months * price * self.base_sales
        self.distress_months = self.distress_months + 1 if self.cash < -line else 0
        return self.distress_months >= round(p.exit_after_months)

    def leaves_by_demography(self, e: float, rate_per_year: float) -> bool:
        """Leave for other reasons (retirement, relocation, merger): my exponential draw falls
        below the monthly rate."""
        return self.is_sme and e < rate_per_year / 12.0

    def leave(self) -> float:
        """Close the firm; returns the cash it takes out of the complex."""
        cash = self.cash
        self.alive = False
        self.cash = 0.0
        self.employment = 0.0
        self.capacity = 0.0
        self.fixed_cost = 0.0
        self.orders = 0.0
        self.diverted = 0.0
        return cash

    def rescale_demand(self, factor: list[float]) -> None:
        """My base demand from each buyer times my sector's churn factor; my base sales move in
        proportion to my base demand."""
        before = sum(self.base_final)
        self.base_final = [self.base_final[j] * factor[j] for j in range(N_PARTNERS)]
        if before > 0:
            self.base_sales *= sum(self.base_final) / before

    def drop_suppliers(self, gone: set[int], firms: list[ReferenceFirm]) -> int:
        """Buy on the sector markets what I bought from suppliers that left; returns how many."""
        dropped = [slot for slot in self.suppliers if slot in gone]
        for slot in dropped:
            share = self.suppliers.pop(slot)
            self.market[firms[slot].sector] += share
        return len(dropped)

    # --- 6. employment --------------------------------------------------------------------------

    def raise_output_per_worker(self, factor: float) -> None:
        self.labour_productivity *= factor
        self.wage *= factor  # the wage bill per unit of output stays the same

    def adjust_employment(self, speed: float, labour_saving: float) -> None:
        if not self.alive:
            self.employment = 0.0
            return
        if self.entered_this_month:
            needed = self.employment  # entrants start at their size
        else:
            # Only the labour-saving part of an adopter's productivity gain saves workers.
            needed = self.gross / (self.labour_productivity * self.productivity**labour_saving)
        self.employment += speed * (needed - self.employment)

    # --- 7. AI-factory adoption -----------------------------------------------------------------

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

    def ramp(self, month: int, ramp_months: float, cost_elasticity: float) -> None:
        """Move an adopter's productivity, defects and unit cost along its learning ramp."""
        if self.adoption != ADOPTING:
            return
        progress = min(max((month - self.adoption_month) / ramp_months, 0.0), 1.0)
        self.productivity = 1.0 + self.gain_productivity * progress
        self.defect_rate = self.base_defect_rate * (1.0 - self.gain_defects * progress)
        self.unit_cost = 1.0 - self.gain_cost * progress
        self.cost_advantage = self.unit_cost**-cost_elasticity
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


def churn_factor(pool: float, change: float) -> float:
    """Factor that moves demand `change` into (positive) or out of (negative) a pool of firms
    whose demand is `pool`, shared in proportion to what each had."""
    return max(0.0, 1.0 + change / pool) if pool > 0 else 1.0


def region_effects(
    final_demand: float,
    external_sales: float,
    production: float,
    value_added: float,
    employment: float,
    labour_trend: float,
    p: Parameters,
) -> tuple[float, float, float]:
    """Production and value added (real) and jobs induced in the region beyond the complex:
    multipliers on the real final demand the complex meets, less the complex's own production,
    value added and jobs in the proportion of that final demand to its sales leaving the complex,
    times the share that stays in the region. Jobs per won fall with output per worker."""
    if external_sales <= 0 or final_demand <= 0:
        return 0.0, 0.0, 0.0
    own = final_demand / external_sales
    jobs = p.multiplier_employment_per_bn_krw / labour_trend * 12.0 * final_demand / 1e9
    within = p.within_region_share
    return (
        within * max(0.0, p.multiplier_production * final_demand - own * production),
        within * max(0.0, p.multiplier_value_added * final_demand - own * value_added),
        within * max(0.0, jobs - own * employment),
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
        self.replicate = replicate
        self.p = p = params
        self.k = 0
        env = environment

        # The environment, as plain nested lists read month by month.
        self.months = [int(m) for m in env.months]
        self.price = env.price.tolist()
        self.krw_per_usd = env.krw_per_usd.tolist()
        self.demand_index = env.demand_index.tolist()  # [k][partner]
        self.export_volume = env.export_volume.tolist()
        self.export_prices = env.export_price.tolist()
        self.tariff_rate = env.tariff_rate.tolist()  # [k][partner][sector]
        self.programme_active = [bool(a) for a in env.programme_active]
        self.programme_slots = env.programme_slots.tolist()
        self.subsidy_share = float(env.subsidy_share)
        self.support_active = [bool(a) for a in env.support_active]
        self.diversion_boost = float(env.diversion_boost)
        self.pipeline_rate = env.pipeline_rate.tolist()
        self.pipeline = env.pipeline
        # The order book: [k][anchor][partner], nominal KRW; pipeline orders are added to it.
        self.defence_work = env.defence_work.tolist()
        self.defence_deliveries = env.defence_deliveries.tolist()
        self.defence_signed = env.defence_signed.tolist()
        self.defence_scale = env.defence_scale
        self.defence_backlog = float(env.defence_backlog)

        # How buyers adjust to tariffs (recomputed here, not read from the environment).
        adjust_years = p.elasticity_years_to_long_run / math.log(20.0)
        self.impact = max(
            0.0,
            p.elasticity_long_run
            - (p.elasticity_long_run - p.elasticity_one_year) * math.exp(1.0 / adjust_years),
        )
        self.perceived_speed = speed_of(12.0 * adjust_years)
        self.perceived = [[0.0] * N_SECTORS for _ in range(N_PARTNERS)]

        # Model-level state.
        self.common_shock = float(env.complex_shock_start)
        self.firm_shock_variance = p.firm_shock_sd**2 / (1.0 - p.firm_shock_persistence**2)
        self.labour_trend = 1.0
        self.region_jobs: float | None = None
        self.slots_left = 0.0
        self.credit_left = float(env.credit_line_krw)
        self.capacity_speed = speed_of(p.capacity_adjust_months)
        self.employment_speed = speed_of(p.employment_adjust_months)
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
        # The SMEs' base demand by sector and buyer: churn moves it between them, never changes it.
        self.sme_demand = [[0.0] * N_PARTNERS for _ in range(N_SECTORS)]
        for firm in self.firms:
            if firm.is_sme:
                for j in range(N_PARTNERS):
                    self.sme_demand[firm.sector][j] += firm.base_final[j]

        # Propensity to adopt: fixed by base-year size and exporting, scaled to a mean of one.
        eligible = [firm for firm in self.firms if firm.adoption != INELIGIBLE]
        mean = sum(firm.readiness(self.reference_employment, p, 1.0) for firm in eligible)
        self.propensity_scale = 1.0 / (mean / len(eligible))
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
                "exits_distress",
                "exits_demography",
                "links_redirected",
                "credit",
                "subsidised",
                "unaided",
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
        self.firm_noise = draws.firm_noise.tolist()
        for firm in self.firms:
            firm.entered_this_month = False
        # 1. environment
        self.read_environment()  # drivers, prices of exports, tariff responses, programme slots
        self.move_common_shock(draws)  # and this month's demand factor of every sector and buyer
        # 2. demand (the customers' orders and the defence work arrive; each firm's own demand is
        # the first part of its step)
        self.orders_from_customers()
        self.defence_work_due()
        # 2-4. each firm: demand, re-routed US sales, production, capacity, tariff absorption
        for firm in self.firms:
            firm.step()
        # 5. finance
        self.settle_accounts()
        self.lend_export_support()
        self.exit_firms(draws)
        self.enter_new_firms(draws)
        # 6. employment
        self.raise_output_per_worker()
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
        k, p = self.k, self.p
        self.month = self.months[k]
        self.now_price = self.price[k]
        self.export_price = self.export_prices[k]
        self.fx = self.krw_per_usd[k]
        self.slots_left += self.programme_slots[k]
        self.move_perceived_tariffs()
        # Won per real unit sold, by sector and buyer: producer prices at home, the export price
        # abroad, less the exporters' price cuts that absorb tariffs.
        self.unit_revenue = [
            [
                (self.now_price if j == DOMESTIC else self.export_price) * self.tariff_price[j][s]
                for j in range(N_PARTNERS)
            ]
            for s in range(N_SECTORS)
        ]
        boost = self.diversion_boost if self.support_active[k] else 0.0
        self.diversion_speed = speed_of(p.diversion_months / (1.0 + boost))

    def move_perceived_tariffs(self) -> None:
        """The tariffs' volume and exporter's price responses by partner and sector.

        Trade value at the border moves by (1 + tau)^-eps(t), eps rising as buyers adjust (the
        perceived wedge). The exporter absorbs the part it does not pass on by a price cut, never
        deeper than the whole response; the rest of the response is volume.
        """
        p = self.p
        self.tariff_volume = [[1.0] * N_SECTORS for _ in range(N_PARTNERS)]
        self.tariff_price = [[1.0] * N_SECTORS for _ in range(N_PARTNERS)]
        for j in range(N_PARTNERS):
            for s in range(N_SECTORS):
                wedge = math.log1p(self.tariff_rate[self.k][j][s])
                old = self.perceived[j][s]
                self.perceived[j][s] = old + self.perceived_speed * (wedge - old)
                value = math.exp(
                    -self.impact * wedge
                    - (p.elasticity_long_run - self.impact) * self.perceived[j][s]
                )
                price = max(math.exp(-(1.0 - p.tariff_passthrough) * wedge), value)
                self.tariff_price[j][s] = price
                self.tariff_volume[j][s] = value / price

    def move_common_shock(self, draws: MonthDraws) -> None:
        """The complex-wide shock (AR(1), mean one in levels given the variance it has gathered
        since the start), and the month's demand factor by sector and buyer."""
        p, k = self.p, self.k
        rho, sd = p.complex_shock_persistence, p.complex_shock_sd
        self.common_shock = rho * self.common_shock + sd * float(draws.common_noise)
        variance = sd**2 * (1.0 - rho ** (2 * (k + 1))) / (1.0 - rho**2)
        common = math.exp(self.common_shock - 0.5 * variance)
        price_response = [
            1.0 if j == DOMESTIC else self.export_volume[k] for j in range(N_PARTNERS)
        ]
        self.demand_factor = [
            [
                self.demand_index[k][j] * common * price_response[j] * self.tariff_volume[j][s]
                for j in range(N_PARTNERS)
            ]
            for s in range(N_SECTORS)
        ]

    def orders_from_customers(self) -> None:
        for firm in self.firms:
            firm.network_orders = 0.0
        market_orders = [0.0] * N_SECTORS
        for firm in self.firms:
            firm.place_orders(self.firms, market_orders)
        for firm in self.firms:
            firm.network_orders += market_orders[firm.sector] * firm.market_weight

    def defence_work_due(self) -> None:
        """The order book's work of the month, at the primes (output as the work is done)."""
        due = self.defence_work[self.k]
        for firm in self.firms:
            firm.defence_krw = 0.0
            if firm.anchor >= 0 and firm.alive:
                firm.defence_krw = sum(due[firm.anchor])
            firm.defence = firm.defence_krw / self.now_price

    def settle_accounts(self) -> None:
        market_fill = [0.0] * N_SECTORS
        for firm in self.firms:
            market_fill[firm.sector] += firm.market_weight * firm.fill
        for firm in self.firms:
            firm.settle(firm.supplier_fill(self.firms, market_fill), self.now_price, self.p)
        price = self.now_price
        flows = dict.fromkeys(LEDGER[:7], 0.0)
        for firm in self.firms:
            in_complex = firm.network_orders * firm.fill * price
            flows["external_sales"] += firm.revenue - in_complex
            flows["in_complex_sales"] += in_complex
            flows["in_complex_purchases"] += firm.delivered * price
            flows["outside_purchases"] += (firm.bought - firm.delivered) * price
            flows["wages"] += firm.wages_paid
            flows["fixed_costs"] += firm.fixed_paid
            flows["payouts"] += firm.payout
        self.book(**flows)

    def lend_export_support(self) -> None:
        """Exporters with negative cash draw what they lack, pro rata if the line is short."""
        if not self.support_active[self.k]:
            return
        needs = [firm.credit_need() for firm in self.firms]
        total = sum(needs)
        if total <= 0.0 or self.credit_left <= 0.0:
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

    def exit_firms(self, draws: MonthDraws) -> None:
        """Firms in distress for long enough leave, and others by the demography hazard; their
        buyers turn to the SMEs of their sector that stay, their customers to the markets."""
        p = self.p
        exit_e = draws.exit_e.tolist()  # firms of the month's start
        leaving = []
        for firm in self.firms:
            distressed = firm.count_distress(p, self.now_price)
            if distressed:
                leaving.append(firm)
                self.counts["exits_distress"] += 1
            elif firm.leaves_by_demography(exit_e[firm.slot], p.exit_rate):
                leaving.append(firm)
                self.counts["exits_demography"] += 1
        self.exits = len(leaving)
        if not leaving:
            return
        moved = [[0.0] * N_PARTNERS for _ in range(N_SECTORS)]
        for firm in leaving:
            for j in range(N_PARTNERS):
                moved[firm.sector][j] += firm.base_final[j]
        stay = [
            [
                churn_factor(self.sme_demand[s][j] - moved[s][j], moved[s][j])
                for j in range(N_PARTNERS)
            ]
            for s in range(N_SECTORS)
        ]
        gone = {firm.slot for firm in leaving}
        for firm in self.firms:
            if firm.is_sme and firm.slot not in gone:
                firm.rescale_demand(stay[firm.sector])
        self.book(exit_cash=sum(firm.leave() for firm in leaving))
        for firm in self.firms:
            self.counts["links_redirected"] += firm.drop_suppliers(gone, self.firms)

    def enter_new_firms(self, draws: MonthDraws) -> None:
        """New small firms; they take their demand from the SMEs of their sector."""
        self.entries = len(draws.entrant_sector_u)
        self.counts["entries"] += self.entries
        if self.entries:
            newcomers = [
                self.place_entrant(float(u), [float(z) for z in noise])
                for u, noise in zip(draws.entrant_sector_u, draws.entrant_noise, strict=True)
            ]
            won = [[0.0] * N_PARTNERS for _ in range(N_SECTORS)]
            for firm in newcomers:
                for j in range(N_PARTNERS):
                    won[firm.sector][j] += firm.base_final[j]
            give = [
                [churn_factor(self.sme_demand[s][j], -won[s][j]) for j in range(N_PARTNERS)]
                for s in range(N_SECTORS)
            ]
            for firm in self.firms:
                if firm.is_sme and not firm.entered_this_month:
                    firm.rescale_demand(give[firm.sector])
            self.book(entrant_cash=sum(firm.cash for firm in newcomers))
        if self.entries or self.exits:  # sector markets now have other firms in them
            self.set_market_weights()

    def raise_output_per_worker(self) -> None:
        factor = (1.0 + self.p.labour_productivity_growth) ** (1.0 / 12.0)
        self.labour_trend *= factor
        for firm in self.firms:
            firm.raise_output_per_worker(factor)
        t = self.entrant
        t["labour_productivity"] = [value * factor for value in t["labour_productivity"]]
        t["wage"] = [value * factor for value in t["wage"]]

    def adjust_employment(self) -> None:
        for firm in self.firms:
            firm.adjust_employment(self.employment_speed, self.p.ai_labour_saving)

    def adopt_ai_factories(self, draws: MonthDraws) -> None:
        """Each firm not yet adopting decides with hazard 1 - exp(-rate): it adopts when its
        exponential draw is below its rate (times the subsidy boost, for a programme slot).
        """
        p = self.p
        sector_share = self.sector_adoption_shares()
        offering = self.programme_active[self.k] and self.slots_left >= 1.0
        share = self.subsidy_share if offering else 0.0
        boost = 1.0 + p.subsidy_hazard_boost * share
        adoption_e = draws.adoption_e.tolist()
        # Firms of the month's start only: this month's entrants adopt from next month.
        applicants = []
        for firm in self.firms[: len(adoption_e)]:
            if not firm.alive or firm.adoption != NOT_ADOPTED:
                continue
            peers = firm.peer_share(self.firms, sector_share, p.network_peer_weight)
            rate = bass_rate(peers, sector_share[firm.sector], firm.propensity, p)
            cost = firm.adoption_cost(p, self.now_price)
            applicants.append((firm, adoption_e[firm.slot], rate, cost))
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
            firm.ramp(self.month, self.p.ramp_months, self.p.cost_demand_elasticity)

    def book_pipeline_orders(self, draws: MonthDraws) -> None:
        """New orders of the pipeline: their prime, value and schedule of work and deliveries."""
        pipeline = self.pipeline
        for u_value, u_prime in zip(draws.order_value_u, draws.order_prime_u, strict=True):
            self.counts["pipeline_orders"] += 1
            primes = pipeline.primes
            prime = primes[min(int(u_prime * len(primes)), len(primes) - 1)]
            self.book_order(
                self.anchor_ids.index(prime),
                PARTNERS.index(pipeline.partner),
                pipeline.value_usd.ppf(float(u_value)),
            )

    def book_order(self, anchor: int, partner: int, value_usd: float) -> None:
        """An order signed this month: the complex's share of it is delivered evenly over
        `PIPELINE_DELIVERY_MONTHS` from `PIPELINE_LEAD_MONTHS` on, and each delivery is worked
        evenly over the build months before it (not before signing), in won at the exchange rate
        of the month worked or delivered (the period's last rate after it). The whole work joins
        the backlog now; work and deliveries after the period stay in it. The order is signed
        after the month's production, so its work starts next month."""
        p, first = self.p, self.months[0]
        build = max(1, round(p.defence_build_months))
        share = self.defence_scale * p.defence_in_complex_share
        per_delivery = share * value_usd / PIPELINE_DELIVERY_MONTHS
        start_of_deliveries = self.month + PIPELINE_LEAD_MONTHS
        signed = 0.0
        for delivery in range(start_of_deliveries, start_of_deliveries + PIPELINE_DELIVERY_MONTHS):
            start = max(self.month + 1, delivery - build + 1)
            per_month = per_delivery / (delivery - start + 1)
            for month in range(start, delivery + 1):
                krw = per_month * self.rate_in(month)
                signed += krw
                if month - first < len(self.months):
                    self.defence_work[month - first][anchor][partner] += krw
            if delivery - first < len(self.months):
                self.defence_deliveries[delivery - first][anchor][partner] += (
                    per_delivery * self.rate_in(delivery)
                )
        self.defence_backlog += signed

    def record(self) -> None:
        p, price, k = self.p, self.now_price, self.k
        # The backlog runs off by the book's scheduled work of the month.
        self.defence_backlog += self.defence_signed[k] - sum(map(sum, self.defence_work[k]))
        row = self.indicators[k]
        exports_by_partner = [0.0] * N_PARTNERS  # won
        exports_by_sector = [0.0] * N_SECTORS  # won
        diverted = [0.0] * N_SECTORS  # re-routed sales made, real, by sector
        delivered = 0.0  # defence deliveries, won (customs records them at delivery)
        defence_work = 0.0  # won
        final_demand = 0.0  # real: exports, defence work, domestic sales to final buyers
        in_complex = 0.0  # real
        due = self.defence_deliveries[k]
        for firm in self.firms:
            sold = [firm.final[j] * firm.fill for j in range(N_PARTNERS)]  # real
            exported = firm.diverted_sold * self.export_price
            for j in EXPORTS:
                won = self.unit_revenue[firm.sector][j] * sold[j]
                exports_by_partner[j] += won
                exported += won
            if firm.anchor >= 0 and firm.alive:
                for j in EXPORTS:
                    exports_by_partner[j] += due[firm.anchor][j]
                    exported += due[firm.anchor][j]
                    delivered += due[firm.anchor][j]
            exports_by_sector[firm.sector] += exported
            diverted[firm.sector] += firm.diverted_sold
            defence_work += firm.defence_krw * firm.fill
            final_demand += sum(sold[j] for j in EXPORTS) + firm.diverted_sold
            final_demand += firm.defence_krw * firm.fill / price
            final_demand += p.domestic_final_share * sold[DOMESTIC]
            in_complex += firm.network_orders * firm.fill
        for s in range(N_SECTORS):
            for j in EXPORTS:
                exports_by_partner[j] += diverted[s] * self.diversion_mix[s][j] * self.export_price
        fx = self.fx

        alive = sum(1 for firm in self.firms if firm.alive)
        adopters = sum(1 for firm in self.firms if firm.has_adopted)
        employment = sum(firm.employment for firm in self.firms)
        production = sum(firm.revenue for firm in self.firms)
        real_sales = sum(firm.sales for firm in self.firms)
        value_added = sum(firm.value_added for firm in self.firms)
        gross = sum(firm.gross for firm in self.firms)
        defects = sum(firm.gross * firm.defect_rate for firm in self.firms)

        row[COLUMN["production_krw"]] = production
        row[COLUMN["production_real_krw"]] = real_sales
        row[COLUMN["value_added_krw"]] = value_added
        row[COLUMN["exports_usd"]] = sum(exports_by_partner[j] for j in EXPORTS) / fx
        for j in EXPORTS:
            row[COLUMN[f"exports_usd_{PARTNERS[j]}"]] = exports_by_partner[j] / fx
        row[COLUMN["employment"]] = employment
        row[COLUMN["active_firms"]] = alive
        row[COLUMN["entries"]] = self.entries
        row[COLUMN["exits"]] = self.exits
        row[COLUMN["adopters"]] = adopters
        row[COLUMN["adoption_share"]] = adopters / max(1, alive)
        row[COLUMN["labour_productivity"]] = production / employment if employment > 0 else 0.0
        row[COLUMN["defect_rate"]] = defects / max(gross, 1e-300)
        row[COLUMN["tariff_cost_krw"]] = sum(firm.tariff_cost for firm in self.firms)
        row[COLUMN["defence_work_krw"]] = defence_work
        row[COLUMN["defence_deliveries_krw"]] = delivered
        row[COLUMN["defence_backlog_krw"]] = max(0.0, self.defence_backlog)
        for s, sector in enumerate(SECTORS):
            in_sector = [firm for firm in self.firms if firm.sector == s]
            row[COLUMN[f"production_krw_{sector}"]] = sum(firm.revenue for firm in in_sector)
            row[COLUMN[f"exports_usd_{sector}"]] = exports_by_sector[s] / fx
            row[COLUMN[f"employment_{sector}"]] = sum(firm.employment for firm in in_sector)
        # The region beyond the complex, in volumes: final demand the complex meets is its exports
        # (defence work counted as it is made, not at delivery) and its domestic sales to final
        # buyers; the price cuts that absorb tariffs move margins, not what is made upstream.
        region = region_effects(
            final_demand,
            real_sales - in_complex,
            real_sales,
            value_added / price,
            employment,
            self.labour_trend,
            p,
        )
        row[COLUMN["region_production_krw"]] = region[0] * price
        row[COLUMN["region_value_added_krw"]] = region[1] * price
        if self.region_jobs is None:
            self.region_jobs = region[2]
        self.region_jobs += self.employment_speed * (region[2] - self.region_jobs)
        row[COLUMN["region_employment"]] = self.region_jobs
        self.book(cash_end=sum(firm.cash for firm in self.firms))

    # --- helpers ---------------------------------------------------------------------------------

    def book(self, **flows: float) -> None:
        for name, value in flows.items():
            self.ledger[self.k, LEDGER_COLUMN[name]] += value

    def rate_in(self, month: int) -> float:
        """Won per dollar in `month`, held at the period's first or last rate outside it."""
        k = min(max(month - self.months[0], 0), len(self.months) - 1)
        return self.krw_per_usd[k]

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
    """The firm-by-firm model of one replicate, ready to step: the very population, environment
    and month stream of `sim.ensemble.replicate.build_model` with the same arguments, read
    before the array model steps.
    """
    from sim.ensemble.replicate import build_model, month_seeds

    array = build_model(scenario, params, seed, replicate, firms)
    return ReferenceModel(
        population_of(array), array.env, params, month_seeds(seed, replicate), replicate
    )


def population_of(array) -> Population:
    """The population an array model (`ChangwonModel`) was made from, as long as it has not
    stepped."""
    from sim.inputs.names import anchor_ids

    return Population(
        firms=array.firms,
        network=array.network,
        entrant=array.entrant,
        anchor_ids=anchor_ids(),
        reference_employment=array.reference_employment,
        base_year_totals={},
    )


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
