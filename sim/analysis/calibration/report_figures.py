"""The figures of the fit report: the hindcast against the reported figures (annual and monthly),
the smart-factory effects, the posterior marginals, the search and the identification.

Figures are drawn on `matplotlib.figure.Figure` with the Agg canvas (no pyplot state); every
drawing function takes `ax=None` and returns the axes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.analysis.calibration.fit import Fit
from sim.analysis.calibration.targets import SMART_FACTORY, Targets, prior_density
from sim.model.indicators import COLUMN, INDICATORS

DPI = 130
FAN = "#1f5a99"
OBSERVED = "#c0392b"
LEVEL_UNITS = {
    "production_krw": (1e12, "trillion KRW (nominal)"),
    "exports_usd": (1e9, "bn USD"),
    "employment": (1e3, "thousand persons"),
    "active_firms": (1.0, "firms"),
}


def save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    path.write_bytes(buffer.getvalue())


def new_axes(size=(6.4, 3.8)) -> Axes:
    return Figure(figsize=size).add_subplot()


# --- figures --------------------------------------------------------------------------------------


def annual_values(indicators: np.ndarray, months: np.ndarray, name: str, month: dict[int, int]):
    """(replicates, years) annual values of an indicator: sum, or the value in a given month."""
    years = np.unique(months // 12)
    column = indicators[:, :, COLUMN[name]]
    out = np.full((len(indicators), len(years)), np.nan)
    for y, year in enumerate(years):
        if INDICATORS[name].annual == "sum":
            rows = months // 12 == year
            if rows.sum() == 12:
                out[:, y] = column[:, rows].sum(axis=1)
        else:
            k = np.flatnonzero(months == year * 12 + month.get(int(year), 12) - 1)
            if len(k):
                out[:, y] = column[:, k[0]]
    return years, out


def plot_annual(
    fit_targets: Targets,
    indicators: np.ndarray,
    months: np.ndarray,
    name: str,
    ax: Axes | None = None,
    scale: float = 1.0,
) -> Axes:
    """Simulated annual values (median, 50% and 90% bands) against the reported figures."""
    ax = ax or new_axes()
    moments = [m for m in fit_targets.moments if m.group == name]
    month = {m.year: m.month for m in moments if m.month}
    years, values = annual_values(indicators, months, name, month)
    divisor, unit = LEVEL_UNITS[name]
    values = values * scale / divisor
    ok = np.isfinite(values).all(axis=0)
    if ok.any():
        q = np.nanquantile(values[:, ok], [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        ax.fill_between(years[ok], q[0], q[4], color=FAN, alpha=0.18, label="90% of runs")
        ax.fill_between(years[ok], q[1], q[3], color=FAN, alpha=0.35, label="50% of runs")
        ax.plot(years[ok], q[2], color=FAN, marker="o", lw=1.6, label="median")
    ax.plot(
        [m.year for m in moments],
        [m.observed / divisor for m in moments],
        "D",
        color=OBSERVED,
        ms=6,
        label="reported (KICOX)",
        zorder=5,
    )
    ax.set_title(INDICATORS[name].label_en)
    ax.set_ylabel(unit)
    ax.set_xticks(years)
    ax.grid(alpha=0.3)
    return ax


def plot_monthly_production(fit: Fit, ax: Axes | None = None, scale: float = 1.0) -> Axes:
    """Monthly production fan with the reported monthly figures (May 2020, June 2021)."""
    from sim.analysis.hindcast import load_drivers

    ax = ax or new_axes((7.2, 3.8))
    values = fit.predictive_indicators[:, :, COLUMN["production_krw"]] * scale / 1e12
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    x = fit.months / 12.0 + 1 / 24
    ax.fill_between(x, q[0], q[4], color=FAN, alpha=0.18, label="90% of runs")
    ax.fill_between(x, q[1], q[3], color=FAN, alpha=0.35, label="50% of runs")
    ax.plot(x, q[2], color=FAN, lw=1.4, label="median")
    covid = load_drivers().covid
    points = [
        ("2020-05", float(covid["production_may_2020_krw"])),
        ("2021-06", float(covid["production_june_2021_krw"])),
    ]
    for month, value in points:
        m = int(month[:4]) * 12 + int(month[5:]) - 1
        if fit.months[0] <= m <= fit.months[-1]:
            ax.plot(m / 12 + 1 / 24, value / 1e12, "D", color=OBSERVED, ms=6, zorder=5)
    ax.plot([], [], "D", color=OBSERVED, label="reported monthly (KICOX)")
    ax.set_title("Monthly production, posterior-predictive hindcast")
    ax.set_ylabel("trillion KRW a month")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_effects(fit: Fit, ax: Axes | None = None) -> Axes:
    """Smart-factory effects: simulated (matched adopters against non-adopters) vs the ministry."""
    ax = ax or new_axes()
    keys = [k for k, m in enumerate(fit.targets.moments) if m.group == SMART_FACTORY]
    if not keys:
        ax.text(
            0.5, 0.5, "no smart-factory targets in this fit", ha="center", transform=ax.transAxes
        )
        return ax
    labels = [fit.targets.moments[k].key.split(":")[1] for k in keys]
    for i, k in enumerate(keys):
        sims = fit.predictive_moments[:, k]
        sims = 100 * sims[np.isfinite(sims)]
        if len(sims):
            q = np.quantile(sims, [0.05, 0.25, 0.5, 0.75, 0.95])
            ax.plot([i, i], [q[0], q[4]], color=FAN, lw=1.5)
            ax.plot([i, i], [q[1], q[3]], color=FAN, lw=6, alpha=0.6)
            ax.plot(i, q[2], "o", color="white", mec=FAN, ms=6)
        ax.plot(i + 0.18, 100 * fit.targets.moments[k].observed, "D", color=OBSERVED, ms=6)
    ax.plot([], [], color=FAN, lw=6, alpha=0.6, label="simulated: 50% / 90% of runs")
    ax.plot([], [], "D", color=OBSERVED, label="Ministry of SMEs and Startups (2019)")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(range(len(keys)), labels)
    ax.set_ylabel("adopters against matched non-adopters, %")
    ax.set_title("Effect of smart-factory adoption after the ramp")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    return ax


def plot_marginal(fit: Fit, j: int, ax: Axes | None = None) -> Axes:
    """Posterior histogram of parameter j with its prior and the point estimate."""
    ax = ax or new_axes((3.2, 2.4))
    p = fit.free[j]
    post = fit.posterior
    bins = np.linspace(p.low, p.high, 25)
    ax.hist(post.theta[:, j], bins=bins, weights=post.weight, density=True, color=FAN, alpha=0.6)
    grid = np.linspace(p.low, p.high, 200)
    prior = prior_density([fit.free[j]], grid[:, None])
    ax.plot(grid, prior, color="grey", lw=1.2, ls="--")
    ax.axvline(fit.search.best[j], color=OBSERVED, lw=1.2)
    ax.set_title(p.name, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_yticks([])
    return ax


def plot_identification(fit: Fit, ax: Axes | None = None) -> Axes:
    """Heatmap: tolerance units a target moves when a parameter moves a tenth of its range."""
    ax = ax or new_axes((7.5, 7.0))
    s = fit.identification
    limit = max(1.0, float(np.nanmax(np.abs(s)))) if s is not None else 1.0
    image = ax.imshow(s, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(fit.free)), [p.name for p in fit.free], rotation=60, ha="right")
    ax.set_yticks(range(len(fit.targets.moments)), fit.targets.keys, fontsize=7)
    ax.figure.colorbar(image, ax=ax, label="z change per 10% of the prior range")
    ax.set_title("Which targets identify which parameters")
    return ax


def plot_search(fit: Fit, j: int, ax: Axes | None = None) -> Axes:
    """MSM objective of the global (dots) and local (crosses) search against parameter j."""
    ax = ax or new_axes((3.2, 2.4))
    s = fit.search
    sobol, local = s.stage == 0, s.stage == 1
    ax.scatter(s.points[sobol, j], s.objective[sobol], s=5, color="grey", alpha=0.6)
    ax.scatter(s.points[local, j], s.objective[local], s=8, color=FAN, marker="x")
    ax.axvline(s.best[j], color=OBSERVED, lw=1)
    ax.set_yscale("log")
    ax.set_title(fit.free[j].name, fontsize=8)
    ax.tick_params(labelsize=7)
    return ax


def grid_figure(count: int, draw, columns: int = 3, size=(3.2, 2.4)) -> Figure:
    rows = (count + columns - 1) // columns
    fig = Figure(figsize=(size[0] * columns, size[1] * rows))
    for j in range(count):
        draw(j, fig.add_subplot(rows, columns, j + 1))
    fig.tight_layout()
    return fig


def write_figures(fit: Fit, folder: Path, scale: float) -> list[str]:
    figures = folder / "figures"
    figures.mkdir()
    written = []
    fig = Figure(figsize=(11, 7))
    for i, name in enumerate(LEVEL_UNITS):
        ax = fig.add_subplot(2, 2, i + 1)
        plot_annual(fit.targets, fit.predictive_indicators, fit.months, name, ax, scale)
        if i == 0:
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Hindcast 2020-2024 with posterior parameter draws against KICOX figures")
    fig.tight_layout()
    save(fig, figures / "hindcast_annual.png")
    written.append("hindcast_annual.png")
    ax = plot_monthly_production(fit, scale=scale)
    save(ax.figure, figures / "hindcast_monthly_production.png")
    written.append("hindcast_monthly_production.png")
    ax = plot_effects(fit)
    save(ax.figure, figures / "smart_factory_effects.png")
    written.append("smart_factory_effects.png")
    save(
        grid_figure(len(fit.free), lambda j, ax: plot_marginal(fit, j, ax)),
        figures / "posterior_marginals.png",
    )
    written.append("posterior_marginals.png")
    save(
        grid_figure(len(fit.free), lambda j, ax: plot_search(fit, j, ax)),
        figures / "search_objective.png",
    )
    written.append("search_objective.png")
    if fit.identification is not None:
        ax = plot_identification(fit)
        ax.figure.tight_layout()
        save(ax.figure, figures / "identification.png")
        written.append("identification.png")
    return written
