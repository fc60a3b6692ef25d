"""Writing a calibration: the posterior runs draw from, `fit.json`, and the fit report folder.

`write_fit(fit, out, command)` writes into `out` (normally `calibration/`):
- `posterior_draws.csv`: weighted ABC-SMC particles, columns draw, weight, one per fitted
  parameter (model parameters and the hindcast's fitted drivers); runs draw rows by weight;
- `fit.json`: the fit id (`fit-<hash>`, what results manifests cite), the command that
  regenerates the fit, settings, priors, the point estimate, posterior summaries, input hashes,
  the ABC generations and timings;
- `fit_report/`: README.md (tables an analyst reads), CSV tables and PNG figures.
Each file is written to a temporary name and moved into place; the report folder is replaced
whole, so a reader never sees half of one.

Figures are drawn on `matplotlib.figure.Figure` with the Agg canvas (no pyplot state); every
drawing function takes `ax=None` and returns the axes.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sim import MODEL_VERSION, __version__
from sim.analysis.calibration.fit import Fit, input_hashes, settings_hash
from sim.analysis.calibration.posterior import LEVEL_DRIVER, weighted_quantile
from sim.analysis.calibration.report_changes import changes_section, drivers_section
from sim.analysis.calibration.report_figures import LEVEL_UNITS, write_figures
from sim.analysis.calibration.targets import FreeParameter
from sim.inputs.calendar import format_month
from sim.inputs.parameters import FIT_FILE, POSTERIOR_FILE, fit_id
from sim.model.indicators import COLUMN

REPORT_DIR = "fit_report"


# --- small helpers --------------------------------------------------------------------------------


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def replace_folder(build, target: Path) -> None:
    """Write a folder with `build(folder)` beside `target`, then swap it in."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        build(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def fmt(value: float, digits: int = 4) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if abs(value) >= 1e6:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


#: Effects measured in persons, not as a relative change (the matched employment effect).
PERSONS_EFFECTS = ("smart_factory:employment",)


def show_level(key: str, value: float) -> str:
    """A moment's value in the units an analyst quotes."""
    group = key.split(":")[0]
    if group in LEVEL_UNITS:
        divisor, _ = LEVEL_UNITS[group]
        return f"{value / divisor:,.4g}" if divisor != 1.0 else f"{value:,.0f}"
    if key in PERSONS_EFFECTS:
        return f"{value:+.2f}"
    return f"{100 * value:+.1f}%"


def unit_of(key: str) -> str:
    group = key.split(":")[0]
    if group in LEVEL_UNITS:
        return LEVEL_UNITS[group][1]
    if key in PERSONS_EFFECTS:
        return "effect, persons per adopter"
    if group == "volatility":
        return "sd of y/y growth, %"
    return "effect, %"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def csv_text(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.10g}"
        text = str(value)
        return f'"{text}"' if "," in text else text

    return "\n".join([",".join(header), *(",".join(cell(c) for c in row) for row in rows)]) + "\n"


# --- the summaries --------------------------------------------------------------------------------


def target_rows(fit: Fit) -> list[dict]:
    """Per target: observed, estimate (CRN mean), posterior-predictive quantiles, coverage."""
    rows = []
    estimate = np.nanmean(fit.search.best_moments, axis=0)
    for k, m in enumerate(fit.targets.moments):
        sims = fit.predictive_moments[:, k]
        sims = sims[np.isfinite(sims)]
        q = np.quantile(sims, [0.05, 0.25, 0.5, 0.75, 0.95]) if len(sims) else [np.nan] * 5
        rows.append(
            {
                "target": m.key,
                "observed": m.observed,
                "tolerance": m.tolerance,
                "estimate_mean": float(estimate[k]),
                "q05": float(q[0]),
                "q25": float(q[1]),
                "median": float(q[2]),
                "q75": float(q[3]),
                "q95": float(q[4]),
                "z_median": float(m.z(q[2])),
                "in50": bool(q[1] <= m.observed <= q[3]),
                "in90": bool(q[0] <= m.observed <= q[4]),
            }
        )
    return rows


def parameter_rows(fit: Fit) -> list[dict]:
    post = fit.posterior
    rows = []
    for j, p in enumerate(fit.free):
        col, w = post.theta[:, j], post.weight
        rows.append(
            {
                "parameter": p.name,
                "where": p.where,
                "prior_low": p.low,
                "prior_mode": p.mode,
                "prior_high": p.high,
                "estimate": float(fit.search.best[j]),
                "posterior_mean": float(w @ col),
                "posterior_q05": weighted_quantile(col, w, 0.05),
                "posterior_median": weighted_quantile(col, w, 0.5),
                "posterior_q95": weighted_quantile(col, w, 0.95),
                "shrinkage": 1.0
                - (weighted_quantile(col, w, 0.95) - weighted_quantile(col, w, 0.05))
                / prior_width90(p),
                "unit": p.unit,
            }
        )
    return rows


def prior_width90(p: FreeParameter) -> float:
    from sim.inputs.parameters import triangular

    q = triangular(np.array([0.05, 0.95]), p.low, p.mode, p.high)
    return float(q[1] - q[0])


def required_checks(fit: Fit, rows: list[dict]) -> list[dict]:
    by_key = {r["target"]: r for r in rows}
    out = []
    for req in fit.targets.required:
        key = f"{req['indicator']}:{req['year']}"
        row = by_key.get(key)
        if row is None:
            continue
        error = row["median"] / row["observed"] - 1.0
        out.append(
            {
                "target": key,
                "statistic": req.get("statistic", "median"),
                "within": float(req["within"]),
                "error": float(error),
                "met": bool(abs(error) <= float(req["within"])),
            }
        )
    return out


def check_rows(fit: Fit) -> list[dict]:
    """Reported figures the fit does not use, against the posterior-predictive hindcast."""
    months = fit.months
    ind = fit.predictive_indicators
    rows = []
    production = ind[:, :, COLUMN["production_krw"]]

    def ratio(month: str) -> np.ndarray | None:
        year, number = int(month[:4]), int(month[5:])
        k = np.flatnonzero(months == year * 12 + number - 1)
        in_year = months // 12 == year
        if not len(k) or in_year.sum() < 12:
            return None
        return production[:, k[0]] / production[:, in_year].mean(axis=1)

    checks = fit.targets.checks
    for name, month in (
        ("production_may_2020_ratio", "2020-05"),
        ("production_june_2021_ratio", "2021-06"),
    ):
        values = ratio(month)
        if values is not None and name in checks:
            rows.append(row_of(name, checks[name], values))
    last = np.flatnonzero(months == 2024 * 12 + 11)
    if len(last) and "adoption_share_2024" in checks:
        values = ind[:, last[0], COLUMN["adoption_share"]]
        rows.append(row_of("adoption_share_2024", checks["adoption_share_2024"], values))
    return rows


def row_of(name: str, check: dict, values: np.ndarray) -> dict:
    q = np.quantile(values, [0.05, 0.5, 0.95])
    return {
        "check": name,
        "what": check.get("what", ""),
        "observed": float(check["value"]),
        "median": float(q[1]),
        "q05": float(q[0]),
        "q95": float(q[2]),
        "source": check.get("source", ""),
    }


def identification_rows(fit: Fit, top: int = 3) -> list[tuple[str, str]]:
    """For each parameter, the targets that move most (in tolerance units) when it moves."""
    if fit.identification is None:
        return []
    rows = []
    keys = fit.targets.keys
    for j, p in enumerate(fit.free):
        column = np.abs(fit.identification[:, j])
        order = np.argsort(-column, kind="stable")[:top]
        text = ", ".join(f"{keys[k]} ({column[k]:.2f})" for k in order if column[k] > 0.05)
        rows.append((p.name, text or "none above 0.05: not identified by these targets"))
    return rows


# --- writing --------------------------------------------------------------------------------------


def posterior_csv(fit: Fit) -> bytes:
    post = fit.posterior
    lines = [",".join(["draw", "weight", *post.names])]
    for k, (row, w) in enumerate(zip(post.theta, post.weight, strict=True)):
        lines.append(",".join([str(k), f"{w:.17g}", *(f"{v:.17g}" for v in row)]))
    return ("\n".join(lines) + "\n").encode("utf-8")


POSTERIOR_METHODS = {
    "quasi": "quasi-posterior of the moment objective (Chernozhukov-Hong), drawn by importance "
    "sampling around the optimum",
    "abc": "ABC-SMC with fresh seeds",
}


def fit_summary(fit: Fit, identifier: str, command: str) -> dict:
    rows = target_rows(fit)
    posterior_method = POSTERIOR_METHODS.get(fit.posterior.method, fit.posterior.method)
    return {
        "fit_id": identifier,
        "created_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "method": (
            "method of simulated moments with common random numbers (scrambled Sobol' global "
            f"search, then Nelder-Mead), posterior: {posterior_method}; parameters not "
            "fitted drawn from their priors in every replicate"
        ),
        "settings": {
            **{k: v for k, v in vars(fit.settings).items()},
            "hash": settings_hash(fit.settings),
        },
        "estimate": fit.estimate,
        "objective_at_estimate": fit.search.best_objective,
        "parameters": parameter_rows(fit),
        "posterior": {
            "method": fit.posterior.method,
            "particles": len(fit.posterior.weight),
            "effective_sample_size": fit.posterior.ess,
            "generations": [vars(g) for g in fit.posterior.generations],
        },
        "targets": rows,
        "required": required_checks(fit, rows),
        "level_shift": {"parameter": LEVEL_DRIVER, "shift_per_year": fit.level_shift},
        "checks": check_rows(fit),
        "inputs": input_hashes(),
        "model_version": MODEL_VERSION,
        "package_version": __version__,
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "simulations": fit.simulations,
        "workers": fit.workers,
        "seconds": {k: round(v, 1) for k, v in fit.seconds.items()},
        "log": fit.log,
    }


def write_fit(fit: Fit, out: Path, command: str, figures: bool = True) -> str:
    """Write the posterior, fit.json and the report into `out`; returns the fit id."""
    from sim.analysis.hindcast import base_year_totals

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    posterior = posterior_csv(fit)
    identifier = fit_id(posterior)
    summary = fit_summary(fit, identifier, command)
    firms = fit.settings.firms
    scale = base_year_totals()["firms"] / firms if firms else 1.0

    previous_file = out / FIT_FILE
    previous = json.loads(previous_file.read_text("utf-8")) if previous_file.is_file() else None

    def build(folder: Path) -> None:
        write_tables(fit, summary, folder)
        names = write_figures(fit, folder, scale) if figures else []
        text = readme(fit, summary, names)
        text += "\n".join(["", *changes_section(previous, summary), *drivers_section()])
        (folder / "README.md").write_text(text, encoding="utf-8")

    replace_folder(build, out / REPORT_DIR)
    atomic_write(out / POSTERIOR_FILE, posterior)
    text = json.dumps(summary, indent=2, ensure_ascii=False, default=float) + "\n"
    atomic_write(out / FIT_FILE, text.encode("utf-8"))
    return identifier


def write_tables(fit: Fit, summary: dict, folder: Path) -> None:
    rows = summary["targets"]
    header = list(rows[0]) if rows else []
    (folder / "targets.csv").write_text(
        csv_text(header, [[r[h] for h in header] for r in rows]), encoding="utf-8"
    )
    params = summary["parameters"]
    header = list(params[0])
    (folder / "parameters.csv").write_text(
        csv_text(header, [[r[h] for h in header] for r in params]), encoding="utf-8"
    )
    if fit.identification is not None:
        header = ["target", *(p.name for p in fit.free)]
        body = [
            [key, *(float(v) for v in fit.identification[k])]
            for k, key in enumerate(fit.targets.keys)
        ]
        (folder / "identification.csv").write_text(csv_text(header, body), encoding="utf-8")
    gens = summary["posterior"]["generations"]
    (folder / "abc_generations.csv").write_text(
        csv_text(
            ["generation", "epsilon", "proposed", "accepted", "ess"],
            [
                [g_i, g["epsilon"], g["proposed"], g["accepted"], g["ess"]]
                for g_i, g in enumerate(gens)
            ],
        ),
        encoding="utf-8",
    )


def posterior_method(fit: Fit) -> str:
    s = fit.settings
    if fit.posterior.method == "quasi":
        scale = fit.posterior.generations[0].epsilon
        return (
            "3. **Posterior**: the Laplace-type quasi-posterior of the same objective "
            "(Chernozhukov and Hong 2003), prior x exp(-J / 2k): the tolerances act as the "
            "moments' standard errors, and k = max(1, J at the estimate / (targets - "
            f"parameters)) = {scale:.2f} widens it by the misfit the estimate leaves. Drawn by "
            f"adaptive importance sampling: {s.quasi_rounds} rounds of {s.quasi_proposals} "
            "proposals (90% Gaussian around the estimate with the covariance the local "
            "sensitivities imply, 10% from the prior), each evaluated with the same common "
            "random numbers, weighted by target over proposal density. Parameters not fitted "
            "are drawn from their priors in every simulation, as in forecast runs. (ABC-SMC, the "
            "alternative `posterior='abc'`, weighs the 2024 level only as much as a single "
            "replicate's noise of about 4% allows; see `sim.analysis.calibration.fit`.)"
        )
    return (
        f"3. **Posterior**: ABC-SMC with {s.particles} particles: each proposal is simulated once "
        "with fresh seeds and kept if the root-mean-square standardized miss is within epsilon; "
        "the first generation draws half its proposals from the prior and half around the "
        "estimate (importance-weighted), later ones perturb the weighted particles, and epsilon "
        "shrinks to the median distance of the previous generation. Parameters not fitted are "
        "drawn from their priors in every simulation, as in forecast runs."
    )


def readme(fit: Fit, summary: dict, figures: list[str]) -> str:
    s = fit.settings
    parts = [
        f"# Calibration fit `{summary['fit_id']}`",
        "",
        "Results of `changwon-sim run` cite this id as `calibration_id` in their manifest. "
        "Regenerate every file of this fit (the same bytes, whatever `--workers`) with:",
        "",
        f"    {summary['command']}",
        "",
        f"Created {summary['created_utc']}; model version {summary['model_version']}; "
        f"{summary['simulations']:,} hindcast replicates on {summary['workers']} worker(s) in "
        f"{sum(summary['seconds'].values()) / 60:.1f} minutes "
        f"({', '.join(f'{k} {v:.0f} s' for k, v in summary['seconds'].items())}).",
        "",
        "## Method",
        "",
        f"The model is run over {format_month(int(fit.months[0]))}.."
        f"{format_month(int(fit.months[-1]))} from a population synthesised to the 2020 KICOX "
        "totals and driven by the realised national drivers of `calibration/drivers.yaml` "
        "(demand at home and by export partner, producer prices, the won), the defence order "
        "book of `calibration/defence_contracts.yaml` with the deliveries customs recorded, and "
        "`calibration/history_drivers.yaml` (smart-factory support, the 2020 demand shock; no "
        "tariff). Each target's miss is standardized by its tolerance "
        "(`calibration/targets.yaml`).",
        "",
        f"1. **Global search**: {s.sobol_points} scrambled Sobol' points over the prior box, each "
        f"run with the same {s.crn_replicates} replicates (common random numbers); the objective "
        "is the sum of squared standardized misses of the replicate means.",
        f"2. **Local search**: Nelder-Mead from the best point ({s.local_evaluations} evaluations "
        "at most) on the same objective. Its minimum is the point estimate used by "
        "`--fixed-parameters`.",
        posterior_method(fit),
        f"4. **Posterior-predictive hindcast**: {s.predictive_replicates} replicates with "
        "parameters drawn from the posterior (by weight), the rest from their priors, and the "
        "uncertain drivers drawn: the intervals below.",
        "",
    ]
    if s.firms:
        parts += [
            f"**Reduced population**: {s.firms} firms, levels scaled up to the full complex. "
            "A smoke test, not a fit to quote.",
            "",
        ]
    parts += ["## Fitted parameters", ""]
    parts.append(
        table(
            [
                "parameter",
                "prior (low / mode / high)",
                "estimate",
                "posterior median",
                "90%",
                "narrowed",
            ],
            [
                [
                    r["parameter"],
                    f"{fmt(r['prior_low'])} / {fmt(r['prior_mode'])} / {fmt(r['prior_high'])}",
                    fmt(r["estimate"]),
                    fmt(r["posterior_median"]),
                    f"{fmt(r['posterior_q05'])} - {fmt(r['posterior_q95'])}",
                    f"{100 * r['shrinkage']:.0f}%",
                ]
                for r in summary["parameters"]
            ],
        )
    )
    parts += [
        "",
        "`narrowed`: how much narrower the posterior 90% interval is than the prior's. "
        "Effective sample size of the weighted particles: "
        f"{summary['posterior']['effective_sample_size']:.0f} "
        f"of {summary['posterior']['particles']}.",
        "",
        "## Targets: reported against simulated",
        "",
        "Estimate: mean of the CRN replicates at the point estimate. Median and intervals: the "
        "posterior-predictive hindcast. z: miss of the median in tolerance units.",
        "",
    ]
    body = []
    for r in summary["targets"]:
        key = r["target"]
        body.append(
            [
                key,
                unit_of(key),
                show_level(key, r["observed"]),
                show_level(key, r["estimate_mean"]),
                show_level(key, r["median"]),
                f"{show_level(key, r['q25'])} - {show_level(key, r['q75'])}",
                f"{show_level(key, r['q05'])} - {show_level(key, r['q95'])}",
                f"{r['z_median']:+.1f}",
            ]
        )
    parts.append(
        table(["target", "unit", "reported", "estimate", "median", "50%", "90%", "z"], body)
    )
    inside50 = sum(r["in50"] for r in summary["targets"])
    inside90 = sum(r["in90"] for r in summary["targets"])
    n = len(summary["targets"])
    parts += [
        "",
        f"The reported figure lies inside the 50% interval for {inside50} of {n} targets and "
        f"inside the 90% interval for {inside90} of {n}.",
        "",
    ]
    for req in summary["required"]:
        verdict = "met" if req["met"] else "NOT met"
        parts.append(
            f"**Required**: {req['target']} {req['statistic']} within "
            f"{100 * req['within']:.0f}% of the reported figure: {verdict} "
            f"(error {100 * req['error']:+.2f}%)."
        )
    if summary["required"]:
        parts.append(
            f"To meet it, the posterior's `{LEVEL_DRIVER}` (the complex's own demand trend, which "
            f"forecasts use too) was shifted by {fit.level_shift:+.4f} a year: the fit's "
            f"objective averages {s.crn_replicates} replicates, whose shocks leave a fitted level "
            "about 4% / sqrt(replicates) from its expectation (see "
            "`sim.analysis.calibration.posterior.recentre_level`)."
        )
    misses = [r for r in summary["targets"] if abs(r["z_median"]) > 2]
    if misses:
        parts += [
            "",
            "Targets missed by more than two tolerances (the median): "
            + ", ".join(f"{r['target']} ({r['z_median']:+.1f})" for r in misses)
            + ".",
        ]
    if summary["checks"]:
        parts += ["", "## Checks (reported figures the fit does not use)", ""]
        parts.append(
            table(
                ["check", "what", "reported", "median", "90%"],
                [
                    [
                        c["check"],
                        c["what"],
                        fmt(c["observed"], 3),
                        fmt(c["median"], 3),
                        f"{fmt(c['q05'], 3)} - {fmt(c['q95'], 3)}",
                    ]
                    for c in summary["checks"]
                ],
            )
        )
    ident = identification_rows(fit)
    if ident:
        parts += [
            "",
            "## Which targets identify which parameters",
            "",
            "At the estimate, each parameter is moved by a tenth of its prior range (central "
            "differences, common random numbers); listed are the targets that move most, in "
            "tolerance units (`identification.csv`, `figures/identification.png`).",
            "",
            table(["parameter", "targets that move most (z per 10% of the range)"], ident),
        ]
    quasi = fit.posterior.method == "quasi"
    parts += ["", "## Importance-sampling rounds" if quasi else "## ABC-SMC generations", ""]
    parts.append(
        table(
            [
                "round" if quasi else "generation",
                "misfit scale k" if quasi else "epsilon",
                "proposals (all rounds)" if quasi else "proposed",
                "kept" if quasi else "accepted",
                "share kept" if quasi else "acceptance",
                "ESS",
            ],
            [
                [
                    str(i + 1 if quasi else i),
                    f"{g['epsilon']:.3f}",
                    str(g["proposed"]),
                    str(g["accepted"]),
                    f"{g['accepted'] / max(1, g['proposed']):.2f}",
                    f"{g['ess']:.0f}",
                ]
                for i, g in enumerate(summary["posterior"]["generations"])
            ],
        )
    )
    if figures:
        parts += ["", "## Figures", ""]
        parts += [f"![{name}](figures/{name})" for name in figures]
    parts += [
        "",
        "## Files",
        "",
        "- `../posterior_draws.csv`: the weighted particles runs draw from (columns draw, weight, "
        "parameters); the hindcast-only drivers are ignored by forecast runs.",
        "- `../fit.json`: this report's numbers in machine-readable form, with input hashes.",
        "- `targets.csv`, `parameters.csv`, `identification.csv`, `abc_generations.csv`.",
        "",
    ]
    return "\n".join(parts)
