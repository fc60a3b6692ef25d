"""The page's policy inputs — a US tariff, an AI-factory programme, a defence contract — and the
scenario they make: the baseline with these measures added (its own measures and uncertain inputs
kept), validated as any scenario file is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.inputs.calendar import format_month
from sim.inputs.scenario import Scenario

#: The prime contractor and buyer of the page's defence contract, and how long its deliveries run.
CONTRACT_PRIME = "hanwha_aerospace"
CONTRACT_PARTNER = "rest_of_world"
CONTRACT_MONTHS = 24


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """What the page's sliders set. A zero rate, programme or contract means none."""

    tariff_rate: float = 0.15  # US tariff on every sector, on top of the baseline's measures
    tariff_start: str = "2025-07"
    ai_firms_per_year: int = 0  # AI-factory programme: subsidised firms a year, from the start
    ai_subsidy_share: float = 0.5
    contract_bn_usd: float = 0.0  # one defence export contract (Hanwha Aerospace, 24 months)
    contract_start: str = "2026-01"  # its signing and first delivery month


#: Slider ranges: (min, max, step).
RANGES: dict[str, tuple[float, float, float]] = {
    "tariff_rate": (0.0, 0.5, 0.01),
    "ai_firms_per_year": (0, 500, 10),
    "ai_subsidy_share": (0.0, 1.0, 0.05),
    "contract_bn_usd": (0.0, 10.0, 0.5),
}

#: Labels of the inputs, Korean then English.
LABELS: dict[str, tuple[str, str]] = {
    "tariff_rate": ("미국 관세율", "US tariff rate"),
    "tariff_start": ("관세 시작 월", "Tariff from"),
    "ai_firms_per_year": ("AI 공장 지원 기업 수 (연간)", "AI factories subsidised a year"),
    "ai_subsidy_share": ("AI 공장 보조 비율", "AI subsidy share of cost"),
    "contract_bn_usd": ("방산 수출 계약 (10억 달러)", "Defence contract (bn USD)"),
    "contract_start": ("계약·인도 시작 월", "Contract signed and delivered from"),
}


def label(name: str) -> str:
    """An input's label in both languages: '미국 관세율 · US tariff rate'."""
    korean, english = LABELS[name]
    return f"{korean} · {english}"


def start_months(base: Scenario, years: int = 3) -> list[str]:
    """The months a measure may start on the page: the first `years` years of the period."""
    last = min(base.period.end_month, base.period.start_month + 12 * years - 1)
    return [format_month(m) for m in range(base.period.start_month, last + 1)]


def policy_scenario(base: Scenario, inputs: PolicyInputs) -> Scenario:
    """The baseline with the page's measures added; raises `ScenarioError` if they are invalid."""
    data: dict[str, Any] = base.model_dump(mode="json")
    data["name"] = f"{base.name}-explore"
    data["title"] = f"{base.title or base.name} + {describe(inputs)}"
    if inputs.tariff_rate > 0:
        data["tariffs"] = [
            *data["tariffs"],
            {
                "name": "explore_us_tariff",
                "partner": "US",
                "sectors": "all",
                "rate": round(float(inputs.tariff_rate), 6),
                "start": inputs.tariff_start,
            },
        ]
    if inputs.ai_firms_per_year > 0:
        data["ai_factory"] = {
            "start": base.period.start,
            "subsidised_firms_per_year": int(inputs.ai_firms_per_year),
            "subsidy_share": round(float(inputs.ai_subsidy_share), 6),
        }
    if inputs.contract_bn_usd > 0:
        contract = {
            "name": "explore_contract",
            "prime": CONTRACT_PRIME,
            "value_usd": float(inputs.contract_bn_usd) * 1e9,
            "partner": CONTRACT_PARTNER,
            "signed": inputs.contract_start,
            "delivery": {"start": inputs.contract_start, "months": CONTRACT_MONTHS},
        }
        defence = data["defence_exports"]
        defence["contracts"] = [*defence["contracts"], contract]
    return validated(data)


def validated(data: dict[str, Any]) -> Scenario:
    from sim.inputs.scenario_files import scenario_from_data

    return scenario_from_data(data)


def describe(inputs: PolicyInputs) -> str:
    """The measures in a few words, for titles."""
    parts = []
    if inputs.tariff_rate > 0:
        parts.append(f"US tariff {inputs.tariff_rate:.0%} from {inputs.tariff_start}")
    if inputs.ai_firms_per_year > 0:
        parts.append(
            f"AI factories {inputs.ai_firms_per_year:.0f}/year at {inputs.ai_subsidy_share:.0%}"
        )
    if inputs.contract_bn_usd > 0:
        parts.append(f"defence contract {inputs.contract_bn_usd:g} bn USD")
    return ", ".join(parts) or "no new measure"
