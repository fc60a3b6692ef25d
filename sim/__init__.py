"""changwon-sim: an agent-based simulation of the firms of the Changwon National Industrial
Complex.

From Python: `sim.simulate(scenario, replicates=, seed=, workers=)` runs a scenario,
`sim.compare(base, alternative, ...)` pairs two, `sim.build_model(scenario)` gives one
replicate's Mesa model (see `sim.api`).
"""

__version__ = "0.1.0"
MODEL_VERSION = "3"  # bumped whenever the model's rules change what a seed produces

#: Names of `sim.api` offered here, imported on first use: `import sim` (and so every command,
#: `check` included) must not load numpy, pandas or Mesa.
_API = ("Comparison", "Simulation", "as_scenario", "build_model", "compare", "simulate")


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module("sim.api"), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
