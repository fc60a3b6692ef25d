"""Two sections of the fit report that are not about the fit's own numbers: what moved since the
previous fit and why (the model's changes, and the estimates and misses before and after), and
the national drivers' estimated processes (`sim.analysis.drivers_record`)."""

from __future__ import annotations

# What each model version changed in the economics, and so why a re-fit moves the numbers.
MODEL_CHANGES: dict[str, str] = {
    "2": (
        "Model version 2 corrects the economics and replaces constant drivers by estimated ones. "
        "The trade elasticities now apply to (1 + tariff), with pass-through only splitting the "
        "response between the exporter's dollar price (its margins) and volume, so a tariff costs "
        "about twice the US-bound exports it did; absorbed tariffs are recorded once, in export "
        "value and margins. Exports are mostly invoiced in dollars with sticky dollar prices, so "
        "a weaker won raises their won value instead of cutting their dollar value. The defence "
        "order book signed before 2025 is explicit and runs off by its schedule, output being "
        "recognised over a build period before each delivery. Output per worker keeps its trend "
        "in forecasts; firms also leave by business demography, and churn moves demand between "
        "firms instead of creating it. The employment effect of AI adoption (+3.0 persons per "
        "adopter, matched) is a target, productivity is measured as value added per worker, and "
        "the labour-saving share of the gain is fitted. Region-wide effects apply input-output "
        "multipliers to the real final demand the complex meets, net of its own round. The "
        "national drivers (demand by buyer, producer prices, the won) are the realised "
        "histories in the hindcast and an estimated driver model in forecasts, so the fitted "
        "hindcast-only growth rates of version 1 are gone; the complex's own demand trend and "
        "the size of its common shock (identified by the quarterly volatility) are fitted instead."
    ),
    "3": (
        "Model version 3 lets the complex's demand abroad follow Korea's customs exports by a "
        "fitted loading (`export_demand_loading`, prior 0.3-1.1) instead of one for one. The "
        "national series carries goods the complex does not make: in 2021-2024 the complex's "
        "exports rose 19%, 25%, 18% and 1% while Korea's moved +26%, +6%, -7% and +8%, which a "
        "one-for-one response could not follow (the exports of 2023 were missed by 7.5 "
        "tolerances), and it gave next year's forecasts the full swings of the national "
        "exports. Hindcast and forecasts use the same loading. The fit keeps it near one "
        "(estimate 1.08, posterior median 0.88, 90% 0.61-1.04): the 2020-2024 figures do not "
        "support a much weaker response, the 2023 export miss stays (its cause is not in the "
        "national drivers), and the loading's uncertainty now enters the forecast ranges."
    ),
}


def changes_section(previous: dict | None, summary: dict) -> list[str]:
    """Markdown lines: the model's change notes and, when a previous fit is known, its estimates
    and misses beside this fit's."""
    lines = ["## What moved since the previous fit, and why", ""]
    note = MODEL_CHANGES.get(str(summary["model_version"]))
    if note:
        lines += [note, ""]
    if not previous:
        return [*lines, "No previous fit was found in the output folder to compare with.", ""]
    lines += [
        f"Previous fit: `{previous.get('fit_id', '?')}` (model version "
        f"{previous.get('model_version', '?')}).",
        "",
        "| parameter | previous estimate | this estimate |",
        "|---|---|---|",
    ]
    old, new = previous.get("estimate", {}), summary.get("estimate", {})
    for name in sorted(set(old) | set(new)):
        lines.append(f"| {name} | {_show(old.get(name))} | {_show(new.get(name))} |")
    old_z = {t["target"]: t.get("z_median") for t in previous.get("targets", [])}
    new_z = {t["target"]: t.get("z_median") for t in summary.get("targets", [])}
    lines += [
        "",
        "Standardized misses of the posterior-predictive median (z), before and after:",
        "",
        "| target | previous z | this z |",
        "|---|---|---|",
    ]
    for key in sorted(set(old_z) | set(new_z)):
        lines.append(f"| {key} | {_show(old_z.get(key), 2)} | {_show(new_z.get(key), 2)} |")
    return [*lines, ""]


def _show(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}g}" if digits == 2 else f"{value:.{digits}g}"


def drivers_section() -> list[str]:
    """The estimated driver model: each driver's series, transform, source and process."""
    from sim.analysis.drivers_record import drivers_report_markdown
    from sim.ensemble.replicate import driver_model

    text = drivers_report_markdown(driver_model())
    return ["", *text.splitlines(), ""]
