"""Sensitivity indices of an evaluated design: Sobol' first and total order (second order on
request), Morris mu*, mu and sigma, the moment-independent delta, each with bootstrap intervals;
the noise floor the dummy factor sets, the convergence table, the noise share, and the warnings a
reader must see.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.sensitivity.design import (
    DUMMY,
    MAIN_MEASURE,
    METHODS,
    MIN_DELTA_SAMPLES,
    MORRIS_LEVELS,
    Design,
    Output,
    SensitivityError,
    _positive_seed,
)
from sim.ensemble.execution import make_executor

CONF_LEVEL = 0.95
BOOTSTRAP_RESAMPLES: dict[str, int] = {"sobol": 500, "morris": 500, "delta": 100}
#: A 95% half-width above this (in index units) triggers a warning; Morris uses mu*/sd(output).
WIDE_CI = 0.1
NOISE_WARNING_SHARE = 0.5


def _sobol_rows(design: Design, n: int) -> np.ndarray:
    return np.arange(n * design.rows_per_sample)


def _independent_rows(design: Design, n: int | None = None) -> np.ndarray:
    """Rows that form an independent sample of the inputs, for given-data methods (delta):
    the A and B rows of a Sobol' design, every row of a Morris or Latin hypercube design.
    """
    n = design.samples if n is None else n
    rows = np.arange(n * design.rows_per_sample)
    if design.method == "sobol":
        step = design.rows_per_sample
        return np.sort(np.r_[rows[::step], rows[step - 1 :: step]])
    return rows


def _quiet_salib(call: Callable[[], Any]) -> Any:
    """Run a SALib call without its warnings printing and without lasting side effects.

    SALib's delta seeds numpy's global generator, replaces `warnings.formatwarning` and prints
    notes to stdout; the first two are restored here and the prints dropped, so nothing else in
    the process sees a changed random state and stdout keeps only what the CLI prints. BLAS runs
    single-threaded where threadpoolctl is installed: delta's many tiny density estimates ran
    ten times slower with BLAS threads on a busy 2-core machine.
    """
    try:
        from threadpoolctl import threadpool_limits

        limits: Any = threadpool_limits(limits=1)
    except ImportError:  # optional: only speed depends on it
        limits = contextlib.nullcontext()
    state = np.random.get_state()  # noqa: NPY002 - saving what SALib overwrites
    formatwarning = warnings.formatwarning
    try:
        with (
            limits,
            warnings.catch_warnings(record=True),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            return call()
    finally:
        warnings.formatwarning = formatwarning
        np.random.set_state(state)  # noqa: NPY002


def analyse_output(
    design: Design,
    y: np.ndarray,
    method: str | None = None,
    *,
    seed: int = 0,
    samples: int | None = None,
) -> dict[str, Any]:
    """Indices of one output: {measure: (values per factor, 95% half-widths or None)}.

    `method` defaults to the design's; `delta` works on any design (it reuses the design's
    independent rows). `samples` uses only the first base samples (convergence checks). A
    constant output gives NaN everywhere (there is no variance to share out).
    """
    method = method or design.method
    n = design.samples if samples is None else samples
    d = len(design.factor_names)
    problem = design.problem()
    key = (METHODS.index(method), n)
    rows = _independent_rows(design, n) if method == "delta" else _sobol_rows(design, n)
    if method == "sobol" and design.method != "sobol":
        raise SensitivityError("Sobol' indices need a Sobol' design")
    if method == "morris" and design.method != "morris":
        raise SensitivityError("Morris measures need a Morris design")
    y_used = np.asarray(y, dtype=float)[rows]
    nan = np.full(d, np.nan)
    if not np.all(np.isfinite(y_used)) or np.ptp(y_used) <= 1e-12 * max(1.0, np.abs(y_used).max()):
        measures = {
            "sobol": ("S1", "ST"),
            "morris": ("mu_star", "mu_star_scaled", "mu", "sigma"),
            "delta": ("delta", "S1"),
        }[method]
        out: dict[str, Any] = {m: (nan, nan) for m in measures}
        if method == "sobol" and design.second_order:
            out["S2"] = (np.full((d, d), np.nan), np.full((d, d), np.nan))
        out["constant"] = True
        return out
    if method == "sobol":
        from SALib.analyze import sobol

        result = _quiet_salib(
            lambda: sobol.analyze(
                problem,
                y_used,
                calc_second_order=design.second_order,
                num_resamples=BOOTSTRAP_RESAMPLES["sobol"],
                conf_level=CONF_LEVEL,
                seed=_positive_seed(seed, 1, *key),
            )
        )
        out = {
            "S1": (np.asarray(result["S1"]), np.asarray(result["S1_conf"])),
            "ST": (np.asarray(result["ST"]), np.asarray(result["ST_conf"])),
        }
        if design.second_order:
            out["S2"] = (np.asarray(result["S2"]), np.asarray(result["S2_conf"]))
        return out
    if method == "morris":
        from SALib.analyze import morris

        x_used = design.unit[rows]
        result = _quiet_salib(
            lambda: morris.analyze(
                problem,
                x_used,
                y_used,
                num_resamples=BOOTSTRAP_RESAMPLES["morris"],
                conf_level=CONF_LEVEL,
                num_levels=MORRIS_LEVELS,
                seed=_positive_seed(seed, 1, *key),
            )
        )
        sd = float(np.std(y_used))
        mu_star = np.asarray(result["mu_star"], dtype=float)
        conf = np.asarray(result["mu_star_conf"], dtype=float)
        return {
            "mu_star": (mu_star, conf),
            # mu* in standard deviations of the output: comparable across outputs and years.
            "mu_star_scaled": (mu_star / sd, conf / sd),
            "mu": (np.asarray(result["mu"], dtype=float), None),
            "sigma": (np.asarray(result["sigma"], dtype=float), None),
        }
    from SALib.analyze import delta

    x_used = design.unit[rows]
    result = _quiet_salib(
        lambda: delta.analyze(
            problem,
            x_used,
            y_used,
            num_resamples=BOOTSTRAP_RESAMPLES["delta"],
            conf_level=CONF_LEVEL,
            seed=_positive_seed(seed, 1, *key),
            method="all",
        )
    )
    # 'raw' is Plischke et al.'s bias-reduced estimator with plain bootstrap resampling.
    return {
        "delta": (np.asarray(result["delta_raw"]), np.asarray(result["delta_raw_conf"])),
        "S1": (np.asarray(result["S1"]), np.asarray(result["S1_conf"])),
    }


INDEX_COLUMNS = (
    "output",
    "indicator",
    "year",
    "measure",
    "factor",
    "factor_2",
    "value",
    "conf",
    "above_noise_floor",
)


def floor_rule(method: str, measure: str) -> str:
    """How a measure's noise floor is set: 'dummy' (the upper end of the dummy's interval),
    'zero' (the interval must exclude 0) or 'none'.

    The dummy carries all the model's own randomness, so noise can lift a factor's total-order
    index, Morris mu* or delta up to the dummy's value: a factor must clear it. A Sobol' first-
    order index is not lifted by noise (the noise averages out of E[Y | x_i]; it only widens
    the interval), so there the test is that the interval excludes 0 — the dummy's own S1 is the
    share of variance the randomness explains, a comparison, not a floor.
    """
    if measure in ("S2", "mu", "sigma"):
        return "none"
    if method == "sobol" and measure == "S1":
        return "zero"
    return "dummy"


def _index_rows(
    output: Output, result: Mapping[str, Any], factor_names: Sequence[str], method: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    dummy = factor_names.index(DUMMY) if DUMMY in factor_names else None
    for measure, pair in result.items():
        if measure == "constant":
            continue
        values, conf = pair
        if measure == "S2":
            for i, a in enumerate(factor_names):
                for j in range(i + 1, len(factor_names)):
                    rows.append(
                        _row(output, measure, a, factor_names[j], values[i, j], conf[i, j], "")
                    )
            continue
        rule = floor_rule(method, measure)
        floor = None
        if rule == "zero":
            floor = 0.0
        elif rule == "dummy" and dummy is not None and np.isfinite(values[dummy]):
            floor = values[dummy] + (conf[dummy] if np.isfinite(conf[dummy]) else 0.0)
        for k, name in enumerate(factor_names):
            c = np.nan if conf is None else conf[k]
            flag = ""
            if floor is not None and name != DUMMY and np.isfinite(values[k]):
                flag = "yes" if values[k] - (c if np.isfinite(c) else 0.0) > floor else "no"
            rows.append(_row(output, measure, name, "", values[k], c, flag))
    return rows


def _row(output, measure, factor, factor_2, value, conf, flag) -> dict[str, Any]:
    return {
        "output": output.label,
        "indicator": output.indicator,
        "year": output.year,
        "measure": measure,
        "factor": factor,
        "factor_2": factor_2,
        "value": float(value),
        "conf": float(conf),
        "above_noise_floor": flag,
    }


def _analyse_one(
    design: Design, y: np.ndarray, output: Output, seed: int, method: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Index rows and convergence rows of one output (a task for a worker process)."""
    method = method or design.method
    result = analyse_output(design, y, method, seed=seed)
    rows = _index_rows(output, result, design.factor_names, method)
    measures = ("S1", "ST") if method == "sobol" else (MAIN_MEASURE[method],)
    conv: list[dict[str, Any]] = []
    for n in convergence_samples(design):
        part = (
            result
            if n == design.samples
            else analyse_output(design, y, method, seed=seed, samples=n)
        )
        for measure in measures:
            values, conf = part[measure]
            for f, name in enumerate(design.factor_names):
                conv.append(
                    {
                        "output": output.label,
                        "indicator": output.indicator,
                        "year": output.year,
                        "measure": measure,
                        "factor": name,
                        "samples": n,
                        "value": float(values[f]),
                        "conf": float(conf[f]),
                    }
                )
    return rows, conv


def analyse_all(
    design: Design,
    y: np.ndarray,
    outputs: Sequence[Output],
    *,
    seed: int = 0,
    method: str | None = None,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(index table, convergence table) of every output; y is (points, outputs).

    The index table has the columns `INDEX_COLUMNS`: `conf` is the half-width of the 95%
    bootstrap confidence interval; `above_noise_floor` is 'yes' when the lower end of a factor's
    interval lies above the upper end of the dummy's. The convergence table holds the main
    measure (and S1 for Sobol') on the first N/4, N/2 and N base samples (columns output,
    indicator, year, measure, factor, samples, value, conf). Outputs are analysed in parallel
    with `workers` (delta's density estimates are slow); the tables do not depend on it.
    """
    y = np.asarray(y, dtype=float).reshape(design.points, len(outputs))
    tasks = [(design, y[:, k].copy(), o, seed, method) for k, o in enumerate(outputs)]
    parts: dict[int, tuple] = {}
    with make_executor(workers, None) as executor:
        executor.run(_analyse_one, tasks, parts.__setitem__)
    rows = [row for k in range(len(outputs)) for row in parts[k][0]]
    conv = [row for k in range(len(outputs)) for row in parts[k][1]]
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS)), pd.DataFrame(conv)


def analyse(
    design: Design,
    y: np.ndarray,
    outputs: Sequence[Output],
    *,
    seed: int = 0,
    method: str | None = None,
) -> pd.DataFrame:
    """The index table of every output (see `analyse_all`), without the convergence check."""
    y = np.asarray(y, dtype=float).reshape(design.points, len(outputs))
    rows = []
    for k, output in enumerate(outputs):
        result = analyse_output(design, y[:, k], method, seed=seed)
        rows += _index_rows(output, result, design.factor_names, method or design.method)
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def convergence_samples(design: Design) -> list[int]:
    """Base-sample counts of the convergence check: N/4, N/2, N (those large enough)."""
    minimum = {"sobol": 4, "morris": 2, "delta": MIN_DELTA_SAMPLES}[design.method]
    n = design.samples
    counts = [m for m in (n // 4, n // 2) if m >= minimum and m < n]
    if design.method == "sobol":  # balanced Sobol' prefixes: powers of 2 only
        counts = [m for m in counts if m & (m - 1) == 0]
    return [*sorted(set(counts)), n]


def noise_table(replicates: np.ndarray, outputs: Sequence[Output]) -> pd.DataFrame:
    """Per output: the variance share of replicate noise in the point means, estimated from the
    spread between each point's replicates (NaN with one replicate per point)."""
    points, _, r = replicates.shape
    rows = []
    for k, output in enumerate(outputs):
        values = replicates[:, k, :]
        means = values.mean(axis=1)
        total = float(np.var(means, ddof=1)) if points > 1 else np.nan
        if r > 1 and total > 0:
            noise = float(np.var(values, axis=1, ddof=1).mean()) / r
            share = min(noise / total, 1.0)
        else:
            share = np.nan
        rows.append(
            {
                "output": output.label,
                "mean": float(means.mean()),
                "sd": math.sqrt(total) if np.isfinite(total) else np.nan,
                "noise_share": share,
            }
        )
    return pd.DataFrame(rows)


def review(
    method: str,
    indices: pd.DataFrame,
    convergence: pd.DataFrame,
    noise: pd.DataFrame,
    replicates_per_point: int,
) -> list[str]:
    """Warnings a reader must see: wide intervals, unsettled indices, constant outputs, noise."""
    notes: list[str] = []
    measure = MAIN_MEASURE[method]
    main = indices[(indices["measure"] == measure) & (indices["factor"] != DUMMY)]
    for output, rows in main.groupby("output", sort=False):
        if rows["value"].isna().all():
            sd = noise.loc[noise["output"] == output, "sd"]
            if len(sd) and sd.iloc[0] > 0:
                notes.append(f"{output}: the indices could not be estimated (too few samples?)")
            else:
                notes.append(f"{output}: the output does not vary across the design: no indices")
            continue
        # Morris's mu* has no natural scale: its intervals are judged against the largest mu*.
        scale = float(rows["value"].abs().max()) if method == "morris" else 1.0
        limit = WIDE_CI * (2.5 * scale if method == "morris" else 1.0)
        widest = rows.loc[rows["conf"].idxmax()] if rows["conf"].notna().any() else None
        if widest is not None and widest["conf"] > limit:
            notes.append(
                f"{output}: {measure} of {widest['factor']} is {widest['value']:.2f} ± "
                f"{widest['conf']:.2f} (95% interval wider than ±{limit:.2g}): "
                "increase --samples before relying on the ranking"
            )
        conv = convergence[
            (convergence["output"] == output)
            & (convergence["measure"] == measure)
            & (convergence["factor"] != DUMMY)
        ]
        counts = sorted(conv["samples"].unique())
        if len(counts) >= 2:
            last = conv[conv["samples"] == counts[-1]].set_index("factor")["value"]
            before = conv[conv["samples"] == counts[-2]].set_index("factor")["value"]
            change = (last - before).abs().max()
            if np.isfinite(change) and change > limit:
                notes.append(
                    f"{output}: {measure} still moves by up to {change:.2f} between "
                    f"{counts[-2]} and {counts[-1]} samples: not converged"
                )
    for row in noise.itertuples():
        if np.isfinite(row.noise_share) and row.noise_share > NOISE_WARNING_SHARE:
            notes.append(
                f"{row.output}: {row.noise_share:.0%} of the variance is the model's own "
                "randomness (shocks, and parameters that are not factors): raise "
                "--replicates-per-point, or list the parameters that matter under `uncertain`"
            )
    if replicates_per_point == 1:
        notes.append(
            "one replicate per point: the noise share cannot be estimated (the dummy factor "
            "still gives the noise floor)"
        )
    return notes
