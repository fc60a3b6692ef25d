"""Reported annual figures of the complex (2020-2024), with their sources.

They are the calibration targets and the history drawn on fan charts. They live in
`calibration/complex_annual.yaml`, one series per indicator name of `sim.model.indicators`, each
with its unit, values by year, source and an optional note (e.g. which figures are mid-year counts).
"""

from __future__ import annotations

import copy
from functools import cache

from sim.inputs.paths import CALIBRATION_DIR
from sim.inputs.safe_yaml import read_data_file
from sim.model.indicators import INDICATORS

HISTORY_FILE = CALIBRATION_DIR / "complex_annual.yaml"


@cache
def _series() -> dict[str, dict]:
    """The parsed and checked `series` mapping (cached: the file is read once per process)."""
    spec = read_data_file(HISTORY_FILE)
    series = spec.get("series") if isinstance(spec, dict) else None
    if not isinstance(series, dict):
        raise ValueError(f"{HISTORY_FILE}: no 'series' mapping")
    for name, entry in series.items():
        # A typo here would silently drop history from figures and targets from calibration.
        if name not in INDICATORS:
            raise ValueError(f"{HISTORY_FILE}: series.{name}: not an indicator name")
        if not isinstance(entry, dict) or not isinstance(entry.get("values"), dict):
            raise ValueError(f"{HISTORY_FILE}: series.{name}: needs a 'values' mapping")
        if not entry.get("source"):
            raise ValueError(f"{HISTORY_FILE}: series.{name}: every series needs a source")
        for year in entry["values"]:
            if not isinstance(year, int) or isinstance(year, bool):
                raise ValueError(f"{HISTORY_FILE}: series.{name}.values: year {year!r} not an int")
    return series


def load_history() -> dict[str, dict[int, float]]:
    """Indicator name -> {year: reported value}, years ascending. A fresh copy on every call."""
    return {
        name: {int(year): float(value) for year, value in sorted(entry["values"].items())}
        for name, entry in _series().items()
    }


def history_sources() -> dict[str, str]:
    """Indicator name -> source of its reported figures (a short citation)."""
    return {name: " ".join(str(entry["source"]).split()) for name, entry in _series().items()}


def history_notes() -> dict[str, str]:
    """Indicator name -> caveat about its figures (e.g. mid-year counts), where there is one."""
    return {
        name: " ".join(str(entry["note"]).split())
        for name, entry in _series().items()
        if entry.get("note")
    }


def history_units() -> dict[str, str]:
    """Indicator name -> unit as stated in the data file (e.g. 'KRW (nominal)')."""
    return {
        name: str(entry.get("unit", INDICATORS[name].unit)) for name, entry in _series().items()
    }


def history_table() -> dict[str, dict]:
    """Everything about each series (values, unit, source, note), as a deep copy for manifests."""
    return copy.deepcopy(_series())
