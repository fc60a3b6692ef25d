"""The national drivers of the complex as one estimated stochastic model, and tools to score it.

Drivers (`DRIVERS`) are annual log growths of annual averages:
- `domestic`: log(1 + real GDP growth), a proxy for real domestic demand for the complex's goods;
- `US`, `EU`, `China`, `rest_of_world`: log growth of customs exports to the partner (nominal USD);
- `producer_prices`: log(1 + change of the annual average PPI, all items);
- `krw_per_usd`: log change of the annual average rate (positive = weaker won).

The model: four AR(1) equations y_t = a + phi y_(t-1) + sigma e_t, for domestic demand, total
customs exports, producer prices and the won, with correlated standardized innovations e_t. Export
growth to partner j is total export growth plus a deviation d_jt ~ N(0, s_d^2), independent across
partners and years. Each equation is estimated on its own consecutive-year pairs (the series are
short and gappy; see `drivers_report_markdown` for why not a VAR); parameter uncertainty is a
posterior that `DriverModel.draw_parameters` samples once per replicate.

Data: `calibration/drivers.yaml` (histories with sources). Scores and the outlook record:
`sim.analysis.drivers_record`.
Nothing after `WINDOW_END` (2024) enters the estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.extending import intrinsic

from sim.inputs.paths import CALIBRATION_DIR
from sim.inputs.safe_yaml import read_data_file
from sim.model.kernels import kernel

WINDOW_END = 2024
DRIVERS: tuple[str, ...] = (
    "domestic",
    "US",
    "EU",
    "China",
    "rest_of_world",
    "producer_prices",
    "krw_per_usd",
)
EQUATIONS: tuple[str, ...] = ("domestic", "exports", "producer_prices", "krw_per_usd")
PARTNERS: tuple[str, ...] = ("US", "EU", "China", "rest_of_world")
N_NORMALS = len(EQUATIONS) + len(PARTNERS)  # columns of the standard normals per simulated year
PHI_BOUND = 0.9  # |phi| <= PHI_BOUND: every drawn process is stationary
MAX_REDRAWS = 100
MIN_AR_PAIRS = 5  # fewer consecutive-year pairs: the equation falls back to iid growth
MIN_IID_YEARS = 3  # fewer growth observations: the equation is not estimated (NaN drivers)
PRIOR_YEARS = 4  # weight of the identity in the innovation correlation, in years of data

DRIVERS_FILE = CALIBRATION_DIR / "drivers.yaml"

# history series name -> (key in drivers.yaml, how it is given)
_FILE_SERIES = {
    "domestic": ("real_gdp_growth", "percent"),
    "exports": ("customs_exports", "levels"),
    "US": ("customs_exports_us", "levels"),
    "China": ("customs_exports_china", "levels"),
    "producer_prices": ("ppi_all_items", "percent"),
    "krw_per_usd": ("krw_per_usd", "levels"),
}

# --- history --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesInfo:
    """Where a history series comes from, for the fit report."""

    key: str
    unit: str
    transform: str
    vintage: str
    source: str


@dataclass(frozen=True)
class DriverHistory:
    """Annual log growths and level series (indices where only growth is reported), years <=
    `through`. Series: domestic, exports (total), US, China, producer_prices, krw_per_usd."""

    through: int
    growth: Mapping[str, Mapping[int, float]]
    levels: Mapping[str, Mapping[int, float]]
    info: Mapping[str, SeriesInfo]

    def truncate(self, through: int) -> DriverHistory:
        """The same history with years <= `through` only."""
        cut = min(through, self.through)
        return DriverHistory(
            cut,
            {k: {y: v for y, v in s.items() if y <= cut} for k, s in self.growth.items()},
            {k: {y: v for y, v in s.items() if y <= cut} for k, s in self.levels.items()},
            self.info,
        )


def _chain_index(growth: Mapping[int, float]) -> dict[int, float]:
    """A level index from log growths. The first run of consecutive years starts at 1 the year
    before it; a run after a gap restarts at 1 in its own first year (its first growth is then
    not in the index: the level before the gap is unknown)."""
    levels: dict[int, float] = {}
    for y in sorted(growth):
        if y - 1 in levels:
            levels[y] = levels[y - 1] * math.exp(growth[y])
        elif not levels:
            levels[y - 1] = 1.0
            levels[y] = math.exp(growth[y])
        else:
            levels[y] = 1.0
    return levels


def _from_levels(levels: Mapping[int, float], yoy: Mapping[int, float]):
    """Log growths and levels from reported levels and, where a level is missing, reported
    percent growth (which also extends the levels by one year: status derived)."""
    levels = {int(y): float(v) for y, v in levels.items()}
    growth = {}
    for y in sorted(set(levels) | {int(k) for k in yoy}):
        if y in levels and y - 1 in levels:
            growth[y] = math.log(levels[y] / levels[y - 1])
        elif y in yoy:
            growth[y] = math.log1p(float(yoy[y]) / 100.0)
            if y - 1 in levels and y not in levels:
                levels[y] = levels[y - 1] * math.exp(growth[y])
    return growth, dict(sorted(levels.items()))


def load_driver_history(through: int = WINDOW_END, path: Path | None = None) -> DriverHistory:
    """The driver histories of `calibration/drivers.yaml`, years <= `through` (at most 2024)."""
    if through > WINDOW_END:
        raise ValueError(f"the driver model's window ends in {WINDOW_END}; through={through}")
    spec = read_data_file(path or DRIVERS_FILE)["series"]
    growth, levels, info = {}, {}, {}
    for name, (key, given) in _FILE_SERIES.items():
        s = spec[key]
        if given == "percent":
            growth[name] = {int(y): math.log1p(float(v) / 100.0) for y, v in s["values"].items()}
            levels[name] = _chain_index(growth[name])
        else:
            yoy = s.get("reported_yoy_percent", {})
            growth[name], levels[name] = _from_levels(s["levels"], yoy)
        info[name] = SeriesInfo(
            key,
            s["unit"],
            " ".join(str(s["transform"]).split()),
            " ".join(str(s["vintage"]).split()),
            " ".join(s["source"].split()),
        )
    full = DriverHistory(WINDOW_END, growth, levels, info)
    return full.truncate(through)


# --- estimation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EquationFit:
    """Least squares of one equation. kind "ar1": y_t = a + phi y_(t-1); "iid": y_t = a (too few
    pairs for an AR(1)); "none": too few observations, the equation's drivers are NaN."""

    name: str
    kind: str
    years: tuple[int, ...]  # years of the dependent variable
    coef: np.ndarray  # (a, phi); phi = 0 unless kind == "ar1"
    xtx_inv: np.ndarray  # (X'X)^-1, 2 x 2 (iid: only [0, 0] = 1/n)
    ssr: float
    dof: int  # n - 2 (ar1), n - 1 (iid)
    residuals: Mapping[int, float]

    @property
    def n(self) -> int:
        return len(self.years)

    @property
    def scale(self) -> float:
        """Least-squares innovation sd, sqrt(SSR / dof)."""
        return math.sqrt(self.ssr / self.dof) if self.dof > 0 else math.nan


def _fit_equation(name: str, growth: Mapping[int, float], through: int, min_pairs: int):
    g = {y: v for y, v in growth.items() if y <= through}
    pairs = [y for y in sorted(g) if y - 1 in g]
    if len(pairs) >= min_pairs:
        x = np.array([[1.0, g[y - 1]] for y in pairs])
        yv = np.array([g[y] for y in pairs])
        xtx_inv = np.linalg.inv(x.T @ x)
        coef = xtx_inv @ x.T @ yv
        res = yv - x @ coef
        return EquationFit(
            name,
            "ar1",
            tuple(pairs),
            coef,
            xtx_inv,
            float(res @ res),
            len(pairs) - 2,
            dict(zip(pairs, res.tolist(), strict=True)),
        )
    years = sorted(g)
    if len(years) >= MIN_IID_YEARS:
        yv = np.array([g[y] for y in years])
        res = yv - yv.mean()
        return EquationFit(
            name,
            "iid",
            tuple(years),
            np.array([yv.mean(), 0.0]),
            np.diag([1.0 / len(years), 0.0]),
            float(res @ res),
            len(years) - 1,
            dict(zip(years, res.tolist(), strict=True)),
        )
    return EquationFit(
        name, "none", tuple(years), np.array([math.nan, 0.0]), np.zeros((2, 2)), math.nan, 0, {}
    )


def _bound_phi(coef: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(a, phi) with phi clipped to +-PHI_BOUND and a moved to its conditional mean given the
    clipped phi under the normal with covariance `cov`."""
    a, phi = coef
    if abs(phi) <= PHI_BOUND:
        return coef
    clipped = math.copysign(PHI_BOUND, phi)
    return np.array([a + cov[0, 1] / cov[1, 1] * (clipped - phi), clipped])


def _correlation(cov: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d)


@dataclass(frozen=True)
class DriverParameters:
    """One replicate's driver parameters (arrays in `EQUATIONS` order)."""

    a: np.ndarray
    phi: np.ndarray
    sigma: np.ndarray
    s_d: float  # sd of a partner's export growth around total export growth
    chol: np.ndarray  # Cholesky factor of the innovation correlation

    @property
    def correlation(self) -> np.ndarray:
        return self.chol @ self.chol.T

    @property
    def mean(self) -> np.ndarray:
        """Unconditional mean log growth a / (1 - phi)."""
        return self.a / (1.0 - self.phi)


@dataclass(frozen=True)
class DriverModel:
    """The estimated driver model: the posterior of its parameters and its starting state."""

    through: int
    equations: tuple[EquationFit, ...]
    start_state: Mapping[str, float]  # last observed log growth per equation
    deviations: Mapping[str, Mapping[int, float]]  # partner -> year -> partner - total growth
    common_years: tuple[int, ...]  # years with a residual in every estimated equation
    scatter: np.ndarray  # sum over common years of outer products of standardized residuals
    history: DriverHistory  # the data it was estimated on (years <= through)

    @property
    def info(self) -> Mapping[str, SeriesInfo]:
        return self.history.info

    @property
    def deviation_n(self) -> int:
        return sum(len(d) for d in self.deviations.values())

    @property
    def deviation_ssr(self) -> float:
        return float(sum(v * v for d in self.deviations.values() for v in d.values()))

    @property
    def correlation_scale(self) -> np.ndarray:
        """Scale matrix of the inverse-Wishart posterior of the innovation covariance."""
        return PRIOR_YEARS * np.eye(len(EQUATIONS)) + self.scatter

    @cached_property
    def _inverse_scale_factor(self) -> np.ndarray:
        """Cholesky factor of the inverse of `correlation_scale`: the same for every draw."""
        return np.linalg.cholesky(np.linalg.inv(self.correlation_scale))

    @property
    def correlation_df(self) -> int:
        """Posterior degrees of freedom: common years + prior (p + 1 + PRIOR_YEARS)."""
        return len(self.common_years) + len(EQUATIONS) + 1 + PRIOR_YEARS

    def central_parameters(self) -> DriverParameters:
        """Least-squares (a, phi) (phi bounded), sd sqrt(SSR/dof), s_d = sqrt(SSR_d / n_d), and
        the correlation of the posterior scale matrix (the shrunk residual correlation)."""
        coef = np.array([_bound_phi(e.coef, e.xtx_inv) for e in self.equations])
        sigma = np.array([e.scale for e in self.equations])
        s_d = math.sqrt(self.deviation_ssr / self.deviation_n)
        chol = np.linalg.cholesky(_correlation(self.correlation_scale))
        return DriverParameters(coef[:, 0], coef[:, 1], sigma, s_d, chol)

    def draw_parameters(self, rng: np.random.Generator) -> DriverParameters:
        """One draw from the posterior.

        Per equation (flat prior on (a, phi), Jeffreys prior 1/sigma): sigma^2 = SSR/chi2(n-2),
        then (a, phi) ~ N(OLS, sigma^2 (X'X)^-1), redrawn while |phi| > 0.9 (at most 100 times;
        then phi is clipped to +-0.9 and a set to its conditional mean given that phi). An iid
        equation: sigma^2 = SSR/chi2(n-1), a ~ N(mean, sigma^2/n). Partner deviations:
        s_d^2 = SSR_d/chi2(n_d) (mean known to be zero). Innovation covariance: inverse-Wishart
        with `correlation_df` degrees of freedom and scale `correlation_scale`, made into a
        correlation matrix."""
        a, phi, sigma = (np.full(len(EQUATIONS), np.nan) for _ in range(3))
        for i, e in enumerate(self.equations):
            if e.kind == "none":
                phi[i] = 0.0
                continue
            s2 = e.ssr / rng.chisquare(e.dof)
            sigma[i] = math.sqrt(s2)
            if e.kind == "iid":
                a[i] = e.coef[0] + math.sqrt(s2 * e.xtx_inv[0, 0]) * rng.standard_normal()
                phi[i] = 0.0
                continue
            cov = s2 * e.xtx_inv
            low = np.linalg.cholesky(cov)
            for _ in range(MAX_REDRAWS):
                coef = e.coef + low @ rng.standard_normal(2)
                if abs(coef[1]) <= PHI_BOUND:
                    break
            else:
                coef = _bound_phi(coef, cov)
            a[i], phi[i] = coef
        s_d = math.sqrt(self.deviation_ssr / rng.chisquare(self.deviation_n))
        cov = _inverse_wishart(self.correlation_df, self._inverse_scale_factor, rng)
        return DriverParameters(a, phi, sigma, s_d, np.linalg.cholesky(_correlation(cov)))


def _inverse_wishart(df: int, low: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A draw from the inverse-Wishart(df, scale) (Bartlett decomposition of its inverse), `low`
    the Cholesky factor of the inverse of the scale matrix."""
    p = len(low)
    bart = np.tril(rng.standard_normal((p, p)), -1)
    bart[np.diag_indices(p)] = np.sqrt(rng.chisquare(df - np.arange(p)))
    lb = low @ bart
    return np.linalg.inv(lb @ lb.T)


def _start_value(history: DriverHistory, series: str, fit: EquationFit, through: int) -> float:
    """The log growth of `through`; if it is missing but a reported level is (the won in 2018),
    the average growth since the previous known level (an approximation); else the equation's
    mean."""
    g = history.growth[series]
    if through in g:
        return g[through]
    lv = history.levels[series]
    earlier = [y for y in lv if y < through]
    if through in lv and earlier and _FILE_SERIES.get(series, ("", ""))[1] == "levels":
        y0 = max(earlier)
        return math.log(lv[through] / lv[y0]) / (through - y0)
    a, phi = _bound_phi(fit.coef, fit.xtx_inv)
    return a / (1.0 - phi)


def estimate(history: DriverHistory, min_ar_pairs: int = MIN_AR_PAIRS) -> DriverModel:
    """Estimate the driver model on the history's years <= min(history.through, 2024).

    Equations with fewer than `min_ar_pairs` consecutive-year pairs are iid growth (phi = 0);
    with fewer than 3 growth observations they are not estimated and simulate as NaN.
    Innovation correlation: standardized residuals z (residual / least-squares sd) on the years
    every estimated equation has; S = sum of z z'. The posterior of the covariance is
    inverse-Wishart(n + p + 1 + k, k I + S) with k = PRIOR_YEARS = 4: the conjugate update of an
    inverse-Wishart prior centred on the identity and worth k years of data. Its centre, the
    correlation of k I + S, is the residual correlation shrunk toward zero with weight k/(k+n) on
    the identity: with n = 7 common years a sample correlation has a standard error of about
    0.35, so most of it is noise and shrinking by a third is a cautious compromise.
    """
    through = min(history.through, WINDOW_END)
    hist = history.truncate(through)
    eqs = tuple(_fit_equation(n, hist.growth[n], through, min_ar_pairs) for n in EQUATIONS)
    start = {
        e.name: _start_value(hist, e.name, e, through) if e.kind != "none" else math.nan
        for e in eqs
    }
    total = hist.growth["exports"]
    deviations = {
        p: {y: g - total[y] for y, g in hist.growth[p].items() if y in total}
        for p in ("US", "China")
    }
    if sum(len(d) for d in deviations.values()) == 0:
        raise ValueError(f"no partner export growth through {through}")
    live = [i for i, e in enumerate(eqs) if e.kind != "none"]
    common = sorted(set.intersection(*(set(eqs[i].residuals) for i in live)))
    z = np.zeros((len(common), len(EQUATIONS)))
    for i in live:
        z[:, i] = [eqs[i].residuals[y] / eqs[i].scale for y in common]
    return DriverModel(through, eqs, start, deviations, tuple(common), z.T @ z, hist)


# --- simulation -----------------------------------------------------------------------------------


class Outlook(NamedTuple):
    """A pin to an outlook: log growth mean + sd x the driver's own standardized innovation."""

    mean: float | np.ndarray
    sd: float | np.ndarray


PinValue = float | Sequence[float] | np.ndarray | Outlook | Mapping[str, float]


def _pins(pins: Mapping[str, PinValue] | None, years: int):
    """name -> (fixed (years,), mean (years,), sd (years,)), NaN where not pinned."""
    out = {}
    for name, value in (pins or {}).items():
        if name not in DRIVERS and name != "exports":
            raise ValueError(f"unknown driver to pin: {name!r}")
        nan = np.full(years, np.nan)
        if isinstance(value, Mapping):
            value = Outlook(value["mean"], value["sd"])
        if isinstance(value, Outlook):
            mean = np.broadcast_to(np.asarray(value.mean, float), (years,)).copy()
            sd = np.broadcast_to(np.asarray(value.sd, float), (years,)).copy()
            if np.any(sd[np.isfinite(sd)] < 0):
                raise ValueError(f"{name}: outlook sd must be >= 0")
            out[name] = (nan, mean, sd)
        else:
            out[name] = (np.broadcast_to(np.asarray(value, float), (years,)).copy(), nan, nan)
    return out


def simulate_with_equations(
    params: DriverParameters,
    start_state,
    years: int,
    normals: np.ndarray,
    pins: Mapping[str, PinValue] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(drivers (years, 7), equations (years, 4)); see `simulate_annual`."""
    normals = np.asarray(normals, float)
    if normals.shape != (years, N_NORMALS):
        raise ValueError(f"normals must have shape ({years}, {N_NORMALS}), not {normals.shape}")
    if isinstance(start_state, Mapping):
        start_state = [start_state[n] for n in EQUATIONS]
    state = np.asarray(start_state, float)
    pinned = _pins(pins, years)
    e = normals[:, : len(EQUATIONS)] @ params.chol.T  # correlated standardized innovations
    eq = np.empty((years, len(EQUATIONS)))
    for t in range(years):
        y = params.a + params.phi * state + params.sigma * e[t]
        for i, name in enumerate(EQUATIONS):
            if name in pinned:
                fixed, mean, sd = pinned[name]
                if np.isfinite(fixed[t]):
                    y[i] = fixed[t]
                elif np.isfinite(mean[t]):
                    y[i] = mean[t] + sd[t] * e[t, i]
        eq[t] = state = y
    out = np.empty((years, len(DRIVERS)))
    sx = params.sigma[1]
    for j, partner in enumerate(PARTNERS):
        z = normals[:, len(EQUATIONS) + j]
        col = eq[:, 1] + params.s_d * z
        if partner in pinned:
            fixed, mean, sd = pinned[partner]
            own = (sx * e[:, 1] + params.s_d * z) / math.hypot(sx, params.s_d)
            col = np.where(np.isfinite(mean), mean + sd * own, col)
            col = np.where(np.isfinite(fixed), fixed, col)
        out[:, DRIVERS.index(partner)] = col
    for name in ("domestic", "producer_prices", "krw_per_usd"):
        out[:, DRIVERS.index(name)] = eq[:, EQUATIONS.index(name)]
    return out, eq


def simulate_annual(
    params: DriverParameters,
    start_state: Mapping[str, float] | Sequence[float],
    years: int,
    normals: np.ndarray,
    pins: Mapping[str, PinValue] | None = None,
) -> np.ndarray:
    """Annual log growths of the drivers, shape (years, len(DRIVERS)), columns in `DRIVERS` order.

    `normals` are standard normals of shape (years, 8): columns 0-3 the innovations of the
    equations (made correlated with `params.chol`), 4-7 the partner deviations (US, EU, China,
    rest_of_world). A replicate's path depends only on its own normals and parameters, so the same
    normals give common random numbers across scenarios. `start_state`: last observed log growth
    per equation (`DriverModel.start_state`, or an array in `EQUATIONS` order).

    `pins` (log growths, like the output; a percent change p is log1p(p)) maps a driver name, or
    "exports" for total exports, to either
    - a fixed value or path of shape (years,): used as is; NaN entries are drawn from the model.
      A pinned equation's value is its state for the next year. Hard pins do NOT condition the
      other drivers: they keep the draws they would have without the pin.
    - `Outlook(mean, sd)` or {"mean": .., "sd": ..} (scalars or (years,)): the driver's equation
      is replaced by mean + sd x its own standardized innovation, which is correlated with the
      other drivers' innovations as the model says, so correlation with them is kept. A
      partner's own innovation is (sigma_x e_exports + s_d z_partner) / sqrt(sigma_x^2 + s_d^2).
    Unpinned partners follow total exports (pinned or not) plus their deviation.
    """
    return simulate_with_equations(params, start_state, years, normals, pins)[0]


# --- monthly paths --------------------------------------------------------------------------------

_C_LOW = (np.arange(6) - 5.5) / 12.0  # months 1-6 relative to the mid-year node, in years
_C_HIGH = (np.arange(6, 12) - 5.5) / 12.0


def _month_number(month: int | str) -> int:
    if isinstance(month, str):
        year, mon = month.strip().split("-")
        if not 1 <= int(mon) <= 12 or len(year) != 4:
            raise ValueError(f"not a month of the form YYYY-MM: {month!r}")
        return int(year) * 12 + int(mon) - 1
    return int(month)


def monthly_log_level(
    annual_log_growth: Mapping[int, float] | tuple[Sequence[int], Sequence[float]],
    first_month: int | str,
    last_month: int | str,
    base_year: int = WINDOW_END,
) -> np.ndarray:
    """Monthly log levels, months `first_month`..`last_month` (month numbers y*12 + m - 1, or
    "YYYY-MM"), whose annual averages of exp(level) change by exactly `annual_log_growth[y]`
    (log growth of year y over y-1) and average one in `base_year`.

    The log level is linear between mid-year nodes (as `sim.hindcast.monthly_price_growth`);
    before the first node it continues with that year's own growth if given (else the first
    segment's slope), after the last node with the last segment's slope. The node values solve
    log(mean over the year of exp(level)) = target, a tridiagonal, nearly linear system: a few
    Newton steps with a tridiagonal solve (`log_level_nodes`). Growths are needed for every year
    after the first of the years spanned by the months and the base year.
    """
    if isinstance(annual_log_growth, Mapping):
        growth = {int(y): float(v) for y, v in annual_log_growth.items()}
    else:
        ys, vs = annual_log_growth
        growth = {int(y): float(v) for y, v in zip(ys, vs, strict=True)}
    first, last = _month_number(first_month), _month_number(last_month)
    if last < first:
        raise ValueError("last_month is before first_month")
    y0, y1 = min(first // 12, base_year), max(last // 12, base_year)
    missing = [y for y in range(y0 + 1, y1 + 1) if y not in growth]
    if missing:
        raise ValueError(f"annual growth missing for {missing}")
    target = np.concatenate([[0.0], np.cumsum([growth[y] for y in range(y0 + 1, y1 + 1)])])
    target -= target[base_year - y0]
    lead = growth.get(y0)
    n = len(target)
    values = log_level_nodes(
        target, 0.0 if lead is None else lead, lead is not None, _C_LOW, _C_HIGH
    )
    if n > 1 and not np.isfinite(values).all():
        raise ValueError(f"monthly log levels are not finite for annual log growths {growth}")
    nodes = y0 * 12 + 5.5 + 12.0 * np.arange(-1, n + 1)
    return np.interp(np.arange(first, last + 1), nodes, values)


@kernel
def log_level_nodes(target, lead, has_lead, c_low, c_high):
    """The node values of `monthly_log_level`, with one node before the first year's and one
    after the last year's (where the level continues at the first and last slopes).

    Newton steps on log(mean over the year of exp(level)) = target from v = target, stopping once
    every residual is below 1e-14 (at most 30 steps); each step solves the tridiagonal Jacobian by
    Gaussian elimination with partial pivoting, as LAPACK's dgtsv does.
    """
    n = len(target)
    v = target.copy()
    s_lo, s_hi = np.empty(n), np.empty(n)
    total, resid = np.empty(n), np.empty(n)
    h1, h2 = np.empty(n), np.empty(n)
    e_lo, e_hi = np.empty(6), np.empty(6)
    dl, d, du, b = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for _ in range(30):
        _node_slopes(v, lead, has_lead, s_lo, s_hi)
        worst = 0.0
        for i in range(n):
            lo = 0.0
            hi = 0.0
            for k in range(6):
                e_lo[k] = np.exp(s_lo[i] * c_low[k])
                e_hi[k] = np.exp(s_hi[i] * c_high[k])
                lo += e_lo[k]
                hi += e_hi[k]
            total[i] = lo + hi
            h1[i] = _moment(e_lo, c_low) / total[i]
            h2[i] = _moment(e_hi, c_high) / total[i]
            resid[i] = v[i] + np.log(total[i] / 12.0) - target[i]
            worst = max(worst, abs(resid[i]))
        if worst < 1e-14:
            break
        if n == 1:
            v[0] = v[0] - resid[0]
            continue
        # Jacobian: tridiagonal; d/ds of log mean exp is h1 (first half-year), h2 (second).
        for i in range(n):
            d[i] = 1.0 + h1[i] - h2[i]
            b[i] = resid[i]
        for i in range(n - 1):
            du[i] = h2[i]
            dl[i] = -h1[i + 1]
        if has_lead:  # s_lo[0] = lead, fixed
            d[0] -= h1[0]
        else:  # s_lo[0] = v[1] - v[0]
            d[0] -= 2.0 * h1[0]
            du[0] += h1[0]
        d[n - 1] += 2.0 * h2[n - 1]  # s_hi[-1] = v[-1] - v[-2]
        dl[n - 2] -= h2[n - 1]
        _solve_tridiagonal(dl, d, du, b)
        for i in range(n):
            v[i] = v[i] - b[i]
    _node_slopes(v, lead, has_lead, s_lo, s_hi)
    values = np.empty(n + 2)
    values[0] = v[0] - s_lo[0]
    values[1 : n + 1] = v
    values[n + 1] = v[n - 1] + s_hi[n - 1]
    return values


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (a fused multiply-add)."""

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@kernel
def _moment(e, c):
    """The sum of e[k] * c[k] over six months, added up as numpy's `e @ c` (OpenBLAS's dgemv
    on AVX2 machines) adds it for a matrix of several rows: the same value to the last bit."""
    head = (e[0] * c[0] + e[2] * c[2]) + (e[1] * c[1] + e[3] * c[3])
    return head + _fma(e[4], c[4], e[5] * c[5])


@kernel
def _node_slopes(v, lead, has_lead, s_lo, s_hi):
    """Slopes (per year) of the log level before and after each node (into `s_lo`, `s_hi`)."""
    n = len(v)
    if n == 1:
        s_lo[0] = lead if has_lead else 0.0
        s_hi[0] = s_lo[0]
        return
    for i in range(n - 1):
        s_lo[i + 1] = v[i + 1] - v[i]
        s_hi[i] = s_lo[i + 1]
    s_lo[0] = lead if has_lead else s_lo[1]
    s_hi[n - 1] = s_hi[n - 2]


@kernel
def _solve_tridiagonal(dl, d, du, b):
    """Solves the tridiagonal system (sub-diagonal dl[:-1], diagonal d, super-diagonal du[:-1])
    for one right-hand side `b`, in place, by LAPACK dgtsv's elimination with partial pivoting
    (the same operations in the same order; a zero pivot gives inf or nan)."""
    n = len(d)
    for i in range(n - 1):
        if abs(d[i]) >= abs(dl[i]):
            fact = dl[i] / d[i]
            d[i + 1] = d[i + 1] - fact * du[i]
            b[i + 1] = b[i + 1] - fact * b[i]
            dl[i] = 0.0
        else:
            fact = d[i] / dl[i]
            d[i] = dl[i]
            temp = d[i + 1]
            d[i + 1] = du[i] - fact * temp
            if i < n - 2:
                dl[i] = du[i + 1]
                du[i + 1] = -fact * dl[i]
            du[i] = temp
            temp = b[i]
            b[i] = b[i + 1]
            b[i + 1] = temp - fact * b[i + 1]
    b[n - 1] = b[n - 1] / d[n - 1]
    if n > 1:
        b[n - 2] = (b[n - 2] - du[n - 2] * b[n - 1]) / d[n - 2]
    for i in range(n - 3, -1, -1):
        b[i] = (b[i] - du[i] * b[i + 1] - dl[i] * b[i + 2]) / d[i]
