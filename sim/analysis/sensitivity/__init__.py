"""Global sensitivity analysis of a scenario's uncertain inputs (the method:
`sim.analysis.sensitivity.run`).

`design` (factors, outputs, SALib designs) -> `evaluate` (simulating the points in chunks) ->
`indices` (Sobol', Morris and delta indices, the noise floor) -> `run` (`run_sensitivity`, the
whole pipeline); `results` writes the results folder.
"""
