"""Model parameters: the registry in `calibration/parameters.yaml` and the frozen set a run uses.

The registry says, for every parameter, its central value, its range, its kind (fact, literature,
assumption, calibrated) and its source. A replicate's `Parameters` are drawn from it (triangular on
[low, high] with the mode at the central value) unless a run fixes them; a scenario may override any
value by name. Nothing in the model reads parameters by string key: it reads `Parameters` fields.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from sim.inputs.paths import CALIBRATION_DIR
from sim.inputs.safe_yaml import read_data_file

KINDS = ("fact", "literature", "assumption", "calibrated")


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """One registry entry: a named number with its range and source."""

    name: str
    value: float
    low: float
    high: float
    unit: str
    kind: str
    source: str


@dataclass(frozen=True, slots=True)
class Parameters:
    """The parameter values of one replicate. Units and sources: `calibration/parameters.yaml`."""

    # structure of the 2024 population
    sector_production_share_machinery: float
    sector_production_share_transport_equipment: float
    sector_production_share_electrical_electronics: float
    sector_production_share_steel: float
    sector_production_share_other: float
    steel_share_of_other_firms: float
    anchor_share_hanwha_aerospace: float
    anchor_share_doosan_enerbility: float
    anchor_share_hyundai_wia: float
    anchor_share_lg_electronics: float
    anchor_share_hyundai_rotem: float
    anchor_share_snt_dynamics: float
    anchor_share_of_exports: float
    anchor_share_of_employment: float
    small_firm_share: float
    size_productivity_elasticity: float
    us_export_share_machinery: float
    us_export_share_transport_equipment: float
    us_export_share_electrical_electronics: float
    us_export_share_steel: float
    us_export_share_other: float
    export_intensity_spread: float
    # trade response
    elasticity_one_year: float
    elasticity_long_run: float
    elasticity_years_to_long_run: float
    tariff_passthrough: float
    diversion_share: float
    diversion_months: float
    export_price_elasticity: float
    export_krw_invoiced_share: float
    export_price_adjust_months: float
    # demand
    complex_demand_trend: float
    export_demand_loading: float
    complex_shock_sd: float
    complex_shock_persistence: float
    firm_shock_sd: float
    firm_shock_persistence: float
    seasonal_amplitude: float
    cost_demand_elasticity: float
    # production
    operating_rate: float
    capacity_adjust_months: float
    input_share: float
    in_complex_input_share: float
    suppliers_per_firm: float
    defect_rate_base: float
    # labour
    employment_adjust_months: float
    annual_wage_krw: float
    labour_productivity_growth: float
    # finance, exit and entry
    operating_margin: float
    margin_spread: float
    cash_months: float
    payout_rate: float
    exit_debt_months: float
    exit_after_months: float
    exit_rate: float
    entry_rate: float
    entrant_size: float
    # AI-factory adoption
    initial_adoption_share: float
    adoption_potential: float
    bass_p: float
    bass_q: float
    network_peer_weight: float
    adoption_size_elasticity: float
    adoption_export_boost: float
    subsidy_hazard_boost: float
    adoption_cost_base_krw: float
    adoption_cost_per_employee_krw: float
    ramp_months: float
    ai_productivity_gain: float
    ai_defect_reduction: float
    ai_unit_cost_reduction: float
    ai_labour_saving: float
    ai_effect_spread: float
    ai_small_firm_premium: float
    # defence exports
    defence_in_complex_share: float
    defence_build_months: float
    # region-wide effects
    domestic_final_share: float
    multiplier_production: float
    multiplier_value_added: float
    multiplier_employment_per_bn_krw: float
    within_region_share: float

    def replace(self, **changes: float) -> Parameters:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


PARAMETER_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Parameters))


@cache
def load_registry(path: Path = CALIBRATION_DIR / "parameters.yaml") -> dict[str, ParameterSpec]:
    """Read the parameter registry; it must name exactly the fields of `Parameters`."""
    raw = read_data_file(path)
    registry = {}
    for name, entry in raw.items():
        spec = ParameterSpec(
            name=name,
            value=float(entry["value"]),
            low=float(entry["low"]),
            high=float(entry["high"]),
            unit=str(entry["unit"]),
            kind=str(entry["kind"]),
            source=str(entry["source"]),
        )
        if spec.kind not in KINDS:
            raise ValueError(f"{path}: {name}: kind must be one of {KINDS} (got {spec.kind})")
        if not spec.low <= spec.value <= spec.high:
            raise ValueError(f"{path}: {name}: value outside [low, high] (got {spec.value})")
        registry[name] = spec
    if set(registry) != set(PARAMETER_NAMES):
        missing = sorted(set(PARAMETER_NAMES) - set(registry))
        unknown = sorted(set(registry) - set(PARAMETER_NAMES))
        raise ValueError(
            f"{path}: registry does not match the model (missing {missing}, unknown {unknown})"
        )
    return registry


POSTERIOR_FILE = "posterior_draws.csv"  # in CALIBRATION_DIR, written by `changwon-sim calibrate`
FIT_FILE = "fit.json"


def registry_id(directory: Path = CALIBRATION_DIR) -> str:
    """Identifies the parameter set runs draw from, for results manifests.

    With a fitted posterior (`posterior_draws.csv`, see `sim.analysis.calibration.fit`) it is the
    fit id, `fit-<hash>` of the posterior and the registry and population files (the fitted
    parameters come from the posterior, the rest from their priors). Without one, `prior-<hash>` of
    the two files.
    """
    posterior = Path(directory) / POSTERIOR_FILE
    return fit_id(posterior.read_bytes() if posterior.is_file() else None)


def fit_id(posterior: bytes | None) -> str:
    """`fit-<hash>` of the registry's priors, the population data and the posterior file's
    bytes, or `prior-<hash>` of the first two when there is no posterior.

    Of the registry only what the draws depend on counts (each parameter's value, range and
    kind), so that editing a source, a unit or the `valid` bounds of scenario overrides does not
    orphan a fit whose priors are unchanged.
    """
    digest = hashlib.sha256()
    priors = sorted(
        (spec.name, spec.value, spec.low, spec.high, spec.kind)
        for spec in load_registry(CALIBRATION_DIR / "parameters.yaml").values()
    )
    digest.update(repr(priors).encode("utf-8"))
    digest.update((CALIBRATION_DIR / "population.yaml").read_bytes())
    if posterior is None:
        return f"prior-{digest.hexdigest()[:12]}"
    digest.update(posterior)
    return f"fit-{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class Posterior:
    """Weighted posterior draws of the fitted model parameters, and their point estimate."""

    names: tuple[str, ...]  # model parameters among the fitted ones (columns used by runs)
    values: np.ndarray  # (draws, names)
    cumulative_weight: np.ndarray  # (draws,), rising to one
    estimate: dict[str, float]  # point estimate: `--fixed-parameters` uses it

    def row(self, u: float) -> int:
        """The draw whose weight interval holds the uniform number u."""
        return min(
            int(np.searchsorted(self.cumulative_weight, u, side="right")), len(self.values) - 1
        )

    def draw(self, u: float) -> dict[str, float]:
        return dict(zip(self.names, self.values[self.row(u)].tolist(), strict=True))

    @cached_property
    def ranks(self) -> np.ndarray:
        """(draws, names): each draw's value as a rank in [0, 1] of its weighted marginal (the
        middle of its weight), so a distribution's quantile at the rank moves with the draw.
        Made once: every replicate reads it."""
        weight = np.diff(self.cumulative_weight, prepend=0.0)
        out = np.empty_like(self.values)
        for j in range(self.values.shape[1]):
            order = np.argsort(self.values[:, j], kind="stable")
            below = np.cumsum(weight[order]) - 0.5 * weight[order]
            out[order, j] = below
        return out


@cache
def load_posterior(directory: Path = CALIBRATION_DIR) -> Posterior | None:
    """The fitted posterior in `directory`, or None when none has been fitted.

    `posterior_draws.csv` has columns draw, weight and one per fitted parameter; columns that are
    not model parameters (the hindcast's demand growth) are not used by runs. The point estimate
    comes from `fit.json`.
    """
    import json

    path = Path(directory) / POSTERIOR_FILE
    if not path.is_file():
        return None
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    if header[:2] != ["draw", "weight"] or table.shape[1] != len(header) or not len(table):
        raise ValueError(f"{path}: expected columns draw, weight, <parameters> and some rows")
    columns = [k for k, name in enumerate(header) if name in PARAMETER_NAMES]
    weight = table[:, 1]
    if (weight < 0).any() or not weight.sum() > 0:
        raise ValueError(f"{path}: weights must be non-negative with a positive sum")
    fit = Path(directory) / FIT_FILE
    estimate = json.loads(fit.read_text(encoding="utf-8"))["estimate"] if fit.is_file() else {}
    names = tuple(header[k] for k in columns)
    return Posterior(
        names=names,
        values=table[:, columns],
        cumulative_weight=np.cumsum(weight) / weight.sum(),
        estimate={k: float(v) for k, v in estimate.items() if k in names},
    )


def central_prior_parameters() -> Parameters:
    """Every parameter at the central value of its prior (the registry's `value`)."""
    return Parameters(**{name: spec.value for name, spec in load_registry().items()})


def central_parameters() -> Parameters:
    """Every parameter at its central value: the fitted point estimate for the calibrated
    parameters when a posterior has been fitted, the registry's value for the rest.
    """
    params = central_prior_parameters()
    posterior = load_posterior()
    return params.replace(**posterior.estimate) if posterior is not None else params


def draw_prior_parameters(rng: np.random.Generator) -> Parameters:
    """Every parameter from its triangular prior on [low, high], mode at the value, from one
    generator (the hindcast's prior sampling)."""
    registry = load_registry()
    specs = [registry[name] for name in PARAMETER_NAMES]
    low = np.array([s.low for s in specs])
    mode = np.array([s.value for s in specs])
    high = np.array([s.high for s in specs])
    values = triangular(rng.random(len(specs)), low, mode, high)
    return Parameters(**dict(zip(PARAMETER_NAMES, values.tolist(), strict=True)))


POSTERIOR_DRAW = "calibration posterior"  # the name of the uniform that picks a posterior draw


def draw_parameters(
    uniform: Callable[[str], float],
    posterior: Posterior | bool | None = True,
    own: Mapping[str, Callable[[float], float]] | None = None,
) -> Parameters:
    """One replicate's parameters, every draw coupled by name: `uniform(name)` is the uniform
    number of the input called `name` (the same in every scenario run with the same seed).

    Each parameter is its prior's quantile at its uniform; then, when a posterior has been
    fitted, the fitted ones are one posterior draw (picked by the uniform `POSTERIOR_DRAW`). A
    parameter in `own` is drawn from that quantile function instead (a scenario's `uncertain`
    entry): at its own uniform, or for a fitted parameter at the rank of the posterior draw's
    value in its marginal, so that it still moves with the posterior draw of other scenarios.
    """
    registry = load_registry()
    own = own or {}
    specs = [registry[name] for name in PARAMETER_NAMES]
    priors = triangular(
        np.array([uniform(name) for name in PARAMETER_NAMES]),
        np.array([s.low for s in specs]),
        np.array([s.value for s in specs]),
        np.array([s.high for s in specs]),
    )
    values = dict(zip(PARAMETER_NAMES, priors.tolist(), strict=True))
    if posterior is True:
        posterior = load_posterior()
    ranks: dict[str, float] = {}
    if posterior:
        row = posterior.row(uniform(POSTERIOR_DRAW))
        values.update(zip(posterior.names, posterior.values[row].tolist(), strict=True))
        ranks = dict(zip(posterior.names, posterior.ranks[row].tolist(), strict=True))
    for name, ppf in own.items():
        values[name] = float(ppf(ranks.get(name, uniform(name))))
    return Parameters(**values)


def triangular(u: np.ndarray, low: np.ndarray, mode: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Inverse CDF of the triangular distribution; a zero-width range returns its value."""
    width = high - low
    safe = np.where(width > 0, width, 1.0)
    split = (mode - low) / safe
    left = low + np.sqrt(u * safe * (mode - low))
    right = high - np.sqrt((1.0 - u) * safe * (high - mode))
    return np.where(width > 0, np.where(u < split, left, right), mode)
