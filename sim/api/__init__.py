"""Use from Python: run a scenario, or compare two with common random numbers, and get the
results as pandas tables — the numbers `changwon-sim run` and `compare` write for the same
scenario, replicates and seed. A scenario is a file, a mapping with the keys of one, or a
`Scenario`:

    import sim
    base = "scenarios/baseline.yaml"
    tariff = {"extends": base, "name": "us-tariff-20",
              "tariffs": [{"name": "us", "partner": "US", "rate": 0.2, "start": "2025-07"}]}
    effect = sim.compare(base, tariff, replicates=100, seed=7)
    print(effect.headline())

`sim.simulate`, `sim.compare` and `sim.build_model` are these functions (imported on first use,
so that `import sim` stays quick).
"""

from sim.api.comparison import Comparison, compare
from sim.api.simulation import Simulation, as_scenario, build_model, simulate

__all__ = ["Comparison", "Simulation", "as_scenario", "build_model", "compare", "simulate"]
