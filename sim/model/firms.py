"""The firms' state: one array per attribute, index = firm slot.

Slots beyond the living population are kept for entrants, so entry appends rows instead of
reallocating every month; `alive` tells which slots hold an active firm. Real quantities are monthly
volumes at 2024 prices (KRW of 2024); nominal ones are marked `_krw` and carry the month's prices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sim.inputs.names import PARTNERS

NOT_ADOPTED, ADOPTING, ADOPTED, INELIGIBLE = 0, 1, 2, 3
# Values of an empty slot other than zero: neutral, so rules on dead slots stay finite.
EMPTY_SLOT = {"anchor": -1, "productivity": 1.0, "unit_cost": 1.0, "labour_productivity": 1.0}


@dataclass(slots=True)
class FirmState:
    """Struct of arrays of every firm slot. Shapes are (slots,) unless stated."""

    # identity
    sector: np.ndarray  # int: index into sim.inputs.names.SECTORS
    anchor: np.ndarray  # int: index into the anchors of population.yaml, -1 for an SME
    alive: np.ndarray  # bool: the slot holds an active firm
    # demand and production, real (2024 KRW a month)
    base_final: np.ndarray  # (slots, partners): final demand by partner in the base year
    base_sales: np.ndarray  # sales in the base year; weights the firm in its sector's market
    capacity: np.ndarray  # gross output the firm can make at productivity 1
    productivity: np.ndarray  # output per worker relative to the base year (1 = base)
    defect_rate: np.ndarray  # share of gross output scrapped
    base_defect_rate: np.ndarray  # defect rate before any adoption effect since the base year
    unit_cost: np.ndarray  # inputs per unit of gross output relative to the base year
    firm_shock: np.ndarray  # log firm-specific demand shock, AR(1)
    diverted: np.ndarray  # demand re-routed from the US to other partners
    orders: np.ndarray  # inputs ordered from inside the complex last month
    # labour and money
    employment: np.ndarray  # persons
    labour_productivity: np.ndarray  # gross output per worker in the base year
    wage: np.ndarray  # KRW of 2024 per worker per month
    fixed_cost: np.ndarray  # KRW of 2024 per month (capital, rent, overheads)
    cash: np.ndarray  # KRW
    distress_months: np.ndarray  # consecutive months with cash below the distress line
    # AI-factory adoption
    adoption: np.ndarray  # NOT_ADOPTED, ADOPTING, ADOPTED or INELIGIBLE
    adoption_month: np.ndarray  # month number of adoption (meaningful if ADOPTING or ADOPTED)
    gain_productivity: np.ndarray  # the firm's productivity gain once the ramp is complete
    gain_defects: np.ndarray  # the firm's fall in defect rate once the ramp is complete
    gain_cost: np.ndarray  # the firm's fall in unit cost once the ramp is complete
    export_intensity: np.ndarray  # base-year exports over sales

    @property
    def slots(self) -> int:
        return len(self.alive)

    def grow(self, extra: int) -> None:
        """Add `extra` empty (dead) slots at the end of every array."""
        for field in dataclasses.fields(self):
            old = getattr(self, field.name)
            pad = np.full((extra, *old.shape[1:]), EMPTY_SLOT.get(field.name, 0), dtype=old.dtype)
            setattr(self, field.name, np.concatenate([old, pad]))

    def copy(self) -> FirmState:
        return FirmState(**{f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)})


assert len(PARTNERS) == 5  # base_final's second axis follows sim.inputs.names.PARTNERS
