"""The exploration page (`changwon-sim explore`): the main policy inputs of a scenario on sliders,
and fan charts of production, exports and jobs against the baseline that fill in as replicates
arrive, with the effect by sector.

- `sim.explore.policy`: the page's inputs and the scenario they make from the baseline;
- `sim.explore.ensemble`: the replicates of the baseline and of the policy, paired, as a Mesa
  model whose step adds a few replicates (no web library: testable on its own);
- `sim.explore.charts`: the figures and the summary lines, from the model's numbers;
- `sim.explore.page`: the page, on Mesa's SolaraViz;
- `sim.explore.server`: serving it on this machine (127.0.0.1 only).
"""
