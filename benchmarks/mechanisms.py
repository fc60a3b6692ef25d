"""The model's answers to four textbook shocks, paired against the same run without them.

Each pair runs the same replicate (seed 20250801, replicate 0) with the central parameters and
without firm churn (no entries, no exits), so the difference is the mechanism alone:

- a 15% US tariff on every sector from August 2025: US-bound export value in its first full year
  (2026) and in 2030, at tariff pass-through 0.3, 0.65 and 1.0;
- the region-wide job effect of that tariff over the complex's own (jobs lost in the complex plus
  beyond it, over those in the complex), 2026, 2028 and 2030;
- a won 15% weaker than its 2024 average through 2025: that year's USD exports and won production;
- the defence order book signed before 2025, with no new contract: deliveries and work by year.

`tests/model/test_model.py` checks the same figures against the bounds of the economics. Run:

    .venv/bin/python benchmarks/mechanisms.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sim.ensemble.replicate import build_model, replicate_inputs
from sim.inputs.parameters import Parameters, central_parameters
from sim.inputs.scenario_files import load_scenario
from sim.model.indicators import COLUMN, annual_from_monthly

SEED = 20250801
PERIOD = "period: {start: 2025-01, end: 2030-12}\n"
TARIFF = "tariffs:\n  - {name: r, partner: US, sectors: all, rate: 0.15, start: 2025-08}\n"
KRW_2024 = 1364.4  # the 2024 average (Bank of Korea)
WEAK = 1.15 * KRW_2024
WEAKER_WON = f"macro:\n  krw_per_usd: {{2024-12: {WEAK}, 2025-12: {WEAK}, 2026-01: {KRW_2024}}}\n"


def annual(folder: Path, body: str, params: Parameters) -> dict[int, list[float]]:
    """Annual indicators of replicate 0 of the scenario `body` (YAML after name and period)."""
    path = folder / f"scenario-{len(list(folder.iterdir()))}.yaml"
    path.write_text(f"name: pair\n{PERIOD}{body}", encoding="utf-8")
    scenario, _ = replicate_inputs(load_scenario(path), SEED, 0)
    model = build_model(scenario, params, SEED, 0)
    for _ in model.env.months:
        model.step()
    years, values = annual_from_monthly(model.indicators, model.env.months)
    return dict(zip(years, values, strict=True))


def change(after: dict, before: dict, year: int, indicator: str) -> float:
    return after[year][COLUMN[indicator]] / before[year][COLUMN[indicator]] - 1.0


def main() -> None:
    no_churn = central_parameters().replace(entry_rate=0.0, exit_rate=0.0, exit_debt_months=1e6)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for passthrough in (0.3, 0.65, 1.0):
            params = no_churn.replace(tariff_passthrough=passthrough)
            base, tariff = annual(folder, "", params), annual(folder, TARIFF, params)
            print(
                f"15% US tariff, pass-through {passthrough}: US-bound export value "
                f"2026 {change(tariff, base, 2026, 'exports_usd_US'):+.1%}, "
                f"2030 {change(tariff, base, 2030, 'exports_usd_US'):+.1%}"
            )
        base, tariff = annual(folder, "", no_churn), annual(folder, TARIFF, no_churn)
        for year in (2026, 2028, 2030):
            own = tariff[year][COLUMN["employment"]] - base[year][COLUMN["employment"]]
            beyond = (
                tariff[year][COLUMN["region_employment"]] - base[year][COLUMN["region_employment"]]
            )
            print(
                f"{year}: jobs in the complex {own:+,.0f}, beyond it in the region {beyond:+,.0f}; "
                f"region-wide over own {(own + beyond) / own:.2f}"
            )
        steady = annual(folder, f"macro: {{krw_per_usd: {KRW_2024}}}\n", no_churn)
        weaker = annual(folder, WEAKER_WON, no_churn)
        print(
            "won 15% weaker in 2025: USD exports "
            f"{change(weaker, steady, 2025, 'exports_usd'):+.2%}, won production "
            f"{change(weaker, steady, 2025, 'production_krw'):+.2%}"
        )
        book = annual(folder, "", no_churn)
        for indicator in ("defence_deliveries_krw", "defence_work_krw"):
            by_year = ", ".join(
                f"{year} {book[year][COLUMN[indicator]] / 1e12:.2f}" for year in range(2025, 2031)
            )
            print(f"order book only, {indicator} (조 KRW): {by_year}")


if __name__ == "__main__":
    main()
