"""Global sensitivity analysis of a scenario's uncertain inputs. The pipeline is described in
`sim.analysis.sensitivity.run`."""
