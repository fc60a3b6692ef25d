"""The validation report: its tables (CSV), figures and README, from the summary `validate`
assembles (`sim.analysis.calibration.validation`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.analysis.calibration.report import csv_text, show_level, table, unit_of
from sim.analysis.calibration.report_figures import LEVEL_UNITS, OBSERVED, plot_annual, save
from sim.analysis.scoring import BENCHMARKS

SCORED_UNITS = {
    "production_krw": (1e12, "trillion KRW (nominal)"),
    "exports_usd": (1e9, "bn USD"),
    "employment": (1e3, "thousand persons"),
}
BENCHMARK_NAMES = {
    "no_change": "no change",
    "random_walk_drift": "random walk with drift",
    "ar1_growth": "AR(1) of growth",
}


def write_tables(summary: dict, folder: Path) -> None:
    for name in ("hindcast", "rolling", "record", "drivers_rows"):
        rows = summary[name]
        if rows:
            header = list(rows[0])
            text = csv_text(header, [[flat(r[h]) for h in header] for r in rows])
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")


def flat(value):
    if isinstance(value, dict):
        return value.get("skill")
    if isinstance(value, list):
        return " ".join(map(str, value))
    return value


# --- figures --------------------------------------------------------------------------------------


def write_figures(targets, indicators, months, summary: dict, folder: Path, scale: float):
    figures = folder / "figures"
    figures.mkdir()
    fig = Figure(figsize=(11, 7))
    for i, name in enumerate(LEVEL_UNITS):
        ax = fig.add_subplot(2, 2, i + 1)
        plot_annual(targets, indicators, months, name, ax, scale)
        if i == 0:
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Hindcast 2020-2024 with the fitted posterior against KICOX figures")
    fig.tight_layout()
    save(fig, figures / "hindcast_annual.png")
    written = ["hindcast_annual.png"]
    if summary["rolling"]:
        fig = Figure(figsize=(13, 7.5))
        for row, label in enumerate(("drawn", "realised")):
            for col, name in enumerate(SCORED_UNITS):
                ax = fig.add_subplot(2, 3, 3 * row + col + 1)
                plot_rolling(summary["rolling"], name, label, ax)
        fig.suptitle(
            "Forecasts made at past origins with the whole method (top: drivers drawn; "
            "bottom: on the realised drivers), against the first releases"
        )
        fig.tight_layout()
        save(fig, figures / "rolling_forecasts.png")
        written.append("rolling_forecasts.png")
    return written


def plot_rolling(rows: list[dict], name: str, drivers: str, ax=None):
    """Forecast intervals (50% thick, 80% thin) by origin, against the reported figures."""
    ax = ax or Figure(figsize=(6.4, 3.8)).add_subplot()
    divisor, unit = SCORED_UNITS[name]
    mine = [r for r in rows if r["indicator"] == name and r["drivers"] == drivers]
    origins = sorted({r["origin"] for r in mine})
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
    for i, origin in enumerate(origins):
        colour = colours[i % len(colours)]
        for r in (r for r in mine if r["origin"] == origin):
            x = r["year"] + (i - (len(origins) - 1) / 2) * 0.12
            ax.plot([x, x], [r["q10"] / divisor, r["q90"] / divisor], color=colour, lw=1.2)
            ax.plot([x, x], [r["q25"] / divisor, r["q75"] / divisor], color=colour, lw=5)
        ax.plot([], [], color=colour, lw=5, label=f"made at the end of {origin}")
    observed = {r["year"]: r["outcome"] for r in mine}
    ax.plot(
        list(observed),
        [v / divisor for v in observed.values()],
        "D",
        color=OBSERVED,
        ms=6,
        label="first release",
        zorder=5,
    )
    ax.set_title(f"{name} ({drivers} drivers)", fontsize=9)
    ax.set_ylabel(unit, fontsize=8)
    ax.set_xticks(sorted(observed))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    return ax


# --- README --------------------------------------------------------------------------------------


def skill_text(skill: dict) -> str:
    if not np.isfinite(skill["skill"]):
        return "n/a"
    return f"{skill['skill']:+.2f} [{skill['low']:+.2f}, {skill['high']:+.2f}]"


def record_table(entries: list[dict], drivers: str) -> str:
    rows = []
    for e in entries:
        if e["drivers"] != drivers:
            continue
        rows.append(
            [
                e["indicator"],
                f"{e['horizon']} year(s)",
                f"{e['held50']} / {e['held80']} / {e['held90']} of {e['checks']}",
                f"{100 * e['relative_crps']:.1f}%",
                f"{100 * e['median_abs_error']:.1f}%",
                *(skill_text(e[f"skill_{b}"]) for b in BENCHMARKS),
            ]
        )
    return table(
        [
            "indicator",
            "horizon",
            "held by the 50 / 80 / 90% ranges",
            "CRPS (relative)",
            "median's error",
            *(f"skill vs {BENCHMARK_NAMES[b]}" for b in BENCHMARKS),
        ],
        rows,
    )


def readme(summary: dict, figures: list[str]) -> str:
    s = summary["settings"]
    cov = summary["hindcast_coverage"]
    parts = [
        "# Validation: the hindcast and the forecasts' record",
        "",
        f"Fit validated: `{summary['fit_id']}`. Regenerate with:",
        "",
        f"    {summary['command']}",
        "",
        f"Created {summary['created_utc']}.",
        "",
        "## 1. Forecasts made at past origins with the whole method",
        "",
        "For each origin year Y (the end of "
        + ", ".join(str(o) for o in s["origins"])
        + "), everything a forecast made then could have known, nothing later: the fit on "
        "the KICOX figures up to Y (ABC rejection: the "
        f"{100 * s['accept']:.0f}% of {s['reference']} prior simulations closest to them), the "
        "driver model re-estimated on the national histories up to Y and drawn from Y's state, "
        "a population synthesised to Y's reported totals, the complex's momentum of Y's second "
        "half; policies as they were (defence contracts, smart-factory support, no tariff). "
        f"{s['forecasts']} replicates per origin forecast the next "
        + " and ".join(str(h) for h in s["horizons"])
        + " year(s); they are scored against the first releases (the figures briefs are "
        "judged against), and again with the national drivers pinned to what happened, to "
        "tell the model's error from the drivers'.",
        "",
        "Benchmarks, from the complex's own first-release series up to the origin: no change; "
        "a random walk with drift (the mean log growth so far); an AR(1) of log growth, which "
        "needs four growths and falls back to the drift before that. The complex's series "
        "starts in 2020 (KICOX changed its sample in 2018 and 2020), so at the 2020 origin "
        "all three are no change. A point forecast's CRPS is its absolute error; skill = 1 - "
        "CRPS of the forecast / CRPS of the benchmark (above zero: better), with a bootstrap "
        "90% interval over the checks. CRPS is relative to the outcome so indicators pool.",
        "",
    ]
    for label, title in (
        ("drawn", "Drivers drawn (as forecasts are made)"),
        ("realised", "On the realised drivers"),
    ):
        pooled = summary["coverage"][label]
        parts += [f"### {title}", ""]
        if pooled["checks"]:
            parts += [
                f"Over all indicators and horizons, the 50% ranges held {pooled['held50']}, "
                f"the 80% ranges {pooled['held80']} and the 90% ranges {pooled['held90']} of "
                f"{pooled['checks']} outcomes.",
                "",
            ]
        parts += [record_table(summary["record"], label), ""]
    parts += [
        "With this few checks every share and skill is itself uncertain: a coverage from 12 "
        "checks has a standard error of about 12 points, and the checks of one origin share "
        "its year.",
        "",
        "## 2. The national drivers' record (one year ahead)",
        "",
        "The driver model alone, re-estimated at each origin on the national series up to it "
        "(longer than the complex's), scored on the next year's level.",
        "",
    ]
    driver_rows = []
    for series, d in summary["drivers"].items():
        driver_rows.append(
            [
                series,
                str(d["n"]),
                " / ".join(f"{100 * d['coverage'][k]:.0f}%" for k in ("50", "80", "90")),
                *(skill_text(d["skill"][b]) for b in BENCHMARKS),
            ]
        )
    parts.append(
        table(
            [
                "series",
                "checks",
                "held by 50 / 80 / 90%",
                *(f"skill vs {BENCHMARK_NAMES[b]}" for b in BENCHMARKS),
            ],
            driver_rows,
        )
    )
    parts += [
        "",
        "## 3. Hindcast 2020-2024 with the fitted posterior (in sample)",
        "",
        f"{s['replicates']} replicates from the 2020 population, driven by the recorded history, "
        "parameters drawn from the posterior, the rest from their priors, uncertain drivers "
        "drawn. These figures were fitted, so coverage here shows calibration, not forecasting.",
        "",
        table(
            ["target", "unit", "reported", "median", "error", "50%", "90%", "inside 50% / 90%"],
            [
                [
                    r["target"],
                    unit_of(r["target"]),
                    show_level(r["target"], r["observed"]),
                    show_level(r["target"], r["median"]),
                    f"{100 * r['error']:+.1f}%",
                    f"{show_level(r['target'], r['q25'])} - {show_level(r['target'], r['q75'])}",
                    f"{show_level(r['target'], r['q05'])} - {show_level(r['target'], r['q95'])}",
                    f"{'yes' if r['in50'] else 'no'} / {'yes' if r['in90'] else 'no'}",
                ]
                for r in summary["hindcast"]
            ],
        ),
    ]
    if cov.get("checks"):
        parts += [
            "",
            f"Inside the 50% interval: {100 * cov['in50']:.0f}% of {cov['checks']} figures; "
            f"inside the 90% interval: {100 * cov['in90']:.0f}%. Mean absolute error of the "
            f"median: {100 * cov['mean_abs_error']:.1f}%.",
        ]
    if figures:
        parts += ["", "## Figures", ""] + [f"![{f}](figures/{f})" for f in figures]
    parts += [
        "",
        "Files: `rolling.csv` (every forecast and outcome), `record.csv`, `drivers_rows.csv`, "
        "`hindcast.csv`, `validation.json`.",
        "",
    ]
    return "\n".join(parts)
